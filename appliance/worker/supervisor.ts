// The supervisor of the xdp backend: loads the image once, attaches the XDP program that
// steers the appliance's traffic to its sockets, starts one worker thread per NIC queue,
// sums their counters when asked, and takes everything down again.

import type { NotifySource } from '../dns/notify.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ApplianceError, UsageError, type ErrorCode } from '../../basics/errors.js';
import { BoundedLog, logger } from '../log.js';
import { exclusiveAddresses } from './addresses.js';
import { LogRing } from '../log-ring.js';
import { collectGarbage } from '../../basics/gc.js';
import { stopThreads } from './threads.js';
import { attachXdp, interfaceInfo, parseIPv4, parseIPv6, type XdpProgram } from '../../netmap-binding/afxdp.js';
import type { Image } from '../../specializers/image/format.js';
import { loadServedImage } from '../served-image.js';
import { DnsTables } from '../dns/tables.js';
import { HttpTables } from '../http/tables.js';
import { HTTP_SESSION_COUNTER_NAMES } from '../http/session.js';
import { DNS_COUNTER_NAMES, type ChaosStrings } from '../dns/responder.js';
import { COUNTER_STRIDE, DNS_BASE, DNS_STREAM_BASE, HTTP_BASE, RRL_BASE, STACK_COUNTER_NAMES, TCP_BASE } from '../stack/counters.js';
import { RRL_COUNTER_NAMES, type RrlOptions } from '../dns/rrl.js';
import { TCP_COUNTER_NAMES } from '../stack/tcp/counters.js';
import { DNS_STREAM_COUNTER_NAMES } from '../dns/stream.js';
import type { ReloadMessage, ServeJob, WorkerMessage } from './serve-worker.js';

export interface XdpServeOptions {
  image: string;
  iface: string;
  /** A network namespace to open the interface in (tests); default: the current one. */
  netns?: string;
  addrs: string[];
  queues?: number;
  /** Worker i is pinned to cpus[i % cpus.length]; empty: not pinned. */
  cpus: number[];
  dnsPort: number;
  /** CSUM_AUTO (the default), CSUM_STRICT or CSUM_OFF (appliance/wire/reasons.ts). */
  checksums: number;
  /** TCP connections per worker (DNS over TCP). */
  tcpConnections: number;
  idleTimeoutMs: number;
  messageTimeoutMs: number;
  /** HTTP over the fused TCP (when the image has sites): its port and the head deadline. */
  httpPort: number;
  headerTimeoutMs: number;
  /** Record frames to PREFIX.q<QUEUE>.pcap, one batch in `every`, at most `limit` frames. */
  capture?: { prefix: string; every: number; limit?: number };
  /** Tests only: a fault-injection spec around each queue's device (the seed plus the queue number). */
  fault?: string;
  /** Response rate limiting, each worker its own limiter with these options; absent or rate 0: off. */
  rrl?: RrlOptions;
  /** The access log and the query log (its sampling rate): each worker puts records in a ring of its own (logRings). */
  log?: { access: boolean; queryRate: number | null };
  /** The CHAOS TXT strings every worker answers with. */
  chaos?: ChaosStrings;
  /** The secondary zones' primaries, whose NOTIFY the workers take; onNotify hears of each one taken. */
  notify?: NotifySource[];
  onNotify?: (zone: string, from: string) => void;
}

export interface XdpServer {
  readonly mode: string;
  readonly queues: number;
  readonly xdpMode: 'native' | 'generic';
  readonly workers: Array<{ queue: number; mode: string; cpu: number }>;
  /** What the image has the workers serve. */
  readonly serves: { dns: boolean; http: boolean };
  /** The image served now (the last reload's, once one succeeded). */
  image(): Image;
  /**
   * Re-reads the image file and verifies it, then has every worker switch to it between two
   * batches. Resolves when every worker has; rejects with an ApplianceError (the image is
   * refused, and the old one goes on being served) when the file is bad or a worker refused.
   */
  reload(): Promise<Image>;
  /** The workers' log rings (when a log is on), for the supervisor to drain. */
  readonly logRings: LogRing[];
  /** Counters summed over the workers, by name. */
  totals(): Record<string, number>;
  /** Counters of one worker, by name. */
  perQueue(): Array<Record<string, number>>;
  /**
   * Settles with the error of the first worker that fails after start-up (a device error, a
   * capture file that cannot be written): the caller logs it, stops the server and exits
   * non-zero rather than run on with a queue nobody serves. Never settles otherwise.
   */
  readonly failed: Promise<ApplianceError>;
  stop(): Promise<void>;
}

/** The worker script: dist/worker.js next to the bundled CLI, or the transpiled module. */
export function workerScript(): string {
  const candidates = [new URL('./worker.js', import.meta.url), new URL('../worker-entry.js', import.meta.url)];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  throw new ApplianceError('APPL_ERR_XDP_OPEN', `the worker script is missing (looked for ${candidates.map((u) => fileURLToPath(u)).join(', ')}); run "npm run build"`);
}

/** A worker's error code as one of ours (the binding's and the stack's are APPL_ERR_* too). */
function workerCode(code: string | undefined): ErrorCode {
  return code !== undefined && code.startsWith('APPL_ERR_') ? (code as ErrorCode) : 'APPL_ERR_WORKER';
}

/** The counter families of a worker's stride: where each starts, and the prefix of its names. */
const FAMILIES: ReadonlyArray<{ base: number; prefix: string; names: readonly string[] }> = [
  { base: DNS_BASE, prefix: 'dns_', names: DNS_COUNTER_NAMES },
  { base: TCP_BASE, prefix: 'tcp_', names: TCP_COUNTER_NAMES },
  { base: DNS_STREAM_BASE, prefix: 'dns_tcp_', names: DNS_STREAM_COUNTER_NAMES },
  { base: HTTP_BASE, prefix: 'http_', names: HTTP_SESSION_COUNTER_NAMES },
  // Their names carry their prefix already: rrl_checked, rrl_dropped, ...
  { base: RRL_BASE, prefix: '', names: RRL_COUNTER_NAMES },
];

export const COUNTER_NAMES: readonly string[] = [...STACK_COUNTER_NAMES.slice(1), ...FAMILIES.flatMap((f) => f.names.map((n) => f.prefix + n))];

function readCounters(view: Float64Array, queue: number): Record<string, number> {
  const out: Record<string, number> = {};
  const base = queue * COUNTER_STRIDE;
  STACK_COUNTER_NAMES.forEach((name, i) => { if (i > 0) out[name] = view[base + i]!; });
  for (const f of FAMILIES) f.names.forEach((name, i) => { out[f.prefix + name] = view[base + f.base + i]!; });
  return out;
}

export async function startXdpServer(o: XdpServeOptions): Promise<XdpServer> {
  const ipv4 = o.addrs.filter((a) => !a.includes(':'));
  const ipv6 = o.addrs.filter((a) => a.includes(':'));
  for (const a of ipv4) {
    try { parseIPv4(a); } catch { throw new UsageError(`--addr ${a}: not an IPv4 address`); }
  }
  for (const a of ipv6) {
    try { parseIPv6(a); } catch { throw new UsageError(`--addr ${a}: not an IPv6 address`); }
  }
  if (ipv4.length + ipv6.length === 0) throw new UsageError('--backend xdp needs at least one --addr the appliance owns');
  const img = loadServedImage(o.image);
  const hasZones = new DnsTables(img).hasZones;
  const hasSites = new HttpTables(img).hasSites;
  if (!hasZones && !hasSites) throw new UsageError(`${o.image}: the image has nothing to serve`);
  const info = interfaceInfo(o.iface, o.netns);
  const queues = o.queues ?? info.rxQueues;
  if (queues < 1 || queues > info.rxQueues) {
    throw new UsageError(`--queues ${queues}: ${o.iface} has ${info.rxQueues} receive queue${info.rxQueues === 1 ? '' : 's'}`);
  }
  // DNS over UDP and TCP to our addresses goes to the sockets; TCP on a queue with no socket is dropped in XDP.
  // On addresses only the appliance has, all TCP comes too (unserved ports get a RST from the stack).
  const program: XdpProgram = attachXdp({
    iface: o.iface, netns: o.netns, ipv4, ipv6, udpPorts: hasZones ? [o.dnsPort] : [],
    tcpPorts: [...(hasZones ? [o.dnsPort] : []), ...(hasSites ? [o.httpPort] : [])], maxQueues: queues,
    exclusive: exclusiveAddresses([...ipv4, ...ipv6], o.netns),
  });
  // One secret for every worker (table hashes, ISNs, SYN cookies): a flow that moves to
  // another queue still finds its cookie good.
  const secret = new Uint32Array(8);
  crypto.getRandomValues(secret);
  const counters = new SharedArrayBuffer(queues * COUNTER_STRIDE * 8);
  const view = new Float64Array(counters);
  const control = new SharedArrayBuffer(8);
  const controlWords = new Int32Array(control);
  const ports: MessagePort[] = [];
  /** Answers to the reload under way, by queue. */
  let awaiting: Map<number, (error: string | null) => void> | null = null;
  let current: Image = img;
  // What the workers' jobs are made from; let go once they started, so that no closure here
  // keeps the first image alive after a reload replaced it.
  let firstImage: SharedArrayBuffer | null = img.shared;
  const rings = o.log !== undefined ? Array.from({ length: queues }, () => new LogRing()) : [];
  const script = workerScript();
  const threads: Worker[] = [];
  const exited: Array<Promise<void>> = [];
  const ready: Array<{ queue: number; mode: string; cpu: number }> = [];
  const log = new BoundedLog(logger().child({ part: 'xdp' }));
  let started = false;
  let stopping = false;
  let fail: (e: ApplianceError) => void = () => undefined;
  const failed = new Promise<ApplianceError>((resolve) => { fail = resolve; });
  try {
    await Promise.all(Array.from({ length: queues }, (_, queue) => new Promise<void>((resolve, reject) => {
      const channel = new MessageChannel();
      ports.push(channel.port1);
      const job: ServeJob = {
        kind: 'serve', file: o.image, image: firstImage!, iface: o.iface, netns: o.netns, queue,
        cpu: o.cpus.length > 0 ? o.cpus[queue % o.cpus.length]! : -1,
        xskMapFd: program.xskMapFd, ipv4, ipv6, dnsPort: o.dnsPort, checksums: o.checksums,
        tcpConnections: o.tcpConnections, secret, idleTimeoutMs: o.idleTimeoutMs, messageTimeoutMs: o.messageTimeoutMs,
        httpPort: o.httpPort, headerTimeoutMs: o.headerTimeoutMs,
        counters, control, reloads: channel.port2, rrl: o.rrl,
        capture: o.capture ? { file: `${o.capture.prefix}.q${queue}.pcap`, every: o.capture.every, limit: o.capture.limit } : undefined,
        fault: o.fault,
        chaos: o.chaos,
        notify: o.notify,
        log: o.log !== undefined ? { ring: rings[queue]!.shared as SharedArrayBuffer, ...o.log } : undefined,
      };
      const w = new Worker(script, { workerData: job, transferList: [channel.port2] });
      threads.push(w);
      exited.push(new Promise((res) => w.once('exit', () => res())));
      w.on('message', (m: WorkerMessage) => {
        if (m.ready) {
          ready.push(m.ready);
          resolve();
        } else if (m.reloaded) {
          // An answer to an older reload (one that timed out) is not this one's.
          if (m.reloaded.reload === reloads) awaiting?.get(m.reloaded.queue)?.(m.reloaded.error);
        } else if (m.error) {
          const e = new ApplianceError(workerCode(m.error.code), `queue ${queue}: ${m.error.message}`);
          if (started) fail(e);
          else reject(e);
        } else if (m.notify) {
          o.onNotify?.(m.notify.zone, m.notify.from);
        } else if (m.fault) {
          log.error({ queue, err: { message: m.fault.message, stack: m.fault.stack } }, 'a frame\'s handler threw; the frame was dropped and the worker goes on');
        }
      });
      w.once('error', (e) => {
        const err = new ApplianceError('APPL_ERR_WORKER', `queue ${queue}: the worker thread failed: ${e.message}`, { cause: e });
        if (started) fail(err);
        else reject(err);
      });
      w.once('exit', (code) => {
        if (!started) reject(new ApplianceError('APPL_ERR_XDP_OPEN', `queue ${queue}: the worker exited (${code}) before it was ready`));
        else if (!stopping) fail(new ApplianceError('APPL_ERR_WORKER', `queue ${queue}: the worker exited (${code}) while serving`));
      });
    })));
  } catch (e) {
    Atomics.store(new Int32Array(control), 0, 1);
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 5000))]);
    for (const w of threads) void w.terminate();
    program.detach();
    throw e;
  }
  ready.sort((a, b) => a.queue - b.queue);
  started = true;
  firstImage = null;
  let stopped = false;
  let reloads = 0;
  let reloading: Promise<Image> | null = null;
  const reload = async (): Promise<Image> => {
    const next = loadServedImage(o.image);
    const z = new DnsTables(next).hasZones, h = new HttpTables(next).hasSites;
    if (z !== hasZones || h !== hasSites) {
      throw new ApplianceError('APPL_ERR_RELOAD', `${o.image}: the new image serves ${z ? 'DNS' : 'no DNS'} and ${h ? 'HTTP' : 'no HTTP'}, ` +
        `the one served ${hasZones ? 'DNS' : 'no DNS'} and ${hasSites ? 'HTTP' : 'no HTTP'}: that changes only with a restart`);
    }
    const number = ++reloads;
    const answers = new Map<number, string | null>();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      awaiting = new Map(Array.from({ length: queues }, (_, q) => [q, (error: string | null) => {
        answers.set(q, error);
        if (answers.size === queues) {
          clearTimeout(timer);
          resolve();
        }
      }]));
      const m: ReloadMessage = { reload: number, file: o.image, image: next.shared };
      for (const p of ports) p.postMessage(m);
      Atomics.store(controlWords, 1, number);
    });
    awaiting = null;
    const refused = Array.from({ length: queues }, (_, q) => q).filter((q) => answers.get(q) !== null);
    const took = queues - refused.length;
    if (took > 0) current = next;
    // The old image's last reference here is gone: collect, so that its memory goes now.
    collectGarbage();
    if (refused.length > 0) {
      const why = refused.map((q) => `queue ${q}: ${answers.has(q) ? answers.get(q) : 'no answer within 10 s'}`).join('; ');
      throw new ApplianceError('APPL_ERR_RELOAD', `${o.image}: ${took > 0 ? `${took} of ${queues} workers switched, the others kept the old image` : 'the old image is still served'}: ${why}`);
    }
    return next;
  };
  return {
    image: () => current,
    logRings: rings,
    // One reload at a time: a second asked for meanwhile waits for the first, then runs.
    reload: () => {
      const run = (reloading ?? Promise.resolve()).catch(() => undefined).then(reload);
      reloading = run;
      return run;
    },
    mode: ready[0]!.mode,
    queues,
    xdpMode: program.mode,
    workers: ready,
    serves: { dns: hasZones, http: hasSites },
    totals: () => {
      const sum: Record<string, number> = {};
      for (let q = 0; q < queues; q++) for (const [k, v] of Object.entries(readCounters(view, q))) sum[k] = (sum[k] ?? 0) + v;
      return sum;
    },
    perQueue: () => Array.from({ length: queues }, (_, q) => readCounters(view, q)),
    failed,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      stopping = true;
      await stopThreads(controlWords, ports, threads, exited, 10_000);
      program.detach();
    },
  };
}
