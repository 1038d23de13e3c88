// What the benches read of the CPUs: busy time from /proc/stat, and where a CPU profile of
// a worker thread says the time went.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Jiffies of one CPU from /proc/stat: [busy, total]. */
export function cpuTimes(cpus: number[]): [number, number] {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  let busy = 0, total = 0;
  for (const c of cpus) {
    const f = lines.find((l) => l.startsWith(`cpu${c} `))?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const t = f.reduce((a, b) => a + b, 0);
    total += t;
    busy += t - (f[3] ?? 0) - (f[4] ?? 0); // idle, iowait
  }
  return [busy, total];
}

/** Self time by function of the worker thread's CPU profile (the largest .cpuprofile). */
export function summarizeProfile(dir: string): string[] {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return ['(no profile written)'];
  const sized = files.map((f) => ({ f, n: readFileSync(join(dir, f)).length })).sort((a, b) => b.n - a.n);
  const prof = JSON.parse(readFileSync(join(dir, sized[0]!.f), 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const s of prof.samples) {
    const n = byId.get(s)!;
    const url = n.callFrame.url.split('/').pop() || '';
    const k = `${n.callFrame.functionName || '(anonymous)'}${url ? ` ${url}` : ''}`;
    self.set(k, (self.get(k) ?? 0) + 1);
  }
  const total = prof.samples.length;
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

