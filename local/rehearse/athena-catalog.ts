/**
 * The Glue catalog of the synthesized template as the Athena stand-in sees it: the tables (columns,
 * partition keys, projection, location), the workgroups, and, per query, a local mirror of the
 * objects a table's partitions hold in the S3 emulator exposed as a DuckDB view that reads them by
 * the catalog's schema.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ListObjectsV2Command, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DuckDBConnection } from '@duckdb/node-api';

export interface GlueColumn {
  readonly name: string;
  readonly type: string;
}

export interface GlueTable {
  readonly database: string;
  readonly name: string;
  readonly bucket: string;
  /** Key prefix of the table's location, ending with '/' (or empty). */
  readonly prefix: string;
  readonly columns: readonly GlueColumn[];
  readonly partitionKeys: readonly GlueColumn[];
  readonly parameters: Readonly<Record<string, string>>;
  readonly serde: string;
}

export interface AthenaWorkGroup {
  readonly name: string;
  readonly state: string;
  readonly outputLocation?: string;
  readonly engineVersion: string;
}

interface TemplateLike {
  readonly Resources: Record<string, { Type: string; Properties?: any }>;
}

function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`Glue table location ${JSON.stringify(url)} is not an s3:// URL`);
  const prefix = match[2] && !match[2].endsWith('/') ? `${match[2]}/` : match[2];
  return { bucket: match[1], prefix };
}

const columnsOf = (list: unknown): GlueColumn[] =>
  Array.isArray(list) ? list.map((c: { Name: string; Type: string }) => ({ name: c.Name.toLowerCase(), type: c.Type.toLowerCase() })) : [];

export function glueTablesOf(template: TemplateLike): GlueTable[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Glue::Table')
    .map((r) => {
      const input = r.Properties.TableInput;
      const storage = input.StorageDescriptor ?? {};
      return {
        database: String(r.Properties.DatabaseName).toLowerCase(),
        name: String(input.Name).toLowerCase(),
        ...parseS3Url(String(storage.Location)),
        columns: columnsOf(storage.Columns),
        partitionKeys: columnsOf(input.PartitionKeys),
        parameters: input.Parameters ?? {},
        serde: storage.SerdeInfo?.SerializationLibrary ?? '',
      };
    });
}

export function workGroupsOf(template: TemplateLike): AthenaWorkGroup[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Athena::WorkGroup')
    .map((r) => ({
      name: String(r.Properties.Name),
      state: r.Properties.State ?? 'ENABLED',
      outputLocation: r.Properties.WorkGroupConfiguration?.ResultConfiguration?.OutputLocation,
      engineVersion: r.Properties.WorkGroupConfiguration?.EngineVersion?.SelectedEngineVersion ?? 'AUTO',
    }));
}

const isParquet = (t: GlueTable): boolean => /parquet/i.test(t.serde) || t.parameters.classification === 'parquet';

/** A Glue/Hive column type as DuckDB spells it. */
export function duckdbTypeOf(glueType: string): string {
  const t = glueType.trim().toLowerCase();
  if (t === 'string' || /^(var)?char\(\d+\)$/.test(t)) return 'VARCHAR';
  if (/^decimal\(\s*\d+\s*,\s*\d+\s*\)$/.test(t)) return t.toUpperCase().replace(/\s+/g, '');
  const simple: Record<string, string> = {
    tinyint: 'TINYINT',
    smallint: 'SMALLINT',
    int: 'INTEGER',
    integer: 'INTEGER',
    bigint: 'BIGINT',
    float: 'FLOAT',
    double: 'DOUBLE',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
    binary: 'BLOB',
  };
  const mapped = simple[t];
  if (!mapped) throw new Error(`The Athena stand-in cannot read Glue column type ${glueType}`);
  return mapped;
}

const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

/** The tables a statement names: `db.table` (any quoting), or a bare name in the query's database. */
export function referencedTables(sql: string, tables: readonly GlueTable[], defaultDatabase?: string): GlueTable[] {
  const part = (name: string): string => `(?:"${name}"|\\b${name}\\b)`;
  return tables.filter((t) => {
    const qualified = new RegExp(`${part(t.database)}\\s*\\.\\s*${part(t.name)}`, 'i');
    if (qualified.test(sql)) return true;
    return defaultDatabase?.toLowerCase() === t.database && new RegExp(`(?<!\\.\\s*)${part(t.name)}`, 'i').test(sql);
  });
}

/**
 * The values an injected projection column is constrained to: Athena requires `col = 'literal'`
 * (or `col IN (...)`) in the WHERE clause and reads only those partitions.
 */
export function injectedValues(sql: string, column: string): string[] {
  const values: string[] = [];
  const equal = new RegExp(`(?:"${column}"|\\b${column}\\b)\\s*=\\s*'((?:[^']|'')*)'`, 'gi');
  for (const m of sql.matchAll(equal)) values.push(m[1].replace(/''/g, "'"));
  const inList = new RegExp(`(?:"${column}"|\\b${column}\\b)\\s+IN\\s*\\(([^)]*)\\)`, 'gi');
  for (const m of sql.matchAll(inList)) {
    for (const v of m[1].matchAll(/'((?:[^']|'')*)'/g)) values.push(v[1].replace(/''/g, "'"));
  }
  return [...new Set(values)];
}

const isoDate = (d: Date): string => d.toISOString().slice(0, 10);

/** Whether a partition value is one the table's projection generates (Athena never sees other folders). */
function projected(table: GlueTable, key: GlueColumn, value: string, injected: ReadonlyMap<string, readonly string[]>): boolean {
  const p = table.parameters;
  const kind = p[`projection.${key.name}.type`];
  switch (kind) {
    case 'injected':
      return injected.get(key.name)?.includes(value) ?? false;
    case 'enum':
      return (p[`projection.${key.name}.values`] ?? '').split(',').map((v) => v.trim()).includes(value);
    case 'date': {
      const format = p[`projection.${key.name}.format`];
      if (format !== 'yyyy-MM-dd') throw new Error(`The Athena stand-in projects only yyyy-MM-dd dates, ${table.name}.${key.name} uses ${format}`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || isoDate(new Date(`${value}T00:00:00Z`)) !== value) return false;
      const [start, end] = (p[`projection.${key.name}.range`] ?? '').split(',').map((v) => v.trim());
      const bound = (b: string | undefined): string | undefined => (b === undefined || b === '' ? undefined : b.toUpperCase() === 'NOW' ? isoDate(new Date()) : b);
      const [from, to] = [bound(start), bound(end)];
      return (from === undefined || value >= from) && (to === undefined || value <= to);
    }
    case 'integer': {
      const [from, to] = (p[`projection.${key.name}.range`] ?? '').split(',').map(Number);
      return /^-?\d+$/.test(value) && Number(value) >= from && Number(value) <= to;
    }
    default:
      throw new Error(`The Athena stand-in cannot project ${table.name}.${key.name} of projection type ${kind}`);
  }
}

/** A Hive partition folder's value: `%XX` escapes decoded, a malformed escape left as it is. */
function hiveUnescape(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Hive and Athena skip files whose name starts with '_' or '.' (e.g. _SUCCESS, .crc) and folder markers. */
const isDataFile = (name: string): boolean => name !== '' && !name.startsWith('_') && !name.startsWith('.') && !name.endsWith('$folder$');

export interface MirroredObject {
  readonly key: string;
  readonly file: string;
  readonly size: number;
}

/**
 * Copies objects of the S3 emulator into a local folder (`<root>/<bucket>/<key>`), skipping those
 * already copied with the same ETag and removing the copies of objects that are gone.
 */
export class S3Mirror {
  private readonly indexFile: string;
  private readonly index: Record<string, { etag: string; size: number }>;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: S3Client,
    private readonly root: string,
  ) {
    fs.mkdirSync(root, { recursive: true });
    this.indexFile = path.join(root, 'etags.json');
    this.index = fs.existsSync(this.indexFile) ? JSON.parse(fs.readFileSync(this.indexFile, 'utf8')) : {};
  }

  private fileOf(bucket: string, key: string): string {
    if (key.split('/').some((segment) => segment === '..')) throw new Error(`Refusing to mirror object key ${key}`);
    return path.join(this.root, bucket, key);
  }

  /** Every object under the prefix, mirrored; one mirroring of a prefix at a time. */
  mirror(bucket: string, prefix: string): Promise<MirroredObject[]> {
    const lockKey = `${bucket}/${prefix}`;
    const previous = this.locks.get(lockKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.mirrorNow(bucket, prefix));
    this.locks.set(lockKey, run);
    return run;
  }

  private async mirrorNow(bucket: string, prefix: string): Promise<MirroredObject[]> {
    const listed: { key: string; etag: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) listed.push({ key: o.Key, etag: o.ETag ?? '', size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);

    const present = new Set(listed.map((o) => `${bucket}/${o.key}`));
    for (const id of Object.keys(this.index)) {
      if (id.startsWith(`${bucket}/${prefix}`) && !present.has(id)) {
        fs.rmSync(this.fileOf(bucket, id.slice(bucket.length + 1)), { force: true });
        delete this.index[id];
      }
    }
    for (const o of listed) {
      const id = `${bucket}/${o.key}`;
      const file = this.fileOf(bucket, o.key);
      if (this.index[id]?.etag === o.etag && fs.existsSync(file)) continue;
      const object = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
      const bytes = await object.Body!.transformToByteArray();
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.partial`;
      fs.writeFileSync(temporary, bytes);
      fs.renameSync(temporary, file);
      this.index[id] = { etag: o.etag, size: bytes.length };
    }
    const temporaryIndex = `${this.indexFile}.partial`;
    fs.writeFileSync(temporaryIndex, JSON.stringify(this.index));
    fs.renameSync(temporaryIndex, this.indexFile);
    return listed.map((o) => ({ key: o.key, file: this.fileOf(bucket, o.key), size: o.size }));
  }
}

/**
 * The files Athena would read for a table: with projection, those in the partition folders
 * `<location>/<key>=<value>/…/<file>` whose values the projection generates (injected keys only
 * the values the query names); a partitioned table without projection has no Glue partitions here,
 * so no files; an unpartitioned table every data file under its location.
 */
export async function tableFiles(mirror: S3Mirror, table: GlueTable, boundSql: string): Promise<MirroredObject[]> {
  if (!isParquet(table)) throw new Error(`The Athena stand-in reads only Parquet tables; ${table.database}.${table.name} is ${table.serde || 'of an unknown format'}`);
  const keys = table.partitionKeys;
  if (keys.length === 0) {
    return (await mirror.mirror(table.bucket, table.prefix)).filter((o) => isDataFile(path.posix.basename(o.key)));
  }
  if (table.parameters['projection.enabled'] !== 'true') return [];
  if (table.parameters['storage.location.template']) throw new Error(`The Athena stand-in does not read storage.location.template (${table.name})`);

  const injected = new Map<string, string[]>();
  for (const key of keys) {
    if (table.parameters[`projection.${key.name}.type`] !== 'injected') continue;
    const values = injectedValues(boundSql, key.name);
    if (values.length === 0) {
      throw new Error(
        `CONSTRAINT_VIOLATION: For the injected projected partition column ${key.name}, the WHERE clause must contain only static equality conditions, and at least one such condition must be present.`,
      );
    }
    injected.set(key.name, values);
  }
  // Mirror only the folders the first key's values name when it is injected (each run's own prefix).
  const first = keys[0];
  const prefixes = injected.has(first.name)
    ? injected.get(first.name)!.map((v) => `${table.prefix}${first.name}=${v}/`)
    : [table.prefix];
  const objects = (await Promise.all(prefixes.map((p) => mirror.mirror(table.bucket, p)))).flat();
  return objects.filter((o) => {
    const segments = o.key.slice(table.prefix.length).split('/');
    if (segments.length !== keys.length + 1 || !isDataFile(segments[keys.length])) return false;
    return keys.every((key, i) => {
      const [name, ...rest] = segments[i].split('=');
      return name === key.name && rest.length > 0 && projected(table, key, hiveUnescape(rest.join('=')), injected);
    });
  });
}

/** DuckDB's type of each column of one Parquet file, by lower-case name; cached per file version. */
const fileSchemas = new Map<string, Map<string, string>>();

async function fileSchema(connection: DuckDBConnection, file: string): Promise<Map<string, string>> {
  const version = `${file}\0${fs.statSync(file).mtimeMs}`;
  let schema = fileSchemas.get(version);
  if (!schema) {
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file.replace(/'/g, "''")}', hive_partitioning = false)`);
    schema = new Map(described.getRowObjects().map((r) => [String(r.column_name).toLowerCase(), String(r.column_type)]));
    fileSchemas.set(version, schema);
  }
  return schema;
}

const INTEGER_WIDTH: Record<string, number> = { TINYINT: 1, SMALLINT: 2, INTEGER: 3, BIGINT: 4 };

/**
 * Whether Athena's Parquet reader accepts a file column of this (DuckDB-named) type for the Glue
 * type: integers only widened, real as double, decimals rescaled and integers as decimals, strings
 * from UTF-8 or binary, timestamps of any unit or zone. Anything else is HIVE_BAD_DATA in Athena.
 */
export function athenaReadsAs(fileType: string, glueType: string): boolean {
  const target = duckdbTypeOf(glueType);
  const source = fileType.toUpperCase();
  if (target in INTEGER_WIDTH) return source in INTEGER_WIDTH && INTEGER_WIDTH[source] <= INTEGER_WIDTH[target];
  if (target.startsWith('DECIMAL')) return source.startsWith('DECIMAL') || source in INTEGER_WIDTH;
  switch (target) {
    case 'DOUBLE':
      return source === 'DOUBLE' || source === 'FLOAT';
    case 'VARCHAR':
    case 'BLOB':
      return source === 'VARCHAR' || source === 'BLOB';
    case 'TIMESTAMP':
      return source.startsWith('TIMESTAMP');
    default:
      return source === target;
  }
}

/**
 * Creates `"<db>"."<table>"` as a view over the files, each column cast to its Glue type (Athena
 * reads Parquet by the catalog's schema, by column name; a column no file has reads as NULL),
 * partition columns from the Hive-style folder names. A file column of a type Athena would refuse
 * for the Glue type fails the query, as HIVE_BAD_DATA does.
 */
export async function createTableView(connection: DuckDBConnection, table: GlueTable, files: readonly MirroredObject[]): Promise<void> {
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quote(table.database)}`);
  const all = [...table.columns, ...table.partitionKeys];
  const name = `${quote(table.database)}.${quote(table.name)}`;
  if (files.length === 0) {
    const nulls = all.map((c) => `CAST(NULL AS ${duckdbTypeOf(c.type)}) AS ${quote(c.name)}`).join(', ');
    await connection.run(`CREATE VIEW ${name} AS SELECT ${nulls} WHERE false`);
    return;
  }
  const present = new Set<string>();
  for (const f of files) {
    const schema = await fileSchema(connection, f.file);
    for (const column of table.columns) {
      const fileType = schema.get(column.name);
      if (fileType === undefined) continue;
      present.add(column.name);
      if (!athenaReadsAs(fileType, column.type)) {
        throw new Error(
          `HIVE_BAD_DATA: Field ${column.name}'s type ${fileType} in parquet file s3://${table.bucket}/${f.key} is incompatible with type ${column.type} defined in table schema`,
        );
      }
    }
  }
  for (const key of table.partitionKeys) present.add(key.name);
  const list = files.map((f) => `'${f.file.replace(/'/g, "''")}'`).join(', ');
  const source = `read_parquet([${list}], hive_partitioning = ${table.partitionKeys.length > 0}, hive_types_autocast = false, union_by_name = true)`;
  const columns = all
    .map((c) => `CAST(${present.has(c.name) ? quote(c.name) : 'NULL'} AS ${duckdbTypeOf(c.type)}) AS ${quote(c.name)}`)
    .join(', ');
  await connection.run(`CREATE VIEW ${name} AS SELECT ${columns} FROM ${source}`);
}
