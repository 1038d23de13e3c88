// A serving worker: one thread, one NIC queue, one AF_XDP socket, its own frames and
// counters. It reads the image the supervisor loaded (shared, read-only) and shares
// nothing writable with any other worker.
//
// The loop (docs/DESIGN.md "The per-core loop"): receive a batch → answer each frame in place
// → send the batch with at most one kick → recycle → sleep in the kernel only when idle.

import { NotifyGate, type NotifySource } from '../dns/notify.js';
import { BATCH, type Device } from '../../netmap-binding/device.js';
import { currentCpu, openAfXdp, pinThread, parseIPv4, parseIPv6 } from '../../netmap-binding/afxdp.js';
import { CaptureDevice, PcapWriter } from '../../netmap-binding/pcap.js';
import { FaultDevice, parseFaultSpec } from '../../netmap-binding/fault.js';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { attachImage, type Image } from '../../specializers/image/format.js';
import { DnsTables } from '../dns/tables.js';
import { DnsResponder, type ChaosStrings } from '../dns/responder.js';
import { Stack, type StackConfig } from '../stack/stack.js';
import { TxQueue } from '../stack/tx.js';
import { LogRing, QueryLog } from '../log-ring.js';
import { collectGarbage } from '../../basics/gc.js';
import { COUNTER_STRIDE, IMAGES_HELD, LOG_RECORDS, LOG_RECORDS_LOST, DEV_FILL_RING_EMPTY, DEV_RX_DROPPED, DEV_RX_RING_FULL, DEV_TX_KICKS, DEV_TX_KICKS_DEFERRED, DNS_BASE, DNS_STREAM_BASE, HANDLER_ERRORS, HTTP_BASE, RRL_BASE, RX_BATCHES, TCP_BASE, TX_BATCHES, TX_FRAMES, TX_RING_FULL } from '../stack/counters.js';
import { RRL_COUNTERS, RRL_DEFAULTS, ResponseRateLimiter, type RrlOptions } from '../dns/rrl.js';
import { Tcp } from '../stack/tcp/tcp.js';
import { DnsTcpApp, HttpTcpApp } from '../stack/tcp/apps.js';
import { HttpSessions } from '../http/session.js';
import { HttpTables } from '../http/tables.js';
import { DnsStreams } from '../dns/stream.js';
import { GENERATIONS } from '../stack/tcp/out-queue.js';

export interface ServeJob {
  kind: 'serve';
  file: string;
  image: SharedArrayBuffer;
  iface: string;
  netns?: string;
  queue: number;
  /** CPU to pin this worker to, or -1. */
  cpu: number;
  xskMapFd: number;
  ipv4: string[];
  ipv6: string[];
  dnsPort: number;
  /** CSUM_AUTO, CSUM_STRICT or CSUM_OFF (appliance/wire/reasons.ts). */
  checksums: number;
  /** TCP: connections per worker, and the keys of its tables, ISNs and cookies (eight words, drawn by the supervisor). */
  tcpConnections: number;
  secret: Uint32Array;
  /** DNS over TCP: idle connections closed after this; one message must arrive within messageTimeoutMs of its first byte. */
  idleTimeoutMs: number;
  messageTimeoutMs: number;
  /** HTTP over TCP (when the image has sites): its port, and the head deadline. */
  httpPort: number;
  headerTimeoutMs: number;
  /** Test only: every ISS is this (just below 2^32, so that tests cross the wrap). */
  testIss?: number;
  /**
   * Response rate limiting of UDP answers (plain data: the worker builds its own limiter,
   * with its own table and key; shared-nothing). Absent, or a rate of 0: no limiting. The
   * supervisor always sets it from serve's --rrl-* flags (NSD's defaults).
   */
  rrl?: RrlOptions;
  /** Float64Array over it; this worker writes doubles [queue × COUNTER_STRIDE, + COUNTER_STRIDE). */
  counters: SharedArrayBuffer;
  /** Int32Array over it: [0] = stop, set by the supervisor; [1] = the latest reload's number (see `reloads`). */
  control: SharedArrayBuffer;
  /**
   * Where a reload's image arrives (a ReloadMessage): the supervisor posts it, then raises
   * control[1]; the worker takes it between batches and answers with `reloaded`.
   */
  reloads: MessagePort;
  /** Record frames in and out (one batch in `every`, at most `limit`). */
  capture?: { file: string; every: number; limit?: number };
  /** Tests only: a fault-injection spec (netmap-binding/fault.ts) around the device. */
  fault?: string;
  /**
   * The access and query logs: the ring (appliance/log-ring.ts) the worker puts records in
   * and the supervisor drains; which are on; the query log's sampling rate.
   */
  log?: { ring: SharedArrayBuffer; access: boolean; queryRate: number | null };
  /** The CHAOS TXT strings (id.server, version.bind); absent: both hidden. */
  chaos?: ChaosStrings;
  /** The secondary zones' primaries: their NOTIFY is taken and posted to the supervisor. */
  notify?: NotifySource[];
}

/** A reloaded image, verified by the supervisor. */
export interface ReloadMessage {
  reload: number;
  file: string;
  image: SharedArrayBuffer;
}

export interface WorkerMessage {
  ready?: { queue: number; mode: string; cpu: number };
  /** A reload taken (error: null), or refused (nothing changed). */
  reloaded?: { queue: number; reload: number; error: string | null };
  done?: { queue: number };
  /** The worker failed and is stopping (before or after ready). */
  error?: { queue: number; message: string; code?: string };
  /** A frame's handler threw; the worker goes on (sent at most a few times a second). */
  fault?: { queue: number; message: string; stack?: string };
  /** A NOTIFY from a primary of a secondary zone, taken. */
  notify?: { zone: string; from: string };
}

/** Fault reports a worker sends at most, per second. */
const FAULTS_PER_SECOND = 5;

/** Full batches in a row (BATCH frames each, a quarter of the receive ring) after which new SYNs are shed. */
const SHED_AFTER_FULL_BATCHES = 8;

/** How often the device's own counters are copied into the worker's. */
const STATS_EVERY_MS = 250;

/** Idle sleep: short enough that a stop is seen at once, long enough to cost nothing. */
const IDLE_WAIT_MS = 20;

export function ipv4ToU32(a: string): number {
  const b = parseIPv4(a);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export type StackJob = Pick<ServeJob, 'file' | 'image' | 'ipv4' | 'ipv6' | 'dnsPort' | 'checksums' | 'tcpConnections' | 'secret' | 'idleTimeoutMs' | 'messageTimeoutMs' | 'httpPort' | 'headerTimeoutMs' | 'testIss' | 'rrl' | 'log' | 'chaos' | 'notify'>;

/** A worker's stack, and the switch to a reloaded image. */
export interface Serving {
  readonly stack: Stack;
  /**
   * Serves `img` from the next frame on: new queries and requests are answered from it,
   * responses under way go on from the image they started on. Returns null, or why the image
   * was refused (nothing changed then).
   */
  swap(img: Image): string | null;
  /** Images the worker holds: the one served, and older ones responses under way still send from. */
  imagesHeld(): number;
  /** The log ring, when a log is on. */
  readonly logRing: LogRing | null;
}

/** The stack of a job, over a device (used by the worker, and by tests over a pipe); `now` starts TCP's clock. */
export function makeStack(job: StackJob, dev: Pick<Device, 'mac' | 'mtu'>, counters: Float64Array, now = performance.now()): Stack {
  return makeServing(job, dev, counters, now).stack;
}

/** makeStack(), with the image switch the worker's reloads use. */
export function makeServing(job: StackJob, dev: Pick<Device, 'mac' | 'mtu'>, counters: Float64Array, now = performance.now(),
  onNotify: (zone: string, from: string) => void = () => undefined): Serving {
  const img = attachImage(job.file, job.image);
  const tables = new DnsTables(img);
  const responder = tables.hasZones ? new DnsResponder(tables, counters.subarray(DNS_BASE), { chaos: job.chaos }) : null;
  const cfg: StackConfig = {
    mac: dev.mac,
    ipv4: job.ipv4.map(ipv4ToU32),
    ipv6: job.ipv6.map((a) => parseIPv6(a)),
    dnsPort: job.dnsPort,
    checksums: job.checksums,
    mtu: dev.mtu,
  };
  // The worker's own limiter, its counters in the worker's stride at RRL_BASE.
  const rrl = responder !== null && job.rrl !== undefined && (job.rrl.rate ?? RRL_DEFAULTS.rate) > 0
    ? new ResponseRateLimiter(job.rrl, counters.subarray(RRL_BASE, RRL_BASE + RRL_COUNTERS)) : null;
  const stack = new Stack(cfg, responder, counters, rrl);
  const http = new HttpTables(img);
  let sessions: HttpSessions | null = null;
  const ring = job.log !== undefined ? new LogRing(job.log.ring) : null;
  // The loop's clock is monotonic; log records and HTTP Dates take the wall clock.
  const wallOffsetMs = Date.now() - performance.now();
  const queryLog = ring !== null && job.log!.queryRate !== null && responder !== null ? new QueryLog(ring, job.log!.queryRate, wallOffsetMs) : null;
  stack.queryLog = queryLog;
  if (job.notify !== undefined && job.notify.length > 0) stack.notifyGate = new NotifyGate(job.notify, onNotify);
  if (responder !== null || http.hasSites) {
    const tcp = new Tcp({ capacity: job.tcpConnections, secret: job.secret, mtu: dev.mtu, testIss: job.testIss, http: http.hasSites ? http : undefined },
      stack, counters.subarray(TCP_BASE), now);
    if (responder !== null) {
      // DNS over TCP on the DNS port.
      const streams = new DnsStreams(responder, { capacity: job.tcpConnections, messageTimeoutMs: job.messageTimeoutMs, idleTimeoutMs: job.idleTimeoutMs },
        counters.subarray(DNS_STREAM_BASE));
      const app = new DnsTcpApp(streams, tcp);
      app.queryLog = queryLog;
      app.notifyGate = stack.notifyGate;
      tcp.listen(job.dnsPort, app);
    }
    if (http.hasSites) {
      // HTTP on the HTTP port.
      sessions = new HttpSessions(http, {
        capacity: job.tcpConnections, headerTimeoutMs: job.headerTimeoutMs, idleTimeoutMs: job.idleTimeoutMs, wallOffsetMs,
      }, counters.subarray(HTTP_BASE));
      const app = new HttpTcpApp(sessions, tcp, wallOffsetMs);
      if (ring !== null && job.log!.access) app.logTo(ring);
      tcp.listen(job.httpPort, app);
    }
    stack.attachTcp(tcp);
  }
  const hasSites = http.hasSites;
  return {
    stack,
    swap: (next) => {
      const dns = new DnsTables(next);
      const web = new HttpTables(next);
      const what = (z: boolean, s: boolean): string => [z ? 'zones' : '', s ? 'sites' : ''].filter(Boolean).join(' and ') || 'nothing';
      if (dns.hasZones !== (responder !== null) || web.hasSites !== hasSites) {
        return `the new image has ${what(dns.hasZones, web.hasSites)}, the one served ${what(responder !== null, hasSites)}: ` +
          'what is served (DNS, HTTP) changes only with a restart';
      }
      if (sessions !== null && !stack.tcp!.setHttp(web)) {
        return `responses under way still send from ${GENERATIONS} images, the one served and ${GENERATIONS - 1} older; try again when they are done (at most --idle-timeout)`;
      }
      if (responder !== null) responder.t = dns;
      sessions?.responder.setTables(web);
      return null;
    },
    imagesHeld: () => (stack.tcp !== null && hasSites ? stack.tcp.outq.imagesHeld : 1),
    logRing: ring,
  };
}

/**
 * The loop body over one device: receive a batch → handle each frame (a reply in place,
 * or the frame kept as a spare) → what TCP sends and what its timers made due → transmit
 * → recycle. Its arrays and TX queue are allocated once.
 */
export class BatchRunner {
  private readonly addrs = new Uint32Array(BATCH);
  private readonly lens = new Uint32Array(BATCH);
  readonly tx: TxQueue;
  private fullBatches = 0;
  /** Full batches have been coming for SHED_AFTER_FULL_BATCHES batches or more. */
  backlogged = false;

  constructor(private readonly dev: Device, private readonly stack: Stack, private readonly onFault?: (e: unknown) => void) {
    this.tx = new TxQueue(dev);
  }

  /** One batch at time `now` (ms). Returns the frames received (0: idle, and nothing was due). */
  run(now: number): number {
    const dev = this.dev, stack = this.stack, tx = this.tx, addrs = this.addrs, lens = this.lens;
    const n = dev.receive(addrs, lens, BATCH);
    // Full batches one after another: frames are waiting faster than they are handled. While
    // that lasts, TCP takes no new connections (the ring would drop frames of all alike).
    this.fullBatches = n === BATCH ? this.fullBatches + 1 : 0;
    const backlogged = this.fullBatches >= SHED_AFTER_FULL_BATCHES;
    if (backlogged !== this.backlogged && stack.tcp !== null) stack.tcp.shedSyns = backlogged;
    this.backlogged = backlogged;
    if (n === 0 && stack.nextDeadline() > now) {
      dev.flush();
      return 0;
    }
    const mem = dev.mem;
    const cap = dev.maxFrameLen;
    stack.warm(mem, addrs, lens, n);
    for (let i = 0; i < n; i++) {
      const a = addrs[i]!;
      let len: number;
      try {
        len = stack.handle(mem, a, lens[i]!, cap, now);
      } catch (e) {
        // A bug met by one frame costs that frame: counted, reported, and the loop goes on.
        len = 0;
        stack.counters[HANDLER_ERRORS]!++;
        this.onFault?.(e);
      }
      if (len > 0) tx.push(a, len);
      else tx.spare(a);
    }
    try {
      stack.endBatch(now, tx);
    } catch (e) {
      stack.counters[HANDLER_ERRORS]!++;
      this.onFault?.(e);
    }
    const sent = tx.flush();
    if (tx.unsent > 0) stack.counters[TX_RING_FULL]! += tx.unsent;
    dev.flush();
    stack.counters[TX_FRAMES]! += sent;
    if (n > 0) stack.counters[RX_BATCHES]!++;
    if (sent > 0) stack.counters[TX_BATCHES]!++;
    return n;
  }
}

export async function serveWorkerMain(job: ServeJob, post: (m: WorkerMessage) => void): Promise<void> {
  let dev: Device | undefined;
  try {
    if (job.cpu >= 0) pinThread(job.cpu);
    dev = openAfXdp({ iface: job.iface, netns: job.netns, queue: job.queue, xskMapFd: job.xskMapFd });
    if (job.fault !== undefined) {
      const spec = parseFaultSpec(job.fault);
      dev = new FaultDevice(dev, { seed: (spec.seed + job.queue) >>> 0, rx: spec.rx, tx: spec.tx, now: () => performance.now() });
    }
    if (job.capture) dev = new CaptureDevice(dev, new PcapWriter(job.capture.file), { every: job.capture.every, limit: job.capture.limit });
    const counters = new Float64Array(job.counters, job.queue * COUNTER_STRIDE * 8, COUNTER_STRIDE);
    const serving = makeServing(job, dev, counters, performance.now(), (zone, from) => post({ notify: { zone, from } }));
    const stack = serving.stack;
    // The image is held by the stack from here; the job's reference would keep it for ever.
    (job as { image: SharedArrayBuffer | null }).image = null;
    const stop = new Int32Array(job.control);
    let reloadSeen = 0;
    // After a reload, a collection once the old image is let go (see basics/gc.ts).
    let collectPending = false;
    let held = 1;
    post({ ready: { queue: job.queue, mode: dev.mode, cpu: currentCpu() } });
    let faultWindow = 0;
    let faults = 0;
    const onFault = (e: unknown): void => {
      const now = Date.now();
      if (now - faultWindow >= 1000) {
        faultWindow = now;
        faults = 0;
      }
      if (faults++ >= FAULTS_PER_SECOND) return;
      const err = e instanceof Error ? e : new Error(String(e));
      post({ fault: { queue: job.queue, message: err.message, stack: err.stack } });
    };
    const runner = new BatchRunner(dev, stack, onFault);
    const devStats = dev.stats();
    let statsDue = 0;
    while (Atomics.load(stop, 0) === 0) {
      // The clock is read once per batch; the loop sleeps only until the next deadline.
      const now = performance.now();
      if (now >= statsDue) {
        statsDue = now + STATS_EVERY_MS;
        dev.stats(devStats);
        counters[DEV_RX_DROPPED] = devStats.rxDropped;
        counters[DEV_RX_RING_FULL] = devStats.rxRingFull;
        counters[DEV_FILL_RING_EMPTY] = devStats.fillRingEmpty;
        counters[DEV_TX_KICKS] = devStats.kicks;
        counters[DEV_TX_KICKS_DEFERRED] = devStats.kicksDeferred;
        const nowHeld = serving.imagesHeld();
        if (collectPending && nowHeld < held) {
          collectGarbage();
          collectPending = nowHeld > 1;
        }
        held = nowHeld;
        counters[IMAGES_HELD] = nowHeld;
        if (serving.logRing !== null) {
          counters[LOG_RECORDS] = serving.logRing.put;
          counters[LOG_RECORDS_LOST] = serving.logRing.lost;
        }
      }
      // A reload: between batches, so that every frame of a batch is answered from one image.
      if (Atomics.load(stop, 1) !== reloadSeen) {
        for (let m = receiveMessageOnPort(job.reloads); m !== undefined; m = receiveMessageOnPort(job.reloads)) {
          const r = m.message as ReloadMessage;
          reloadSeen = r.reload;
          let error: string | null;
          try {
            error = serving.swap(attachImage(r.file, r.image));
          } catch (e) {
            error = (e as Error).message;
          }
          if (error === null) {
            collectPending = true;
            held++;
          } else {
            collectGarbage(); // the refused image's tables are garbage at once
          }
          counters[IMAGES_HELD] = serving.imagesHeld();
          post({ reloaded: { queue: job.queue, reload: r.reload, error } });
        }
      }
      if (runner.run(now) === 0) {
        const due = stack.nextDeadline() - now;
        dev.wait(due < IDLE_WAIT_MS ? Math.max(0, Math.ceil(due)) : IDLE_WAIT_MS);
      }
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    post({ error: { queue: job.queue, message: err.message, code: err.code } });
  } finally {
    await dev?.close();
    post({ done: { queue: job.queue } });
  }
}
