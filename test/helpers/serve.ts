// `appliance serve IMAGE --backend socket` as a user runs it: a child process on loopback,
// its ports read from what it prints, its counters from its --metrics endpoint, its memory
// from /proc, stopped by its pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseMetrics } from '../../appliance/worker/metrics.js';
import { CLI } from './fixtures.js';

export interface Serving {
  proc: ChildProcess;
  httpPort: number;
  dnsPort: number;
  metricsPort: number;
  /** Everything it printed on stdout and stderr. */
  output(): string;
  /** Counters summed, by name (http_*, dns_*). */
  counters(): Promise<Record<string, number>>;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  alive(): boolean;
  /** SIGTERM, then the exit code (SIGKILL after 5 s). */
  stop(): Promise<number | null>;
}

export async function serveSocket(image: string, args: string[] = []): Promise<Serving> {
  const proc = spawn(process.execPath, [CLI, 'serve', image, '--backend', 'socket', '--http', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--metrics', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c) => { out += c; });
  proc.stderr!.on('data', (c) => { out += c; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 15_000);
    const check = (): void => {
      if (out.includes('press Ctrl-C to stop')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before it was ready: ${out}`));
    });
  });
  const port = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
  const s: Serving = {
    proc,
    httpPort: port(/HTTP\s+http:\/\/127\.0\.0\.1:(\d+)\//),
    dnsPort: port(/DNS\s+127\.0\.0\.1:(\d+) UDP and TCP/),
    metricsPort: port(/stats http:\/\/127\.0\.0\.1:(\d+)\/metrics/),
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
