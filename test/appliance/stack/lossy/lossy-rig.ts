// The stack on one end of the pipe, through the real loop body (BatchRunner), and a real
// TCP client (test/helpers/tcp-peer.ts) on the other, with a seeded fault injector
// (netmap-binding/fault.ts) around the appliance's end, the client's, or both:
//
//   PeerHost ─ [FaultDevice] ─ pipe B ═══ pipe A ─ [FaultDevice] ─ TapDevice ─ BatchRunner(Stack)
//   (the client)                                                   │ every frame the stack emits
//                                                                  └► the invariant checker
//
// Time is the rig's clock: step(ms) moves it on, then client and server take turns until
// nothing moves (bounded). After every step: the TCP's table invariants, every frame the
// appliance emitted (lost ones too: the tap sits above the fault device), and every frame of
// both pipe ends accounted for (free, held by a fault device, or waiting in an RX ring).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPipe, type PipeDevice } from '../../../../netmap-binding/pipe.js';
import { FaultDevice, FAULT_DROP, type FaultRates } from '../../../../netmap-binding/fault.js';
import { BatchRunner, makeStack } from '../../../../appliance/worker/serve-worker.js';
import { COUNTER_STRIDE, HANDLER_ERRORS, TCP_BASE } from '../../../../appliance/stack/counters.js';
import { TCP_COUNTER_NAMES } from '../../../../appliance/stack/tcp/counters.js';
import type { Stack } from '../../../../appliance/stack/stack.js';
import { DnsResponder, MAX_MESSAGE, TRANSPORT_TCP } from '../../../../appliance/dns/responder.js';
import { DnsTables } from '../../../../appliance/dns/tables.js';
import { attachImage, loadImage } from '../../../../specializers/image/format.js';
import { buildTestImage, tempDir } from '../../../helpers/fixtures.js';
import { emittedProblems, US4, US6, US_MAC } from '../../../helpers/packets.js';
import { PeerHost } from '../../../helpers/tcp-peer.js';
import { TapDevice } from '../../../helpers/tap-device.js';
import { stackJob, ZONE_FILES, type ZonesImage } from '../helpers/rig.js';

/** The fixture zones plus big.test, whose big.big.test TXT answer is about 60 KB (230 × 250 octets, as dns-cli.test.ts). */
export async function buildLossyImage(): Promise<ZonesImage> {
  const tmp = tempDir('lossy');
  const zone = join(tmp.dir, 'big.test.zone');
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m', '  IN NS ns1', 'ns1 IN A 198.18.0.1'];
  for (let i = 0; i < 230; i++) lines.push(`big IN TXT "${String(i).padStart(4, '0')}${'x'.repeat(246)}"`);
  writeFileSync(zone, lines.join('\n') + '\n');
  const file = await buildTestImage(join(tmp.dir, 'lossy.apl'), [], [...ZONE_FILES.map((f) => ({ origin: null, file: f })), { origin: null, file: zone }]);
  return { file, shared: loadImage(file).shared, cleanup: tmp.cleanup };
}

export interface Faults {
  rx?: FaultRates;
  tx?: FaultRates;
}

export interface LossyOptions {
  seed: number;
  /** Faults at the appliance's end: rx is what reaches the appliance, tx what it sends. */
  server?: Faults;
  /** Faults at the client's end: rx is what reaches the client, tx what it sends. */
  client?: Faults;
  /** The server's ISS for every connection (test only), e.g. just below 2^32. */
  testIss?: number;
  tcpConnections?: number;
  idleTimeoutMs?: number;
  messageTimeoutMs?: number;
  /** Keep a trace: every segment the client sends and gets, every fault, one line each (dns-tcp.test.ts: LOSSY_TRACE=DIR writes it). */
  trace?: boolean;
}

const MAX_PROBLEMS = 40;

export class LossyRig {
  /** The loop's clock (ms): step() moves it. */
  now = 1_000_000;
  readonly pipeA: PipeDevice;
  readonly pipeB: PipeDevice;
  readonly serverFault: FaultDevice | null;
  readonly clientFault: FaultDevice | null;
  readonly stack: Stack;
  readonly runner: BatchRunner;
  readonly counters = new Float64Array(COUNTER_STRIDE);
  readonly host: PeerHost;
  readonly reference: DnsResponder;
  readonly problems: string[] = [];
  /** Frames from the appliance that carried sequence space (SYN, data, FIN) and a fault device dropped. */
  serverSeqLost = 0;
  /** Frames the appliance emitted (before any fault). */
  emitted = 0;
  steps = 0;
  readonly trace: string[] = [];

  constructor(readonly image: ZonesImage, readonly o: LossyOptions) {
    [this.pipeA, this.pipeB] = createPipe({ poison: true }, { poison: true });
    const clock = (): number => this.now;
    const onFault = (fault: number, _rx: boolean, mem: Uint8Array, addr: number, len: number): void => {
      if (fault === FAULT_DROP && carriesServerSeq(mem, addr, len)) this.serverSeqLost++;
      if (o.trace) this.trace.push(`t=${this.now - 1_000_000} ${['✗ drop', '⧉ dup', '↷ reorder'][fault]} ${describeFrame(mem, addr, len)}`);
    };
    this.serverFault = o.server ? new FaultDevice(this.pipeA, { seed: o.seed, ...o.server, now: clock, onFault }) : null;
    this.clientFault = o.client ? new FaultDevice(this.pipeB, { seed: (o.seed + 0x9e3779b9) >>> 0, ...o.client, now: clock, onFault }) : null;
    const tap = new TapDevice(this.serverFault ?? this.pipeA, (mem, addr, len) => this.emittedFrame(mem, addr, len));
    this.stack = makeStack(stackJob(image, {
      tcpConnections: o.tcpConnections ?? 64, testIss: o.testIss, idleTimeoutMs: o.idleTimeoutMs, messageTimeoutMs: o.messageTimeoutMs,
    }), this.pipeA, this.counters, this.now);
    this.runner = new BatchRunner(tap, this.stack, (e) => this.problem(`the stack threw: ${(e as Error).stack ?? String(e)}`));
    this.host = new PeerHost(this.clientFault ?? this.pipeB, { now: clock, trace: o.trace ? (l) => this.trace.push(`t=${this.now - 1_000_000} ${l}`) : undefined });
    this.reference = new DnsResponder(new DnsTables(attachImage(image.file, image.shared)));
  }

  get tcp() {
    return this.stack.tcp!;
  }

  /** A TCP counter by its name (appliance/stack/tcp/counters.ts). */
  tcpCounter(name: string): number {
    const i = TCP_COUNTER_NAMES.indexOf(name);
    if (i < 0) throw new Error(`no TCP counter ${name}`);
    return this.counters[TCP_BASE + i]!;
  }

  /** TCP's counters that are not zero, by name. */
  tcpCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    TCP_COUNTER_NAMES.forEach((n, i) => {
      const v = this.counters[TCP_BASE + i]!;
      if (v !== 0) out[n] = v;
    });
    return out;
  }

  /** The responder's answer over TCP to a DNS message, without the stack (what the stream must carry). */
  referenceAnswer(query: Uint8Array, v6: boolean): Uint8Array | null {
    const buf = new Uint8Array(MAX_MESSAGE + 2);
    buf.set(query, 2);
    const n = this.reference.answer(buf, 2, query.length, MAX_MESSAGE, TRANSPORT_TCP, v6);
    return n < 0 ? null : buf.slice(2, 2 + n);
  }

  problem(p: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(`t=${this.now - 1_000_000} ms: ${p}`);
  }

  private emittedFrame(mem: Uint8Array, addr: number, len: number): void {
    this.emitted++;
    const f = mem.slice(addr, addr + len);
    for (const p of emittedProblems(f, { ourMac: US_MAC, ours4: [US4], ours6: [US6] })) this.problem(`emitted frame: ${p}`);
  }

  /** The loop body until the appliance has nothing to do at this time (bounded). */
  private runServer(): number {
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      const got = this.runner.run(this.now);
      n += got;
      if (got === 0) break;
    }
    return n;
  }

  /** Client and server take turns at this time until nothing moves (bounded). */
  settle(): void {
    for (let round = 0; round < 200; round++) {
      const before = this.emitted;
      const a = this.host.poll();
      const b = this.runServer();
      // Quiet when neither side moved a frame and none waits in either RX ring (a fault
      // device's held frame is let go at a flush(), after the stack counted what it sent).
      if (a === 0 && b === 0 && this.emitted === before && this.pipeA.rxAvailable() === 0 && this.pipeB.rxAvailable() === 0) return;
    }
    this.problem('client and server never settled (200 rounds at one time)');
  }

  /** Moves the clock on by `ms`, settles, and checks everything. */
  step(ms = 20): void {
    this.now += ms;
    this.steps++;
    this.settle();
    this.check();
  }

  /** Steps until `done()` or `maxSteps`; true if done. */
  runUntil(done: () => boolean, maxSteps: number, ms = 20): boolean {
    for (let i = 0; i < maxSteps; i++) {
      if (done()) return true;
      this.step(ms);
    }
    return done();
  }

  check(): void {
    for (const p of this.tcp.checkInvariants()) this.problem(`TCP table: ${p}`);
    account(this, this.pipeA, this.serverFault, 'appliance');
    account(this, this.pipeB, this.clientFault, 'client');
    if (this.counters[HANDLER_ERRORS]! > 0) this.problem(`${this.counters[HANDLER_ERRORS]} handler errors`);
    for (const p of this.host.problems.splice(0)) this.problem(`client host: ${p}`);
    for (const peer of this.host.peers) for (const p of peer.problems.splice(0)) this.problem(`client ${peer.port}: ${p}`);
  }

  /** Moves time on until no fault device holds a frame, then checks that every frame of both ends is free. */
  drain(): void {
    for (let i = 0; i < 100 && ((this.serverFault?.heldFrames ?? 0) > 0 || (this.clientFault?.heldFrames ?? 0) > 0); i++) this.step(50);
    for (const [dev, name] of [[this.pipeA, 'appliance'], [this.pipeB, 'client']] as const) {
      if (dev.freeFrames !== dev.frameCount) this.problem(`${name}'s end: ${dev.frameCount - dev.freeFrames} frames not back at the end`);
    }
  }

  async close(): Promise<void> {
    await (this.serverFault ?? this.pipeA).close();
    await (this.clientFault ?? this.pipeB).close();
  }
}

/** Every frame of a pipe end is free, held by its fault device, or waiting in its RX ring. */
function account(r: LossyRig, pipe: PipeDevice, fault: FaultDevice | null, name: string): void {
  const held = fault?.heldFrames ?? 0;
  const n = pipe.freeFrames + held + pipe.rxAvailable();
  if (n !== pipe.frameCount) r.problem(`${name}'s end: ${pipe.frameCount - n} frames unaccounted for (free ${pipe.freeFrames}, held ${held}, waiting ${pipe.rxAvailable()})`);
}

/** Is the frame at mem[addr..] a TCP segment from the appliance that takes sequence space (SYN, FIN, data)? */
function carriesServerSeq(mem: Uint8Array, addr: number, len: number): boolean {
  for (let i = 0; i < 6; i++) if (mem[addr + 6 + i] !== US_MAC[i]) return false;
  const type = (mem[addr + 12]! << 8) | mem[addr + 13]!;
  let l4: number, end: number;
  if (type === 0x0800 && mem[addr + 23] === 6) {
    l4 = addr + 14 + (mem[addr + 14]! & 0x0f) * 4;
    end = addr + 14 + ((mem[addr + 16]! << 8) | mem[addr + 17]!);
  } else if (type === 0x86dd && mem[addr + 20] === 6) {
    l4 = addr + 54;
    end = l4 + ((mem[addr + 18]! << 8) | mem[addr + 19]!);
  } else {
    return false;
  }
  if (end > addr + len) return false;
  const hl = (mem[l4 + 12]! >> 4) * 4;
  const flags = mem[l4 + 13]!;
  return (flags & 0x03) !== 0 || end - l4 > hl;
}

/** A one-line summary of a TCP frame at mem[addr..] (for traces): who sent it, flags, absolute seq/ack, payload length. */
function describeFrame(mem: Uint8Array, addr: number, len: number): string {
  const fromUs = US_MAC.every((b, i) => mem[addr + 6 + i] === b);
  const type = (mem[addr + 12]! << 8) | mem[addr + 13]!;
  const l4 = type === 0x0800 ? addr + 14 + (mem[addr + 14]! & 0x0f) * 4 : addr + 54;
  const end = type === 0x0800 ? addr + 14 + ((mem[addr + 16]! << 8) | mem[addr + 17]!) : l4 + ((mem[addr + 18]! << 8) | mem[addr + 19]!);
  if (end > addr + len || l4 + 20 > end) return `${fromUs ? 'server' : 'client'} frame of ${len} bytes`;
  const u32 = (o: number): number => ((mem[o]! << 24) | (mem[o + 1]! << 16) | (mem[o + 2]! << 8) | mem[o + 3]!) >>> 0;
  const flags = mem[l4 + 13]!;
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => flags & (1 << i)).join('|');
  const port = fromUs ? (mem[l4 + 2]! << 8) | mem[l4 + 3]! : (mem[l4]! << 8) | mem[l4 + 1]!;
  return `${fromUs ? 'server→' : 'client→'}${port} ${names} seq=${u32(l4 + 4)} ack=${u32(l4 + 8)} len=${end - l4 - (mem[l4 + 12]! >> 4) * 4}`;
}
