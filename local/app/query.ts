/**
 * The SQL workbench sandbox (docs/app.md, "The query sandbox"): each run has its own locked-down
 * in-memory DuckDB (openRunDatabase: views over the run's Parquet, allowed_directories = the run
 * folder, no external access, configuration locked). A request is run only when DuckDB's parser
 * finds exactly one statement and its prepared type is SELECT: COPY … TO would otherwise write into
 * the run folder, and DDL/DML would change the in-memory catalog. The query is interrupted at the
 * time limit (408) and streamed chunk by chunk up to the row cap (truncated beyond).
 */
import { DuckDBInstance, JsonDuckDBValueConverter, StatementType } from '@duckdb/node-api';
import { ApiError, apiValue, Json, openRunDatabase, readRows } from './data';
import { RunEntry } from './runs';

export interface QueryLimits {
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /** @default 10_000 */
  readonly maxRows?: number;
  /** Result text (as JSON) at most, so that 10,000 huge cells cannot exhaust the server. @default 16 MB */
  readonly maxBytes?: number;
}

export interface QueryResult {
  readonly columns: string[];
  readonly types: string[];
  readonly rows: Json[][];
  readonly truncated: boolean;
  readonly elapsedMs: number;
}

export const MAX_SQL_LENGTH = 100_000;

export class QuerySandbox {
  private constructor(private readonly instance: DuckDBInstance) {}

  static async open(run: RunEntry): Promise<QuerySandbox> {
    return new QuerySandbox(await openRunDatabase(run));
  }

  close(): void {
    this.instance.closeSync();
  }

  async run(sql: string, limits: QueryLimits = {}): Promise<QueryResult> {
    const timeoutMs = limits.timeoutMs ?? 10_000;
    const maxRows = limits.maxRows ?? 10_000;
    const maxBytes = limits.maxBytes ?? 16 * 1024 * 1024;
    if (typeof sql !== 'string' || sql.trim() === '') throw new ApiError(400, 'sql is empty');
    if (sql.length > MAX_SQL_LENGTH) throw new ApiError(400, `sql is longer than ${MAX_SQL_LENGTH} characters`);
    const started = Date.now();
    const c = await this.instance.connect();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      c.interrupt();
    }, timeoutMs);
    try {
      let statements;
      try {
        statements = await c.extractStatements(sql);
      } catch (error) {
        throw new ApiError(400, `SQL does not parse: ${firstLine(error)}`);
      }
      if (statements.count !== 1) throw new ApiError(400, `exactly one statement is allowed, got ${statements.count}`);
      // Parsed, never bound, before it is prepared: preparing binds, and binding some statements
      // acts (EXPORT DATABASE creates its folder). json_serialize_sql parses SELECTs only.
      const parsed = await readRows(c, `SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS JSON) ->> 'error' = 'false' AS is_select`, [sql]);
      if (parsed[0]?.is_select !== true) throw new ApiError(400, 'only a read-only SELECT query is allowed');
      let prepared;
      try {
        prepared = await statements.prepare(0);
      } catch (error) {
        throw new ApiError(400, `SQL refused: ${firstLine(error)}`);
      }
      if (prepared.statementType !== StatementType.SELECT) {
        prepared.destroySync();
        const kind = StatementType[prepared.statementType];
        throw new ApiError(400, `only a read-only SELECT query is allowed${kind && kind !== 'INVALID' ? ` (this is ${kind})` : ''}`);
      }
      if (prepared.parameterCount > 0) {
        prepared.destroySync();
        throw new ApiError(400, 'the query has parameters ($1, ?) but none can be given');
      }
      const result = await prepared.stream();
      const columns = result.columnNames();
      const duckTypes = result.columnTypes();
      const rows: Json[][] = [];
      let truncated = false;
      let bytes = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const chunkRows = chunk.convertRows(JsonDuckDBValueConverter) as Json[][];
        for (const r of chunkRows) {
          const row = r.map((v, i) => apiValue(duckTypes[i], v));
          bytes += JSON.stringify(row).length;
          if (rows.length >= maxRows || bytes > maxBytes) {
            truncated = true;
            break;
          }
          rows.push(row);
        }
        if (truncated) break;
      }
      prepared.destroySync();
      return { columns, types: duckTypes.map((t) => t.toString()), rows, truncated, elapsedMs: Date.now() - started };
    } catch (error) {
      if (timedOut) throw new ApiError(408, `the query was stopped at the time limit (${timeoutMs / 1000} s)`);
      if (error instanceof ApiError) throw error;
      throw new ApiError(400, `query failed: ${firstLine(error)}`);
    } finally {
      clearTimeout(timer);
      c.closeSync();
    }
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0].slice(0, 500);
}

/** A result as CSV (RFC 4180: quoted when needed, CRLF line ends). */
export function toCsv(result: Pick<QueryResult, 'columns' | 'rows'>): string {
  const cell = (v: Json): string => {
    if (v === null) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [result.columns.map(cell), ...result.rows.map((r) => r.map(cell))].map((r) => r.join(',')).join('\r\n') + '\r\n';
}
