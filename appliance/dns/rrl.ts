// DNS Response Rate Limiting (RRL) for UDP answers, with NSD's defaults and semantics.
//
// Read first: NSD 4.6 rrl.c and rrl.h (the rate arithmetic, the classes, the key), nsd.conf(5)
// (rrl-ratelimit, rrl-slip, rrl-ipv4-prefix-length, rrl-ipv6-prefix-length, rrl-whitelist,
// rrl-whitelist-ratelimit, rrl-size); Vixie and Schryver, "DNS Response Rate Limiting" (the
// idea: limit identical responses to one netblock, send some of the limited ones truncated
// so that a real client retries over TCP); RFC 5358 (reflectors); RFC 7766 §9 (TCP).
//
// What is limited: a UDP answer, after the responder has written it. The transport asks
// decide() with the client's address, the class of the answer and the hash of the name
// that class is about (both from the responder: DnsResponder.rrlClass and .rrlName) and
// sends the answer (RRL_SEND), nothing (RRL_DROP) or the answer cut to its header and
// question, TC=1 (RRL_SLIP: DnsResponder.slip()). TCP answers are never limited (the
// source address of a TCP query is not spoofed), as NSD.
//
// The key of a bucket, as NSD's examine_query(): the client's prefix (IPv4 /24, IPv6 /56
// by default), the class with an IPv6 flag, and the name: the query name for positive,
// ANY, RRSIG and DNSKEY answers; the zone's apex for NXDOMAIN, NODATA and errors; the
// delegation point for referrals; the wildcard (*.closest-encloser) for wildcard answers.
// NSD hashes those bytes with lookup3; here the responder gives a 30-bit hash of the name
// (FNV-1a of the lower-cased wire name, the one the image's name table uses, so the name
// costs nothing more for most answers; RRL_NAME_MASK) and the key words are hashed
// together under a secret 64-bit key (HalfSipHash-1-3, as the Linux kernel's hsiphash), so
// that nobody outside can aim keys at one bucket to push a busy one out. The name hash is
// not keyed: names whose hashes collide share a bucket for one prefix and class, which only
// limits that prefix sooner, and whoever can spoof a prefix can fill its buckets anyway.
//
// The table: a fixed number of buckets (a power of two) in one Int32Array, allocated once,
// eight words per bucket (32 bytes: a 64-byte cache line holds two). A bucket belongs to the
// last key that hashed to it: a newer key takes it over (counted: `rrl_replaced`), as in
// NSD. No allocation per query, no objects per bucket.
//
//   word  0      1      2      3       4      5        6       7
//       ┌──────┬──────┬──────┬───────┬──────┬────────┬───────┬──────┐
//       │ hash │ src0 │ src1 │ flags │ rate │ counter│ stamp │  —   │
//       └──────┴──────┴──────┴───────┴──────┴────────┴───────┴──────┘
//   hash   the full keyed hash (the slot is its low bits)
//   src0/1 the client's prefix: IPv4 in src0; IPv6's first 64 bits in src0, src1
//   flags  the class | RRL_IP6 for IPv6; 0 = an empty bucket
//   rate   NSD's smoothed rate, in "two per second" units: r(t) = r(t-1)/2 + count(t-1)
//   counter responses in the second `stamp`, limited ones included (as NSD)
//   stamp  the second of `counter` (int32, compared with circular arithmetic, as NSD's)
//   (the eighth word is spare: it keeps a bucket at 32 bytes)
//
// Time is passed in, in whole seconds (as NSD counts, with time(NULL)); nothing here reads
// a clock. Seconds and name hashes are small integers on purpose: a number that is not one
// (a millisecond clock, a hash above 2^30) is boxed in a heap object when it is passed to a
// call V8 does not inline, one allocation per answer (scripts/bench-rrl.ts counts the GCs).

import { randomFillSync } from 'node:crypto';
import { UsageError } from '../../basics/errors.js';

/** decide(): send the answer as it is. */
export const RRL_SEND = 0;
/** decide(): send nothing. */
export const RRL_DROP = 1;
/** decide(): send the answer truncated (DnsResponder.slip()): TC=1, no records. */
export const RRL_SLIP = 2;

/** Address families for decide(): the number of the IP version. */
export const FAMILY_IPV4 = 4;
export const FAMILY_IPV6 = 6;

// The classes, with NSD's values (rrl.h, enum rrl_type): each class of answer to one
// netblock is limited apart, so that a flood of one kind does not stop the others.
/** No class: the responder did not classify (a TCP answer, a dropped query). Never limited. */
export const RRL_NONE = 0;
export const RRL_NXDOMAIN = 0x01;
export const RRL_ERROR = 0x02;
export const RRL_REFERRAL = 0x04;
export const RRL_ANY = 0x08;
export const RRL_WILDCARD = 0x10;
export const RRL_NODATA = 0x20;
export const RRL_DNSKEY = 0x40;
export const RRL_POSITIVE = 0x80;
export const RRL_RRSIG = 0x100;
export const RRL_ALL = 0x1ff;
/** The bits of a name hash RRL uses (DnsResponder.rrlName): a small integer in V8 (a Smi). */
export const RRL_NAME_MASK = 0x3fffffff;
/** Set in a bucket's flags for an IPv6 prefix: the two families never share a bucket (NSD's rrl_ip6). */
const RRL_IP6 = 0x8000;

/** The class names NSD logs and its config takes (rrl-whitelist). */
export function rrlClassName(cls: number): string {
  switch (cls) {
    case RRL_NXDOMAIN: return 'nxdomain';
    case RRL_ERROR: return 'error';
    case RRL_REFERRAL: return 'referral';
    case RRL_ANY: return 'any';
    case RRL_WILDCARD: return 'wildcard';
    case RRL_NODATA: return 'nodata';
    case RRL_DNSKEY: return 'dnskey';
    case RRL_POSITIVE: return 'positive';
    case RRL_RRSIG: return 'rrsig';
    default: return 'none';
  }
}

/** The mask of the classes named, as nsd.conf's rrl-whitelist takes them ("all" for every class). */
export function rrlClassMask(names: readonly string[]): number {
  let m = 0;
  for (const n of names) {
    const c = n === 'all' ? RRL_ALL : CLASS_BY_NAME.get(n);
    if (c === undefined) throw new UsageError(`RRL: unknown response class "${n}" (use one of ${[...CLASS_BY_NAME.keys()].join(', ')}, all)`);
    m |= c;
  }
  return m;
}
const CLASS_BY_NAME = new Map([RRL_NXDOMAIN, RRL_ERROR, RRL_REFERRAL, RRL_ANY, RRL_WILDCARD, RRL_NODATA, RRL_DNSKEY, RRL_POSITIVE, RRL_RRSIG].map((c) => [rrlClassName(c), c]));

export interface RrlOptions {
  /** Responses per second per bucket (NSD rrl-ratelimit); 0 turns limiting off. */
  rate?: number;
  /** One limited response in `slip` goes out truncated, at random (NSD rrl-slip); 0: none, 1: all. */
  slip?: number;
  /** The client prefix that shares a bucket (NSD rrl-ipv4-prefix-length), 0–32. */
  ipv4PrefixLen?: number;
  /** The same for IPv6 (NSD rrl-ipv6-prefix-length), 0–64 as in NSD. */
  ipv6PrefixLen?: number;
  /** Buckets, rounded up to a power of two (NSD rrl-size). */
  size?: number;
  /** Client prefixes never limited ("198.18.0.0/15", "2001:db8::/32", or one address). */
  exempt?: readonly string[];
  /** Classes limited at whitelistRate instead of rate (NSD rrl-whitelist, here for every zone). */
  whitelistClasses?: number;
  /** NSD rrl-whitelist-ratelimit, responses per second. */
  whitelistRate?: number;
  /** The 64-bit hash key as two 32-bit words; random when not given (tests fix it). */
  key?: readonly [number, number];
  /** The seed of the slip's random numbers (xorshift32, not 0); random when not given. */
  seed?: number;
}

/**
 * NSD 4.6's defaults (rrl.h, options.c) but for the IPv6 prefix: rrl-ratelimit 200,
 * rrl-slip 2, rrl-ipv4-prefix-length 24, rrl-whitelist-ratelimit 2000, rrl-size 1000000
 * (here 2^20). NSD's rrl-ipv6-prefix-length is 64; 56 is Knot's and BIND's, and what one
 * end site is usually given (RFC 6177), so that one site cannot spread a flood over 256
 * buckets. `ipv6PrefixLen: 64` is NSD's behaviour.
 */
export const RRL_DEFAULTS = {
  rate: 200,
  slip: 2,
  ipv4PrefixLen: 24,
  ipv6PrefixLen: 56,
  size: 1 << 20,
  whitelistRate: 2000,
} as const;

/** Counters, by name; indexes into a Float64Array (a worker's slice, as the responder's). */
export const C_RRL_CHECKED = 0; // answers decide() was asked about
export const C_RRL_DROPPED = 1; // limited, not sent
export const C_RRL_SLIPPED = 2; // limited, sent truncated
export const C_RRL_EXEMPT = 3; // from an exempt prefix: never limited
export const C_RRL_REPLACED = 4; // a bucket taken over by another key
export const RRL_COUNTERS = 5;
export const RRL_COUNTER_NAMES = ['rrl_checked', 'rrl_dropped', 'rrl_slipped', 'rrl_exempt', 'rrl_replaced'];

const STRIDE = 8;
const B_HASH = 0;
const B_SRC0 = 1;
const B_SRC1 = 2;
const B_FLAGS = 3;
const B_RATE = 4;
const B_COUNTER = 5;
const B_STAMP = 6;
const MAX_SIZE = 1 << 26;

/** An exempt prefix: family, address words, mask words. */
const X_WORDS = 9;

export class ResponseRateLimiter {
  /** The buckets (layout above). */
  readonly table: Int32Array;
  readonly rate: number;
  readonly slip: number;
  readonly ipv4PrefixLen: number;
  readonly ipv6PrefixLen: number;
  /** NSD keeps its limits doubled (rate is in two-per-second units). */
  private readonly limit: number;
  private readonly wlLimit: number;
  private readonly wlClasses: number;
  private readonly mask: number;
  private readonly mask4: number;
  private readonly mask6a: number;
  private readonly mask6b: number;
  private readonly k0: number;
  private readonly k1: number;
  private readonly exempt: Int32Array;
  private readonly nExempt: number;
  private readonly hasExempt4: boolean;
  private readonly hasExempt6: boolean;
  /** decideAddress()'s parsed address. */
  private readonly scratch = new Uint8Array(16);
  /** xorshift32 state for the slip. */
  private rng: number;

  constructor(o: RrlOptions = {}, readonly counters: Float64Array = new Float64Array(RRL_COUNTERS)) {
    const int = (v: number | undefined, def: number, min: number, max: number, what: string): number => {
      const x = v ?? def;
      if (!Number.isInteger(x) || x < min || x > max) throw new UsageError(`RRL: ${what} must be a whole number from ${min} to ${max} (got ${v})`);
      return x;
    };
    this.rate = int(o.rate, RRL_DEFAULTS.rate, 0, 1e8, 'rate');
    this.slip = int(o.slip, RRL_DEFAULTS.slip, 0, 255, 'slip');
    this.ipv4PrefixLen = int(o.ipv4PrefixLen, RRL_DEFAULTS.ipv4PrefixLen, 0, 32, 'the IPv4 prefix length');
    this.ipv6PrefixLen = int(o.ipv6PrefixLen, RRL_DEFAULTS.ipv6PrefixLen, 0, 64, 'the IPv6 prefix length');
    const wlRate = int(o.whitelistRate, RRL_DEFAULTS.whitelistRate, 0, 1e8, 'the whitelist rate');
    const size = int(o.size, RRL_DEFAULTS.size, 1, MAX_SIZE, 'the table size');
    this.limit = this.rate * 2;
    this.wlLimit = wlRate * 2;
    this.wlClasses = (o.whitelistClasses ?? 0) & RRL_ALL;
    let n = 1;
    while (n < size) n <<= 1;
    this.mask = n - 1;
    this.table = new Int32Array(n * STRIDE);
    this.mask4 = prefixMask(this.ipv4PrefixLen);
    this.mask6a = prefixMask(Math.min(this.ipv6PrefixLen, 32));
    this.mask6b = prefixMask(Math.max(this.ipv6PrefixLen - 32, 0));
    const k = new Int32Array(3);
    randomFillSync(k);
    this.k0 = (o.key ? o.key[0] : k[0]!) | 0;
    this.k1 = (o.key ? o.key[1] : k[1]!) | 0;
    this.rng = (o.seed ?? k[2]!) | 0 || 0x9e3779b9 | 0;
    const ex = (o.exempt ?? []).map(parsePrefix);
    this.exempt = new Int32Array(ex.length * X_WORDS);
    ex.forEach((p, i) => this.exempt.set(p, i * X_WORDS));
    this.nExempt = ex.length;
    this.hasExempt4 = ex.some((p) => p[0] === FAMILY_IPV4);
    this.hasExempt6 = ex.some((p) => p[0] === FAMILY_IPV6);
  }

  /** Buckets in the table. */
  get size(): number {
    return this.mask + 1;
  }

  /**
   * The fate of one UDP answer: RRL_SEND, RRL_DROP or RRL_SLIP. `addr[at..]` holds the
   * client's address in network order (4 bytes for FAMILY_IPV4, 16 for FAMILY_IPV6; an
   * IPv4-mapped IPv6 address counts as IPv4), `cls` and `nameHash` are the responder's
   * rrlClass and rrlName for the answer, `nowSec` the time in whole seconds (an int32 of
   * any epoch, the same for every call: `(Date.now() / 1000) | 0`, read once a batch).
   */
  decide(addr: Uint8Array, at: number, family: number, cls: number, nameHash: number, nowSec: number): number {
    const c = this.counters;
    if (cls === RRL_NONE) return RRL_SEND;
    c[C_RRL_CHECKED]!++;
    let s0: number, s1: number, flags: number;
    if (family === FAMILY_IPV6 && !isV4Mapped(addr, at)) {
      if (this.hasExempt6 && this.isExempt(addr, at, FAMILY_IPV6)) {
        c[C_RRL_EXEMPT]!++;
        return RRL_SEND;
      }
      s0 = be32(addr, at) & this.mask6a;
      s1 = be32(addr, at + 4) & this.mask6b;
      flags = cls | RRL_IP6;
    } else {
      if (family === FAMILY_IPV6) at += 12;
      if (this.hasExempt4 && this.isExempt(addr, at, FAMILY_IPV4)) {
        c[C_RRL_EXEMPT]!++;
        return RRL_SEND;
      }
      s0 = be32(addr, at) & this.mask4;
      s1 = 0;
      flags = cls;
    }
    // NSD rrl.c examine_query(): a whitelisted class has its own limit; no limit, no bucket.
    const lm = (cls & this.wlClasses) !== 0 ? this.wlLimit : this.limit;
    if (lm === 0) return RRL_SEND;
    const h = hsip13(this.k0, this.k1, s0, s1, flags, nameHash & RRL_NAME_MASK);
    const b = (h & this.mask) * STRIDE;
    const t = this.table;
    const now = nowSec | 0;
    // NSD rrl.c rrl_update(), step by step.
    let r: number;
    if (t[b + B_HASH] !== h || t[b + B_SRC0] !== s0 || t[b + B_SRC1] !== s1 || t[b + B_FLAGS] !== flags) {
      // Another key had the bucket (or none): it is this key's now, counting from one.
      if (t[b + B_FLAGS] !== 0) c[C_RRL_REPLACED]!++;
      t[b + B_HASH] = h;
      t[b + B_SRC0] = s0;
      t[b + B_SRC1] = s1;
      t[b + B_FLAGS] = flags;
      t[b + B_COUNTER] = 1;
      t[b + B_RATE] = 0;
      t[b + B_STAMP] = now;
      r = 1;
    } else {
      let rate = t[b + B_RATE]!;
      let counter = t[b + B_COUNTER]!;
      const elapsed = (now - t[b + B_STAMP]!) | 0; // circular, as NSD's int32 time
      if (elapsed === 1) {
        // The next second: the rate halves and takes last second's count.
        rate = (rate >>> 1) + counter;
        counter = 1;
        t[b + B_STAMP] = now;
      } else if (elapsed > 0) {
        // Seconds without a query: r(t) = 0 + 0/2 + ... + oldrate/2^dt (rrl_attenuate_bucket).
        if (elapsed > 16) {
          rate = 0;
        } else {
          rate = (rate >>> elapsed) + (counter >>> (elapsed - 1));
        }
        counter = 1;
        t[b + B_STAMP] = now;
      } else if (elapsed < 0) {
        // A time from the future (a clock stepped back): start over.
        rate = 0;
        counter = 1;
        t[b + B_STAMP] = now;
      } else {
        counter++;
      }
      t[b + B_RATE] = rate;
      t[b + B_COUNTER] = counter;
      // The larger of the rate and the rate this second is heading for, so that a sudden
      // flood is stopped within its first second (NSD's comment).
      const half = rate >>> 1;
      r = counter > half ? counter + half : rate;
    }
    if (r < lm) return RRL_SEND;
    // Limited: slipped with probability 1/slip, as NSD's rrl_slip() (arc4random_uniform(slip)
    // == 0), from a xorshift32 here. Not every slip-th of the bucket: clients that take
    // turns in one bucket (two hosts of a /24 polling alike) would then always get the same
    // fate, one all truncated answers and the other none.
    const slip = this.slip;
    if (slip !== 0) {
      let x = this.rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rng = x;
      if (slip === 1 || (x >>> 0) % slip === 0) {
        c[C_RRL_SLIPPED]!++;
        return RRL_SLIP;
      }
    }
    c[C_RRL_DROPPED]!++;
    return RRL_DROP;
  }

  /**
   * decide() for an address as text (a kernel socket's rinfo.address: "198.18.0.7",
   * "2001:db8::7", "::ffff:198.18.0.7", "fe80::1%eth0"); parsed without allocating. An
   * address that does not parse is never limited.
   */
  decideAddress(address: string, cls: number, nameHash: number, nowSec: number): number {
    const family = parseAddress(address, this.scratch, 0);
    if (family === 0) return RRL_SEND;
    return this.decide(this.scratch, 0, family, cls, nameHash, nowSec);
  }

  /** Is the address in an exempt prefix? */
  private isExempt(addr: Uint8Array, at: number, family: number): boolean {
    const x = this.exempt;
    const w0 = be32(addr, at);
    if (family === FAMILY_IPV4) {
      for (let i = 0, n = this.nExempt * X_WORDS; i < n; i += X_WORDS) {
        if (x[i] === FAMILY_IPV4 && (w0 & x[i + 5]!) === x[i + 1]) return true;
      }
      return false;
    }
    const w1 = be32(addr, at + 4), w2 = be32(addr, at + 8), w3 = be32(addr, at + 12);
    for (let i = 0, n = this.nExempt * X_WORDS; i < n; i += X_WORDS) {
      if (x[i] === FAMILY_IPV6 && (w0 & x[i + 5]!) === x[i + 1] && (w1 & x[i + 6]!) === x[i + 2] &&
          (w2 & x[i + 7]!) === x[i + 3] && (w3 & x[i + 8]!) === x[i + 4]) return true;
    }
    return false;
  }
}

/** The top `len` bits of a 32-bit word (0 ≤ len ≤ 32), as an int32. */
function prefixMask(len: number): number {
  return len === 0 ? 0 : (-1 << (32 - len)) | 0;
}

function be32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** ::ffff:0:0/96 (RFC 4291 §2.5.5.2): a dual-stack socket's IPv4 client. */
function isV4Mapped(b: Uint8Array, at: number): boolean {
  return be32(b, at) === 0 && be32(b, at + 4) === 0 && be32(b, at + 8) === 0xffff;
}

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/** hsip(k0, k1, m0, m1, m2, m3, 1, 3), unrolled: the one decide() calls (the tests compare the two). */
export function hsip13(k0: number, k1: number, m0: number, m1: number, m2: number, m3: number): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  v3 ^= m0;
  v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
  v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  v0 ^= m0;
  v3 ^= m1;
  v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
  v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  v0 ^= m1;
  v3 ^= m2;
  v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
  v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  v0 ^= m2;
  v3 ^= m3;
  v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
  v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  v0 ^= m3;
  const b = 16 << 24;
  v3 ^= b;
  v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
  v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  v0 ^= b;
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  }
  return v1 ^ v3;
}

/**
 * HalfSipHash with `cr` compression and `dr` finalization rounds (Aumasson and Bernstein's
 * reference halfsiphash.c, 32-bit output) over four 32-bit words, the 16-byte message
 * m0 m1 m2 m3 read as little-endian words. 1-3 is the Linux kernel's hsiphash; 2-4 is the
 * reference's, whose published vectors the tests check this against.
 */
export function hsip(k0: number, k1: number, m0: number, m1: number, m2: number, m3: number, cr: number, dr: number): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  for (let i = 0; i < 5; i++) {
    // Four message words, then the last block: the length (16) in its top byte.
    const m = i === 0 ? m0 : i === 1 ? m1 : i === 2 ? m2 : i === 3 ? m3 : 16 << 24;
    v3 ^= m;
    for (let r = 0; r < cr; r++) {
      v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
      v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
      v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
    }
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (let r = 0; r < dr; r++) {
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  }
  return v1 ^ v3;
}

// Addresses as text, parsed into bytes without allocating (once per UDP answer on the
// socket backend).
const groups = new Uint16Array(8);

/**
 * Parses an IPv4 or IPv6 address (RFC 4291 §2.2 text forms, a "%zone" suffix ignored) into
 * out[at..]: 4 bytes for IPv4 (an IPv4-mapped IPv6 address included), 16 for IPv6. Returns
 * FAMILY_IPV4, FAMILY_IPV6, or 0 when the text is not an address.
 */
export function parseAddress(text: string, out: Uint8Array, at: number): number {
  let end = text.length;
  const pct = text.indexOf('%');
  if (pct >= 0) end = pct;
  if (text.indexOf(':') < 0) return parseV4(text, 0, end, out, at) ? FAMILY_IPV4 : 0;
  // IPv6: up to eight groups, one "::", maybe a dotted IPv4 tail in place of two groups.
  let n = 0; // groups read
  let gap = -1; // where "::" stands, in groups
  let i = 0;
  if (text.charCodeAt(0) === 58 /* : */) {
    if (text.charCodeAt(1) !== 58) return 0;
    gap = 0;
    i = 2;
    if (i === end) {
      groups.fill(0);
      for (let k = 0; k < 16; k++) out[at + k] = 0;
      return FAMILY_IPV6;
    }
  }
  for (;;) {
    // A group, or the dotted IPv4 tail.
    let v = 0, digits = 0, j = i;
    while (j < end) {
      const ch = text.charCodeAt(j);
      const d = ch >= 48 && ch <= 57 ? ch - 48 : ch >= 97 && ch <= 102 ? ch - 87 : ch >= 65 && ch <= 70 ? ch - 55 : -1;
      if (d < 0) break;
      v = (v << 4) | d;
      digits++;
      j++;
    }
    if (j < end && text.charCodeAt(j) === 46 /* . */) {
      if (n > 6 || !parseV4(text, i, end, out, at + 12)) return 0;
      groups[n++] = (out[at + 12]! << 8) | out[at + 13]!;
      groups[n++] = (out[at + 14]! << 8) | out[at + 15]!;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4 || n === 8) return 0;
    groups[n++] = v;
    i = j;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return 0;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return 0;
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return 0; // a trailing single colon
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return 0;
  // Expand "::" into the zero groups it stands for.
  const fill = 8 - n;
  let mapped = true;
  for (let g = 0, src = 0; g < 8; g++) {
    let v = 0;
    if (gap >= 0 && g >= gap && g < gap + fill) v = 0;
    else v = groups[src++]!;
    if (g < 5 ? v !== 0 : g === 5 ? v !== 0xffff : false) mapped = false;
    out[at + g * 2] = v >>> 8;
    out[at + g * 2 + 1] = v & 0xff;
  }
  if (mapped) {
    for (let k = 0; k < 4; k++) out[at + k] = out[at + 12 + k]!;
    return FAMILY_IPV4;
  }
  return FAMILY_IPV6;
}

/** Dotted-quad IPv4 in text[i, end) into out[at..at+4); false when it is not one. */
function parseV4(text: string, i: number, end: number, out: Uint8Array, at: number): boolean {
  for (let part = 0; part < 4; part++) {
    let v = 0, digits = 0;
    while (i < end) {
      const ch = text.charCodeAt(i);
      if (ch < 48 || ch > 57) break;
      v = v * 10 + (ch - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || v > 255) return false;
    out[at + part] = v;
    if (part < 3) {
      if (i >= end || text.charCodeAt(i) !== 46) return false;
      i++;
    }
  }
  return i === end;
}

/**
 * A CIDR prefix ("198.18.0.0/15", "2001:db8::/32"; a bare address is /32 or /128) as the
 * exempt list's words: family, four address words (masked), four mask words. Host bits
 * are ignored, as NSD and Knot ignore them. Configuration time: it may allocate and throw.
 */
export function parsePrefix(text: string): Int32Array {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const bytes = new Uint8Array(16);
  const family = parseAddress(addrText, bytes, 0);
  // "::ffff:198.18.0.0/111" is an IPv4 prefix too.
  const mappedText = family === FAMILY_IPV4 && addrText.includes(':');
  const max = family === FAMILY_IPV4 ? 32 : 128;
  let len = slash < 0 ? max : Number(text.slice(slash + 1));
  if (mappedText && slash >= 0) len -= 96;
  if (family === 0 || !Number.isInteger(len) || len < 0 || len > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    throw new UsageError(`RRL: "${text}" is not an IPv4 or IPv6 prefix (like 198.18.0.0/15 or 2001:db8::/32)`);
  }
  const p = new Int32Array(X_WORDS);
  p[0] = family;
  for (let w = 0; w < (family === FAMILY_IPV4 ? 1 : 4); w++) {
    const m = prefixMask(Math.max(0, Math.min(32, len - w * 32)));
    p[5 + w] = m;
    p[1 + w] = be32(bytes, w * 4) & m;
  }
  return p;
}
