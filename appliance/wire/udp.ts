// UDP: RFC 768; over IPv6, RFC 8200 §8.1 (the checksum is mandatory).
//
//    0               2               4               6               8
//   ┌───────────────┬───────────────┬───────────────┬───────────────┐
//   │ Source Port   │ Dest. Port    │ Length        │ Checksum      │
//   └───────────────┴───────────────┴───────────────┴───────────────┘

import { addSums, finish, partialSum } from '../../basics/checksum.js';
import { CSUM_AUTO, CSUM_OFF, DROP_UDP_CHECKSUM, DROP_UDP_MALFORMED, isOffloadForm, OK, UDP_CSUM_OFFLOAD } from './reasons.js';
import { WireView } from './view.js';

export const UDP_HEADER_LEN = 8;
export const UDP_SRC_PORT = 0;
export const UDP_DST_PORT = 2;
export const UDP_LENGTH = 4;
export const UDP_CHECKSUM = 6;

export class UdpView extends WireView {
  /**
   * Length checks, and the checksum as `mode` says (CSUM_*): `pseudo` is the pseudo-header's
   * sum. A zero checksum means "none" over IPv4 and is refused over IPv6 (`zeroAllowed`).
   * Returns OK, UDP_CSUM_OFFLOAD (accepted in the offload form, CSUM_AUTO only) or a drop.
   */
  check(mode: number, pseudo: number, zeroAllowed: boolean): number {
    if (this.len < UDP_HEADER_LEN) return DROP_UDP_MALFORMED;
    const length = this.length;
    if (length < UDP_HEADER_LEN || length > this.len) return DROP_UDP_MALFORMED;
    if (mode === CSUM_OFF) return OK;
    const c = (this.buf[this.off + UDP_CHECKSUM]! << 8) | this.buf[this.off + UDP_CHECKSUM + 1]!;
    if (c === 0) return zeroAllowed ? OK : DROP_UDP_CHECKSUM;
    if (addSums(pseudo, partialSum(this.buf, this.off, length)) === 0xffff) return OK;
    return mode === CSUM_AUTO && isOffloadForm(c, pseudo) ? UDP_CSUM_OFFLOAD : DROP_UDP_CHECKSUM;
  }

  /** The Checksum field as received (0 when the header is too short to hold one). */
  get checksumField(): number {
    if (this.len < UDP_HEADER_LEN) return 0;
    return (this.buf[this.off + UDP_CHECKSUM]! << 8) | this.buf[this.off + UDP_CHECKSUM + 1]!;
  }

  get dstPort(): number {
    return (this.buf[this.off + UDP_DST_PORT]! << 8) | this.buf[this.off + UDP_DST_PORT + 1]!;
  }

  get srcPort(): number {
    return (this.buf[this.off + UDP_SRC_PORT]! << 8) | this.buf[this.off + UDP_SRC_PORT + 1]!;
  }

  /** The Length field (header and data). */
  get length(): number {
    return (this.buf[this.off + UDP_LENGTH]! << 8) | this.buf[this.off + UDP_LENGTH + 1]!;
  }

  get payloadOffset(): number {
    return this.off + UDP_HEADER_LEN;
  }

  /**
   * The reply's header: ports swapped, the length of `payloadLen` bytes of data, and the
   * checksum in full. `pseudo` must be the reply's pseudo-header sum (addresses swap
   * without changing it; the length is the new one).
   */
  reply(payloadLen: number, pseudo: number): void {
    replyUdp(this.buf, this.off, payloadLen, pseudo);
  }
}

/**
 * UdpView.reply's work on the header at b[o]: ports swapped, the length of `payloadLen`
 * bytes of data, the checksum in full (`pseudo`: the reply's pseudo-header sum). A plain
 * function, so that the fast path (appliance/stack/fast-path.ts) writes the same bytes.
 */
export function replyUdp(b: Uint8Array, o: number, payloadLen: number, pseudo: number): void {
  const sp0 = b[o]!, sp1 = b[o + 1]!;
  b[o] = b[o + 2]!;
  b[o + 1] = b[o + 3]!;
  b[o + 2] = sp0;
  b[o + 3] = sp1;
  const length = UDP_HEADER_LEN + payloadLen;
  b[o + UDP_LENGTH] = length >> 8;
  b[o + UDP_LENGTH + 1] = length & 0xff;
  b[o + UDP_CHECKSUM] = 0;
  b[o + UDP_CHECKSUM + 1] = 0;
  let c = finish(addSums(pseudo, partialSum(b, o, length)));
  if (c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
  b[o + UDP_CHECKSUM] = c >> 8;
  b[o + UDP_CHECKSUM + 1] = c & 0xff;
}
