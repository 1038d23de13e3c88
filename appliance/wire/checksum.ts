// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update).
//
// Sums are kept "partial": the 16-bit one's-complement sum of the bytes, folded, not yet
// inverted. A partial sum of a span that starts at an odd offset inside a segment must be
// byte-swapped before it is added (RFC 1071 §2(B)); templates store sums of spans that
// start at even offsets, so the stack only adds.

/** One's-complement sum of bytes[off, off+len), folded to 16 bits (not inverted). */
export function partialSum(bytes: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len;
  let i = off;
  // Pairs of bytes as big-endian words; 32-bit accumulator folded often enough to never overflow.
  const evenEnd = end - ((end - i) & 1);
  while (i < evenEnd) {
    sum += (bytes[i]! << 8) | bytes[i + 1]!;
    i += 2;
    if (sum > 0x7fff0000) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < end) sum += bytes[i]! << 8;
  return fold(sum);
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
