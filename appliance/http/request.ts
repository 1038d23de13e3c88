// Request heads: framing, limits, and parsing with llhttp (the parser of record).
//
// RFC 9112 §2 (message format), §3 (request line), §9.3 (persistence); RFC 9110 §7.2
// (Host). llhttp is only ever given one whole head: the transport finds the end of the
// head first (headLength), enforces the size limits, then calls parse().

import { HeadParser, HPE_OK, HPE_PAUSED_UPGRADE } from './llhttp.js';

/** Largest request head accepted: the request line and all header fields. */
export const MAX_HEAD_BYTES = 8192;

/** Outcomes of framing and parsing, as HTTP status codes (0 = fine). */
export const HEAD_OK = 0;
export const HEAD_BAD = 400;
export const HEAD_URI_TOO_LONG = 414;
export const HEAD_TOO_LARGE = 431;
export const HEAD_VERSION = 505;

/** RequestHead.bodyLength of a chunked body (RFC 9112 §7.1). */
export const BODY_CHUNKED = -1;

export const METHOD_GET = 1;
export const METHOD_HEAD = 2;

/** The fields of a request head the responder uses. Reused: reset() before each request. */
export class RequestHead {
  method = 0;
  versionMinor = 1;
  target = '';
  host: string | undefined = undefined;
  acceptEncoding: string | undefined = undefined;
  ifNoneMatch: string | undefined = undefined;
  ifModifiedSince: string | undefined = undefined;
  ifMatch: string | undefined = undefined;
  ifUnmodifiedSince: string | undefined = undefined;
  range: string | undefined = undefined;
  ifRange: string | undefined = undefined;
  keepAlive = true;
  /** Bytes of body that follow the head (read and discarded), or BODY_CHUNKED. */
  bodyLength = 0;

  reset(): void {
    this.method = 0;
    this.versionMinor = 1;
    this.target = '';
    this.host = this.acceptEncoding = this.ifNoneMatch = this.ifModifiedSince = undefined;
    this.ifMatch = this.ifUnmodifiedSince = this.range = this.ifRange = undefined;
    this.keepAlive = true;
    this.bodyLength = 0;
  }
}

const LF = 0x0a;
const CR = 0x0d;

/** What headLength() found besides the length. */
export interface HeadInfo {
  /** Some line of the head ends in a bare LF (normalizeLineEnds() before parsing). */
  bareLf: boolean;
}

/**
 * Length of the complete head at buf[off, end) including its empty line, 0 when more bytes
 * are needed, or a negative status when a limit is exceeded (-414: the request line alone
 * is over MAX_HEAD_BYTES; -431: the head is; -400: nothing but empty lines). Empty lines
 * before the request line belong to the head (RFC 9112 §2.2: ignored). Lines may end in a
 * bare LF (RFC 9112 §2.2 allows a recipient to accept it, and nginx does): the head is
 * found, and `info.bareLf` says so. Never reads at or past `end` (frames sit in a larger
 * memory than the bytes that arrived).
 */
export function headLength(buf: Uint8Array, off: number, end: number, info: HeadInfo): number {
  let i = off;
  while (i < end) {
    if (buf[i] === LF) i++;
    else if (buf[i] === CR && i + 1 < end && buf[i + 1] === LF) i += 2;
    else break;
  }
  if (i - off > MAX_HEAD_BYTES) return -HEAD_BAD;
  const start = i;
  const limit = end < start + MAX_HEAD_BYTES ? end : start + MAX_HEAD_BYTES;
  let bare = false;
  let lineStart = start;
  let firstLine = -1;
  for (let p = start; p < limit; p++) {
    if (buf[p] !== LF) continue;
    const cr = p > lineStart && buf[p - 1] === CR;
    if (!cr) bare = true;
    if (firstLine < 0) {
      firstLine = p;
    } else if (p - lineStart === (cr ? 1 : 0)) {
      info.bareLf = bare;
      return p + 1 - off;
    }
    lineStart = p + 1;
  }
  if (end - start < MAX_HEAD_BYTES) return 0;
  return firstLine < 0 ? -HEAD_URI_TOO_LONG : -HEAD_TOO_LARGE;
}

/**
 * The head buf[off, off+len) with every bare LF made CRLF, into `out`; returns its length
 * (at most 2 × len). llhttp, the parser of record, takes CRLF only.
 */
export function normalizeLineEnds(buf: Uint8Array, off: number, len: number, out: Uint8Array): number {
  let o = 0;
  for (let i = off; i < off + len; i++) {
    const c = buf[i]!;
    if (c === LF && (i === off || buf[i - 1] !== CR)) out[o++] = CR;
    out[o++] = c;
  }
  return o;
}

function skipEmptyLines(buf: Uint8Array, off: number, end: number): number {
  let i = off;
  while (i + 1 < end && buf[i] === CR && buf[i + 1] === LF) i += 2;
  return i - off;
}

/** Is the version token of the request line "HTTP/d.d" but not 1.0 or 1.1? (→ 505) Bytes only: no string per request. */
function unsupportedVersion(head: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  const start = off + skipEmptyLines(head, off, end);
  let lineEnd = start;
  while (lineEnd + 1 < end && !(head[lineEnd] === CR && head[lineEnd + 1] === LF)) lineEnd++;
  if (lineEnd + 1 >= end) return false;
  let sp = lineEnd - 1;
  while (sp >= start && head[sp] !== 0x20) sp--;
  if (sp < start) return false;
  const i = sp + 1;
  if (lineEnd - i !== 8 || head[i] !== 0x48 || head[i + 1] !== 0x54 || head[i + 2] !== 0x54 || head[i + 3] !== 0x50 || head[i + 4] !== 0x2f) return false;
  const major = head[i + 5]! - 0x30, dot = head[i + 6], minor = head[i + 7]! - 0x30;
  if (dot !== 0x2e || major < 0 || major > 9 || minor < 0 || minor > 9) return false;
  return !(major === 1 && (minor === 0 || minor === 1));
}

function lowerEquals(s: string, word: string): boolean {
  if (s.length !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((s.charCodeAt(i) | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

function join(prev: string | undefined, v: string): string {
  return prev === undefined ? v : `${prev}, ${v}`;
}

/** One llhttp parser (appliance/http/llhttp.ts), reused for every request. destroy() it after. */
export class RequestParser {
  private readonly p = new HeadParser();

  /** Parses the whole head buf[off, off+len) into `out`; returns HEAD_OK, HEAD_BAD or HEAD_VERSION. */
  parse(buf: Buffer, off: number, len: number, out: RequestHead): number {
    out.reset();
    if (unsupportedVersion(buf, off, len)) return HEAD_VERSION;
    const p = this.p;
    const ret = p.execute(p.load(buf, off, len));
    // OK, or paused at an Upgrade (served as a plain request; nothing is upgraded).
    if ((ret !== HPE_OK && ret !== HPE_PAUSED_UPGRADE) || !p.complete || p.tooMany) return HEAD_BAD;
    if (p.major !== 1 || p.minor > 1) return HEAD_VERSION;
    out.method = p.method;
    out.versionMinor = p.minor;
    out.target = p.target();
    out.keepAlive = p.keepAlive;
    let hosts = 0;
    let te: string | undefined;
    for (let i = 0; i < p.count; i++) {
      switch (p.nameLength(i)) {
        case 4:
          if (p.nameIs(i, 'host')) {
            hosts++;
            out.host = p.hostValue(i).trim();
          }
          break;
        case 5:
          if (p.nameIs(i, 'range')) out.range = p.value(i);
          break;
        case 8:
          if (p.nameIs(i, 'if-match')) out.ifMatch = join(out.ifMatch, p.value(i));
          else if (p.nameIs(i, 'if-range')) out.ifRange = p.value(i);
          break;
        case 13:
          if (p.nameIs(i, 'if-none-match')) out.ifNoneMatch = join(out.ifNoneMatch, p.value(i));
          break;
        case 14:
          if (p.nameIs(i, 'content-length')) {
            const n = Number(p.value(i).trim());
            if (!Number.isSafeInteger(n) || n < 0) return HEAD_BAD;
            out.bodyLength = n;
          }
          break;
        case 15:
          if (p.nameIs(i, 'accept-encoding')) out.acceptEncoding = join(out.acceptEncoding, p.value(i));
          break;
        case 17:
          if (p.nameIs(i, 'if-modified-since')) out.ifModifiedSince = p.value(i);
          else if (p.nameIs(i, 'transfer-encoding')) te = join(te, p.value(i));
          break;
        case 19:
          if (p.nameIs(i, 'if-unmodified-since')) out.ifUnmodifiedSince = p.value(i);
          break;
      }
    }
    // RFC 9112 §6.3: a request body is chunked when chunked is the last transfer coding;
    // any other Transfer-Encoding cannot be framed: 400 and close. (llhttp already refuses
    // Transfer-Encoding together with Content-Length, as nginx does.)
    if (te !== undefined) {
      if (!chunkedIsLast(te)) return HEAD_BAD;
      out.bodyLength = BODY_CHUNKED;
    }
    // RFC 9112 §3.2: HTTP/1.1 requires exactly one Host; more than one is always an error.
    if (hosts > 1 || (hosts === 0 && p.minor === 1)) return HEAD_BAD;
    if (out.host !== undefined && !validHost(out.host)) return HEAD_BAD;
    return HEAD_OK;
  }

  destroy(): void {
    this.p.destroy();
  }
}

/** Is "chunked" the last of the comma-separated transfer codings (case-insensitive)? */
function chunkedIsLast(te: string): boolean {
  const comma = te.lastIndexOf(',');
  const last = te.slice(comma + 1).trim();
  const semi = last.indexOf(';');
  return lowerEquals((semi < 0 ? last : last.slice(0, semi)).trim(), 'chunked');
}

/** RFC 3986 host [ ":" port ]: reg-name, IPv4 or an IP literal; empty is allowed for HTTP/1.0. */
function validHost(h: string): boolean {
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x2f || c === 0x5c || c === 0x40 || c === 0x3f || c === 0x23) return false;
  }
  return true;
}
