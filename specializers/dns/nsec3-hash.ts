// The NSEC3 owner hash (RFC 5155 §5): IH(salt, x, 0) = H(x || salt), IH(salt, x, k) =
// H(IH(salt, x, k-1) || salt), H = SHA-1 (hash algorithm 1, the only one defined), x the
// name in canonical wire form (lower case, RFC 4034 §6.2). Used by the build (the proofs
// it lays out) and by the responder (the next closer name of a query, at run time).

import { createHash } from 'node:crypto';

/** NSEC3 hash algorithm 1 (RFC 5155 §11). */
export const NSEC3_SHA1 = 1;
export const NSEC3_HASH_LEN = 20;

/**
 * The hash of the lower-cased wire name name[off, off+len) into out[0, 20). node:crypto
 * rather than a SHA-1 of our own: it is the one every Node has, and it is checked.
 */
export function nsec3Hash(name: Uint8Array, off: number, len: number, salt: Uint8Array, iterations: number, out: Uint8Array): void {
  let d = createHash('sha1').update(name.subarray(off, off + len)).update(salt).digest();
  for (let k = 0; k < iterations; k++) d = createHash('sha1').update(d).update(salt).digest();
  out.set(d, 0);
}

const B32HEX = '0123456789abcdefghijklmnopqrstuv';

/** The raw hash a base32hex label (RFC 4648 §7, no padding, any case) stands for, or null. */
export function base32hexDecode(label: Uint8Array, off: number, len: number): Uint8Array | null {
  const out = new Uint8Array(Math.floor((len * 5) / 8));
  let acc = 0, bits = 0, o = 0;
  for (let i = 0; i < len; i++) {
    let c = label[off + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    const v = B32HEX.indexOf(String.fromCharCode(c));
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** Lexicographic order of two byte strings (a shorter prefix first). */
export function compareBytes(a: Uint8Array, aOff: number, aLen: number, b: Uint8Array, bOff: number, bLen: number): number {
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/**
 * RFC 4034 §6.1 canonical order of two lower-cased wire names (uncompressed): labels
 * compared from the root, each as an octet string. `la` and `lb` receive label starts.
 */
export function canonicalCompare(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, la: Int32Array, lb: Int32Array): number {
  let na = 0, nb = 0;
  for (let i = aOff; a[i] !== 0; i += a[i]! + 1) la[na++] = i;
  for (let i = bOff; b[i] !== 0; i += b[i]! + 1) lb[nb++] = i;
  return canonicalCompareLabels(a, la, na, b, lb, nb);
}

/** canonicalCompare() over label starts already found: a's labels la[0, na), b's lb[0, nb). */
export function canonicalCompareLabels(a: Uint8Array, la: Int32Array, na: number, b: Uint8Array, lb: Int32Array, nb: number): number {
  let i = na - 1, j = nb - 1;
  while (i >= 0 && j >= 0) {
    const d = compareBytes(a, la[i]! + 1, a[la[i]!]!, b, lb[j]! + 1, b[lb[j]!]!);
    if (d !== 0) return d;
    i--;
    j--;
  }
  return i - j;
}
