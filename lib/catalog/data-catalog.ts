import { Aws, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ColumnDef, glueType, OUTPUT_TABLES, OutputTableDef, RAW_TABLES, RawTableDef, RUN_ID_PARTITION } from '../../core/contract';
import { curatedTablePrefix } from '../../core/contract/layout';
import { acknowledgeGrantedWildcard } from '../nag-acknowledgements';
import { grantContractTables, grantObjects } from '../storage/data-lake-storage';
import { HEADLINE_QUERIES } from '../../core/catalog/headline-queries';

/** Where the workgroup writes query results in the Athena results bucket. */
const RESULTS_PREFIX = 'results/';

export interface DataCatalogProps {
  /** Glue database name (lower case, digits and underscores). */
  readonly databaseName: string;
  readonly rawBucket: s3.IBucket;
  readonly curatedBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  /** Athena workgroup name. */
  readonly workGroupName: string;
  /**
   * Queries that would scan more than this are cancelled by Athena.
   * @default 10 GiB
   */
  readonly bytesScannedCutoffGb?: number;
  /**
   * Delete the workgroup's saved queries and history with the stack (dev stages).
   * @default false
   */
  readonly destroyWorkGroupContents?: boolean;
}

/**
 * The event dates Athena sees (the event_date projection): every date prepare accepts must be in
 * it, or its events are in S3 but invisible to Athena, and the data-quality gate fails a good run.
 * This is the RetailRocket readers' accepted range exactly (epoch milliseconds in years 2000..2100,
 * local/engine/retailrocket-reader.ts and spark-jobs/shopsight_jobs/readers.py). The REES46 readers
 * accept years 0001..9999, which no daily projection can cover at a sane cost (every query that
 * names only its run would probe each day's prefix): they should reject event times outside this
 * range as bad_timestamp too. A fixed end, not NOW: an accepted event dated in the future is shown.
 */
export const EVENT_DATE_PROJECTION_RANGE = { first: '2000-01-01', last: '2100-12-31' } as const;

const PARQUET_STORAGE = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
};

const glueColumn = (c: ColumnDef): glue.CfnTable.ColumnProperty => ({
  name: c.name,
  type: glueType(c.type),
  comment: c.description.slice(0, 255),
});

/**
 * Partition projection for a curated table: `run_id` is injected (every query names its run, so
 * Athena never lists runs), `event_date` is a date range, a string key with enumerated values an enum. No crawler and no MSCK REPAIR needed.
 */
export function projectionParameters(table: OutputTableDef): Record<string, string> {
  const params: Record<string, string> = {
    'projection.enabled': 'true',
    [`projection.${RUN_ID_PARTITION.name}.type`]: 'injected',
  };
  for (const key of table.partitionKeys) {
    if (key.type.kind === 'string' && key.enumValues && key.enumValues.length > 0) {
      Object.assign(params, {
        [`projection.${key.name}.type`]: 'enum',
        [`projection.${key.name}.values`]: key.enumValues.join(','),
      });
      continue;
    }
    if (key.type.kind !== 'date') {
      throw new Error(`Table ${table.name}: partition ${key.name} has no projection rule for type ${key.type.kind}`);
    }
    Object.assign(params, {
      [`projection.${key.name}.type`]: 'date',
      [`projection.${key.name}.format`]: 'yyyy-MM-dd',
      [`projection.${key.name}.range`]: `${EVENT_DATE_PROJECTION_RANGE.first},${EVENT_DATE_PROJECTION_RANGE.last}`,
      [`projection.${key.name}.interval`]: '1',
      [`projection.${key.name}.interval.unit`]: 'DAYS',
    });
  }
  return params;
}

/**
 * The Glue database with a table for every raw input and every contract output table, and the
 * Athena workgroup (engine v3, enforced settings, encrypted results, scan cut-off) with named
 * queries for the headline insights.
 */
export class DataCatalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly workGroup: athena.CfnWorkGroup;
  readonly workGroupName: string;
  /** Glue table name → construct, for every generated table. */
  readonly tables: Record<string, glue.CfnTable> = {};
  private readonly curatedBucket: s3.IBucket;
  private readonly athenaResultsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: DataCatalogProps) {
    super(scope, id);
    this.curatedBucket = props.curatedBucket;
    this.athenaResultsBucket = props.athenaResultsBucket;
    if (!/^[a-z0-9_]{1,255}$/.test(props.databaseName)) {
      throw new Error(`Glue database name "${props.databaseName}" must use only a-z, 0-9 and _`);
    }
    this.databaseName = props.databaseName;
    this.workGroupName = props.workGroupName;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: props.databaseName,
        description: 'ShopSight: raw clickstream inputs, curated events, the seven schemas, insights and models.',
      },
    });

    for (const table of RAW_TABLES) this.addRawTable(table, props.rawBucket);
    for (const table of OUTPUT_TABLES) this.addOutputTable(table, props.curatedBucket);

    const cutoffBytes = (props.bytesScannedCutoffGb ?? 10) * 1024 ** 3;
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.workGroupName,
      description: 'ShopSight analysts and the pipeline data-quality gate.',
      state: 'ENABLED',
      recursiveDeleteOption: props.destroyWorkGroupContents ?? false,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoffBytes,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: props.athenaResultsBucket.s3UrlForObject(RESULTS_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });

    for (const query of HEADLINE_QUERIES) {
      const named = new athena.CfnNamedQuery(this, `Query-${query.id}`, {
        name: query.name,
        description: query.description,
        database: props.databaseName,
        workGroup: this.workGroup.ref,
        queryString: query.sql,
      });
      named.addResourceDependency(this.database);
    }
  }

  /** ARNs of the database and all its tables, for IAM statements scoped to this catalog. */
  get catalogArns(): { catalog: string; database: string; tables: string } {
    const stack = Stack.of(this);
    const base = `arn:${Aws.PARTITION}:glue:${stack.region}:${stack.account}`;
    return {
      catalog: `${base}:catalog`,
      database: `${base}:database/${this.databaseName}`,
      tables: `${base}:table/${this.databaseName}/*`,
    };
  }

  /**
   * Athena in this workgroup for a function (the data-quality gate): run queries, read the catalog's
   * database and tables and the curated data behind the contract tables, write the query results.
   */
  grantAthenaQueries(grantee: iam.IGrantable): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunAthenaQueries',
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        resources: [`arn:${Aws.PARTITION}:athena:${Aws.REGION}:${Aws.ACCOUNT_ID}:workgroup/${this.workGroupName}`],
      }),
    );
    const arns = this.catalogArns;
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCatalog',
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        resources: [arns.catalog, arns.database, arns.tables],
      }),
    );
    acknowledgeGrantedWildcard(grantee, arns.tables, "Read-only access to this app's own Glue database's tables, all generated from the table contract.");
    grantContractTables(this.curatedBucket, grantee, 'read');
    grantObjects(this.athenaResultsBucket, grantee, `${RESULTS_PREFIX}*`, 'readWrite', "Athena writes query results under the workgroup's results/ prefix.");
  }

  private addRawTable(table: RawTableDef, bucket: s3.IBucket): void {
    this.tables[table.name] = this.addTable(table.name, {
      name: table.name,
      description: table.description,
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        classification: 'csv',
        // The header line is skipped; gzip files are read as they are.
        'skip.header.line.count': '1',
      },
      storageDescriptor: {
        columns: table.columns.map(glueColumn),
        location: bucket.s3UrlForObject(table.rawFolder),
        inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        serdeInfo: {
          // OpenCSVSerde honours quoted fields (REES46 writes none, but user exports may).
          serializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
          parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
        },
      },
    });
  }

  private addOutputTable(table: OutputTableDef, bucket: s3.IBucket): void {
    this.tables[table.name] = this.addTable(table.name, {
      name: table.name,
      description: `${table.description} Leaves out: ${table.excludes}`.slice(0, 2048),
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        classification: 'parquet',
        'parquet.compression': 'SNAPPY',
        'shopsight.primary_key': table.primaryKey.join(','),
        'shopsight.served': String(table.served),
        ...projectionParameters(table),
      },
      partitionKeys: [RUN_ID_PARTITION, ...table.partitionKeys].map(glueColumn),
      storageDescriptor: {
        columns: table.columns.map(glueColumn),
        location: bucket.s3UrlForObject(curatedTablePrefix(table.name)),
        ...PARQUET_STORAGE,
      },
    });
  }

  private addTable(id: string, tableInput: glue.CfnTable.TableInputProperty): glue.CfnTable {
    const table = new glue.CfnTable(this, `Table-${id}`, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput,
    });
    table.addResourceDependency(this.database);
    return table;
  }
}
