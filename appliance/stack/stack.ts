// The fused stack: one received Ethernet frame in, its answer out, rewritten in place.
//
// Layers: wire views (appliance/wire/*) check and read headers; this file decides, from
// parsed fields, what the frame is for; the DNS responder answers the UDP payload. Every
// answer leaves from the frame it came in (zero copy) and goes back to the MAC address it
// came from (the symmetric-path rule of Knot DNS and dnsdist: no neighbour table is needed
// to answer). A frame that is not for us, or malformed, is dropped and counted by reason.
//
// TCP segments for our addresses go to the worker's TCP (stack/tcp/): what it answers in
// place (a SYN-ACK, a RST) leaves in the same frame; what it sends later in the batch (data,
// ACKs, retransmissions) is written into spare or new frames by endBatch().
//
// Each DNS answer over UDP then goes through the worker's response rate limiter, when it
// has one (dns/rrl.ts; one per worker, shared-nothing): sent as it is, sent slipped (cut to
// TC=1 by the responder, with the UDP and IP lengths and checksums of the shorter answer),
// or not sent at all (counted as rrl_dropped; the frame is a spare). The limiter keys on the
// source address as the frame carries it. TCP answers are never limited.
//
// RFC 826 (ARP), RFC 791 (IPv4), RFC 8200 (IPv6), RFC 792 and RFC 4443 (echo),
// RFC 4861 §7.2 (neighbour discovery), RFC 768 (UDP), RFC 1035 (DNS over UDP), RFC 9293 (TCP).

import type { NotifyGate } from '../dns/notify.js';
import { ArpView, ARP_LEN, ARP_REQUEST } from '../wire/arp.js';
import { EthernetView, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETH_DST, ETH_SRC } from '../wire/ethernet.js';
import { CSUM_OFF } from '../wire/reasons.js';
import { IcmpView, ICMP_ECHO_REQUEST } from '../wire/icmp.js';
import { Icmpv6View, ICMP6_ECHO_REQUEST, ICMP6_NEIGHBOR_SOLICITATION, NA_LEN, NDP_TARGET } from '../wire/icmpv6.js';
import { Ipv4View, IPV4_HEADER_LEN, IP4_SRC, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from '../wire/ipv4.js';
import { Ipv6View, IPV6_HEADER_LEN, IP6_DST, IP6_SRC, NH_ICMPV6, NH_TCP, NH_UDP } from '../wire/ipv6.js';
import { TcpView } from '../wire/tcp.js';
import { UdpView, UDP_HEADER_LEN } from '../wire/udp.js';
import type { Tcp } from './tcp/tcp.js';
import type { TxQueue } from './tx.js';
import { TRANSPORT_UDP, type DnsResponder } from '../dns/responder.js';
import { WARM_BATCH } from '../dns/tables.js';
import { FAMILY_IPV4, FAMILY_IPV6, RRL_DROP, RRL_SLIP, type ResponseRateLimiter } from '../dns/rrl.js';
import * as C from './counters.js';
import type { QueryLog } from '../log-ring.js';
import { FAST_DNS_DROP, FAST_RRL_DROP, fastUdp4, warmUdp4, type FastPathHost } from './fast-path.js';

export interface StackConfig {
  /** The interface's MAC address: the source of every answer. */
  mac: Uint8Array;
  /** IPv4 addresses the appliance owns, as u32. */
  ipv4: readonly number[];
  /** IPv6 addresses the appliance owns, 16 bytes each. */
  ipv6: readonly Uint8Array[];
  dnsPort: number;
  /**
   * How received UDP checksums are checked (CSUM_AUTO, CSUM_STRICT, CSUM_OFF; wire/reasons.ts).
   * AUTO, the default, verifies but accepts, and counts, the form a veth or container peer
   * with transmit checksum offload sends (only the pseudo-header sum in the field).
   */
  checksums: number;
  mtu: number;
}

const ALL_NODES_MAC = Uint8Array.of(0x33, 0x33, 0, 0, 0, 1);
const NDP_HOP_LIMIT = 255;

export class Stack implements FastPathHost {
  private readonly eth = new EthernetView();
  private readonly arp = new ArpView();
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();
  private readonly icmp = new IcmpView();
  private readonly icmp6 = new Icmpv6View();
  private readonly udp = new UdpView();
  private readonly tcpView = new TcpView();
  readonly mac: Uint8Array;
  readonly dnsPort: number;
  readonly checksums: number;
  readonly mtu: number;
  /** Our IPv4 addresses (u32) and IPv6 addresses (16 bytes each): what TCP's segments come from. */
  readonly v4: Uint32Array;
  readonly v6: Uint8Array;
  private readonly v6Count: number;
  /** The worker's TCP (set by attachTcp), or null: TCP is then a counted drop. */
  tcp: Tcp | null = null;
  /** The query log (--query-log): UDP answers sent, sampled; or null. */
  queryLog: QueryLog | null = null;
  /** Who may NOTIFY the secondary zones (null: none here; every NOTIFY is REFUSED). */
  notifyGate: NotifyGate | null = null;

  /**
   * The batch's clock in whole seconds, for response rate limiting (a small integer: see
   * rrl.ts on why it must not be a heap number). `now` is monotonic (performance.now()),
   * so these seconds count from the worker's start; RRL only takes their differences.
   */
  private rrlNow = 0;

  /** `rrl`: the worker's response rate limiter, or null (RRL off). */
  constructor(readonly cfg: StackConfig, private readonly dns: DnsResponder | null, readonly counters: Float64Array,
    private readonly rrl: ResponseRateLimiter | null = null) {
    this.mac = Uint8Array.from(cfg.mac);
    this.dnsPort = cfg.dnsPort;
    this.checksums = cfg.checksums;
    this.mtu = cfg.mtu;
    this.v4 = Uint32Array.from(cfg.ipv4);
    this.v6 = new Uint8Array(cfg.ipv6.length * 16);
    cfg.ipv6.forEach((a, i) => this.v6.set(a, i * 16));
    this.v6Count = cfg.ipv6.length;
  }

  /** The stack's TCP (built over this stack: its segments come from our MAC and addresses). */
  attachTcp(tcp: Tcp): void {
    this.tcp = tcp;
  }

  /** The DNS responder, null when the image has no zones. */
  get responder(): DnsResponder | null {
    return this.dns;
  }

  // warm()'s payload spans.
  private readonly warmOffs = new Int32Array(WARM_BATCH);
  private readonly warmLens = new Int32Array(WARM_BATCH);

  /**
   * Before the frames addrs[0, count) of a batch are handled: lets the DNS responder read
   * ahead for the queries among them (DnsResponder.warm; a no-op but for a big zone).
   */
  warm(mem: Uint8Array, addrs: ArrayLike<number>, lens: ArrayLike<number>, count: number): void {
    // The frames are looked at only when the responder would read ahead.
    if (this.dns === null || count < 2 || !this.dns.t.warmPays) return;
    const m = warmUdp4(this.dnsPort, mem, addrs, lens, count, this.warmOffs, this.warmLens);
    this.dns.warm(mem, this.warmOffs, this.warmLens, m);
  }

  /**
   * Handles the frame at mem[off, off+len); `cap` bytes from `off` may be written; `now` is
   * the batch's clock (ms). Returns the length of the answer now in the same frame, or 0:
   * nothing goes out of this frame (it is a spare for endBatch()).
   */
  handle(mem: Uint8Array, off: number, len: number, cap: number, now = 0): number {
    const c = this.counters;
    c[C.RX_FRAMES]!++;
    this.now = now;
    this.rrlNow = (now / 1000) | 0;
    if (this.dns !== null) {
      // DNS over IPv4/UDP, the bulk of the traffic: the fast path, when it applies.
      const n = fastUdp4(this, mem, off, len, cap);
      if (n > 0) {
        c[C.DNS_ANSWERS]!++;
        return n;
      }
      if (n === FAST_DNS_DROP) return this.drop(C.DROP_DNS);
      if (n === FAST_RRL_DROP) return 0; // counted by the limiter (rrl_dropped)
    }
    const eth = this.eth.wrap(mem, off, len);
    let r = eth.check();
    if (r !== C.OK) return this.drop(r);
    // IEEE 802: no frame comes from a group address; a unicast frame for another host (a
    // shared segment, a switch flooding) is not ours to answer.
    if ((mem[off + ETH_SRC]! & 1) === 1) return this.drop(C.DROP_SRC_MAC);
    if ((mem[off + ETH_DST]! & 1) === 0 && !this.isOurMac(mem, off + ETH_DST)) return this.drop(C.DROP_DST_MAC);
    const type = eth.etherType;
    if (type === ETHERTYPE_IPV4) return this.ipv4(mem, off, cap);
    if (type === ETHERTYPE_IPV6) return this.ipv6(mem, off, cap);
    if (type === ETHERTYPE_ARP) {
      const arp = this.arp.wrap(mem, eth.payloadOffset, eth.payloadLen);
      r = arp.check();
      if (r !== C.OK) return this.drop(r);
      if (arp.oper !== ARP_REQUEST) return this.drop(C.DROP_ARP_NOT_REQUEST);
      if (!this.ownsV4(arp.tpa)) return this.drop(C.DROP_ARP_NOT_OURS);
      arp.answerRequest(this.mac);
      eth.replyFrom(this.mac);
      c[C.ARP_REPLIES]!++;
      return eth.headerLen + ARP_LEN;
    }
    return this.drop(C.DROP_ETH_TYPE);
  }

  /** The batch's clock, for the TCP of the frame being handled. */
  private now = 0;

  /** After the batch's frames: what TCP sends (data, ACKs, retransmissions) and its timers. */
  endBatch(now: number, tx: TxQueue): void {
    const tcp = this.tcp;
    if (tcp === null) return;
    tcp.output(now, tx);
    tcp.tick(now, tx);
  }

  /** When something is due without any frame coming in (ms), or Infinity. */
  nextDeadline(): number {
    return this.tcp === null ? Infinity : this.tcp.nextDeadline();
  }

  private drop(reason: number): number {
    this.counters[reason]!++;
    return 0;
  }

  isOurMac(buf: Uint8Array, at: number): boolean {
    const m = this.mac;
    for (let i = 0; i < 6; i++) if (buf[at + i] !== m[i]) return false;
    return true;
  }

  ownsV4(a: number): boolean {
    return this.ownedV4(a) >= 0;
  }

  /** Index of the owned IPv4 address `a`, or -1. */
  private ownedV4(a: number): number {
    const v4 = this.v4;
    for (let i = 0; i < v4.length; i++) if (v4[i] === a) return i;
    return -1;
  }

  /** Index of the owned IPv6 address equal to buf[at, at+16), or -1. */
  private ownedV6(buf: Uint8Array, at: number): number {
    const v6 = this.v6;
    outer: for (let k = 0; k < this.v6Count; k++) {
      const base = k * 16;
      for (let i = 15; i >= 0; i--) if (v6[base + i] !== buf[at + i]) continue outer;
      return k;
    }
    return -1;
  }

  /** Is buf[at, at+16) the solicited-node multicast address of an owned address (RFC 4291 §2.7.1)? */
  private solicitedNodeOfOurs(buf: Uint8Array, at: number): boolean {
    if (buf[at] !== 0xff || buf[at + 1] !== 0x02 || buf[at + 11] !== 1 || buf[at + 12] !== 0xff) return false;
    for (let i = 2; i < 11; i++) if (buf[at + i] !== 0) return false;
    const v6 = this.v6;
    for (let k = 0; k < this.v6Count; k++) {
      const base = k * 16;
      if (v6[base + 13] === buf[at + 13] && v6[base + 14] === buf[at + 14] && v6[base + 15] === buf[at + 15]) return true;
    }
    return false;
  }

  private ipv4(mem: Uint8Array, off: number, cap: number): number {
    const eth = this.eth;
    const ip = this.ip4.wrap(mem, eth.payloadOffset, eth.payloadLen);
    let r = ip.check();
    if (r !== C.OK) return this.drop(r);
    if (!this.ownsV4(ip.dst)) return this.drop(C.DROP_IP4_NOT_OURS);
    // No answer to 0.0.0.0, multicast (224/4) or broadcast and reserved (240/4) sources.
    const src = ip.src;
    if (src === 0 || src >>> 28 >= 14) return this.drop(C.DROP_SRC_ADDRESS);
    if (src >>> 24 === 127) return this.drop(C.DROP_SRC_LOOPBACK);
    if (this.ownsV4(src)) return this.drop(C.DROP_SRC_OURS);
    const proto = ip.protocol;
    if (proto === PROTO_UDP) {
      const udp = this.udp.wrap(mem, ip.payloadOffset, ip.payloadLen);
      // RFC 768: the pseudo-header carries the UDP Length, which may be less than the IP payload.
      // Over IPv4 a zero checksum means none (RFC 768): then the pseudo-header is not summed.
      const mode = udp.checksumField !== 0 ? this.checksums : CSUM_OFF;
      r = udp.check(mode, mode !== CSUM_OFF ? ip.pseudoHeaderSum(PROTO_UDP, udpLength(udp)) : 0, true);
      if (r === C.UDP_CSUM_OFFLOAD) this.counters[r]!++;
      else if (r !== C.OK) return this.drop(r);
      if (udp.srcPort === 0) return this.drop(C.DROP_UDP_SRC_PORT0);
      const n = this.dnsAnswer(mem, off, cap, IPV4_HEADER_LEN, false, ip.off + IP4_SRC);
      if (n <= 0) return 0;
      udp.reply(n, ip.pseudoHeaderSum(PROTO_UDP, UDP_HEADER_LEN + n));
      ip.reply(UDP_HEADER_LEN + n);
      eth.replyFrom(this.mac);
      return eth.headerLen + IPV4_HEADER_LEN + UDP_HEADER_LEN + n;
    }
    if (proto === PROTO_TCP) {
      if (this.tcp === null) return this.drop(C.DROP_IP_PROTOCOL);
      const tv = this.tcpView.wrap(mem, ip.payloadOffset, ip.payloadLen);
      r = tv.check(this.checksums, ip.pseudoHeaderSum(PROTO_TCP, ip.payloadLen));
      if (r === C.TCP_CSUM_OFFLOAD) this.counters[r]!++;
      else if (r !== C.OK) return this.drop(r);
      r = tv.parseOptions();
      if (r !== C.OK) return this.drop(r);
      return this.tcp.segment(mem, off, ip.off, true, this.ownedV4(ip.dst), eth.vlanTci, tv, this.now);
    }
    if (proto === PROTO_ICMP) {
      const icmp = this.icmp.wrap(mem, ip.payloadOffset, ip.payloadLen);
      r = icmp.check();
      if (r !== C.OK) return this.drop(r);
      if (icmp.type !== ICMP_ECHO_REQUEST || icmp.code !== 0) return this.drop(C.DROP_ICMP_TYPE);
      icmp.echoReply();
      ip.reply(icmp.len);
      eth.replyFrom(this.mac);
      this.counters[C.ICMP_ECHO_REPLIES]!++;
      return eth.headerLen + IPV4_HEADER_LEN + icmp.len;
    }
    return this.drop(C.DROP_IP_PROTOCOL);
  }

  private ipv6(mem: Uint8Array, off: number, cap: number): number {
    const eth = this.eth;
    const ip = this.ip6.wrap(mem, eth.payloadOffset, eth.payloadLen);
    let r = ip.check();
    if (r !== C.OK) return this.drop(r);
    const dstAt = ip.off + IP6_DST;
    const unicast = this.ownedV6(mem, dstAt) >= 0;
    const nh = ip.nextHeader;
    if (!unicast && !(nh === NH_ICMPV6 && this.solicitedNodeOfOurs(mem, dstAt))) return this.drop(C.DROP_IP6_NOT_OURS);
    // No answer to a multicast source; the unspecified source only in a DAD solicitation.
    if (mem[ip.off + IP6_SRC] === 0xff) return this.drop(C.DROP_SRC_ADDRESS);
    if (ip.srcIsUnspecified() && !(nh === NH_ICMPV6 && ip.payloadLen > 0 && mem[ip.payloadOffset] === ICMP6_NEIGHBOR_SOLICITATION)) {
      return this.drop(C.DROP_SRC_ADDRESS);
    }
    if (isLoopback6(mem, ip.off + IP6_SRC)) return this.drop(C.DROP_SRC_LOOPBACK);
    if (this.ownedV6(mem, ip.off + IP6_SRC) >= 0) return this.drop(C.DROP_SRC_OURS);
    if (nh === NH_UDP) {
      const udp = this.udp.wrap(mem, ip.payloadOffset, ip.payloadLen);
      // RFC 8200 §8.1: UDP's own Length is the upper-layer length of the pseudo-header.
      r = udp.check(this.checksums, ip.pseudoHeaderSum(NH_UDP, udpLength(udp)), false);
      if (r === C.UDP_CSUM_OFFLOAD) this.counters[r]!++;
      else if (r !== C.OK) return this.drop(r);
      if (udp.srcPort === 0) return this.drop(C.DROP_UDP_SRC_PORT0);
      const n = this.dnsAnswer(mem, off, cap, IPV6_HEADER_LEN, true, ip.off + IP6_SRC);
      if (n <= 0) return 0;
      ip.reply(UDP_HEADER_LEN + n);
      udp.reply(n, ip.pseudoHeaderSum(NH_UDP, UDP_HEADER_LEN + n));
      eth.replyFrom(this.mac);
      return eth.headerLen + IPV6_HEADER_LEN + UDP_HEADER_LEN + n;
    }
    if (nh === NH_TCP) {
      if (this.tcp === null || !unicast) return this.drop(this.tcp === null ? C.DROP_IP_PROTOCOL : C.DROP_IP6_NOT_OURS);
      const tv = this.tcpView.wrap(mem, ip.payloadOffset, ip.payloadLen);
      r = tv.check(this.checksums, ip.pseudoHeaderSum(NH_TCP, ip.payloadLen));
      if (r === C.TCP_CSUM_OFFLOAD) this.counters[r]!++;
      else if (r !== C.OK) return this.drop(r);
      r = tv.parseOptions();
      if (r !== C.OK) return this.drop(r);
      return this.tcp.segment(mem, off, ip.off, false, this.ownedV6(mem, dstAt), eth.vlanTci, tv, this.now);
    }
    if (nh === NH_ICMPV6) {
      const icmp = this.icmp6.wrap(mem, ip.payloadOffset, ip.payloadLen);
      r = icmp.check(ip.pseudoHeaderSum(NH_ICMPV6, ip.payloadLen));
      if (r !== C.OK) return this.drop(r);
      const type = icmp.type;
      if (type === ICMP6_ECHO_REQUEST && unicast && icmp.code === 0) {
        ip.reply(icmp.len);
        icmp.echoReply(ip.pseudoHeaderSum(NH_ICMPV6, icmp.len));
        eth.replyFrom(this.mac);
        this.counters[C.ICMP6_ECHO_REPLIES]!++;
        return eth.headerLen + IPV6_HEADER_LEN + icmp.len;
      }
      if (type === ICMP6_NEIGHBOR_SOLICITATION) return this.solicitation(mem, off, cap);
      return this.drop(C.DROP_ICMP_TYPE);
    }
    return this.drop(C.DROP_IP_PROTOCOL);
  }

  answerUdp4(mem: Uint8Array, at: number, len: number, room: number, srcAt: number): number {
    let n = this.dns!.answer(mem, at, len, room, TRANSPORT_UDP, false);
    if (n < 0) return FAST_DNS_DROP;
    if (this.dns!.notified >= 0) n = this.judgeNotify(mem, at, n, srcAt, FAMILY_IPV4);
    const m = this.rrl === null ? n : this.rateLimit(mem, at, n, srcAt, FAMILY_IPV4);
    if (m < 0) return FAST_RRL_DROP;
    if (this.queryLog !== null) this.queryLog.udp(4, mem, srcAt, at, m, this.now);
    return m;
  }

  /** A NOTIFY reply just written at mem[at, at+n), from the address at mem[srcAt..]: kept for a primary (the gate tells the supervisor), else REFUSED. */
  private judgeNotify(mem: Uint8Array, at: number, n: number, srcAt: number, family: number): number {
    const dns = this.dns!;
    return this.notifyGate !== null ? this.notifyGate.judge(dns, mem, at, n, mem, srcAt, family) : dns.notifyRefused(mem, at);
  }

  /**
   * Response rate limiting of the UDP answer just written at mem[at, at+n) for the query
   * from the address at mem[srcAt..] (the general path and the fast path both come here):
   * the length to send (n, or the slipped answer's), or -1 when nothing goes out (the
   * limiter counts it).
   */
  private rateLimit(mem: Uint8Array, at: number, n: number, srcAt: number, family: number): number {
    const dns = this.dns!;
    const d = this.rrl!.decide(mem, srcAt, family, dns.rrlClass, dns.rrlName, this.rrlNow);
    if (d === RRL_DROP) return -1;
    if (d === RRL_SLIP) return dns.slip(mem, at);
    return n;
  }

  /** RFC 4861 §7.2.3-4: a valid solicitation for an address we own gets an advertisement. */
  private solicitation(mem: Uint8Array, off: number, cap: number): number {
    const eth = this.eth, ip = this.ip6, icmp = this.icmp6;
    if (ip.hopLimit !== NDP_HOP_LIMIT) return this.drop(C.DROP_NDP_MALFORMED);
    const dad = ip.srcIsUnspecified();
    // §7.1.1: from the unspecified address, only to a solicited-node group (the one multicast
    // destination ipv6() lets through for a solicitation).
    if (dad && mem[ip.off + IP6_DST] !== 0xff) return this.drop(C.DROP_NDP_MALFORMED);
    const r = icmp.checkSolicitation(dad);
    if (r !== C.OK) return this.drop(r);
    const target = icmp.off + NDP_TARGET;
    if (this.ownedV6(mem, target) < 0) return this.drop(C.DROP_NDP_NOT_OURS);
    if (eth.headerLen + IPV6_HEADER_LEN + NA_LEN > cap) return this.drop(C.DROP_TOO_BIG);
    // Addresses: from the target, to the solicitor (to all nodes for duplicate address detection).
    const ipOff = ip.off;
    if (dad) {
      mem[ipOff + IP6_DST] = 0xff;
      mem[ipOff + IP6_DST + 1] = 0x02;
      for (let i = 2; i < 15; i++) mem[ipOff + IP6_DST + i] = 0;
      mem[ipOff + IP6_DST + 15] = 1;
    } else {
      mem.copyWithin(ipOff + IP6_DST, ipOff + IP6_SRC, ipOff + IP6_SRC + 16);
    }
    mem.copyWithin(ipOff + IP6_SRC, target, target + 16);
    mem[ipOff + 4] = 0;
    mem[ipOff + 5] = NA_LEN;
    mem[ipOff + 7] = NDP_HOP_LIMIT;
    icmp.len = NA_LEN;
    icmp.advertise(this.mac, !dad, ip.pseudoHeaderSum(NH_ICMPV6, NA_LEN));
    if (dad) {
      mem.set(ALL_NODES_MAC, off);
      mem.set(this.mac, off + 6);
    } else {
      eth.replyFrom(this.mac);
    }
    this.counters[C.NDP_ADVERTISEMENTS]!++;
    return eth.headerLen + IPV6_HEADER_LEN + NA_LEN;
  }

  /**
   * The DNS answer for the UDP datagram in this.udp, written in place, after response rate
   * limiting (the client's address at mem[srcAt..]); its length, or 0: nothing to send.
   */
  private dnsAnswer(mem: Uint8Array, off: number, cap: number, ipHeaderLen: number, v6: boolean, srcAt: number): number {
    const udp = this.udp;
    if (udp.dstPort !== this.cfg.dnsPort || this.dns === null) return this.drop(C.DROP_UDP_PORT);
    const at = udp.payloadOffset;
    const room = Math.min(off + cap - at, this.cfg.mtu - ipHeaderLen - UDP_HEADER_LEN);
    if (room < 12) return this.drop(C.DROP_TOO_BIG);
    let n = this.dns.answer(mem, at, udp.length - UDP_HEADER_LEN, room, TRANSPORT_UDP, v6);
    if (n < 0) return this.drop(C.DROP_DNS);
    if (this.dns.notified >= 0) n = this.judgeNotify(mem, at, n, srcAt, v6 ? FAMILY_IPV6 : FAMILY_IPV4);
    if (this.rrl !== null) {
      n = this.rateLimit(mem, at, n, srcAt, v6 ? FAMILY_IPV6 : FAMILY_IPV4);
      if (n < 0) return 0; // counted by the limiter (rrl_dropped)
    }
    if (this.queryLog !== null) this.queryLog.udp(v6 ? 6 : 4, mem, srcAt, at, n, this.now);
    this.counters[C.DNS_ANSWERS]!++;
    return n;
  }
}

/** Is buf[at, at+16) ::1? */
function isLoopback6(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < 15; i++) if (buf[at + i] !== 0) return false;
  return buf[at + 15] === 1;
}

/** The UDP Length field, or 0 when the datagram is too short to hold one (check() then refuses it). */
function udpLength(udp: UdpView): number {
  return udp.len >= UDP_HEADER_LEN ? udp.length : 0;
}
