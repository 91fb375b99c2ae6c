/**
 * The RDS Data API's wire shapes for the stand-in (local/rehearse/data-api-standin.ts), as
 * @aws-sdk/client-rds-data (REST-JSON) sends and parses them:
 * - requests: POST /Execute, /BeginTransaction, /CommitTransaction, /RollbackTransaction,
 *   /BatchExecute with a JSON body (resourceArn, secretArn, database, sql, parameters, transactionId,
 *   includeResultMetadata, continueAfterTimeout, formatRecordsAs, parameterSets);
 * - errors: the HTTP status of the error's shape, `x-amzn-errortype: <Name>` and a JSON body
 *   `{ "message": … }` (the SDK takes the name from the header first, then `code`, then `__type`).
 *
 * Database errors are shaped as the Data API for Aurora Serverless v2 and provisioned clusters
 * returns them: DatabaseErrorException (HTTP 400) with the server's message followed by
 * `; Error code: <errno>; SQLState: <state>` (BadRequestException with "Database error code: N.
 * Message: …" is the Serverless v1 shape, which this stack does not use).
 */
import type { FieldPacket } from 'mysql2';
import * as mysql from 'mysql2/promise';

/** The error shapes the stand-in raises, with the HTTP status the SDK's model gives each. */
export const DATA_API_ERRORS = {
  BadRequestException: 400,
  DatabaseErrorException: 400,
  StatementTimeoutException: 400,
  SecretsErrorException: 400,
  ForbiddenException: 403,
  TransactionNotFoundException: 404,
  NotFoundException: 404,
  InternalServerErrorException: 500,
} as const;

export type DataApiErrorName = keyof typeof DATA_API_ERRORS;

export class DataApiError extends Error {
  constructor(
    readonly errorType: DataApiErrorName,
    message: string,
    /** Extra members of the error body (StatementTimeoutException's dbConnectionId). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = errorType;
  }

  get status(): number {
    return DATA_API_ERRORS[this.errorType];
  }
}

/** A MySQL/MariaDB server error (errno, SQLSTATE, message), from mysql2 or raised by the stand-in itself. */
export interface ServerError {
  readonly errno: number;
  readonly sqlState: string;
  readonly sqlMessage: string;
}

export const isServerError = (e: unknown): e is ServerError =>
  typeof (e as ServerError | undefined)?.errno === 'number' && typeof (e as ServerError).sqlMessage === 'string';

export const serverError = (errno: number, sqlState: string, sqlMessage: string): ServerError & Error =>
  Object.assign(new Error(sqlMessage), { errno, sqlState, sqlMessage });

/** The Data API's DatabaseErrorException for a server error. */
export const databaseError = (e: ServerError): DataApiError =>
  new DataApiError('DatabaseErrorException', `${e.sqlMessage}; Error code: ${e.errno}; SQLState: ${e.sqlState}`);

/** MySQL's ER_PARSE_ERROR for the text from `offset` on, as the parser words it. */
export function parseError(sql: string, offset: number): ServerError & Error {
  const line = sql.slice(0, offset).split('\n').length;
  return serverError(
    1064,
    '42000',
    `You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '${sql.slice(offset, offset + 80)}' at line ${line}`,
  );
}

/** Field, the SDK's union for one value in and out (exactly one member set). */
export interface WireField {
  isNull?: boolean;
  booleanValue?: boolean;
  longValue?: number;
  doubleValue?: number;
  stringValue?: string;
  /** base64 on the wire */
  blobValue?: string;
  arrayValue?: unknown;
}

export interface WireParameter {
  name?: string;
  value?: WireField;
  typeHint?: 'JSON' | 'UUID' | 'TIMESTAMP' | 'DATE' | 'TIME' | 'DECIMAL';
}

// mysql2's typed bind values (sent with their MySQL type in COM_STMT_EXECUTE); its typings do not declare the factory.
const TypedParameter = (require('mysql2') as { TypedParameter: Record<string, (value: unknown) => unknown> }).TypedParameter;

const PATTERNS = {
  DATE: /^\d{4}-\d{2}-\d{2}$/,
  TIME: /^\d{2}:\d{2}:\d{2}(\.\d{1,9})?$/,
  TIMESTAMP: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$/,
  DECIMAL: /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/,
  UUID: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
} as const;

/**
 * One SqlParameter as the value mysql2 binds: longValue as BIGINT, doubleValue as DOUBLE, booleanValue as
 * TINYINT, blobValue as BLOB, stringValue as text (DECIMAL and TIME hints with those MySQL types; DATE,
 * TIMESTAMP, JSON and UUID as text the server converts, after checking the format the Data API accepts).
 */
export function bindValue(parameter: WireParameter): unknown {
  const name = parameter.name ?? '';
  const v = parameter.value ?? {};
  const members = Object.entries(v).filter(([, x]) => x !== undefined);
  if (members.length !== 1) throw new DataApiError('BadRequestException', `Parameter ${name} must have exactly one value`);
  const [member, raw] = members[0];
  switch (member) {
    case 'isNull':
      return null;
    case 'booleanValue':
      return TypedParameter.TINY(raw ? 1 : 0);
    case 'longValue':
      if (!Number.isSafeInteger(raw)) throw new DataApiError('BadRequestException', `Parameter ${name}: longValue ${String(raw)} is not an integer`);
      return TypedParameter.LONGLONG(raw);
    case 'doubleValue':
      return TypedParameter.DOUBLE(raw);
    case 'blobValue':
      return Buffer.from(String(raw), 'base64');
    case 'stringValue': {
      const s = String(raw);
      const hint = parameter.typeHint;
      if (hint === undefined) return s;
      const pattern = hint === 'JSON' ? undefined : PATTERNS[hint];
      if (hint === 'JSON') {
        try {
          JSON.parse(s);
        } catch {
          throw new DataApiError('BadRequestException', `Parameter ${name}: "${s}" is not valid JSON`);
        }
      } else if (!pattern || !pattern.test(s)) {
        throw new DataApiError('BadRequestException', `Parameter ${name}: "${s}" does not match the format of type hint ${hint}`);
      }
      if (hint === 'DECIMAL') return TypedParameter.DECIMAL(s);
      if (hint === 'TIME') return TypedParameter.TIME(s);
      return s;
    }
    case 'arrayValue':
      throw new DataApiError('BadRequestException', `Parameter ${name}: array parameters are not supported for MySQL`);
    default:
      throw new DataApiError('BadRequestException', `Parameter ${name}: unknown value member ${member}`);
  }
}

// mysql2's column type codes (mysql2/lib/constants/types) and field flags.
const T = mysql.Types as unknown as Record<string, number>;
const INTEGER_TYPES = new Set([T.TINY, T.SHORT, T.LONG, T.INT24, T.LONGLONG, T.YEAR]);
const FLOAT_TYPES = new Set([T.FLOAT, T.DOUBLE]);
const DECIMAL_TYPES = new Set([T.DECIMAL, T.NEWDECIMAL]);
const FLAG = { NOT_NULL: 1, UNSIGNED: 32, BINARY: 128, AUTO_INCREMENT: 512 } as const;

type Kind = 'null' | 'long' | 'double' | 'decimal' | 'boolean' | 'blob' | 'string';

function kindOf(field: FieldPacket): Exclude<Kind, 'null'> {
  const type = field.columnType ?? -1;
  if (INTEGER_TYPES.has(type)) return 'long';
  if (FLOAT_TYPES.has(type)) return 'double';
  if (DECIMAL_TYPES.has(type)) return 'decimal';
  if (type === T.BIT) return field.columnLength === 1 ? 'boolean' : 'blob';
  return 'string';
}

function valueKind(field: FieldPacket, value: unknown): Kind {
  if (value === null || value === undefined) return 'null';
  if (Buffer.isBuffer(value)) return kindOf(field) === 'boolean' ? 'boolean' : 'blob';
  return kindOf(field);
}

/** A column value as the `records` Field. */
export function recordField(field: FieldPacket, value: unknown): WireField {
  switch (valueKind(field, value)) {
    case 'null':
      return { isNull: true };
    case 'long':
      return { longValue: Number(value) };
    case 'double':
      return { doubleValue: Number(value) };
    case 'boolean':
      return { booleanValue: Buffer.isBuffer(value) ? value[0] === 1 : Boolean(Number(value)) };
    case 'blob':
      return { blobValue: (value as Buffer).toString('base64') };
    default:
      return { stringValue: String(value) };
  }
}

/**
 * A column value as `formattedRecords` (formatRecordsAs JSON) gives it: integers and floating point as
 * JSON numbers, DECIMAL as a string (its precision kept), dates and times as the server's text
 * (`YYYY-MM-DD HH:MM:SS[.ffffff]`), BIT(1) as a boolean, binary data as base64, NULL as null.
 */
export function jsonValue(field: FieldPacket, value: unknown): unknown {
  const f = recordField(field, value);
  if (f.isNull) return null;
  return f.longValue ?? f.doubleValue ?? f.booleanValue ?? f.blobValue ?? f.stringValue;
}

/** java.sql.Types codes, which the Data API's ColumnMetadata.type carries. */
function jdbcType(field: FieldPacket): { type: number; typeName: string } {
  const t = field.columnType ?? -1;
  const unsigned = ((field.flags as number) & FLAG.UNSIGNED) !== 0 ? ' UNSIGNED' : '';
  const binary = field.characterSet === 63;
  const byType: Record<number, [number, string]> = {
    [T.TINY]: [-6, 'TINYINT'],
    [T.SHORT]: [5, 'SMALLINT'],
    [T.INT24]: [4, 'MEDIUMINT'],
    [T.LONG]: [4, 'INT'],
    [T.LONGLONG]: [-5, 'BIGINT'],
    [T.YEAR]: [91, 'YEAR'],
    [T.FLOAT]: [7, 'FLOAT'],
    [T.DOUBLE]: [8, 'DOUBLE'],
    [T.DECIMAL]: [3, 'DECIMAL'],
    [T.NEWDECIMAL]: [3, 'DECIMAL'],
    [T.DATE]: [91, 'DATE'],
    [T.TIME]: [92, 'TIME'],
    [T.DATETIME]: [93, 'DATETIME'],
    [T.TIMESTAMP]: [93, 'TIMESTAMP'],
    [T.BIT]: [-7, 'BIT'],
    [T.JSON]: [-1, 'JSON'],
    [T.VAR_STRING]: binary ? [-3, 'VARBINARY'] : [12, 'VARCHAR'],
    [T.VARCHAR]: binary ? [-3, 'VARBINARY'] : [12, 'VARCHAR'],
    [T.STRING]: binary ? [-2, 'BINARY'] : [1, 'CHAR'],
    [T.TINY_BLOB]: binary ? [-4, 'TINYBLOB'] : [-1, 'TINYTEXT'],
    [T.BLOB]: binary ? [-4, 'BLOB'] : [-1, 'TEXT'],
    [T.MEDIUM_BLOB]: binary ? [-4, 'MEDIUMBLOB'] : [-1, 'MEDIUMTEXT'],
    [T.LONG_BLOB]: binary ? [-4, 'LONGBLOB'] : [-1, 'LONGTEXT'],
  };
  const [type, typeName] = byType[t] ?? [1111, 'OTHER'];
  return { type, typeName: typeName + (INTEGER_TYPES.has(t) || FLOAT_TYPES.has(t) || DECIMAL_TYPES.has(t) ? unsigned : '') };
}

/**
 * `formattedRecords` for the rows: JSON text in which an integer keeps all its digits, as the Data
 * API's JSON has them (a BIGINT above 2^53 stays exact on the wire; JSON.parse decides what it gets).
 */
export function formattedRecords(fields: readonly FieldPacket[], rows: readonly unknown[][]): string {
  const keys = fields.map((f) => JSON.stringify(f.name));
  const value = (f: FieldPacket, v: unknown): string => {
    if (v !== null && v !== undefined && kindOf(f) === 'long' && /^-?\d+$/.test(String(v))) return String(v);
    return JSON.stringify(jsonValue(f, v));
  };
  return `[${rows.map((row) => `{${fields.map((f, i) => `${keys[i]}:${value(f, row[i])}`).join(',')}}`).join(',')}]`;
}

/** ColumnMetadata for includeResultMetadata. */
export function columnMetadata(field: FieldPacket): Record<string, unknown> {
  const flags = (field.flags as number) ?? 0;
  const { type, typeName } = jdbcType(field);
  const t = field.columnType ?? -1;
  return {
    name: field.orgName || field.name,
    label: field.name,
    type,
    typeName,
    schemaName: field.db ?? '',
    tableName: field.orgTable ?? '',
    isAutoIncrement: (flags & FLAG.AUTO_INCREMENT) !== 0,
    isSigned: (INTEGER_TYPES.has(t) || FLOAT_TYPES.has(t) || DECIMAL_TYPES.has(t)) && (flags & FLAG.UNSIGNED) === 0,
    isCurrency: false,
    isCaseSensitive: kindOf(field) === 'string' && ((flags & FLAG.BINARY) !== 0 || field.characterSet === 63),
    nullable: (flags & FLAG.NOT_NULL) !== 0 ? 0 : 1,
    precision: field.columnLength ?? 0,
    scale: field.decimals ?? 0,
    arrayBaseColumnType: 0,
  };
}
