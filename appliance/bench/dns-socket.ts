// `appliance bench dns-socket`: the socket backend against NSD on loopback, with dnsperf.
//
// One server process each (NSD: server-count 1, rate limiting off, minimal responses, as
// the appliance answers; the appliance: `serve --backend socket --rrl-rate 0 --workers N`
// for each N of --workers: N threads answering UDP in batches, 0 for node:dgram;
// response rate limiting off as NSD's), the same zone (the
// benchmarks' bench.test, appliance/bench/dns-fixture.ts, with a wildcard added) and the
// same query mix, back to back for several rounds. The server is pinned to one CPU and
// dnsperf to the other, so they do not share a core. Prints answered queries/s (median,
// min, max) of each and the ratio. Every run is bounded by --seconds.
//
// The query mix (dnsperf's "name type" lines, taken in order, over and over): names that
// exist (A, AAAA, SOA, NS; AAAA of a name with only A is NODATA), names that do not
// (NXDOMAIN), and names a wildcard answers. EDNS (UDP size 1232) on every query with --edns
// (dnsperf sets it for a whole run), off without. Before the rounds, each server's answer to
// every line of the mix is fetched once and compared (rcode, flags, answer section): the
// figures compare servers that give the same answers.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { ApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { BENCH_ZONE, BENCH_ZONE_FILE, benchZoneText } from './dns-fixture.js';
import { nsdConf } from './nsd.js';
import { freePort, median, startServer, type Running } from './process.js';

export interface DnsSocketBenchOptions {
  seconds: number;
  rounds: number;
  /** dnsperf: queries in flight at most (-q) and client sockets (-c). */
  outstanding: number;
  clients: number;
  edns: boolean;
  serverCpu: number;
  clientCpu: number;
  /**
   * The appliance once per entry, with --workers N (default [1]: one worker, pinned beside
   * one NSD process). With more than one worker the server is not pinned: it has every CPU,
   * the one dnsperf runs on included.
   */
  workers?: number[];
  /** The CLI to run the appliance with (dist/cli.js). */
  cli: string;
  log: (line: string) => void;
}

export interface DnsSocketBenchResult {
  nsd: number[];
  /** Answered/s per round, for each --workers entry (the first is `appliance`). */
  appliance: number[];
  byWorkers: Array<{ workers: number; answers: number[] }>;
  /** Lines of the mix whose answers differ between the two servers. */
  mismatches: string[];
}

/** The query mix, in dnsperf's format. */
export function dnsperfMix(): string {
  const z = BENCH_ZONE;
  const lines: string[] = [];
  for (let i = 0; i < 16; i++) {
    lines.push(`host${i}.${z} A`, `nx${i}.${z} A`, `w${i}.wild.${z} A`);
    if (i % 4 === 0) lines.push(`host${i}.${z} AAAA`, `nx${i}.sub${i}.${z} AAAA`, `w${i}.wild.${z} TXT`);
  }
  lines.push(`www.${z} A`, `${z} SOA`, `${z} NS`, `ns1.${z} A`);
  return lines.join('\n') + '\n';
}

/** The bench zone with a wildcard below it (the names the mix asks for under wild.). */
function zoneText(): string {
  return benchZoneText() + '*.wild IN A 198.18.2.1\n*.wild IN TXT "wildcard"\n';
}

interface Dnsperf { qps: number; completed: number; lost: number; rcodes: string }

function dnsperf(port: number, mixFile: string, o: DnsSocketBenchOptions): Dnsperf {
  const args = ['-c', String(o.clientCpu), 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', mixFile, '-l', String(o.seconds),
    '-q', String(o.outstanding), '-c', String(o.clients), '-T', '1', '-t', '2', ...(o.edns ? ['-e'] : [])];
  const r = spawnSync('taskset', args, { encoding: 'utf8', timeout: (o.seconds + 30) * 1000 });
  if (r.status !== 0) throw new ApplianceError('APPL_ERR_BENCH', `dnsperf failed: ${r.stderr || r.stdout || r.error?.message}`);
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  const qps = num(/Queries per second:\s+([\d.]+)/);
  if (!Number.isFinite(qps)) throw new ApplianceError('APPL_ERR_BENCH', `cannot read dnsperf's output:\n${r.stdout}`);
  return {
    qps,
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    rcodes: /Response codes:\s+(.*)/.exec(r.stdout)?.[1]?.trim() ?? '',
  };
}

/** Sends one query of the mix over UDP and returns the answer (null after 1 s). */
function ask(port: number, name: string, type: string, edns: boolean): Promise<Buffer | null> {
  const q = dnsPacket.encode({
    type: 'query', id: 4242, flags: 0, questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as dnsPacket.Answer] : [],
  });
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => { s.close(); resolve(null); }, 1000);
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(m); });
    s.send(q, port, '127.0.0.1');
  });
}

/** What must agree: RCODE, AA, TC and the answer section as a set; the authority too when negative. */
function summary(m: Buffer | null): string {
  if (m === null) return 'no answer';
  const p = dnsPacket.decode(m);
  const rr = (r: dnsPacket.Answer): string => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
  const sec = (l: dnsPacket.Answer[] | undefined): string => (l ?? []).map(rr).sort().join('|');
  const flags = m.readUInt16BE(2) & 0x060f;
  const negative = (flags & 0xf) !== 0 || (p.answers ?? []).length === 0;
  return `${flags} ${sec(p.answers)}${negative ? ' / ' + sec(p.authorities) : ''}`;
}

async function answersTo(port: number, mix: string[], edns: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const line of mix) {
    const [name, type] = line.split(' ');
    out.push(summary(await ask(port, name!, type!, edns)));
  }
  return out;
}

/** Resolves when the server answers a query over UDP (or rejects after timeoutMs, or if it exits). */
async function waitForDns(port: number, srv: Running, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (srv.proc.exitCode !== null) throw new ApplianceError('APPL_ERR_BENCH', `the server exited (status ${srv.proc.exitCode}): ${srv.output()}`);
    if (await ask(port, `${BENCH_ZONE}.`, 'SOA', false) !== null) return;
    if (Date.now() > deadline) throw new ApplianceError('APPL_ERR_BENCH', `no DNS answer on 127.0.0.1:${port} after ${timeoutMs} ms: ${srv.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDnsSocketBench(o: DnsSocketBenchOptions): Promise<DnsSocketBenchResult> {
  for (const cmd of ['dnsperf', 'nsd', 'taskset']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
      throw new ApplianceError('APPL_ERR_BENCH', `${cmd} is not installed (apt-get install ${cmd === 'taskset' ? 'util-linux' : cmd})`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'appliance-bench-dns-socket-'));
  const running: Running[] = [];
  try {
    const zoneFile = join(dir, BENCH_ZONE_FILE);
    writeFileSync(zoneFile, zoneText());
    const mixText = dnsperfMix();
    const mixFile = join(dir, 'mix.txt');
    writeFileSync(mixFile, mixText);
    const mix = mixText.trim().split('\n');
    const image = join(dir, 'bench.apl');
    await buildImage({ sites: [], zones: [{ origin: null, file: zoneFile }], output: image, http: { ...DEFAULT_HTTP_OPTIONS } });
    const nsdPort = await freePort();
    const appPort = await freePort();
    writeFileSync(join(dir, 'nsd.conf'), nsdConf({
      dir, addresses: ['127.0.0.1'], port: nsdPort, minimalResponses: true, zones: [{ origin: BENCH_ZONE, file: zoneFile }],
    }));

    const workerList = o.workers ?? [1];
    const allCpus = Array.from({ length: availableParallelism() }, (_, i) => i).join(',');
    const start = async (which: 'nsd' | 'appliance', workers = workerList[0]!): Promise<Running> => {
      const srv = which === 'nsd'
        ? startServer('taskset', ['-c', String(o.serverCpu), 'nsd', '-d', '-c', join(dir, 'nsd.conf')])
        : startServer('taskset', ['-c', workers > 1 ? allCpus : String(o.serverCpu), process.execPath, o.cli, 'serve', image, '--backend', 'socket', '--dns', `127.0.0.1:${appPort}`,
          // RRL off, as NSD here (rrl-ratelimit: 0): dnsperf's one source would be limited at once.
          '--rrl-rate', '0', '--workers', String(workers)]);
      running.push(srv);
      await waitForDns(which === 'nsd' ? nsdPort : appPort, srv);
      return srv;
    };

    // The same answers from both, before anything is measured.
    const mismatches: string[] = [];
    {
      const n = await start('nsd');
      const ref = await answersTo(nsdPort, mix, o.edns);
      await n.stop();
      const a = await start('appliance');
      const ours = await answersTo(appPort, mix, o.edns);
      await a.stop();
      mix.forEach((line, i) => { if (ref[i] !== ours[i]) mismatches.push(`${line}: NSD ${ref[i]} / appliance ${ours[i]}`); });
    }
    o.log(`zone ${BENCH_ZONE} (a wildcard added), ${mix.length} queries in the mix (existing names, NODATA, NXDOMAIN, wildcard), ` +
      `EDNS ${o.edns ? 'on' : 'off'}; dnsperf -q ${o.outstanding} -c ${o.clients}, ${o.seconds} s per run, ${o.rounds} rounds; ` +
      `servers on CPU ${o.serverCpu}, dnsperf on CPU ${o.clientCpu}`);
    o.log(`answers compared before the runs: ${mix.length - mismatches.length} of ${mix.length} the same`);
    for (const m of mismatches.slice(0, 5)) o.log(`  DIFFERENT: ${m}`);

    const byWorkers = workerList.map((workers) => ({ workers, answers: [] as number[] }));
    const result: DnsSocketBenchResult = { nsd: [], appliance: byWorkers[0]!.answers, byWorkers, mismatches };
    const label = (w: number): string => (w === 0 ? 'appliance, node:dgram' : `appliance, ${w} worker${w === 1 ? '' : 's'}`);
    for (let round = 1; round <= o.rounds; round++) {
      for (const run of [{ which: 'nsd' as const, workers: 0 }, ...workerList.map((w) => ({ which: 'appliance' as const, workers: w }))]) {
        const srv = await start(run.which, run.workers);
        try {
          const d = dnsperf(run.which === 'nsd' ? nsdPort : appPort, mixFile, o);
          if (run.which === 'nsd') result.nsd.push(d.qps);
          else byWorkers.find((b) => b.workers === run.workers)!.answers.push(d.qps);
          o.log(`  round ${round}: ${(run.which === 'nsd' ? 'NSD' : label(run.workers)).padEnd(24)} ${Math.round(d.qps).toLocaleString('en-US').padStart(9)} answered/s ` +
            `(${d.completed.toLocaleString('en-US')} completed, ${d.lost} lost; ${d.rcodes})`);
        } finally {
          await srv.stop();
        }
      }
    }
    const fmt = (v: number[]): string => `median ${Math.round(median(v)).toLocaleString('en-US')}, min ${Math.round(Math.min(...v)).toLocaleString('en-US')}, max ${Math.round(Math.max(...v)).toLocaleString('en-US')}`;
    o.log('');
    o.log(`NSD (1 server process, kernel UDP)   answered queries/s: ${fmt(result.nsd)}`);
    for (const b of byWorkers) {
      o.log(`${(label(b.workers) + (b.workers > 1 ? ' (all CPUs)' : '')).padEnd(37)}answered queries/s: ${fmt(b.answers)}   ratio to NSD ${(median(b.answers) / median(result.nsd)).toFixed(2)}`);
    }
    return result;
  } finally {
    for (const r of running) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
