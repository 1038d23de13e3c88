// DNS over UDP on the socket backend, a batch per system call: worker threads, each with
// its own UDP socket on the port (SO_REUSEPORT: the kernel spreads the clients' flows over
// them), its own responder over the shared read-only image, its own rate limiter, counters
// and log ring; nothing writable shared. A worker's loop: recvmmsg a batch into its slots
// → answer each in place → rate-limit → sendmmsg the batch (netmap-binding/udp.ts). Where
// the native module cannot load, the dgram path of socket-dns.ts serves UDP instead.
//
// Reloads come as on the fused path (worker/serve-worker.ts): the image through a message
// port, control[1] raised; the worker takes it between two batches.

import { NotifyGate, type NotifySource } from '../dns/notify.js';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ApplianceError } from '../../basics/errors.js';
import { UdpBatchSocket, UDP_SLOT } from '../../netmap-binding/udp.js';
import { EDNS_UDP_SIZE } from '../../specializers/dns/layout.js';
import { attachImage, type Image } from '../../specializers/image/format.js';
import { DnsResponder, DNS_COUNTERS, DNS_COUNTER_NAMES, TRANSPORT_UDP, type ChaosStrings } from '../dns/responder.js';
import { FAMILY_IPV4, FAMILY_IPV6, RRL_COUNTERS, RRL_COUNTER_NAMES, RRL_DEFAULTS, RRL_DROP, RRL_SLIP, ResponseRateLimiter, type RrlOptions } from '../dns/rrl.js';
import { DnsTables } from '../dns/tables.js';
import { collectGarbage } from '../../basics/gc.js';
import { LogRing, QueryLog } from '../log-ring.js';
import { listenError } from './socket-dns.js';
import { stopThreads } from '../worker/threads.js';

/** A worker's counters: the responder's, then RRL's, then the loop's own. */
const RRL_AT = DNS_COUNTERS;
const OWN_AT = RRL_AT + RRL_COUNTERS;
const OWN_NAMES = ['udp_batches', 'udp_received', 'udp_sent', 'udp_drop_truncated', 'udp_drop_port0', 'udp_send_refused', 'udp_send_blocked', 'records', 'records_lost'] as const;
const [N_BATCHES, N_RECEIVED, N_SENT, N_TRUNCATED, N_PORT0, N_REFUSED, N_BLOCKED, N_LOG, N_LOG_LOST] = OWN_NAMES.map((_, i) => OWN_AT + i) as number[] as [number, number, number, number, number, number, number, number, number];
/** Doubles per worker (a whole number of cache lines). */
const STRIDE = Math.ceil((OWN_AT + OWN_NAMES.length) / 8) * 8;
/** The answer's room, as the dgram path gives it (socket-dns.ts): the EDNS size we offer, and more. */
const ANSWER_ROOM = Math.min(UDP_SLOT, EDNS_UDP_SIZE + 512);
const IDLE_WAIT_MS = 20;

export interface DnsUdpJob {
  kind: 'dns-udp';
  index: number;
  file: string;
  image: SharedArrayBuffer | null;
  host: string;
  port: number;
  rrl?: RrlOptions;
  chaos?: ChaosStrings;
  /** Float64Array: this worker's doubles at index × STRIDE. */
  counters: SharedArrayBuffer;
  /** Int32Array: [0] stop, [1] the latest reload's number. */
  control: SharedArrayBuffer;
  reloads: MessagePort;
  log?: { ring: SharedArrayBuffer; queryRate: number };
  /** The secondary zones' primaries, whose NOTIFY is taken (and posted to the pool). */
  notify?: NotifySource[];
}

interface UdpWorkerMessage {
  ready?: { index: number; port: number };
  error?: { index: number; message: string; code?: string };
  reloaded?: { index: number; reload: number; error: string | null };
  notify?: { zone: string; from: string };
}

/** The worker thread's loop (worker-entry.ts runs it for a 'dns-udp' job). */
export function dnsUdpWorkerMain(job: DnsUdpJob, post: (m: UdpWorkerMessage) => void): void {
  let sock: UdpBatchSocket | undefined;
  try {
    const c = new Float64Array(job.counters, job.index * STRIDE * 8, STRIDE);
    const responder = new DnsResponder(new DnsTables(attachImage(job.file, job.image!)), c.subarray(0, DNS_COUNTERS), { chaos: job.chaos });
    job.image = null; // the responder holds the image; the job would keep it for ever
    const rrl = job.rrl !== undefined && (job.rrl.rate ?? RRL_DEFAULTS.rate) > 0 ? new ResponseRateLimiter(job.rrl, c.subarray(RRL_AT, RRL_AT + RRL_COUNTERS)) : null;
    const ring = job.log !== undefined ? new LogRing(job.log.ring) : null;
    const queryLog = ring !== null ? new QueryLog(ring, job.log!.queryRate, 0) : null;
    const notify = job.notify !== undefined && job.notify.length > 0 ? new NotifyGate(job.notify, (zone, from) => post({ notify: { zone, from } })) : null;
    sock = UdpBatchSocket.open(job.host, job.port, true);
    post({ ready: { index: job.index, port: sock.port } });
    const control = new Int32Array(job.control);
    const { bufs, lens, names } = sock;
    const warmOffs = Int32Array.from({ length: lens.length }, (_, i) => i * UDP_SLOT);
    let reloadSeen = 0;
    let collectAt = 0;
    while (Atomics.load(control, 0) === 0) {
      if (Atomics.load(control, 1) !== reloadSeen) {
        for (let m = receiveMessageOnPort(job.reloads); m !== undefined; m = receiveMessageOnPort(job.reloads)) {
          const r = m.message as { reload: number; file: string; image: SharedArrayBuffer };
          reloadSeen = r.reload;
          let error: string | null = null;
          try {
            responder.t = new DnsTables(attachImage(r.file, r.image));
          } catch (e) {
            error = (e as Error).message;
          }
          // The old tables (or the refused image) are garbage now: see basics/gc.ts.
          collectAt = performance.now() + 100;
          post({ reloaded: { index: job.index, reload: r.reload, error } });
        }
      }
      if (collectAt > 0 && performance.now() >= collectAt) {
        collectAt = 0;
        collectGarbage();
      }
      const n = sock.receive(IDLE_WAIT_MS);
      if (n === 0) continue;
      c[N_BATCHES]!++;
      c[N_RECEIVED]! += n;
      const now = Date.now();
      const nowSec = (performance.now() / 1000) | 0;
      // A big zone: its lookups' cache misses read ahead, the batch's at once (else a no-op).
      responder.warm(bufs, warmOffs, lens, n);
      for (let i = 0; i < n; i++) {
        const len = lens[i]!;
        if (len === 0) {
          c[N_TRUNCATED]!++;
          continue;
        }
        const port = sock.peerPort(i);
        // No answer can go to port 0: a spoofed source (as the dgram path and the fused stack).
        if (port === 0) {
          c[N_PORT0]!++;
          lens[i] = 0;
          continue;
        }
        const v6 = sock.isV6(i);
        const off = i * UDP_SLOT;
        let m = responder.answer(bufs, off, len, ANSWER_ROOM, TRANSPORT_UDP, v6);
        if (m > 0 && responder.notified >= 0) {
          m = notify !== null ? notify.judge(responder, bufs, off, m, names, sock.peerAt(i), v6 ? FAMILY_IPV6 : FAMILY_IPV4) : responder.notifyRefused(bufs, off);
        }
        if (m > 0 && rrl !== null) {
          const d = rrl.decide(names, sock.peerAt(i), v6 ? FAMILY_IPV6 : FAMILY_IPV4, responder.rrlClass, responder.rrlName, nowSec);
          if (d === RRL_DROP) m = 0; // counted by the limiter
          else if (d === RRL_SLIP) m = responder.slip(bufs, off);
        }
        if (m > 0 && queryLog !== null) queryLog.udpFrom(v6 ? 6 : 4, names, sock.peerAt(i), port, bufs, off, m, now);
        lens[i] = m > 0 ? m : 0;
      }
      c[N_SENT]! += sock.send(n);
      c[N_REFUSED] = sock.refused;
      c[N_BLOCKED] = sock.blocked;
      if (ring !== null) {
        c[N_LOG] = ring.put;
        c[N_LOG_LOST] = ring.lost;
      }
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    post({ error: { index: job.index, message: err.message, code: err.code } });
  } finally {
    sock?.close();
  }
}

/** The counters' names, as socket-dns.ts names its own (the responder's and RRL's the same). */
export const DNS_UDP_COUNTER_NAMES: readonly string[] = [...DNS_COUNTER_NAMES, ...RRL_COUNTER_NAMES, ...OWN_NAMES.slice(0, 7)];

export interface DnsUdpPool {
  readonly port: number;
  readonly workers: number;
  /** Settles with the error of a worker that fails after start-up (serve then stops, as for the fused workers). */
  readonly failed: Promise<ApplianceError>;
  /** Counters summed over the workers, by name. */
  stats(): Record<string, number>;
  /** The workers' log rings (when the query log is on), and the records they took and lost. */
  readonly rings: LogRing[];
  logCounts(): { records: number; lost: number };
  /** Has every worker answer from `img` from its next batch; resolves when all have. */
  reload(img: Image): Promise<void>;
  close(): Promise<void>;
}

export interface DnsUdpPoolOptions {
  workers: number;
  host: string;
  port: number;
  image: Image;
  rrl?: RrlOptions;
  chaos?: ChaosStrings;
  queryRate?: number | null;
  /** The secondary zones' primaries, whose NOTIFY the workers take; onNotify hears of each one taken. */
  notify?: NotifySource[];
  onNotify?: (zone: string, from: string) => void;
  /** The worker script (dist/worker.js). */
  script: string;
}

/**
 * Starts the workers one after another (the first binds the port, the others join it),
 * resolved when all answer; rejects with the first's error (the caller falls back to dgram
 * when the native module cannot load).
 */
export async function startDnsUdpPool(o: DnsUdpPoolOptions): Promise<DnsUdpPool> {
  // What the closures below need, taken out of `o`: they must not keep o.image alive.
  const workers = o.workers, host = o.host, queryRate = o.queryRate ?? null, file = o.image.file, onNotify = o.onNotify;
  const counters = new SharedArrayBuffer(workers * STRIDE * 8);
  const view = new Float64Array(counters);
  const control = new SharedArrayBuffer(8);
  const words = new Int32Array(control);
  const threads: Worker[] = [];
  const ports: MessagePort[] = [];
  const rings = queryRate !== null ? Array.from({ length: workers }, () => new LogRing()) : [];
  const exited: Array<Promise<void>> = [];
  /** The reload under way: its number, and each worker's answer. */
  let awaiting: { reload: number; answer: Map<number, (e: string | null) => void> } | null = null;
  let port = o.port;
  let image: SharedArrayBuffer | null = o.image.shared;
  let started = false;
  let stopping = false;
  let fail: (e: ApplianceError) => void = () => undefined;
  const failed = new Promise<ApplianceError>((resolve) => { fail = resolve; });
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await stopThreads(words, ports, threads, exited, 5000);
  };
  try {
    for (let index = 0; index < workers; index++) {
      const channel = new MessageChannel();
      ports.push(channel.port1);
      const job: DnsUdpJob = {
        kind: 'dns-udp', index, file, image, host, port, rrl: o.rrl, chaos: o.chaos, counters, control, notify: o.notify,
        reloads: channel.port2, log: rings[index] ? { ring: rings[index]!.shared as SharedArrayBuffer, queryRate: queryRate! } : undefined,
      };
      const w = new Worker(o.script, { workerData: job, transferList: [channel.port2] });
      threads.push(w);
      exited.push(new Promise((r) => w.once('exit', () => r())));
      const bound = port;
      port = await new Promise<number>((resolve, reject) => {
        w.on('message', (m: UdpWorkerMessage) => {
          if (m.ready) resolve(m.ready.port);
          else if (m.error && started) fail(new ApplianceError('APPL_ERR_WORKER', `DNS over UDP, worker ${index}: ${m.error.message}`));
          else if (m.error) {
            // A port that cannot be bound is said as the dgram path says it; anything else as the worker's error.
            const errno = /\((E[A-Z]+)\)/.exec(m.error.message)?.[1];
            reject(m.error.code === 'APPL_ERR_XDP_LOAD' ? new ApplianceError('APPL_ERR_XDP_LOAD', m.error.message)
              : errno !== undefined && /bind/.test(m.error.message) ? listenError('UDP', { host, port: bound }, { code: errno, message: m.error.message })
                : new ApplianceError('APPL_ERR_LISTEN', `DNS over UDP, worker ${index}: ${m.error.message}`));
          }
          else if (m.notify) onNotify?.(m.notify.zone, m.notify.from);
          // An answer to an older reload (one that timed out) is not this one's.
          else if (m.reloaded && awaiting !== null && m.reloaded.reload === awaiting.reload) awaiting.answer.get(m.reloaded.index)?.(m.reloaded.error);
        });
        w.once('error', (e) => {
          const err = new ApplianceError('APPL_ERR_WORKER', `DNS over UDP, worker ${index}: ${e.message}`, { cause: e });
          if (started) fail(err);
          else reject(err);
        });
        w.once('exit', (code) => {
          if (!started) reject(new ApplianceError('APPL_ERR_WORKER', `DNS over UDP, worker ${index} exited (${code}) before it was ready`));
          else if (!stopping) fail(new ApplianceError('APPL_ERR_WORKER', `DNS over UDP, worker ${index} exited (${code}) while serving`));
        });
      });
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  image = null;
  started = true;
  let reloads = 0;
  return {
    port,
    workers,
    failed,
    rings,
    stats: () => {
      const out: Record<string, number> = {};
      for (let w = 0; w < workers; w++) {
        DNS_UDP_COUNTER_NAMES.forEach((n, i) => { out[n] = (out[n] ?? 0) + view[w * STRIDE + i]!; });
      }
      return out;
    },
    logCounts: () => {
      let records = 0, lost = 0;
      for (let w = 0; w < workers; w++) {
        records += view[w * STRIDE + N_LOG]!;
        lost += view[w * STRIDE + N_LOG_LOST]!;
      }
      return { records, lost };
    },
    reload: async (img) => {
      const number = ++reloads;
      const answers = new Map<number, string | null>();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        awaiting = {
          reload: number,
          answer: new Map(threads.map((_, i) => [i, (err: string | null) => {
            answers.set(i, err);
            if (answers.size === threads.length) {
              clearTimeout(timer);
              resolve();
            }
          }])),
        };
        for (const p of ports) p.postMessage({ reload: number, file: img.file, image: img.shared });
        Atomics.store(words, 1, number);
      });
      awaiting = null;
      const bad = threads.map((_, i) => i).filter((i) => answers.get(i) !== null);
      if (bad.length > 0) {
        throw new ApplianceError('APPL_ERR_RELOAD', `DNS over UDP: ${bad.map((i) => `worker ${i}: ${answers.has(i) ? answers.get(i) : 'no answer within 10 s'}`).join('; ')}`);
      }
    },
    close: stopAll,
  };
}

