// The DNS message header: RFC 1035 §4.1.1, RFC 6891 §6.1.3 (EDNS extended RCODE and flags),
// RFC 6840 §5.7 (CD copied into responses).
//
//    0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
//   ┌───────────────────────────────────────────────┐
//   │                      ID                       │ 0
//   ├──┬───────────┬──┬──┬──┬──┬──┬──┬──┬───────────┤
//   │QR│  Opcode   │AA│TC│RD│RA│Z │AD│CD│   RCODE   │ 2
//   ├──┴───────────┴──┴──┴──┴──┴──┴──┴──┴───────────┤
//   │                    QDCOUNT                    │ 4
//   │                    ANCOUNT                    │ 6
//   │                    NSCOUNT                    │ 8
//   │                    ARCOUNT                    │ 10
//   └───────────────────────────────────────────────┘

import { WireView } from './view.js';

export const DNS_HEADER_LEN = 12;

export const DNS_ID = 0;
export const DNS_FLAGS = 2;
export const DNS_QDCOUNT = 4;
export const DNS_ANCOUNT = 6;
export const DNS_NSCOUNT = 8;
export const DNS_ARCOUNT = 10;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
export const OPCODE_SHIFT = 11;
export const OPCODE_MASK = 0xf;

export const OPCODE_QUERY = 0;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;
export const RCODE_YXDOMAIN = 6;
/** Extended RCODE 16: its upper 8 bits (1) go into the OPT record's TTL. */
export const RCODE_BADVERS = 16;

export const TYPE_OPT = 41;
export const EDNS_DO = 0x8000;

/** The header of a DNS message: checked (long enough) before any field is read. */
export class DnsHeaderView extends WireView {
  /** True when a whole header is there. */
  check(): boolean {
    return this.len >= DNS_HEADER_LEN;
  }

  get id(): number {
    return u16(this.buf, this.off + DNS_ID);
  }

  /** The second 16-bit word: QR, Opcode, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  get flags(): number {
    return u16(this.buf, this.off + DNS_FLAGS);
  }

  get qdcount(): number {
    return u16(this.buf, this.off + DNS_QDCOUNT);
  }

  get ancount(): number {
    return u16(this.buf, this.off + DNS_ANCOUNT);
  }

  get nscount(): number {
    return u16(this.buf, this.off + DNS_NSCOUNT);
  }

  get arcount(): number {
    return u16(this.buf, this.off + DNS_ARCOUNT);
  }

  /** Makes the header a response's: QR set, `flags` and `rcode`, the four counts; the ID stays. */
  setResponse(flags: number, rcode: number, qd: number, an: number, ns: number, ar: number): void {
    const b = this.buf, o = this.off;
    setU16(b, o + DNS_FLAGS, FLAG_QR | flags | rcode);
    setU16(b, o + DNS_QDCOUNT, qd);
    setU16(b, o + DNS_ANCOUNT, an);
    setU16(b, o + DNS_NSCOUNT, ns);
    setU16(b, o + DNS_ARCOUNT, ar);
  }
}

export function u16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

export function setU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v & 0xff;
}
