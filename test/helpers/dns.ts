// DNS test helpers: the query corpus, raw queries, UDP and TCP exchanges, and a comparison
// of two answers the way the differential tests need it (sections as sets, names without
// case, the question byte for byte).

import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { nameToText, nameToWire, textToType } from '../../specializers/dns/zone.js';
import { buildModel, loadZones, typesOf } from '../../specializers/dns/model.js';
import { ROOT } from './fixtures.js';
import type { Topology } from '../../appliance/bench/netns.js';

export interface CorpusQuery {
  line: string;
  qname: Uint8Array;
  qtype: number;
  qclass: number;
  opcode: number;
}

const CLASSES: Record<string, number> = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 };

export function parseCorpusLine(line: string): CorpusQuery | null {
  const text = line.replace(/(^|\s);.*$/, '').trim();
  if (text === '') return null;
  const parts = text.match(/(?:\\.|[^\s\\])+/g) ?? []; // "sp\ ace" is one token
  let opcode = 0;
  let qclass = 1;
  const rest: string[] = [];
  for (const p of parts.slice(2)) {
    if (p.startsWith('opcode=')) opcode = Number(p.slice(7));
    else if (CLASSES[p.toUpperCase()] !== undefined) qclass = CLASSES[p.toUpperCase()]!;
    else if (/^CLASS\d+$/i.test(p)) qclass = Number(p.slice(5));
    else rest.push(p);
  }
  if (rest.length) throw new Error(`corpus line not understood: ${line}`);
  const qname = nameToWire(parts[0]!.endsWith('.') ? parts[0]! : parts[0]! + '.');
  const qtype = parts[1]!.toUpperCase() === 'ANY' ? 255 : textToType(parts[1]!);
  if (qtype === undefined) throw new Error(`unknown type in corpus line: ${line}`);
  return { line: text, qname, qtype, qclass, opcode };
}

export function loadCorpus(): CorpusQuery[] {
  const dir = join(ROOT, 'fixtures', 'queries');
  const out: CorpusQuery[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.txt')).sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const q = parseCorpusLine(line);
      if (q) out.push(q);
    }
  }
  return out;
}

/** The corpus, plus every name of the zones with its own types, the usual ones, and a child that does not exist. */
export function fullCorpus(zoneFiles: string[]): CorpusQuery[] {
  const out = loadCorpus();
  const { parsed } = loadZones(zoneFiles.map((file) => ({ origin: null, file })));
  const model = buildModel(parsed);
  const common = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'DS', 'ANY', 'SRV', 'PTR', 'HTTPS'];
  for (const n of model.nodes.values()) {
    const name = nameToText(n.name);
    const types = new Set([...common, ...typesOf(n).map((t) => `TYPE${t}`)]);
    for (const t of types) out.push(parseCorpusLine(`${name} ${t}`)!);
    if (n.name.length < 250) out.push(parseCorpusLine(`z.${name} A`)!);
  }
  return out;
}

export interface QueryOptions {
  id?: number;
  edns?: boolean;
  dnssecOk?: boolean;
  udpSize?: number;
  rd?: boolean;
}

export function encodeQuery(q: CorpusQuery, o: QueryOptions = {}): Buffer {
  const opt = o.edns ? 11 : 0;
  const b = Buffer.alloc(12 + q.qname.length + 4 + opt);
  b.writeUInt16BE(o.id ?? 0x1234, 0);
  b.writeUInt16BE((q.opcode << 11) | (o.rd === false ? 0 : 0x0100), 2);
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(o.edns ? 1 : 0, 10);
  b.set(q.qname, 12);
  let p = 12 + q.qname.length;
  b.writeUInt16BE(q.qtype, p);
  b.writeUInt16BE(q.qclass, p + 2);
  p += 4;
  if (o.edns) {
    b[p] = 0;
    b.writeUInt16BE(41, p + 1);
    b.writeUInt16BE(o.udpSize ?? 4096, p + 3);
    b.writeUInt32BE(o.dnssecOk ? 0x8000 : 0, p + 5);
    b.writeUInt16BE(0, p + 9);
  }
  return b;
}

/**
 * Sends each query over UDP (one socket, ids matched) and collects the answers, at most
 * `window` queries in flight so that no socket buffer overflows on either side.
 */
export async function udpExchange(port: number, queries: Buffer[], host = '127.0.0.1', timeoutMs = 2000, window = 32): Promise<Array<Buffer | null>> {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const out: Array<Buffer | null> = queries.map(() => null);
  await new Promise<void>((resolve) => sock.bind(0, resolve));
  let waiting: (() => void) | null = null;
  let inFlight = 0;
  sock.on('message', (m) => {
    const id = m.readUInt16BE(0);
    if (id < queries.length && out[id] === null) {
      out[id] = m;
      inFlight--;
      waiting?.();
    }
  });
  const settle = (target: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(() => { waiting = null; inFlight = 0; resolve(); }, timeoutMs);
    waiting = () => { if (inFlight <= target) { clearTimeout(timer); waiting = null; resolve(); } };
    waiting();
  });
  for (let i = 0; i < queries.length; i++) {
    const q = Buffer.from(queries[i]!);
    q.writeUInt16BE(i, 0);
    inFlight++;
    sock.send(q, port, host);
    if (inFlight >= window) await settle(window / 2);
  }
  await settle(0);
  sock.close();
  return out;
}

/** Sends the queries pipelined over one TCP connection; answers come back in order. */
export function tcpExchange(port: number, queries: Buffer[], host = '127.0.0.1', timeoutMs = 5000): Promise<Array<Buffer | null>> {
  return new Promise((resolve, reject) => {
    const out: Array<Buffer | null> = queries.map(() => null);
    let got = 0;
    let pending = Buffer.alloc(0);
    const s = net.connect(port, host);
    const finish = (): void => { clearTimeout(timer); s.destroy(); resolve(out); };
    const timer = setTimeout(finish, timeoutMs);
    s.on('error', reject);
    s.on('connect', () => {
      const frames = queries.map((q, i) => {
        const f = Buffer.alloc(q.length + 2);
        f.writeUInt16BE(q.length, 0);
        q.copy(f, 2);
        f.writeUInt16BE(i, 2);
        return f;
      });
      s.write(Buffer.concat(frames));
    });
    s.on('data', (c) => {
      pending = Buffer.concat([pending, c]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const id = msg.readUInt16BE(0);
        if (id < out.length) out[id] = Buffer.from(msg);
        if (++got === queries.length) finish();
      }
    });
  });
}

function canon(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'string') return v.toLowerCase();
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => `${k}:${canon((v as Record<string, unknown>)[k])}`).join(',') + '}';
  }
  return String(v);
}

function rrKey(r: dnsPacket.Answer): string {
  const a = r as unknown as { name: string; type: string; class: string; ttl: number; data: unknown };
  return `${a.name.toLowerCase()} ${a.ttl} ${a.class} ${a.type} ${canon(a.data)}`;
}

export interface Decoded {
  id: number;
  rcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  question: Buffer;
  answers: string[];
  authorities: string[];
  additionals: string[];
  opt: { present: boolean; dnssecOk: boolean };
}

/** The raw question of a response: bytes 12 up to the end of QTYPE/QCLASS. */
function rawQuestion(m: Buffer): Buffer {
  if (m.readUInt16BE(4) === 0) return Buffer.alloc(0);
  let p = 12;
  while (p < m.length && m[p] !== 0) p += m[p]! + 1;
  return m.subarray(12, Math.min(m.length, p + 5));
}

export function decode(m: Buffer): Decoded {
  const flags = m.readUInt16BE(2);
  const p = dnsPacket.decode(m);
  const additional = p.additionals ?? [];
  const opt = additional.find((r) => r.type === 'OPT') as (dnsPacket.Answer & { extendedRcode?: number; flags?: number }) | undefined;
  const ext = opt ? ((opt as unknown as { extendedRcode: number }).extendedRcode ?? 0) : 0;
  return {
    id: m.readUInt16BE(0),
    rcode: (ext << 4) | (flags & 0xf),
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    question: rawQuestion(m),
    answers: (p.answers ?? []).map(rrKey).sort(),
    authorities: (p.authorities ?? []).map(rrKey).sort(),
    additionals: additional.filter((r) => r.type !== 'OPT').map(rrKey).sort(),
    opt: { present: opt !== undefined, dnssecOk: opt ? (((opt as unknown as { flags: number }).flags ?? 0) & 0x8000) !== 0 : false },
  };
}

/**
 * Differences between a reference answer (NSD) and ours, per the differential rules:
 * rcode, AA, TC, the question byte for byte, the answer as a set (for ANY: ours must be one
 * of the reference's RRsets), and for negative answers and referrals the authority and
 * additional sections too. Nothing is compared in sections of a truncated answer.
 */
/** compareAnswers over a whole corpus: one line per query whose answers differ, naming the query. */
export function corpusMismatches(corpus: CorpusQuery[], ref: Array<Buffer | null>, ours: Array<Buffer | null>): string[] {
  const out: string[] = [];
  for (let i = 0; i < corpus.length; i++) {
    const d = compareAnswers(ref[i] ?? null, ours[i] ?? null, corpus[i]!.qtype);
    if (d.length) out.push(`${corpus[i]!.line}: ${d.join('; ')}`);
  }
  return out;
}

export function compareAnswers(ref: Buffer | null, ours: Buffer | null, qtype: number): string[] {
  if (ref === null || ours === null) return ref === ours ? [] : [`${ref === null ? 'reference' : 'appliance'} did not answer`];
  const a = decode(ref);
  const b = decode(ours);
  const d: string[] = [];
  if (a.rcode !== b.rcode) d.push(`rcode ${a.rcode} vs ${b.rcode}`);
  if (a.aa !== b.aa) d.push(`AA ${a.aa} vs ${b.aa}`);
  if (a.tc !== b.tc) d.push(`TC ${a.tc} vs ${b.tc}`);
  if (a.rd !== b.rd) d.push('RD not copied alike');
  if (!a.question.equals(b.question)) d.push(`question ${a.question.toString('hex')} vs ${b.question.toString('hex')}`);
  if (a.opt.present !== b.opt.present) d.push(`OPT ${a.opt.present} vs ${b.opt.present}`);
  if (a.opt.dnssecOk !== b.opt.dnssecOk) d.push('DO bit not echoed alike');
  if (a.tc || b.tc) return d;
  const same = (x: string[], y: string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  if (qtype === 255 && a.answers.length > 0) {
    if (b.answers.length === 0 || !b.answers.every((r) => a.answers.includes(r))) d.push(`ANY: ${JSON.stringify(b.answers)} is not one of ${JSON.stringify(a.answers)}`);
  } else if (!same(a.answers, b.answers)) {
    d.push(`answer ${JSON.stringify(a.answers)} vs ${JSON.stringify(b.answers)}`);
  }
  const negativeOrReferral = a.rcode !== 0 || a.answers.length === 0 || !a.aa;
  if (negativeOrReferral) {
    if (!same(a.authorities, b.authorities)) d.push(`authority ${JSON.stringify(a.authorities)} vs ${JSON.stringify(b.authorities)}`);
    if (!same(a.additionals, b.additionals)) d.push(`additional ${JSON.stringify(a.additionals)} vs ${JSON.stringify(b.additionals)}`);
  }
  return d;
}

/** The queries sent from namespace `ns` to host:port over UDP (test/helpers/dns-client.ts there), their answers; `dir` holds the two files. */
export async function exchangeInNamespace(topo: Topology, ns: string, dir: string, host: string, queries: Buffer[], port = 53): Promise<Array<Buffer | null>> {
  const tag = `${host.replace(/[:.]/g, '_')}-${port}`;
  const inFile = join(dir, `q-${tag}.json`);
  const outFile = join(dir, `a-${tag}.json`);
  writeFileSync(inFile, JSON.stringify({ host, port, queries: queries.map((q) => q.toString('hex')) }));
  await topo.run(ns, process.execPath, [join(ROOT, 'build', 'test', 'helpers', 'dns-client.js'), inFile, outFile], 120_000);
  const out = JSON.parse(readFileSync(outFile, 'utf8')) as { responses: Array<string | null> };
  return out.responses.map((h) => (h === null ? null : Buffer.from(h, 'hex')));
}
