// ICMP for IPv4: RFC 792 (echo and echo reply).
//
//    0       1       2               4               6               8
//   ┌───────┬───────┬───────────────┬───────────────┬───────────────┬──── ─ ─
//   │ Type  │ Code  │ Checksum      │ Identifier    │ Sequence      │ data
//   └───────┴───────┴───────────────┴───────────────┴───────────────┴──── ─ ─

import { finish, partialSum } from '../../basics/checksum.js';
import { DROP_ICMP_CHECKSUM, DROP_ICMP_MALFORMED, OK } from './reasons.js';
import { WireView } from './view.js';

export const ICMP_HEADER_LEN = 8;
export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CHECKSUM = 2;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

export class IcmpView extends WireView {
  /** Length and checksum (ICMP's covers the whole message; senders always compute it). */
  check(): number {
    if (this.len < ICMP_HEADER_LEN) return DROP_ICMP_MALFORMED;
    return partialSum(this.buf, this.off, this.len) === 0xffff ? OK : DROP_ICMP_CHECKSUM;
  }

  get type(): number {
    return this.buf[this.off + ICMP_TYPE]!;
  }

  get code(): number {
    return this.buf[this.off + ICMP_CODE]!;
  }

  /** An echo request becomes its reply: same identifier, sequence and data (RFC 792). */
  echoReply(): void {
    const b = this.buf, o = this.off;
    b[o + ICMP_TYPE] = ICMP_ECHO_REPLY;
    b[o + ICMP_CODE] = 0;
    b[o + ICMP_CHECKSUM] = 0;
    b[o + ICMP_CHECKSUM + 1] = 0;
    const c = finish(partialSum(b, o, this.len));
    b[o + ICMP_CHECKSUM] = c >> 8;
    b[o + ICMP_CHECKSUM + 1] = c & 0xff;
  }
}
