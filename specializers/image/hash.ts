// The hash the image's lookup tables are built with and probed by at run time.
//
// FNV-1a, 32 bits, over bytes. The DNS variant folds ASCII upper case to lower case while
// hashing, so a query name is hashed as it arrives, without a lower-cased copy.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function hashBytes(bytes: Uint8Array, off: number, len: number): number {
  let h = FNV_OFFSET;
  for (let i = off, end = off + len; i < end; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a over bytes with A-Z folded to a-z (DNS names compare case-insensitively, RFC 4343). */
export function hashBytesFolded(bytes: Uint8Array, off: number, len: number): number {
  let h = FNV_OFFSET;
  for (let i = off, end = off + len; i < end; i++) {
    let c = bytes[i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    h ^= c;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** Table size for n keys: a power of two, at most half full, so probe sequences stay short. */
export function tableSizeFor(n: number): number {
  let size = 8;
  while (size < n * 2) size *= 2;
  return size;
}
