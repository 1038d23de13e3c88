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
// Correctness under load: the appliance records a sample of the frames it sends (one
// batch in CAPTURE_EVERY, through the pcap capture of netmap-binding); every sampled
// reply is decoded and compared with NSD's answer to the same query, and its IPv4 and UDP
// checksums are verified. Leftover XDP programs are detached before every run.
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

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { readPcap } from '../../netmap-binding/pcap.js';
import { addSums, partialSum } from '../../basics/checksum.js';
import { BENCH_ZONE, writeDnsFixture } from './dns-fixture.js';
import { startKnot, waitUntilAnswers, type ServerHandle } from './knot.js';
import { runKxdpgun } from './kxdpgun.js';
import { createTopology, stopProcess, sweepStaleNamespaces, type Topology } from './netns.js';
import { startNsd } from './nsd.js';
import { startReflector } from './reflector.js';
import { formatTable, median } from './process.js';
import { cpuTimes, summarizeProfile } from './cpu.js';

export type DnsBenchServer = 'appliance' | 'appliance-rrl' | 'appliance-rrl-exempt' | 'knot' | 'nsd' | 'reflector';
export const DNS_BENCH_SERVERS: readonly DnsBenchServer[] = ['appliance', 'appliance-rrl', 'appliance-rrl-exempt', 'knot', 'nsd', 'reflector'];

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
  log: (line: string) => void;
}

export interface DnsBenchRow {
  server: string;
  cpu: string;
  rounds: number[];
  /** Fraction of the server CPUs' time that was busy (user + system + softirq…) in the middle of each round's load. */
  busy: number[];
  note: string;
}

/** Seconds of load before each server's measured run. */
const WARMUP_SECONDS = 2;

/** One batch in this many is recorded by the appliance for the correctness check. */
const CAPTURE_EVERY = 512;
const CAPTURE_LIMIT = 3000;

/** The query mix: names that exist, names that do not, with and without EDNS (kxdpgun's format). */
export function queryMix(): string {
  const lines: string[] = [];
  for (let i = 0; i < 16; i++) {
    lines.push(`host${i}.${BENCH_ZONE}. A`, `host${i}.${BENCH_ZONE}. A E`);
    lines.push(`nx${i}.${BENCH_ZONE}. A`, `nx${i}.${BENCH_ZONE}. AAAA E`);
  }
  lines.push(`www.${BENCH_ZONE}. A`, `${BENCH_ZONE}. SOA E`);
  return lines.join('\n') + '\n';
}

/** A DNS query in wire form for a mix line, the way kxdpgun sends it (RD clear). */
export function encodeMixQuery(line: string, id: number): Buffer {
  const [name, type, flag] = line.split(' ');
  const labels = name!.split('.').filter((l) => l.length > 0);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)])), Buffer.of(0)]);
  const qtype = { A: 1, AAAA: 28, SOA: 6 }[type as 'A' | 'AAAA' | 'SOA'];
  const edns = flag === 'E' || flag === 'D';
  const b = Buffer.alloc(12 + qname.length + 4 + (edns ? 11 : 0));
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(edns ? 1 : 0, 10);
  qname.copy(b, 12);
  b.writeUInt16BE(qtype, 12 + qname.length);
  b.writeUInt16BE(1, 14 + qname.length);
  if (edns) {
    const o = 16 + qname.length;
    b.writeUInt16BE(41, o + 1);
    b.writeUInt16BE(1232, o + 3);
  }
  return b;
}

/** The question section and EDNS presence of a DNS message: the key an answer is checked under. */
export function answerKey(m: Buffer): string | null {
  if (m.length < 12 || m.readUInt16BE(4) !== 1) return null;
  let p = 12;
  while (p < m.length && m[p] !== 0) p += m[p]! + 1;
  if (p + 5 > m.length) return null;
  let edns: boolean;
  try {
    edns = (dnsPacket.decode(m).additionals ?? []).some((r) => r.type === 'OPT');
  } catch {
    return null;
  }
  return `${m.subarray(12, p + 5).toString('hex')}/${edns ? 'edns' : 'plain'}`;
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

/** NSD's answers to the mix over the kernel path (NSD started on `cpu` for them, then stopped): the reference for the sampled replies. */
export async function referenceAnswers(topo: Topology, dir: string, mix: string[], cpu: number): Promise<Map<string, string>> {
  const dnsClient = join(dir, 'dns-client.mjs');
  writeFileSync(dnsClient, DNS_CLIENT_SOURCE);
  const nsd = await startNsd(topo, dir, cpu);
  try {
    return await nsdAnswers(topo, dir, mix, dnsClient);
  } finally {
    await nsd.stop();
  }
}

async function nsdAnswers(topo: Topology, dir: string, mix: string[], dnsClient: string): Promise<Map<string, string>> {
  const inFile = join(dir, 'ref-q.json');
  const outFile = join(dir, 'ref-a.json');
  const queries = mix.map((l, i) => encodeMixQuery(l, i));
  writeFileSync(inFile, JSON.stringify({ host: topo.server.ipv4, port: 53, queries: queries.map((q) => q.toString('hex')) }));
  await topo.run(topo.client.ns, process.execPath, [dnsClient, inFile, outFile], 60_000);
  const answers = (JSON.parse(readFileSync(outFile, 'utf8')) as { responses: Array<string | null> }).responses;
  const ref = new Map<string, string>();
  answers.forEach((h) => {
    if (h === null) return;
    const m = Buffer.from(h, 'hex');
    ref.set(answerKey(m)!, answerBody(m));
  });
  const missing = mix.filter((l, i) => !ref.has(answerKey(encodeMixQuery(l, i))!));
  if (missing.length > 0) throw new ApplianceError('APPL_ERR_BENCH', `NSD did not answer ${missing.length} of ${mix.length} reference queries: ${missing.slice(0, 4).join(', ')}`);
  return ref;
}

/** Checks sampled frames: IPv4 and UDP checksums complete, and the DNS answer NSD's. */
function checkSamples(files: string[], ref: Map<string, string>): { replies: number; wrong: string[] } {
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
      const expect = key === null ? undefined : ref.get(key);
      if (expect === undefined) wrong.push(`an answer to a query not in the mix (${dns.subarray(0, 40).toString('hex')})`);
      else if (answerBody(Buffer.from(dns)) !== expect) wrong.push(`answer differs from NSD's for ${key}`);
    }
  }
  return { replies, wrong };
}

export async function runDnsBench(o: DnsBenchOptions): Promise<{ rows: DnsBenchRow[]; wrong: number; sampled: number }> {
  await sweepStaleNamespaces();
  const dir = mkdtempSync(join(tmpdir(), 'apl-bench-dns-'));
  let topo: Topology | undefined;
  const rows = new Map<string, DnsBenchRow>();
  let wrongTotal = 0;
  let sampledTotal = 0;
  try {
    topo = await createTopology({ queues: o.queues, tag: 'bdns', clientTxOffloadOff: true, receiveCpus: o.queues === 1 ? { server: o.serverCpu, client: o.loadCpu } : undefined });
    const { zoneFile } = writeDnsFixture(dir);
    const mixText = queryMix();
    const queryFile = join(dir, 'mix.txt');
    writeFileSync(queryFile, mixText);
    const mix = mixText.trim().split('\n');
    const image = join(dir, 'bench.apl');
    await buildImage({ sites: [], zones: [{ origin: null, file: zoneFile }], output: image, http: { ...DEFAULT_HTTP_OPTIONS } });

    const ref = await referenceAnswers(topo, dir, mix, o.serverCpu);

    const cpus = o.queues === 1 ? String(o.serverCpu) : Array.from({ length: o.queues }, (_, i) => i).join(',');
    o.log(`zone ${BENCH_ZONE} (${mix.length} query templates: existing and nonexistent names, with and without EDNS); ` +
      `kxdpgun -F ${o.loadCpu}, ${o.seconds} s per run, asking ${o.qps.toLocaleString('en-US')} q/s; servers on CPU ${cpus}; ${o.queues} queue${o.queues === 1 ? '' : 's'}`);
    for (let round = 1; round <= o.rounds; round++) {
      // The order turns each round, so that no server always runs first or last.
      const order = o.servers.map((_, i) => o.servers[(i + round - 1) % o.servers.length]!);
      for (const s of order) {
        await topo.detachXdp(topo.server);
        let handle: ServerHandle;
        let note = '';
        let captures: string[] = [];
        if (s.startsWith('appliance')) {
          const variant = applianceVariant(s, topo);
          const capture = join(dir, `cap-${round}-${s}`);
          captures = Array.from({ length: o.queues }, (_, q) => `${capture}.q${q}.pcap`);
          const nodeArgs = o.profileDir && round === 1 && s === 'appliance' ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
          const child = spawn(process.execPath, [...nodeArgs, o.cli, 'serve', image, '--backend', 'xdp', '--iface', topo.server.iface,
            '--netns', topo.server.ns, '--addr', topo.server.ipv4, '--queues', String(o.queues), '--cpus', cpus,
            '--capture', capture, '--capture-every', String(CAPTURE_EVERY), '--capture-limit', String(CAPTURE_LIMIT), ...variant.args],
          { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout!.on('data', (c) => { out += c; });
          await waitUntilAnswers(topo, child, 'the appliance');
          for (let i = 0; i < 50 && !out.includes('press Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
          note = `${/: (\w+ XDP, AF_XDP [\w+]+ mode)/.exec(out)?.[1] ?? ''}; ${variant.note}`;
          handle = { name: variant.name, cpu: Number(cpus.split(',')[0]), pid: child.pid, stop: () => stopProcess(child, 10_000) };
        } else if (s === 'knot') {
          handle = await startKnot(topo, dir, o.serverCpu);
          note = 'XDP, 1 worker';
        } else if (s === 'nsd') {
          handle = await startNsd(topo, dir, o.serverCpu);
          note = 'kernel UDP, 1 process';
        } else {
          const refl = await startReflector({ iface: topo.server.iface, netns: topo.server.ns, queue: 0, cpu: o.serverCpu, ipv4: topo.server.ipv4, maxSeconds: o.seconds + 30 },
            pathToFileURL(o.workerScript));
          note = `fixed template, ${refl.mode}`;
          handle = { name: 'JS reflector (AF_XDP)', cpu: o.serverCpu, pid: process.pid, stop: async () => { await refl.stop(); } };
        }
        await topo.pinNapi();
        let answered: number;
        let busy: number;
        const serverCpus = cpus.split(',').map(Number);
        try {
          // Warm-up, not measured: a JIT compiles, caches fill (every server gets the same).
          await runKxdpgun(topo, { target: topo.server.ipv4, queryFile, duration: WARMUP_SECONDS, qps: o.qps, cpu: o.loadCpu });
          // CPU use sampled inside the load (kxdpgun's start and end are left out).
          let before: [number, number] = [0, 0];
          let after: [number, number] = [0, 0];
          const t1 = setTimeout(() => { before = cpuTimes(serverCpus); }, 1500);
          const t2 = setTimeout(() => { after = cpuTimes(serverCpus); }, 1500 + Math.max(1, o.seconds - 2) * 1000);
          const k = await runKxdpgun(topo, { target: topo.server.ipv4, queryFile, duration: o.seconds, qps: o.qps, cpu: o.loadCpu });
          clearTimeout(t1);
          clearTimeout(t2);
          busy = after[1] > before[1] ? (after[0] - before[0]) / (after[1] - before[1]) : NaN;
          answered = k.answeredPerSec;
          o.log(`  round ${round}: ${handle.name.padEnd(22)} ${Math.round(answered).toLocaleString('en-US').padStart(9)} answered/s (sent ${Math.round(k.sentPerSec).toLocaleString('en-US')}/s), server CPU ${(100 * busy).toFixed(0)}% busy`);
        } finally {
          await handle.stop();
          await topo.detachXdp(topo.server);
        }
        const row = rows.get(handle.name) ?? { server: handle.name, cpu: s.startsWith('appliance') ? cpus : String(o.serverCpu), rounds: [], busy: [], note };
        row.rounds.push(answered);
        row.busy.push(busy);
        rows.set(handle.name, row);
        if (s.startsWith('appliance')) {
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
  const med = (name: string): number | undefined => {
    const r = list.find((x) => x.server.startsWith(name));
    return r ? median(r.rounds) : undefined;
  };
  const nsd = med('NSD'), knot = med('Knot'), refl = med('JS reflector');
  const k = (n: number): string => `${(n / 1000).toFixed(0)}k`;
  const ratio = (a: number, b?: number): string => (b ? `${(a / b).toFixed(2)}×` : '-');
  const table = [['server', 'median', 'min', 'max', '÷ NSD', '÷ Knot', '÷ reflector', 'server CPU busy', 'CPU', 'mode']];
  for (const r of list) {
    const m = median(r.rounds);
    table.push([r.server, k(m), k(Math.min(...r.rounds)), k(Math.max(...r.rounds)), ratio(m, nsd), ratio(m, knot), ratio(m, refl),
      `${(100 * median(r.busy)).toFixed(0)}%`, r.cpu, r.note]);
  }
  o.log('');
  o.log('answered queries/s');
  for (const line of formatTable(table, (c) => c === 0 || c >= 8)) o.log(line);
  o.log('(server CPU busy: share of the server CPU not idle in the middle of the load, kernel time included)');
  const cost = rrlCost(list, o.queues);
  if (cost.length > 0) {
    o.log('');
    o.log('the cost of RRL\'s accounting, per answer (server CPU busy time / answers; the rows ran back to back in each round; medians over rounds):');
    for (const l of cost) o.log(`  ${l}`);
  }
  o.log('');
  o.log(`correctness under load: ${sampledTotal} sampled replies of the appliance decoded and compared with NSD's answers: ${wrongTotal} wrong`);
  if (o.profileDir) {
    o.log('');
    o.log(`where the appliance's time goes (self time, CPU profile of its processes in ${o.profileDir}):`);
    for (const l of summarizeProfile(o.profileDir)) o.log(`  ${l}`);
  }
  return { rows: list, wrong: wrongTotal, sampled: sampledTotal };
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

/** The kernel-path DNS client the reference answers are taken with, run in the client namespace. */
export const DNS_CLIENT_SOURCE = `
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
const [inFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(inFile, 'utf8'));
const out = job.queries.map(() => null);
const s = dgram.createSocket('udp4');
await new Promise((r) => s.bind(0, r));
s.on('message', (m) => { const id = m.readUInt16BE(0); if (id < out.length) out[id] = m.toString('hex'); });
for (let i = 0; i < job.queries.length; i++) {
  s.send(Buffer.from(job.queries[i], 'hex'), job.port, job.host);
  await new Promise((r) => setTimeout(r, 2));
}
await new Promise((r) => setTimeout(r, 1000));
s.close();
writeFileSync(outFile, JSON.stringify({ responses: out }));
`;
