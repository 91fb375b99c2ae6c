/**
 * The Data API wrapper's interface (`SqlRunner`: `:name` statements in, rows as objects out) over a
 * mysql2 pool, for the recommendations API's tests and bench against MySQL or MariaDB. The SQL is
 * the same string the Lambda sends through the Data API; only `:name` becomes `?` (toPositional).
 * Values come back as the Data API's JSON gives them where it matters to the API: BIGINT and
 * DECIMAL as text, DATETIME as `YYYY-MM-DD HH:MM:SS.ffffff`.
 */
import * as mysql from 'mysql2/promise';
import { toPositional } from '../../core/serving/loader-sql';
import { SqlRow, SqlRunner, SqlStatement } from '../../core/serving/sql-runner';

export interface PoolRunner extends SqlRunner {
  readonly pool: mysql.Pool;
  end(): Promise<void>;
}

export function mysqlPoolRunner(options: mysql.PoolOptions): PoolRunner {
  const pool = mysql.createPool({
    connectionLimit: 10,
    ...options,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
  });
  const run = async (connection: mysql.Pool | mysql.PoolConnection, statement: SqlStatement): Promise<SqlRow[]> => {
    const { sql, values } = toPositional(statement);
    const [rows] = await connection.query(sql, values);
    return Array.isArray(rows) ? (rows as SqlRow[]) : [];
  };
  return {
    pool,
    query: (statement) => run(pool, statement),
    async transaction(work) {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        const result = await work({ query: (statement) => run(connection, statement) });
        await connection.commit();
        return result;
      } catch (e) {
        await connection.rollback().catch(() => undefined);
        throw e;
      } finally {
        connection.release();
      }
    },
    end: () => pool.end(),
  };
}
