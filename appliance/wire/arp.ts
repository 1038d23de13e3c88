// ARP for IPv4 over Ethernet: RFC 826.
//
//    0       2       4   5   6       8               14          18              24          28
//   ┌───────┬───────┬───┬───┬───────┬───────────────┬───────────┬───────────────┬───────────┐
//   │ HTYPE │ PTYPE │HLN│PLN│ OPER  │ SHA (sender)  │ SPA       │ THA (target)  │ TPA       │
//   └───────┴───────┴───┴───┴───────┴───────────────┴───────────┴───────────────┴───────────┘

import { DROP_ARP_MALFORMED, OK } from './reasons.js';
import { WireView } from './view.js';

export const ARP_LEN = 28;
export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OPER = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export class ArpView extends WireView {
  /** Ethernet/IPv4 ARP only. */
  check(): number {
    if (this.len < ARP_LEN) return DROP_ARP_MALFORMED;
    const b = this.buf, o = this.off;
    if (b[o] !== 0 || b[o + 1] !== 1 || b[o + 2] !== 0x08 || b[o + 3] !== 0 || b[o + ARP_HLEN] !== 6 || b[o + ARP_PLEN] !== 4) {
      return DROP_ARP_MALFORMED;
    }
    return OK;
  }

  get oper(): number {
    return (this.buf[this.off + ARP_OPER]! << 8) | this.buf[this.off + ARP_OPER + 1]!;
  }

  /** The target protocol address as a u32. */
  get tpa(): number {
    const b = this.buf, o = this.off + ARP_TPA;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  /**
   * Turns a request into its reply in place (RFC 826 "Packet Reception"): the target
   * becomes the sender with our hardware address, the requester becomes the target.
   */
  answerRequest(mac: Uint8Array): void {
    const b = this.buf, o = this.off;
    b[o + ARP_OPER] = 0;
    b[o + ARP_OPER + 1] = ARP_REPLY;
    for (let i = 0; i < 6; i++) {
      b[o + ARP_THA + i] = b[o + ARP_SHA + i]!;
      b[o + ARP_SHA + i] = mac[i]!;
    }
    for (let i = 0; i < 4; i++) {
      const t = b[o + ARP_SPA + i]!;
      b[o + ARP_SPA + i] = b[o + ARP_TPA + i]!;
      b[o + ARP_TPA + i] = t;
    }
  }
}
