// IPv6 headers: RFC 8200.
//
//    0       1       2       4               6       7       8                               24                              40
//   ┌───────┬───────────────┬───────────────┬───────┬───────┬───────────────────────────────┬───────────────────────────────┐
//   │Ver|TC │ TC | Flow     │ Payload Length│ Next  │ Hop   │ Source Address                │ Destination Address           │
//   └───────┴───────────────┴───────────────┴───────┴───────┴───────────────────────────────┴───────────────────────────────┘
//
// Extension headers are not served: a next header other than UDP, TCP or ICMPv6 is a
// counted drop (hop-by-hop, routing, fragment and destination options included).

import { partialSum } from '../../basics/checksum.js';
import { DROP_IP6_EXTENSION, DROP_IP6_MALFORMED, OK } from './reasons.js';
import { WireView } from './view.js';

export const IPV6_HEADER_LEN = 40;
export const IP6_PAYLOAD_LEN = 4;
export const IP6_NEXT_HEADER = 6;
export const IP6_HOP_LIMIT = 7;
export const IP6_SRC = 8;
export const IP6_DST = 24;

export const NH_TCP = 6;
export const NH_UDP = 17;
export const NH_ICMPV6 = 58;
export const DEFAULT_HOP_LIMIT = 64;

export class Ipv6View extends WireView {
  check(): number {
    if (this.len < IPV6_HEADER_LEN) return DROP_IP6_MALFORMED;
    const b = this.buf, o = this.off;
    if (b[o]! >> 4 !== 6) return DROP_IP6_MALFORMED;
    const plen = (b[o + IP6_PAYLOAD_LEN]! << 8) | b[o + IP6_PAYLOAD_LEN + 1]!;
    if (IPV6_HEADER_LEN + plen > this.len) return DROP_IP6_MALFORMED;
    const nh = b[o + IP6_NEXT_HEADER]!;
    if (nh !== NH_UDP && nh !== NH_TCP && nh !== NH_ICMPV6) return DROP_IP6_EXTENSION;
    return OK;
  }

  get nextHeader(): number {
    return this.buf[this.off + IP6_NEXT_HEADER]!;
  }

  get hopLimit(): number {
    return this.buf[this.off + IP6_HOP_LIMIT]!;
  }

  get payloadLen(): number {
    return (this.buf[this.off + IP6_PAYLOAD_LEN]! << 8) | this.buf[this.off + IP6_PAYLOAD_LEN + 1]!;
  }

  get payloadOffset(): number {
    return this.off + IPV6_HEADER_LEN;
  }

  /** Is the source the unspecified address (::), as in duplicate address detection? */
  srcIsUnspecified(): boolean {
    for (let i = 0; i < 16; i++) if (this.buf[this.off + IP6_SRC + i] !== 0) return false;
    return true;
  }

  /** One's-complement sum of the pseudo-header (RFC 8200 §8.1). */
  pseudoHeaderSum(nextHeader: number, length: number): number {
    return partialSum(this.buf, this.off + IP6_SRC, 32, nextHeader + length);
  }

  /** The reply: addresses swapped, payload length and hop limit set. */
  reply(payloadLen: number, hopLimit = DEFAULT_HOP_LIMIT): void {
    const b = this.buf, o = this.off;
    for (let i = 0; i < 16; i++) {
      const t = b[o + IP6_SRC + i]!;
      b[o + IP6_SRC + i] = b[o + IP6_DST + i]!;
      b[o + IP6_DST + i] = t;
    }
    b[o + IP6_PAYLOAD_LEN] = payloadLen >> 8;
    b[o + IP6_PAYLOAD_LEN + 1] = payloadLen & 0xff;
    b[o + IP6_HOP_LIMIT] = hopLimit;
  }
}
