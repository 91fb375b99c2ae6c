/**
 * Athena (Trino) SQL on DuckDB: the dialect differences the data-quality gate's SQL meets, and
 * nothing more. Used by the Athena stand-in of the rehearsal and by the gate's SQL tests, so that
 * both bind parameters and print values the same way Athena does.
 *
 * - ExecutionParameters: Athena substitutes each one, in order, for a `?` of the statement text
 *   (outside string literals, quoted identifiers and comments); each is itself a SQL literal
 *   (`'oct-2019'`, `42`). A count mismatch fails the query as Trino does.
 * - Values: GetQueryResults gives every value as text as Trino prints it (integers plain, doubles
 *   as Java's Double.toString — 1.5, 1.0E7, 1.0E-4 — which is what CAST(double AS varchar) gave
 *   before Trino switched it to always-scientific 1.5E0, decimals with their full scale, dates
 *   YYYY-MM-DD, timestamps with milliseconds (truncated), booleans true/false), NULL as no value.
 * - Types: DuckDB's HUGEINT (its sum of integers) is Trino's bigint; everything else maps by name.
 *
 * The gate's own SQL (count, sum, coalesce, CASE, `"db"."table"`, `WHERE run_id = ?`) needs no
 * other rewrite: DuckDB runs it as Trino does.
 */
import {
  DuckDBConnection,
  DuckDBDecimalType,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampValue,
  DuckDBType,
  DuckDBTypeId,
  DuckDBValue,
} from '@duckdb/node-api';
import { athenaStringLiteral, QueryRow, QueryRunner } from '../../core/catalog/athena-query';

/** Substitutes the literals for the `?` placeholders, in order, as Athena does with ExecutionParameters. */
export function bindExecutionParameters(sql: string, parameters: readonly string[]): string {
  let out = '';
  let used = 0;
  let i = 0;
  const copyUntil = (end: number): void => {
    out += sql.slice(i, end);
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      // A quoted string or identifier; a doubled quote is an escaped one.
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(c, j);
        if (k < 0) {
          j = sql.length;
          break;
        }
        if (sql[k + 1] === c) {
          j = k + 2;
          continue;
        }
        j = k + 1;
        break;
      }
      copyUntil(j);
    } else if (c === '-' && sql[i + 1] === '-') {
      const k = sql.indexOf('\n', i);
      copyUntil(k < 0 ? sql.length : k);
    } else if (c === '/' && sql[i + 1] === '*') {
      const k = sql.indexOf('*/', i + 2);
      copyUntil(k < 0 ? sql.length : k + 2);
    } else if (c === '?') {
      if (used < parameters.length) out += parameters[used];
      used++;
      i++;
    } else {
      copyUntil(i + 1);
    }
  }
  if (used !== parameters.length) {
    throw new Error(`Incorrect number of parameters: expected ${used} but found ${parameters.length}`);
  }
  return out;
}

/** Java's Double.toString, which Trino's CAST(double AS varchar) uses. */
export function javaDoubleText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(magnitude);
    return sign + (text.includes('.') ? text : `${text}.0`);
  }
  const [mantissa, exponent] = magnitude.toExponential().split('e');
  return `${sign}${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** Java's Float.toString for a REAL: the shortest digits that read back as the same float. */
function javaFloatText(value: number): string {
  if (!Number.isFinite(value) || value === 0) return javaDoubleText(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === Math.fround(value)) return javaDoubleText(candidate);
  }
  return javaDoubleText(value);
}

const pad = (n: number | bigint, width: number): string => String(n).padStart(width, '0');

/** 'YYYY-MM-DD HH:MM:SS.fff', Athena's timestamp text (millisecond precision, fraction truncated). */
function timestampText(micros: bigint): string {
  const millis = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
  const date = new Date(Number(millis));
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}`
  );
}

/** A value of a DuckDB result as Athena's GetQueryResults prints it; null for SQL NULL. */
export function trinoText(value: DuckDBValue, type: DuckDBType): string | null {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.DOUBLE:
      return javaDoubleText(value as number);
    case DuckDBTypeId.FLOAT:
      return javaFloatText(value as number);
    case DuckDBTypeId.TIMESTAMP:
      return timestampText((value as DuckDBTimestampValue).micros);
    case DuckDBTypeId.TIMESTAMP_MS:
      return timestampText((value as DuckDBTimestampMillisecondsValue).millis * 1000n);
    case DuckDBTypeId.TIMESTAMP_S:
      return timestampText((value as DuckDBTimestampSecondsValue).seconds * 1_000_000n);
    case DuckDBTypeId.TIMESTAMP_NS:
      return timestampText((value as DuckDBTimestampNanosecondsValue).nanos / 1000n);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return `${timestampText((value as DuckDBTimestampValue).micros)} UTC`;
    default:
      // Integers (bigint or number), DECIMAL (full scale), DATE (YYYY-MM-DD), BOOLEAN, VARCHAR, lists ([1, 2]).
      return String(value);
  }
}

/** Athena's ColumnInfo for a result column, as GetQueryResults returns it. */
export interface AthenaColumnInfo {
  readonly CatalogName: string;
  readonly SchemaName: string;
  readonly TableName: string;
  readonly Name: string;
  readonly Label: string;
  readonly Type: string;
  readonly Precision: number;
  readonly Scale: number;
  readonly Nullable: 'UNKNOWN';
  readonly CaseSensitive: boolean;
}

/** Athena's type name and precision of each DuckDB result type (decimals carry their own). */
const ATHENA_TYPES: ReadonlyMap<DuckDBTypeId, readonly [name: string, precision: number]> = new Map([
  [DuckDBTypeId.BOOLEAN, ['boolean', 0]],
  [DuckDBTypeId.TINYINT, ['tinyint', 3]],
  [DuckDBTypeId.SMALLINT, ['smallint', 5]],
  [DuckDBTypeId.INTEGER, ['integer', 10]],
  // DuckDB's sum of integers is a HUGEINT; Trino's is a bigint.
  ...[DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT, DuckDBTypeId.UBIGINT, DuckDBTypeId.UINTEGER].map((id) => [id, ['bigint', 19]] as const),
  [DuckDBTypeId.FLOAT, ['float', 17]],
  [DuckDBTypeId.DOUBLE, ['double', 17]],
  [DuckDBTypeId.DATE, ['date', 0]],
  ...[DuckDBTypeId.TIMESTAMP, DuckDBTypeId.TIMESTAMP_MS, DuckDBTypeId.TIMESTAMP_S, DuckDBTypeId.TIMESTAMP_NS].map((id) => [id, ['timestamp', 3]] as const),
  [DuckDBTypeId.TIMESTAMP_TZ, ['timestamp with time zone', 3]],
  [DuckDBTypeId.VARCHAR, ['varchar', 2147483647]],
  [DuckDBTypeId.LIST, ['array', 0]],
  [DuckDBTypeId.ARRAY, ['array', 0]],
  [DuckDBTypeId.MAP, ['map', 0]],
  [DuckDBTypeId.STRUCT, ['row', 0]],
  [DuckDBTypeId.BLOB, ['varbinary', 1073741824]],
] as [DuckDBTypeId, readonly [string, number]][]);

function athenaType(type: DuckDBType): { type: string; precision: number; scale: number } {
  if (type.typeId === DuckDBTypeId.DECIMAL) {
    const d = type as DuckDBDecimalType;
    return { type: 'decimal', precision: d.width, scale: d.scale };
  }
  const [name, precision] = ATHENA_TYPES.get(type.typeId) ?? [String(type).toLowerCase(), 0];
  return { type: name, precision, scale: 0 };
}

export function athenaColumnInfo(name: string, type: DuckDBType): AthenaColumnInfo {
  const t = athenaType(type);
  return {
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: name,
    Label: name,
    Type: t.type,
    Precision: t.precision,
    Scale: t.scale,
    Nullable: 'UNKNOWN',
    CaseSensitive: t.type === 'varchar',
  };
}

export interface AthenaResult {
  readonly columns: readonly AthenaColumnInfo[];
  /** Every value as Athena's text, null for NULL. */
  readonly rows: readonly (readonly (string | null)[])[];
}

/** Runs already-bound SQL on a DuckDB connection and returns the result as Athena prints it. */
export async function runAthenaSql(connection: DuckDBConnection, sql: string): Promise<AthenaResult> {
  const reader = await connection.runAndReadAll(sql);
  const names = reader.columnNames();
  const types = reader.columnTypes();
  return {
    columns: names.map((name, i) => athenaColumnInfo(name, types[i])),
    rows: reader.getRows().map((row) => row.map((value, i) => trinoText(value, types[i]))),
  };
}

/**
 * The gate's QueryRunner on DuckDB: parameters bound as the Lambda's runner sends them to Athena
 * (quoted literals substituted for `?`), every value read back as Athena's text.
 */
export function duckdbQueryRunner(connect: () => Promise<DuckDBConnection>): QueryRunner {
  return async ({ sql, parameters }) => {
    const connection = await connect();
    try {
      const result = await runAthenaSql(connection, bindExecutionParameters(sql, parameters.map(athenaStringLiteral)));
      return result.rows.map((cells): QueryRow => Object.fromEntries(result.columns.map((c, i) => [c.Name, cells[i]])));
    } finally {
      connection.closeSync();
    }
  };
}
