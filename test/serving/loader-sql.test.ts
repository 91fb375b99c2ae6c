/** The loader's SQL builders without a database: binding, identifiers, the CSV rule. */
import { servedTables } from '../../lib/contract';
import { csvField, csvLine, loaderSql, toPositional } from '../../lib/serving/loader-sql';
import { createServedTableSql, mysqlType, quoteIdentifier } from '../../lib/serving/mysql-schema';

test(':name placeholders become ? in order; quoted text, identifiers and comments are left alone', () => {
  expect(
    toPositional({ sql: "SELECT ':a', `:b`, /* :c */ x FROM t WHERE a = :a AND b = :b OR c = :a", parameters: { a: 1, b: 'two' } }),
  ).toEqual({ sql: "SELECT ':a', `:b`, /* :c */ x FROM t WHERE a = ? AND b = ? OR c = ?", values: [1, 'two', 1] });
  expect(() => toPositional({ sql: 'SELECT :missing', parameters: {} })).toThrow(/No value for :missing/);
});

test('identifiers outside the contract or with odd characters are refused, values are always bound', () => {
  expect(() => quoteIdentifier('x`; DROP TABLE y')).toThrow(/not a valid serving identifier/);
  expect(() => loaderSql.createStaging('events')).toThrow(/not a served table/);
  expect(() => loaderSql.swap(['c_date', 'not_a_table'])).toThrow(/not a served table/);
  const load = loaderSql.load('c_date', { kind: 's3-prefix', uri: "s3://b/runs/r1/c_date/' OR 1" }, 'r1');
  expect(load[0].sql).not.toContain('s3://');
  expect(load[0].parameters).toEqual({ source: "s3://b/runs/r1/c_date/' OR 1" });
  const local = loaderSql.load('c_date', { kind: 'local-files', paths: ['/a.csv', '/b.csv'] }, 'r1');
  // Only the source clause differs between Aurora and local.
  expect(local.map((s) => s.sql.replace('LOCAL INFILE', 'FROM S3 PREFIX'))).toEqual([load[0].sql, load[0].sql]);
  expect(loaderSql.markFinished('r1', 'failed', {}, 'boom').parameters).toEqual({ runId: 'r1', status: 'failed', tables: '{}', error: 'boom' });
});

test('one RENAME swaps every table of a run', () => {
  expect(loaderSql.swap(['c_date', 'v_date']).sql).toBe(
    'RENAME TABLE `c_date` TO `c_date__previous`, `c_date__staging` TO `c_date`, `v_date` TO `v_date__previous`, `v_date__staging` TO `v_date`',
  );
});

test('the CSV rule: bare NULL, quoted strings with doubled quotes, bare numbers', () => {
  expect(csvLine([null, 'NULL', '', 'a "b", c', 1.5, 42, true])).toBe('NULL,"NULL","","a ""b"", c",1.5,42,1\n');
  expect(() => csvField(Number.POSITIVE_INFINITY)).toThrow();
});

test('the type map', () => {
  expect(mysqlType({ kind: 'string', maxLength: 64 })).toBe('VARCHAR(64)');
  expect(mysqlType({ kind: 'string' })).toBe('TEXT');
  expect(mysqlType({ kind: 'decimal', precision: 18, scale: 2 })).toBe('DECIMAL(18,2)');
  expect(mysqlType({ kind: 'timestamp' })).toBe('DATETIME(6)');
  expect(mysqlType({ kind: 'boolean' })).toBe('TINYINT(1)');
  const ddl = createServedTableSql(servedTables().find((t) => t.name === 'bought_together')!);
  expect(ddl).toContain('`rank` INT NOT NULL');
  expect(ddl).toContain('PRIMARY KEY (`product_id`, `rank`)');
});
