// Initial sequence numbers (RFC 6528) and SYN cookies (RFC 4987 §3.6), both keyed with
// HalfSipHash-2-4 under the secret the supervisor drew (shared by every worker, so that a
// flow that moves to another queue still checks).
//
// ISN = M + F(4-tuple, secret), M a clock that ticks every 4 µs (RFC 6528 §3).
//
// A cookie is an ISS that carries what the SYN asked for, so that no state is kept until
// the handshake's ACK comes back with ISS + 1:
//
//    31      27   24                                   0
//   ┌─────────┬─────┬──────────────────────────────────┐
//   │ t mod 32│ MSS │ MAC(secret, 4-tuple, t, peer ISN) │
//   └─────────┴─────┴──────────────────────────────────┘
//   t: a counter of 64-second periods; a cookie is good for the period it was made in and
//   the next one. MSS: an index into COOKIE_MSS. Window scale and SACK cannot be carried
//   (there are no timestamps to carry them in), so a cookie SYN-ACK offers neither.

import { HalfSipHash } from '../../../basics/siphash.js';

export const COOKIE_MSS = Uint16Array.of(216, 536, 1200, 1220, 1280, 1400, 1440, 1460);
const PERIOD_MS = 64_000;

export class IsnSource {
  private readonly h: HalfSipHash;
  private readonly c: HalfSipHash;
  /** Test only: when set, every ISS is this (a value just below 2^32 makes every test cross the wrap). */
  fixed: number | undefined = undefined;

  /** `secret`: four 32-bit words (two keys: ISNs, cookies). */
  constructor(secret: Uint32Array) {
    this.h = new HalfSipHash(secret[0]!, secret[1]!, 2, 4);
    this.c = new HalfSipHash(secret[2]!, secret[3]!, 2, 4);
  }

  /** RFC 6528: the ISS of a connection whose 4-tuple hashes as `key` (see tupleWords). */
  isn(w0: number, w1: number, w2: number, w3: number, w4: number, now: number): number {
    if (this.fixed !== undefined) return this.fixed >>> 0;
    const f = this.h.begin().word(w0).word(w1).word(w2).word(w3).word(w4).end();
    return (Math.floor(now * 250) + f) >>> 0;
  }

  /** The cookie ISS for a SYN whose sequence number is `peerIsn`, asking for `mss`. */
  cookie(w0: number, w1: number, w2: number, w3: number, w4: number, peerIsn: number, mss: number, now: number): number {
    const t = Math.floor(now / PERIOD_MS) & 31;
    let idx = 0;
    for (let i = COOKIE_MSS.length - 1; i > 0; i--) {
      if (COOKIE_MSS[i]! <= mss) {
        idx = i;
        break;
      }
    }
    return ((t << 27) | (idx << 24) | (this.mac(w0, w1, w2, w3, w4, t, peerIsn) & 0xffffff)) >>> 0;
  }

  /**
   * Checks the cookie an ACK returns (its ack − 1, its seq − 1 being the peer's ISN); returns
   * the MSS the cookie carries, or 0 when it is not one of ours or is too old.
   */
  check(w0: number, w1: number, w2: number, w3: number, w4: number, ack: number, seq: number, now: number): number {
    const cookie = (ack - 1) >>> 0;
    const t = cookie >>> 27;
    const age = ((Math.floor(now / PERIOD_MS) & 31) - t) & 31;
    if (age > 1) return 0;
    if ((this.mac(w0, w1, w2, w3, w4, t, (seq - 1) >>> 0) & 0xffffff) !== (cookie & 0xffffff)) return 0;
    return COOKIE_MSS[(cookie >>> 24) & 7]!;
  }

  private mac(w0: number, w1: number, w2: number, w3: number, w4: number, t: number, peerIsn: number): number {
    return this.c.begin().word(w0).word(w1).word(w2).word(w3).word(w4).word(t).word(peerIsn).end();
  }
}
