// Byte helpers shared by the build and the runtime.

/** Runs at least this long go through set(subarray()) (a memcpy behind one view's allocation); shorter ones by a loop. */
const COPY_BY_SET = 64;

/** dst[at, at+len) = src[off, off+len): runs of `bySet` bytes or more by set(subarray()), shorter ones by a loop unrolled by four (where the view costs more). */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, off: number, len: number, bySet = COPY_BY_SET): void {
  if (len >= bySet) {
    dst.set(src.subarray(off, off + len), at);
    return;
  }
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    dst[at + i] = src[off + i]!;
    dst[at + i + 1] = src[off + i + 1]!;
    dst[at + i + 2] = src[off + i + 2]!;
    dst[at + i + 3] = src[off + i + 3]!;
  }
  for (; i < len; i++) dst[at + i] = src[off + i]!;
}
