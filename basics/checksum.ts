// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update).
//
// Sums are kept "partial": the 16-bit one's-complement sum of the bytes, folded, not yet
// inverted. A partial sum of a span that starts at an odd offset inside a segment must be
// byte-swapped before it is added (RFC 1071 §2(B)); templates store sums of spans that
// start at even offsets, so the stack only adds.

/**
 * One's-complement sum of bytes[off, off+len), folded to 16 bits (not inverted).
 *
 * The high and low bytes of the 16-bit words are summed apart (`hi` gets bytes at even
 * offsets from `off`, `lo` the odd ones) and combined once at the end: no shift or OR per
 * word, eight bytes per turn of the loop. Each accumulator grows by at most 255 × 4 per
 * turn, so a span of up to ~8 MB cannot lose a carry before the final fold.
 */
export function partialSum(bytes: Uint8Array, off: number, len: number, initial = 0): number {
  let hi = 0;
  let lo = 0;
  let i = off;
  const end = off + len;
  const end8 = end - ((end - off) & 7);
  while (i < end8) {
    hi += bytes[i]! + bytes[i + 2]! + bytes[i + 4]! + bytes[i + 6]!;
    lo += bytes[i + 1]! + bytes[i + 3]! + bytes[i + 5]! + bytes[i + 7]!;
    i += 8;
  }
  while (i + 1 < end) {
    hi += bytes[i]!;
    lo += bytes[i + 1]!;
    i += 2;
  }
  if (i < end) hi += bytes[i]!;
  // hi * 256 + lo stays below 2^31 for any span a frame or an image segment holds.
  return fold(fold(hi * 256 + lo) + initial);
}

/** Folds carries of a 32-bit accumulator into 16 bits. */
export function fold(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** One's-complement addition of two partial sums. */
export function addSums(a: number, b: number): number {
  return fold(a + b);
}

/** The sum of a span that started at an odd offset, as seen from an even one. */
export function swapSum(sum: number): number {
  return ((sum & 0xff) << 8) | (sum >>> 8);
}

/** The value to write into a checksum field: the inverted sum. (UDP's 0 → 0xffff rule, RFC 768, is the caller's.) */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/**
 * RFC 1624 eqn. 3: the new checksum field HC' = ~(~HC + ~m + m'), for one 16-bit word m → m'.
 * Works on partial sums too: pass sums in and get the updated sum out with `updateSum`.
 */
export function updateSum(sum: number, oldWord: number, newWord: number): number {
  return fold(sum + (~oldWord & 0xffff) + newWord);
}
