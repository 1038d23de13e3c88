// `appliance bench zone-build`: building a big zone (scripts/gen-zone.mjs: mixed A, AAAA,
// MX, TXT, CNAME, a delegation every 10,000 names) with `appliance build --zone`, against
// `nsd-checkzone` on the same file, back to back, each run a fresh process under GNU time
// (`/usr/bin/time -v`: wall time and peak resident size). Prints every run, the medians and
// the ratios; asserts nothing.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ApplianceError } from '../../basics/errors.js';
import { genZoneScript } from './big-zone.js';
import { median } from './process.js';
import type { ZoneBuildFigures } from './report/results.js';

export interface ZoneBuildOptions {
  names: number;
  seed: number;
  runs: number;
  /** Pin both tools to this CPU (-1: not pinned). */
  cpu: number;
  /** Where the zone and the image go (the zone is kept and reused). */
  dir: string;
  cli: string;
  log: (line: string) => void;
}

const TIME = '/usr/bin/time';

function measure(cmd: string, args: string[], cpu: number): { seconds: number; rssMB: number } {
  const pin = cpu >= 0 ? ['taskset', '-c', String(cpu)] : [];
  const r = spawnSync(TIME, ['-v', ...pin, cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new ApplianceError('APPL_ERR_BENCH', `${cmd} failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  if (!wall || !rss) throw new ApplianceError('APPL_ERR_BENCH', `GNU time printed no figures for ${cmd}`);
  return { seconds: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]), rssMB: Number(rss[1]) / 1024 };
}

export function runZoneBuildBench(o: ZoneBuildOptions): ZoneBuildFigures {
  if (!existsSync(TIME)) throw new ApplianceError('APPL_ERR_BENCH', 'GNU time is not installed (apt-get install time)');
  const nsd = ['/usr/sbin/nsd-checkzone', '/usr/bin/nsd-checkzone'].find((p) => existsSync(p));
  mkdirSync(o.dir, { recursive: true });
  const origin = 'example.com';
  const zone = join(o.dir, `gen-${o.names}-seed${o.seed}.zone`);
  if (!existsSync(zone)) {
    o.log(`generating ${zone} ...`);
    const g = spawnSync(process.execPath, [genZoneScript(), '--names', String(o.names), '--seed', String(o.seed), '--origin', origin, '--out', zone], { stdio: 'inherit' });
    if (g.status !== 0) throw new ApplianceError('APPL_ERR_BENCH', 'scripts/gen-zone.mjs failed');
  }
  const image = join(o.dir, `build-${o.names}.apl`);
  const build = [o.cli, 'build', '-q', '--zone', `${origin}=${zone}`, '-o', image];
  o.log(`zone ${zone} (${(statSync(zone).size / 1048576).toFixed(1)} MiB), ${o.runs} runs each, alternating${o.cpu >= 0 ? `, pinned to CPU ${o.cpu}` : ''}`);
  o.log(`  ours: ${TIME} -v node ${build.join(' ')}`);
  if (nsd) o.log(`  nsd:  ${TIME} -v ${nsd} ${origin} ${zone}`);
  const ours: Array<{ seconds: number; rssMB: number }> = [];
  const theirs: Array<{ seconds: number; rssMB: number }> = [];
  for (let i = 0; i < o.runs; i++) {
    const a = measure(process.execPath, build, o.cpu);
    ours.push(a);
    let line = `  run ${i + 1}: appliance build ${a.seconds.toFixed(2)} s ${a.rssMB.toFixed(0)} MB`;
    if (nsd) {
      const n = measure(nsd, [origin, zone], o.cpu);
      theirs.push(n);
      line += `   nsd-checkzone ${n.seconds.toFixed(2)} s ${n.rssMB.toFixed(0)} MB   ratio ${(a.seconds / n.seconds).toFixed(2)}`;
    }
    o.log(line);
  }
  const ow = median(ours.map((x) => x.seconds)), orss = median(ours.map((x) => x.rssMB));
  o.log(`appliance build --zone  median ${ow.toFixed(2)} s, peak RSS ${orss.toFixed(0)} MB (image ${(statSync(image).size / 1048576).toFixed(0)} MiB)`);
  if (nsd) {
    const nw = median(theirs.map((x) => x.seconds)), nrss = median(theirs.map((x) => x.rssMB));
    o.log(`nsd-checkzone           median ${nw.toFixed(2)} s, peak RSS ${nrss.toFixed(0)} MB`);
    o.log(`ratio appliance/nsd-checkzone: time ${(ow / nw).toFixed(2)}x, peak RSS ${(orss / nrss).toFixed(2)}x`);
  } else {
    o.log('nsd-checkzone is not installed (apt-get install nsd): no comparison');
  }
  unlinkSync(image);
  return {
    kind: 'zone-build', command: `appliance bench zone-build --names ${o.names} --runs ${o.runs}${o.cpu >= 0 ? ` --cpu ${o.cpu}` : ''}`, names: o.names, zoneBytes: statSync(zone).size,
    rows: [
      { tool: 'appliance build --zone', seconds: ours.map((x) => x.seconds), rssMB: ours.map((x) => x.rssMB) },
      ...(nsd ? [{ tool: 'nsd-checkzone', seconds: theirs.map((x) => x.seconds), rssMB: theirs.map((x) => x.rssMB) }] : []),
    ],
  };
}
