// TCP headers: RFC 9293 §3.1; options: MSS (§3.2), window scale (RFC 7323 §2),
// SACK-permitted (RFC 2018), timestamps (RFC 7323 §3, read only: not used here).
//
//    0               2               4                               8
//   ┌───────────────┬───────────────┬───────────────────────────────┐
//   │ Source Port   │ Dest. Port    │ Sequence Number               │
//   ├───────────────┴───────────────┼───────┬───────┬───────────────┤
//   │ Acknowledgment Number         │Off|Rsv│ Flags │ Window        │ 8..16
//   ├───────────────┬───────────────┼───────┴───────┴───────────────┤
//   │ Checksum      │ Urgent Ptr    │ Options (Off × 4 − 20 bytes)  │ 16..
//   └───────────────┴───────────────┴───────────────────────────────┘
//
// check() must pass before any field is read; parseOptions() reads the options in one pass
// and refuses a malformed list (a length that runs past the header, an MSS or window-scale
// option of the wrong size). Writes into TX frames (writeTcpHeader) go unchecked.

import { addSums, partialSum } from '../../basics/checksum.js';
import { CSUM_AUTO, CSUM_OFF, DROP_TCP_CHECKSUM, DROP_TCP_MALFORMED, DROP_TCP_OPTIONS, isOffloadForm, OK, TCP_CSUM_OFFLOAD } from './reasons.js';
import { WireView } from './view.js';

export const TCP_HEADER_LEN = 20;
export const TCP_SRC_PORT = 0;
export const TCP_DST_PORT = 2;
export const TCP_SEQ = 4;
export const TCP_ACK = 8;
export const TCP_DATA_OFF = 12;
export const TCP_FLAGS = 13;
export const TCP_WINDOW = 14;
export const TCP_CHECKSUM = 16;
export const TCP_URGENT = 18;

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

export const OPT_END = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_OK = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMP = 8;

/** RFC 7323 §2.3: a shift above 14 is taken as 14. */
export const MAX_WSCALE = 14;

export class TcpView extends WireView {
  /** Options read by parseOptions(): the MSS (0: none), window shift (-1: none), SACK-permitted, timestamps seen. */
  mss = 0;
  wscale = -1;
  sackOk = false;
  timestamps = false;

  /**
   * Lengths, and the checksum as `mode` says (CSUM_*; `pseudo` is the pseudo-header's sum for
   * the TCP length `this.len`). OK, TCP_CSUM_OFFLOAD (accepted in the offload form) or a drop.
   */
  check(mode: number, pseudo: number): number {
    if (this.len < TCP_HEADER_LEN) return DROP_TCP_MALFORMED;
    const hl = (this.buf[this.off + TCP_DATA_OFF]! >> 4) * 4;
    if (hl < TCP_HEADER_LEN || hl > this.len) return DROP_TCP_MALFORMED;
    if (mode === CSUM_OFF) return OK;
    if (addSums(pseudo, partialSum(this.buf, this.off, this.len)) === 0xffff) return OK;
    const field = (this.buf[this.off + TCP_CHECKSUM]! << 8) | this.buf[this.off + TCP_CHECKSUM + 1]!;
    return mode === CSUM_AUTO && isOffloadForm(field, pseudo) ? TCP_CSUM_OFFLOAD : DROP_TCP_CHECKSUM;
  }

  /** Reads MSS, window scale, SACK-permitted and timestamps; OK or DROP_TCP_OPTIONS. */
  parseOptions(): number {
    this.mss = 0;
    this.wscale = -1;
    this.sackOk = false;
    this.timestamps = false;
    const b = this.buf;
    const end = this.off + this.headerLen;
    let p = this.off + TCP_HEADER_LEN;
    while (p < end) {
      const kind = b[p]!;
      if (kind === OPT_END) break;
      if (kind === OPT_NOP) {
        p++;
        continue;
      }
      if (p + 1 >= end) return DROP_TCP_OPTIONS;
      const len = b[p + 1]!;
      if (len < 2 || p + len > end) return DROP_TCP_OPTIONS;
      if (kind === OPT_MSS) {
        if (len !== 4) return DROP_TCP_OPTIONS;
        this.mss = (b[p + 2]! << 8) | b[p + 3]!;
      } else if (kind === OPT_WSCALE) {
        if (len !== 3) return DROP_TCP_OPTIONS;
        const s = b[p + 2]!;
        this.wscale = s > MAX_WSCALE ? MAX_WSCALE : s;
      } else if (kind === OPT_SACK_OK) {
        if (len !== 2) return DROP_TCP_OPTIONS;
        this.sackOk = true;
      } else if (kind === OPT_TIMESTAMP) {
        if (len !== 10) return DROP_TCP_OPTIONS;
        this.timestamps = true;
      }
      p += len;
    }
    return OK;
  }

  get srcPort(): number {
    return (this.buf[this.off + TCP_SRC_PORT]! << 8) | this.buf[this.off + TCP_SRC_PORT + 1]!;
  }

  get dstPort(): number {
    return (this.buf[this.off + TCP_DST_PORT]! << 8) | this.buf[this.off + TCP_DST_PORT + 1]!;
  }

  get seq(): number {
    return u32(this.buf, this.off + TCP_SEQ);
  }

  get ack(): number {
    return u32(this.buf, this.off + TCP_ACK);
  }

  get flags(): number {
    return this.buf[this.off + TCP_FLAGS]! & 0x3f;
  }

  get window(): number {
    return (this.buf[this.off + TCP_WINDOW]! << 8) | this.buf[this.off + TCP_WINDOW + 1]!;
  }

  get headerLen(): number {
    return (this.buf[this.off + TCP_DATA_OFF]! >> 4) * 4;
  }

  get payloadOffset(): number {
    return this.off + this.headerLen;
  }

  /** Bytes of data: the segment (the IP payload, `len`) less the header. */
  get payloadLen(): number {
    return this.len - this.headerLen;
  }
}

export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Writes a TCP header at b[o]: ports, numbers, flags, window, a data offset for
 * `optionsLen` bytes of options (written by the caller after the 20 bytes), checksum and
 * urgent pointer zero (the checksum is the caller's, once the payload is in place).
 */
export function writeTcpHeader(b: Uint8Array, o: number, sport: number, dport: number, seq: number, ack: number, flags: number, window: number, optionsLen: number): void {
  b[o] = sport >> 8;
  b[o + 1] = sport & 0xff;
  b[o + 2] = dport >> 8;
  b[o + 3] = dport & 0xff;
  put32(b, o + TCP_SEQ, seq);
  put32(b, o + TCP_ACK, ack);
  b[o + TCP_DATA_OFF] = ((TCP_HEADER_LEN + optionsLen) >> 2) << 4;
  b[o + TCP_FLAGS] = flags;
  b[o + TCP_WINDOW] = window >> 8;
  b[o + TCP_WINDOW + 1] = window & 0xff;
  b[o + TCP_CHECKSUM] = 0;
  b[o + TCP_CHECKSUM + 1] = 0;
  b[o + TCP_URGENT] = 0;
  b[o + TCP_URGENT + 1] = 0;
}

/**
 * The SYN-ACK's options at b[o]: MSS, then (when asked) NOP + window scale, then
 * SACK-permitted padded with NOPs. Returns their length (a multiple of 4).
 */
export function writeSynOptions(b: Uint8Array, o: number, mss: number, wscale: number, sackOk: boolean): number {
  let p = o;
  b[p++] = OPT_MSS;
  b[p++] = 4;
  b[p++] = mss >> 8;
  b[p++] = mss & 0xff;
  if (wscale >= 0) {
    b[p++] = OPT_NOP;
    b[p++] = OPT_WSCALE;
    b[p++] = 3;
    b[p++] = wscale;
  }
  if (sackOk) {
    b[p++] = OPT_NOP;
    b[p++] = OPT_NOP;
    b[p++] = OPT_SACK_OK;
    b[p++] = 2;
  }
  return p - o;
}
