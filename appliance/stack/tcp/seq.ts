// Sequence-number arithmetic (RFC 9293 §3.4): 32-bit numbers on a circle, compared by the
// sign of their difference, so that every comparison works across the 2^32 wrap.

/** b − a as a signed 32-bit distance. */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** lo ≤ x < hi on the circle (an empty range when lo = hi). */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return ((x - lo) >>> 0) < ((hi - lo) >>> 0);
}

/** a + n, wrapped to 32 bits (unsigned). */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
