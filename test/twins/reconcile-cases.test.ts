/**
 * The run summary's reconciliation, message for message, from core/cases/reconcile_cases.json:
 * spark-jobs/tests/test_reconcile_cases.py runs the same file against the Python twin
 * (shopsight_jobs/summary.py reconcile_run_summary), so the two cannot drift apart unnoticed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { reconcileRunSummary, RunSummary } from '../../core/contract';

interface ReconcileCase {
  readonly name: string;
  readonly summary: Pick<RunSummary, 'totals' | 'files'>;
  readonly problems: readonly string[];
}
const FILE = path.resolve(__dirname, '../../core/cases/reconcile_cases.json');
const CASES = (JSON.parse(fs.readFileSync(FILE, 'utf8')) as { about: string; cases: ReconcileCase[] });

describe('reconcile_cases.json', () => {
  it('names both twins and has a consistent and an inconsistent case', () => {
    expect(CASES.about).toContain('reconcile-cases.test.ts');
    expect(CASES.about).toContain('test_reconcile_cases.py');
    expect(CASES.cases.some((c) => c.problems.length === 0)).toBe(true);
    expect(CASES.cases.some((c) => c.problems.length > 1)).toBe(true);
  });

  it.each(CASES.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    // Only the counts take part in reconciliation; the rest of a summary is filled with neutral values.
    const summary = { runId: 'r', dataset: 'rees46', engine: 'local', stages: [], ...c.summary } as unknown as RunSummary;
    expect(reconcileRunSummary(summary)).toEqual(c.problems);
  });
});
