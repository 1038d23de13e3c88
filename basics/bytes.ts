// Byte helpers shared by the build and the runtime.

/** dst[at, at+len) = src[off, off+len) by a loop unrolled by four: for the short runs where set(subarray()) costs more (it allocates a view). */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, off: number, len: number): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    dst[at + i] = src[off + i]!;
    dst[at + i + 1] = src[off + i + 1]!;
    dst[at + i + 2] = src[off + i + 2]!;
    dst[at + i + 3] = src[off + i + 3]!;
  }
  for (; i < len; i++) dst[at + i] = src[off + i]!;
}
