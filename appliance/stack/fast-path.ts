// The fast path: a DNS query over IPv4/UDP in an untagged frame, the case the appliance
// sees millions of times a second, answered without the views' layering.
//
// It is an optimization only, never a second set of rules: it takes a frame only when
// every check the general path (stack.ts) would make passes, and then does exactly what
// the general path does, to the byte and to the counter. Anything else — a failed check,
// an option, a fragment, another protocol, a checksum to verify that does not verify — it
// leaves to the general path, which checks again and counts the drop by its reason. The
// stack tests (test/appliance/stack/) send every frame through Stack.handle, so both paths
// are held to the same expected bytes, and the fuzz tests to the same invariants.
//
// The header rewrites are the views' own functions (replyUdp, replyIpv4, replyEthernet);
// what it saves is the layered parse. Response rate limiting is the stack's own code
// (Stack.answerUdp4 calls the same rateLimit() as the general path), so a limited answer
// is dropped, or slipped and sent with the lengths and checksums of its shorter form, alike
// on both paths. Its cost per frame, against the bench reflector's on the same frames:
// scripts/bench-fast-path.ts (about 800 ns and 150 ns on one core of this machine kind).

import { addSums, fold, partialSum } from '../../basics/checksum.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, ETH_DST, ETH_SRC, ETH_TYPE, replyEthernet } from '../wire/ethernet.js';
import { CSUM_AUTO, CSUM_OFF, isOffloadForm, UDP_CSUM_OFFLOAD } from '../wire/reasons.js';
import { IPV4_HEADER_LEN, IP4_DST, IP4_FLAGS_FRAG, IP4_PROTOCOL, IP4_SRC, IP4_TOTAL_LEN, PROTO_UDP, replyIpv4 } from '../wire/ipv4.js';
import { UDP_CHECKSUM, UDP_DST_PORT, UDP_HEADER_LEN, UDP_LENGTH, UDP_SRC_PORT, replyUdp } from '../wire/udp.js';

const IP = ETHERNET_HEADER_LEN;
const UDP = IP + IPV4_HEADER_LEN;
const DNS = UDP + UDP_HEADER_LEN;
/** Version 4, header length 5 words: no options. */
const VER_IHL_PLAIN = 0x45;
const FRAG_BITS = 0x3fff; // MF and the fragment offset

/** fastUdp4(): not a frame for the fast path; the general path takes it from the start. */
export const FAST_NOT_MINE = -1;
/** fastUdp4() and answerUdp4(): the responder dropped the query (counted as drop_dns by the stack). */
export const FAST_DNS_DROP = -2;
/** fastUdp4() and answerUdp4(): response rate limiting dropped the answer (counted by the limiter). */
export const FAST_RRL_DROP = -3;

/** What the fast path needs of the stack: its addresses, port, and the DNS responder. */
export interface FastPathHost {
  ownsV4(a: number): boolean;
  readonly dnsPort: number;
  /** CSUM_* (wire/reasons.ts). */
  readonly checksums: number;
  readonly mtu: number;
  readonly mac: Uint8Array;
  readonly counters: Float64Array;
  isOurMac(buf: Uint8Array, at: number): boolean;
  /**
   * The responder's answer() for UDP over IPv4, then response rate limiting for the client
   * at mem[srcAt, srcAt+4): the length to send (the slipped answer's when it slips), or
   * FAST_DNS_DROP, FAST_RRL_DROP.
   */
  answerUdp4(mem: Uint8Array, at: number, len: number, room: number, srcAt: number): number;
}

/**
 * The answer's length, now in the frame, when the frame is a well-formed DNS query over
 * IPv4/UDP for us and the responder answered; FAST_DNS_DROP when the responder dropped it,
 * FAST_RRL_DROP when rate limiting did; FAST_NOT_MINE when the frame is anything else (the
 * general path takes it from the start).
 */
export function fastUdp4(h: FastPathHost, b: Uint8Array, off: number, len: number, cap: number): number {
  if (len < DNS || b[off + ETH_TYPE] !== ETHERTYPE_IPV4 >> 8 || b[off + ETH_TYPE + 1] !== (ETHERTYPE_IPV4 & 0xff)) return FAST_NOT_MINE;
  if ((b[off + ETH_SRC]! & 1) === 1 || !h.isOurMac(b, off + ETH_DST)) return FAST_NOT_MINE;
  const ip = off + IP;
  if (b[ip] !== VER_IHL_PLAIN || b[ip + IP4_PROTOCOL] !== PROTO_UDP) return FAST_NOT_MINE;
  const total = (b[ip + IP4_TOTAL_LEN]! << 8) | b[ip + IP4_TOTAL_LEN + 1]!;
  if (total < IPV4_HEADER_LEN + UDP_HEADER_LEN || total > len - IP) return FAST_NOT_MINE;
  if ((((b[ip + IP4_FLAGS_FRAG]! << 8) | b[ip + IP4_FLAGS_FRAG + 1]!) & FRAG_BITS) !== 0) return FAST_NOT_MINE;
  if (partialSum(b, ip, IPV4_HEADER_LEN) !== 0xffff) return FAST_NOT_MINE;
  const dst = ((b[ip + IP4_DST]! << 24) | (b[ip + IP4_DST + 1]! << 16) | (b[ip + IP4_DST + 2]! << 8) | b[ip + IP4_DST + 3]!) >>> 0;
  if (!h.ownsV4(dst)) return FAST_NOT_MINE;
  const src = ((b[ip + IP4_SRC]! << 24) | (b[ip + IP4_SRC + 1]! << 16) | (b[ip + IP4_SRC + 2]! << 8) | b[ip + IP4_SRC + 3]!) >>> 0;
  if (src === 0 || src >>> 28 >= 14 || src >>> 24 === 127 || h.ownsV4(src)) return FAST_NOT_MINE;
  const u = off + UDP;
  const ulen = (b[u + UDP_LENGTH]! << 8) | b[u + UDP_LENGTH + 1]!;
  if (ulen < UDP_HEADER_LEN || ulen > total - IPV4_HEADER_LEN) return FAST_NOT_MINE;
  if (((b[u + UDP_DST_PORT]! << 8) | b[u + UDP_DST_PORT + 1]!) !== h.dnsPort) return FAST_NOT_MINE;
  if ((b[u + UDP_SRC_PORT]! | b[u + UDP_SRC_PORT + 1]!) === 0) return FAST_NOT_MINE;
  const field = (b[u + UDP_CHECKSUM]! << 8) | b[u + UDP_CHECKSUM + 1]!;
  // The addresses' sum, for the pseudo-headers of the query and of the reply (the reply swaps them: the same sum).
  const addrs = partialSum(b, ip + IP4_SRC, 8);
  if (h.checksums !== CSUM_OFF && field !== 0) {
    const pseudo = fold(addrs + PROTO_UDP + ulen);
    if (addSums(pseudo, partialSum(b, u, ulen)) !== 0xffff) {
      // The form a local peer with checksum offload sends (auto only), or a drop the general path counts.
      if (h.checksums !== CSUM_AUTO || !isOffloadForm(field, pseudo)) return FAST_NOT_MINE;
      h.counters[UDP_CSUM_OFFLOAD]!++;
    }
  }
  const room = Math.min(off + cap - (u + UDP_HEADER_LEN), h.mtu - IPV4_HEADER_LEN - UDP_HEADER_LEN);
  if (room < 12) return FAST_NOT_MINE;
  const n = h.answerUdp4(b, u + UDP_HEADER_LEN, ulen - UDP_HEADER_LEN, room, ip + IP4_SRC);
  if (n < 0) return n;

  // The replies' headers, with the views' own functions (the same bytes as the general path).
  const newUlen = UDP_HEADER_LEN + n;
  replyUdp(b, u, n, fold(addrs + PROTO_UDP + newUlen));
  replyIpv4(b, ip, newUlen);
  replyEthernet(b, off, h.mac);
  return IP + IPV4_HEADER_LEN + newUlen;
}

/**
 * Before a batch is handled: the DNS payloads of the frames that look like queries over
 * IPv4/UDP to our port, into offs/plens; returns how many (the responder reads ahead for
 * them, DnsResponder.warm: a big zone's lookups miss the cache). Only a look: each frame is still judged whole by fastUdp4() or
 * the general path, and a frame taken here that either refuses costs a wasted read-ahead.
 * Like fastUdp4() it reads fixed offsets without the views' check(): every read is within
 * the frame's length, and what it finds only steers reads of the tables, never an answer.
 */
export function warmUdp4(dnsPort: number, b: Uint8Array, addrs: ArrayLike<number>, lens: ArrayLike<number>, count: number,
  offs: Int32Array, plens: Int32Array): number {
  let m = 0;
  for (let i = 0; i < count && m < offs.length; i++) {
    const off = addrs[i]!, len = lens[i]!;
    if (len < DNS + 12 || b[off + ETH_TYPE] !== ETHERTYPE_IPV4 >> 8 || b[off + ETH_TYPE + 1] !== (ETHERTYPE_IPV4 & 0xff)) continue;
    const ip = off + IP, u = off + UDP;
    if (b[ip] !== VER_IHL_PLAIN || b[ip + IP4_PROTOCOL] !== PROTO_UDP) continue;
    if (((b[u + UDP_DST_PORT]! << 8) | b[u + UDP_DST_PORT + 1]!) !== dnsPort) continue;
    const ulen = (b[u + UDP_LENGTH]! << 8) | b[u + UDP_LENGTH + 1]!;
    if (ulen < UDP_HEADER_LEN + 12 || ulen > len - UDP) continue;
    offs[m] = u + UDP_HEADER_LEN;
    plens[m++] = ulen - UDP_HEADER_LEN;
  }
  return m;
}
