// `appliance bench dns`: the appliance's fused datapath against NSD (kernel UDP, one
// server process, rate limiting off), Knot DNS in XDP mode (one worker) and the bare JS
// reflector of netmap-binding (the ceiling of this path), in one run, back to back, each
// alone and pinned to one CPU, loaded by kxdpgun pinned to the other CPU, on the same zone
// and query mix. Several rounds, the order of the servers turning each round; prints
// answered queries/s (median, min, max) and ratios.
//
// Every server gets 2 s of the same load before its measured run (a JIT compiles, caches
// fill). With one queue, each end of the veth pair receives on its own side's CPU
// (netns.ts, receiveCpus): the generator's receiving is not charged to the server, nor the
// server's to the generator.
//
// Big zones (--names N [--seed S]): the appliance's rows, NSD and Knot serve one zone of N
// names made by scripts/gen-zone.mjs (origin gen.test, apart from the small zone's
// bench.test), loaded by a 100,000-line query file drawn from it (big-zone.ts: existing
// names uniform over the whole zone, with their types and some NODATA, and NXDOMAIN names,
// about half each). The rows named *-small (appliance-small by default) run the same
// server on the small zone and mix in the same rounds, so that one run gives each
// server's rate on the big zone ÷ its rate on the small one; the reflector keeps the
// small mix (its answer is fixed). NSD, Knot and the appliance are given longer to answer
// after they start as the zone grows (knot.ts, startWaitMs), never more than ten minutes.
//
// Signed (--signed): the small zone signed at the start of the run (dnssec-zone.ts: NSEC3,
// no salt, no extra iterations, ECDSA P-256), served by every server from the same file,
// and the mix with a third of its queries asking for DNSSEC (kxdpgun's D: EDNS with DO):
// signed positive answers, and NXDOMAIN with its NSEC3 proof, the one answer whose record
// the appliance finds at run time (a SHA-1 of the next closer name and a search). Before
// the rounds, the responder's own cost per answer of each kind is measured in process.
//
// Correctness under load: the appliance records a sample of the frames it sends (one
// batch in CAPTURE_EVERY, through the pcap capture of netmap-binding); every sampled
// reply is decoded and compared with NSD's answer to the same query, and its IPv4 and UDP
// checksums are verified. NSD's answers are taken once before the rounds, for each
// distinct line of every mix the appliance is loaded with (one NSD serving both zones),
// by a client that keeps REFERENCE_WINDOW queries in flight: a few seconds for 100,000
// lines, bounded by a deadline. Leftover XDP programs are detached before every run.
//
// Response rate limiting: kxdpgun sends from one address, so with RRL's defaults nearly
// every answer would be limited. The appliance row runs with RRL off (--rrl-rate 0, as NSD
// here with rrl-ratelimit: 0, and Knot, whose rrl module is not loaded); two more rows, run
// back to back with it in every round, measure what RRL's accounting costs per answer: RRL
// on at a rate that never bites (--rrl-rate 100000000: every answer is hashed, its bucket
// updated, and sent), and RRL on with NSD's defaults and the generator on the allow-list
// (--rrl-exempt: the prefix check alone). The cost is the server CPU's busy time per
// answer (busy share x CPUs / answers per second), so that a row that answers as many
// queries with less spare CPU shows its cost too.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { readPcap } from '../../netmap-binding/pcap.js';
import { addSums, partialSum } from '../../basics/checksum.js';
import { textToType } from '../../specializers/dns/rr-types.js';
import { BIG_MIX_LINES, BIG_ZONE_ORIGIN, generateZone, makeQueryFile, scanZone, type MixKind } from './big-zone.js';
import { BENCH_ZONE, SMALL_ZONE, writeDnsFixture, type ServedZone } from './dns-fixture.js';
import { responderCosts, signBenchZone } from './dnssec-zone.js';
import { startKnot, startWaitMs, waitUntilAnswers, type ServerHandle } from './knot.js';
import { runKxdpgun } from './kxdpgun.js';
import { createTopology, stopProcess, sweepStaleNamespaces, type Topology } from './netns.js';
import { startNsd } from './nsd.js';
import { startReflector } from './reflector.js';
import { formatTable, median } from './process.js';
import { cpuTimes, summarizeProfile } from './cpu.js';

export type DnsBenchServer = 'appliance' | 'appliance-rrl' | 'appliance-rrl-exempt' | 'knot' | 'nsd' | 'reflector' | SmallZoneServer;
export const DNS_BENCH_SERVERS: readonly DnsBenchServer[] = ['appliance', 'appliance-rrl', 'appliance-rrl-exempt', 'knot', 'nsd', 'reflector'];

/** Rows on the small zone beside a big one (--names): the same server, today's zone and mix. */
export type SmallZoneServer = 'appliance-small' | 'knot-small' | 'nsd-small';
export const SMALL_ZONE_SERVERS: readonly SmallZoneServer[] = ['appliance-small', 'knot-small', 'nsd-small'];

/** The servers run when none are named: with a big zone, the appliance on the small zone too, for the ratio of the two. */
export function defaultDnsBenchServers(names?: number): DnsBenchServer[] {
  return names === undefined ? [...DNS_BENCH_SERVERS] : ['appliance', 'appliance-small', ...DNS_BENCH_SERVERS.slice(1)];
}

/** Suffix of the rows on the small zone in a run with a big one. */
const SMALL_ROW = ', small zone';

/** The rate of the RRL-on row: far above what one bucket sees here, so nothing is limited. */
const RRL_UNBITING_RATE = 100_000_000;

/** The appliance's rows: the flags that make each, its name in the table, its note. */
function applianceVariant(s: DnsBenchServer, topo: Topology): { args: string[]; name: string; note: string } {
  if (s === 'appliance-rrl') return { args: ['--rrl-rate', String(RRL_UNBITING_RATE)], name: 'appliance, RRL on', note: `RRL at ${RRL_UNBITING_RATE.toExponential(0)}/s (never limits)` };
  if (s === 'appliance-rrl-exempt') return { args: ['--rrl-exempt', `${topo.client.ipv4}/32`], name: 'appliance, RRL exempt', note: 'RRL defaults, generator exempt' };
  return { args: ['--rrl-rate', '0'], name: 'appliance (AF_XDP)', note: 'RRL off' };
}

export interface DnsBenchOptions {
  rounds: number;
  seconds: number;
  qps: number;
  serverCpu: number;
  loadCpu: number;
  servers: DnsBenchServer[];
  /** Appliance workers (and NIC queues of the topology). */
  queues: number;
  /** The CLI to run the appliance with, and the worker script (dist/cli.js, dist/worker.js). */
  cli: string;
  workerScript: string;
  /** Write a CPU profile of the appliance's worker to this directory and summarize it. */
  profileDir?: string;
  /** Serve a zone of this many names made by scripts/gen-zone.mjs instead of the small one (rows named *-small keep the small one). */
  names?: number;
  /** gen-zone's seed, and the query file's (default 1). */
  seed?: number;
  /** Serve the small zone signed (NSEC3), with DNSSEC queries in the mix. */
  signed?: boolean;
  log: (line: string) => void;
}

export interface DnsBenchRow {
  server: string;
  cpu: string;
  /** Names in the zone the row served. */
  names: number;
  rounds: number[];
  /** Fraction of the server CPUs' time that was busy (user + system + softirq…) in the middle of each round's load. */
  busy: number[];
  note: string;
}

/** The big zone of a run with --names, as the figures record it. */
export interface BigZoneInfo {
  origin: string;
  names: number;
  seed: number;
  zoneBytes: number;
  queryLines: number;
  counts: Record<MixKind, number>;
}

export interface DnsBenchResult {
  rows: DnsBenchRow[];
  wrong: number;
  sampled: number;
  /** With --names: the zone, and each server's rate on it ÷ its rate on the small zone where both were measured. */
  bigZone?: BigZoneInfo;
  bigOverSmall: Array<{ server: string; ratio: number; rounds: number[] }>;
}

/** One zone of a run and what its rows are served and loaded with. */
interface BenchSet {
  zone: ServedZone;
  /** The appliance's image of the zone. */
  image: string;
  /** kxdpgun's query file, and its lines. */
  queryFile: string;
  mix: string[];
}

/** Seconds of load before each server's measured run. */
const WARMUP_SECONDS = 2;

/** One batch in this many is recorded by the appliance for the correctness check. */
const CAPTURE_EVERY = 512;
const CAPTURE_LIMIT = 3000;

/**
 * The query mix: names that exist, names that do not, with and without EDNS (kxdpgun's
 * format); `signed`: as many again with DNSSEC asked for (D), half positive, half
 * NXDOMAIN (a third of the mix with DO, a sixth NSEC3 NXDOMAIN).
 */
export function queryMix(signed = false): string {
  const lines: string[] = [];
  for (let i = 0; i < 16; i++) {
    lines.push(`host${i}.${BENCH_ZONE}. A`, `host${i}.${BENCH_ZONE}. A E`);
    lines.push(`nx${i}.${BENCH_ZONE}. A`, `nx${i}.${BENCH_ZONE}. AAAA E`);
    if (signed) lines.push(`host${i}.${BENCH_ZONE}. A D`, `nx${i}.${BENCH_ZONE}. A D`);
  }
  lines.push(`www.${BENCH_ZONE}. A`, `${BENCH_ZONE}. SOA E`);
  return lines.join('\n') + '\n';
}

/** A DNS query in wire form for a mix line, the way kxdpgun 3.2 sends it (RD set, as tcpdump shows its queries). */
export function encodeMixQuery(line: string, id: number): Buffer {
  const [name, type, flag] = line.split(' ');
  const labels = name!.split('.').filter((l) => l.length > 0);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)])), Buffer.of(0)]);
  const qtype = textToType(type ?? '');
  if (qtype === undefined) throw new ApplianceError('APPL_ERR_BENCH', `not a query type: ${line}`);
  const edns = flag === 'E' || flag === 'D';
  const b = Buffer.alloc(12 + qname.length + 4 + (edns ? 11 : 0));
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x0100, 2);
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(edns ? 1 : 0, 10);
  qname.copy(b, 12);
  b.writeUInt16BE(qtype, 12 + qname.length);
  b.writeUInt16BE(1, 14 + qname.length);
  if (edns) {
    const o = 16 + qname.length;
    b.writeUInt16BE(41, o + 1);
    b.writeUInt16BE(1232, o + 3);
    if (flag === 'D') b.writeUInt16BE(0x8000, o + 7); // DO (RFC 3225)
  }
  return b;
}

/** The question section and EDNS presence of a DNS message: the key an answer is checked under. */
export function answerKey(m: Buffer): string | null {
  if (m.length < 12 || m.readUInt16BE(4) !== 1) return null;
  let p = 12;
  while (p < m.length && m[p] !== 0) p += m[p]! + 1;
  if (p + 5 > m.length) return null;
  let opt: dnsPacket.Answer | undefined;
  try {
    opt = (dnsPacket.decode(m).additionals ?? []).find((r) => r.type === 'OPT');
  } catch {
    return null;
  }
  const dnssec = opt !== undefined && ((opt as unknown as { flags?: number }).flags ?? 0) & 0x8000;
  return `${m.subarray(12, p + 5).toString('hex')}/${opt === undefined ? 'plain' : dnssec ? 'do' : 'edns'}`;
}

/**
 * What must agree between two answers to one query (the differential rule of the tests):
 * RCODE, AA and TC, the answer section as a set, and for negative answers the authority
 * section too (NSD adds NS and glue to positive answers here; the appliance is minimal).
 */
export function answerBody(m: Buffer): string {
  const p = dnsPacket.decode(m);
  const rr = (r: dnsPacket.Answer): string => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
  const sec = (list: dnsPacket.Answer[] | undefined): string => (list ?? []).map(rr).sort().join('|');
  const flags = m.readUInt16BE(2) & 0x060f; // AA, TC, RCODE
  const negative = (flags & 0xf) !== 0 || (p.answers ?? []).length === 0;
  return `${flags} ${sec(p.answers)}${negative ? ' / ' + sec(p.authorities) : ''}`;
}

/**
 * NSD's answers to the mix, by answerKey: the raw replies, each decoded (answerBody) only
 * when a sampled reply is compared with it, since a big zone's mix has 100,000 lines and
 * a run samples a few thousand replies.
 */
export class ReferenceAnswers {
  private readonly raw = new Map<string, Buffer>();
  private readonly bodies = new Map<string, string>();

  add(key: string, reply: Buffer): void {
    this.raw.set(key, reply);
  }

  has(key: string): boolean {
    return this.raw.has(key);
  }

  /** What must agree with NSD's answer to this question (answerBody), or undefined when NSD was not asked it. */
  body(key: string): string | undefined {
    let b = this.bodies.get(key);
    if (b === undefined) {
      const m = this.raw.get(key);
      if (m === undefined) return undefined;
      b = answerBody(m);
      this.bodies.set(key, b);
    }
    return b;
  }

  get size(): number {
    return this.raw.size;
  }
}

/** The key a mix line's answer is checked under (answerKey of the reply), made from the line without encoding a reply. */
export function mixKey(line: string): string {
  const q = encodeMixQuery(line, 0);
  const edns = q.readUInt16BE(10) > 0;
  const dnssec = edns && (q.readUInt16BE(q.length - 4) & 0x8000) !== 0;
  return `${q.subarray(12, q.length - (edns ? 11 : 0)).toString('hex')}/${!edns ? 'plain' : dnssec ? 'do' : 'edns'}`;
}

/** Queries the reference client keeps in flight. */
const REFERENCE_WINDOW = 64;

/**
 * NSD's answers to the mix over the kernel path (NSD started on `cpu` for them, then
 * stopped): the reference for the sampled replies. `zones`: what NSD serves for it (all
 * the zones whose mixes are in `mix`; default the small zone).
 */
export async function referenceAnswers(topo: Topology, dir: string, mix: string[], cpu: number, zones: readonly ServedZone[] = [SMALL_ZONE]): Promise<ReferenceAnswers> {
  const dnsClient = join(dir, 'dns-client.mjs');
  writeFileSync(dnsClient, DNS_CLIENT_SOURCE);
  const nsd = await startNsd(topo, dir, cpu, zones);
  try {
    return await nsdAnswers(topo, dir, mix, dnsClient);
  } finally {
    await nsd.stop();
  }
}

async function nsdAnswers(topo: Topology, dir: string, mix: string[], dnsClient: string): Promise<ReferenceAnswers> {
  const inFile = join(dir, 'ref-q.json');
  const outFile = join(dir, 'ref-a.json');
  // Each question once (a big zone's mix repeats its existing names), in the mix's order.
  const lines = [...new Set(mix)];
  // Every query answered in about 2 ms at worst, retried twice after 500 ms: bounded whatever happens.
  const deadlineMs = 20_000 + 2 * lines.length;
  writeFileSync(inFile, JSON.stringify({
    host: topo.server.ipv4, port: 53, window: REFERENCE_WINDOW, timeoutMs: 500, tries: 3, deadlineMs,
    queries: lines.map((l) => encodeMixQuery(l, 0).toString('hex')),
  }));
  await topo.run(topo.client.ns, process.execPath, [dnsClient, inFile, outFile], deadlineMs + 15_000);
  const replies = (JSON.parse(readFileSync(outFile, 'utf8')) as { responses: string[] }).responses;
  const ref = new ReferenceAnswers();
  for (const h of replies) {
    const m = Buffer.from(h, 'hex');
    const key = answerKey(m);
    if (key !== null) ref.add(key, m);
  }
  const missing = lines.filter((l) => !ref.has(mixKey(l)));
  if (missing.length > 0) throw new ApplianceError('APPL_ERR_BENCH', `NSD did not answer ${missing.length} of ${lines.length} reference queries: ${missing.slice(0, 4).join(', ')}`);
  return ref;
}

/** Checks sampled frames: IPv4 and UDP checksums complete, and the DNS answer NSD's. */
function checkSamples(files: string[], ref: ReferenceAnswers): { replies: number; wrong: string[] } {
  let replies = 0;
  const wrong: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const rec of readPcap(f).records) {
      const fr = Buffer.from(rec.data);
      if (fr.length < 42 || fr.readUInt16BE(12) !== 0x0800 || fr[23] !== 17 || fr.readUInt16BE(34) !== 53) continue; // replies only
      replies++;
      const ipSum = partialSum(fr, 14, 20);
      const udpLen = fr.readUInt16BE(38);
      const pseudo = partialSum(fr, 26, 8, 17 + udpLen);
      const udpSum = addSums(pseudo, partialSum(fr, 34, udpLen));
      if (ipSum !== 0xffff) wrong.push('IPv4 header checksum');
      if (udpSum !== 0xffff) wrong.push('UDP checksum');
      const dns = fr.subarray(42, 34 + udpLen);
      const key = answerKey(dns);
      const expect = key === null ? undefined : ref.body(key);
      if (expect === undefined) wrong.push(`an answer to a query not in the mix (${dns.subarray(0, 40).toString('hex')})`);
      else if (answerBody(Buffer.from(dns)) !== expect) wrong.push(`answer differs from NSD's for ${key}`);
    }
  }
  return { replies, wrong };
}

export async function runDnsBench(o: DnsBenchOptions): Promise<DnsBenchResult> {
  const smallOnly = o.servers.filter((s) => (SMALL_ZONE_SERVERS as readonly string[]).includes(s));
  if (o.names === undefined && smallOnly.length > 0) throw new ApplianceError('APPL_ERR_USAGE', `${smallOnly.join(', ')}: only beside a big zone (--names); without it every row serves the small zone`);
  await sweepStaleNamespaces();
  const dir = mkdtempSync(join(tmpdir(), 'apl-bench-dns-'));
  let topo: Topology | undefined;
  const rows = new Map<string, DnsBenchRow>();
  let wrongTotal = 0;
  let sampledTotal = 0;
  let bigZone: BigZoneInfo | undefined;
  try {
    topo = await createTopology({ queues: o.queues, tag: 'bdns', clientTxOffloadOff: true, receiveCpus: o.queues === 1 ? { server: o.serverCpu, client: o.loadCpu } : undefined });
    let { zoneFile } = writeDnsFixture(dir);
    if (o.signed) zoneFile = await signBenchZone(dir, zoneFile, BENCH_ZONE);
    const mixText = queryMix(o.signed);
    const small: BenchSet = { zone: { ...SMALL_ZONE, file: zoneFile }, image: join(dir, 'bench.apl'), queryFile: join(dir, 'mix.txt'), mix: mixText.trim().split('\n') };
    writeFileSync(small.queryFile, mixText);
    await buildImage({ sites: [], zones: [{ origin: null, file: zoneFile }], output: small.image, http: { ...DEFAULT_HTTP_OPTIONS } });
    if (o.signed) {
      const lines = small.mix;
      const dnssecShare = lines.filter((l) => l.endsWith(' D')).length / lines.length;
      const nx3Share = lines.filter((l) => l.startsWith('nx') && l.endsWith(' D')).length / lines.length;
      o.log(`signed zone ${BENCH_ZONE} (NSEC3, no salt, 0 iterations; ECDSA P-256): ${(100 * dnssecShare).toFixed(0)}% of the mix with DO, ${(100 * nx3Share).toFixed(0)}% NXDOMAIN with DO (an NSEC3 proof, its next closer hashed at run time)`);
      const kinds = [
        { what: 'positive, DO clear', line: `host3.${BENCH_ZONE}. A E` },
        { what: 'positive, DO (A + RRSIG)', line: `host3.${BENCH_ZONE}. A D` },
        { what: 'NXDOMAIN, DO clear', line: `nx3.${BENCH_ZONE}. A E` },
        { what: 'NXDOMAIN, DO (NSEC3 proof)', line: `nx3.${BENCH_ZONE}. A D` },
      ];
      o.log('the responder alone, in this process (no stack, no I/O; fastest of 3 runs of 200,000 answers):');
      for (const c of responderCosts(small.image, kinds.map((k) => ({ ...k, query: encodeMixQuery(k.line, 0x1234) })))) {
        o.log(`  ${c.what.padEnd(28)} ${c.nsPerQuery.toFixed(0).padStart(6)} ns/answer, ${c.bytes} bytes`);
      }
    }
    let big: BenchSet | undefined;
    if (o.names !== undefined) {
      const made = await makeBigSet(dir, o.names, o.seed ?? 1, o.cli);
      big = made.set;
      bigZone = made.info;
      const { counts, queryLines } = made.info;
      const pct = (n: number): string => `${((100 * n) / queryLines).toFixed(1)}%`;
      o.log(`zone ${made.info.origin}: ${o.names.toLocaleString('en-US')} names (scripts/gen-zone.mjs --seed ${made.info.seed}), ${(made.info.zoneBytes / 1048576).toFixed(1)} MiB; ` +
        `query file ${queryLines.toLocaleString('en-US')} lines: ${pct(counts.existing + counts.nodata)} existing names (${pct(counts.nodata)} of all for a type they lack, NODATA), ` +
        `${pct(counts.nxdomain)} missing (NXDOMAIN), half of them with EDNS; ` +
        `generated in ${made.generateSec.toFixed(1)} s (the zone ${made.zoneSec.toFixed(1)} s, the query file ${(made.generateSec - made.zoneSec).toFixed(1)} s), image built in ${made.buildSec.toFixed(1)} s`);
      o.log(`NSD, Knot and the appliance are given up to ${(startWaitMs(o.names) / 1000).toFixed(0)} s to answer after they start (15 s, and 60 s per million names)`);
    }
    const setOf = (s: DnsBenchServer): BenchSet => (big !== undefined && s !== 'reflector' && !s.endsWith('-small') ? big : small);

    // NSD's answers to every query the appliance's rows are loaded with, one NSD for both zones.
    const checked = [...new Set(o.servers.filter((s) => s.startsWith('appliance')).map(setOf))];
    const refStart = Date.now();
    const ref = checked.length === 0 ? new ReferenceAnswers() : await referenceAnswers(topo, dir, checked.flatMap((x) => x.mix), o.serverCpu, checked.map((x) => x.zone));
    if (big !== undefined && checked.length > 0) o.log(`NSD's answers to the ${ref.size.toLocaleString('en-US')} distinct queries taken in ${((Date.now() - refStart) / 1000).toFixed(1)} s (the reference for the sampled replies)`);

    const cpus = o.queues === 1 ? String(o.serverCpu) : Array.from({ length: o.queues }, (_, i) => i).join(',');
    o.log(`${big !== undefined ? `small zone ${BENCH_ZONE} for the rows marked "${SMALL_ROW.slice(2)}" and the reflector` : `zone ${BENCH_ZONE}`} ` +
      `(${small.mix.length} query templates: existing and nonexistent names, with and without EDNS); ` +
      `kxdpgun -F ${o.loadCpu}, ${o.seconds} s per run, asking ${o.qps.toLocaleString('en-US')} q/s; servers on CPU ${cpus}; ${o.queues} queue${o.queues === 1 ? '' : 's'}`);
    for (let round = 1; round <= o.rounds; round++) {
      // The order turns each round, so that no server always runs first or last.
      const order = o.servers.map((_, i) => o.servers[(i + round - 1) % o.servers.length]!);
      for (const s of order) {
        await topo.detachXdp(topo.server);
        const set = setOf(s);
        const base = s.replace(/-small$/, '') as DnsBenchServer;
        let handle: ServerHandle;
        let note = '';
        let captures: string[] = [];
        if (base.startsWith('appliance')) {
          const variant = applianceVariant(base, topo);
          const capture = join(dir, `cap-${round}-${s}`);
          captures = Array.from({ length: o.queues }, (_, q) => `${capture}.q${q}.pcap`);
          const nodeArgs = o.profileDir && round === 1 && s === 'appliance' ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
          const child = spawn(process.execPath, [...nodeArgs, o.cli, 'serve', set.image, '--backend', 'xdp', '--iface', topo.server.iface,
            '--netns', topo.server.ns, '--addr', topo.server.ipv4, '--queues', String(o.queues), '--cpus', cpus,
            '--capture', capture, '--capture-every', String(CAPTURE_EVERY), '--capture-limit', String(CAPTURE_LIMIT), ...variant.args],
          { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout!.on('data', (c) => { out += c; });
          const startedMs = await waitUntilAnswers(topo, child, 'the appliance', { probes: [set.zone.probe], timeoutMs: startWaitMs(set.zone.names) });
          for (let i = 0; i < 50 && !out.includes('press Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
          note = `${/: (\w+ XDP, AF_XDP [\w+]+ mode)/.exec(out)?.[1] ?? ''}; ${variant.note}`;
          handle = { name: variant.name, cpu: Number(cpus.split(',')[0]), pid: child.pid, startedMs, stop: () => stopProcess(child, 10_000) };
        } else if (base === 'knot') {
          handle = await startKnot(topo, dir, o.serverCpu, { zone: set.zone });
          note = 'XDP, 1 worker';
        } else if (base === 'nsd') {
          handle = await startNsd(topo, dir, o.serverCpu, [set.zone]);
          note = 'kernel UDP, 1 process';
        } else {
          const refl = await startReflector({ iface: topo.server.iface, netns: topo.server.ns, queue: 0, cpu: o.serverCpu, ipv4: topo.server.ipv4, maxSeconds: o.seconds + 30 },
            pathToFileURL(o.workerScript));
          note = `fixed template, ${refl.mode}`;
          handle = { name: 'JS reflector (AF_XDP)', cpu: o.serverCpu, pid: process.pid, stop: async () => { await refl.stop(); } };
        }
        const name = handle.name + (big !== undefined && s.endsWith('-small') ? SMALL_ROW : '');
        await topo.pinNapi();
        let answered: number;
        let busy: number;
        const serverCpus = cpus.split(',').map(Number);
        try {
          // Warm-up, not measured: a JIT compiles, caches fill (every server gets the same).
          await runKxdpgun(topo, { target: topo.server.ipv4, queryFile: set.queryFile, duration: WARMUP_SECONDS, qps: o.qps, cpu: o.loadCpu });
          // CPU use sampled inside the load (kxdpgun's start and end are left out).
          let before: [number, number] = [0, 0];
          let after: [number, number] = [0, 0];
          const t1 = setTimeout(() => { before = cpuTimes(serverCpus); }, 1500);
          const t2 = setTimeout(() => { after = cpuTimes(serverCpus); }, 1500 + Math.max(1, o.seconds - 2) * 1000);
          const k = await runKxdpgun(topo, { target: topo.server.ipv4, queryFile: set.queryFile, duration: o.seconds, qps: o.qps, cpu: o.loadCpu });
          clearTimeout(t1);
          clearTimeout(t2);
          busy = after[1] > before[1] ? (after[0] - before[0]) / (after[1] - before[1]) : NaN;
          answered = k.answeredPerSec;
          // kdig waits a second for an answer that does not come: the figure is a bound, to about a second.
          const started = handle.startedMs === undefined ? '' : `, answering within ${(handle.startedMs / 1000).toFixed(1)} s of its start`;
          o.log(`  round ${round}: ${name.padEnd(big !== undefined ? 32 : 22)} ${Math.round(answered).toLocaleString('en-US').padStart(9)} answered/s (sent ${Math.round(k.sentPerSec).toLocaleString('en-US')}/s), server CPU ${(100 * busy).toFixed(0)}% busy${started}`);
        } finally {
          await handle.stop();
          await topo.detachXdp(topo.server);
        }
        const row = rows.get(name) ?? { server: name, cpu: base.startsWith('appliance') ? cpus : String(o.serverCpu), names: set.zone.names, rounds: [], busy: [], note };
        row.rounds.push(answered);
        row.busy.push(busy);
        rows.set(name, row);
        if (base.startsWith('appliance')) {
          const { replies, wrong } = checkSamples(captures, ref);
          sampledTotal += replies;
          wrongTotal += wrong.length;
          for (const w of wrong.slice(0, 5)) o.log(`    WRONG: ${w}`);
        }
      }
    }
  } finally {
    await topo?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const list = [...rows.values()];
  const bigOverSmall = bigZone === undefined ? [] : bigSmallRatios(list);
  report(o, list, bigZone, bigOverSmall, sampledTotal, wrongTotal);
  return { rows: list, wrong: wrongTotal, sampled: sampledTotal, bigZone, bigOverSmall };
}

/**
 * The big zone: generated, its query file drawn from it, its image built; with the
 * figures of the start-up log line. The image is built by `appliance build` in a process
 * of its own, as a person would build it: a million names take a heap the bench's process
 * need not keep for the rest of the run.
 */
async function makeBigSet(dir: string, names: number, seed: number, cli: string): Promise<{ set: BenchSet; info: BigZoneInfo; zoneSec: number; generateSec: number; buildSec: number }> {
  const t0 = Date.now();
  const file = join(dir, `${BIG_ZONE_ORIGIN}.zone`);
  await generateZone({ names, seed, origin: BIG_ZONE_ORIGIN, out: file });
  const t1 = Date.now();
  const scanned = scanZone(readFileSync(file, 'utf8'));
  const q = makeQueryFile(scanned, { lines: BIG_MIX_LINES, seed });
  const queryFile = join(dir, 'mix-big.txt');
  writeFileSync(queryFile, q.text);
  // ns1 is in every zone gen-zone writes, with an A record.
  const probe = `ns1.${BIG_ZONE_ORIGIN}`;
  if (!scanned.types[scanned.names.indexOf(probe)]?.includes('A')) throw new ApplianceError('APPL_ERR_BENCH', `the generated zone has no A record at ${probe}`);
  const t2 = Date.now();
  const image = join(dir, 'big.apl');
  try {
    // A minute, and 0.2 ms a name (ten times what a build of a generated zone takes here).
    await promisify(execFile)(process.execPath, [cli, 'build', '-q', '--zone', `${BIG_ZONE_ORIGIN}=${file}`, '-o', image], { timeout: 60_000 + Math.ceil(names * 0.2), maxBuffer: 1 << 24 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new ApplianceError('APPL_ERR_BENCH', `appliance build of the generated zone failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
  const t3 = Date.now();
  return {
    set: { zone: { origin: BIG_ZONE_ORIGIN, file, probe, names }, image, queryFile, mix: q.text.trim().split('\n') },
    info: { origin: BIG_ZONE_ORIGIN, names, seed, zoneBytes: statSync(file).size, queryLines: q.lines.length, counts: q.counts },
    zoneSec: (t1 - t0) / 1000, generateSec: (t2 - t0) / 1000, buildSec: (t3 - t2) / 1000,
  };
}

/** Each server's rate on the big zone ÷ its rate on the small one, where a run measured both (in the same rounds). */
function bigSmallRatios(list: DnsBenchRow[]): DnsBenchResult['bigOverSmall'] {
  const out: DnsBenchResult['bigOverSmall'] = [];
  for (const smallRow of list.filter((r) => r.server.endsWith(SMALL_ROW))) {
    const bigRow = list.find((r) => r.server === smallRow.server.slice(0, -SMALL_ROW.length));
    if (!bigRow || bigRow.rounds.length !== smallRow.rounds.length) continue;
    out.push({ server: bigRow.server, ratio: median(bigRow.rounds) / median(smallRow.rounds), rounds: bigRow.rounds.map((v, i) => v / smallRow.rounds[i]!) });
  }
  return out;
}

/** The table, the ratios and the correctness line. */
function report(o: DnsBenchOptions, list: DnsBenchRow[], bigZone: BigZoneInfo | undefined, bigOverSmall: DnsBenchResult['bigOverSmall'], sampled: number, wrong: number): void {
  // Each row against the peer that served the same zone (the reflector's answer is fixed: against it, every row).
  const med = (name: string, names?: number): number | undefined => {
    const r = list.find((x) => x.server.startsWith(name) && (names === undefined || x.names === names));
    return r ? median(r.rounds) : undefined;
  };
  const refl = med('JS reflector');
  const k = (n: number): string => `${(n / 1000).toFixed(0)}k`;
  const ratio = (a: number, b?: number): string => (b ? `${(a / b).toFixed(2)}×` : '-');
  const withNames = bigZone !== undefined;
  const table = [['server', ...(withNames ? ['names'] : []), 'median', 'min', 'max', '÷ NSD', '÷ Knot', '÷ reflector', 'server CPU busy', 'CPU', 'mode']];
  for (const r of list) {
    const m = median(r.rounds);
    const zoneNames = r.server.startsWith('JS reflector') ? undefined : r.names;
    table.push([r.server, ...(withNames ? [r.server.startsWith('JS reflector') ? '-' : r.names.toLocaleString('en-US')] : []),
      k(m), k(Math.min(...r.rounds)), k(Math.max(...r.rounds)), ratio(m, med('NSD', zoneNames)), ratio(m, med('Knot', zoneNames)), ratio(m, refl),
      `${(100 * median(r.busy)).toFixed(0)}%`, r.cpu, r.note]);
  }
  const textCols = withNames ? 9 : 8;
  o.log('');
  o.log('answered queries/s');
  for (const line of formatTable(table, (c) => c === 0 || c >= textCols)) o.log(line);
  o.log('(server CPU busy: share of the server CPU not idle in the middle of the load, kernel time included)');
  if (withNames) {
    o.log(`(÷ NSD, ÷ Knot: against the peer on the same zone; the small zone has ${SMALL_ZONE.names} names)`);
    o.log('');
    o.log(`the big zone against the small one: answered/s at ${bigZone.names.toLocaleString('en-US')} names ÷ at ${SMALL_ZONE.names} (medians; the rows ran in the same rounds):`);
    if (bigOverSmall.length === 0) o.log('  not measured: no server ran on both zones (the *-small rows)');
    for (const b of bigOverSmall) o.log(`  ${b.server.padEnd(22)} ${b.ratio.toFixed(2)}× (rounds: ${b.rounds.map((x) => x.toFixed(2)).join(', ')})`);
  }
  const cost = rrlCost(list, o.queues);
  if (cost.length > 0) {
    o.log('');
    o.log('the cost of RRL\'s accounting, per answer (server CPU busy time / answers; the rows ran back to back in each round; medians over rounds):');
    for (const l of cost) o.log(`  ${l}`);
  }
  o.log('');
  if (list.some((r) => r.server.startsWith('appliance'))) o.log(`correctness under load: ${sampled} sampled replies of the appliance decoded and compared with NSD's answers: ${wrong} wrong`);
  else o.log('correctness under load: not checked (no row of the appliance ran)');
  if (o.profileDir) {
    o.log('');
    o.log(`where the appliance's time goes (self time, CPU profile of its processes in ${o.profileDir}):`);
    for (const l of summarizeProfile(o.profileDir)) o.log(`  ${l}`);
  }
}

/** Server CPU time per answer (ns) in each round of a row: busy share x CPUs / answers per second. */
function nsPerAnswer(r: DnsBenchRow, nCpus: number): number[] {
  return r.rounds.map((a, i) => (1e9 * r.busy[i]! * nCpus) / a);
}

/** The RRL rows against the RRL-off row of the same rounds: ns per answer, the difference, the ratios. */
function rrlCost(list: DnsBenchRow[], nCpus: number): string[] {
  const off = list.find((r) => r.server === 'appliance (AF_XDP)');
  if (!off) return [];
  const offNs = nsPerAnswer(off, nCpus);
  const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '?');
  const lines = [`RRL off (--rrl-rate 0)                  ${fmt(median(offNs)).padStart(5)} ns per answer, ${(median(off.rounds) / 1000).toFixed(0)}k answered/s`];
  for (const [name, what] of [['appliance, RRL on', `RRL on (--rrl-rate ${RRL_UNBITING_RATE})`], ['appliance, RRL exempt', 'RRL on, generator exempt (--rrl-exempt)']] as const) {
    const r = list.find((x) => x.server === name);
    if (!r || r.rounds.length !== off.rounds.length) continue;
    const ns = nsPerAnswer(r, nCpus);
    const diff = median(ns.map((v, i) => v - offNs[i]!));
    const timeRatio = median(ns.map((v, i) => v / offNs[i]!));
    const rateRatio = median(r.rounds.map((v, i) => v / off.rounds[i]!));
    lines.push(`${what.padEnd(40)}${fmt(median(ns)).padStart(5)} ns per answer: ${diff >= 0 ? '+' : ''}${fmt(diff)} ns (${timeRatio.toFixed(3)}× the time per answer), ` +
      `${(median(r.rounds) / 1000).toFixed(0)}k answered/s (${rateRatio.toFixed(3)}× the answers)`);
  }
  return lines;
}

/**
 * The kernel-path DNS client the reference answers are taken with, run in the client
 * namespace: `window` queries in flight, each retried after `timeoutMs` up to `tries`
 * times, all of it stopped at `deadlineMs`; writes every reply it matched to a query.
 *
 * A query's ID is its slot in the window and the slot's generation (id = gen × window +
 * slot), so that a late reply to a query the slot has moved on from is told apart from
 * the answer to the one it holds now; a reply counts only with the question it was asked.
 */
export const DNS_CLIENT_SOURCE = `
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
const [inFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(inFile, 'utf8'));
const queries = job.queries.map((h) => Buffer.from(h, 'hex'));
const questionEnd = (q) => { let p = 12; while (q[p] !== 0) p += q[p] + 1; return p + 5; };
const W = job.window, GENS = Math.floor(65536 / W);
const slots = Array.from({ length: W }, () => ({ q: -1, id: 0, gen: 0, sent: 0, tries: 0 }));
const responses = [];
let next = 0, unanswered = 0;
const s = dgram.createSocket('udp4');
await new Promise((r) => s.bind(0, r));
let finish;
const finished = new Promise((r) => { finish = r; });
const send = (sl) => {
  const q = queries[sl.q];
  q.writeUInt16BE(sl.id, 0);
  sl.sent = Date.now();
  sl.tries++;
  s.send(q, job.port, job.host);
};
const fill = (k) => {
  const sl = slots[k];
  if (next >= queries.length) {
    sl.q = -1;
    if (slots.every((x) => x.q < 0)) finish();
    return;
  }
  sl.q = next++;
  sl.gen = (sl.gen + 1) % GENS;
  sl.id = sl.gen * W + k;
  sl.tries = 0;
  send(sl);
};
s.on('message', (m) => {
  if (m.length < 12) return;
  const id = m.readUInt16BE(0);
  const k = id % W;
  const sl = slots[k];
  if (sl.q < 0 || sl.id !== id) return;
  const q = queries[sl.q];
  const end = questionEnd(q);
  if (m.length < end || !m.subarray(12, end).equals(q.subarray(12, end))) return;
  responses.push(m.toString('hex'));
  fill(k);
});
const timer = setInterval(() => {
  const now = Date.now();
  for (let k = 0; k < W; k++) {
    const sl = slots[k];
    if (sl.q < 0 || now - sl.sent < job.timeoutMs) continue;
    if (sl.tries < job.tries) send(sl);
    else { unanswered++; fill(k); }
  }
}, 50);
const deadline = setTimeout(finish, job.deadlineMs);
for (let k = 0; k < W; k++) fill(k);
await finished;
clearInterval(timer);
clearTimeout(deadline);
s.close();
writeFileSync(outFile, JSON.stringify({ responses, unanswered, asked: next }));
`;
