#!/usr/bin/env node
// Micro-benchmark: parse + check of a generated zone (scripts/gen-zone.mjs) by our parser,
// next to nsd-checkzone on the same file. Prints wall time and peak RSS of each (median of
// --runs runs, each in a fresh process) and the ratio. A benchmark: it prints numbers and
// asserts nothing.
//
//   node build.mjs --tests && node scripts/bench-zone.mjs [--names 1000000] [--seed 1] [--runs 3] [--file ZONE --origin NAME]
//
// The zone is written once to .tmp/zone-bench/ (not in git) and reused.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = join(ROOT, 'build/specializers/dns/zone.js');

if (process.argv[2] === '--child') {
  // One measured run, in its own process: parse, check, report.
  const { parseZoneFile, checkZone } = await import(BUILT);
  const [file, origin] = process.argv.slice(3);
  const t0 = performance.now();
  const z = parseZoneFile(file, { origin });
  const t1 = performance.now();
  const c = checkZone(z);
  const t2 = performance.now();
  process.stdout.write(JSON.stringify({
    records: c.records.length, parseMs: t1 - t0, checkMs: t2 - t1, maxRssKB: process.resourceUsage().maxRSS,
  }) + '\n');
  process.exit(0);
}

const opts = { names: 1000000, seed: 1, runs: 3, file: null, origin: 'example.com' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
  if (!(k in opts) || v === undefined) {
    process.stderr.write('usage: node scripts/bench-zone.mjs [--names N] [--seed S] [--runs R] [--file ZONE --origin NAME]\n');
    process.exit(2);
  }
  opts[k] = k === 'file' || k === 'origin' ? v : Number(v);
}
if (!existsSync(BUILT)) {
  process.stderr.write('bench-zone: build/ is missing; run `node build.mjs --tests` first\n');
  process.exit(2);
}

let file = opts.file;
if (file === null) {
  const dir = join(ROOT, '.tmp/zone-bench');
  mkdirSync(dir, { recursive: true });
  file = join(dir, `gen-${opts.names}-seed${opts.seed}.zone`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${file} ...\n`);
    const g = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-zone.mjs'), '--names', String(opts.names), '--seed',
      String(opts.seed), '--origin', opts.origin, '--out', file], { stdio: 'inherit' });
    if (g.status !== 0) process.exit(1);
  }
}

const TIME = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p));
const NSD = ['/usr/sbin/nsd-checkzone', '/usr/bin/nsd-checkzone'].find((p) => existsSync(p));

/** Runs a command; wall seconds and peak RSS in KB (from GNU time when present). */
function measure(cmd, args) {
  const t0 = performance.now();
  const r = TIME === undefined
    ? spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(TIME, ['-f', '@@%e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  const m = /@@([\d.]+) (\d+)/.exec(r.stderr ?? '');
  return { wall, rssKB: m === null ? NaN : Number(m[2]), stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ours = [], nsd = [];
let detail = null;
for (let i = 0; i < opts.runs; i++) {
  const o = measure(process.execPath, [fileURLToPath(import.meta.url), '--child', file, opts.origin]);
  detail = JSON.parse(o.stdout);
  ours.push({ wall: o.wall, rssKB: Number.isNaN(o.rssKB) ? detail.maxRssKB : o.rssKB });
  if (NSD !== undefined) nsd.push(measure(NSD, [opts.origin, file]));
}

const mb = (kb) => (kb / 1024).toFixed(0);
const size = (statSync(file).size / 1048576).toFixed(1);
console.log(`zone: ${file} (${size} MiB, ${detail.records} records after check), median of ${opts.runs} run(s)`);
console.log(`ours (parse ${detail.parseMs.toFixed(0)} ms + check ${detail.checkMs.toFixed(0)} ms in the last run)`);
const ow = median(ours.map((x) => x.wall)), orss = median(ours.map((x) => x.rssKB));
console.log(`  parseZoneFile+checkZone  ${ow.toFixed(2)} s  peak RSS ${mb(orss)} MB   (node process, including startup)`);
if (NSD === undefined) {
  console.log('  nsd-checkzone: not installed (apt-get install nsd); no comparison');
} else {
  const nw = median(nsd.map((x) => x.wall)), nrss = median(nsd.map((x) => x.rssKB));
  console.log(`  nsd-checkzone            ${nw.toFixed(2)} s  peak RSS ${mb(nrss)} MB`);
  console.log(`  ratio ours/nsd: time ${(ow / nw).toFixed(2)}x, peak RSS ${(orss / nrss).toFixed(2)}x  (budget: time 3x)`);
}
if (TIME === undefined) console.log('  (GNU time not found: peak RSS of nsd-checkzone unknown; ours from process.resourceUsage)');
