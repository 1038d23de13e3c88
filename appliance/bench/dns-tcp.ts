// `appliance bench dns --transport tcp`: DNS over TCP, the appliance's fused TCP against
// NSD (kernel TCP, one server process) and Knot DNS (XDP workers with `tcp: on`, one
// worker), each alone and pinned to one CPU, the generator pinned to the other, on the
// zone and query mix of `bench dns`, several rounds, the order of the servers turning
// each round.
//
// Two loads:
//   a connection per query   kxdpgun -T: handshake, query, answer, close, for every query
//   connections reused       dnsperf -m tcp: a few connections, many queries in flight on each
// and, for the appliance only, dnsperf over UDP with the same flags: its own UDP figure with
// the same generator, for the reuse ratio (dnsperf is a kernel-socket client, far slower
// than kxdpgun: with reuse the figures are often dnsperf's limit, and the CPU the server
// spends per query says more).
//
// Each end of the veth pair receives on its own side's CPU (netns.ts, receiveCpus), so
// the generator's receiving is not charged to the server. Every server gets 2 s of
// dnsperf over TCP before its measured runs (a JIT compiles, caches fill); the connection
// per query runs last. Before its loads, the appliance's
// answer to every query of the mix over one TCP connection (pipelined) is compared with
// NSD's; after each load its counters give the frames per query and the connections.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { parseMetrics } from '../worker/metrics.js';
import { cpuTimes, summarizeProfile } from './cpu.js';
import { BENCH_ZONE, writeDnsFixture } from './dns-fixture.js';
import { answerBody, answerKey, encodeMixQuery, queryMix, referenceAnswers, type ReferenceAnswers } from './dns-xdp.js';
import { startKnot, waitUntilAnswers, type ServerHandle } from './knot.js';
import { runKxdpgun } from './kxdpgun.js';
import { createTopology, stopProcess, sweepStaleNamespaces, type Topology } from './netns.js';
import { startNsd } from './nsd.js';
import { formatTable, median } from './process.js';

export type DnsTcpServer = 'appliance' | 'knot' | 'nsd';
export const DNS_TCP_SERVERS: readonly DnsTcpServer[] = ['appliance', 'knot', 'nsd'];
type Load = 'per-query' | 'reuse' | 'udp';
const LOAD_NAMES: Record<Load, string> = { 'per-query': 'TCP, a connection per query (kxdpgun -T)', reuse: 'TCP, connections reused (dnsperf -m tcp)', udp: 'UDP, the same generator (dnsperf)' };

export interface DnsTcpBenchOptions {
  rounds: number;
  seconds: number;
  /** Queries per second kxdpgun -T is asked for. */
  qps: number;
  servers: DnsTcpServer[];
  serverCpu: number;
  loadCpu: number;
  /** dnsperf: connections (-c) and queries in flight (-q). */
  connections: number;
  outstanding: number;
  cli: string;
  profileDir?: string;
  log: (line: string) => void;
}

interface Sample {
  answered: number;
  busy: number;
  loadBusy: number;
  /** Appliance only: frames per answered query, and connections established per answered query. */
  framesIn?: number;
  framesOut?: number;
  established?: number;
  resets?: number;
}

export interface DnsTcpBenchResult {
  samples: Map<string, Sample[]>;
  wrong: number;
  failures: string[];
}

/** Seconds of load before the measured runs of each server. */
const WARMUP_SECONDS = 2;

const SERVER_NAMES: Record<DnsTcpServer, string> = { appliance: 'appliance (fused TCP)', knot: 'Knot DNS (XDP, tcp: on)', nsd: 'NSD (kernel TCP)' };

interface Subject { handle: ServerHandle; metrics?: () => Promise<Record<string, number>> }

async function startAppliance(topo: Topology, image: string, o: DnsTcpBenchOptions, profile?: string): Promise<Subject> {
  const nodeArgs = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
  const child = spawn('taskset', ['-c', String(o.serverCpu), process.execPath, ...nodeArgs, o.cli, 'serve', image, '--backend', 'xdp',
    '--iface', topo.server.iface, '--netns', topo.server.ns, '--addr', topo.server.ipv4, '--queues', '1', '--cpus', String(o.serverCpu),
    '--rrl-rate', '0', '--metrics', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => { out += c; });
  await waitUntilAnswers(topo, child, 'the appliance');
  for (let i = 0; i < 50 && !out.includes('press Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
  const port = /stats http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out)?.[1];
  if (!port) throw new ApplianceError('APPL_ERR_BENCH', `the appliance printed no metrics address: ${out}`);
  return {
    handle: { name: SERVER_NAMES.appliance, cpu: o.serverCpu, pid: child.pid, stop: () => stopProcess(child, 10_000) },
    metrics: async () => parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).totals,
  };
}

/** The mix over one TCP connection, pipelined, from the client namespace: answers that differ from NSD's. */
async function checkOverTcp(topo: Topology, dir: string, mix: string[], ref: ReferenceAnswers): Promise<string[]> {
  const client = join(dir, 'tcp-client.mjs');
  writeFileSync(client, TCP_CLIENT_SOURCE);
  const inFile = join(dir, 'tcp-q.json'), outFile = join(dir, 'tcp-a.json');
  writeFileSync(inFile, JSON.stringify({ host: topo.server.ipv4, port: 53, queries: mix.map((l, i) => encodeMixQuery(l, i).toString('hex')) }));
  await topo.run(topo.client.ns, process.execPath, [client, inFile, outFile], 30_000);
  const got = (JSON.parse(readFileSync(outFile, 'utf8')) as { responses: Array<string | null> }).responses;
  const wrong: string[] = [];
  mix.forEach((line, i) => {
    const h = got[i];
    if (h === null || h === undefined) {
      wrong.push(`no answer over TCP to ${line}`);
      return;
    }
    const m = Buffer.from(h, 'hex');
    const key = answerKey(m);
    if (key === null || !ref.has(key)) wrong.push(`an answer over TCP to ${line} for another question`);
    else if (answerBody(m) !== ref.body(key)) wrong.push(`the answer over TCP to ${line} differs from NSD's`);
  });
  return wrong;
}

async function dnsperf(topo: Topology, mixFile: string, o: DnsTcpBenchOptions, tcp: boolean): Promise<number> {
  const args = ['-c', String(o.loadCpu), 'dnsperf', '-s', topo.server.ipv4, '-p', '53', '-d', mixFile, '-l', String(o.seconds),
    '-c', String(o.connections), '-q', String(o.outstanding), '-T', '1', '-t', '2', ...(tcp ? ['-m', 'tcp'] : [])];
  const out = await topo.run(topo.client.ns, 'taskset', args, (o.seconds + 30) * 1000);
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(qps)) throw new ApplianceError('APPL_ERR_BENCH', `cannot read dnsperf's output:\n${out}`);
  return qps;
}

async function measure(o: DnsTcpBenchOptions, subject: Subject, run: () => Promise<number>): Promise<Sample> {
  let b: [number, number] = [0, 0], a: [number, number] = [0, 0], lb: [number, number] = [0, 0], la: [number, number] = [0, 0];
  const t1 = setTimeout(() => { b = cpuTimes([o.serverCpu]); lb = cpuTimes([o.loadCpu]); }, 1500);
  const t2 = setTimeout(() => { a = cpuTimes([o.serverCpu]); la = cpuTimes([o.loadCpu]); }, 1500 + Math.max(1, o.seconds - 2) * 1000);
  const before = subject.metrics ? await subject.metrics() : undefined;
  const answered = await run().finally(() => { clearTimeout(t1); clearTimeout(t2); });
  const after = subject.metrics ? await subject.metrics() : undefined;
  const share = (x: [number, number], y: [number, number]): number => (y[1] > x[1] ? (y[0] - x[0]) / (y[1] - x[1]) : NaN);
  const s: Sample = { answered, busy: share(b, a), loadBusy: share(lb, la) };
  if (before && after) {
    const d = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
    const answers = Math.max(1, d('dns_tcp_messages') || d('dns_answers'));
    s.framesIn = d('rx_frames') / answers;
    s.framesOut = d('tx_frames') / answers;
    s.established = d('tcp_established') / answers;
    s.resets = d('tcp_resets_sent') + d('tcp_resets_received');
  }
  return s;
}

export async function runDnsTcpBench(o: DnsTcpBenchOptions): Promise<DnsTcpBenchResult> {
  await sweepStaleNamespaces();
  const dir = mkdtempSync(join(tmpdir(), 'apl-bench-dnstcp-'));
  const samples = new Map<string, Sample[]>();
  const failures: string[] = [];
  let wrong = 0;
  let topo: Topology | undefined;
  const key = (s: DnsTcpServer, l: Load): string => `${l}/${s}`;
  try {
    // The client's checksums complete (no transmit offload): Knot's XDP path drops the
    // partial ones a kernel client on a veth sends (the appliance accepts them, counted).
    topo = await createTopology({ queues: 1, tag: 'bdnst', clientTxOffloadOff: true, receiveCpus: { server: o.serverCpu, client: o.loadCpu } });
    const { zoneFile } = writeDnsFixture(dir);
    const mixText = queryMix();
    const mix = mixText.trim().split('\n');
    const kxdpMix = join(dir, 'mix.txt');
    writeFileSync(kxdpMix, mixText);
    // dnsperf's format: "name type" (EDNS is dnsperf's per-run flag: left off).
    const perfMix = join(dir, 'mix-dnsperf.txt');
    writeFileSync(perfMix, mix.map((l) => l.split(' ').slice(0, 2).join(' ')).join('\n') + '\n');
    const image = join(dir, 'bench.apl');
    await buildImage({ sites: [], zones: [{ origin: null, file: zoneFile }], output: image, http: { ...DEFAULT_HTTP_OPTIONS } });
    const ref = await referenceAnswers(topo, dir, mix, o.serverCpu);

    o.log(`zone ${BENCH_ZONE} (${mix.length} query templates); ${o.seconds} s per run, ${o.rounds} round${o.rounds === 1 ? '' : 's'}; ` +
      `kxdpgun -T asking ${o.qps.toLocaleString('en-US')} q/s; dnsperf -c ${o.connections} -q ${o.outstanding}; ` +
      `servers on CPU ${o.serverCpu}, the generator on CPU ${o.loadCpu}; each veth end received on its own side's CPU`);
    for (let round = 1; round <= o.rounds; round++) {
      const order = o.servers.map((_, i) => o.servers[(i + round - 1) % o.servers.length]!);
      for (const s of order) {
        await topo.detachXdp(topo.server);
        const subject: Subject = s === 'appliance' ? await startAppliance(topo, image, o)
          : { handle: s === 'knot' ? await startKnot(topo, dir, o.serverCpu, { tcp: true }) : await startNsd(topo, dir, o.serverCpu) };
        await topo.pinNapi();
        try {
          if (s === 'appliance') {
            const w = await checkOverTcp(topo, dir, mix, ref);
            wrong += w.length;
            for (const x of w.slice(0, 5)) o.log(`    WRONG: ${x}`);
          }
          // Warm-up, not measured: a JIT compiles, caches fill (every server gets the same).
          await dnsperf(topo, perfMix, { ...o, seconds: WARMUP_SECONDS }, true);
          // A connection per query last: a server that a SYN flood leaves in a bad way
          // (Knot's XDP TCP at times) does not spoil the other figures.
          const loads: Load[] = s === 'appliance' ? ['reuse', 'udp', 'per-query'] : ['reuse', 'per-query'];
          for (const l of loads) {
            let sample: Sample;
            try {
              sample = await measure(o, subject, () => (l === 'per-query'
                ? runKxdpgun(topo!, { target: topo!.server.ipv4, queryFile: kxdpMix, duration: o.seconds, qps: o.qps, cpu: o.loadCpu, tcp: true }).then((k) => k.answeredPerSec)
                : dnsperf(topo!, perfMix, o, l === 'reuse')));
            } catch (e) {
              failures.push(`round ${round}, ${SERVER_NAMES[s]}, ${LOAD_NAMES[l]}: ${(e as Error).message}`);
              o.log(`  round ${round}: ${SERVER_NAMES[s]}, ${LOAD_NAMES[l]}: FAILED: ${(e as Error).message.split('\n')[0]}`);
              continue;
            }
            samples.set(key(s, l), [...(samples.get(key(s, l)) ?? []), sample]);
            o.log(`  round ${round}: ${SERVER_NAMES[s].padEnd(24)} ${LOAD_NAMES[l].padEnd(42)} ${Math.round(sample.answered).toLocaleString('en-US').padStart(9)} answered/s, ` +
              `server CPU ${(100 * sample.busy).toFixed(0)}%, generator CPU ${(100 * sample.loadBusy).toFixed(0)}%` +
              (sample.framesIn !== undefined ? `; frames per query ${sample.framesIn.toFixed(2)} in, ${sample.framesOut!.toFixed(2)} out` : ''));
          }
        } finally {
          await subject.handle.stop();
          await topo.detachXdp(topo.server);
        }
      }
    }
    printTable(o, samples, key);
    if (o.profileDir && o.servers.includes('appliance')) {
      await topo.detachXdp(topo.server);
      const subject = await startAppliance(topo, image, o, o.profileDir);
      await topo.pinNapi();
      try {
        await dnsperf(topo, perfMix, { ...o, seconds: WARMUP_SECONDS }, true);
        await runKxdpgun(topo, { target: topo.server.ipv4, queryFile: kxdpMix, duration: o.seconds, qps: o.qps, cpu: o.loadCpu, tcp: true });
      } finally {
        await subject.handle.stop();
        await topo.detachXdp(topo.server);
      }
      o.log('');
      o.log(`where the appliance's time goes with a connection per query (self time, CPU profile in ${o.profileDir}):`);
      for (const l of summarizeProfile(o.profileDir)) o.log(`  ${l}`);
    }
  } finally {
    await topo?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  o.log('');
  o.log(`correctness: the appliance's answers over TCP to the whole mix, before each of its runs, compared with NSD's: ${wrong} wrong`);
  for (const f of failures) o.log(`FAILED: ${f}`);
  return { samples, wrong, failures };
}

function printTable(o: DnsTcpBenchOptions, samples: Map<string, Sample[]>, key: (s: DnsTcpServer, l: Load) => string): void {
  const us = (x: Sample): number => (x.busy * 1e6) / x.answered;
  const k = (n: number): string => `${(n / 1000).toFixed(1)}k`;
  const table = [['load', 'server', 'answered/s', 'min', 'max', 'CPU busy', 'CPU µs/query', 'gen CPU', '÷ NSD', '÷ Knot', 'frames/query in+out', 'conns/query']];
  for (const l of ['per-query', 'reuse', 'udp'] as Load[]) {
    const nsd = samples.get(key('nsd', l)), knot = samples.get(key('knot', l));
    for (const s of o.servers) {
      const v = samples.get(key(s, l));
      if (!v || v.length === 0) continue;
      const ratio = (ref: Sample[] | undefined): string => {
        if (!ref || s === 'nsd' && ref === nsd || s === 'knot' && ref === knot) return '-';
        const r = v.map((x, i) => (ref[i] && ref[i]!.answered >= 1 ? x.answered / ref[i]!.answered : NaN)).filter(Number.isFinite);
        return r.length ? `${median(r).toFixed(2)}×` : '-';
      };
      const fr = v.filter((x) => x.framesIn !== undefined);
      table.push([LOAD_NAMES[l], SERVER_NAMES[s], k(median(v.map((x) => x.answered))), k(Math.min(...v.map((x) => x.answered))), k(Math.max(...v.map((x) => x.answered))),
        `${(100 * median(v.map((x) => x.busy))).toFixed(0)}%`, median(v.map(us)).toFixed(2), `${(100 * median(v.map((x) => x.loadBusy))).toFixed(0)}%`,
        ratio(nsd), ratio(knot),
        fr.length ? `${median(fr.map((x) => x.framesIn!)).toFixed(2)} + ${median(fr.map((x) => x.framesOut!)).toFixed(2)}` : '-',
        fr.length ? median(fr.map((x) => x.established!)).toFixed(3) : '-']);
    }
  }
  o.log('');
  o.log('medians over rounds; ratios are the median of each round\'s ratio (the servers ran back to back)');
  for (const line of formatTable(table, (c) => c < 2, true)) o.log(line);
  // The appliance's reuse against its own UDP, with the same generator, round by round.
  const reuse = samples.get(key('appliance', 'reuse')), udp = samples.get(key('appliance', 'udp'));
  if (reuse && udp) {
    const rate = median(reuse.map((x, i) => (udp[i] ? x.answered / udp[i]!.answered : NaN)).filter(Number.isFinite));
    const cpu = median(reuse.map((x, i) => (udp[i] ? us(x) / us(udp[i]!) : NaN)).filter(Number.isFinite));
    o.log('');
    const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '- (not measured: runs too short to sample the CPU)');
    o.log(`the appliance, TCP with reuse against its own UDP (dnsperf both): ${x(rate)} the answers, ${x(cpu)} the server CPU per query`);
  }
  o.log('(CPU busy: the server CPU\'s share not idle in the middle of the run, kernel included; gen CPU near 100%: the generator\'s limit)');
}

/** A DNS-over-TCP client: every query of the job on one connection, pipelined; answers by id. */
const TCP_CLIENT_SOURCE = `
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
const [inFile, outFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(inFile, 'utf8'));
const out = job.queries.map(() => null);
let got = 0;
let buf = Buffer.alloc(0);
const sock = net.connect(job.port, job.host);
const done = new Promise((resolve) => {
  const timer = setTimeout(resolve, 10000);
  sock.on('data', (c) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + m.length);
      const id = m.readUInt16BE(0);
      if (id < out.length && out[id] === null) { out[id] = m.toString('hex'); got++; }
      if (got === out.length) { clearTimeout(timer); resolve(); }
    }
  });
  sock.on('error', () => { clearTimeout(timer); resolve(); });
  sock.on('close', () => { clearTimeout(timer); resolve(); });
});
sock.on('connect', () => {
  for (const h of job.queries) {
    const q = Buffer.from(h, 'hex');
    const l = Buffer.alloc(2);
    l.writeUInt16BE(q.length);
    sock.write(Buffer.concat([l, q]));
  }
});
await done;
sock.destroy();
writeFileSync(outFile, JSON.stringify({ responses: out }));
`;
