// The master-file tokenizer: bytes in, one entry (a logical line) of tokens out.
//
// Read first: RFC 1035 §5.1 (entries, parentheses, comments, quoted strings, `\X` and
// `\DDD`, the blank owner), RFC 2308 §4 ($TTL), RFC 3597 §5 (`\#`).
//
// Tokens are (start, end) offsets into the input bytes; nothing is copied or decoded here.
// Escapes stay in place (TOK_ESCAPED says one is present) and quotes are stripped
// (TOK_QUOTED). TOK_GLUED marks a token with no blank before it (`alpn="h2"` is the token
// `alpn=` followed by the glued quoted token `h2`). The per-entry arrays are reused, so a
// token's offsets are valid only until the next call to next().
//
//   input  ...\n www  300 IN ( A\n  198.18.0.1 ) ; comment\n ...
//               │    │   │    │    │
//   tokens     [0]  [1] [2]  [3]  [4]        lines: all 7 but [4]: 8

export const TOK_QUOTED = 1;
export const TOK_ESCAPED = 2;
export const TOK_GLUED = 4;

// Byte classes for the token scanner.
const C_TOKEN = 0;
const C_BLANK = 1;   // space, tab, CR (CRLF files read as LF files)
const C_NEWLINE = 2;
const C_COMMENT = 3;
const C_OPEN = 4;
const C_CLOSE = 5;
const C_QUOTE = 6;
const C_ESCAPE = 7;

const CLASS = new Uint8Array(256);
CLASS[0x20] = C_BLANK;
CLASS[0x09] = C_BLANK;
CLASS[0x0d] = C_BLANK;
CLASS[0x0a] = C_NEWLINE;
CLASS[0x3b] = C_COMMENT;
CLASS[0x28] = C_OPEN;
CLASS[0x29] = C_CLOSE;
CLASS[0x22] = C_QUOTE;
CLASS[0x5c] = C_ESCAPE;

export class ZoneLexer {
  /** Number of tokens in the current entry. */
  count = 0;
  start: Int32Array = new Int32Array(64);
  end: Int32Array = new Int32Array(64);
  flags: Uint8Array = new Uint8Array(64);
  /** Source line of each token. */
  lines: Int32Array = new Int32Array(64);
  /** The entry's first line began with a blank: the owner is the previous one. */
  blankOwner = false;
  /** Line on which the current entry starts. */
  entryLine = 0;
  /** Byte offset of the current entry's first line. */
  entryOffset = 0;
  /** A lexical error in the current entry (its tokens are then unreliable). */
  error: string | null = null;
  errorLine = 0;

  private pos: number;
  private line: number;
  /**
   * No entry starts at or after this offset (one that starts before it is read to its end):
   * how a zone split in two parts (zone-split.ts) stops its first part at the second's start.
   */
  limit: number;

  /** Reads buf from `pos`, which is at the start of line `line`. */
  constructor(readonly buf: Uint8Array, pos = 0, line = 1) {
    this.pos = pos;
    this.line = line;
    this.limit = buf.length;
  }

  /** The offset after the last entry read (the start of the line after it). */
  get offset(): number {
    return this.pos;
  }

  /** Reads nothing more (the rest was read elsewhere: zone-split.ts). */
  skipToEnd(): void {
    this.pos = this.buf.length;
  }

  /** Reads the next non-empty entry; false at the end of input. */
  next(): boolean {
    const b = this.buf;
    const n = b.length;
    let pos = this.pos;
    let line = this.line;
    this.error = null;
    for (;;) {
      if (pos >= n || pos >= this.limit) {
        this.pos = pos;
        this.line = line;
        this.count = 0;
        return false;
      }
      this.entryOffset = pos;
      this.entryLine = line;
      this.blankOwner = CLASS[b[pos]!] === C_BLANK;
      let count = 0;
      let depth = 0;
      let parenLine = 0;
      let prevEnd = -1;
      scan: for (;;) {
        if (pos >= n) {
          if (depth > 0) this.fail(`end of file inside parentheses: the '(' on line ${parenLine} has no ')'`, parenLine);
          break;
        }
        switch (CLASS[b[pos]!]) {
          case C_BLANK:
            pos++;
            continue;
          case C_NEWLINE:
            pos++;
            line++;
            if (depth === 0) break scan;
            continue;
          case C_COMMENT:
            while (pos < n && b[pos] !== 0x0a) pos++;
            continue;
          case C_OPEN:
            if (depth++ === 0) parenLine = line;
            pos++;
            continue;
          case C_CLOSE:
            if (depth === 0) this.fail("')' without a matching '('", line);
            else depth--;
            pos++;
            continue;
          case C_QUOTE: {
            const open = pos;
            const tokLine = line;
            let flags = TOK_QUOTED;
            pos++;
            while (pos < n) {
              const c = b[pos]!;
              if (c === 0x22) break;
              if (c === 0x5c) {
                flags |= TOK_ESCAPED;
                pos++;
                if (pos < n && b[pos] === 0x0a) line++;
              } else if (c === 0x0a) {
                line++;
              }
              pos++;
            }
            if (pos >= n) {
              this.fail(`unterminated quoted string (it opens on line ${tokLine})`, tokLine);
              break scan;
            }
            if (open === prevEnd) flags |= TOK_GLUED;
            count = this.push(count, open + 1, pos, flags, tokLine);
            pos++;
            prevEnd = pos;
            continue;
          }
          default: {
            const s = pos;
            const tokLine = line;
            let flags = 0;
            while (pos < n) {
              const k = CLASS[b[pos]!]!;
              if (k === C_TOKEN) {
                pos++;
              } else if (k === C_ESCAPE) {
                flags = TOK_ESCAPED;
                pos++;
                if (pos < n) {
                  if (b[pos] === 0x0a) line++;
                  pos++;
                }
              } else {
                break;
              }
            }
            if (s === prevEnd) flags |= TOK_GLUED;
            count = this.push(count, s, pos, flags, tokLine);
            prevEnd = pos;
            continue;
          }
        }
      }
      if (count > 0 || this.error !== null) {
        this.pos = pos;
        this.line = line;
        this.count = count;
        return true;
      }
    }
  }

  private fail(message: string, line: number): void {
    if (this.error === null) {
      this.error = message;
      this.errorLine = line;
    }
  }

  private push(i: number, s: number, e: number, flags: number, line: number): number {
    if (i === this.start.length) this.growTokens();
    this.start[i] = s;
    this.end[i] = e;
    this.flags[i] = flags;
    this.lines[i] = line;
    return i + 1;
  }

  private growTokens(): void {
    const size = this.start.length * 2;
    const grow32 = (a: Int32Array): Int32Array => {
      const g = new Int32Array(size);
      g.set(a);
      return g;
    };
    this.start = grow32(this.start);
    this.end = grow32(this.end);
    this.lines = grow32(this.lines);
    const f = new Uint8Array(size);
    f.set(this.flags);
    this.flags = f;
  }

  /** The raw bytes of token i as a latin1 string (for messages and rare paths only). */
  text(i: number): string {
    return latin1(this.buf, this.start[i]!, this.end[i]!);
  }

  /** True when token i is exactly the unquoted, unescaped ASCII word w (case-insensitive). */
  is(i: number, w: string): boolean {
    const s = this.start[i]!;
    if (this.end[i]! - s !== w.length || (this.flags[i]! & TOK_QUOTED) !== 0) return false;
    for (let k = 0; k < w.length; k++) {
      let c = this.buf[s + k]!;
      if (c >= 0x61 && c <= 0x7a) c -= 0x20;
      let d = w.charCodeAt(k);
      if (d >= 0x61 && d <= 0x7a) d -= 0x20;
      if (c !== d) return false;
    }
    return true;
  }
}

export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  const stop = Math.min(end, start + 200);
  for (let i = start; i < stop; i++) s += String.fromCharCode(buf[i]!);
  return stop < end ? s + '…' : s;
}
