/** The loader's SQL builders without a database: binding, identifiers, the CSV rule. */
import { servedTables } from '../../core/contract';
import { csvField, csvLine, loadKey, loaderSql, toPositional } from '../../core/serving/loader-sql';
import { biUserStatements, createServedTableSql, loaderUserStatements, mysqlType, quoteIdentifier, sqlStringLiteral } from '../../core/serving/mysql-schema';

test(':name placeholders become ? in order; quoted text, identifiers and comments are left alone', () => {
  expect(
    toPositional({ sql: "SELECT ':a', `:b`, /* :c */ x FROM t WHERE a = :a AND b = :b OR c = :a", parameters: { a: 1, b: 'two' } }),
  ).toEqual({ sql: "SELECT ':a', `:b`, /* :c */ x FROM t WHERE a = ? AND b = ? OR c = ?", values: [1, 'two', 1] });
  expect(() => toPositional({ sql: 'SELECT :missing', parameters: {} })).toThrow(/No value for :missing/);
});

const KEY = loadKey({ runId: 'r1', manifestCreatedAt: '2026-11-23T00:00:00.000Z' });

test('identifiers outside the contract or with odd characters are refused; values are bound', () => {
  expect(() => quoteIdentifier('x`; DROP TABLE y')).toThrow(/not a valid serving identifier/);
  expect(() => loaderSql.createStaging('events')).toThrow(/not a served table/);
  expect(() => loaderSql.swap(['c_date', 'not_a_table'])).toThrow(/not a served table/);
  expect(loaderSql.markFinished({ runId: 'r1', manifestCreatedAt: 't', claimToken: 'tok' }, 'failed', {}, 'boom').parameters).toEqual({
    runId: 'r1',
    createdAt: 't',
    token: 'tok',
    status: 'failed',
    tables: '{}',
    error: 'boom',
  });
});

test('the LOAD file name is an inlined literal (MySQL takes no parameter there), checked strictly', () => {
  const load = loaderSql.load('c_date', { kind: 's3-prefix', uri: 's3://exports-bucket/runs/r1/c_date/' }, KEY);
  expect(load[0].sql).toMatch(/^LOAD DATA FROM S3 PREFIX 's3:\/\/exports-bucket\/runs\/r1\/c_date\/' INTO TABLE `c_date__staging` /);
  expect(load[0].parameters).toEqual({});
  expect(load[0].sql).toContain(`/* shopsight-load.r1.20261123t000000000z.c_date */`);
  for (const uri of ["s3://b/runs/r1/c_date/' OR 1", 's3://Bucket/x/', 's3://b/x\\y/', 'https://b/x/']) {
    expect(() => loaderSql.load('c_date', { kind: 's3-prefix', uri }, KEY)).toThrow(/not an S3 prefix/);
  }
  const local = loaderSql.load('c_date', { kind: 'local-files', paths: ["/tmp/it's/a.csv", '/b.csv'] }, KEY);
  expect(local[0].sql).toMatch(/^LOAD DATA LOCAL INFILE '\/tmp\/it''s\/a\.csv' INTO/);
  expect(local.map((s) => s.source)).toEqual(["/tmp/it's/a.csv", '/b.csv']);
  expect(() => loaderSql.load('c_date', { kind: 'local-files', paths: ['/a\\b.csv'] }, KEY)).toThrow(/backslash/);
  // Only the source clause differs between Aurora and local.
  const clause = (sql: string) => sql.replace(/^LOAD DATA (FROM S3 PREFIX|LOCAL INFILE) '[^']*(?:''[^']*)*'/, '');
  expect(clause(local[1].sql)).toBe(clause(load[0].sql));
});

test('the load key is the run id and the manifest time; a time without a zone is refused', () => {
  expect(KEY).toBe('r1.20261123t000000000z');
  expect(loadKey({ runId: 'r1', manifestCreatedAt: '2026-11-23T00:00:01Z' })).not.toBe(KEY);
  expect(() => loadKey({ runId: 'r1', manifestCreatedAt: '2026-11-23 00:00:00' })).toThrow(/ISO 8601/);
  expect(() => loadKey({ runId: 'R1', manifestCreatedAt: '2026-11-23T00:00:00Z' })).toThrow(/runId/);
});

test('the swap session waits a few seconds for locks, not a year', () => {
  expect(loaderSql.setLockWaitTimeout(5).sql).toBe('SET SESSION lock_wait_timeout = 5');
  expect(() => loaderSql.setLockWaitTimeout(1.5)).toThrow();
  expect(loaderSql.killQuery(42).sql).toBe('KILL QUERY 42');
});

test('user statements inline the account and an escaped password literal, never a parameter', () => {
  const statements = [...biUserStatements('shopsight_bi', "pa'ss", 'shopsight'), ...loaderUserStatements('shopsight_loader', 'x', 'shopsight', 'aurora-mysql')];
  for (const s of statements) {
    expect(s.parameters).toEqual({});
    expect(s.sql).not.toMatch(/:user|:password/);
  }
  expect(statements[0]).toEqual({ sql: "CREATE USER IF NOT EXISTS 'shopsight_bi'@'%' IDENTIFIED BY 'pa''ss'", parameters: {}, redact: "pa'ss" });
  expect(statements.map((s) => s.sql)).toContain("SET DEFAULT ROLE AWS_LOAD_S3_ACCESS TO 'shopsight_loader'@'%'");
  expect(() => biUserStatements("x'@'%", 'p', 'shopsight')).toThrow(/not a plain identifier/);
  for (const bad of ['back\\slash', 'new\nline', '', 'ünï']) expect(() => biUserStatements('u', bad, 'shopsight')).toThrow(/password/);
  expect(sqlStringLiteral("a'b", 'x')).toBe("'a''b'");
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
