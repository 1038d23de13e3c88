// ICMPv6: RFC 4443 (echo), RFC 4861 (neighbour solicitation and advertisement).
//
//   Neighbour Solicitation (135)              Neighbour Advertisement (136)
//    0     1     2         4          8        0     1     2         4          8
//   ┌─────┬─────┬─────────┬──────────┬──      ┌─────┬─────┬─────────┬─┬─┬─┬────┬──
//   │ 135 │  0  │ cksum   │ reserved │        │ 136 │  0  │ cksum   │R│S│O│rsvd│
//   ├─────┴─────┴─────────┴──────────┘        ├─────┴─────┴─────────┴─┴─┴─┴────┘
//   │ Target Address (16)          24         │ Target Address (16)          24
//   ├────────────────────────── ─ ─           ├─────┬─────┬─────────────────── 32
//   │ options: source link-layer address      │  2  │  1  │ target link-layer address
//
// Checksums cover a pseudo-header (RFC 4443 §2.3); senders always compute them.

import { addSums, finish, partialSum } from '../../basics/checksum.js';
import { DROP_ICMP_CHECKSUM, DROP_ICMP_MALFORMED, DROP_NDP_MALFORMED, OK } from './reasons.js';
import { WireView } from './view.js';

export const ICMPV6_HEADER_LEN = 4;
export const ICMP6_TYPE = 0;
export const ICMP6_CODE = 1;
export const ICMP6_CHECKSUM = 2;
export const NDP_TARGET = 8;
export const NS_LEN = 24;
export const NA_LEN = 32; // with the target link-layer address option

export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ICMP6_NEIGHBOR_SOLICITATION = 135;
export const ICMP6_NEIGHBOR_ADVERTISEMENT = 136;

const OPT_SOURCE_LLADDR = 1;
const OPT_TARGET_LLADDR = 2;
const NA_FLAG_SOLICITED = 0x40;
const NA_FLAG_OVERRIDE = 0x20;

export class Icmpv6View extends WireView {
  /** Length and checksum; `pseudo` is the pseudo-header's sum for this message. */
  check(pseudo: number): number {
    if (this.len < ICMPV6_HEADER_LEN + 4) return DROP_ICMP_MALFORMED;
    return addSums(pseudo, partialSum(this.buf, this.off, this.len)) === 0xffff ? OK : DROP_ICMP_CHECKSUM;
  }

  get type(): number {
    return this.buf[this.off + ICMP6_TYPE]!;
  }

  get code(): number {
    return this.buf[this.off + ICMP6_CODE]!;
  }

  /**
   * RFC 4861 §7.1.1 validity of a solicitation (hop limit and source checked by the
   * caller): long enough, code 0, target not multicast, options with non-zero lengths that
   * stay inside the message, and no source link-layer option from the unspecified address.
   */
  checkSolicitation(fromUnspecified: boolean): number {
    const b = this.buf, o = this.off;
    if (this.len < NS_LEN || b[o + ICMP6_CODE] !== 0 || b[o + NDP_TARGET] === 0xff) return DROP_NDP_MALFORMED;
    for (let p = NS_LEN; p < this.len; ) {
      if (p + 2 > this.len) return DROP_NDP_MALFORMED;
      const optLen = b[o + p + 1]! * 8;
      if (optLen === 0 || p + optLen > this.len) return DROP_NDP_MALFORMED;
      if (b[o + p] === OPT_SOURCE_LLADDR && fromUnspecified) return DROP_NDP_MALFORMED;
      p += optLen;
    }
    return OK;
  }

  /** An echo request becomes its reply; `pseudo` is the reply's pseudo-header sum. */
  echoReply(pseudo: number): void {
    const b = this.buf, o = this.off;
    b[o + ICMP6_TYPE] = ICMP6_ECHO_REPLY;
    this.writeChecksum(pseudo, this.len);
  }

  /**
   * The solicitation becomes the advertisement for its target (NA_LEN bytes): Solicited
   * unless it answers duplicate address detection, Override, and our link-layer address.
   * `pseudo` is the advertisement's pseudo-header sum (its addresses already set).
   */
  advertise(mac: Uint8Array, solicited: boolean, pseudo: number): void {
    const b = this.buf, o = this.off;
    b[o + ICMP6_TYPE] = ICMP6_NEIGHBOR_ADVERTISEMENT;
    b[o + ICMP6_CODE] = 0;
    b[o + 4] = (solicited ? NA_FLAG_SOLICITED : 0) | NA_FLAG_OVERRIDE;
    b[o + 5] = 0;
    b[o + 6] = 0;
    b[o + 7] = 0;
    b[o + NS_LEN] = OPT_TARGET_LLADDR;
    b[o + NS_LEN + 1] = 1;
    for (let i = 0; i < 6; i++) b[o + NS_LEN + 2 + i] = mac[i]!;
    this.writeChecksum(pseudo, NA_LEN);
  }

  private writeChecksum(pseudo: number, length: number): void {
    const b = this.buf, o = this.off;
    b[o + ICMP6_CHECKSUM] = 0;
    b[o + ICMP6_CHECKSUM + 1] = 0;
    const c = finish(addSums(pseudo, partialSum(b, o, length)));
    b[o + ICMP6_CHECKSUM] = c >> 8;
    b[o + ICMP6_CHECKSUM + 1] = c & 0xff;
  }
}
