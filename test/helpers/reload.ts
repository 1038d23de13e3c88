// Reloads as an operator does them: images built ahead, each moved over the served path
// (a rename, as a deploy does), then SIGHUP or `appliance reload`; and the probe that
// sends a DNS query and an HTTP request every 10 ms across them (reload-probe.ts).

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetrics } from '../../appliance/worker/metrics.js';
import { buildTestImage, ROOT, runCli } from './fixtures.js';
import type { ProbeResult } from './reload-probe.js';

export const RELOAD_ZONE = 'reload.test.';
/** A file of this size whose bytes change with each version: fetched across reloads, it must come whole from one. */
export const BIG_BYTES = 768 * 1024;

export interface Version {
  image: string;
  serial: number;
  /** version.txt's body, "v<serial>". */
  body: string;
  /** sha256 of big.bin in this version. */
  bigSha: string;
}

/** Images 0..n-1 of a small site and zone: version k has SOA serial 1000 + k and version.txt "v<1000+k>". */
export async function buildVersions(dir: string, n: number): Promise<Version[]> {
  const out: Version[] = [];
  const { createHash } = await import('node:crypto');
  for (let k = 0; k < n; k++) {
    const serial = 1000 + k;
    const site = join(dir, `site${k}`);
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, 'index.html'), `<!doctype html><title>v${serial}</title>\n`);
    writeFileSync(join(site, 'version.txt'), `v${serial}\n`);
    const big = randomBytes(BIG_BYTES);
    writeFileSync(join(site, 'big.bin'), big);
    const zone = join(dir, `zone${k}.zone`);
    writeFileSync(zone, [
      `$ORIGIN ${RELOAD_ZONE}`, '$TTL 300',
      `@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`,
      '@ IN NS ns1', 'ns1 IN A 198.18.0.10', 'www IN A 198.18.0.10', '',
    ].join('\n'));
    const image = await buildTestImage(join(dir, `v${k}.apl`), [{ host: null, dir: site }], [{ origin: RELOAD_ZONE, file: zone }], 1);
    out.push({ image, serial, body: `v${serial}`, bigSha: createHash('sha256').update(big).digest('hex') });
  }
  return out;
}

/** Two images of a site holding one large incompressible file (`bytes` of random data), for memory checks. */
export async function buildBigPair(dir: string, bytes: number): Promise<[string, string]> {
  const out: string[] = [];
  for (const k of [0, 1]) {
    const site = join(dir, `big${k}`);
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, 'index.html'), `big ${k}\n`);
    writeFileSync(join(site, 'big.bin'), randomBytes(bytes));
    out.push(await buildTestImage(join(dir, `big${k}.apl`), [{ host: null, dir: site }], [], 1));
  }
  return out as [string, string];
}

/**
 * `n` reloads alternating between two images at `served` (SIGHUP to `pid`, each waited for
 * in the metrics), then the largest resident size seen (bytes; `rss` reads it).
 */
export async function reloadMemory(pair: [string, string], served: string, pid: number, metricsPort: number, n: number, rss: () => number): Promise<number> {
  let most = 0;
  for (let k = 1; k <= n; k++) {
    copyFileSync(pair[k % 2]!, served + '.new');
    renameSync(served + '.new', served);
    process.kill(pid, 'SIGHUP');
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (parseMetrics(await res.text()).info?.reloads.ok === k) break;
      if (Date.now() > deadline) throw new Error(`reload ${k} not done in 15 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    most = Math.max(most, rss());
  }
  return most;
}

/** Puts version `v` at `served` the way a deploy does: a copy beside it, renamed over it. */
export function install(v: Version, served: string): void {
  copyFileSync(v.image, served + '.new');
  renameSync(served + '.new', served);
}

/** The serial the server's metrics say it serves (-1 when none). */
export async function servedSerial(metricsPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  return parseMetrics(await res.text()).info?.image.zones.find((z) => z.origin === RELOAD_ZONE)?.serial ?? -1;
}

/** `appliance reload 127.0.0.1:PORT`: its exit code and output. */
export function cliReload(metricsPort: number): Promise<{ code: number; out: string }> {
  return runCli(['reload', `127.0.0.1:${metricsPort}`]);
}

/**
 * Installs versions 1..n-1 one after another: SIGHUP to `pid` (or, every other time when
 * `alternate`, `appliance reload`), then waits until the metrics show the new serial, and
 * lets `dwellMs` pass. Returns the milliseconds each reload took to show.
 */
export async function reloadThrough(versions: Version[], served: string, pid: number, metricsPort: number, o: { alternate?: boolean; dwellMs?: number } = {}): Promise<number[]> {
  const took: number[] = [];
  for (let k = 1; k < versions.length; k++) {
    install(versions[k]!, served);
    const t0 = performance.now();
    if (o.alternate && k % 2 === 0) {
      const r = await cliReload(metricsPort);
      if (r.code !== 0) throw new Error(`appliance reload failed: ${r.out}`);
    } else {
      process.kill(pid, 'SIGHUP');
    }
    const deadline = Date.now() + 15_000;
    while ((await servedSerial(metricsPort)) !== versions[k]!.serial) {
      if (Date.now() > deadline) throw new Error(`serial ${versions[k]!.serial} not served 15 s after the reload`);
      await new Promise((r) => setTimeout(r, 20));
    }
    took.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, o.dwellMs ?? 150));
  }
  return took;
}

export const PROBE = join(ROOT, 'build', 'test', 'helpers', 'reload-probe.js');

/** A started probe (its process from `spawnProbe`): resolves once it sends; finish() ends it and gives its result. */
export async function startedProbe(proc: ChildProcess): Promise<{ finish: () => Promise<ProbeResult> }> {
  let out = '';
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => { err += c; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (out.includes('probing\n')) resolve();
    });
    void exited.then(() => reject(new Error(`the probe exited: ${out} ${err}`)));
  });
  return {
    finish: async () => {
      proc.stdin!.end();
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`the probe gave no result: ${out} ${err}`);
      return JSON.parse(line) as ProbeResult;
    },
  };
}

/** What a probe must have seen across the reloads of `versions`: nothing lost, each version, in order. */
export function probeProblems(r: ProbeResult, versions: Version[]): string[] {
  const p: string[] = [];
  if (r.dns.lost > 0 || r.dns.wrong > 0) p.push(`DNS: ${r.dns.lost} lost, ${r.dns.wrong} wrong of ${r.dns.sent}`);
  if (r.http.lost > 0 || r.http.errors.length > 0) p.push(`HTTP: ${r.http.lost} lost, errors: ${r.http.errors.slice(0, 5).join('; ')}`);
  const serials = versions.map((v) => v.serial);
  if (JSON.stringify(r.dns.serials) !== JSON.stringify(serials)) p.push(`DNS serials seen ${r.dns.serials.join(' ')}, expected ${serials.join(' ')}`);
  const bodies = versions.map((v) => v.body);
  if (JSON.stringify(r.http.bodies) !== JSON.stringify(bodies)) p.push(`HTTP bodies seen ${r.http.bodies.join(' ')}, expected ${bodies.join(' ')}`);
  return p;
}

/**
 * The probe across the reloads of `versions`: the probe started (its process from `spawn`),
 * `settleMs` for it to see the first version, a slow download started every 400 ms, the
 * reloads, then the probe's result, how long each reload took to show, and each
 * download's sha256.
 */
export async function probedReloads(o: {
  spawn: () => ChildProcess; download: (k: number) => Promise<string>; versions: Version[]; served: string; pid: number; metricsPort: number; settleMs: number;
}): Promise<{ result: ProbeResult; took: number[]; shas: string[] }> {
  const probe = await startedProbe(o.spawn());
  await new Promise((res) => setTimeout(res, o.settleMs));
  const downloads: Array<Promise<string>> = [];
  const timer = setInterval(() => downloads.push(o.download(downloads.length)), 400);
  let took: number[];
  try {
    took = await reloadThrough(o.versions, o.served, o.pid, o.metricsPort, { alternate: true });
  } finally {
    clearInterval(timer);
  }
  const result = await probe.finish();
  return { result, took, shas: await Promise.all(downloads) };
}

/** The probe's figures, one line for the test's log. */
export function probeLine(r: ProbeResult, took: number[]): string {
  return `probe: DNS ${r.dns.answered}/${r.dns.sent} answered, HTTP ${r.http.answered}/${r.http.sent}; reloads took ${Math.min(...took).toFixed(0)}–${Math.max(...took).toFixed(0)} ms to show`;
}
