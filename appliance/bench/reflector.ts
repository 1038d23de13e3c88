// The reflector: the smallest DNS server over the binding. It answers every IPv4/UDP query
// to port 53 from one fixed template, rewriting the query frame in place:
//
//   query  [eth][ipv4][udp][dns hdr][question][additional (EDNS…)]
//   answer [eth ⇄][ipv4 ⇄][udp ⇄][dns hdr: QR AA, AN=1][question][c00c A IN TTL 198.18.0.1]
//
// It measures the binding, not DNS: the ceiling a JS loop reaches on the rings. It runs in a
// worker thread pinned to one CPU (reflectorWorkerMain); the bench starts it with
// startReflector and stops it through a shared flag.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { finish, partialSum } from '../../basics/checksum.js';
import { BATCH } from '../../netmap-binding/device.js';
import { currentCpu, openAfXdp, pinThread } from '../../netmap-binding/afxdp.js';

/** The answer RR appended to each query: name → pointer to the question, A IN, TTL 3600, 198.18.0.1. */
const ANSWER = Uint8Array.of(0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 198, 18, 0, 1);
const ETH = 14;
const IP = ETH;
const UDP = IP + 20;
const DNS = UDP + 8;
const DNS_HEADER = 12;

/**
 * Rewrites the query at mem[off, off+len) into its answer; returns the answer's length or
 * 0 (not a query for us: drop). No allocation, no exception on malformed input.
 */
export function reflect(mem: Uint8Array, off: number, len: number, maxLen: number): number {
  if (len < DNS + DNS_HEADER + 5) return 0;
  if (mem[off + 12] !== 0x08 || mem[off + 13] !== 0x00) return 0; // IPv4
  if (mem[off + IP] !== 0x45 || mem[off + IP + 9] !== 17) return 0; // no options, UDP
  if (mem[off + UDP + 2] !== 0 || mem[off + UDP + 3] !== 53) return 0;
  const d = off + DNS;
  if ((mem[d + 2]! & 0x80) !== 0 || mem[d + 4] !== 0 || mem[d + 5] !== 1) return 0; // a query, QDCOUNT 1
  // Skip the question name (labels only: a query carries no compression).
  let p = d + DNS_HEADER;
  const end = off + len;
  for (;;) {
    if (p >= end) return 0;
    const l = mem[p]!;
    if (l === 0) break;
    if (l > 63) return 0;
    p += l + 1;
  }
  p += 5; // root label, QTYPE, QCLASS
  if (p > end || p - off + ANSWER.length > maxLen) return 0;
  mem.set(ANSWER, p);
  const dnsLen = p + ANSWER.length - d;
  // DNS header: QR, AA, keep opcode and RD; RCODE 0; AN 1, NS 0, AR 0 (EDNS dropped).
  mem[d + 2] = (mem[d + 2]! & 0x79) | 0x84;
  mem[d + 3] = 0;
  mem[d + 6] = 0;
  mem[d + 7] = 1;
  mem[d + 8] = 0;
  mem[d + 9] = 0;
  mem[d + 10] = 0;
  mem[d + 11] = 0;
  // Ethernet and IP addresses, UDP ports: swapped.
  for (let i = 0; i < 6; i++) {
    const t = mem[off + i]!;
    mem[off + i] = mem[off + 6 + i]!;
    mem[off + 6 + i] = t;
  }
  for (let i = 0; i < 4; i++) {
    const t = mem[off + IP + 12 + i]!;
    mem[off + IP + 12 + i] = mem[off + IP + 16 + i]!;
    mem[off + IP + 16 + i] = t;
  }
  mem[off + UDP + 2] = mem[off + UDP]!;
  mem[off + UDP + 3] = mem[off + UDP + 1]!;
  mem[off + UDP] = 0;
  mem[off + UDP + 1] = 53;
  const ipLen = 20 + 8 + dnsLen;
  mem[off + IP + 2] = ipLen >> 8;
  mem[off + IP + 3] = ipLen & 0xff;
  mem[off + IP + 6] = 0x40; // DF
  mem[off + IP + 7] = 0;
  mem[off + IP + 8] = 64;
  mem[off + IP + 10] = 0;
  mem[off + IP + 11] = 0;
  const ipSum = finish(partialSum(mem, off + IP, 20));
  mem[off + IP + 10] = ipSum >> 8;
  mem[off + IP + 11] = ipSum & 0xff;
  const udpLen = 8 + dnsLen;
  mem[off + UDP + 4] = udpLen >> 8;
  mem[off + UDP + 5] = udpLen & 0xff;
  mem[off + UDP + 6] = 0;
  mem[off + UDP + 7] = 0;
  // RFC 768: pseudo-header (addresses, protocol, length) + header + data.
  const s = partialSum(mem, off + UDP, udpLen, partialSum(mem, off + IP + 12, 8, 17 + udpLen));
  const c = finish(s);
  mem[off + UDP + 6] = c === 0 ? 0xff : c >> 8;
  mem[off + UDP + 7] = c === 0 ? 0xff : c & 0xff;
  return ETH + ipLen;
}

export interface ReflectorJob {
  kind: 'reflector';
  iface: string;
  netns?: string;
  queue: number;
  cpu: number;
  /** Serve this address, UDP 53 (the worker attaches its own program). */
  ipv4: string;
  /** Hard limit on the run. */
  maxSeconds: number;
  /** Int32Array over it: [0] = stop flag set by the parent. */
  control: SharedArrayBuffer;
}

export interface ReflectorResult {
  answered: number;
  dropped: number;
  batches: number;
  idleWaits: number;
  cpu: number;
  mode: string;
  stats: Record<string, number>;
}

/** The worker's body: opens the device, answers until told to stop, reports. */
export async function reflectorWorkerMain(job: ReflectorJob, post: (m: unknown) => void): Promise<void> {
  pinThread(job.cpu);
  const stop = new Int32Array(job.control);
  const dev = openAfXdp({ iface: job.iface, netns: job.netns, queue: job.queue, serve: { ipv4: [job.ipv4], udpPorts: [53] } });
  post({ ready: true, mode: dev.mode });
  const addrs = new Uint32Array(BATCH);
  const lens = new Uint32Array(BATCH);
  const drops = new Uint32Array(BATCH);
  const mem = dev.mem;
  const maxLen = dev.maxFrameLen;
  let answered = 0;
  let dropped = 0;
  let batches = 0;
  let idle = 0;
  const deadline = Date.now() + job.maxSeconds * 1000;
  while (Atomics.load(stop, 0) === 0) {
    const n = dev.receive(addrs, lens, BATCH);
    if (n === 0) {
      dev.flush();
      idle++;
      dev.wait(5);
      if ((idle & 63) === 0 && Date.now() > deadline) break;
      continue;
    }
    batches++;
    let k = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const len = reflect(mem, addrs[i]!, lens[i]!, maxLen);
      if (len > 0) {
        addrs[k] = addrs[i]!;
        lens[k++] = len;
      } else drops[m++] = addrs[i]!;
    }
    const sent = dev.transmit(addrs, lens, k);
    if (sent < k) dev.release(addrs, k - sent, sent);
    if (m > 0) dev.release(drops, m);
    dev.flush();
    answered += sent;
    dropped += n - sent;
    if ((batches & 4095) === 0 && Date.now() > deadline) break;
  }
  const stats = { ...dev.stats() } as unknown as Record<string, number>;
  const cpu = currentCpu();
  await dev.close();
  post({ done: true, result: { answered, dropped, batches, idleWaits: idle, cpu, mode: dev.mode, stats } satisfies ReflectorResult });
}

/** The compiled worker file next to this module (build/appliance/bench/reflector.js). */
export const REFLECTOR_WORKER_URL = new URL(import.meta.url);

export interface RunningReflector {
  readonly mode: string;
  /** Stops the loop and returns its counters. */
  stop(): Promise<ReflectorResult>;
}

/**
 * Starts the reflector in a worker thread. `workerUrl` is a module whose top level calls
 * reflectorWorkerMain for workerData.kind === 'reflector' (this module does; a bundled
 * dist/worker.js should too).
 */
export async function startReflector(job: Omit<ReflectorJob, 'kind' | 'control'>, workerUrl: URL = REFLECTOR_WORKER_URL): Promise<RunningReflector> {
  const control = new SharedArrayBuffer(4);
  const w = new Worker(fileURLToPath(workerUrl), { workerData: { ...job, kind: 'reflector', control } satisfies ReflectorJob });
  let result: ((r: ReflectorResult) => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  const done = new Promise<ReflectorResult>((res, rej) => { result = res; failed = rej; });
  const ready = new Promise<string>((res, rej) => {
    w.on('message', (m: { ready?: boolean; mode?: string; done?: boolean; result?: ReflectorResult }) => {
      if (m.ready) res(m.mode ?? '');
      if (m.done && m.result) result!(m.result);
    });
    w.once('error', (e) => { rej(e); failed!(e); });
    w.once('exit', (c) => { const e = new Error(`reflector worker exited with ${c}`); rej(e); failed!(e); });
  });
  const mode = await ready;
  return {
    mode,
    stop: async () => {
      Atomics.store(new Int32Array(control), 0, 1);
      const timer = setTimeout(() => void w.terminate(), 10_000);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'reflector') {
  await reflectorWorkerMain(workerData as ReflectorJob, (m) => parentPort!.postMessage(m));
}
