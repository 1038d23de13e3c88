// NSD as a benchmark subject: kernel UDP sockets, one server process, rate limiting off,
// pinned to one CPU with taskset, in the foreground.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_ZONE, BENCH_ZONE_FILE } from './dns-fixture.js';
import { waitUntilAnswers, type ServerHandle } from './knot.js';
import { stopProcess, type Topology } from './netns.js';

export function nsdConfig(dir: string, ipv4: string): string {
  return [
    'server:',
    `    ip-address: ${ipv4}`,
    '    port: 53',
    '    server-count: 1',
    '    username: ""',
    '    chroot: ""',
    `    zonesdir: "${dir}"`,
    `    pidfile: "${join(dir, 'nsd.pid')}"`,
    '    database: ""',
    `    zonelistfile: "${join(dir, 'zone.list')}"`,
    `    xfrdfile: "${join(dir, 'xfrd.state')}"`,
    `    xfrdir: "${dir}"`,
    `    logfile: "${join(dir, 'nsd.log')}"`,
    '    verbosity: 0',
    '    rrl-ratelimit: 0',
    'remote-control:',
    '    control-enable: no',
    'zone:',
    `    name: ${BENCH_ZONE}`,
    `    zonefile: ${BENCH_ZONE_FILE}`,
    '',
  ].join('\n');
}

export async function startNsd(topo: Topology, dir: string, cpu: number): Promise<ServerHandle> {
  const conf = join(dir, 'nsd.conf');
  writeFileSync(conf, nsdConfig(dir, topo.server.ipv4));
  await topo.detachXdp(topo.server);
  const child = topo.spawn(topo.server.ns, 'taskset', ['-c', String(cpu), 'nsd', '-d', '-c', conf]);
  await waitUntilAnswers(topo, child, 'nsd');
  return { name: 'NSD (kernel UDP)', cpu, pid: child.pid, stop: () => stopProcess(child, 5000) };
}
