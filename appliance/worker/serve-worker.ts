// A serving worker: one thread, one NIC queue, one AF_XDP socket, its own frames and
// counters. It reads the image the supervisor loaded (shared, read-only) and shares
// nothing writable with any other worker.
//
// The loop (DESIGN.md "The per-core loop"): receive a batch → answer each frame in place
// → send the batch with at most one kick → recycle → sleep in the kernel only when idle.

import { BATCH, type Device } from '../../netmap-binding/device.js';
import { currentCpu, openAfXdp, pinThread, parseIPv4, parseIPv6 } from '../../netmap-binding/afxdp.js';
import { CaptureDevice, PcapWriter } from '../../netmap-binding/pcap.js';
import { attachImage } from '../../specializers/image/format.js';
import { DnsTables } from '../dns/tables.js';
import { DnsResponder } from '../dns/responder.js';
import { Stack, type StackConfig } from '../stack/stack.js';
import { COUNTER_STRIDE, DNS_BASE, HANDLER_ERRORS, TX_FRAMES, TX_RING_FULL } from '../stack/counters.js';

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
  /** Float64Array over it; this worker writes doubles [queue × COUNTER_STRIDE, + COUNTER_STRIDE). */
  counters: SharedArrayBuffer;
  /** Int32Array over it: [0] = stop, set by the supervisor. */
  control: SharedArrayBuffer;
  /** Record frames in and out (one batch in `every`, at most `limit`). */
  capture?: { file: string; every: number; limit?: number };
}

export interface WorkerMessage {
  ready?: { queue: number; mode: string; cpu: number };
  done?: { queue: number };
  /** The worker failed and is stopping (before or after ready). */
  error?: { queue: number; message: string; code?: string };
  /** A frame's handler threw; the worker goes on (sent at most a few times a second). */
  fault?: { queue: number; message: string; stack?: string };
}

/** Fault reports a worker sends at most, per second. */
const FAULTS_PER_SECOND = 5;

/** Idle sleep: short enough that a stop is seen at once, long enough to cost nothing. */
const IDLE_WAIT_MS = 20;

export function ipv4ToU32(a: string): number {
  const b = parseIPv4(a);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** The stack of a job, over a device (used by the worker, and by tests over a pipe). */
export function makeStack(job: Pick<ServeJob, 'file' | 'image' | 'ipv4' | 'ipv6' | 'dnsPort' | 'checksums'>, dev: Pick<Device, 'mac' | 'mtu'>, counters: Float64Array): Stack {
  const img = attachImage(job.file, job.image);
  const tables = new DnsTables(img);
  const responder = tables.hasZones ? new DnsResponder(tables, counters.subarray(DNS_BASE)) : null;
  const cfg: StackConfig = {
    mac: dev.mac,
    ipv4: job.ipv4.map(ipv4ToU32),
    ipv6: job.ipv6.map((a) => parseIPv6(a)),
    dnsPort: job.dnsPort,
    checksums: job.checksums,
    mtu: dev.mtu,
  };
  return new Stack(cfg, responder, counters);
}

/**
 * Runs one batch: receive, answer, transmit, recycle. Returns the frames received (0: the
 * rings were idle). The arrays are the caller's, allocated once.
 */
export function runBatch(dev: Device, stack: Stack, addrs: Uint32Array, lens: Uint32Array, drops: Uint32Array, onFault?: (e: unknown) => void): number {
  const n = dev.receive(addrs, lens, BATCH);
  if (n === 0) {
    dev.flush();
    return 0;
  }
  const mem = dev.mem;
  const cap = dev.maxFrameLen;
  let k = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const a = addrs[i]!;
    let len: number;
    try {
      len = stack.handle(mem, a, lens[i]!, cap);
    } catch (e) {
      // A bug met by one frame costs that frame: counted, reported, and the loop goes on.
      len = 0;
      stack.counters[HANDLER_ERRORS]!++;
      onFault?.(e);
    }
    if (len > 0) {
      addrs[k] = a;
      lens[k++] = len;
    } else {
      drops[m++] = a;
    }
  }
  const sent = dev.transmit(addrs, lens, k);
  if (sent < k) {
    dev.release(addrs, k - sent, sent);
    stack.counters[TX_RING_FULL]! += k - sent;
  }
  if (m > 0) dev.release(drops, m);
  dev.flush();
  stack.counters[TX_FRAMES]! += sent;
  return n;
}

export async function serveWorkerMain(job: ServeJob, post: (m: WorkerMessage) => void): Promise<void> {
  let dev: Device | undefined;
  try {
    if (job.cpu >= 0) pinThread(job.cpu);
    dev = openAfXdp({ iface: job.iface, netns: job.netns, queue: job.queue, xskMapFd: job.xskMapFd });
    if (job.capture) dev = new CaptureDevice(dev, new PcapWriter(job.capture.file), { every: job.capture.every, limit: job.capture.limit });
    const counters = new Float64Array(job.counters, job.queue * COUNTER_STRIDE * 8, COUNTER_STRIDE);
    const stack = makeStack(job, dev, counters);
    const stop = new Int32Array(job.control);
    post({ ready: { queue: job.queue, mode: dev.mode, cpu: currentCpu() } });
    const addrs = new Uint32Array(BATCH);
    const lens = new Uint32Array(BATCH);
    const drops = new Uint32Array(BATCH);
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
    while (Atomics.load(stop, 0) === 0) {
      if (runBatch(dev, stack, addrs, lens, drops, onFault) === 0) dev.wait(IDLE_WAIT_MS);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    post({ error: { queue: job.queue, message: err.message, code: err.code } });
  } finally {
    await dev?.close();
    post({ done: { queue: job.queue } });
  }
}
