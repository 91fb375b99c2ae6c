/**
 * The two JSON documents a run leaves beside its tables, written by the prepare stage (Spark or the
 * local engine) and read by the data-quality gate, the serving loader and the report.
 */

/** Row accounting of one input file or of the whole run. Invariant: rowsRead = accepted + rejected + duplicatesRemoved. */
export interface RowCounts {
  /** Data rows read (header lines excluded). */
  readonly rowsRead: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Rejected rows by reason code (the `rejects.reason` values); sums to `rejected`. */
  readonly rejectedByReason: Readonly<Record<string, number>>;
  /** Exact duplicate rows removed (all columns equal to an earlier row's). */
  readonly duplicatesRemoved: number;
}

export interface FileRowCounts extends RowCounts {
  /** S3 URI or local path of the input file. */
  readonly source: string;
}

/** `_runs/<runId>/run-summary.json` in the curated bucket; `run-summary.json` in a local run's folder. */
export interface RunSummary {
  readonly runId: string;
  readonly dataset: 'rees46' | 'retailrocket';
  readonly files: readonly FileRowCounts[];
  readonly totals: RowCounts;
  /** Wall time of each stage, in run order, with the rows it handled where that means something. */
  readonly stages: readonly { readonly name: string; readonly seconds: number; readonly rows?: number }[];
  /** When the run finished (ISO 8601, UTC). Optional: older summaries lack it. */
  readonly createdAt?: string;
  /** Which engine wrote the run: "spark" or "local". */
  readonly engine?: 'spark' | 'local';
  /** Rows of every output table, by table name. */
  readonly tableRows?: Readonly<Record<string, number>>;
}

/** `runs/<runId>/manifest.json` in the export bucket; `serving/manifest.json` locally. */
export interface ServingManifest {
  readonly runId: string;
  readonly createdAt: string;
  readonly tables: Readonly<
    Record<
      string,
      {
        /** Column order of the headerless CSV files (the contract's order). */
        readonly columns: readonly string[];
        readonly rowCount: number;
        /** Object keys in the export bucket (or paths relative to the manifest locally). */
        readonly files: readonly string[];
      }
    >
  >;
}

/** Problems with a summary's own arithmetic; empty when every count reconciles. */
export function reconcileRunSummary(summary: RunSummary): string[] {
  const problems: string[] = [];
  const check = (what: string, c: RowCounts): void => {
    const byReason = Object.values(c.rejectedByReason).reduce((a, b) => a + b, 0);
    if (c.rowsRead !== c.accepted + c.rejected + c.duplicatesRemoved) {
      problems.push(
        `${what}: rows read ${c.rowsRead} ≠ accepted ${c.accepted} + rejected ${c.rejected} + duplicates removed ${c.duplicatesRemoved}`,
      );
    }
    if (byReason !== c.rejected) problems.push(`${what}: rejected ${c.rejected} ≠ sum of rejected by reason ${byReason}`);
  };
  check('run totals', summary.totals);
  for (const f of summary.files) check(f.source, f);
  const fields = ['rowsRead', 'accepted', 'rejected', 'duplicatesRemoved'] as const;
  for (const field of fields) {
    const sum = summary.files.reduce((a, f) => a + f[field], 0);
    if (sum !== summary.totals[field]) problems.push(`run totals: ${field} ${summary.totals[field]} ≠ sum over files ${sum}`);
  }
  return problems;
}
