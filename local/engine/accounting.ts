/**
 * The readers' row accounting: per-file counts taken from DuckDB (never the rows themselves) and
 * their totals, so that rows read = accepted + rejected + duplicates removed holds per file and in all.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { FileRowCounts, RowCounts } from '../../core/contract';

/** Sums per-file counts, rejected rows by reason included. */
export function totalRowCounts(perFile: readonly FileRowCounts[]): RowCounts {
  const byReason: Record<string, number> = {};
  for (const f of perFile) for (const [k, v] of Object.entries(f.rejectedByReason)) byReason[k] = (byReason[k] ?? 0) + v;
  const sum = (k: 'rowsRead' | 'accepted' | 'rejected' | 'duplicatesRemoved') => perFile.reduce((a, f) => a + f[k], 0);
  return { rowsRead: sum('rowsRead'), accepted: sum('accepted'), rejected: sum('rejected'), rejectedByReason: byReason, duplicatesRemoved: sum('duplicatesRemoved') };
}

/**
 * Reads the accounting of `files` (by position = file_idx) from two queries: `countsSql` returns
 * file_idx, rows_read, accepted, rejected, duplicates; `reasonsSql` returns file_idx, reason, n.
 * A file absent from the results read no rows.
 */
export async function readAccounting(
  connection: DuckDBConnection,
  files: readonly string[],
  countsSql: string,
  reasonsSql: string,
): Promise<{ perFile: FileRowCounts[]; totals: RowCounts }> {
  const counts = (await connection.runAndReadAll(countsSql)).getRowObjects();
  const reasons = (await connection.runAndReadAll(`SELECT * FROM (${reasonsSql}) ORDER BY reason`)).getRowObjects();
  const perFile: FileRowCounts[] = files.map((source, idx) => {
    const row = counts.find((r) => Number(r.file_idx) === idx);
    const rejectedByReason: Record<string, number> = {};
    for (const r of reasons) if (Number(r.file_idx) === idx) rejectedByReason[String(r.reason)] = Number(r.n);
    return {
      source,
      rowsRead: Number(row?.rows_read ?? 0),
      accepted: Number(row?.accepted ?? 0),
      rejected: Number(row?.rejected ?? 0),
      rejectedByReason,
      duplicatesRemoved: Number(row?.duplicates ?? 0),
    };
  });
  return { perFile, totals: totalRowCounts(perFile) };
}
