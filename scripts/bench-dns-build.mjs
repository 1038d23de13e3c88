#!/usr/bin/env node
// Benchmark: `appliance build --zone` of a generated zone (scripts/gen-zone.mjs: mixed A,
// AAAA, MX, TXT, CNAME, a delegation every 10,000 names) against `nsd-checkzone` on the same
// file, back to back, each run in a fresh process under GNU time (`/usr/bin/time -v`: wall
// time and peak RSS). Prints every run, the medians, and the ratios. A benchmark: it prints
// numbers and asserts nothing.
//
//   node build.mjs && node scripts/bench-dns-build.mjs [--names 1000000] [--seed 1] [--runs 3] [--cpu N]
//
// --cpu pins both to one CPU with taskset (default: not pinned; the build uses a second core
// for the collector, as it would on an operator's machine). The zone is written once to
// .tmp/zone-bench/ (not in git) and reused; the image goes to .tmp/zone-bench/ too.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/cli.js');
const opts = { names: 1000000, seed: 1, runs: 3, cpu: -1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, ''), v = Number(argv[i + 1]);
  if (!(k in opts) || !Number.isFinite(v)) {
    process.stderr.write('usage: node scripts/bench-dns-build.mjs [--names N] [--seed S] [--runs R] [--cpu N]\n');
    process.exit(2);
  }
  opts[k] = v;
}
const TIME = ['/usr/bin/time'].find((p) => existsSync(p));
const NSD = ['/usr/sbin/nsd-checkzone', '/usr/bin/nsd-checkzone'].find((p) => existsSync(p));
if (!existsSync(CLI)) { process.stderr.write('bench-dns-build: dist/cli.js is missing; run `node build.mjs` first\n'); process.exit(2); }
if (!TIME) { process.stderr.write('bench-dns-build: GNU time is not installed (apt-get install time)\n'); process.exit(2); }

const dir = join(ROOT, '.tmp/zone-bench');
mkdirSync(dir, { recursive: true });
const origin = 'example.com';
const zone = join(dir, `gen-${opts.names}-seed${opts.seed}.zone`);
if (!existsSync(zone)) {
  process.stderr.write(`generating ${zone} ...\n`);
  const g = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-zone.mjs'), '--names', String(opts.names), '--seed', String(opts.seed), '--origin', origin, '--out', zone], { stdio: 'inherit' });
  if (g.status !== 0) process.exit(1);
}
const image = join(dir, `build-${opts.names}.apl`);

/** One run under `time -v`: wall seconds, peak RSS in MB. */
function measure(cmd, args) {
  const pin = opts.cpu >= 0 ? ['taskset', '-c', String(opts.cpu)] : [];
  const r = spawnSync(TIME, ['-v', ...pin, cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { seconds, rssMB: Number(rss[1]) / 1024 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ours = [], nsd = [];
const buildCmd = ['node', CLI, 'build', '-q', '--zone', `${origin}=${zone}`, '-o', image];
console.log(`zone ${zone} (${(statSync(zone).size / 1048576).toFixed(1)} MiB), ${opts.runs} runs each, alternating${opts.cpu >= 0 ? `, pinned to CPU ${opts.cpu}` : ''}`);
console.log(`  ours: /usr/bin/time -v ${buildCmd.join(' ')}`);
if (NSD) console.log(`  nsd:  /usr/bin/time -v ${NSD} ${origin} ${zone}`);
for (let i = 0; i < opts.runs; i++) {
  const o = measure(process.execPath, buildCmd.slice(1));
  ours.push(o);
  let line = `  run ${i + 1}: appliance build ${o.seconds.toFixed(2)} s ${o.rssMB.toFixed(0)} MB`;
  if (NSD) {
    const n = measure(NSD, [origin, zone]);
    nsd.push(n);
    line += `   nsd-checkzone ${n.seconds.toFixed(2)} s ${n.rssMB.toFixed(0)} MB   ratio ${(o.seconds / n.seconds).toFixed(2)}`;
  }
  console.log(line);
}
const ow = median(ours.map((x) => x.seconds)), orss = median(ours.map((x) => x.rssMB));
console.log(`appliance build --zone  median ${ow.toFixed(2)} s, peak RSS ${orss.toFixed(0)} MB (image ${(statSync(image).size / 1048576).toFixed(0)} MiB)`);
if (NSD) {
  const nw = median(nsd.map((x) => x.seconds)), nrss = median(nsd.map((x) => x.rssMB));
  console.log(`nsd-checkzone           median ${nw.toFixed(2)} s, peak RSS ${nrss.toFixed(0)} MB`);
  console.log(`ratio appliance/nsd-checkzone: time ${(ow / nw).toFixed(2)}x (target 3x), peak RSS ${(orss / nrss).toFixed(2)}x`);
} else {
  console.log('nsd-checkzone is not installed (apt-get install nsd): no comparison');
}
unlinkSync(image);
