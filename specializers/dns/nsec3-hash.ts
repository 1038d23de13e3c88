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

/**
 * SHA-1 (FIPS 180-4) for the responder's NSEC3 hashes, with no allocation per call: a
 * query's next closer name is hashed on the hot path, where node:crypto's createHash()
 * and its digests cost about 7 µs an answer (measured by `appliance bench dns --signed`)
 * against well under one for this. Checked against node:crypto in
 * test/specializers/dns/nsec3-hash.test.ts.
 */
const K3 = 0x8f1bbcdc | 0;
const K4 = 0xca62c1d6 | 0;

export class Sha1 {
  private readonly w = new Int32Array(80); // signed: every value stays a small integer to the JIT
  private readonly block = new Uint8Array(64);
  private readonly msg = new Uint8Array(1024);
  private h0 = 0; private h1 = 0; private h2 = 0; private h3 = 0; private h4 = 0;

  /** The NSEC3 hash of a[aOff, aOff+aLen) (IH of RFC 5155 §5) into out[0, 20). */
  nsec3(a: Uint8Array, aOff: number, aLen: number, salt: Uint8Array, saltOff: number, saltLen: number, iterations: number, out: Uint8Array): void {
    const m = this.msg;
    for (let i = 0; i < aLen; i++) m[i] = a[aOff + i]!;
    for (let i = 0; i < saltLen; i++) m[aLen + i] = salt[saltOff + i]!;
    this.digest(m, aLen + saltLen, out);
    for (let k = 0; k < iterations; k++) {
      for (let i = 0; i < 20; i++) m[i] = out[i]!;
      for (let i = 0; i < saltLen; i++) m[20 + i] = salt[saltOff + i]!;
      this.digest(m, 20 + saltLen, out);
    }
  }

  /** SHA-1 of m[0, len) (len < 1016) into out[0, 20). */
  digest(m: Uint8Array, len: number, out: Uint8Array): void {
    // Every constant as a signed 32-bit integer (| 0): a value above 2^31 would be a double to the JIT, and the rounds with it.
    this.h0 = 0x67452301; this.h1 = 0xefcdab89 | 0; this.h2 = 0x98badcfe | 0; this.h3 = 0x10325476; this.h4 = 0xc3d2e1f0 | 0;
    const b = this.block;
    let off = 0;
    for (; off + 64 <= len; off += 64) this.compress(m, off);
    // The last block(s): the rest, 0x80, zeros, the length in bits (64-bit big-endian).
    const rest = len - off;
    for (let i = 0; i < rest; i++) b[i] = m[off + i]!;
    b[rest] = 0x80;
    for (let i = rest + 1; i < 64; i++) b[i] = 0;
    if (rest >= 56) {
      this.compress(b, 0);
      b.fill(0);
    }
    const bits = len * 8;
    b[60] = (bits >>> 24) & 0xff; b[61] = (bits >>> 16) & 0xff; b[62] = (bits >>> 8) & 0xff; b[63] = bits & 0xff;
    b[56] = b[57] = b[58] = b[59] = 0;
    this.compress(b, 0);
    put(out, 0, this.h0); put(out, 4, this.h1); put(out, 8, this.h2); put(out, 12, this.h3); put(out, 16, this.h4);
  }

  private compress(m: Uint8Array, off: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) {
      const p = off + i * 4;
      w[i] = (m[p]! << 24) | (m[p + 1]! << 16) | (m[p + 2]! << 8) | m[p + 3]!;
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!;
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = this.h0, b = this.h1, c = this.h2, d = this.h3, e = this.h4, t = 0;
    // The four rounds of twenty apart: no branch per step.
    for (let i = 0; i < 20; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]!) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 20; i < 40; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]!) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 40; i < 60; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + K3 + w[i]!) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 60; i < 80; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + K4 + w[i]!) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    this.h0 = (this.h0 + a) | 0; this.h1 = (this.h1 + b) | 0; this.h2 = (this.h2 + c) | 0; this.h3 = (this.h3 + d) | 0; this.h4 = (this.h4 + e) | 0;
  }
}

function put(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24; out[at + 1] = (v >>> 16) & 0xff; out[at + 2] = (v >>> 8) & 0xff; out[at + 3] = v & 0xff;
}
