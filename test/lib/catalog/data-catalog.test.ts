/**
 * DataCatalog on a bare stack: the Glue database with a table per raw input and contract table,
 * the Athena workgroup (engine v3, enforced, scan cut-off, encrypted results under results/), the
 * headline named queries, and grantAthenaQueries: scoped to this workgroup and catalog, reading the
 * contract tables' folders, writing results, each wildcard acknowledged on the grantee.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataCatalog } from '../../../lib/catalog/data-catalog';
import { HEADLINE_QUERIES } from '../../../core/catalog/headline-queries';
import { OUTPUT_TABLES, RAW_TABLES } from '../../../core/contract';
import { acknowledgementsOn, bareStack, findingsAt, statementsOf, synthesize } from '../bare-stack';

const t = bareStack();
const bucket = (id: string) => new s3.Bucket(t.stack, id, { enforceSSL: true, encryption: s3.BucketEncryption.S3_MANAGED });
const [raw, curated, results] = [bucket('Raw'), bucket('Curated'), bucket('Results')];
const catalog = new DataCatalog(t.stack, 'Catalog', {
  databaseName: 'shopsight_test',
  workGroupName: 'shopsight-test',
  rawBucket: raw,
  curatedBucket: curated,
  athenaResultsBucket: results,
  bytesScannedCutoffGb: 2,
});
const gate = new iam.Role(t.stack, 'Gate', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
catalog.grantAthenaQueries(gate);
const { template, findings } = synthesize(t);
const statements = statementsOf(template, t.stack, gate);
const r = (v: string) => t.stack.resolve(v);

describe('DataCatalog', () => {
  test('one Glue table per raw input and per contract table, in the named database', () => {
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'shopsight_test' } });
    const tables = Object.values(template.findResources('AWS::Glue::Table'));
    expect(tables.map((x) => x.Properties.TableInput.Name).sort()).toEqual([...RAW_TABLES, ...OUTPUT_TABLES].map((x) => x.name).sort());
    for (const x of tables) expect(x.Properties.DatabaseName).toBe('shopsight_test');
    const events = tables.find((x) => x.Properties.TableInput.Name === 'events')!;
    expect(r(events.Properties.TableInput.StorageDescriptor.Location)).toEqual(r(curated.s3UrlForObject('events/')));
  });

  test('the workgroup: engine v3, enforced, the cut-off in bytes, SSE-S3 results under results/', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'shopsight-test',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 2 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: { OutputLocation: r(results.s3UrlForObject('results/')), EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      },
    });
    template.resourceCountIs('AWS::Athena::NamedQuery', HEADLINE_QUERIES.length);
  });

  test('refuses a database name Glue would not take', () => {
    expect(() => new DataCatalog(t.stack, 'Bad', { databaseName: 'Shop-Sight', workGroupName: 'x', rawBucket: raw, curatedBucket: curated, athenaResultsBucket: results })).toThrow(
      /must use only a-z, 0-9 and _/,
    );
  });

  test('grantAthenaQueries: query actions on this workgroup only, read-only Glue on this catalog', () => {
    const athena = statements.find((s) => s.Sid === 'RunAthenaQueries')!;
    expect(athena.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':athena:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':workgroup/shopsight-test']],
    });
    expect([...(athena.Action as string[])].sort()).toEqual(['athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StartQueryExecution', 'athena:StopQueryExecution']);
    const glue = statements.find((s) => s.Sid === 'ReadCatalog')!;
    expect([...(glue.Action as string[])].sort()).toEqual(['glue:GetDatabase', 'glue:GetPartitions', 'glue:GetTable']);
    expect(JSON.stringify(glue.Resource)).toContain(':table/shopsight_test/*');
  });

  test('grantAthenaQueries: reads each contract table folder, writes results/ only, writes nothing curated', () => {
    const join = (b: s3.IBucket, suffix: string) => ({ 'Fn::Join': ['', [r(b.bucketArn), suffix]] });
    const writes = statements.filter((s) => ([] as string[]).concat(s.Action as string[]).includes('s3:PutObject')).flatMap((s) => s.Resource as unknown[]);
    expect(writes).toContainEqual(join(results, '/results/*'));
    expect(JSON.stringify(writes)).not.toContain(r(curated.bucketArn)['Fn::GetAtt'][0]);
    const reads = statements.filter((s) => ([] as string[]).concat(s.Action as string[]).includes('s3:GetObject*')).flatMap((s) => s.Resource as unknown[]);
    for (const table of OUTPUT_TABLES) expect(reads).toContainEqual(join(curated, `/${table.name}/*`));
    expect(reads).not.toContainEqual(join(curated, '/*'));
  });

  test('its wildcards are acknowledged on the grantee with reasons; cdk-nag finds nothing left on the catalog or the grantee', () => {
    const acks = acknowledgementsOn(gate);
    expect(acks['IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/shopsight_test/*]']).toMatch(/Glue database/);
    expect(Object.keys(acks).find((k) => k.endsWith('/results/*]'))).toBeDefined();
    expect(Object.keys(acks)).toHaveLength(OUTPUT_TABLES.length + 2);
    expect(findingsAt(findings, 'Test/Catalog', 'Test/Gate')).toEqual([]);
    // The check is live: the test's own plain buckets (no access logs) are reported.
    expect(findingsAt(findings, 'Test/Raw')).toEqual(['AwsSolutions-S1 @ Test/Raw/Resource']);
  });
});
