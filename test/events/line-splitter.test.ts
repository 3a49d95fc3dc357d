import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/events/line-splitter.js';

type Piece = [line: string, cut: boolean];

/** A text of short lines and long ones, cut into chunks at arbitrary places (empty chunks too). */
const chunkedArb = fc
  .string({ unit: fc.constantFrom('a', 'b', 'é', '\n', '\n', '\r'), maxLength: 80 })
  .chain((text) =>
    fc.array(fc.nat({ max: text.length }), { maxLength: 12 }).map((cuts) => {
      const at = [0, ...cuts.sort((a, b) => a - b), text.length];
      return { text, chunks: at.slice(1).map((end, i) => text.slice(at[i], end)) };
    }),
  );

/** Push every chunk; what onLine got, end()'s result, and the pending count after each push. */
function split(chunks: string[], maxLine?: number) {
  const pieces: Piece[] = [];
  const splitter = new LineSplitter((line, cut) => pieces.push([line, cut]), maxLine);
  const pending: number[] = [];
  for (const c of chunks) {
    splitter.push(c);
    pending.push(splitter.pending);
  }
  const before = pieces.length;
  const rest = splitter.end();
  expect(pieces.length, 'end() hands nothing to onLine').toBe(before);
  return { pieces, rest, pending };
}

/** The text's complete lines and the text after its last newline. */
function linesOf(text: string): { lines: string[]; rest: string } {
  const parts = text.split('\n');
  return { lines: parts.slice(0, -1), rest: parts.at(-1) as string };
}

describe('LineSplitter', () => {
  it('hands over each complete line once, however the text is cut into chunks (property)', () => {
    fc.assert(
      fc.property(chunkedArb, ({ text, chunks }) => {
        const { lines, rest } = linesOf(text);
        const got = split(chunks);
        expect(got.pieces).toEqual(lines.map((l): Piece => [l, false]));
        expect(got.rest).toBe(rest === '' ? null : rest);
      }),
      { numRuns: 2000 },
    );
  });

  it('with maxLine, cuts a longer line into pieces: cut pieces of maxLine, then the last with cut=false (property)', () => {
    fc.assert(
      fc.property(chunkedArb, fc.integer({ min: 1, max: 9 }), ({ text, chunks }, maxLine) => {
        const { lines, rest } = linesOf(text);
        const got = split(chunks, maxLine);
        // The same pieces whatever the chunks.
        expect(got.pieces).toEqual(split([text], maxLine).pieces);
        // Pieces up to each cut=false make up one complete line; cut pieces are exactly maxLine long.
        const whole: string[] = [];
        let line = '';
        for (const [piece, cut] of got.pieces) {
          line += piece;
          if (cut) {
            expect(piece.length).toBe(maxLine);
            continue;
          }
          expect(piece.length).toBeLessThanOrEqual(maxLine);
          whole.push(line);
          line = '';
        }
        expect(whole).toEqual(lines);
        // What is left over: cut pieces already handed over, then end()'s rest, at most maxLine.
        expect(line + (got.rest ?? '')).toBe(rest);
        expect((got.rest ?? '').length).toBeLessThanOrEqual(maxLine);
        if (rest !== '') expect(got.rest).not.toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('never holds more than maxLine characters waiting for their newline (property)', () => {
    fc.assert(
      fc.property(chunkedArb, fc.integer({ min: 1, max: 9 }), ({ chunks }, maxLine) => {
        const { pending } = split(chunks, maxLine);
        for (const p of pending) expect(p).toBeLessThanOrEqual(maxLine);
      }),
      { numRuns: 2000 },
    );
    const { pending } = split(['x'.repeat(100_000), 'y'.repeat(100_000)], 64);
    expect(pending).toEqual([100_000 % 64, 64]);
  });

  it('counts the characters waiting for their newline', () => {
    const s = new LineSplitter(() => {});
    s.push('ab\ncd');
    expect(s.pending).toBe(2);
    s.push('e');
    expect(s.pending).toBe(3);
    s.push('\n');
    expect(s.pending).toBe(0);
  });

  it('end() returns the unterminated rest, or null, without calling onLine, and starts afresh', () => {
    const pieces: Piece[] = [];
    const s = new LineSplitter((line, cut) => pieces.push([line, cut]), 4);
    s.push('one\ntwo');
    expect(s.end()).toBe('two');
    expect(pieces).toEqual([['one', false]]);
    expect(s.pending).toBe(0);
    expect(s.end()).toBeNull();
    s.push('three\n');
    expect(pieces).toEqual([
      ['one', false],
      ['thre', true],
      ['e', false],
    ]);
    s.push('abcdefghij');
    expect(s.end()).toBe('ij');
    expect(pieces.slice(3)).toEqual([
      ['abcd', true],
      ['efgh', true],
    ]);
  });

  it('keeps empty lines and carriage returns as they are', () => {
    expect(split(['\n\r\n', 'x\n']).pieces).toEqual([
      ['', false],
      ['\r', false],
      ['x', false],
    ]);
  });
});
