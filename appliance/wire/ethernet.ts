// Ethernet II frames (IEEE 802.3), with at most one IEEE 802.1Q VLAN tag.
//
//    0                   6                   12      14
//   ┌───────────────────┬───────────────────┬───────┬─────────── ─ ─
//   │ destination MAC   │ source MAC        │ type  │ payload
//   └───────────────────┴───────────────────┴───────┴─────────── ─ ─
//   with a tag:                             ┌───────┬───────┬───────┬──── ─ ─
//                                           │ 8100  │ TCI   │ type  │ payload
//                                           └───────┴───────┴───────┴──── ─ ─
//
// A tagged frame is answered with its tag as it came (the reply is rewritten in place, so
// the tag stays where it is). Two tags (QinQ) are not handled: a counted drop.

import { DROP_ETH_SHORT, DROP_VLAN_STACKED, OK } from './reasons.js';
import { WireView } from './view.js';

export const ETHERNET_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
export const MAC_LEN = 6;

export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;

export class EthernetView extends WireView {
  /** Offset of the payload from `off`: 14, or 18 behind a VLAN tag (valid after check()). */
  headerLen = ETHERNET_HEADER_LEN;

  override wrap(buf: Uint8Array, off: number, len: number): this {
    this.headerLen = ETHERNET_HEADER_LEN;
    return super.wrap(buf, off, len);
  }

  /** OK, or the drop reason. Must pass before any other read. */
  check(): number {
    if (this.len < ETHERNET_HEADER_LEN) return DROP_ETH_SHORT;
    const t = this.rawType();
    if (t === ETHERTYPE_VLAN) {
      if (this.len < ETHERNET_HEADER_LEN + VLAN_TAG_LEN) return DROP_ETH_SHORT;
      const inner = (this.buf[this.off + 16]! << 8) | this.buf[this.off + 17]!;
      if (inner === ETHERTYPE_VLAN || inner === ETHERTYPE_QINQ) return DROP_VLAN_STACKED;
      this.headerLen = ETHERNET_HEADER_LEN + VLAN_TAG_LEN;
    } else if (t === ETHERTYPE_QINQ) {
      return DROP_VLAN_STACKED;
    }
    return OK;
  }

  private rawType(): number {
    return (this.buf[this.off + ETH_TYPE]! << 8) | this.buf[this.off + ETH_TYPE + 1]!;
  }

  /** The EtherType of the payload (behind the VLAN tag, if any). */
  get etherType(): number {
    const at = this.off + this.headerLen - 2;
    return (this.buf[at]! << 8) | this.buf[at + 1]!;
  }

  get payloadOffset(): number {
    return this.off + this.headerLen;
  }

  get payloadLen(): number {
    return this.len - this.headerLen;
  }

  /** The 802.1Q tag control information, or -1 when untagged. */
  get vlanTci(): number {
    return this.headerLen === ETHERNET_HEADER_LEN ? -1 : (this.buf[this.off + 14]! << 8) | this.buf[this.off + 15]!;
  }

  /** Addresses a reply: destination = the frame's source (the symmetric-path rule), source = `mac`. */
  replyFrom(mac: Uint8Array): void {
    replyEthernet(this.buf, this.off, mac);
  }

  isMulticastDst(): boolean {
    return (this.buf[this.off]! & 1) === 1;
  }
}

/** EthernetView.replyFrom's work on the frame at b[o]; a plain function the fast path shares. */
export function replyEthernet(b: Uint8Array, o: number, mac: Uint8Array): void {
  for (let i = 0; i < MAC_LEN; i++) {
    b[o + ETH_DST + i] = b[o + ETH_SRC + i]!;
    b[o + ETH_SRC + i] = mac[i]!;
  }
}
