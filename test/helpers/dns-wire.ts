// Raw DNS messages for the hostile-query tests: headers with any counts and flags, names
// with any label bytes, OPT and TSIG records built field by field (RFC 1035 §4.1, RFC 6891
// §6.1.2, RFC 8945 §4.2), so that a test can say exactly which byte is wrong.

import { DNS_COUNTER_NAMES, TRANSPORT_TCP, TRANSPORT_UDP, type DnsResponder } from '../../appliance/dns/responder.js';

export interface HeaderFields {
  id?: number;
  flags?: number;
  qd?: number;
  an?: number;
  ns?: number;
  ar?: number;
}

export const RD = 0x0100;

export function header(h: HeaderFields = {}): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(h.id ?? 0x1234, 0);
  b.writeUInt16BE(h.flags ?? RD, 2);
  b.writeUInt16BE(h.qd ?? 1, 4);
  b.writeUInt16BE(h.an ?? 0, 6);
  b.writeUInt16BE(h.ns ?? 0, 8);
  b.writeUInt16BE(h.ar ?? 0, 10);
  return b;
}

/** "www.example.com" → wire labels (no escapes; "" or "." is the root). */
export function wireName(text: string): Buffer {
  const labels = text.split('.').filter((l) => l !== '');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l, 'latin1')])), Buffer.of(0)]);
}

export function typeClass(qtype: number, qclass = 1): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(qtype, 0);
  b.writeUInt16BE(qclass, 2);
  return b;
}

export function question(name: string, qtype = 1, qclass = 1): Buffer {
  return Buffer.concat([wireName(name), typeClass(qtype, qclass)]);
}

export interface OptFields {
  size?: number;
  extRcode?: number;
  version?: number;
  flags?: number;
  options?: Buffer;
  owner?: Buffer;
}

export const DO = 0x8000;

export function opt(o: OptFields = {}): Buffer {
  const rdata = o.options ?? Buffer.alloc(0);
  const b = Buffer.alloc(10);
  b.writeUInt16BE(41, 0);
  b.writeUInt16BE(o.size ?? 1232, 2);
  b[4] = o.extRcode ?? 0;
  b[5] = o.version ?? 0;
  b.writeUInt16BE(o.flags ?? 0, 6);
  b.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([o.owner ?? Buffer.of(0), b, rdata]);
}

/** One EDNS option: code, length, data. */
export function ednsOption(code: number, data: Buffer): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(code, 0);
  b.writeUInt16BE(data.length, 2);
  return Buffer.concat([b, data]);
}

/** A resource record with the given owner bytes (may be a pointer) and RDATA. */
export function rr(owner: Buffer, type: number, rdata: Buffer, cls = 1, ttl = 60): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(cls, 2);
  b.writeUInt32BE(ttl, 4);
  b.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, b, rdata]);
}

export interface TsigFields {
  key?: Buffer;
  algorithm?: Buffer;
  /** 48-bit time signed. */
  time?: number;
  fudge?: number;
  mac?: Buffer;
  originalId?: number;
  error?: number;
  other?: Buffer;
}

/** A TSIG RR (RFC 8945 §4.2): class ANY, TTL 0. */
export function tsig(t: TsigFields = {}): Buffer {
  const mac = t.mac ?? Buffer.alloc(32, 7);
  const other = t.other ?? Buffer.alloc(0);
  const fixed = Buffer.alloc(10);
  fixed.writeUIntBE(t.time ?? 0x650000000000, 0, 6);
  fixed.writeUInt16BE(t.fudge ?? 300, 6);
  fixed.writeUInt16BE(mac.length, 8);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(t.originalId ?? 0x1234, 0);
  tail.writeUInt16BE(t.error ?? 0, 2);
  tail.writeUInt16BE(other.length, 4);
  const rdata = Buffer.concat([t.algorithm ?? wireName('hmac-sha256'), fixed, mac, tail, other]);
  return rr(t.key ?? wireName('key'), 250, rdata, 255, 0);
}

export const flagsOf = (m: Buffer): number => m.readUInt16BE(2);
export const rcodeOf = (m: Buffer): number => m.readUInt16BE(2) & 0xf;
export const opcodeOf = (m: Buffer): number => (m.readUInt16BE(2) >> 11) & 0xf;
export const countsOf = (m: Buffer): [number, number, number, number] =>
  [m.readUInt16BE(4), m.readUInt16BE(6), m.readUInt16BE(8), m.readUInt16BE(10)];

/** The responder's answer to query q, checked: nothing written past the room it was given; the counters that moved. */
/** Where the query sits in the buffer: not at 0, to catch offsets taken from the buffer start. */
const OFF = 7;
const SENTINEL = 0xee;

export interface Reply {
  n: number;
  /** The response (empty when dropped). */
  msg: Buffer;
  /** Counters that moved, by name. */
  counted: Record<string, number>;
}

export function askResponder(r: DnsResponder, q: Uint8Array, o: { tcp?: boolean; cap?: number } = {}): Reply {
  const cap = o.cap ?? 4096;
  const buf = Buffer.alloc(OFF + Math.max(cap, q.length) + 64, SENTINEL);
  buf.set(q, OFF);
  const before = Float64Array.from(r.counters);
  const n = r.answer(buf, OFF, q.length, cap, o.tcp ? TRANSPORT_TCP : TRANSPORT_UDP);
  for (let i = OFF + cap; i < buf.length; i++) {
    if (i >= OFF + q.length && buf[i] !== SENTINEL) throw new Error(`byte ${i - OFF} written past cap ${cap}`);
  }
  const counted: Record<string, number> = {};
  DNS_COUNTER_NAMES.forEach((name, i) => {
    const d = r.counters[i]! - before[i]!;
    if (d !== 0) counted[name] = d;
  });
  return { n, msg: n > 0 ? Buffer.from(buf.subarray(OFF, OFF + n)) : Buffer.alloc(0), counted };
}

