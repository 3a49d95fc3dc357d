/**
 * What the debugging commands say on stderr besides their result: the problems of a log
 * (each once, the first few in full, then a count) and a progress bar while a long log is
 * read — only when stderr is a terminal, so scripts and pipes never see one.
 */
import type { CommandIO } from '../cli/io.js';
import type { LogProblem } from './read-log.js';

/** Damaged lines listed one by one before the rest are only counted. */
const LISTED = 10;

export class ProblemReport {
  private listed = 0;
  private more = 0;
  private damage = 0;
  private torn = false;

  constructor(private readonly io: CommandIO) {}

  add(p: LogProblem): void {
    if (p.kind === 'torn') {
      if (this.torn) return;
      this.torn = true;
      this.io.err(`warning: ${p.path}:${p.line}: ${p.message}`);
      return;
    }
    this.damage++;
    if (this.listed < LISTED) {
      this.listed++;
      this.io.err(`${p.path}:${p.line}: ${p.kind}: ${p.message}`);
    } else this.more++;
  }

  /** Lines that were damaged (a torn tail is not damage). */
  get damaged(): number {
    return this.damage;
  }

  /** Say how many more there were, and what the result is worth. */
  finish(what: string): void {
    if (this.more > 0) this.io.err(`… and ${this.more} more damaged line(s)`);
    if (this.damage > 0)
      this.io.err(
        `${what}: ${this.damage} problem(s) in the log (lines skipped or events missing, listed above): the result may be incomplete (exit 1)`,
      );
  }
}

/** A one-line bar on a terminal: `reading events.jsonl ▕██████░░░░▏ 61%  78.1/128.0 MB`. */
export class ProgressBar {
  private readonly started = Date.now();
  private shown = false;
  private lastDraw = 0;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(bytes: number, total: number): void {
    if (!this.enabled || total <= 0) return;
    const now = Date.now();
    // Nothing for a read that is over quickly; then at most ten redraws a second.
    if (now - this.started < 300 || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.shown = true;
    const f = Math.min(1, bytes / total);
    const width = 24;
    const full = Math.round(f * width);
    const mb = (n: number) => (n / 1048576).toFixed(1);
    this.stream.write(
      `\r\x1b[K${this.label} ▕${'█'.repeat(full)}${'░'.repeat(width - full)}▏ ${Math.floor(f * 100)}%  ${mb(bytes)}/${mb(total)} MB`,
    );
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
