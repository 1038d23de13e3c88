// `appliance bench reflector`: the JS reflector over the binding against Knot DNS in XDP
// mode and NSD, in one run, back to back, each alone on the server CPU, loaded by kxdpgun
// on the other CPU. Prints answered queries per second (median/min/max of the rounds) and
// the ratios. The appliance's own DNS bench reuses the topology and the runners.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplianceError } from '../../basics/errors.js';
import { writeDnsFixture } from './dns-fixture.js';
import { startKnot, type ServerHandle } from './knot.js';
import { runKxdpgun } from './kxdpgun.js';
import { createTopology, sweepStaleNamespaces, type Topology } from './netns.js';
import { startNsd } from './nsd.js';
import { REFLECTOR_WORKER_URL, startReflector } from './reflector.js';
import { formatTable } from './process.js';

export interface ReflectorBenchOptions {
  /** Rounds per server (default 3). */
  rounds?: number;
  /** Seconds of load per round (default 3, at most 30). */
  duration?: number;
  /** Queries per second kxdpgun is asked for (default 2,000,000: more than any server answers). */
  qps?: number;
  serverCpu?: number;
  loadCpu?: number;
  /** Servers to run, in order (default all three). */
  servers?: Array<'reflector' | 'knot' | 'nsd'>;
  /** Module that runs reflectorWorkerMain in a worker (dist/worker.js in the bundle). */
  workerUrl?: URL;
  log?: (line: string) => void;
}

export interface ServerFigures {
  server: string;
  cpu: number;
  rounds: number[];
  sent: number[];
  median: number;
  min: number;
  max: number;
  note: string;
}

export interface ReflectorBenchResult {
  figures: ServerFigures[];
  loadCpu: number;
  duration: number;
  qps: number;
  command: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function runReflectorBench(o: ReflectorBenchOptions = {}): Promise<ReflectorBenchResult> {
  const rounds = o.rounds ?? 3;
  const duration = Math.min(30, o.duration ?? 3);
  const qps = o.qps ?? 2_000_000;
  const serverCpu = o.serverCpu ?? 0;
  const loadCpu = o.loadCpu ?? 1;
  const servers = o.servers ?? ['reflector', 'knot', 'nsd'];
  const log = o.log ?? (() => undefined);
  await sweepStaleNamespaces();
  const dir = mkdtempSync(join(tmpdir(), 'apl-bench-'));
  let topo: Topology | undefined;
  const figures = new Map<string, ServerFigures>();
  let command = '';
  try {
    // One queue: kxdpgun drives one "combined" channel on veth, and each server gets one core.
    topo = await createTopology({ queues: 1, tag: 'bench' });
    const { queryFile } = writeDnsFixture(dir);
    for (let r = 0; r < rounds; r++) {
      for (const s of servers) {
        let handle: ServerHandle;
        let note = '';
        if (s === 'reflector') {
          const t = topo;
          const refl = await startReflector({ iface: t.server.iface, netns: t.server.ns, queue: 0, cpu: serverCpu, ipv4: t.server.ipv4, maxSeconds: duration + 30 }, o.workerUrl ?? REFLECTOR_WORKER_URL);
          note = refl.mode;
          handle = { name: 'JS reflector (AF_XDP)', cpu: serverCpu, pid: process.pid, stop: async () => { await refl.stop(); } };
        } else if (s === 'knot') {
          handle = await startKnot(topo, dir, serverCpu);
          note = 'xdp';
        } else {
          handle = await startNsd(topo, dir, serverCpu);
          note = 'kernel UDP';
        }
        try {
          const k = await runKxdpgun(topo, { target: topo.server.ipv4, queryFile, duration, qps, cpu: loadCpu });
          command = `kxdpgun -t ${duration} -Q ${qps} -b 64 -F ${loadCpu} -i queries.txt -I veth-c -l ${topo.client.ipv4} -L <client mac> -R <server mac> ${topo.server.ipv4}`;
          const f = figures.get(handle.name) ?? { server: handle.name, cpu: handle.cpu, rounds: [], sent: [], median: 0, min: 0, max: 0, note };
          f.rounds.push(k.answeredPerSec);
          f.sent.push(k.sentPerSec);
          figures.set(handle.name, f);
          log(`round ${r + 1}/${rounds} ${handle.name}: ${Math.round(k.answeredPerSec)} answered/s (sent ${Math.round(k.sentPerSec)}/s)`);
        } finally {
          await handle.stop();
        }
      }
    }
  } finally {
    await topo?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const list = [...figures.values()];
  if (list.length === 0) throw new ApplianceError('APPL_ERR_BENCH', 'no server was measured');
  for (const f of list) {
    f.median = median(f.rounds);
    f.min = Math.min(...f.rounds);
    f.max = Math.max(...f.rounds);
  }
  return { figures: list, loadCpu, duration, qps, command };
}

export function formatReflectorBench(r: ReflectorBenchResult): string {
  const nsd = r.figures.find((f) => f.server.startsWith('NSD'));
  const knot = r.figures.find((f) => f.server.startsWith('Knot'));
  const k = (n: number) => `${(n / 1000).toFixed(0)}k`;
  const ratio = (a: number, b?: ServerFigures) => (b && b.median ? `${(a / b.median).toFixed(2)}×` : '-');
  const rows = [['server', 'answered/s median', 'min', 'max', 'vs NSD', 'vs Knot', 'server CPU', 'mode']];
  for (const f of r.figures) rows.push([f.server, k(f.median), k(f.min), k(f.max), ratio(f.median, nsd), ratio(f.median, knot), String(f.cpu), f.note]);
  const lines = formatTable(rows, (c) => c === 0 || c === 7);
  lines.push('', `load: ${r.command}`, `kxdpgun pinned to CPU ${r.loadCpu}; ${r.figures[0]!.rounds.length} rounds of ${r.duration} s each, servers back to back in each round`);
  return lines.join('\n');
}
