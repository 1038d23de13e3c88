// A stack on one end of an in-memory pipe, driven through the real per-core loop body
// (runBatch), with the test acting as the client on the other end. No root, no network.
//
//   client (test)                         appliance
//   ┌────────────┐   sendFrames / inject  ┌────────────┐   runBatch: receive → Stack.handle
//   │ pipe end B │ ─────────────────────► │ pipe end A │   → transmit → release → flush
//   │            │ ◄───────────────────── │            │
//   └────────────┘   receiveFrames        └────────────┘
//
// Both ends poison frames they get back, so a write after transmit or a read of stale bytes
// shows. After every exchange the rig checks that end A has every frame back (each address
// the device handed out came back exactly once: the pipe throws on a second return, and a
// frame never returned would be missing from the free list).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPipe, type PipeDevice, type PipeEndOptions } from '../../../../netmap-binding/pipe.js';
import { receiveFrames, sendFrames } from '../../../../netmap-binding/device-util.js';
import { BatchRunner, makeServing, type Serving, type StackJob } from '../../../../appliance/worker/serve-worker.js';
import { COUNTER_STRIDE, DNS_BASE, RX_BATCHES, STACK_COUNTER_NAMES, TX_BATCHES } from '../../../../appliance/stack/counters.js';
import type { Stack } from '../../../../appliance/stack/stack.js';
import { CSUM_AUTO } from '../../../../appliance/wire/reasons.js';
import { DNS_COUNTER_NAMES, DnsResponder, TRANSPORT_UDP } from '../../../../appliance/dns/responder.js';
import { DnsTables } from '../../../../appliance/dns/tables.js';
import { attachImage, loadImage } from '../../../../specializers/image/format.js';
import { buildTestImage, FIXTURE_ZONES, tempDir } from '../../../helpers/fixtures.js';
import { emittedProblems, US4, US6, US_MAC } from '../../../helpers/packets.js';

export const ZONE_FILES = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));

export interface ZonesImage {
  file: string;
  shared: SharedArrayBuffer;
  cleanup(): void;
}

/** The image of every fixtures/zones/*.zone, built into a temporary directory. */
export async function buildZonesImage(): Promise<ZonesImage> {
  const tmp = tempDir('stack');
  const file = await buildTestImage(join(tmp.dir, 'zones.apl'), [], ZONE_FILES.map((f) => ({ origin: null, file: f })));
  return { file, shared: loadImage(file).shared, cleanup: tmp.cleanup };
}

/** The job a test stack runs (as the supervisor would give it), for the image's zones. */
export function stackJob(image: { file: string; shared: SharedArrayBuffer }, o: { checksums?: number; tcpConnections?: number; testIss?: number; idleTimeoutMs?: number; messageTimeoutMs?: number; headerTimeoutMs?: number } = {}): StackJob {
  return {
    file: image.file, image: image.shared, ipv4: ['198.18.0.10'], ipv6: ['2001:db8::10'], dnsPort: 53, checksums: o.checksums ?? CSUM_AUTO,
    tcpConnections: o.tcpConnections ?? 64, secret: Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8), idleTimeoutMs: o.idleTimeoutMs ?? 10_000,
    messageTimeoutMs: o.messageTimeoutMs ?? 5_000, testIss: o.testIss, httpPort: 80, headerTimeoutMs: o.headerTimeoutMs ?? 5_000,
  };
}

export interface RigOptions {
  /** Options of the appliance's end (A). */
  end?: PipeEndOptions;
  /** CSUM_AUTO (the default, as a user runs it), CSUM_STRICT or CSUM_OFF. */
  checksums?: number;
  tcpConnections?: number;
  testIss?: number;
  idleTimeoutMs?: number;
  messageTimeoutMs?: number;
  headerTimeoutMs?: number;
}

export class Rig {
  readonly dev: PipeDevice;
  readonly client: PipeDevice;
  readonly stack: Stack;
  /** The stack with its image switch (makeServing, as the worker builds it; makeStack is its `stack`). */
  readonly serving: Serving;
  readonly counters = new Float64Array(COUNTER_STRIDE);
  /** The socket-free path: a responder of its own over the same image. */
  readonly reference: DnsResponder;
  readonly runner: BatchRunner;
  /** The loop's clock (ms): tests move it (advance()), never sleep. */
  now = 1_000_000;

  constructor(readonly image: ZonesImage, o: RigOptions = {}) {
    [this.dev, this.client] = createPipe({ poison: true, ...o.end }, { poison: true });
    this.serving = makeServing(stackJob(image, o), this.dev, this.counters, this.now);
    this.stack = this.serving.stack;
    this.runner = new BatchRunner(this.dev, this.stack);
    this.reference = new DnsResponder(new DnsTables(attachImage(image.file, image.shared)));
  }

  /** Runs the loop body until the appliance's RX ring is empty; returns the batches run. */
  run(): number {
    let batches = 0;
    while (this.runner.run(this.now) > 0) batches++;
    const lost = this.dev.frameCount - this.dev.freeFrames;
    if (lost !== 0) throw new Error(`${lost} frames of the appliance's end were never given back`);
    return batches;
  }

  /** Sends frames from the client's end, runs the loop, returns what came back (in order). */
  exchange(frames: readonly Uint8Array[]): Uint8Array[] {
    const sent = sendFrames(this.client, frames);
    if (sent !== frames.length) throw new Error(`only ${sent} of ${frames.length} frames went out`);
    this.run();
    return receiveFrames(this.client);
  }

  /** One frame in, the replies out (none, or one). */
  ask(frame: Uint8Array): Uint8Array | undefined {
    const r = this.exchange([frame]);
    if (r.length > 1) throw new Error(`${r.length} replies to one frame`);
    return r[0];
  }

  /** Moves the clock on by `ms` and runs the loop (timers that came due fire). */
  advance(ms: number): number {
    this.now += ms;
    return this.run();
  }

  snapshot(): Float64Array {
    return Float64Array.from(this.counters);
  }

  /** Counters that moved since `before`, by name (the responder's as dns.NAME); the loop's batch counts are left out. */
  delta(before: Float64Array): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 1; i < COUNTER_STRIDE; i++) {
      if (i === RX_BATCHES || i === TX_BATCHES) continue;
      const d = this.counters[i]! - before[i]!;
      if (d === 0) continue;
      const name = i < DNS_BASE ? STACK_COUNTER_NAMES[i] : DNS_COUNTER_NAMES[i - DNS_BASE] !== undefined ? `dns.${DNS_COUNTER_NAMES[i - DNS_BASE]}` : undefined;
      out[name ?? `slot${i}`] = d;
    }
    return out;
  }

  /** The stack's counters only (no dns.*), as delta() names them. */
  stackDelta(before: Float64Array): Record<string, number> {
    return Object.fromEntries(Object.entries(this.delta(before)).filter(([k]) => !k.startsWith('dns.')));
  }

  /**
   * The responder's answer to a DNS payload without the stack: a copy in a buffer of the
   * room the stack gives it (the MTU less the IP and UDP headers), over UDP.
   */
  referenceAnswer(query: Uint8Array, v6: boolean): Uint8Array | null {
    const room = this.dev.mtu - (v6 ? 40 : 20) - 8;
    const buf = new Uint8Array(room);
    buf.set(query);
    const n = this.reference.answer(buf, 0, query.length, room, TRANSPORT_UDP, v6);
    return n < 0 ? null : buf.slice(0, n);
  }

  problems(f: Uint8Array, request?: Uint8Array): string[] {
    return emittedProblems(f, { ourMac: US_MAC, ours4: [US4], ours6: [US6], request });
  }

  async close(): Promise<void> {
    await this.dev.close();
    await this.client.close();
  }
}

/** Sum of the drop counters (every DROP_* slot). */
export function drops(c: Float64Array): number {
  let n = 0;
  for (let i = 1; i < STACK_COUNTER_NAMES.length; i++) if (STACK_COUNTER_NAMES[i]!.startsWith('drop_')) n += c[i]!;
  return n;
}
