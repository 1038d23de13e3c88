// `appliance serve IMAGE` as a user runs it (the socket backend on loopback, the xdp backend
// in a test's namespaces): a child process, its ports read from what it prints, its
// counters from its --metrics endpoint, its memory from /proc, stopped by its pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseMetrics } from '../../appliance/worker/metrics.js';
import type { Topology } from '../../appliance/bench/netns.js';
import { CLI } from './fixtures.js';

/** A running `appliance serve`, either backend. */
export interface Served {
  proc: ChildProcess;
  metricsPort: number;
  /** Everything it printed on stdout and stderr. */
  output(): string;
  /** Counters summed, by name (http_*, dns_*, tcp_*, ...). */
  counters(): Promise<Record<string, number>>;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  alive(): boolean;
  /** SIGTERM, then the exit code (SIGKILL after 5 s). */
  stop(): Promise<number | null>;
}

export interface Serving extends Served {
  httpPort: number;
  dnsPort: number;
}

/** `appliance ARGS` started, resolved once it says it serves (rejected if it exits first or takes over 15 s). */
export async function start(args: string[], o: { inNamespace?: { topo: Topology; ns: string } } = {}): Promise<Served> {
  // In a namespace (a test whose serve must use that namespace's kernel sockets too), its metrics are only reachable from there.
  const proc = o.inNamespace
    ? o.inNamespace.topo.spawn(o.inNamespace.ns, process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 15_000);
    const take = (c: Buffer): void => {
      out += c;
      if (out.includes('press Ctrl-C to stop')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before it was ready: ${out}`));
    });
  });
  const s: Served = {
    proc,
    metricsPort: Number(/stats http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out)?.[1] ?? 0),
    output: () => out,
    counters: async () => {
      const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
      return parseMetrics(await res.text()).totals;
    },
    rss: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return Number(m?.[1] ?? 0) * 1024;
    },
    alive: () => proc.exitCode === null && proc.signalCode === null,
    stop: async () => {
      if (!s.alive()) return proc.exitCode;
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return s;
}

export async function serveSocket(image: string, args: string[] = []): Promise<Serving> {
  const s = await start(['serve', image, '--backend', 'socket', '--http', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--metrics', '127.0.0.1:0', ...args]);
  const port = (re: RegExp): number => Number(re.exec(s.output())?.[1] ?? 0);
  return Object.assign(s, { httpPort: port(/HTTP\s+http:\/\/127\.0\.0\.1:(\d+)\//), dnsPort: port(/DNS\s+127\.0\.0\.1:(\d+) UDP and TCP/) });
}

/** `appliance serve IMAGE --backend xdp` on the topology's server interface, in its namespace, with metrics on loopback. */
export function serveXdp(topo: Topology, image: string, args: string[] = []): Promise<Served> {
  return start(['serve', image, '--backend', 'xdp', '--iface', topo.server.iface, '--netns', topo.server.ns, '--metrics', '127.0.0.1:0', ...args]);
}
