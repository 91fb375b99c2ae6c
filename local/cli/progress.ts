/**
 * How a run shows itself: on a terminal, a live status line for the running stage (spinner, stage
 * name, elapsed) replaced by a result line when it ends; elsewhere (CI, a pipe, a log file) one
 * plain line per stage start and end. Both end with a summary table of every stage.
 */
import { ProgressReporter } from '../engine/pipeline';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');
export const formatSeconds = (s: number): string => (s < 10 ? `${s.toFixed(2)}s` : s < 120 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`);

export interface StageLine {
  readonly stage: string;
  readonly seconds: number;
  readonly rows?: number;
  readonly note?: string;
}

/** `rows/s` of a stage, or an empty string when it has no row count or took no measurable time. */
export function rate(line: StageLine): string {
  if (line.rows === undefined || line.seconds <= 0) return '';
  return `${formatCount(line.rows / line.seconds)} rows/s`;
}

export function summaryTable(lines: readonly StageLine[]): string {
  const header = ['stage', 'rows', 'time', 'rows/s'];
  const rows = lines.map((l) => [l.stage, l.rows === undefined ? '' : formatCount(l.rows), formatSeconds(l.seconds), rate(l)]);
  const total = lines.reduce((a, l) => a + l.seconds, 0);
  rows.push(['total', '', formatSeconds(total), '']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

export class ConsoleProgress implements ProgressReporter {
  readonly lines: StageLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private frame = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly live: boolean = Boolean(process.stderr.isTTY) && !process.env.CI,
  ) {}

  stageStart(stage: string): void {
    this.started = Date.now();
    if (!this.live) {
      this.stream.write(`shopsight: ${stage} …\n`);
      return;
    }
    const draw = () => {
      const elapsed = (Date.now() - this.started) / 1000;
      this.stream.write(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${stage.padEnd(18)} ${formatSeconds(elapsed)}`);
    };
    draw();
    this.timer = setInterval(draw, 100);
    this.timer.unref();
  }

  stageEnd(stage: string, seconds: number, rows: number | undefined, note?: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const line: StageLine = { stage, seconds, rows, note };
    this.lines.push(line);
    const parts = [formatSeconds(seconds)];
    if (rows !== undefined) parts.push(`${formatCount(rows)} rows`, rate(line));
    const text = `${stage.padEnd(18)} ${parts.filter(Boolean).join('  ')}${note ? `  (${note})` : ''}`;
    this.stream.write(this.live ? `\r\x1b[2K✔ ${text}\n` : `shopsight: ${text}\n`);
  }

  log(message: string): void {
    if (this.live) this.stream.write('\r\x1b[2K');
    this.stream.write(`shopsight: ${message}\n`);
  }

  /** Stops a running status line (on failure) so the error starts on a clean line. */
  abort(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.live) this.stream.write('\r\x1b[2K');
  }

  summary(): string {
    return summaryTable(this.lines);
  }
}
