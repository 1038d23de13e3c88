// Presentation-format codecs shared by the RDATA parser and printer: numbers, TTLs with
// units, addresses, character-strings, base64, base32hex, hex, RRSIG times.
//
// Read first: RFC 1035 §5.1 (character-strings and escapes), RFC 2308 §4 and BIND's TTL
// units (s, m, h, d, w), RFC 4291 §2.2 and RFC 5952 (IPv6 text), RFC 4648 §4 and §7
// (base64, base32hex), RFC 4034 §3.2 (signature times).
//
// Parsers read bytes in [start, end) and write wire octets into `out`; they throw
// TextFormatError with a message meant for the person who wrote the zone file.

import { TextFormatError, decimalEscape } from './dns-name.js';
import { latin1 } from './zone-lexer.js';

export const MAX_TTL = 0x7fffffff; // RFC 2181 §8

/** An unsigned decimal in buf[start, end) no larger than max; -1 if it is not one. */
export function decimal(buf: Uint8Array, start: number, end: number, max: number): number {
  if (start === end || end - start > 10) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n > max ? -1 : n;
}

/**
 * A TTL or period: seconds, or numbers with units s/m/h/d/w in any case (`1h30m`, `2w`,
 * `1h30` meaning 1h plus 30 s, as NSD reads it). -1 if malformed; the value may exceed
 * MAX_TTL (the caller decides), up to 2^32 - 1.
 */
export function period(buf: Uint8Array, start: number, end: number): number {
  if (start === end) return -1;
  let total = 0;
  let n = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    const d = c - 48;
    if (d >= 0 && d <= 9) {
      n = n * 10 + d;
      digits++;
      if (digits > 10) return -1;
      continue;
    }
    if (digits === 0) return -1;
    let mult: number;
    switch (c | 0x20) {
      case 0x73: mult = 1; break;          // s
      case 0x6d: mult = 60; break;         // m
      case 0x68: mult = 3600; break;       // h
      case 0x64: mult = 86400; break;      // d
      case 0x77: mult = 604800; break;     // w
      default: return -1;
    }
    total += n * mult;
    n = 0;
    digits = 0;
  }
  total += n;
  return total > 0xffffffff ? -1 : total;
}

/** Writes 4 octets of a dotted-quad IPv4 address; false if malformed (no leading zeros). */
export function parseIPv4(buf: Uint8Array, start: number, end: number, out: Uint8Array, pos: number): boolean {
  let part = 0;
  let i = start;
  while (part < 4) {
    const s = i;
    let v = 0;
    while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
      v = v * 10 + buf[i]! - 48;
      i++;
    }
    const len = i - s;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && buf[s] === 0x30)) return false;
    out[pos + part] = v;
    part++;
    if (part < 4) {
      if (i >= end || buf[i] !== 0x2e) return false;
      i++;
    }
  }
  return i === end;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

const V6_GROUPS = new Int32Array(10);
const V4_TMP = new Uint8Array(4);

/** Writes 16 octets of an IPv6 address (RFC 4291 §2.2 forms 1–3); false if malformed. */
export function parseIPv6(buf: Uint8Array, start: number, end: number, out: Uint8Array, pos: number): boolean {
  const groups = V6_GROUPS;
  let ng = 0;
  let gap = -1;
  let i = start;
  if (end - start < 2) return false;
  if (buf[i] === 0x3a) {
    if (buf[i + 1] !== 0x3a) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      out.fill(0, pos, pos + 16);
      return true;
    }
  }
  for (;;) {
    // A group, or an embedded IPv4 address in the last 32 bits.
    const s = i;
    let v = 0;
    while (i < end && i - s < 5) {
      const h = hexValue(buf[i]!);
      if (h < 0) break;
      v = (v << 4) | h;
      i++;
    }
    if (i < end && buf[i] === 0x2e) {
      if (ng > 6) return false;
      if (!parseIPv4(buf, s, end, V4_TMP, 0)) return false;
      groups[ng++] = (V4_TMP[0]! << 8) | V4_TMP[1]!;
      groups[ng++] = (V4_TMP[2]! << 8) | V4_TMP[3]!;
      break;
    }
    if (i === s || i - s > 4 || ng === 8) return false;
    groups[ng++] = v;
    if (i === end) break;
    if (buf[i] !== 0x3a) return false;
    i++;
    if (i < end && buf[i] === 0x3a) {
      if (gap >= 0) return false;
      gap = ng;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0 ? ng !== 8 : ng > 7) return false;
  const zeros = 8 - ng;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    const v = gap >= 0 && k >= gap && k < gap + zeros ? 0 : groups[g++]!;
    out[pos + 2 * k] = v >> 8;
    out[pos + 2 * k + 1] = v & 0xff;
  }
  return true;
}

export function formatIPv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run of 2+ zero groups as `::`. */
export function formatIPv6(b: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let k = 0; k < 8; k++) g.push((b[off + 2 * k]! << 8) | b[off + 2 * k + 1]!);
  let bestStart = -1, bestLen = 0;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) { k++; continue; }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen && e - k >= 2) { bestStart = k; bestLen = e - k; }
    k = e;
  }
  const hex = (k: number): string => g[k]!.toString(16);
  if (bestStart < 0) return g.map((_, k) => hex(k)).join(':');
  const head = g.slice(0, bestStart).map((_, k) => hex(k)).join(':');
  const tail = g.slice(bestStart + bestLen).map((_, k) => hex(bestStart + bestLen + k)).join(':');
  return `${head}::${tail}`;
}

/**
 * Decodes the character-string in buf[start, end) (escapes processed) into out at pos;
 * returns the position after it. No length limit here: callers check 255 where it applies.
 */
export function decodeText(buf: Uint8Array, start: number, end: number, out: Uint8Array, pos: number): number {
  for (let i = start; i < end; i++) {
    let c = buf[i]!;
    if (c === 0x5c) {
      i++;
      if (i >= end) throw new TextFormatError('text ends in a lone backslash');
      c = buf[i]!;
      if (c >= 0x30 && c <= 0x39) {
        const v = decimalEscape(buf, i, end);
        if (v < 0) throw new TextFormatError(`bad escape '\\${latin1(buf, i, Math.min(end, i + 3))}' in text (use \\DDD with DDD at most 255)`);
        c = v;
        i += 2;
      }
    }
    out[pos++] = c;
  }
  return pos;
}

/** Presentation of a string of octets: quoted, with `"` and `\` escaped, others as \DDD. */
export function quoteText(b: Uint8Array, start: number, end: number): string {
  let s = '"';
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0x22 || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c < 0x20 || c >= 0x7f) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s + '"';
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/**
 * Incremental base64 decoder over several tokens (RFC 4034 allows blanks inside): feed()
 * each token, then finish(). Strict: padding only at the very end, total a multiple of 4.
 */
export class Base64Decoder {
  private acc = 0;
  private bits = 0;
  private chars = 0;
  private pad = 0;
  pos = 0;

  reset(pos: number): void {
    this.acc = 0;
    this.bits = 0;
    this.chars = 0;
    this.pad = 0;
    this.pos = pos;
  }

  feed(buf: Uint8Array, start: number, end: number, out: Uint8Array): void {
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c === 0x3d) {
        this.pad++;
        this.chars++;
        if (this.pad > 2) throw new TextFormatError('bad base64: too much padding');
        continue;
      }
      const v = B64_VALUE[c]!;
      if (v < 0) throw new TextFormatError(`bad base64: unexpected character '${String.fromCharCode(c)}'`);
      if (this.pad > 0) throw new TextFormatError("bad base64: data after '=' padding");
      this.acc = ((this.acc << 6) | v) & 0xffffff;
      this.bits += 6;
      this.chars++;
      if (this.bits >= 8) {
        this.bits -= 8;
        out[this.pos++] = (this.acc >> this.bits) & 0xff;
      }
    }
  }

  finish(): number {
    if (this.chars % 4 !== 0) throw new TextFormatError('bad base64: length is not a multiple of 4 (missing padding?)');
    if ((this.pad === 1 && this.bits !== 2) || (this.pad === 2 && this.bits !== 4)) {
      throw new TextFormatError('bad base64: padding does not match the data');
    }
    if ((this.acc & ((1 << this.bits) - 1)) !== 0) throw new TextFormatError('bad base64: non-zero bits in the last character');
    return this.pos;
  }
}

export function encodeBase64(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('base64');
}

/** Decodes hex digits of buf[start, end) into out; `half` carries an odd nibble over tokens. */
export class HexDecoder {
  pos = 0;
  private nibble = -1;

  reset(pos: number): void {
    this.pos = pos;
    this.nibble = -1;
  }

  feed(buf: Uint8Array, start: number, end: number, out: Uint8Array): void {
    for (let i = start; i < end; i++) {
      const v = hexValue(buf[i]!);
      if (v < 0) throw new TextFormatError(`bad hex digit '${String.fromCharCode(buf[i]!)}'`);
      if (this.nibble < 0) this.nibble = v;
      else {
        out[this.pos++] = (this.nibble << 4) | v;
        this.nibble = -1;
      }
    }
  }

  finish(): number {
    if (this.nibble >= 0) throw new TextFormatError('odd number of hex digits');
    return this.pos;
  }
}

export function encodeHex(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

const B32HEX = '0123456789abcdefghijklmnopqrstuv';

/** RFC 4648 §7 without padding, case-insensitive; returns the new position. */
export function decodeBase32Hex(buf: Uint8Array, start: number, end: number, out: Uint8Array, pos: number): number {
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    let v: number;
    if (c >= 0x30 && c <= 0x39) v = c - 0x30;
    else if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x76) v = (c | 0x20) - 0x61 + 10;
    else throw new TextFormatError(`bad base32hex character '${String.fromCharCode(c)}'`);
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = (acc >> bits) & 0xff;
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) throw new TextFormatError('bad base32hex length or trailing bits');
  return pos;
}

export function encodeBase32Hex(b: Uint8Array, start: number, end: number): string {
  let s = '';
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    acc = ((acc << 8) | b[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += B32HEX[(acc >> bits) & 31];
    }
  }
  if (bits > 0) s += B32HEX[(acc << (5 - bits)) & 31];
  return s;
}

/**
 * An RRSIG time: YYYYMMDDHHmmSS (UTC, taken modulo 2^32 per RFC 4034 §3.1.5) or a plain
 * number of seconds. -1 if malformed.
 */
export function parseSigTime(buf: Uint8Array, start: number, end: number): number {
  if (end - start === 14) {
    const d = (i: number, n: number): number => decimal(buf, start + i, start + i + n, 9999);
    const y = d(0, 4), mo = d(4, 2), da = d(6, 2), h = d(8, 2), mi = d(10, 2), s = d(12, 2);
    if (y < 1970 || mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 || s > 60) return -1;
    const ms = Date.UTC(y, mo - 1, da, h, mi, s);
    if (new Date(ms).getUTCDate() !== da) return -1;
    return (ms / 1000) % 0x100000000;
  }
  return decimal(buf, start, end, 0xffffffff);
}

export function formatSigTime(t: number): string {
  const dt = new Date(t * 1000);
  const p = (n: number, w: number): string => String(n).padStart(w, '0');
  return p(dt.getUTCFullYear(), 4) + p(dt.getUTCMonth() + 1, 2) + p(dt.getUTCDate(), 2) +
    p(dt.getUTCHours(), 2) + p(dt.getUTCMinutes(), 2) + p(dt.getUTCSeconds(), 2);
}
