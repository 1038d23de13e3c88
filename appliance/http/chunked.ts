// Reading and discarding a chunked request body (RFC 9112 §7.1), as nginx does for a GET
// or HEAD that carries one: the bytes go nowhere, but the framing is followed exactly, so
// that the next pipelined request starts where the body ends.
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// One state machine per connection slot, in typed arrays; it resumes wherever a read ended.
// Line ends may be bare LF (as for heads). A size with more than 15 hex digits, a line of
// extensions or trailers over MAX_LINE bytes, or a missing CRLF after the data is an error:
// the connection is closed.

const LF = 0x0a;
const CR = 0x0d;
/** Longest chunk-ext or trailer line accepted (the size of a request head). */
const MAX_LINE = 8192;
/** 15 hex digits stay below 2^53 (exact in a double). */
const MAX_SIZE_DIGITS = 15;

const S_SIZE = 0; // reading hex digits of chunk-size
const S_EXT = 1; // after the size: chunk-ext up to LF
const S_DATA = 2; // chunk-data
const S_DATA_CR = 3; // CR (or bare LF) after the data
const S_DATA_LF = 4; // LF after that CR
const S_TRAILER = 5; // at the start of a trailer line (an empty one ends the body)
const S_TRAILER_LINE = 6; // inside a trailer line, up to LF
const S_LAST_EXT = 7; // after the size 0: its extensions up to LF, then trailers

/** skip() result: the body is malformed. */
export const CHUNKED_ERROR = -1;

export class ChunkedSkipper {
  private readonly state: Uint8Array;
  private readonly digits: Uint8Array;
  private readonly left: Float64Array;
  private readonly line: Uint32Array;
  /** Set by skip(): the body ended inside the bytes it was given. */
  done = false;

  constructor(capacity: number) {
    this.state = new Uint8Array(capacity);
    this.digits = new Uint8Array(capacity);
    this.left = new Float64Array(capacity);
    this.line = new Uint32Array(capacity);
  }

  start(slot: number): void {
    this.state[slot] = S_SIZE;
    this.digits[slot] = 0;
    this.left[slot] = 0;
    this.line[slot] = 0;
  }

  /**
   * Consumes body bytes from buf[off, end): returns how many it took, or CHUNKED_ERROR.
   * `done` tells whether the body ended (then the bytes after it are the next request's).
   */
  skip(slot: number, buf: Uint8Array, off: number, end: number): number {
    this.done = false;
    let st = this.state[slot]!;
    let i = off;
    while (i < end) {
      const c = buf[i]!;
      switch (st) {
        case S_SIZE: {
          const h = hex(c);
          if (h >= 0) {
            if (this.digits[slot]! >= MAX_SIZE_DIGITS) return CHUNKED_ERROR;
            this.digits[slot]!++;
            this.left[slot] = this.left[slot]! * 16 + h;
            i++;
            break;
          }
          if (this.digits[slot] === 0) return CHUNKED_ERROR;
          st = this.left[slot] === 0 ? S_LAST_EXT : S_EXT;
          this.line[slot] = 0;
          break; // the same byte is looked at again in the new state
        }
        case S_EXT:
        case S_LAST_EXT:
          i++;
          if (c === LF) {
            st = st === S_EXT ? S_DATA : S_TRAILER;
          } else if (++this.line[slot]! > MAX_LINE) {
            return CHUNKED_ERROR;
          }
          break;
        case S_DATA: {
          const n = Math.min(this.left[slot]!, end - i);
          i += n;
          this.left[slot] = this.left[slot]! - n;
          if (this.left[slot] === 0) st = S_DATA_CR;
          break;
        }
        case S_DATA_CR:
          if (c === CR) {
            st = S_DATA_LF;
          } else if (c === LF) {
            st = S_SIZE;
            this.digits[slot] = 0;
          } else {
            return CHUNKED_ERROR;
          }
          i++;
          break;
        case S_DATA_LF:
          if (c !== LF) return CHUNKED_ERROR;
          i++;
          st = S_SIZE;
          this.digits[slot] = 0;
          break;
        case S_TRAILER:
          i++;
          if (c === LF) {
            this.state[slot] = S_SIZE;
            this.done = true;
            return i - off;
          }
          if (c !== CR) {
            st = S_TRAILER_LINE;
            this.line[slot] = 1;
          }
          break;
        case S_TRAILER_LINE:
          i++;
          if (c === LF) st = S_TRAILER;
          else if (++this.line[slot]! > MAX_LINE) return CHUNKED_ERROR;
          break;
      }
    }
    this.state[slot] = st;
    return i - off;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
