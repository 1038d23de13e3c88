// Writing segments. Two shapes:
//
//   a connection's segment, into any frame:  Ethernet (+ the peer's VLAN tag) │ IPv4 or IPv6 │
//     TCP header (+ SYN options) │ payload copied from the output records (sums made while
//     copying: the copy path) — the addresses, ports, MACs come from the slot's columns;
//
//   a reply turned around in the frame it answers (a RST for a segment that belongs to
//     nothing, an ACK from TIME-WAIT, a cookie SYN-ACK): the received headers are reused,
//     addresses and ports swapped, options and data dropped.
//
// Every checksum is written in full (the peer's kernel verifies it). RFC 9293 §3.1, RFC 791,
// RFC 8200, RFC 1071.

import { addSums, finish, partialSum } from '../../../basics/checksum.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, replyEthernet } from '../../wire/ethernet.js';
import { DEFAULT_TTL, IPV4_HEADER_LEN, PROTO_TCP, replyIpv4 } from '../../wire/ipv4.js';
import { DEFAULT_HOP_LIMIT, IPV6_HEADER_LEN, IP6_DST, IP6_HOP_LIMIT, IP6_PAYLOAD_LEN, IP6_SRC } from '../../wire/ipv6.js';
import { TCP_CHECKSUM, TCP_HEADER_LEN, writeSynOptions, writeTcpHeader } from '../../wire/tcp.js';
import type { TcpTable } from './table.js';

/** What the segment writer needs of the stack: our MAC and addresses. */
export interface SegmentHost {
  readonly mac: Uint8Array;
  /** Our IPv4 addresses (u32), indexed by a slot's LOCAL. */
  readonly v4: Uint32Array;
  /** Our IPv6 addresses, 16 bytes each, indexed by a slot's LOCAL. */
  readonly v6: Uint8Array;
}

/** Fills a segment's payload: writes n bytes at dst[at] and returns their sum (`v6`: the pieces cut for IPv6's MSS apply). */
export interface PayloadSource {
  copy(slot: number, seq: number, n: number, dst: Uint8Array, at: number, v6: boolean): number;
}

/** SYN options a SYN-ACK carries: our MSS, our shift (-1: none), SACK-permitted. */
export interface SynOptions {
  mss: number;
  wscale: number;
  sackOk: boolean;
}

/** Bytes of Ethernet and IP headers in front of a connection's TCP header. */
export function headersLen(t: TcpTable, s: number): number {
  return ETHERNET_HEADER_LEN + (t.VLAN[s]! >= 0 ? 4 : 0) + (t.FAMILY[s] === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN);
}

/**
 * Writes a segment of slot `s` into the frame at mem[at]: `n` bytes of payload from `src`
 * at `seq` (n may be 0), the SYN options when `syn` is given. Returns the frame's length.
 */
export function writeSegment(
  mem: Uint8Array, at: number, t: TcpTable, s: number, host: SegmentHost,
  seq: number, ack: number, flags: number, window: number, n: number, src: PayloadSource | null, syn: SynOptions | null,
): number {
  // Ethernet: to the MAC the peer's frames came from, from ours, behind its tag if it had one.
  let p = at;
  const rm = s * 6;
  for (let i = 0; i < 6; i++) mem[p + i] = t.R_MAC[rm + i]!;
  for (let i = 0; i < 6; i++) mem[p + 6 + i] = host.mac[i]!;
  p += 12;
  const tci = t.VLAN[s]!;
  if (tci >= 0) {
    mem[p] = ETHERTYPE_VLAN >> 8;
    mem[p + 1] = ETHERTYPE_VLAN & 0xff;
    mem[p + 2] = tci >> 8;
    mem[p + 3] = tci & 0xff;
    p += 4;
  }
  const v4 = t.FAMILY[s] === 4;
  const type = v4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  mem[p] = type >> 8;
  mem[p + 1] = type & 0xff;
  p += 2;
  const ipAt = p;
  const tcpAt = ipAt + (v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN);
  const optLen = syn === null ? 0 : writeSynOptions(mem, tcpAt + TCP_HEADER_LEN, syn.mss, syn.wscale, syn.sackOk);
  const tcpLen = TCP_HEADER_LEN + optLen + n;
  let pseudo: number;
  if (v4) {
    writeIpv4(mem, ipAt, host.v4[t.LOCAL[s]!]!, t.R_ADDR4[s]!, tcpLen);
    pseudo = partialSum(mem, ipAt + 12, 8, PROTO_TCP + tcpLen);
  } else {
    mem[ipAt] = 0x60;
    mem[ipAt + 1] = 0;
    mem[ipAt + 2] = 0;
    mem[ipAt + 3] = 0;
    mem[ipAt + IP6_PAYLOAD_LEN] = tcpLen >> 8;
    mem[ipAt + IP6_PAYLOAD_LEN + 1] = tcpLen & 0xff;
    mem[ipAt + 6] = PROTO_TCP;
    mem[ipAt + IP6_HOP_LIMIT] = DEFAULT_HOP_LIMIT;
    const l = t.LOCAL[s]! * 16;
    for (let i = 0; i < 16; i++) mem[ipAt + IP6_SRC + i] = host.v6[l + i]!;
    const r = s * 16;
    for (let i = 0; i < 16; i++) mem[ipAt + IP6_DST + i] = t.R_ADDR6[r + i]!;
    pseudo = partialSum(mem, ipAt + IP6_SRC, 32, PROTO_TCP + tcpLen);
  }
  writeTcpHeader(mem, tcpAt, t.L_PORT[s]!, t.R_PORT[s]!, seq, ack, flags, window, optLen);
  const hl = TCP_HEADER_LEN + optLen;
  const payloadSum = n > 0 && src !== null ? src.copy(s, seq, n, mem, tcpAt + hl, !v4) : 0;
  const c = finish(addSums(addSums(pseudo, partialSum(mem, tcpAt, hl)), payloadSum));
  mem[tcpAt + TCP_CHECKSUM] = c >> 8;
  mem[tcpAt + TCP_CHECKSUM + 1] = c & 0xff;
  return tcpAt + tcpLen - at;
}

function writeIpv4(mem: Uint8Array, o: number, src: number, dst: number, payloadLen: number): void {
  const total = IPV4_HEADER_LEN + payloadLen;
  mem[o] = 0x45;
  mem[o + 1] = 0;
  mem[o + 2] = total >> 8;
  mem[o + 3] = total & 0xff;
  mem[o + 4] = 0; // identification: 0 with DF (RFC 6864 §4.1)
  mem[o + 5] = 0;
  mem[o + 6] = 0x40; // DF
  mem[o + 7] = 0;
  mem[o + 8] = DEFAULT_TTL;
  mem[o + 9] = PROTO_TCP;
  mem[o + 10] = 0;
  mem[o + 11] = 0;
  put32(mem, o + 12, src);
  put32(mem, o + 16, dst);
  const c = finish(partialSum(mem, o, IPV4_HEADER_LEN));
  mem[o + 10] = c >> 8;
  mem[o + 11] = c & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Turns the received frame at mem[off] around into a bare TCP segment (no data) of
 * `flags` with `seq` and `ack`, back to where it came from. `ipAt` and `tcpAt` are the
 * received headers' offsets; the addresses and ports swap, options go (unless `syn` asks
 * for SYN options). Returns the reply's length.
 */
export function turnAround(
  mem: Uint8Array, off: number, ipAt: number, tcpAt: number, v4: boolean, mac: Uint8Array,
  seq: number, ack: number, flags: number, window: number, syn: SynOptions | null,
): number {
  const sport = (mem[tcpAt]! << 8) | mem[tcpAt + 1]!;
  const dport = (mem[tcpAt + 2]! << 8) | mem[tcpAt + 3]!;
  const optLen = syn === null ? 0 : writeSynOptions(mem, tcpAt + TCP_HEADER_LEN, syn.mss, syn.wscale, syn.sackOk);
  const tcpLen = TCP_HEADER_LEN + optLen;
  let pseudo: number;
  if (v4) {
    replyIpv4(mem, ipAt, tcpLen);
    pseudo = partialSum(mem, ipAt + 12, 8, PROTO_TCP + tcpLen);
  } else {
    for (let i = 0; i < 16; i++) {
      const x = mem[ipAt + IP6_SRC + i]!;
      mem[ipAt + IP6_SRC + i] = mem[ipAt + IP6_DST + i]!;
      mem[ipAt + IP6_DST + i] = x;
    }
    mem[ipAt] = 0x60;
    mem[ipAt + 1] = 0;
    mem[ipAt + 2] = 0;
    mem[ipAt + 3] = 0;
    mem[ipAt + IP6_PAYLOAD_LEN] = tcpLen >> 8;
    mem[ipAt + IP6_PAYLOAD_LEN + 1] = tcpLen & 0xff;
    mem[ipAt + IP6_HOP_LIMIT] = DEFAULT_HOP_LIMIT;
    pseudo = partialSum(mem, ipAt + IP6_SRC, 32, PROTO_TCP + tcpLen);
  }
  writeTcpHeader(mem, tcpAt, dport, sport, seq, ack, flags, window, optLen);
  const c = finish(addSums(pseudo, partialSum(mem, tcpAt, tcpLen)));
  mem[tcpAt + TCP_CHECKSUM] = c >> 8;
  mem[tcpAt + TCP_CHECKSUM + 1] = c & 0xff;
  replyEthernet(mem, off, mac);
  return tcpAt + tcpLen - off;
}
