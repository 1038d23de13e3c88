// NSD as a benchmark subject and as the tests' reference: one config writer for both.
// Kernel UDP (and TCP) sockets, one server process, rate limiting off, in the foreground
// (pinned to one CPU with taskset by the caller).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMALL_ZONE, type ServedZone } from './dns-fixture.js';
import { startWaitMs, STOP_GRACE_MS, waitUntilAnswers, type ServerHandle } from './knot.js';
import { stopProcess, type Topology } from './netns.js';

export interface NsdZone {
  origin: string;
  file: string;
  /** More lines of the zone's clause (provide-xfr, notify, ...: a primary for secondary-zone tests). */
  extra?: string[];
}

export interface NsdOptions {
  /** Where NSD keeps its pid file, zone list and log. */
  dir: string;
  /** Addresses to listen on (each on `port`). */
  addresses: string[];
  port: number;
  /** Zone files: absolute, or relative to `zonesdir`. */
  zones: NsdZone[];
  /** NSD reads $INCLUDE paths relative to it (the appliance: relative to the including file). Default: dir. */
  zonesdir?: string;
  /** minimal-responses: no NS and glue added to positive answers, as the appliance answers. */
  minimalResponses?: boolean;
  /** hide-version and hide-identity: CHAOS queries REFUSED. */
  hideIdentity?: boolean;
  /** identity and version strings instead (null: that one hidden); overrides hideIdentity. */
  chaos?: { identity: string | null; version: string | null };
  verbosity?: number;
}

/** nsd.conf for NSD in the foreground with no privileges dropped, no database, no control socket. */
export function nsdConf(o: NsdOptions): string {
  return [
    'server:',
    ...o.addresses.map((a) => `    ip-address: ${a}@${o.port}`),
    `    port: ${o.port}`,
    '    server-count: 1',
    '    username: ""',
    '    chroot: ""',
    `    zonesdir: "${o.zonesdir ?? o.dir}"`,
    `    pidfile: "${join(o.dir, 'nsd.pid')}"`,
    '    database: ""',
    `    zonelistfile: "${join(o.dir, 'zone.list')}"`,
    `    xfrdfile: "${join(o.dir, 'xfrd.state')}"`,
    `    xfrdir: "${o.dir}"`,
    `    logfile: "${join(o.dir, 'nsd.log')}"`,
    `    verbosity: ${o.verbosity ?? 0}`,
    ...(o.chaos ? chaosLines(o.chaos) : o.hideIdentity ? ['    hide-version: yes', '    hide-identity: yes'] : []),
    ...(o.minimalResponses ? ['    minimal-responses: yes'] : []),
    '    rrl-ratelimit: 0',
    'remote-control:',
    '    control-enable: no',
    ...o.zones.flatMap((z) => ['zone:', `    name: "${z.origin}"`, `    zonefile: "${z.file}"`, ...(z.extra ?? []).map((l) => `    ${l}`)]),
    '',
  ].join('\n');
}

function chaosLines(c: { identity: string | null; version: string | null }): string[] {
  const quoted = (v: string): string => {
    if (/["\n]/.test(v)) throw new Error(`nsd.conf cannot hold ${JSON.stringify(v)} (a quote or a newline)`);
    return `"${v}"`;
  };
  return [
    c.identity === null ? '    hide-identity: yes' : `    identity: ${quoted(c.identity)}`,
    c.version === null ? '    hide-version: yes' : `    version: ${quoted(c.version)}`,
  ];
}

/** The namespace benchmarks' NSD: the zones (by default the small bench zone) on port 53 of the server's address. */
export function nsdConfig(dir: string, ipv4: string, zones: ReadonlyArray<Pick<ServedZone, 'origin' | 'file'>> = [SMALL_ZONE]): string {
  return nsdConf({ dir, addresses: [ipv4], port: 53, zones: zones.map((z) => ({ origin: z.origin, file: z.file })) });
}

/** Starts NSD on the zones and waits until it answers in each (the wait scales with their names: startWaitMs). */
export async function startNsd(topo: Topology, dir: string, cpu: number, zones: readonly ServedZone[] = [SMALL_ZONE]): Promise<ServerHandle> {
  const conf = join(dir, 'nsd.conf');
  writeFileSync(conf, nsdConfig(dir, topo.server.ipv4, zones));
  await topo.detachXdp(topo.server);
  const child = topo.spawn(topo.server.ns, 'taskset', ['-c', String(cpu), 'nsd', '-d', '-c', conf]);
  const names = zones.reduce((n, z) => n + z.names, 0);
  const startedMs = await waitUntilAnswers(topo, child, 'nsd', { probes: zones.map((z) => z.probe), timeoutMs: startWaitMs(names) });
  return { name: 'NSD (kernel UDP)', cpu, pid: child.pid, startedMs, stop: () => stopProcess(child, STOP_GRACE_MS) };
}
