// Test and benchmark topology: two network namespaces joined by one veth pair.
//
//   namespace apl-s-PID-N (server)              namespace apl-c-PID-N (client)
//   ┌───────────────────────────┐               ┌───────────────────────────┐
//   │ veth-s  198.18.0.1/24     │◄── veth ─────►│ veth-c  198.18.0.2/24     │
//   │         2001:db8::1/64    │  (Q queues    │         2001:db8::2/64    │
//   │ (+ extra addresses)       │   each way)   │                           │
//   └───────────────────────────┘               └───────────────────────────┘
//
// Addresses come only from 198.18.0.0/15 and 2001:db8::/32. Namespace names carry the pid
// and a counter, so parallel runs never collide, and every topology is deleted by
// close() — also on process exit — and by sweepStaleNamespaces() after a crash.
// Nothing here touches the root namespace's interfaces.

import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ApplianceError } from '../../basics/errors.js';

const execFileP = promisify(execFile);

export const NS_PREFIX = 'apl-';
export const SERVER_IFACE = 'veth-s';
export const CLIENT_IFACE = 'veth-c';

export interface Side {
  readonly ns: string;
  readonly iface: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** Filled in by createTopology. */
  mac: string;
}

export interface TopologyOptions {
  /** RX and TX queues on each veth end (native XDP on veth needs RX ≥ the peer's TX). Default 2. */
  queues?: number;
  /** A short tag in the namespace names (letters and digits). */
  tag?: string;
  /** More IPv4 addresses for the server side (e.g. one the kernel owns and the appliance does not). */
  serverExtraIpv4?: readonly string[];
  /** Turn off TX checksum offload in the client namespace, so frames it sends carry full checksums. */
  clientTxOffloadOff?: boolean;
  /** Turn on GRO on the client's veth end (veth coalesces received segments only when asked, or with an XDP program). */
  clientGro?: boolean;
  /**
   * Receive each end's frames on that end's own CPU. veth receives a frame on the CPU that
   * sent it: through its NAPI when an XDP program is attached (or with GRO on, for frames
   * not already aggregated), else through the sending CPU's backlog. Here NAPI is threaded
   * and its threads pinned (pinNapi()), and receive packet steering sends the backlog's
   * frames to the receiving side's CPU. Without it each side's receiving is charged to the other.
   */
  receiveCpus?: { server: number; client: number };
  mtu?: number;
}

export interface Topology {
  readonly server: Side;
  readonly client: Side;
  readonly queues: number;
  /** Runs a command in a namespace and returns its stdout; throws with stderr on failure. */
  run(ns: string, cmd: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Starts a long-running command in a namespace; the caller stops it (stopProcess). */
  spawn(ns: string, cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Pins the NAPI threads of both ends to their CPUs (receiveCpus); again after an XDP program comes or goes. */
  pinNapi(): Promise<void>;
  /** Detaches whatever XDP program is attached to an interface through netlink (Knot, kxdpgun). */
  detachXdp(side: Side): Promise<void>;
  /** The kernel's dropped-frame counters of a side's interface (`ip -s link`): received and transmitted. */
  linkDrops(side: Side): Promise<{ rx: number; tx: number }>;
  /** Deletes both namespaces (and so the veth pair). Idempotent. */
  close(): Promise<void>;
}

let counter = 0;
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const ns of live) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
      } catch {
        // already gone
      }
    }
  });
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

async function ip(args: readonly string[], timeoutMs = 10_000): Promise<string> {
  try {
    const { stdout } = await execFileP('ip', [...args], { timeout: timeoutMs });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new ApplianceError('APPL_ERR_BENCH', `ip ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
}

async function runIn(ns: string, cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await execFileP('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new ApplianceError('APPL_ERR_BENCH', `[${ns}] ${cmd} ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
}

/** Deletes namespaces left by runs whose process is gone (a SIGKILLed test runner). */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  const removed: string[] = [];
  for (const line of out.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^apl-[a-z0-9]+-(\d+)-\d+$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      await ip(['netns', 'del', name]).catch(() => undefined);
      removed.push(name);
    }
  }
  return removed;
}

export async function createTopology(options: TopologyOptions = {}): Promise<Topology> {
  if (!isRoot()) throw new ApplianceError('APPL_ERR_BENCH', 'network namespaces need root');
  installExitHook();
  const queues = options.queues ?? 2;
  const tag = (options.tag ?? 't').replace(/[^a-z0-9]/gi, '').slice(0, 6).toLowerCase() || 't';
  const n = counter++;
  const server: Side = { ns: `${NS_PREFIX}s${tag}-${process.pid}-${n}`, iface: SERVER_IFACE, ipv4: '198.18.0.1', ipv6: '2001:db8::1', mac: '' };
  const client: Side = { ns: `${NS_PREFIX}c${tag}-${process.pid}-${n}`, iface: CLIENT_IFACE, ipv4: '198.18.0.2', ipv6: '2001:db8::2', mac: '' };
  const created: string[] = [];
  // NAPI threads are named for the device, not the namespace: those that exist before are not ours.
  const napiBefore = new Set([...napiThreads(SERVER_IFACE), ...napiThreads(CLIENT_IFACE)]);
  const close = async (): Promise<void> => {
    for (const ns of created.splice(0)) {
      await ip(['netns', 'del', ns]).catch(() => undefined);
      live.delete(ns);
    }
  };
  try {
    for (const side of [server, client]) {
      await ip(['netns', 'add', side.ns]);
      created.push(side.ns);
      live.add(side.ns);
    }
    const q = String(queues);
    // Created directly inside the namespaces: no name ever appears in the root namespace.
    await ip(['link', 'add', SERVER_IFACE, 'netns', server.ns, 'numrxqueues', q, 'numtxqueues', q, 'type', 'veth',
      'peer', 'name', CLIENT_IFACE, 'netns', client.ns, 'numrxqueues', q, 'numtxqueues', q]);
    for (const side of [server, client]) {
      const nsArgs = ['-n', side.ns];
      if (options.mtu) await ip([...nsArgs, 'link', 'set', 'dev', side.iface, 'mtu', String(options.mtu)]);
      await ip([...nsArgs, 'addr', 'add', `${side.ipv4}/24`, 'dev', side.iface]);
      await ip([...nsArgs, 'addr', 'add', `${side.ipv6}/64`, 'dev', side.iface, 'nodad']);
      await ip([...nsArgs, 'link', 'set', 'dev', 'lo', 'up']);
      await ip([...nsArgs, 'link', 'set', 'dev', side.iface, 'up']);
      const show = await ip([...nsArgs, '-o', 'link', 'show', 'dev', side.iface]);
      side.mac = /link\/ether ([0-9a-f:]{17})/.exec(show)?.[1] ?? '';
    }
    for (const a of options.serverExtraIpv4 ?? []) {
      if (!a.startsWith('198.18.') && !a.startsWith('198.19.')) throw new ApplianceError('APPL_ERR_BENCH', `address ${a} is outside 198.18.0.0/15`);
      await ip(['-n', server.ns, 'addr', 'add', `${a}/24`, 'dev', SERVER_IFACE]);
    }
    if (options.clientTxOffloadOff) await runIn(client.ns, 'ethtool', ['-K', CLIENT_IFACE, 'tx', 'off']);
    if (options.clientGro) await runIn(client.ns, 'ethtool', ['-K', CLIENT_IFACE, 'gro', 'on']);
    if (options.receiveCpus) {
      for (const [side, cpu] of [[server, options.receiveCpus.server], [client, options.receiveCpus.client]] as const) {
        await runIn(side.ns, 'ethtool', ['-K', side.iface, 'gro', 'on']);
        const mask = (1n << BigInt(cpu)).toString(16);
        const sys = `/sys/class/net/${side.iface}`;
        await runIn(side.ns, 'sh', ['-c', `echo 1 > ${sys}/threaded && for q in ${sys}/queues/rx-*; do echo ${mask} > $q/rps_cpus; done`]);
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    server,
    client,
    queues,
    pinNapi: async () => {
      if (!options.receiveCpus) return;
      for (const [iface, cpu] of [[SERVER_IFACE, options.receiveCpus.server], [CLIENT_IFACE, options.receiveCpus.client]] as const) {
        for (const pid of napiThreads(iface)) {
          if (napiBefore.has(pid)) continue;
          // Pinned, at the ordinary priority: it shares the CPU with the server as ksoftirqd
          // does under load (a real-time one starves the server under a flood).
          await execFileP('taskset', ['-p', '-c', String(cpu), String(pid)]).catch(() => undefined); // gone meanwhile
        }
      }
    },
    run: (ns, cmd, args, timeoutMs) => runIn(ns, cmd, args, timeoutMs),
    spawn: (ns, cmd, args, opts) => spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts }),
    linkDrops: async (side) => {
      const j = JSON.parse(await ip(['-n', side.ns, '-s', '-j', 'link', 'show', 'dev', side.iface])) as Array<{ stats64?: { rx?: { dropped?: number }; tx?: { dropped?: number } } }>;
      return { rx: j[0]?.stats64?.rx?.dropped ?? 0, tx: j[0]?.stats64?.tx?.dropped ?? 0 };
    },
    detachXdp: async (side) => {
      // Both kinds, in case a tool attached in generic (skb) mode.
      await ip(['-n', side.ns, 'link', 'set', 'dev', side.iface, 'xdp', 'off']).catch(() => undefined);
      await ip(['-n', side.ns, 'link', 'set', 'dev', side.iface, 'xdpgeneric', 'off']).catch(() => undefined);
    },
    close,
  };
}

/** Pids of the kernel's NAPI threads for devices named `iface` (in any namespace). */
function napiThreads(iface: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').startsWith(`napi/${iface}-`)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Runs fn with a fresh topology and always deletes it. */
export async function withTopology<T>(options: TopologyOptions, fn: (t: Topology) => Promise<T>): Promise<T> {
  const t = await createTopology(options);
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

/** True if an XDP program is attached to the interface (any mode). */
export async function xdpAttached(side: Side): Promise<boolean> {
  const out = await ip(['-n', side.ns, '-d', 'link', 'show', 'dev', side.iface]);
  return /\bprog\/xdp\b|\bxdp(generic|drv|offload)?\b.*id \d+/.test(out) || /\bxdp\b/.test(out.split('\n')[0] ?? '');
}

/** Stops a process this code started: SIGTERM, then SIGKILL after graceMs. Resolves on exit. */
export async function stopProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
