// Packet tools for the wire and stack tests: hex fixtures, a reference Internet checksum
// written independently of appliance/wire/checksum.ts (the naive RFC 1071 loop), frame
// builders for the client side of an exchange, and the invariant checker that every frame
// the stack emits must pass.
//
// The builders and the checker read and write bytes by hand: they never use the wire views
// they are there to test.

import { parseIPv4, parseIPv6 } from '../../netmap-binding/afxdp.js';

// ── Bytes ───────────────────────────────────────────────────────────────────────────────

/** Bytes from hex; whitespace and `|` separators are ignored, so fixtures can show their fields. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/[\s|]/g, '');
  if (t.length % 2 !== 0 || /[^0-9a-f]/i.test(t)) throw new Error(`bad hex fixture: ${s}`);
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function u16bytes(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ── The reference checksum (RFC 1071 §4.1, the plain loop) ──────────────────────────────

/** The one's-complement sum of the concatenation of `parts`, as the RFC's C loop does it. */
export function refSum(...parts: Uint8Array[]): number {
  const all = concat(...parts);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) + (i + 1 < all.length ? all[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for `parts` (checksum field zeroed inside them). */
export function refChecksum(...parts: Uint8Array[]): number {
  return ~refSum(...parts) & 0xffff;
}

/** Does a message with its checksum in place verify? */
export function sumsToOnes(...parts: Uint8Array[]): boolean {
  return refSum(...parts) === 0xffff;
}

export function pseudo4(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): Uint8Array {
  return concat(src, dst, Uint8Array.of(0, protocol), u16bytes(length));
}

export function pseudo6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): Uint8Array {
  return concat(src, dst, Uint8Array.of(length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff, 0, 0, 0, nextHeader));
}

// ── Addresses of the test network ───────────────────────────────────────────────────────

export const mac = (s: string): Uint8Array => Uint8Array.from(s.split(':').map((x) => parseInt(x, 16)));
export const ip4 = (s: string): Uint8Array => parseIPv4(s);
export const ip6 = (s: string): Uint8Array => parseIPv6(s);

/** The appliance's end of the pipe and the client's (the pipe's default MACs). */
export const US_MAC = mac('02:00:00:00:00:0a');
export const CLIENT_MAC = mac('02:00:00:00:00:0b');
export const BROADCAST_MAC = mac('ff:ff:ff:ff:ff:ff');
export const ALL_NODES_MAC = mac('33:33:00:00:00:01');
export const US4 = ip4('198.18.0.10');
export const CLIENT4 = ip4('198.18.0.1');
export const OTHER4 = ip4('198.18.0.99');
export const US6 = ip6('2001:db8::10');
export const CLIENT6 = ip6('2001:db8::1');
export const OTHER6 = ip6('2001:db8::99');
export const UNSPECIFIED6 = new Uint8Array(16);
export const ALL_NODES6 = ip6('ff02::1');

/** The solicited-node multicast address of `a` (RFC 4291 §2.7.1) and its MAC (RFC 2464 §7). */
export function solicitedNode(a: Uint8Array): Uint8Array {
  const s = ip6('ff02::1:ff00:0');
  s.set(a.subarray(13, 16), 13);
  return s;
}

export function multicastMac(a6: Uint8Array): Uint8Array {
  return Uint8Array.of(0x33, 0x33, a6[12]!, a6[13]!, a6[14]!, a6[15]!);
}

// ── Builders ────────────────────────────────────────────────────────────────────────────

export const ETH_IPV4 = 0x0800;
export const ETH_ARP = 0x0806;
export const ETH_IPV6 = 0x86dd;
export const ETH_VLAN = 0x8100;

export interface EthOptions {
  dst?: Uint8Array;
  src?: Uint8Array;
  /** 802.1Q tags (TCI values), outermost first. */
  vlan?: number[];
}

export function ethernet(type: number, payload: Uint8Array, o: EthOptions = {}): Uint8Array {
  const tags = (o.vlan ?? []).map((tci) => concat(u16bytes(ETH_VLAN), u16bytes(tci)));
  return concat(o.dst ?? US_MAC, o.src ?? CLIENT_MAC, ...tags, u16bytes(type), payload);
}

export function arp(o: { oper?: number; sha?: Uint8Array; spa?: Uint8Array; tha?: Uint8Array; tpa?: Uint8Array } = {}): Uint8Array {
  return concat(hex('0001 0800 06 04'), u16bytes(o.oper ?? 1), o.sha ?? CLIENT_MAC, o.spa ?? CLIENT4, o.tha ?? new Uint8Array(6), o.tpa ?? US4);
}

export interface Ip4Options {
  src?: Uint8Array;
  dst?: Uint8Array;
  ttl?: number;
  id?: number;
  /** Flags and fragment offset, as the 16-bit field. */
  fragment?: number;
  options?: Uint8Array;
}

export function ipv4(protocol: number, payload: Uint8Array, o: Ip4Options = {}): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const hl = 20 + opts.length;
  const h = concat(
    Uint8Array.of(0x40 | (hl / 4), 0), u16bytes(hl + payload.length), u16bytes(o.id ?? 0x0101), u16bytes(o.fragment ?? 0),
    Uint8Array.of(o.ttl ?? 64, protocol), u16bytes(0), o.src ?? CLIENT4, o.dst ?? US4, opts,
  );
  put16(h, 10, refChecksum(h));
  return concat(h, payload);
}

export function ipv6(nextHeader: number, payload: Uint8Array, o: { src?: Uint8Array; dst?: Uint8Array; hopLimit?: number } = {}): Uint8Array {
  return concat(hex('60000000'), u16bytes(payload.length), Uint8Array.of(nextHeader, o.hopLimit ?? 64), o.src ?? CLIENT6, o.dst ?? US6, payload);
}

/** A UDP datagram with its checksum for these addresses (4 or 16 bytes each); `checksum` overrides it. */
export function udp(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, payload: Uint8Array, checksum?: number): Uint8Array {
  const d = concat(u16bytes(sport), u16bytes(dport), u16bytes(8 + payload.length), u16bytes(0), payload);
  const ph = src.length === 4 ? pseudo4(src, dst, 17, d.length) : pseudo6(src, dst, 17, d.length);
  let c = refChecksum(ph, d);
  if (c === 0) c = 0xffff;
  put16(d, 6, checksum ?? c);
  return d;
}

/** TCP header fields for tcp(); seq and ack are absolute. */
export interface TcpFields {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  /** Raw option bytes (padded by the caller to a multiple of 4). */
  options?: Uint8Array;
  /** Overrides the checksum (e.g. the offload form, or a wrong one). */
  checksum?: number;
}

/** A TCP segment with its checksum for these addresses (4 or 16 bytes each). */
export function tcp(src: Uint8Array, dst: Uint8Array, f: TcpFields, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const opts = f.options ?? new Uint8Array(0);
  const hl = 20 + opts.length;
  const h = new Uint8Array(hl);
  put16(h, 0, f.sport);
  put16(h, 2, f.dport);
  put32(h, 4, f.seq);
  put32(h, 8, f.ack);
  h[12] = (hl / 4) << 4;
  h[13] = f.flags;
  put16(h, 14, f.window ?? 65535);
  h.set(opts, 20);
  const seg = concat(h, payload);
  const ph = src.length === 4 ? pseudo4(src, dst, 6, seg.length) : pseudo6(src, dst, 6, seg.length);
  put16(seg, 16, f.checksum ?? refChecksum(ph, seg));
  return seg;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function icmp4(type: number, code: number, body: Uint8Array): Uint8Array {
  const m = concat(Uint8Array.of(type, code, 0, 0), body);
  put16(m, 2, refChecksum(m));
  return m;
}

export function icmp6(src: Uint8Array, dst: Uint8Array, type: number, code: number, body: Uint8Array): Uint8Array {
  const m = concat(Uint8Array.of(type, code, 0, 0), body);
  put16(m, 2, refChecksum(pseudo6(src, dst, 58, m.length), m));
  return m;
}

export function echoBody(id: number, seq: number, data: Uint8Array): Uint8Array {
  return concat(u16bytes(id), u16bytes(seq), data);
}

/** A ping's 56 bytes of data, as iputils fills them (a timestamp-like head, then counting bytes). */
export function pingData(n = 56): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i < 8 ? 0x60 + i : i));
}

// Whole frames, client → appliance unless told otherwise.

export interface FrameOptions extends EthOptions {
  src4?: Uint8Array;
  dst4?: Uint8Array;
  src6?: Uint8Array;
  dst6?: Uint8Array;
  sport?: number;
  dport?: number;
  hopLimit?: number;
}

export function arpRequestFrame(o: EthOptions & { tpa?: Uint8Array; oper?: number } = {}): Uint8Array {
  return ethernet(ETH_ARP, arp({ tpa: o.tpa, oper: o.oper, sha: o.src }), { dst: BROADCAST_MAC, ...o });
}

export function udp4Frame(payload: Uint8Array, o: FrameOptions = {}): Uint8Array {
  const src = o.src4 ?? CLIENT4, dst = o.dst4 ?? US4;
  return ethernet(ETH_IPV4, ipv4(17, udp(src, dst, o.sport ?? 54321, o.dport ?? 53, payload), { src, dst }), o);
}

export function udp6Frame(payload: Uint8Array, o: FrameOptions = {}): Uint8Array {
  const src = o.src6 ?? CLIENT6, dst = o.dst6 ?? US6;
  return ethernet(ETH_IPV6, ipv6(17, udp(src, dst, o.sport ?? 54321, o.dport ?? 53, payload), { src, dst, hopLimit: o.hopLimit }), o);
}

export function echo4Frame(id: number, seq: number, data: Uint8Array, o: FrameOptions = {}): Uint8Array {
  return ethernet(ETH_IPV4, ipv4(1, icmp4(8, 0, echoBody(id, seq, data)), { src: o.src4, dst: o.dst4 }), o);
}

export function echo6Frame(id: number, seq: number, data: Uint8Array, o: FrameOptions = {}): Uint8Array {
  const src = o.src6 ?? CLIENT6, dst = o.dst6 ?? US6;
  return ethernet(ETH_IPV6, ipv6(58, icmp6(src, dst, 128, 0, echoBody(id, seq, data)), { src, dst, hopLimit: o.hopLimit }), o);
}

/**
 * A neighbour solicitation for `target` (RFC 4861 §4.3): by default to the target's
 * solicited-node group, hop limit 255, with a source link-layer address option unless it
 * comes from the unspecified address (duplicate address detection).
 */
export function nsFrame(target: Uint8Array, o: FrameOptions & { slla?: Uint8Array | null; code?: number; options?: Uint8Array } = {}): Uint8Array {
  const src = o.src6 ?? CLIENT6;
  const dst = o.dst6 ?? solicitedNode(target);
  const dad = equalBytes(src, UNSPECIFIED6);
  const slla = o.slla === undefined ? (dad ? null : (o.src ?? CLIENT_MAC)) : o.slla;
  const opts = o.options ?? (slla ? concat(Uint8Array.of(1, 1), slla) : new Uint8Array(0));
  const m = icmp6(src, dst, 135, o.code ?? 0, concat(new Uint8Array(4), target, opts));
  return ethernet(ETH_IPV6, ipv6(58, m, { src, dst, hopLimit: o.hopLimit ?? 255 }), { dst: multicastMac(dst), ...o });
}

// ── Reading frames back ─────────────────────────────────────────────────────────────────

/** Where the layers of an Ethernet frame start (at most one VLAN tag), by hand. */
export function layers(f: Uint8Array): { l3: number; type: number; tci: number } {
  let type = be16(f, 12);
  let l3 = 14;
  let tci = -1;
  if (type === ETH_VLAN) {
    tci = be16(f, 14);
    type = be16(f, 16);
    l3 = 18;
  }
  return { l3, type, tci };
}

/** The UDP payload of an IPv4 or IPv6 frame (no options, no extension headers). */
export function udpPayload(f: Uint8Array): Uint8Array {
  const { l3, type } = layers(f);
  const l4 = l3 + (type === ETH_IPV4 ? 20 : 40);
  return f.slice(l4 + 8, l4 + be16(f, l4 + 4));
}

// ── The invariant checker ───────────────────────────────────────────────────────────────

export interface EmitExpectations {
  ourMac: Uint8Array;
  ours4: readonly Uint8Array[];
  ours6: readonly Uint8Array[];
  /** The frame that was answered, when known: the reply must go back to its source MAC, behind its tag. */
  request?: Uint8Array;
}

/**
 * What is wrong with a frame the stack sent (empty: nothing). Checks, by hand: our source
 * MAC; the requester's MAC as destination (all-nodes for an unsolicited advertisement);
 * the request's VLAN tag kept; ARP replies well formed; IPv4 header checksum and lengths;
 * UDP, ICMP and ICMPv6 checksums in full (never partial, never zero for UDP) over exactly
 * the lengths the headers state, with no byte of the frame beyond them; sources we own.
 * With the request known: back to its source address and port, the DNS ID kept, an echo's
 * identifier, sequence and data kept.
 */
export function emittedProblems(f: Uint8Array, x: EmitExpectations): string[] {
  const p: string[] = [];
  const has = (list: readonly Uint8Array[], at: number, n: number): boolean => list.some((a) => equalBytes(a, f.subarray(at, at + n)));
  if (f.length < 14) return [`${f.length}-byte frame`];
  if (!equalBytes(f.subarray(6, 12), x.ourMac)) p.push('source MAC is not ours');
  const { l3, type, tci } = layers(f);
  if (type === ETH_VLAN || type === 0x88a8) p.push('stacked VLAN tags');
  const rq = x.request;
  const rql = rq ? layers(rq) : undefined;
  if (rql && rql.tci !== tci) p.push(`VLAN tag ${tci} where the request had ${rql.tci}`);
  const rl = rql?.l3 ?? 0;
  const same = (at: number, n: number, rat: number, what: string): void => {
    if (rq && !equalBytes(f.subarray(at, at + n), rq.subarray(rat, rat + n))) p.push(what);
  };
  /** A UDP answer at f[l4..] to the datagram at rq[rl4..]: ports swapped, DNS ID kept. */
  const udpBack = (l4: number, rl4: number): void => {
    same(l4, 2, rl4 + 2, 'UDP source port is not the one asked');
    same(l4 + 2, 2, rl4, 'UDP destination port is not the requester\'s');
    same(l4 + 8, 2, rl4 + 8, 'DNS ID changed');
  };
  const toAllNodes = type === ETH_IPV6 && f.length >= l3 + 40 && equalBytes(f.subarray(l3 + 24, l3 + 40), ALL_NODES6);
  if (toAllNodes) {
    if (!equalBytes(f.subarray(0, 6), ALL_NODES_MAC)) p.push('to ff02::1 but not to 33:33:00:00:00:01');
    if (rq && !equalBytes(rq.subarray(rl + 8, rl + 24), UNSPECIFIED6)) p.push('to ff02::1 though the request came from an address');
  } else if (x.request && !equalBytes(f.subarray(0, 6), x.request.subarray(6, 12))) {
    p.push('destination MAC is not the requester\'s');
  }
  if (type === ETH_ARP) {
    const a = l3;
    if (f.length !== a + 28) p.push(`ARP reply of ${f.length - a} bytes`);
    else {
      if (toHex(f.subarray(a, a + 6)) !== '000108000604') p.push('ARP reply is not Ethernet/IPv4');
      if (be16(f, a + 6) !== 2) p.push('ARP operation is not reply');
      if (!equalBytes(f.subarray(a + 8, a + 14), x.ourMac)) p.push('ARP sender hardware address is not ours');
      if (!has(x.ours4, a + 14, 4)) p.push('ARP sender protocol address is not ours');
      // RFC 826: the target is the requester as its ARP packet names it (which may differ
      // from the Ethernet source the reply is sent to).
      same(a + 18, 10, rl + 8, 'ARP target is not the requester\'s sender address');
    }
  } else if (type === ETH_IPV4) {
    if (f.length < l3 + 20) return [...p, 'IPv4 header cut short'];
    const h = f.subarray(l3, l3 + 20);
    if (h[0] !== 0x45) p.push(`IPv4 version/IHL ${h[0]!.toString(16)}`);
    const total = be16(h, 2);
    if (total !== f.length - l3) p.push(`IPv4 total length ${total} for ${f.length - l3} bytes`);
    if (!sumsToOnes(h)) p.push('IPv4 header checksum');
    if ((be16(h, 6) & 0x3fff) !== 0) p.push('IPv4 fragment');
    if (h[8] === 0) p.push('IPv4 TTL 0');
    if (!has(x.ours4, l3 + 12, 4)) p.push('IPv4 source is not ours');
    same(l3 + 16, 4, rl + 12, 'IPv4 destination is not the requester');
    const l4 = l3 + 20;
    const body = f.subarray(l4, l3 + total);
    if (rq && rq[rl + 9] !== h[9]) p.push('not the request\'s protocol');
    if (h[9] === 17) {
      if (body.length < 8 || be16(body, 4) !== body.length) p.push(`UDP length ${body.length >= 8 ? be16(body, 4) : '?'} for ${body.length} bytes`);
      else if (be16(body, 6) === 0) p.push('UDP checksum left out');
      else if (!sumsToOnes(pseudo4(h.subarray(12, 16), h.subarray(16, 20), 17, body.length), body)) p.push('UDP checksum');
      else if (body.length < 20 || (body[10]! & 0x80) === 0) p.push('not a DNS response');
      else udpBack(l4, rl + 20);
    } else if (h[9] === 6) {
      p.push(...tcpProblems(body, pseudo4(h.subarray(12, 16), h.subarray(16, 20), 6, body.length)));
      if (rq) {
        same(l4, 2, rl + 22, 'TCP source port is not the one asked');
        same(l4 + 2, 2, rl + 20, 'TCP destination port is not the requester\'s');
      }
    } else if (h[9] === 1) {
      if (body.length < 8) p.push('ICMP message cut short');
      else if (!sumsToOnes(body)) p.push('ICMP checksum');
      else if (body[0] !== 0) p.push(`ICMP type ${body[0]} sent`);
      else if (rq && (body.length !== be16(rq, rl + 2) - 20)) p.push('echo reply of another length');
      else same(l4 + 4, body.length - 4, rl + 24, 'echo identifier, sequence or data changed');
    } else {
      p.push(`IPv4 protocol ${h[9]} sent`);
    }
  } else if (type === ETH_IPV6) {
    if (f.length < l3 + 40) return [...p, 'IPv6 header cut short'];
    const h = f.subarray(l3, l3 + 40);
    if (h[0]! >> 4 !== 6) p.push('IPv6 version');
    const plen = be16(h, 4);
    if (plen !== f.length - l3 - 40) p.push(`IPv6 payload length ${plen} for ${f.length - l3 - 40} bytes`);
    if (!has(x.ours6, l3 + 8, 16)) p.push('IPv6 source is not ours');
    if (!toAllNodes) same(l3 + 24, 16, rl + 8, 'IPv6 destination is not the requester');
    const body = f.subarray(l3 + 40, l3 + 40 + plen);
    const ph = pseudo6(h.subarray(8, 24), h.subarray(24, 40), h[6]!, body.length);
    if (h[6] === 17) {
      if (body.length < 8 || be16(body, 4) !== body.length) p.push('UDP length');
      else if (be16(body, 6) === 0) p.push('UDP checksum left out');
      else if (!sumsToOnes(ph, body)) p.push('UDP checksum');
      else if (body.length < 20 || (body[10]! & 0x80) === 0) p.push('not a DNS response');
      else udpBack(l3 + 40, rl + 40);
    } else if (h[6] === 6) {
      p.push(...tcpProblems(body, ph));
      if (rq) {
        same(l3 + 40, 2, rl + 42, 'TCP source port is not the one asked');
        same(l3 + 42, 2, rl + 40, 'TCP destination port is not the requester\'s');
      }
    } else if (h[6] === 58) {
      if (body.length < 8) p.push('ICMPv6 message cut short');
      else if (!sumsToOnes(ph, body)) p.push('ICMPv6 checksum');
      else if (body[0] === 136) {
        if (h[7] !== 255) p.push(`advertisement with hop limit ${h[7]}`);
        if (body.length !== 32 || body[24] !== 2 || body[25] !== 1 || !equalBytes(body.subarray(26, 32), x.ourMac)) p.push('advertisement without our target link-layer address');
        if (!equalBytes(body.subarray(8, 24), h.subarray(8, 24))) p.push('advertisement target is not its source');
        if (((body[4]! & 0x40) !== 0) === toAllNodes) p.push('Solicited flag wrong for the destination');
        if (rq && rq[rl + 40] === 135) same(l3 + 48, 16, rl + 48, 'advertisement for another target');
      } else if (body[0] !== 129) {
        p.push(`ICMPv6 type ${body[0]} sent`);
      } else if (rq && body.length !== be16(rq, rl + 4)) {
        p.push('echo reply of another length');
      } else {
        same(l3 + 44, body.length - 4, rl + 44, 'echo identifier, sequence or data changed');
      }
    } else {
      p.push(`IPv6 next header ${h[6]} sent`);
    }
  } else {
    p.push(`EtherType ${type.toString(16)} sent`);
  }
  return p;
}

/**
 * What is wrong with a TCP segment we sent, by itself: its checksum in full over the
 * pseudo-header `ph`, a sane header length, options well formed, no data on a RST, the ACK
 * bit on everything but a RST to a segment without ACK (RFC 9293 §3.10.7 CLOSED).
 */
export function tcpProblems(seg: Uint8Array, ph: Uint8Array): string[] {
  const p: string[] = [];
  if (seg.length < 20) return ['TCP segment cut short'];
  const hl = (seg[12]! >> 4) * 4;
  if (hl < 20 || hl > seg.length) return [`TCP header length ${hl}`];
  if (!sumsToOnes(ph, seg)) p.push('TCP checksum');
  if ((seg[12]! & 0x0f) !== 0 || (seg[13]! & 0xc0) !== 0) p.push('TCP reserved bits or ECN flags set');
  const flags = seg[13]!;
  const dataLen = seg.length - hl;
  if (flags & 0x04 && dataLen > 0) p.push('RST with data');
  if (!(flags & 0x10) && !(flags & 0x04)) p.push('a segment without ACK');
  if (flags & 0x02 && flags & 0x01) p.push('SYN and FIN together');
  if (be16(seg, 18) !== 0 || flags & 0x20) p.push('urgent data');
  for (let o = 20; o < hl;) {
    const k = seg[o]!;
    if (k === 0) break;
    if (k === 1) { o++; continue; }
    const l = seg[o + 1]!;
    if (l < 2 || o + l > hl) { p.push('malformed TCP option'); break; }
    if (!(flags & 0x02)) p.push(`option ${k} on a segment that is not a SYN`);
    o += l;
  }
  return p;
}
