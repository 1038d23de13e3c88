// Helpers for the zone-transfer tests: DNS messages built field by field with name
// compression where the test asks for it (RFC 1035 §4.1.4), TSIG signatures computed here
// from RFC 8945 §4.3 independently of appliance/secondary/tsig.ts, a fake primary on
// 127.0.0.1, and records compared as sets of RFC 4034 §6.2 canonical forms.

import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import type { WireRecord } from '../../../appliance/secondary/wire-records.js';
import { canonicalRdata, lowerName, type ZoneRecord } from '../../../specializers/dns/zone.js';
import { ROOT } from '../../helpers/fixtures.js';

export function wire(text: string): Uint8Array {
  if (text === '.' || text === '') return Uint8Array.of(0);
  const out: number[] = [];
  for (const l of text.replace(/\.$/, '').split('.')) {
    out.push(l.length, ...Buffer.from(l, 'latin1'));
  }
  out.push(0);
  return Uint8Array.from(out);
}

export function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

export function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** A piece of RDATA: bytes, or a name that may be compressed. */
export type RdataPart = number[] | Uint8Array | { name: Uint8Array; compress?: boolean };

/**
 * A DNS message written in order: header, questions, then records section by section. With
 * `compress`, a name's longest suffix already written is replaced by a pointer to it.
 */
export class MessageBuilder {
  private readonly b: number[] = [];
  private readonly counts = [0, 0, 0, 0];
  private readonly seen = new Map<string, number>();

  constructor(id: number, flags: number) {
    this.b.push(...u16(id), ...u16(flags), 0, 0, 0, 0, 0, 0, 0, 0);
  }

  get length(): number {
    return this.b.length;
  }

  name(n: Uint8Array, compress = true): this {
    let p = 0;
    while (n[p] !== 0) {
      const key = Buffer.from(n.subarray(p)).toString('latin1');
      const at = this.seen.get(key);
      if (compress && at !== undefined) {
        this.b.push(0xc0 | (at >> 8), at & 0xff);
        return this;
      }
      if (this.b.length < 0x3fff) this.seen.set(key, this.b.length);
      const l = n[p]!;
      this.b.push(...n.subarray(p, p + l + 1));
      p += l + 1;
    }
    this.b.push(0);
    return this;
  }

  question(name: Uint8Array, type: number, cls = 1): this {
    this.counts[0]!++;
    this.name(name).raw(u16(type), u16(cls));
    return this;
  }

  /** A record in section 1 (answer), 2 (authority) or 3 (additional). */
  rr(section: 1 | 2 | 3, owner: Uint8Array, type: number, ttl: number, rdata: RdataPart[], o: { cls?: number; compressOwner?: boolean } = {}): this {
    this.counts[section]!++;
    this.name(owner, o.compressOwner ?? true).raw(u16(type), u16(o.cls ?? 1), u32(ttl));
    const lenAt = this.b.length;
    this.raw([0, 0]);
    for (const part of rdata) {
      if (part instanceof Uint8Array || Array.isArray(part)) this.raw(part);
      else this.name(part.name, part.compress ?? true);
    }
    const len = this.b.length - lenAt - 2;
    this.b[lenAt] = len >> 8;
    this.b[lenAt + 1] = len & 0xff;
    return this;
  }

  /** A whole record as encodeRecord writes it (uncompressed). */
  record(section: 1 | 2 | 3, r: WireRecord): this {
    return this.rr(section, r.owner, r.type, r.ttl, [r.rdata], { cls: r.cls, compressOwner: false });
  }

  raw(...parts: Array<number[] | Uint8Array>): this {
    for (const p of parts) this.b.push(...p);
    return this;
  }

  bytes(): Uint8Array {
    const out = Uint8Array.from(this.b);
    for (let i = 0; i < 4; i++) {
      out[4 + 2 * i] = this.counts[i]! >> 8;
      out[5 + 2 * i] = this.counts[i]! & 0xff;
    }
    return out;
  }
}

export const QR_AA = 0x8400;

/** The SOA RDATA (uncompressed) with these names and serial. */
export function soaRdata(serial: number, mname = 'ns1.example.com', rname = 'hostmaster.example.com'): Uint8Array {
  return Uint8Array.from([...wire(mname), ...wire(rname), ...u32(serial), ...u32(7200), ...u32(1800), ...u32(1209600), ...u32(300)]);
}

export function soaRecord(zone: string, serial: number): WireRecord {
  return { owner: wire(zone), type: 6, cls: 1, ttl: 3600, rdata: soaRdata(serial) };
}

export function aRecord(owner: string, a: number[], ttl = 3600): WireRecord {
  return { owner: wire(owner), type: 1, cls: 1, ttl, rdata: Uint8Array.from(a) };
}

// ---------------------------------------------------------------------------------------
// TSIG, written out from RFC 8945 §4.2 and §4.3 (not with tsig.ts).

const ALG: Record<string, string> = { 'hmac-sha1': 'sha1', 'hmac-sha224': 'sha224', 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512' };

export interface TestKey { name: string; algorithm: string; secret: Buffer }

/** The TSIG variables of RFC 8945 §4.3.3 for this key, time and fudge (error 0, no other data). */
export function tsigVariables(k: TestKey, time: number, fudge: number, error = 0, other: number[] = []): number[] {
  return [
    ...lowerName(wire(k.name)), ...u16(255), ...u32(0), ...wire(k.algorithm),
    ...u16(Math.floor(time / 2 ** 32)), ...u32(time >>> 0), ...u16(fudge), ...u16(error), ...u16(other.length), ...other,
  ];
}

export function hmac(k: TestKey, ...parts: Array<number[] | Uint8Array>): Buffer {
  const h = createHmac(ALG[k.algorithm]!, k.secret);
  for (const p of parts) h.update(Uint8Array.from(p));
  return h.digest();
}

export function withSize(mac: Uint8Array): number[] {
  return [...u16(mac.length), ...mac];
}

/** The TSIG RR's RDATA (RFC 8945 §4.2). */
export function tsigRdata(k: TestKey, time: number, fudge: number, mac: Uint8Array, originalId: number, error = 0, other: number[] = []): number[] {
  return [
    ...wire(k.algorithm), ...u16(Math.floor(time / 2 ** 32)), ...u32(time >>> 0), ...u16(fudge),
    ...withSize(mac), ...u16(originalId), ...u16(error), ...u16(other.length), ...other,
  ];
}

/** The message with a TSIG record appended (ARCOUNT one more) whose MAC is `mac`. */
export function appendTsig(msg: Uint8Array, k: TestKey, time: number, fudge: number, mac: Uint8Array, error = 0, other: number[] = []): Uint8Array {
  const id = (msg[0]! << 8) | msg[1]!;
  const rd = tsigRdata(k, time, fudge, mac, id, error, other);
  const rr = [...wire(k.name), ...u16(250), ...u16(255), ...u32(0), ...u16(rd.length), ...rd];
  const out = new Uint8Array(msg.length + rr.length);
  out.set(msg, 0);
  out.set(rr, msg.length);
  const ar = ((msg[10]! << 8) | msg[11]!) + 1;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  return out;
}

/**
 * Signs a stream of answers as a primary does (RFC 8945 §5.3, §5.3.1): the first covers
 * the request MAC, the message and the variables; each later signed one the prior MAC,
 * the unsigned messages since it, the message and the timers. `sign[i]` false leaves
 * message i unsigned. Returns the messages as sent.
 */
export function signStream(msgs: Uint8Array[], k: TestKey, requestMac: Uint8Array, time: number, sign: boolean[] = msgs.map(() => true), fudge = 300): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prior: Uint8Array = requestMac;
  let since: Uint8Array[] = [];
  msgs.forEach((m, i) => {
    if (!sign[i]) {
      since.push(m);
      out.push(m);
      return;
    }
    const mac = i === 0
      ? hmac(k, withSize(prior), m, tsigVariables(k, time, fudge))
      : hmac(k, withSize(prior), ...since, m, [...u16(Math.floor(time / 2 ** 32)), ...u32(time >>> 0), ...u16(fudge)]);
    out.push(appendTsig(m, k, time, fudge, mac));
    prior = mac;
    since = [];
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// A fake primary.

export interface FakePrimary {
  port: number;
  /** Queries received, whole (without their length prefix). */
  queries: Uint8Array[];
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Resolves once no accepted connection is open (the client closed or destroyed its end). */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP server on 127.0.0.1:0 that hands each query to `answer` with the socket, which
 * writes what it likes. Every socket it accepted is destroyed by close().
 */
export async function fakePrimary(answer: (query: Uint8Array, sock: net.Socket, n: number) => void): Promise<FakePrimary> {
  const queries: Uint8Array[] = [];
  const socks = new Set<net.Socket>();
  let accepted = 0;
  let waiters: Array<() => void> = [];
  const settle = (): void => {
    if (socks.size > 0) return;
    for (const w of waiters) w();
    waiters = [];
  };
  const server = net.createServer((sock) => {
    accepted++;
    socks.add(sock);
    sock.on('close', () => {
      socks.delete(sock);
      settle();
    });
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        queries.push(q);
        answer(q, sock, queries.length);
      }
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    port: (server.address() as net.AddressInfo).port,
    queries,
    get accepted() { return accepted; },
    allClosed: () => new Promise<void>((res) => {
      waiters.push(res);
      settle();
    }),
    close: () => new Promise<void>((res) => {
      for (const s of socks) s.destroy();
      server.close(() => res());
    }),
  };
}

/** Writes the messages with their two-octet length prefixes (RFC 1035 §4.2.2). */
export function framed(...msgs: Uint8Array[]): Buffer {
  return Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from(u16(m.length)), m])));
}

/** The query's ID and QTYPE (the question's name is the zone's in these tests). */
export function queryInfo(q: Uint8Array): { id: number; qtype: number; qname: Uint8Array } {
  let p = 12;
  while (q[p] !== 0) p += q[p]! + 1;
  return { id: (q[0]! << 8) | q[1]!, qtype: (q[p + 1]! << 8) | q[p + 2]!, qname: q.subarray(12, p + 1) };
}

// ---------------------------------------------------------------------------------------
// Comparing records.

export function fromZone(r: ZoneRecord): WireRecord {
  return { owner: r.owner, type: r.type, cls: r.class, ttl: r.ttl, rdata: r.rdata };
}

/** "owner|type|class|ttl|rdata" with the owner and the RDATA's names lower-cased (RFC 4034 §6.2). */
export function recordKey(r: WireRecord): string {
  return `${Buffer.from(lowerName(r.owner)).toString('hex')}|${r.type}|${r.cls}|${r.ttl}|${Buffer.from(canonicalRdata(r.type, r.rdata)).toString('hex')}`;
}

export function recordKeys(rs: readonly WireRecord[]): string[] {
  return rs.map(recordKey).sort();
}

/** scripts/gen-zone.mjs's zone of `names` names under `origin`, written to `file`. */
export function genZone(file: string, names: number, origin: string, seed = 1): string {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'gen-zone.mjs'), '--names', String(names), '--origin', origin, '--seed', String(seed), '--out', file]);
  return file;
}

/**
 * The messages of an AXFR answer (RFC 5936 §2.2): `records` (the SOA first; it is repeated
 * at the end), `perMessage` records a message, names compressed, the question in the first.
 */
export function axfrAnswer(id: number, zone: Uint8Array, qtype: number, records: WireRecord[], perMessage: number): Uint8Array[] {
  const all = [...records, records[0]!];
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += perMessage) {
    const b = new MessageBuilder(id, QR_AA);
    if (i === 0) b.question(zone, qtype);
    for (const r of all.slice(i, i + perMessage)) b.rr(1, r.owner, r.type, r.ttl, [r.rdata], { cls: r.cls });
    out.push(b.bytes());
  }
  return out;
}
