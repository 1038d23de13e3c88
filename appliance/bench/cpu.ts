// What the benches read of the CPUs: busy time from /proc/stat, and where a CPU profile of
// a worker thread says the time went.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

type Profile = { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[] };

/** Self samples by function of a profile, "(idle)" left out. */
function selfSamples(prof: Profile): Map<string, number> {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const s of prof.samples) {
    const n = byId.get(s)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const url = n.callFrame.url.split('/').pop() || '';
    const k = `${n.callFrame.functionName || '(anonymous)'}${url ? ` ${url}` : ''}`;
    self.set(k, (self.get(k) ?? 0) + 1);
  }
  return self;
}

/**
 * Self time by function of the busiest thread's CPU profile of the last process profiled
 * into `dir` (Node writes one file per thread: the worker's is the one with the most
 * samples that are not idle; by size the main thread's idle one can win), as shares of
 * its busy samples.
 */
export function summarizeProfile(dir: string): string[] {
  const all = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (all.length === 0) return ['(no profile written)'];
  // Only the files of the process that wrote last (Node names them CPU.DATE.TIME.PID.THREAD.SEQ): a
  // directory used before holds older runs' too.
  const newest = all.reduce((a, b) => (statSync(join(dir, b)).mtimeMs > statSync(join(dir, a)).mtimeMs ? b : a));
  const pidOf = (f: string): string => f.split('.')[3] ?? '';
  const files = all.filter((f) => pidOf(f) === pidOf(newest));
  let best: { file: string; self: Map<string, number>; busy: number; total: number } | null = null;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const self = selfSamples(prof);
    let busy = 0;
    for (const v of self.values()) busy += v;
    if (best === null || busy > best.busy) best = { file: f, self, busy, total: prof.samples.length };
  }
  const b = best!;
  const lines = [`(${b.file}: ${b.busy} of ${b.total} samples busy; shares of the busy ones)`];
  return lines.concat([...b.self].sort((x, y) => y[1] - x[1]).slice(0, 15).map(([k, v]) => `${((100 * v) / Math.max(1, b.busy)).toFixed(1).padStart(5)}%  ${k}`));
}
