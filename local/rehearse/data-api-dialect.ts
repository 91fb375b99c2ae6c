/**
 * Aurora MySQL 3 (MySQL 8.0) statements that MariaDB 10.11 spells differently, for the Data API
 * stand-in: each is rewritten to its exact MariaDB equivalent, so that the Lambdas' Aurora SQL runs
 * unchanged (the serving-schema custom resource sends the 'aurora-mysql' migrations and grants).
 * Nothing else is touched: what MariaDB refuses and Aurora would accept is reported, not guessed.
 *
 * - `utf8mb4_0900_bin` (binary, NO PAD) is MariaDB's `utf8mb4_nopad_bin` (binary, NO PAD).
 * - `SET DEFAULT ROLE r TO account` is MariaDB's `SET DEFAULT ROLE r FOR account` (one role, one account).
 * - The role AWS_LOAD_S3_ACCESS that Aurora has built in is made by local/rehearse/mariadb.ts; the
 *   stand-in requires it enabled in the session for LOAD DATA FROM S3, as Aurora does.
 * LOAD DATA FROM S3 itself is ./data-api-s3-load.ts.
 */

export const LOAD_S3_ROLE = 'AWS_LOAD_S3_ACCESS';

const SET_DEFAULT_ROLE = /^(\s*SET\s+DEFAULT\s+ROLE\s+)(`[^`]+`|[A-Za-z0-9_$]+)\s+TO\s+((?:'[^']*'|`[^`]+`|[A-Za-z0-9_$]+|\?)(?:@(?:'[^']*'|`[^`]+`|[A-Za-z0-9_$.%]+))?)(\s*)$/i;

export function toMariaDbDialect(sql: string): string {
  const collated = sql.replace(/\butf8mb4_0900_bin\b/g, 'utf8mb4_nopad_bin');
  return collated.replace(SET_DEFAULT_ROLE, (_m, head: string, role: string, account: string, tail: string) => `${head}${role} FOR ${account}${tail}`);
}
