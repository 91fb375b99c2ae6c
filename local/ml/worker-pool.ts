/**
 * A persistent pool of worker threads for an ML stage's kernels, with a synchronous API: `run` hands
 * tasks 0..n-1 of a job to the workers and the calling thread through a shared counter, takes tasks
 * itself, then blocks (Atomics.wait) until every worker has reported. The kernels' code reaches the
 * workers as source text (`spec.source`, see pool-worker.js for why), with an optional WebAssembly
 * module that each worker instantiates once on a shared memory. Jobs must be structured-cloneable;
 * the data they work on lives in SharedArrayBuffers (or the shared WebAssembly memory), and tasks write
 * disjoint outputs, so which thread runs which task never changes a result.
 *
 * Failures are thrown Errors, never hangs: a worker's exception is written to shared memory and
 * rethrown by `run`; a worker that dies outright is reported once no task has completed anywhere for
 * `stallMs`. A broken pool (a worker exited or errored) is replaced at the next run.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Runs task `task` of `job`; `inWorker` is false in the calling thread; `wasm`: that thread's instance exports, or null. */
export type RunTask<J, W> = (job: J, task: number, inWorker: boolean, wasm: W | null) => void;

export interface WorkerPoolSpec<J, W> {
  /** Names the pool in error messages, e.g. "ALS". */
  readonly name: string;
  /**
   * A function body, self-contained (only built-ins), that returns the task runner: `…; return runTask;`.
   * Called when a worker starts.
   */
  readonly source: () => string;
  /** The same runner, in the calling thread. */
  readonly runTask: RunTask<J, W>;
  /** The WebAssembly kernels, when available: module bytes and memory for the workers, the calling thread's exports. */
  readonly wasm?: () => { bytes: Uint8Array; memory: WebAssembly.Memory; exports: W } | null;
  /** @default 120000 */
  readonly stallMs?: number;
}

const WORKER_FILE = path.join(__dirname, 'pool-worker.js');

/** Control words: 0 next task, 1 workers done, 2 error flag, 3 tasks completed (progress), 4 error length. */
const CONTROL_WORDS = 5;
const ERROR_BYTES = 16384;

export class WorkerPool<J, W = WebAssembly.Exports> {
  private workers: Worker[] = [];
  private ctl = new Int32Array(new SharedArrayBuffer(8 * 4));
  private err = new Uint8Array(new SharedArrayBuffer(ERROR_BYTES));
  private broken = false;
  private portable: boolean | null = null;

  constructor(private readonly spec: WorkerPoolSpec<J, W>) {}

  /**
   * Whether the kernels' source can run in a worker. Instrumented code (istanbul's cov_xxx()
   * counters) refers to module state that a worker does not have: then every job runs in the
   * calling thread.
   */
  usable(): boolean {
    if (this.portable === null) this.portable = !/\bcov_\w+\(\)/.test(this.spec.source());
    return this.portable;
  }

  /**
   * Runs tasks 0..tasks-1 of `job` on up to `threads` threads (the calling thread included unless
   * `callerHelps` is false) and returns when all are done.
   */
  run(job: J, tasks: number, threads: number, callerHelps = true): void {
    const nWorkers = Math.min(threads - 1, callerHelps ? tasks - 1 : tasks);
    const wasm = this.spec.wasm?.()?.exports ?? null;
    if (nWorkers <= 0 || !this.usable()) {
      for (let t = 0; t < tasks; t++) this.spec.runTask(job, t, false, wasm);
      return;
    }
    this.ensure(nWorkers);
    const ctl = this.ctl;
    for (let k = 0; k < CONTROL_WORDS; k++) Atomics.store(ctl, k, 0);
    for (let w = 0; w < nWorkers; w++) this.workers[w].postMessage({ job, tasks });
    let callerError: unknown = null;
    if (callerHelps) {
      try {
        for (;;) {
          const t = Atomics.add(ctl, 0, 1);
          if (t >= tasks) break;
          this.spec.runTask(job, t, false, wasm);
          Atomics.add(ctl, 3, 1);
        }
      } catch (e) {
        Atomics.store(ctl, 0, tasks);
        callerError = e;
      }
    }
    const stallMs = this.spec.stallMs ?? 120_000;
    let progress = Atomics.load(ctl, 3);
    let since = Date.now();
    for (;;) {
      const done = Atomics.load(ctl, 1);
      if (done >= nWorkers) break;
      Atomics.wait(ctl, 1, done, 1000);
      const now = Date.now();
      const pr = Atomics.load(ctl, 3);
      if (pr !== progress) {
        progress = pr;
        since = now;
      } else if (Atomics.load(ctl, 1) < nWorkers && now - since > stallMs) {
        this.broken = true;
        throw new Error(`${this.spec.name} worker threads made no progress for ${stallMs / 1000} s (a worker thread died?)`);
      }
    }
    if (callerError !== null) throw callerError;
    if (Atomics.load(ctl, 2) !== 0) {
      const text = new TextDecoder().decode(this.err.slice(0, Atomics.load(ctl, 4)));
      throw new Error(`${this.spec.name} worker thread failed: ${text}`);
    }
  }

  /** Starts workers until there are `count` (replacing a broken pool first). */
  ensure(count: number): void {
    if (this.broken) {
      const old = this.workers;
      this.workers = [];
      this.ctl = new Int32Array(new SharedArrayBuffer(8 * 4));
      this.err = new Uint8Array(new SharedArrayBuffer(ERROR_BYTES));
      this.broken = false;
      for (const w of old) void w.terminate();
    }
    while (this.workers.length < count) {
      // Each worker instantiates the WASM kernels once, on the same (shared) memory.
      const wk = this.spec.wasm?.() ?? null;
      const workerData = { ctl: this.ctl, err: this.err, source: this.spec.source(), wasmBytes: wk ? wk.bytes : null, wasmMemory: wk ? wk.memory : null };
      const w = new Worker(WORKER_FILE, { workerData });
      w.unref();
      // Only a worker of the current pool breaks it (one terminated by shutdown or a replacement exits later).
      const markBroken = () => {
        if (this.workers.includes(w)) this.broken = true;
      };
      w.on('error', markBroken);
      w.on('exit', markBroken);
      this.workers.push(w);
    }
  }

  /** Terminates the workers (they are unref'd, so this is only needed for a tidy shutdown). */
  async shutdown(): Promise<void> {
    const old = this.workers;
    this.workers = [];
    await Promise.all(old.map((w) => w.terminate()));
  }
}

/** os.availableParallelism(), capped at 8. */
export function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

/** A thread count option: undefined → defaultThreads(); otherwise a positive integer. */
export function resolveThreads(t: number | undefined): number {
  if (t === undefined) return defaultThreads();
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`threads must be a positive integer, got ${t}`);
  return t;
}
