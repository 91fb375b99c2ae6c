/**
 * Row-level rules that both engines' readers share beyond the column types: which characters make
 * a line a `control_character` reject, and how long a string may be for the column it feeds.
 */
import { outputTable } from './tables';

/**
 * Control characters a data line may not hold (a regular-expression class, the same text in RE2,
 * JavaScript and Java): U+0000–U+0008, U+000B, U+000C, U+000E–U+001F and U+007F. TAB (U+0009) is
 * allowed; LF (U+000A) ends a line; CR (U+000D) is the CRLF line end (stripped) or content, as the
 * readers' line rule says. Spark's copy is spark-jobs/shopsight_jobs/lines.py CONTROL_CHARACTERS.
 */
export const CONTROL_CHARACTERS = '[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]';

/**
 * The contract's maxLength of a string column, in characters (Unicode code points, as MySQL counts
 * VARCHAR with utf8mb4). Throws when the column is not a bounded string: a reader must not check a
 * bound that is not there.
 */
export function maxLengthOf(table: string, column: string): number {
  const type = outputTable(table).columns.find((c) => c.name === column)?.type;
  if (type?.kind !== 'string' || type.maxLength === undefined) throw new Error(`${table}.${column} is not a bounded string column`);
  return type.maxLength;
}
