/**
 * The app's jobs: a run of an uploaded CSV, or a generated demo, as a child `shopsight run` /
 * `shopsight demo` (the real command, CI=1 so its progress is one plain line per stage start and
 * end), each into `<workdir>/runs/<job-id>/`. Progress is parsed from those lines; on success the
 * new run folder is registered before the job says so.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { STAGES } from '../engine/pipeline';
import { RunRegistry } from './runs';

/** The stages a job shows, the pipeline's in order (no MySQL load here); demo generates first. A stage not listed is appended when seen. */
export const PIPELINE_STAGES: readonly string[] = STAGES.filter((s) => s !== 'mysql-load');

export const JOB_ID_PATTERN = '^[0-9a-f-]{36}$';
export const DEMO_EVENTS = { min: 1_000, max: 1_000_000 } as const;
const LOG_LINES = 200;

export interface JobStage {
  name: string;
  status: 'pending' | 'running' | 'done';
  seconds?: number;
  rows?: number;
}

export interface Job {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  stages: JobStage[];
  log: string[];
  runId?: string;
  error?: string;
  exitCode?: number;
}

/** Seconds of the CLI's formatSeconds output: `0.58s`, `10.3s`, `2m05s`. */
export function parseSeconds(text: string): number | undefined {
  const m = /^(?:(\d+)m(\d{2})s|(\d+(?:\.\d+)?)s)$/.exec(text);
  if (!m) return undefined;
  return m[3] !== undefined ? Number(m[3]) : Number(m[1]) * 60 + Number(m[2]);
}

const START_RE = /^shopsight: ([a-z][a-z0-9-]*) …$/;
/** What the run says before its stages (pipeline.ts), never its error. */
const INFO_RE = /^shopsight: DuckDB memory limit /;
const END_RE = /^shopsight: ([a-z][a-z0-9-]*) +(\d+m\d{2}s|\d+(?:\.\d+)?s)(?: +([\d,]+) rows)?/;

/** Applies one progress line of the child to the job's stages; true when it was a stage line. */
export function applyProgressLine(job: Job, line: string): boolean {
  const start = START_RE.exec(line);
  const end = start ? null : END_RE.exec(line);
  const name = start?.[1] ?? end?.[1];
  if (!name) return false;
  let stage = job.stages.find((s) => s.name === name);
  if (!stage) {
    stage = { name, status: 'pending' };
    job.stages.push(stage);
  }
  if (start) {
    stage.status = 'running';
  } else if (end) {
    stage.status = 'done';
    const seconds = parseSeconds(end[2]);
    if (seconds !== undefined) stage.seconds = seconds;
    if (end[3] !== undefined) stage.rows = Number(end[3].replace(/,/g, ''));
  }
  return true;
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly workdir: string,
    private readonly registry: RunRegistry,
    private readonly log: (line: string) => void = () => undefined,
    private readonly bin: string = path.join(__dirname, '..', 'cli', 'bin.js'),
  ) {}

  /** A run of an uploaded file (already stored under a name we chose). */
  startUpload(file: string): Job {
    return this.start((out) => ['run', '--input', file, '--out', out], [...PIPELINE_STAGES]);
  }

  startDemo(events: number): Job {
    if (!Number.isInteger(events) || events < DEMO_EVENTS.min || events > DEMO_EVENTS.max) {
      throw new RangeError(`demo.events must be an integer from ${DEMO_EVENTS.min} to ${DEMO_EVENTS.max}`);
    }
    return this.start((out) => ['demo', '--events', String(events), '--out', out], ['generate', ...PIPELINE_STAGES]);
  }

  list(): Job[] {
    return [...this.jobs.values()].reverse();
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Stops the running children (SIGTERM: a run then leaves no published folder). */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) {
      if (job.status === 'running' && !this.children.has(job.id)) Object.assign(job, { status: 'failed', error: 'the app stopped before the job started' });
    }
    this.waiting.length = 0;
    const exits = [...this.children.values()].map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }));
    await Promise.all(exits);
  }

  /** Jobs run one at a time (a run uses every core); the others wait, status running, stages pending. */
  private start(args: (out: string) => string[], stages: string[]): Job {
    const id = randomUUID();
    const out = path.join(this.workdir, 'runs', id);
    const job: Job = { id, status: 'running', stages: stages.map((name) => ({ name, status: 'pending' })), log: [] };
    this.jobs.set(id, job);
    if (this.children.size > 0 || this.waiting.length > 0) job.log.push(`shopsight app: waiting for the job before it to finish`);
    this.waiting.push(() => this.spawn(job, args(out), out));
    this.next();
    return job;
  }

  private next(): void {
    if (this.closed || this.children.size > 0) return;
    this.waiting.shift()?.();
  }

  private spawn(job: Job, args: string[], out: string): void {
    const { id } = job;
    const child = spawn(process.execPath, [this.bin, ...args], {
      env: { ...process.env, CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(id, child);
    const onLine = (line: string) => {
      if (line.trim() === '') return;
      job.log.push(line);
      if (job.log.length > LOG_LINES) job.log.splice(0, job.log.length - LOG_LINES);
      applyProgressLine(job, line);
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        buffered += d;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        lines.forEach(onLine);
      });
      stream.on('end', () => onLine(buffered));
    }
    child.on('error', (error) => {
      job.status = 'failed';
      job.error = `could not start the run: ${error.message}`;
      this.children.delete(id);
      this.next();
    });
    child.on('close', (code, signal) => {
      this.children.delete(id);
      this.finish(job, out, code, signal);
      this.next();
    });
  }

  /** Registers the run folder of a job that succeeded (before saying so), or says why it failed. */
  private finish(job: Job, out: string, code: number | null, signal: NodeJS.Signals | null): void {
    job.exitCode = code ?? undefined;
    if (code === 0) {
      try {
        job.runId = this.registry.add(out).id;
        job.status = 'succeeded';
        this.log(`job ${job.id}: run ${job.runId} ready`);
      } catch (error) {
        job.status = 'failed';
        job.error = (error as Error).message;
      }
      return;
    }
    job.status = 'failed';
    const said = [...job.log].reverse().find((l) => l.startsWith('shopsight: ') && !START_RE.test(l) && !END_RE.test(l) && !INFO_RE.test(l));
    job.error = said ? said.replace(/^shopsight: /, '') : `the run exited with ${code ?? signal}`;
    for (const s of job.stages) if (s.status === 'running') s.status = 'pending';
    this.log(`job ${job.id} failed: ${job.error}`);
  }
}
