// `appliance bench http`: the site over the fused TCP against nginx and the socket backend,
// on one veth pair between two network namespaces, each server alone and pinned to one
// CPU, wrk pinned to the other, back to back, several rounds (the order of the servers
// turns each round, so that none always runs first or last).
//
//   nginx     the server namespace's kernel on 198.18.0.1:80; one worker, sendfile,
//             access_log off, keepalive_requests high; no XDP program attached
//   socket    `appliance serve --backend socket --http 198.18.0.1:80`, in the namespace
//   fused     `appliance serve --backend xdp --addr 198.18.0.10`, one queue, one worker
//
// Each end of the veth pair receives on its own side's CPU. veth receives a frame on the
// CPU that sent it, so by default each side's receiving (the client kernel's TCP for every
// frame a server sends; the server kernel's TCP, or XDP and the AF_XDP copy, for every frame
// wrk sends) would be charged to the other side's CPU. Here GRO is on at both ends (as NICs
// have it), veth's NAPI is threaded and its threads pinned to their side's CPU, and receive
// packet steering sends what veth hands to the backlog to that CPU too.
//
// Loads, one wrk run each (-t1, bounded by --seconds): 1 KiB keep-alive; 1 KiB with a new
// connection per request (Connection: close, so the server closes first); 16 KiB, 256 KiB
// and 1 MiB keep-alive; 1 KiB with 16 requests pipelined per write (a wrk script), to get
// past what wrk itself can parse per request. The files are random bytes, so no variant is
// compressed. Before each server's loads every file is fetched with curl and checked
// (sha256), and the first load runs 3 s unmeasured (a JIT compiles, caches fill).
//
// Columns: requests/s; Gbit/s of HTTP bytes (head and body: requests/s x the bytes of one
// response as curl counts them); wrk's latency p50/p99; the server CPU's busy share and
// its busy time per request; the server process's own CPU time (user + system from
// /proc/PID/stat) per request; the generator CPU's busy share (near 100%: the figure is
// wrk's limit rather than the server's); and the ratios to nginx of requests/s and of CPU
// per request. For the fused path, its counters: frames in and out per request, and how
// many data segments came from the image's pre-cut pieces (template) or were copied.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { parseMetrics } from '../worker/metrics.js';
import { cpuTimes, summarizeProfile } from './cpu.js';
import { createTopology, stopProcess, sweepStaleNamespaces, type Topology } from './netns.js';
import { writeNginxConfig } from './nginx.js';
import { formatTable, median } from './process.js';

export type HttpBenchServer = 'nginx' | 'socket' | 'fused';
export const HTTP_BENCH_SERVERS: readonly HttpBenchServer[] = ['nginx', 'socket', 'fused'];
export type HttpBenchLoad = 'ka-1k' | 'close-1k' | 'ka-16k' | 'ka-256k' | 'ka-1m' | 'pipe-1k';
export const HTTP_BENCH_LOADS: readonly HttpBenchLoad[] = ['ka-1k', 'close-1k', 'ka-16k', 'ka-256k', 'ka-1m', 'pipe-1k'];

/** The fused path's address: one the server namespace's kernel does not have. */
const FUSED_IPV4 = '198.18.0.10';
/** Seconds of the first load before each server's measured runs. */
const WARMUP_SECONDS = 3;
const PIPELINE_DEPTH = 16;

const FILES: Record<string, number> = { '1k.bin': 1024, '16k.bin': 16 << 10, '256k.bin': 256 << 10, '1m.bin': 1 << 20 };

interface LoadSpec { what: string; file: string; wrkArgs: string[]; pipelined: boolean }
const LOADS: Record<HttpBenchLoad, LoadSpec> = {
  'ka-1k': { what: '1 KiB, keep-alive', file: '1k.bin', wrkArgs: [], pipelined: false },
  'close-1k': { what: '1 KiB, a new connection per request', file: '1k.bin', wrkArgs: ['-H', 'Connection: close'], pipelined: false },
  'ka-16k': { what: '16 KiB, keep-alive', file: '16k.bin', wrkArgs: [], pipelined: false },
  'ka-256k': { what: '256 KiB, keep-alive', file: '256k.bin', wrkArgs: [], pipelined: false },
  'ka-1m': { what: '1 MiB, keep-alive', file: '1m.bin', wrkArgs: [], pipelined: false },
  'pipe-1k': { what: `1 KiB, ${PIPELINE_DEPTH} pipelined per connection`, file: '1k.bin', wrkArgs: [], pipelined: true },
};

/** What each load is, for the report: its file's size and its connection mode. */
export const HTTP_LOAD_INFO: Record<HttpBenchLoad, { what: string; bytes: number; mode: 'keep-alive' | 'close' | 'pipelined' }> = Object.fromEntries(
  (Object.entries(LOADS) as Array<[HttpBenchLoad, LoadSpec]>).map(([k, l]) => [k, {
    what: l.what, bytes: FILES[l.file]!, mode: l.pipelined ? 'pipelined' : l.wrkArgs.includes('Connection: close') ? 'close' : 'keep-alive',
  }]),
) as Record<HttpBenchLoad, { what: string; bytes: number; mode: 'keep-alive' | 'close' | 'pipelined' }>;

const SERVER_NAMES: Record<HttpBenchServer, string> = { nginx: 'nginx (kernel TCP)', socket: 'appliance, socket backend', fused: 'appliance, fused (AF_XDP)' };

export interface HttpBenchOptions {
  rounds: number;
  seconds: number;
  connections: number;
  servers: HttpBenchServer[];
  loads: HttpBenchLoad[];
  serverCpu: number;
  loadCpu: number;
  /** dist/cli.js. */
  cli: string;
  /** After the rounds, one more fused run under the first of `loads` with a CPU profile written here, summarized. */
  profileDir?: string;
  log: (line: string) => void;
}

export interface HttpSample {
  rps: number;
  gbps: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of the server CPU not idle in the middle of the run. */
  busy: number;
  /** Share of the generator's CPU not idle. */
  loadBusy: number;
  /** Server process CPU time (user + system), µs per request. */
  procUs: number;
  errors: number;
  /** Frames the veth dropped on the way to the server during the run (the client end's TX drops and the server end's RX drops). */
  wireDrops: number;
  /** The fused path's counters over the run (deltas), when it ran. */
  fused?: {
    framesInPerReq: number; framesOutPerReq: number; template: number; copied: number; retransmits: number; rtoExpiries: number;
    fastRetransmits: number; txRingFull: number; rxRingFull: number; rxPerBatch: number; txPerBatch: number;
  };
}

export interface HttpBenchResult {
  /** results[load][server]: one sample per round. */
  results: Map<HttpBenchLoad, Map<HttpBenchServer, HttpSample[]>>;
  failures: string[];
}

/** A running server of the bench: where to reach it, its pid (for /proc), how to stop it. */
interface Subject {
  host: string;
  pid: number;
  metrics?: () => Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function need(cmds: string[]): void {
  for (const c of cmds) {
    if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) throw new ApplianceError('APPL_ERR_BENCH', `${c} is not installed (the bench needs ${cmds.join(', ')})`);
  }
}

/** "1.23ms" / "456.00us" / "1.2s" → milliseconds. */
function wrkTime(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

export function parseWrk(out: string): { rps: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number } {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new ApplianceError('APPL_ERR_BENCH', `cannot read wrk's output:\n${out}`);
  const pct = (p: string): number => wrkTime(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  // wrk's histogram sometimes breaks under a pipelining script and prints 0.00us past the
  // median: such percentiles are not reported.
  const p50 = pct('50'), p99 = pct('99');
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { rps: Number(rps[1]), p50Ms: p50, p99Ms: p99 >= p50 ? p99 : NaN, errors, non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) };
}

function procCpuSeconds(pid: number): number {
  try {
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new ApplianceError('APPL_ERR_BENCH', `${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (c) => { out += c; });
  child.stderr?.on('data', (c) => { out += c; });
  return () => out;
}

interface Env { topo: Topology; dir: string; site: string; image: string; conf: string; o: HttpBenchOptions }

async function startSubject(s: HttpBenchServer, env: Env, profile?: string): Promise<Subject> {
  const subject = await launch(s, env, profile);
  // An XDP program attached or gone may have made the NAPI threads anew: pin them again.
  await env.topo.pinNapi();
  return subject;
}

async function launch(s: HttpBenchServer, env: Env, profile?: string): Promise<Subject> {
  const { topo, o } = env;
  const cpu = String(o.serverCpu);
  await topo.detachXdp(topo.server);
  if (s === 'nginx') {
    const child = topo.spawn(topo.server.ns, 'taskset', ['-c', cpu, 'nginx', '-e', join(env.dir, 'nginx-error.log'), '-c', env.conf, '-g', 'daemon off; master_process off;']);
    const out = collect(child);
    const host = topo.server.ipv4;
    await until('nginx', async () => {
      if (child.exitCode !== null) throw new ApplianceError('APPL_ERR_BENCH', `nginx exited: ${out()}`);
      return (await topo.run(topo.client.ns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${host}/1k.bin`])) === '200';
    });
    return { host, pid: child.pid!, stop: () => stopProcess(child, 5000) };
  }
  if (s === 'socket') {
    const host = topo.server.ipv4;
    const child = topo.spawn(topo.server.ns, 'taskset', ['-c', cpu, process.execPath, o.cli, 'serve', env.image, '--backend', 'socket', '--http', `${host}:80`]);
    const out = collect(child);
    await until('the socket backend', async () => {
      if (child.exitCode !== null) throw new ApplianceError('APPL_ERR_BENCH', `the appliance exited: ${out()}`);
      return (await topo.run(topo.client.ns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${host}/1k.bin`])) === '200';
    });
    return { host, pid: child.pid!, stop: () => stopProcess(child, 5000) };
  }
  // The fused path: the supervisor pinned to the worker's CPU too, so all of it is on the server core.
  const nodeArgs = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
  const child = spawn('taskset', ['-c', cpu, process.execPath, ...nodeArgs, o.cli, 'serve', env.image, '--backend', 'xdp', '--iface', topo.server.iface,
    '--netns', topo.server.ns, '--addr', FUSED_IPV4, '--queues', '1', '--cpus', cpu, '--metrics', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collect(child);
  await until('the fused appliance', async () => {
    if (child.exitCode !== null) throw new ApplianceError('APPL_ERR_BENCH', `the appliance exited: ${out()}`);
    return out().includes('press Ctrl-C') &&
      (await topo.run(topo.client.ns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${FUSED_IPV4}/1k.bin`])) === '200';
  });
  const port = /stats http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out())?.[1];
  return {
    host: FUSED_IPV4,
    pid: child.pid!,
    metrics: async () => parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).totals,
    stop: () => stopProcess(child, 10_000),
  };
}

/** Every file through curl from the client namespace: its sha256, and the response's size (head + body). */
async function checkFiles(env: Env, host: string, sums: Map<string, string>): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const [name, sum] of sums) {
    const file = join(env.dir, `got-${name}`);
    const w = await env.topo.run(env.topo.client.ns, 'curl', ['-s', '-o', file, '-w', '%{http_code} %{size_header} %{size_download}', `http://${host}/${name}`], 30_000);
    const [code, head, body] = w.split(' ').map(Number);
    const got = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (code !== 200 || got !== sum) throw new ApplianceError('APPL_ERR_BENCH', `${host}/${name}: status ${code}, sha256 ${got.slice(0, 16)}…, expected ${sum.slice(0, 16)}…`);
    sizes.set(name, head! + body!);
  }
  return sizes;
}

async function runLoad(env: Env, subject: Subject, load: HttpBenchLoad, responseBytes: number, seconds = env.o.seconds): Promise<HttpSample> {
  const { topo } = env;
  const o = { ...env.o, seconds };
  const spec = LOADS[load];
  const url = `http://${subject.host}/${spec.file}`;
  const args = ['-c', String(o.loadCpu), 'wrk', '-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', ...spec.wrkArgs];
  if (spec.pipelined) {
    const script = join(env.dir, 'pipeline.lua');
    writeFileSync(script, `init = function(args)\n  local r = {}\n  for i = 1, ${PIPELINE_DEPTH} do r[i] = wrk.format(nil, "/${spec.file}") end\n  req = table.concat(r)\nend\nrequest = function() return req end\n`);
    args.push('-s', script);
  }
  args.push(url);
  const wireDrops = async (): Promise<number> => (await topo.linkDrops(topo.client)).tx + (await topo.linkDrops(topo.server)).rx;
  const drops0 = await wireDrops();
  const before = subject.metrics ? await subject.metrics() : undefined;
  const cpu0 = procCpuSeconds(subject.pid);
  // CPU use sampled inside the load (its first and last second left out).
  let b: [number, number] = [0, 0], a: [number, number] = [0, 0], lb: [number, number] = [0, 0], la: [number, number] = [0, 0];
  const inner = Math.max(1, o.seconds - 2) * 1000;
  const t1 = setTimeout(() => { b = cpuTimes([o.serverCpu]); lb = cpuTimes([o.loadCpu]); }, 1000);
  const t2 = setTimeout(() => { a = cpuTimes([o.serverCpu]); la = cpuTimes([o.loadCpu]); }, 1000 + inner);
  const t0 = performance.now();
  const out = await topo.run(topo.client.ns, 'taskset', args, (o.seconds + 60) * 1000).finally(() => { clearTimeout(t1); clearTimeout(t2); });
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = procCpuSeconds(subject.pid);
  const after = subject.metrics ? await subject.metrics() : undefined;
  const drops1 = await wireDrops();
  const w = parseWrk(out);
  if (w.non2xx > 0) throw new ApplianceError('APPL_ERR_BENCH', `wrk saw ${w.non2xx} responses that were not 2xx/3xx from ${url}`);
  const share = (x: [number, number], y: [number, number]): number => (y[1] > x[1] ? (y[0] - x[0]) / (y[1] - x[1]) : NaN);
  const sample: HttpSample = {
    rps: w.rps, gbps: (w.rps * responseBytes * 8) / 1e9, p50Ms: w.p50Ms, p99Ms: w.p99Ms, busy: share(b, a), loadBusy: share(lb, la),
    // wrk's count over its own run; the process time over the whole command, which is a little longer.
    procUs: ((cpu1 - cpu0) * 1e6) / (w.rps * Math.max(wall, o.seconds)),
    errors: w.errors,
    wireDrops: drops1 - drops0,
  };
  if (before && after) {
    const d = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
    const req = Math.max(1, d('http_requests'));
    sample.fused = {
      framesInPerReq: d('tcp_segments_in') / req, framesOutPerReq: d('tcp_segments_out') / req,
      template: d('tcp_segments_template'), copied: d('tcp_segments_copied'), retransmits: d('tcp_retransmits'),
      rtoExpiries: d('tcp_rto_expiries'), fastRetransmits: d('tcp_fast_retransmits'), txRingFull: d('tx_ring_full'), rxRingFull: d('dev_rx_ring_full'),
      rxPerBatch: d('rx_frames') / Math.max(1, d('rx_batches')), txPerBatch: d('tx_frames') / Math.max(1, d('tx_batches')),
    };
  }
  return sample;
}

export async function runHttpBench(o: HttpBenchOptions): Promise<HttpBenchResult> {
  need(['wrk', 'nginx', 'curl', 'taskset', 'ethtool']);
  await sweepStaleNamespaces();
  const dir = mkdtempSync(join(tmpdir(), 'apl-bench-http-'));
  const results = new Map<HttpBenchLoad, Map<HttpBenchServer, HttpSample[]>>();
  const failures: string[] = [];
  let topo: Topology | undefined;
  try {
    topo = await createTopology({ queues: 1, tag: 'bhttp', receiveCpus: { server: o.serverCpu, client: o.loadCpu } });
    const site = join(dir, 'site');
    mkdirSync(site);
    const sums = new Map<string, string>();
    for (const [name, size] of Object.entries(FILES)) {
      const body = randomBytes(size);
      writeFileSync(join(site, name), body);
      sums.set(name, createHash('sha256').update(body).digest('hex'));
    }
    writeFileSync(join(site, 'index.html'), '<!DOCTYPE html><title>bench</title>\n');
    const image = join(dir, 'site.apl');
    await buildImage({ sites: [{ host: null, dir: site }], zones: [], output: image, http: { ...DEFAULT_HTTP_OPTIONS } });
    const conf = writeNginxConfig({ dir, listen: [`${topo.server.ipv4}:80`], root: site });
    const env: Env = { topo, dir, site, image, conf, o };

    o.log(`files of 1 KiB, 16 KiB, 256 KiB, 1 MiB (random bytes); wrk -t1 -c${o.connections}, ${o.seconds} s per run, ${o.rounds} round${o.rounds === 1 ? '' : 's'}; ` +
      `servers on CPU ${o.serverCpu}, wrk on CPU ${o.loadCpu}; one veth pair, 1 queue, MTU 1500, GRO on, each end received on its own side's CPU`);
    for (let round = 1; round <= o.rounds; round++) {
      const order = o.servers.map((_, i) => o.servers[(i + round - 1) % o.servers.length]!);
      for (const s of order) {
        const subject = await startSubject(s, env);
        try {
          const sizes = await checkFiles(env, subject.host, sums);
          // Warm-up, not measured: a JIT compiles, caches fill (every server gets the same).
          await runLoad(env, subject, o.loads[0]!, sizes.get(LOADS[o.loads[0]!].file)!, WARMUP_SECONDS);
          for (const load of o.loads) {
            let sample: HttpSample;
            try {
              sample = await runLoad(env, subject, load, sizes.get(LOADS[load].file)!);
            } catch (e) {
              failures.push(`round ${round}, ${SERVER_NAMES[s]}, ${LOADS[load].what}: ${(e as Error).message}`);
              o.log(`  round ${round}: ${SERVER_NAMES[s]}, ${LOADS[load].what}: FAILED: ${(e as Error).message}`);
              continue;
            }
            const byServer = results.get(load) ?? new Map<HttpBenchServer, HttpSample[]>();
            byServer.set(s, [...(byServer.get(s) ?? []), sample]);
            results.set(load, byServer);
            o.log(`  round ${round}: ${SERVER_NAMES[s].padEnd(26)} ${LOADS[load].what.padEnd(38)} ${Math.round(sample.rps).toLocaleString('en-US').padStart(8)} req/s, ` +
              `${sample.gbps.toFixed(2)} Gbit/s, server CPU ${(100 * sample.busy).toFixed(0)}%, wrk CPU ${(100 * sample.loadBusy).toFixed(0)}%` +
              (sample.errors ? `, ${sample.errors} socket errors` : ''));
          }
          // The files once more after the load: still byte-exact.
          await checkFiles(env, subject.host, sums);
        } finally {
          await subject.stop();
          await topo.detachXdp(topo.server);
        }
      }
    }
    printTables(o, results);
    if (o.profileDir && o.servers.includes('fused')) {
      const load = o.loads[0]!;
      const subject = await startSubject('fused', env, o.profileDir);
      try {
        const sizes = await checkFiles(env, subject.host, sums);
        await runLoad(env, subject, load, sizes.get(LOADS[load].file)!, WARMUP_SECONDS);
        await runLoad(env, subject, load, sizes.get(LOADS[load].file)!);
      } finally {
        await subject.stop();
      }
      o.log('');
      o.log(`where the fused worker's time goes under ${LOADS[load].what} (self time, CPU profile in ${o.profileDir}):`);
      for (const l of summarizeProfile(o.profileDir)) o.log(`  ${l}`);
    }
  } finally {
    await topo?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    o.log('');
    for (const f of failures) o.log(`FAILED: ${f}`);
  }
  return { results, failures };
}

function printTables(o: HttpBenchOptions, results: Map<HttpBenchLoad, Map<HttpBenchServer, HttpSample[]>>): void {
  const med = (v: HttpSample[], f: (s: HttpSample) => number): number => median(v.map(f));
  const cpuUs = (s: HttpSample): number => (s.busy * 1e6) / s.rps;
  const ms = (v: number[]): string => {
    const ok = v.filter(Number.isFinite);
    return ok.length ? median(ok).toFixed(2) : '-';
  };
  const header = ['load', 'server', 'req/s', 'min', 'max', 'Gbit/s', 'p50 ms', 'p99 ms', 'CPU busy', 'CPU µs/req', 'proc µs/req', 'wrk CPU', 'veth drops', '÷ nginx req/s', '÷ nginx CPU/req'];
  const table: string[][] = [header];
  const fusedLines: string[] = [];
  for (const load of o.loads) {
    const byServer = results.get(load);
    if (!byServer) continue;
    const ng = byServer.get('nginx');
    for (const s of o.servers) {
      const v = byServer.get(s);
      if (!v || v.length === 0) continue;
      const rps = med(v, (x) => x.rps);
      // The ratios within each round (the servers ran back to back), then their median.
      const ratio = (f: (x: HttpSample) => number): string => {
        if (!ng || s === 'nginx') return '-';
        const r = v.map((x, i) => (ng[i] ? f(x) / f(ng[i]!) : NaN)).filter(Number.isFinite);
        return r.length ? `${median(r).toFixed(2)}×` : '-';
      };
      table.push([LOADS[load].what, SERVER_NAMES[s], Math.round(rps).toLocaleString('en-US'),
        Math.round(Math.min(...v.map((x) => x.rps))).toLocaleString('en-US'), Math.round(Math.max(...v.map((x) => x.rps))).toLocaleString('en-US'),
        med(v, (x) => x.gbps).toFixed(2), ms(v.map((x) => x.p50Ms)), ms(v.map((x) => x.p99Ms)),
        `${(100 * med(v, (x) => x.busy)).toFixed(0)}%`, med(v, cpuUs).toFixed(2), med(v, (x) => x.procUs).toFixed(2),
        `${(100 * med(v, (x) => x.loadBusy)).toFixed(0)}%`, Math.round(med(v, (x) => x.wireDrops)).toLocaleString('en-US'), ratio((x) => x.rps), ratio(cpuUs)]);
      const f = v.map((x) => x.fused).filter((x) => x !== undefined);
      if (f.length > 0) {
        const n = (get: (x: NonNullable<HttpSample['fused']>) => number): string => Math.round(median(f.map(get))).toLocaleString('en-US');
        fusedLines.push(`  ${LOADS[load].what.padEnd(38)} frames in ${median(f.map((x) => x.framesInPerReq)).toFixed(2)}, out ${median(f.map((x) => x.framesOutPerReq)).toFixed(2)} per request; ` +
          `data segments ${n((x) => x.template)} template, ${n((x) => x.copied)} copied; ${n((x) => x.retransmits)} retransmitted ` +
          `(${n((x) => x.rtoExpiries)} timeouts, ${n((x) => x.fastRetransmits)} fast); lost at a full TX ring ${n((x) => x.txRingFull)}, RX ring ${n((x) => x.rxRingFull)}; ` +
          `frames per batch ${median(f.map((x) => x.rxPerBatch)).toFixed(1)} in, ${median(f.map((x) => x.txPerBatch)).toFixed(1)} out`);
      }
    }
  }
  o.log('');
  o.log('medians over rounds; ratios are the median of each round\'s ratio');
  for (const line of formatTable(table, (c) => c < 2, true)) o.log(line);
  o.log('');
  o.log('CPU busy: the server CPU\'s share not idle in the middle of the run, its kernel work included: the receiving of the');
  o.log('frames wrk sends (a NAPI thread pinned there; XDP and the AF_XDP copy for the fused path, TCP for the others) and');
  o.log('the sending of the server\'s (for the fused path, AF_XDP copy mode: an skb per frame). CPU µs/req: that busy time per request.');
  o.log('proc µs/req: the server process\'s own user + system time. nginx\'s segments cross the veth as GSO frames of up to');
  o.log('64 KiB (no XDP program attached); the fused path\'s as MTU-sized frames. wrk CPU near 100%: the generator\'s limit.');
  o.log('p50/p99: wrk\'s latency (of each batch of 16, pipelined; - where wrk\'s histogram printed none).');
  o.log('veth drops: frames wrk\'s side sent that the veth dropped before the server took them, per run (the client end\'s TX');
  o.log('and the server end\'s RX dropped counters): the receive side on the server CPU fell behind.');
  if (fusedLines.length > 0) {
    o.log('');
    o.log('the fused path\'s counters (medians over rounds):');
    for (const l of fusedLines) o.log(l);
  }
}
