// Byte ranges: RFC 9110 §14.1.2 (byte-ranges-specifier), §14.2 (Range), §15.3.7 (206),
// §15.5.17 (416).

export const RANGE_NONE = 0; // no usable Range header: send the whole representation
export const RANGE_ONE = 1; // one satisfiable range: 206
export const RANGE_MANY = 2; // several ranges, some satisfiable: sent whole (200), as RFC 9110 allows
export const RANGE_UNSATISFIABLE = 3; // 416

/** Where parseRange puts the range it found (first byte, last byte inclusive). */
export interface RangeOut { first: number; last: number }

const MAX_DIGITS = 15; // stays exact in a double

function digits(s: string, from: number, to: number): number {
  if (from >= to || to - from > MAX_DIGITS) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Classifies a Range header against a representation of `size` bytes. A header in another
 * unit or with a syntax error is ignored (RFC 9110 §14.2: a server MAY ignore it).
 */
export function parseRange(header: string, size: number, out: RangeOut): number {
  let i = 0;
  const len = header.length;
  while (i < len && header.charCodeAt(i) === 0x20) i++;
  if (header.slice(i, i + 6).toLowerCase() !== 'bytes=') return RANGE_NONE;
  i += 6;
  let satisfiable = 0;
  let members = 0;
  while (i <= len) {
    let end = header.indexOf(',', i);
    if (end < 0) end = len;
    let a = i, b = end;
    while (a < b && (header.charCodeAt(a) === 0x20 || header.charCodeAt(a) === 0x09)) a++;
    while (b > a && (header.charCodeAt(b - 1) === 0x20 || header.charCodeAt(b - 1) === 0x09)) b--;
    i = end + 1;
    if (a === b) continue; // empty list elements are allowed
    members++;
    const dash = header.indexOf('-', a);
    if (dash < 0 || dash >= b) return RANGE_NONE;
    let first: number, last: number;
    if (dash === a) {
      // suffix-range: the last N bytes
      const n = digits(header, a + 1, b);
      if (n < 0) return RANGE_NONE;
      if (n === 0 || size === 0) continue;
      first = n >= size ? 0 : size - n;
      last = size - 1;
    } else {
      first = digits(header, a, dash);
      if (first < 0) return RANGE_NONE;
      if (dash + 1 === b) {
        last = size - 1;
      } else {
        last = digits(header, dash + 1, b);
        if (last < 0) return RANGE_NONE;
        if (last < first) continue; // an invalid range (§14.1.1): nginx answers 416, and so do we

        if (last >= size) last = size - 1;
      }
      if (first >= size) continue;
    }
    if (satisfiable === 0) {
      out.first = first;
      out.last = last;
    }
    satisfiable++;
  }
  if (members === 0) return RANGE_NONE;
  if (satisfiable === 0) return RANGE_UNSATISFIABLE;
  return satisfiable === 1 && members === 1 ? RANGE_ONE : RANGE_MANY;
}
