// Frame builders and a tiny in-place responder for the binding's tests. Not the stack:
// just enough Ethernet/ARP/IPv4/IPv6/ICMP/UDP to drive the devices and check what arrives.

import { finish, partialSum } from '../../../basics/checksum.js';
import { parseIPv4, parseIPv6 } from '../../../netmap-binding/afxdp.js';

export const ETH_IPV4 = 0x0800;
export const ETH_ARP = 0x0806;
export const ETH_IPV6 = 0x86dd;

export function macBytes(mac: string | Uint8Array): Uint8Array {
  return typeof mac === 'string' ? Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16))) : mac;
}

export function macString(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >> 8;
  b[o + 1] = v & 0xff;
}

/** UDP over IPv4 in an Ethernet frame, with the IPv4 and UDP checksums complete. */
export function udp4(o: { srcMac: Uint8Array; dstMac: Uint8Array; src: string; dst: string; sport: number; dport: number; payload: Uint8Array }): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + o.payload.length);
  f.set(o.dstMac, 0);
  f.set(o.srcMac, 6);
  put16(f, 12, ETH_IPV4);
  f[14] = 0x45;
  put16(f, 16, 20 + 8 + o.payload.length);
  put16(f, 18, 0x1234);
  f[22] = 64;
  f[23] = 17;
  f.set(parseIPv4(o.src), 26);
  f.set(parseIPv4(o.dst), 30);
  put16(f, 24, finish(partialSum(f, 14, 20)));
  put16(f, 34, o.sport);
  put16(f, 36, o.dport);
  put16(f, 38, 8 + o.payload.length);
  f.set(o.payload, 42);
  fixUdp4Checksum(f, 0);
  return f;
}

/** Recomputes the UDP checksum of an IPv4/UDP frame at mem[off..] (20-byte IP header assumed by callers). */
export function fixUdp4Checksum(mem: Uint8Array, off: number): void {
  const ihl = (mem[off + 14]! & 0x0f) * 4;
  const l4 = off + 14 + ihl;
  const len = be16(mem, l4 + 4);
  put16(mem, l4 + 6, 0);
  let s = partialSum(mem, off + 26, 8); // source and destination addresses
  s += 17 + len;
  s = partialSum(mem, l4, len, s);
  const c = finish(s);
  put16(mem, l4 + 6, c === 0 ? 0xffff : c);
}

function fixUdp6Checksum(mem: Uint8Array, off: number): void {
  const l4 = off + 54;
  const len = be16(mem, l4 + 4);
  put16(mem, l4 + 6, 0);
  let s = partialSum(mem, off + 22, 32);
  s += 17 + len;
  s = partialSum(mem, l4, len, s);
  const c = finish(s);
  put16(mem, l4 + 6, c === 0 ? 0xffff : c);
}

function fixIcmp6Checksum(mem: Uint8Array, off: number): void {
  const l4 = off + 54;
  const len = be16(mem, off + 18);
  put16(mem, l4 + 2, 0);
  let s = partialSum(mem, off + 22, 32);
  s += 58 + len;
  s = partialSum(mem, l4, len, s);
  put16(mem, l4 + 2, finish(s));
}

function swap(mem: Uint8Array, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = mem[a + i]!;
    mem[a + i] = mem[b + i]!;
    mem[b + i] = t;
  }
}

export interface Responder {
  readonly mac: Uint8Array;
  readonly ipv4: Uint8Array;
  seen: { arp: number; icmp: number; udp: number; ns: number; icmp6: number; udp6: number; other: number };
}

export function responder(mac: Uint8Array, ipv4: string): Responder {
  return { mac, ipv4: parseIPv4(ipv4), seen: { arp: 0, icmp: 0, udp: 0, ns: 0, icmp6: 0, udp6: 0, other: 0 } };
}

/**
 * Rewrites a received frame in place into its answer: ARP request → reply, ICMP(v6) echo →
 * reply, UDP → the same datagram back (ports and addresses swapped, checksum recomputed,
 * since frames from a veth peer carry only the pseudo-header part). Returns the answer's
 * length, or 0 to drop (neighbour solicitations are counted and dropped).
 */
export function answerInPlace(r: Responder, mem: Uint8Array, off: number, len: number): number {
  if (len < 14) return 0;
  const type = be16(mem, off + 12);
  if (type === ETH_ARP && len >= 42 && be16(mem, off + 20) === 1) {
    r.seen.arp++;
    mem.copyWithin(off, off + 6, off + 12); // eth dst = requester
    mem.set(r.mac, off + 6);
    put16(mem, off + 20, 2);
    mem.copyWithin(off + 32, off + 22, off + 32); // tha, tpa = sha, spa
    mem.set(r.mac, off + 22);
    mem.set(r.ipv4, off + 28);
    return 42;
  }
  swap(mem, off, off + 6, 6);
  if (type === ETH_IPV4 && len >= 34) {
    const ihl = (mem[off + 14]! & 0x0f) * 4;
    const proto = mem[off + 23]!;
    swap(mem, off + 26, off + 30, 4);
    const l4 = off + 14 + ihl;
    if (proto === 1 && mem[l4] === 8) {
      r.seen.icmp++;
      mem[l4] = 0;
      const icmpLen = be16(mem, off + 16) - ihl;
      put16(mem, l4 + 2, 0);
      put16(mem, l4 + 2, finish(partialSum(mem, l4, icmpLen)));
      return len;
    }
    if (proto === 17) {
      r.seen.udp++;
      swap(mem, l4, l4 + 2, 2);
      fixUdp4Checksum(mem, off);
      return len;
    }
  } else if (type === ETH_IPV6 && len >= 54) {
    const next = mem[off + 20]!;
    if (next === 58 && mem[off + 54] === 135) {
      r.seen.ns++;
      return 0;
    }
    swap(mem, off + 22, off + 38, 16);
    if (next === 58 && mem[off + 54] === 128) {
      r.seen.icmp6++;
      mem[off + 54] = 129;
      fixIcmp6Checksum(mem, off);
      return len;
    }
    if (next === 17) {
      r.seen.udp6++;
      swap(mem, off + 54, off + 56, 2);
      fixUdp6Checksum(mem, off);
      return len;
    }
  }
  r.seen.other++;
  return 0;
}

/** A recognisable payload: byte i is (seed + i) & 0xff. */
export function pattern(size: number, seed: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (seed + i) & 0xff;
  return p;
}

export function ipv6Bytes(a: string): Uint8Array {
  return parseIPv6(a);
}
