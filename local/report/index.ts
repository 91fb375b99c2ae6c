/**
 * The local run report: `writeReport(dir)` reads a run folder (run-summary.json and the tables'
 * Parquet folders) and writes one self-contained page, `DIR/report/index.html`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadReportData } from './load';
import { renderReport } from './render';

export { loadReportData } from './load';
export type { Cell, Kpis, Recommendation, ReportData, ReportSummary, Row, StageTiming, TableSlice } from './load';
export { CONTENT_SECURITY_POLICY, NOT_PRODUCED, renderReport, REPORT_SECTIONS } from './render';

/**
 * Writes `<dir>/report/index.html` for the run folder `dir` and returns its absolute path. The
 * page is written beside and renamed into place, so a failed rebuild leaves the previous page.
 * `shownAs` is the folder the page names (a run writes its report before its folder is moved into place).
 */
export async function writeReport(dir: string, options: { shownAs?: string } = {}): Promise<string> {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`writeReport: run folder not found: ${root}`);
  const data = await loadReportData(root);
  const html = renderReport(options.shownAs ? { ...data, dir: path.resolve(options.shownAs) } : data);
  const out = path.join(root, 'report', 'index.html');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const partial = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(partial, html, 'utf8');
  fs.renameSync(partial, out);
  return out;
}
