// `appliance bench report -o DIR [--quick | --full]`: runs the benches that apply on this
// machine one after another (never two at once), with a progress line and an ETA, keeps
// every figure in DIR/results.json as it goes (a bench that fails is a note, and the
// others still run), then draws the page (render.ts). `--from FILE` only draws.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isRoot } from '../netns.js';
import { dnsSocketFigures, dnsTcpFigures, dnsUdpFigures, httpFigures, httpSocketFigures, reflectorFigures } from './convert.js';
import { newResults, writeResults, type Figures, type Results } from './results.js';

export interface ReportOptions {
  dir: string;
  mode: 'quick' | 'full';
  cli: string;
  workerScript: string;
  serverCpu: number;
  loadCpu: number;
  log: (line: string) => void;
}

interface Step {
  title: string;
  root: boolean;
  /** Seconds it should take, for the ETA. */
  estimate: number;
  run: () => Promise<Figures>;
}

function steps(o: ReportOptions): Step[] {
  const quick = o.mode === 'quick';
  const pin = { serverCpu: o.serverCpu, loadCpu: o.loadCpu };
  const quiet = (l: string): void => o.log(`    ${l}`);
  const s = { udp: quick ? 3 : 5, sock: quick ? 3 : 10, tcp: quick ? 3 : 5, http: quick ? 3 : 5 };
  const rounds = quick ? 1 : 3;
  const names = quick ? 100_000 : 1_000_000;
  const dnsServers = ['appliance', 'knot', 'nsd'] as const;
  return [
    {
      title: 'DNS over UDP, fused path against Knot DNS and NSD (kxdpgun)', root: true, estimate: rounds * dnsServers.length * (s.udp + 8) + 10,
      run: async () => {
        const { runDnsBench } = await import('../dns-xdp.js');
        const qps = 2_000_000;
        const r = await runDnsBench({ rounds, seconds: s.udp, qps, ...pin, servers: [...dnsServers], queues: 1, cli: o.cli, workerScript: o.workerScript, log: quiet });
        return dnsUdpFigures(r, { ...pin, seconds: s.udp, qps, command: `appliance bench dns --seconds ${s.udp} --rounds ${rounds} --servers ${dnsServers.join(',')}` });
      },
    },
    {
      title: 'The ceiling: the bare reflector against Knot DNS and NSD', root: true, estimate: rounds * 3 * (s.udp + 6),
      run: async () => {
        const { runReflectorBench } = await import('../reflector-bench.js');
        const r = await runReflectorBench({ rounds, duration: s.udp, ...pin, workerUrl: pathToFileURL(o.workerScript), log: quiet });
        return reflectorFigures(r, o.serverCpu);
      },
    },
    {
      title: 'DNS over kernel sockets on loopback: batched workers (1, 2) and node:dgram against NSD (dnsperf)', root: false, estimate: rounds * 4 * (s.sock + 4),
      run: async () => {
        const { runDnsSocketBench } = await import('../dns-socket.js');
        const workers = [1, 2, 0];
        const r = await runDnsSocketBench({ seconds: s.sock, rounds, outstanding: 200, clients: 4, edns: true, serverCpu: o.serverCpu, clientCpu: o.loadCpu, workers, cli: o.cli, log: quiet });
        return dnsSocketFigures(r, { ...pin, seconds: s.sock, command: `appliance bench dns-socket --seconds ${s.sock} --rounds ${rounds} --workers ${workers.join(',')}` });
      },
    },
    {
      title: 'DNS over TCP: fused TCP against Knot DNS and NSD', root: true, estimate: rounds * 8 * (s.tcp + 5) + 10,
      run: async () => {
        const { runDnsTcpBench } = await import('../dns-tcp.js');
        const r = await runDnsTcpBench({ rounds, seconds: s.tcp, qps: 100_000, servers: ['appliance', 'knot', 'nsd'], ...pin, connections: 8, outstanding: 256, cli: o.cli, log: quiet });
        return dnsTcpFigures(r, { ...pin, seconds: s.tcp, command: `appliance bench dns --transport tcp --seconds ${s.tcp} --rounds ${rounds}` });
      },
    },
    {
      title: 'HTTP by file size and connection mode: fused, socket backend, nginx (wrk)', root: true, estimate: rounds * 6 * 3 * (s.http + 5) + 10,
      run: async () => {
        const { runHttpBench, HTTP_BENCH_LOADS, HTTP_BENCH_SERVERS } = await import('../http-xdp.js');
        const r = await runHttpBench({ rounds, seconds: s.http, connections: 50, ...pin, servers: [...HTTP_BENCH_SERVERS], loads: [...HTTP_BENCH_LOADS], cli: o.cli, log: quiet });
        return httpFigures(r, { ...pin, seconds: s.http, connections: 50, command: `appliance bench http --seconds ${s.http} --rounds ${rounds}` });
      },
    },
    {
      title: 'HTTP over kernel sockets on loopback: socket backend against nginx (wrk)', root: false, estimate: rounds * 2 * (s.sock + 4),
      run: async () => {
        const { runHttpSocketBench } = await import('../http-socket.js');
        const r = await runHttpSocketBench({ seconds: s.sock, rounds, connections: 50, fileBytes: 1024, serverCpu: o.serverCpu, clientCpu: o.loadCpu, cli: o.cli, log: quiet });
        return httpSocketFigures(r, { ...pin, seconds: s.sock, connections: 50, fileBytes: 1024, command: `appliance bench http-socket --seconds ${s.sock} --rounds ${rounds}` });
      },
    },
    {
      title: `Building a zone of ${names.toLocaleString('en')} names against nsd-checkzone`, root: false, estimate: rounds * (names / 1_000_000) * 25 + 20,
      run: async () => {
        const { runZoneBuildBench } = await import('../zone-build.js');
        return runZoneBuildBench({ names, seed: 1, runs: rounds, cpu: -1, dir: join(o.dir, 'zone-bench'), cli: o.cli, log: quiet });
      },
    },
  ];
}

function minutes(s: number): string {
  return s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}

export async function runReport(o: ReportOptions): Promise<Results> {
  const results = newResults(o.mode);
  const file = join(o.dir, 'results.json');
  const root = isRoot();
  const todo = steps(o).filter((s) => {
    if (s.root && !root) results.notes.push(`${s.title}: not run (it needs root: network namespaces and AF_XDP)`);
    return !s.root || root;
  });
  let left = todo.reduce((a, s) => a + s.estimate, 0);
  const started = performance.now();
  for (const [i, s] of todo.entries()) {
    o.log(`[${i + 1}/${todo.length}] ${s.title} (about ${minutes(s.estimate)}; all done in about ${minutes(left)})`);
    const t0 = performance.now();
    try {
      results.figures.push(await s.run());
    } catch (e) {
      results.notes.push(`${s.title}: failed: ${(e as Error).message.split('\n')[0]}`);
      o.log(`    FAILED: ${(e as Error).message.split('\n')[0]}`);
    }
    left -= s.estimate;
    writeResults(file, results);
    o.log(`    took ${minutes((performance.now() - t0) / 1000)}`);
  }
  o.log(`benches done in ${minutes((performance.now() - started) / 1000)}; figures in ${file}`);
  return results;
}
