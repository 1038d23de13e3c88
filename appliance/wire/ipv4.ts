// IPv4 headers: RFC 791; header checksum RFC 1071.
//
//    0       1       2               4               6               8       9       10              12              16              20
//   ┌───────┬───────┬───────────────┬───────────────┬───────────────┬───────┬───────┬───────────────┬───────────────┬───────────────┐
//   │Ver|IHL│ DSCP  │ Total Length  │ Identification│Flags|FragOff  │  TTL  │ Proto │ Hdr Checksum  │ Source        │ Destination   │
//   └───────┴───────┴───────────────┴───────────────┴───────────────┴───────┴───────┴───────────────┴───────────────┴───────────────┘
//
// Options and fragments are not served: a frame carrying either is a counted drop. The
// header checksum is always checked on receive (no offload leaves it partial) and always
// written in full on transmit.

import { finish, partialSum } from '../../basics/checksum.js';
import { DROP_IP4_CHECKSUM, DROP_IP4_FRAGMENT, DROP_IP4_MALFORMED, DROP_IP4_OPTIONS, OK } from './reasons.js';
import { WireView } from './view.js';

export const IPV4_HEADER_LEN = 20;
export const IP4_VER_IHL = 0;
export const IP4_TOTAL_LEN = 2;
export const IP4_ID = 4;
export const IP4_FLAGS_FRAG = 6;
export const IP4_TTL = 8;
export const IP4_PROTOCOL = 9;
export const IP4_CHECKSUM = 10;
export const IP4_SRC = 12;
export const IP4_DST = 16;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;
export const DEFAULT_TTL = 64;

export class Ipv4View extends WireView {
  check(): number {
    if (this.len < IPV4_HEADER_LEN) return DROP_IP4_MALFORMED;
    const b = this.buf, o = this.off;
    const vi = b[o]!;
    if (vi >> 4 !== 4) return DROP_IP4_MALFORMED;
    const ihl = (vi & 0xf) * 4;
    if (ihl < IPV4_HEADER_LEN) return DROP_IP4_MALFORMED;
    const total = (b[o + IP4_TOTAL_LEN]! << 8) | b[o + IP4_TOTAL_LEN + 1]!;
    if (total < ihl || total > this.len) return DROP_IP4_MALFORMED;
    if (ihl > this.len) return DROP_IP4_MALFORMED;
    if (partialSum(b, o, ihl) !== 0xffff) return DROP_IP4_CHECKSUM;
    if (ihl !== IPV4_HEADER_LEN) return DROP_IP4_OPTIONS;
    const ff = (b[o + IP4_FLAGS_FRAG]! << 8) | b[o + IP4_FLAGS_FRAG + 1]!;
    if ((ff & FLAG_MF) !== 0 || (ff & FRAG_OFFSET_MASK) !== 0) return DROP_IP4_FRAGMENT;
    return OK;
  }

  get protocol(): number {
    return this.buf[this.off + IP4_PROTOCOL]!;
  }

  get totalLength(): number {
    return (this.buf[this.off + IP4_TOTAL_LEN]! << 8) | this.buf[this.off + IP4_TOTAL_LEN + 1]!;
  }

  get dst(): number {
    const b = this.buf, o = this.off + IP4_DST;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  get src(): number {
    const b = this.buf, o = this.off + IP4_SRC;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  /** Offset of the payload (after a 20-byte header: check() refused options). */
  get payloadOffset(): number {
    return this.off + IPV4_HEADER_LEN;
  }

  get payloadLen(): number {
    return this.totalLength - IPV4_HEADER_LEN;
  }

  /** One's-complement sum of the pseudo-header for TCP/UDP (RFC 768, RFC 9293 §3.1). */
  pseudoHeaderSum(protocol: number, length: number): number {
    return partialSum(this.buf, this.off + IP4_SRC, 8, protocol + length);
  }

  /**
   * Turns the header around for the reply: addresses swapped, a fresh TTL, the new total
   * length, no fragmentation (DF), and the header checksum written in full.
   */
  reply(payloadLen: number): void {
    replyIpv4(this.buf, this.off, payloadLen);
  }
}

/** Ipv4View.reply's work on the header at b[o]; a plain function the fast path shares. */
export function replyIpv4(b: Uint8Array, o: number, payloadLen: number): void {
  for (let i = 0; i < 4; i++) {
    const t = b[o + IP4_SRC + i]!;
    b[o + IP4_SRC + i] = b[o + IP4_DST + i]!;
    b[o + IP4_DST + i] = t;
  }
  const total = IPV4_HEADER_LEN + payloadLen;
  b[o + 1] = 0; // DSCP/ECN
  b[o + IP4_TOTAL_LEN] = total >> 8;
  b[o + IP4_TOTAL_LEN + 1] = total & 0xff;
  b[o + IP4_FLAGS_FRAG] = 0x40; // DF
  b[o + IP4_FLAGS_FRAG + 1] = 0;
  b[o + IP4_TTL] = DEFAULT_TTL;
  // The checksum from the header's words, most of them just written: the same sum as
  // partialSum() over the 20 bytes with the checksum field zero, without the loop.
  const c = finish(((b[o]! << 8) + total + ((b[o + 4]! << 8) | b[o + 5]!) + 0x4000 + ((DEFAULT_TTL << 8) | b[o + IP4_PROTOCOL]!) +
    ((b[o + 12]! << 8) | b[o + 13]!) + ((b[o + 14]! << 8) | b[o + 15]!) + ((b[o + 16]! << 8) | b[o + 17]!) + ((b[o + 18]! << 8) | b[o + 19]!)));
  b[o + IP4_CHECKSUM] = c >> 8;
  b[o + IP4_CHECKSUM + 1] = c & 0xff;
}
