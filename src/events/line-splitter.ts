/**
 * Splits text arriving in chunks into lines: the one line splitter for event logs, child
 * output and control requests. A line longer than `maxLine` is handed over in pieces of
 * `maxLine` characters, each marked `cut` (the last piece of the line is not), so a caller
 * can log the pieces or refuse the line, but memory stays bounded either way.
 */
export class LineSplitter {
  private carry = '';

  constructor(
    private readonly onLine: (line: string, cut: boolean) => void,
    private readonly maxLine = Number.MAX_SAFE_INTEGER,
  ) {
    if (!(maxLine >= 1)) throw new RangeError(`maxLine must be at least 1, got ${maxLine}`);
  }

  push(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (this.carry !== '') {
      if (nl < 0) {
        this.carry += chunk;
        this.spill();
        return;
      }
      const line = this.carry + chunk.slice(0, nl);
      this.carry = '';
      this.emit(line);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    while (nl >= 0) {
      if (nl - start > this.maxLine) this.emit(chunk.slice(start, nl));
      else this.onLine(chunk.slice(start, nl), false);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    this.carry = chunk.slice(start);
    this.spill();
  }

  /**
   * The text after the last newline, or null: a write cut short, or output whose last line
   * has no newline. It is returned, not handed to onLine: what it means is the caller's call.
   */
  end(): string | null {
    const rest = this.carry;
    this.carry = '';
    return rest === '' ? null : rest;
  }

  /** Characters waiting for their newline. */
  get pending(): number {
    return this.carry.length;
  }

  /** A complete line, in pieces when it is over the limit. */
  private emit(line: string): void {
    let s = line;
    while (s.length > this.maxLine) {
      this.onLine(s.slice(0, this.maxLine), true);
      s = s.slice(this.maxLine);
    }
    this.onLine(s, false);
  }

  /** An unfinished line over the limit is handed over in pieces already, never held whole. */
  private spill(): void {
    while (this.carry.length > this.maxLine) {
      this.onLine(this.carry.slice(0, this.maxLine), true);
      this.carry = this.carry.slice(this.maxLine);
    }
  }
}
