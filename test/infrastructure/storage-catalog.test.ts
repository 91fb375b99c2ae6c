import { Match } from 'aws-cdk-lib/assertions';
import { OUTPUT_TABLES, RAW_TABLES } from '../../core/contract';
import { HEADLINE_QUERIES } from '../../core/catalog/headline-queries';
import { synthStage } from '../support/stack';

describe('storage', () => {
  const { template } = synthStage();
  const buckets = template.findResources('AWS::S3::Bucket');

  test('six buckets, every one encrypted, private, owner-enforced', () => {
    expect(Object.keys(buckets)).toHaveLength(6);
    for (const [id, bucket] of Object.entries(buckets)) {
      const p = bucket.Properties;
      expect({ id, sse: p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm }).toEqual({
        id,
        sse: 'AES256',
      });
      expect(p.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(p.OwnershipControls.Rules[0].ObjectOwnership).toBe('BucketOwnerEnforced');
    }
  });

  test('every bucket policy denies plain HTTP', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(6);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      );
    }
  });

  test('raw input is versioned, notifies EventBridge and moves to cheaper storage classes', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
            ],
          }),
        ]),
      },
    });
  });

  test('Athena results and old exports expire; buckets log to the access-log bucket', () => {
    const rules = Object.values(buckets).flatMap((b) => b.Properties.LifecycleConfiguration?.Rules ?? []);
    expect(rules).toEqual(expect.arrayContaining([expect.objectContaining({ Id: 'expire-query-results', ExpirationInDays: 7 })]));
    expect(rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ Id: 'expire-old-exports', Prefix: 'runs/', ExpirationInDays: 14 })]),
    );
    const logged = Object.values(buckets).filter((b) => b.Properties.LoggingConfiguration);
    expect(logged).toHaveLength(5);
  });

  test('dev buckets are deleted and emptied with the stack; prod buckets are retained', () => {
    const dev = Object.values(buckets);
    expect(dev.every((b) => b.DeletionPolicy === 'Delete')).toBe(true);
    expect(synthStage().template.findResources('Custom::S3AutoDeleteObjects')).not.toEqual({});

    const prod = synthStage({ stage: 'prod' }).template;
    const prodBuckets = Object.values(prod.findResources('AWS::S3::Bucket'));
    expect(prodBuckets.every((b) => b.DeletionPolicy === 'Retain' && b.UpdateReplacePolicy === 'Retain')).toBe(true);
    expect(prod.findResources('Custom::S3AutoDeleteObjects')).toEqual({});
  });
});

describe('catalog', () => {
  const { template, stack } = synthStage();
  const tables = Object.values(template.findResources('AWS::Glue::Table')).map((t) => t.Properties.TableInput);
  const byName = new Map(tables.map((t) => [t.Name, t]));

  test('one Glue table per contract table, raw and output, in the stage database', () => {
    expect([...byName.keys()].sort()).toEqual([...RAW_TABLES, ...OUTPUT_TABLES].map((t) => t.name).sort());
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'shopsight_dev' } });
    template.allResourcesProperties('AWS::Glue::Table', { DatabaseName: 'shopsight_dev' });
  });

  test('output tables carry the contract columns and types, run_id first among partitions', () => {
    for (const def of OUTPUT_TABLES) {
      const t = byName.get(def.name);
      expect(t.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name)).toEqual(def.columns.map((c) => c.name));
      expect(t.PartitionKeys.map((c: { Name: string }) => c.Name)).toEqual(['run_id', ...def.partitionKeys.map((k) => k.name)]);
      expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    }
    const events = byName.get('events');
    const types = Object.fromEntries(events.StorageDescriptor.Columns.map((c: { Name: string; Type: string }) => [c.Name, c.Type]));
    // 19-digit REES46 category ids need 64-bit integers; money is exact.
    expect(types).toMatchObject({ category_id: 'bigint', price: 'decimal(12,2)', event_time: 'timestamp' });
    const purchDate = byName.get('purch_date');
    expect(purchDate.StorageDescriptor.Columns.find((c: { Name: string }) => c.Name === 'revenue').Type).toBe('decimal(18,2)');
  });

  test('partition projection: injected run_id, daily event_date, no crawler', () => {
    expect(byName.get('events').Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.run_id.type': 'injected',
      'projection.event_date.type': 'date',
      'projection.event_date.format': 'yyyy-MM-dd',
      'projection.event_date.interval.unit': 'DAYS',
    });
    expect(byName.get('c_date').Parameters['projection.event_date.type']).toBeUndefined();
    expect(template.findResources('AWS::Glue::Crawler')).toEqual({});
  });

  test('raw tables read CSV with a header from the documented upload folders', () => {
    const rees = byName.get('raw_rees46_events');
    expect(rees.Parameters['skip.header.line.count']).toBe('1');
    expect(rees.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.serde2.OpenCSVSerde');
    expect(JSON.stringify(stack.resolve(rees.StorageDescriptor.Location))).toContain('/rees46/');
    expect(JSON.stringify(stack.resolve(byName.get('raw_retailrocket_events').StorageDescriptor.Location))).toContain('/retailrocket/events/');
  });

  test('Athena workgroup: engine v3, enforced, encrypted results, scan cut-off', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'shopsight-dev',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      },
    });
    synthStage({ stage: 'dev', athenaBytesScannedCutoffGb: '3' }).template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: { BytesScannedCutoffPerQuery: 3 * 1024 ** 3 },
    });
  });

  test('a named query per headline insight, each bound to its run with a parameter', () => {
    const named = Object.values(template.findResources('AWS::Athena::NamedQuery')).map((q) => q.Properties);
    expect(named.map((q) => q.Name).sort()).toEqual(HEADLINE_QUERIES.map((q) => q.name).sort());
    for (const q of named) expect(q.QueryString).toMatch(/run_id = \?/);
  });
});
