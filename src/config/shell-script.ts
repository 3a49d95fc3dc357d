/**
 * A conservative reader of the scripts a config hands to a shell (`[sh, -c, "<script>"]`):
 * enough of the POSIX shell grammar (and bash's common extensions) to find every simple
 * command, its command word, its arguments and the files it reads, so script security can
 * check what the script runs. It never guesses: a construct it does not follow (a here-
 * document, `case`, a function definition, `eval`, ...) makes the whole script
 * unanalysable, and the caller refuses it. Pure: text in, data out.
 */

/** A word of the script after quote removal. */
export interface ShellWord {
  /** As written. */
  readonly raw: string;
  /** Its value after quote removal, or null when an expansion makes it unknowable here. */
  readonly text: string | null;
  /** The first expansion in it (`$HOME`, `$(...)`, `*`, `~`), when `text` is null. */
  readonly expansion: string | null;
  /** Any part of it was quoted or escaped (so it is never a reserved word or an assignment). */
  readonly quoted: boolean;
}

/** One simple command: `A=1 B=2 prog arg... <in >out`. */
export interface SimpleCommand {
  /** `arguments`: words that are never run (a `for` list, the inside of `[[ ]]`). */
  readonly kind: 'command' | 'arguments';
  /** Leading `NAME=value` words. */
  readonly assignments: readonly { readonly name: string; readonly value: ShellWord }[];
  /** The command word and its arguments. */
  readonly words: readonly ShellWord[];
  /** Files it reads by `<` or `<>`. */
  readonly inputs: readonly ShellWord[];
}

export type ParsedScript =
  | { readonly ok: true; readonly commands: readonly SimpleCommand[] }
  /** `construct` says what could not be followed: `a here-document (<<)`. */
  | { readonly ok: false; readonly construct: string };

/** How deep `$(...)` and backquotes may nest before the script is refused. */
const MAX_NESTING = 8;

/**
 * The simple commands of `script`, in order, those of its command substitutions (`$(...)`,
 * backquotes, `<(...)`) included; or what keeps it from being analysed.
 */
export function parseShellScript(script: string): ParsedScript {
  try {
    return { ok: true, commands: parseAt(script, 0) };
  } catch (e) {
    if (e instanceof Unanalysable) return { ok: false, construct: e.construct };
    throw e;
  }
}

class Unanalysable extends Error {
  constructor(readonly construct: string) {
    super(construct);
  }
}

type Token =
  | { readonly t: 'word'; readonly word: ShellWord; readonly subs: readonly string[] }
  | { readonly t: 'op'; readonly op: string }
  | { readonly t: 'redir'; readonly op: string };

function parseAt(script: string, depth: number): SimpleCommand[] {
  if (depth > MAX_NESTING) throw new Unanalysable(`command substitutions nested deeper than ${MAX_NESTING}`);
  const { tokens } = new Scanner(script, 0, false).scan();
  return parseTokens(tokens, depth);
}

/** Reserved words that leave the next word in command position. */
const PASS_KEYWORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'while',
  'until',
  '{',
  '}',
  '!',
]);
/** Reserved words of constructs this reader does not follow. */
const REFUSED_KEYWORDS: Record<string, string> = {
  case: 'case ... esac',
  select: 'select',
  function: 'a function definition',
  coproc: 'coproc',
};

const isKeyword = (w: ShellWord, k: string): boolean => !w.quoted && w.text === k;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

function parseTokens(tokens: readonly Token[], depth: number): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  let kind: 'command' | 'arguments' = 'command';
  let assignments: { name: string; value: ShellWord }[] = [];
  let words: ShellWord[] = [];
  let inputs: ShellWord[] = [];
  /** Inside `[[ ... ]]`; in a `for` header (how many words still to skip: the name, `in`). */
  let cond = false;
  let forSkip = 0;
  let forHeader = false;
  const finish = () => {
    if (cond) throw new Unanalysable('[[ without ]]');
    if (words.length > 0 || assignments.length > 0 || inputs.length > 0)
      out.push({ kind, assignments, words, inputs });
    kind = 'command';
    assignments = [];
    words = [];
    inputs = [];
    forSkip = 0;
    forHeader = false;
  };
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as Token;
    if (tok.t === 'word') for (const sub of tok.subs) out.push(...parseAt(sub, depth + 1));
    if (cond) {
      // Everything up to ]] is an operand of the test: operators included, nothing runs.
      if (tok.t === 'word' && isKeyword(tok.word, ']]')) {
        cond = false;
        continue;
      }
      if (tok.t === 'word') words.push(tok.word);
      continue;
    }
    if (tok.t === 'op') {
      if (tok.op === '((') throw new Unanalysable('an arithmetic command ((...))');
      if (tok.op.startsWith(';;') || tok.op === ';&') throw new Unanalysable('case ... esac');
      if (tok.op === '(' && kind === 'command' && words.length === 1 && assignments.length === 0)
        throw new Unanalysable(`a function definition (${words[0]?.raw}())`);
      finish();
      continue;
    }
    if (tok.t === 'redir') {
      const target = tokens[i + 1];
      if (tok.op === '<<' || tok.op === '<<-') throw new Unanalysable('a here-document (<<)');
      if (target === undefined || target.t !== 'word')
        throw new Unanalysable(`a redirection (${tok.op}) without a target`);
      i++;
      for (const sub of target.subs) out.push(...parseAt(sub, depth + 1));
      if (tok.op === '<' || tok.op === '<>') inputs.push(target.word);
      continue;
    }
    const w = tok.word;
    if (forSkip > 0) {
      forSkip--;
      if (forSkip === 0 && !isKeyword(w, 'in')) {
        if (isKeyword(w, 'do')) finish();
        else words.push(w);
      }
      continue;
    }
    if (forHeader && isKeyword(w, 'do')) {
      finish(); // `for x in a b do ...` is not valid, but `for x do` is: the body follows
      continue;
    }
    if (words.length === 0 && kind === 'command') {
      if (!w.quoted && w.text !== null) {
        if (PASS_KEYWORDS.has(w.text)) continue;
        if (w.text === 'time') {
          const next = tokens[i + 1];
          if (next?.t === 'word' && isKeyword(next.word, '-p')) i++;
          continue;
        }
        const refused = REFUSED_KEYWORDS[w.text];
        if (refused) throw new Unanalysable(refused);
        if (w.text === '[[') {
          kind = 'arguments';
          cond = true;
          continue;
        }
        if (w.text === 'for' && assignments.length === 0) {
          kind = 'arguments';
          forSkip = 2; // the loop variable, then `in` when present
          forHeader = true;
          continue;
        }
      }
      const m = ASSIGNMENT.exec(w.raw);
      if (m) {
        const name = m[0].slice(0, -1);
        assignments.push({ name, value: valueOf(w, name) });
        continue;
      }
    }
    words.push(w);
  }
  finish();
  return out;
}

/** The value part of an assignment word `NAME=value`. */
function valueOf(w: ShellWord, name: string): ShellWord {
  const raw = w.raw.slice(name.length + 1);
  const text = w.text === null ? null : w.text.slice(name.length + 1);
  return { raw, text, expansion: w.expansion, quoted: w.quoted };
}

const BLANK = new Set([' ', '\t']);
const DELIMITS = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);

/** Splits script text into words, operators and redirections; `$(...)` bodies become `subs`. */
class Scanner {
  private readonly tokens: Token[] = [];

  constructor(
    private readonly s: string,
    private pos: number,
    /** Scanning the body of `$(`: stop at the `)` that closes it. */
    private readonly inParen: boolean,
  ) {}

  scan(): { tokens: Token[]; end: number } {
    let parens = 0;
    const s = this.s;
    while (this.pos < s.length) {
      const c = s[this.pos] as string;
      if (BLANK.has(c)) {
        this.pos++;
        continue;
      }
      if (c === '\\' && s[this.pos + 1] === '\n') {
        this.pos += 2;
        continue;
      }
      if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
        continue;
      }
      if (c === ')' && this.inParen && parens === 0) return { tokens: this.tokens, end: this.pos };
      if (c === '(' || c === ')') {
        if (c === '(' && s[this.pos + 1] === '(') {
          this.tokens.push({ t: 'op', op: '((' });
          this.pos += 2;
          parens += 2;
          continue;
        }
        parens += c === '(' ? 1 : -1;
        this.tokens.push({ t: 'op', op: c });
        this.pos++;
        continue;
      }
      if (c === '\n') {
        this.tokens.push({ t: 'op', op: '\n' });
        this.pos++;
        continue;
      }
      const op = this.operator();
      if (op) continue;
      this.word();
    }
    if (this.inParen) throw new Unanalysable('an unclosed $(');
    return { tokens: this.tokens, end: this.pos };
  }

  /** An operator or redirection at pos, pushed; false when there is none. */
  private operator(): boolean {
    const s = this.s.slice(this.pos, this.pos + 3);
    const take = (t: Token, n: number) => {
      this.tokens.push(t);
      this.pos += n;
      return true;
    };
    if (s.startsWith('<(') || s.startsWith('>(')) {
      // Process substitution: its body runs; the word is a /dev/fd path.
      const body = this.parenBody(this.pos + 2);
      return take(
        {
          t: 'word',
          word: { raw: s.slice(0, 2), text: null, expansion: `${s[0]}(...)`, quoted: false },
          subs: [body.text],
        },
        body.end - this.pos + 1,
      );
    }
    for (const r of ['<<<', '&>>', '<<-', '<<', '<>', '<&', '>>', '>|', '>&', '&>', '<', '>'])
      if (s.startsWith(r)) return take({ t: 'redir', op: r }, r.length);
    for (const o of [';;&', ';;', ';&', '&&', '||', '|&', ';', '&', '|'])
      if (s.startsWith(o)) return take({ t: 'op', op: o }, o.length);
    return false;
  }

  /** The text of a `(...)` body starting at `from`, and the index of its closing `)`. */
  private parenBody(from: number): { text: string; end: number } {
    const inner = new Scanner(this.s, from, true).scan();
    return { text: this.s.slice(from, inner.end), end: inner.end };
  }

  private word(): void {
    const s = this.s;
    const start = this.pos;
    let text = '';
    let expansion: string | null = null;
    let quoted = false;
    const subs: string[] = [];
    const unknown = (what: string) => {
      expansion ??= what;
    };
    const dollar = (): void => {
      // At `$`: an expansion of some kind, or a literal `$`.
      const n = s[this.pos + 1];
      if (n === '(' && s[this.pos + 2] === '(') {
        const end = matchingClose(s, this.pos + 3, '((', '))');
        const body = s.slice(this.pos + 3, end);
        if (/\$\(|`/.test(body)) throw new Unanalysable('a command substitution inside $((...))');
        unknown('$((...))');
        this.pos = end + 2;
        return;
      }
      if (n === '(') {
        const body = this.parenBody(this.pos + 2);
        subs.push(body.text);
        unknown('$(...)');
        this.pos = body.end + 1;
        return;
      }
      if (n === '{') {
        const end = matchingClose(s, this.pos + 2, '{', '}');
        const body = s.slice(this.pos + 2, end);
        if (/\$\(|`|<\(|>\(/.test(body)) throw new Unanalysable('a command substitution inside ${...}');
        unknown(`\${${body}}`);
        this.pos = end + 1;
        return;
      }
      if (n === "'") {
        const end = closingQuote(s, this.pos + 2, "'", true);
        unknown(`$'...'`);
        this.pos = end + 1;
        return;
      }
      const name = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9@*#?$!-]/.exec(s.slice(this.pos + 1));
      if (name) {
        unknown(`$${name[0]}`);
        this.pos += 1 + name[0].length;
        return;
      }
      text += '$';
      this.pos++;
    };
    const backquote = (): void => {
      const end = closingQuote(s, this.pos + 1, '`', true);
      subs.push(s.slice(this.pos + 1, end).replace(/\\([\\`$])/g, '$1'));
      unknown('`...`');
      this.pos = end + 1;
    };
    while (this.pos < s.length) {
      const c = s[this.pos] as string;
      if (DELIMITS.has(c)) break;
      if (c === '\\') {
        const n = s[this.pos + 1];
        if (n === undefined) {
          this.pos++;
          break;
        }
        if (n !== '\n') text += n;
        quoted = true;
        this.pos += 2;
        continue;
      }
      if (c === "'") {
        const end = closingQuote(s, this.pos + 1, "'", false);
        text += s.slice(this.pos + 1, end);
        quoted = true;
        this.pos = end + 1;
        continue;
      }
      if (c === '"') {
        quoted = true;
        this.pos++;
        for (;;) {
          const d = s[this.pos];
          if (d === undefined) throw new Unanalysable('an unclosed "');
          if (d === '"') {
            this.pos++;
            break;
          }
          if (d === '\\') {
            const n = s[this.pos + 1];
            if (n !== undefined && '$`"\\\n'.includes(n)) {
              if (n !== '\n') text += n;
              this.pos += 2;
            } else {
              text += d;
              this.pos++;
            }
            continue;
          }
          if (d === '$') {
            dollar();
            continue;
          }
          if (d === '`') {
            backquote();
            continue;
          }
          text += d;
          this.pos++;
        }
        continue;
      }
      if (c === '$') {
        dollar();
        continue;
      }
      if (c === '`') {
        backquote();
        continue;
      }
      if (c === '*' || c === '?') unknown(`a glob (${c})`);
      else if (c === '[' && /^[^\s;&|()<>]*\]/.test(s.slice(this.pos + 1))) unknown('a glob ([...])');
      else if (c === '~' && this.pos === start) unknown('~');
      else if (c === '{' && /^[^\s;&|()<>{}]*(,|\.\.)[^\s;&|()<>{}]*\}/.test(s.slice(this.pos + 1)))
        unknown('a brace expansion ({...})');
      text += c;
      this.pos++;
    }
    const raw = s.slice(start, this.pos);
    // `2>file`: the digits are the descriptor of the redirection, not a word.
    if (/^\d+$/.test(raw) && (s[this.pos] === '<' || s[this.pos] === '>')) return;
    this.tokens.push({ t: 'word', word: { raw, text: expansion ? null : text, expansion, quoted }, subs });
  }
}

/** Index of the quote closing one opened before `from`; `escapes`: a backslash escapes the next character. */
function closingQuote(s: string, from: number, quote: string, escapes: boolean): number {
  for (let i = from; i < s.length; i++) {
    if (escapes && s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === quote) return i;
  }
  throw new Unanalysable(`an unclosed ${quote}`);
}

/** Index of the `close` matching an `open` just before `from` (nesting counted, quotes skipped). */
function matchingClose(s: string, from: number, open: string, close: string): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === "'") {
      i = closingQuote(s, i + 1, "'", false);
      continue;
    }
    if (c === '"') {
      i = closingQuote(s, i + 1, '"', true);
      continue;
    }
    if (s.startsWith(close, i) && depth === 0) return i;
    if (s.startsWith(open, i) || (open === '((' && c === '(')) depth++;
    else if (open === '((' && c === ')') depth--;
    else if (close === '}' && c === '}') depth--;
  }
  throw new Unanalysable(`an unclosed ${open}`);
}
