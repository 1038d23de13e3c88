// Knot DNS as a benchmark subject, in XDP mode: one XDP worker per queue of the server
// interface (the bench uses one queue), pinned to one CPU with taskset. Knot attaches its
// program through netlink and leaves it behind: the runner detaches it before and after.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { ApplianceError } from '../../basics/errors.js';
import { BENCH_ZONE, BENCH_ZONE_FILE } from './dns-fixture.js';
import { stopProcess, type Topology } from './netns.js';

export interface ServerHandle {
  readonly name: string;
  readonly cpu: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export function knotConfig(dir: string, iface: string, ipv4: string, tcp = false): string {
  return [
    'server:',
    `    rundir: "${dir}"`,
    `    pidfile: "${join(dir, 'knot.pid')}"`,
    `    listen: ${ipv4}@53`,
    '    udp-workers: 1',
    '    tcp-workers: 1',
    '    background-workers: 1',
    'xdp:',
    `    listen: ${iface}@53`,
    '    udp: on',
    ...(tcp ? ['    tcp: on'] : []),
    'control:',
    `    listen: "${join(dir, 'knot.sock')}"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'database:',
    `    storage: "${join(dir, 'db')}"`,
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    semantic-checks: off',
    'zone:',
    `  - domain: ${BENCH_ZONE}`,
    `    file: "${BENCH_ZONE_FILE}"`,
    '',
  ].join('\n');
}

/** Starts knotd (zone already written into dir) and waits until it answers or fails; `tcp`: DNS over TCP by its XDP workers too. */
export async function startKnot(topo: Topology, dir: string, cpu: number, tcp = false): Promise<ServerHandle> {
  mkdirSync(join(dir, 'db'), { recursive: true });
  const conf = join(dir, 'knot.conf');
  writeFileSync(conf, knotConfig(dir, topo.server.iface, topo.server.ipv4, tcp));
  await topo.detachXdp(topo.server);
  const child = topo.spawn(topo.server.ns, 'taskset', ['-c', String(cpu), 'knotd', '-c', conf]);
  await waitUntilAnswers(topo, child, 'knotd');
  return {
    name: tcp ? 'Knot DNS (XDP, tcp: on)' : 'Knot DNS (XDP)',
    cpu,
    pid: child.pid,
    stop: async () => {
      await stopProcess(child, 5000);
      await topo.detachXdp(topo.server);
    },
  };
}

/** Polls the server with kdig over the kernel path from the client until it answers. */
export async function waitUntilAnswers(topo: Topology, child: ChildProcess, name: string, timeoutMs = 15_000): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new ApplianceError('APPL_ERR_BENCH', `${name} exited with ${child.exitCode}: ${stderr.trim()}`);
    const out = await topo.run(topo.client.ns, 'kdig', ['+time=1', '+retry=0', `@${topo.server.ipv4}`, `www.${BENCH_ZONE}`, 'A'], 5000).catch(() => '');
    if (/status: NOERROR/.test(out)) return;
    await sleep(200);
  }
  await stopProcess(child);
  throw new ApplianceError('APPL_ERR_BENCH', `${name} did not answer within ${timeoutMs} ms: ${stderr.trim()}`);
}
