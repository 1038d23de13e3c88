// Content-coding negotiation: RFC 9110 §12.5.3 (Accept-Encoding), §12.4.2 (quality values).

import { ENC_BR, ENC_GZIP, ENC_IDENTITY } from '../../specializers/http/layout.js';

/** Bit per encoding a resource has a variant in: 1 << ENC_*. */
export type EncodingSet = number;

/** Parses a qvalue ("1", "0.5", "0.000"); NaN when malformed. */
function qvalue(s: string, from: number, to: number): number {
  while (from < to && (s.charCodeAt(from) === 0x20 || s.charCodeAt(from) === 0x09)) from++;
  while (to > from && (s.charCodeAt(to - 1) === 0x20 || s.charCodeAt(to - 1) === 0x09)) to--;
  if (from === to) return NaN;
  const c0 = s.charCodeAt(from);
  if (c0 !== 0x30 && c0 !== 0x31) return NaN;
  let v = c0 - 0x30;
  if (from + 1 === to) return v;
  if (s.charCodeAt(from + 1) !== 0x2e || to - from > 5) return NaN;
  let scale = 0.1;
  for (let i = from + 2; i < to; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return NaN;
    v += d * scale;
    scale /= 10;
  }
  return v > 1 ? NaN : v;
}

function lowerEq(s: string, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((s.charCodeAt(from + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The encoding to send, given the Accept-Encoding header and the variants that exist.
 * No header means identity. A coding gets its own q, else the q of "*", else 0; identity
 * gets its own q, else the q of "*", else the lowest q that is not 0 (RFC 9110 §12.5.3). Highest q wins; on a tie
 * the smaller variant (br, then gzip) wins. When nothing is acceptable, identity is sent
 * anyway (as nginx does) rather than 406.
 */
export function chooseEncoding(header: string | undefined, available: EncodingSet): number {
  if (header === undefined || available === 1 << ENC_IDENTITY) return ENC_IDENTITY;
  let qBr = -1, qGzip = -1, qIdentity = -1, qStar = -1;
  const len = header.length;
  let i = 0;
  while (i < len) {
    let end = header.indexOf(',', i);
    if (end < 0) end = len;
    // token [; q=value]
    let a = i;
    while (a < end && (header.charCodeAt(a) === 0x20 || header.charCodeAt(a) === 0x09)) a++;
    let b = a;
    while (b < end) {
      const c = header.charCodeAt(b);
      if (c === 0x3b || c === 0x20 || c === 0x09) break;
      b++;
    }
    let q = 1;
    const semi = header.indexOf(';', b);
    if (semi >= 0 && semi < end) {
      let p = semi + 1;
      while (p < end && (header.charCodeAt(p) === 0x20 || header.charCodeAt(p) === 0x09)) p++;
      if (p + 1 < end && (header.charCodeAt(p) | 0x20) === 0x71 && header.charCodeAt(p + 1) === 0x3d) {
        q = qvalue(header, p + 2, end);
      } else {
        q = NaN;
      }
    }
    if (q === q && b > a) {
      if (lowerEq(header, a, b, 'br')) qBr = q;
      else if (lowerEq(header, a, b, 'gzip') || lowerEq(header, a, b, 'x-gzip')) qGzip = q;
      else if (lowerEq(header, a, b, 'identity')) qIdentity = q;
      else if (b - a === 1 && header.charCodeAt(a) === 0x2a) qStar = q;
    }
    i = end + 1;
  }
  if (qBr < 0) qBr = qStar >= 0 ? qStar : 0;
  if (qGzip < 0) qGzip = qStar >= 0 ? qStar : 0;
  // Identity is acceptable unless excluded, but as the fallback: a client that names a
  // coding with any q > 0 and says nothing of identity wants that coding.
  if (qIdentity < 0) qIdentity = qStar >= 0 ? qStar : 0.0001;
  if (!(available & (1 << ENC_BR))) qBr = 0;
  if (!(available & (1 << ENC_GZIP))) qGzip = 0;
  if (qBr > 0 && qBr >= qGzip && qBr >= qIdentity) return ENC_BR;
  if (qGzip > 0 && qGzip >= qIdentity) return ENC_GZIP;
  return ENC_IDENTITY;
}
