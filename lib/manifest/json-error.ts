/**
 * Where JSON text stops being JSON, and why, in words that do not depend on the Node.js version: JSON.parse's
 * messages differ between V8 releases, some carry no position, and some quote the input (raw bytes and line breaks
 * included). Called only after JSON.parse failed, so speed matters little; memory stays flat (one pass, no copies).
 */

/** The first syntax error of a JSON text. */
export interface JsonSyntaxError {
  /** 1-based line (LF, CRLF or CR end a line). */
  readonly line: number;
  /** 1-based column, in characters (UTF-16 code units, as editors count them for most text). */
  readonly column: number;
  /** What was wrong, e.g. `expected ',' or '}' after a property value, got 'x'`. */
  readonly reason: string;
}

/** The first syntax error of `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const scanner = new Scanner(text);
  const found = scanner.run();
  if (found === undefined) return undefined;
  return { ...lineColumn(text, found.offset), reason: found.reason };
}

/** `line 3, column 14: <reason>` (or `column 14: <reason>` for a single line, as in a manifest's JSON Line). */
export function formatJsonSyntaxError(e: JsonSyntaxError, singleLine = false): string {
  return singleLine ? `column ${e.column}: ${e.reason}` : `line ${e.line}, column ${e.column}: ${e.reason}`;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** A character shown in a message: printable ones quoted, others as \uXXXX, the end as `the end of the input`. */
function shown(text: string, i: number): string {
  if (i >= text.length) return 'the end of the input';
  const c = text.charCodeAt(i);
  if (c < 32 || c === 127 || (c >= 0xd800 && c <= 0xdfff) || c === 0xfeff) return `\\u${c.toString(16).padStart(4, '0')}`;
  return `'${text[i]}'`;
}

class Failure {
  constructor(readonly offset: number, readonly reason: string) {}
}

const MAX_DEPTH = 1000;

class Scanner {
  private i = 0;

  constructor(private readonly t: string) {
    if (t.charCodeAt(0) === 0xfeff) this.i = 1;
  }

  run(): Failure | undefined {
    try {
      this.ws();
      this.value(0);
      this.ws();
      if (this.i < this.t.length) return new Failure(this.i, `unexpected ${shown(this.t, this.i)} after the JSON value`);
      return undefined;
    } catch (err) {
      if (err instanceof Failure) return err;
      throw err;
    }
  }

  private fail(reason: string): never {
    throw new Failure(this.i, reason);
  }

  private ws(): void {
    const t = this.t;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
      this.i++;
    }
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    const t = this.t;
    const c = t[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const literal of ['true', 'false', 'null']) {
      if (t.startsWith(literal, this.i)) {
        this.i += literal.length;
        return;
      }
    }
    this.fail(this.i >= t.length ? 'unexpected end of the input, a value was expected' : `unexpected ${shown(t, this.i)}, a value was expected`);
  }

  private object(depth: number): void {
    this.i++; // {
    this.ws();
    if (this.t[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.t[this.i] !== '"') this.fail(`expected a double-quoted property name, got ${shown(this.t, this.i)}`);
      this.string();
      this.ws();
      if (this.t[this.i] !== ':') this.fail(`expected ':' after a property name, got ${shown(this.t, this.i)}`);
      this.i++;
      this.ws();
      this.value(depth + 1);
      this.ws();
      const c = this.t[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return;
      }
      this.fail(`expected ',' or '}' after a property value, got ${shown(this.t, this.i)}`);
    }
  }

  private array(depth: number): void {
    this.i++; // [
    this.ws();
    if (this.t[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      this.value(depth + 1);
      this.ws();
      const c = this.t[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return;
      }
      this.fail(`expected ',' or ']' after an array element, got ${shown(this.t, this.i)}`);
    }
  }

  private string(): void {
    const t = this.t;
    const start = this.i;
    this.i++; // "
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c === 34) {
        this.i++;
        return;
      }
      if (c < 32) this.fail(`a control character (${shown(t, this.i)}) inside a string must be escaped`);
      if (c === 92) {
        const e = t[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(this.i + 2, this.i + 6))) this.fail('\\u must be followed by four hexadecimal digits');
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`invalid escape \\${e === undefined ? '' : e} in a string`);
        this.i += 2;
        continue;
      }
      this.i++;
    }
    this.i = start;
    this.fail('a string is not closed (no ending double quote)');
  }

  private number(): void {
    const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.i;
    const r = m.exec(this.t);
    if (!r || r[0] === '-') this.fail(`invalid number at ${shown(this.t, this.i)}`);
    this.i += r![0].length;
    const next = this.t[this.i];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail(`invalid number: unexpected ${shown(this.t, this.i)}`);
  }
}
