// HalfSipHash (Aumasson and Bernstein's SipHash on 32-bit words, as the Linux kernel uses
// for its hash tables and, with SipHash, for TCP ISNs and SYN cookies): a keyed hash of a
// few 32-bit words, in plain 32-bit JavaScript arithmetic. c-d = 2-4 where an attacker
// must not guess the output (initial sequence numbers, SYN cookies); 1-3 for hash tables.

export class HalfSipHash {
  private v0 = 0;
  private v1 = 0;
  private v2 = 0;
  private v3 = 0;
  private n = 0;

  /** A 64-bit key as two words. */
  constructor(private readonly k0: number, private readonly k1: number, private readonly c = 2, private readonly d = 4) {}

  begin(): this {
    this.v0 = this.k0 | 0;
    this.v1 = this.k1 | 0;
    this.v2 = (0x6c796765 ^ this.k0) | 0;
    this.v3 = (0x74656462 ^ this.k1) | 0;
    this.n = 0;
    return this;
  }

  word(m: number): this {
    this.v3 ^= m;
    for (let i = 0; i < this.c; i++) this.round();
    this.v0 ^= m;
    this.n++;
    return this;
  }

  /** The 32-bit hash of the words given since begin(). */
  end(): number {
    const b = (this.n * 4) << 24;
    this.v3 ^= b;
    for (let i = 0; i < this.c; i++) this.round();
    this.v0 ^= b;
    this.v2 ^= 0xff;
    for (let i = 0; i < this.d; i++) this.round();
    return (this.v1 ^ this.v3) >>> 0;
  }

  private round(): void {
    let v0 = this.v0, v1 = this.v1, v2 = this.v2, v3 = this.v3;
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    this.v0 = v0; this.v1 = v1; this.v2 = v2; this.v3 = v3;
  }
}
