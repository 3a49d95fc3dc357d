// The last lines a child said, kept for its exit record: what a person debugging a crash wants first.
import type { LastWordsDef } from '../../config/types.js';

/** A bounded ring of the most recent lines: at most `lines` lines and `bytes` bytes of them. */
export class LastLines {
  private readonly kept: string[] = [];
  private size = 0;

  constructor(private readonly def: LastWordsDef) {}

  push(line: string): void {
    if (this.def.lines === 0 || this.def.bytes === 0) return;
    // A single line over the byte bound keeps its end: that is where an error usually says what.
    const text = line.length > this.def.bytes ? `…${line.slice(line.length - this.def.bytes + 1)}` : line;
    this.kept.push(text);
    this.size += text.length;
    while (this.kept.length > this.def.lines || this.size > this.def.bytes) {
      this.size -= (this.kept.shift() as string).length;
    }
  }

  lines(): string[] {
    return this.kept.slice();
  }
}
