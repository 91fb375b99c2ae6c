/**
 * The worker-pool runtime of local/ml/worker-pool.ts on its own, with kernels that are not ALS's:
 * every task runs exactly once, in the workers when the caller does not help; a task's exception in
 * a worker is a thrown Error naming the pool; after a worker dies the pool is replaced; kernels that
 * cannot run in a worker (coverage counters) run in the calling thread; thread counts are checked.
 */
import { defaultThreads, resolveThreads, WorkerPool } from '../../../local/ml/worker-pool';

interface MarkJob {
  /** out[t] = 1 when task t ran in the calling thread, 2 in a worker; += so a task run twice shows. */
  out: Int32Array;
  failAt: number;
  exitAt: number;
}

const SOURCE = `'use strict';
function runTask(job, t, inWorker) {
  if (t === job.failAt && inWorker) throw new Error('planted failure in task ' + t);
  if (t === job.exitAt && inWorker) process.exit(3);
  job.out[t] += inWorker ? 2 : 1;
}
return runTask;`;

const runTask = new Function(SOURCE)() as (job: MarkJob, t: number, inWorker: boolean) => void;
const job = (tasks: number, more: Partial<MarkJob> = {}): MarkJob => ({ out: new Int32Array(new SharedArrayBuffer(tasks * 4)), failAt: -1, exitAt: -1, ...more });

const pool = new WorkerPool<MarkJob, never>({ name: 'Test', source: () => SOURCE, runTask, stallMs: 5000 });
afterAll(() => pool.shutdown());

test('runs every task exactly once, all in the workers when the caller does not help', () => {
  const j = job(500);
  pool.run(j, 500, 3, false);
  expect(new Set(j.out)).toEqual(new Set([2]));
});

test('with the caller helping, every task still runs once, in one thread or another', () => {
  const j = job(2000);
  pool.run(j, 2000, 2);
  expect(j.out.every((v) => v === 1 || v === 2)).toBe(true);
});

test("a worker's exception is thrown by run, with the pool's name and the task's message; the pool then works again", () => {
  expect(() => pool.run(job(50, { failAt: 7 }), 50, 2, false)).toThrow(/^Test worker thread failed: Error: planted failure in task 7/);
  const j = job(50);
  pool.run(j, 50, 2, false);
  expect(new Set(j.out)).toEqual(new Set([2]));
});

test('a worker that exits is replaced by a new pool at the next run', async () => {
  // The exiting worker never reports: run gives up after stallMs without progress.
  expect(() => pool.run(job(4, { exitAt: 0 }), 4, 2, false)).toThrow('Test worker threads made no progress for 5 s');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const j = job(40);
  pool.run(j, 40, 2, false);
  expect(new Set(j.out)).toEqual(new Set([2]));
}, 30000);

test('kernels with coverage counters run in the calling thread only', () => {
  const instrumented = `cov_1x2y3z();\n${SOURCE}`;
  const local = new WorkerPool<MarkJob, never>({ name: 'Instrumented', source: () => instrumented, runTask });
  expect(local.usable()).toBe(false);
  const j = job(30);
  local.run(j, 30, 4, false);
  expect(new Set(j.out)).toEqual(new Set([1]));
});

test('thread counts: the default is the machine capped at 8; anything but a positive integer is refused', () => {
  expect(defaultThreads()).toBeGreaterThanOrEqual(1);
  expect(defaultThreads()).toBeLessThanOrEqual(8);
  expect(resolveThreads(undefined)).toBe(defaultThreads());
  expect(resolveThreads(3)).toBe(3);
  for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => resolveThreads(bad)).toThrow(`threads must be a positive integer, got ${bad}`);
});
