// Knot DNS as a benchmark subject, in XDP mode: one XDP worker per queue of the server
// interface (the bench uses one queue), pinned to one CPU with taskset. Knot attaches its
// program through netlink and leaves it behind: the runner detaches it before and after.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { ApplianceError } from '../../basics/errors.js';
import { SMALL_ZONE, type ServedZone } from './dns-fixture.js';
import { stopProcess, type Topology } from './netns.js';

export interface ServerHandle {
  readonly name: string;
  readonly cpu: number;
  readonly pid: number | undefined;
  /** Milliseconds from its start until it answered (where the runner waited for that). */
  readonly startedMs?: number;
  stop(): Promise<void>;
}

/** knot.conf for one zone (by default the small bench zone written into dir). */
export function knotConfig(dir: string, iface: string, ipv4: string, tcp = false, zone: Pick<ServedZone, 'origin' | 'file'> = SMALL_ZONE): string {
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
    `  - domain: ${zone.origin}`,
    `    file: "${zone.file}"`,
    '',
  ].join('\n');
}

export interface StartOptions {
  /** DNS over TCP by Knot's XDP workers too. */
  tcp?: boolean;
  /** The zone to serve (default: the small bench zone, already written into dir). */
  zone?: ServedZone;
}

/** Starts knotd and waits until it answers or fails (the wait scales with the zone: startWaitMs). */
export async function startKnot(topo: Topology, dir: string, cpu: number, o: StartOptions = {}): Promise<ServerHandle> {
  const zone = o.zone ?? SMALL_ZONE;
  mkdirSync(join(dir, 'db'), { recursive: true });
  const conf = join(dir, 'knot.conf');
  writeFileSync(conf, knotConfig(dir, topo.server.iface, topo.server.ipv4, o.tcp, zone));
  await topo.detachXdp(topo.server);
  const child = topo.spawn(topo.server.ns, 'taskset', ['-c', String(cpu), 'knotd', '-c', conf]);
  const startedMs = await waitUntilAnswers(topo, child, 'knotd', { probes: [zone.probe], timeoutMs: startWaitMs(zone.names) });
  return {
    name: o.tcp ? 'Knot DNS (XDP, tcp: on)' : 'Knot DNS (XDP)',
    cpu,
    pid: child.pid,
    startedMs,
    stop: async () => {
      await stopProcess(child, STOP_GRACE_MS);
      await topo.detachXdp(topo.server);
    },
  };
}

/** How long a server is given to stop on SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5000;

/**
 * How long a server may take to answer after it starts: 15 s, and 60 s more per million
 * names, since NSD and Knot read the whole zone before they answer from it. On this
 * machine's loopback, with 20,000 generated names, NSD answered 0.18 s after its start and
 * Knot 0.05 s: some 10 s a million if that scales linearly, the rest is margin for
 * slower machines and disks. Ten minutes at most, whatever the zone.
 */
export function startWaitMs(names: number): number {
  return Math.min(600_000, 15_000 + Math.ceil(names * 0.06));
}

/**
 * Polls the server with kdig over the kernel path from the client until it answers
 * NOERROR for every probe (a name with an A record in each zone it serves); returns the
 * milliseconds it took.
 */
export async function waitUntilAnswers(topo: Topology, child: ChildProcess, name: string, o: { probes?: string[]; timeoutMs?: number } = {}): Promise<number> {
  const probes = o.probes ?? [SMALL_ZONE.probe];
  const timeoutMs = o.timeoutMs ?? 15_000;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const start = Date.now();
  const end = start + timeoutMs;
  let pending = [...probes];
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new ApplianceError('APPL_ERR_BENCH', `${name} exited with ${child.exitCode}: ${stderr.trim()}`);
    const still: string[] = [];
    for (const p of pending) {
      const out = await topo.run(topo.client.ns, 'kdig', ['+time=1', '+retry=0', `@${topo.server.ipv4}`, p, 'A'], 5000).catch(() => '');
      if (!/status: NOERROR/.test(out)) still.push(p);
    }
    pending = still;
    if (pending.length === 0) return Date.now() - start;
    await sleep(200);
  }
  await stopProcess(child);
  throw new ApplianceError('APPL_ERR_BENCH', `${name} did not answer ${pending.join(', ')} within ${timeoutMs} ms: ${stderr.trim()}`);
}

/** A zone a primary Knot serves to secondaries: who may transfer it (with a key or not), whom it NOTIFYs. */
export interface KnotPrimaryZone {
  domain: string;
  file: string;
  /** Addresses that may transfer it. */
  transferFrom: string[];
  /** The key a transfer must be signed with (a key of KnotPrimaryOptions.keys). */
  key?: string;
  /** Secondaries to NOTIFY of each change, as ADDR@PORT. */
  notify?: string[];
  /** Transfers refused to those addresses instead (Knot answers NOTAUTH). */
  deny?: boolean;
}

export interface KnotPrimaryOptions {
  dir: string;
  /** Where Knot listens, ADDR@PORT (repeatable). */
  listen: string[];
  zones: KnotPrimaryZone[];
  keys?: Array<{ id: string; algorithm: string; secret: string }>;
}

/**
 * knot.conf for Knot DNS as a hidden primary (the secondary-zone tests and `bench
 * secondary`): kernel sockets only, the zones' changes kept in the journal and served as
 * IXFR (journal-content: changes; the zone file is never rewritten: zonefile-sync -1),
 * changes made with `knotc zone-begin/zone-set/zone-commit` (the serial incremented by
 * Knot), NOTIFY sent to the secondaries named.
 */
export function knotPrimaryConf(o: KnotPrimaryOptions): string {
  const remotes = [...new Set(o.zones.flatMap((z) => z.notify ?? []))];
  const remoteId = (r: string): string => `secondary-${remotes.indexOf(r)}`;
  return [
    'server:',
    `    rundir: "${o.dir}"`,
    `    pidfile: "${join(o.dir, 'knot.pid')}"`,
    ...o.listen.map((l) => `    listen: ${l}`),
    '    udp-workers: 1',
    '    tcp-workers: 1',
    '    background-workers: 1',
    'control:',
    `    listen: "${join(o.dir, 'knot.sock')}"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'database:',
    `    storage: "${join(o.dir, 'db')}"`,
    ...(o.keys && o.keys.length > 0 ? ['key:', ...o.keys.flatMap((k) => [`  - id: ${k.id}`, `    algorithm: ${k.algorithm}`, `    secret: ${k.secret}`])] : []),
    ...(remotes.length > 0 ? ['remote:', ...remotes.flatMap((r) => [`  - id: ${remoteId(r)}`, `    address: ${r}`])] : []),
    'acl:',
    ...o.zones.flatMap((z, i) => [
      `  - id: transfer-${i}`, ...z.transferFrom.map((a) => `    address: ${a}`), ...(z.key ? [`    key: ${z.key}`] : []), '    action: transfer',
      ...(z.deny ? ['    deny: on'] : []),
    ]),
    'template:',
    '  - id: default',
    `    storage: "${o.dir}"`,
    '    semantic-checks: off',
    '    zonefile-sync: -1',
    '    journal-content: changes',
    'zone:',
    ...o.zones.flatMap((z, i) => [
      `  - domain: ${z.domain}`, `    file: "${z.file}"`, `    acl: transfer-${i}`,
      ...(z.notify && z.notify.length > 0 ? [`    notify: [${z.notify.map(remoteId).join(', ')}]`] : []),
    ]),
    '',
  ].join('\n');
}

/** `knotc -c CONF ARGS...`, bounded in time; an APPL_ERR_BENCH with what it printed when it fails. */
export function knotc(conf: string, ...args: string[]): void {
  const r = spawnSync('knotc', ['-c', conf, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new ApplianceError('APPL_ERR_BENCH', `knotc ${args.join(' ')}: status ${r.status}: ${r.stdout}${r.stderr}`);
}

/**
 * One change to a zone of a running Knot, as an operator makes it: zone-begin, each edit
 * (["zone-set", OWNER, TTL, TYPE, RDATA] or ["zone-unset", OWNER, TYPE, RDATA]), zone-commit.
 * Knot bumps the serial, keeps the change in its journal (served as IXFR) and NOTIFYs.
 */
export function knotChange(conf: string, zone: string, ...edits: string[][]): void {
  knotc(conf, 'zone-begin', zone);
  for (const [cmd, ...rest] of edits) knotc(conf, cmd!, zone, ...rest);
  knotc(conf, 'zone-commit', zone);
}
