// The device contract (netmap-binding/device.ts), as tests every backend must pass. A
// backend supplies a pair of devices that can reach each other: a pipe's two ends, or two
// AF_XDP sockets on the two ends of a veth pair, each behind its XDP program.

import type { ExecutionContext, TestFn } from 'ava';
import { setImmediate as tick } from 'node:timers/promises';
import { BATCH, TX_SHIFT_MAX, type Device } from '../../../netmap-binding/device.js';
import { receiveFrames, sendFrames } from '../../../netmap-binding/device-util.js';
import { answerInPlace, pattern, responder, udp4 } from './frames.js';

export interface Pair {
  a: Device;
  b: Device;
  aIp: string;
  bIp: string;
  /** A UDP port the receiving side's filter lets through. */
  port: number;
  /** Size of each device's TX ring (what one transmit() can take at most). */
  txRing: number;
  close(): Promise<void>;
}

/** Receives until `want` frames arrived or the time is up; copies them. */
export async function collect(dev: Device, want: number, timeoutMs = 3000): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const end = Date.now() + timeoutMs;
  while (out.length < want && Date.now() < end) {
    out.push(...receiveFrames(dev, want - out.length));
    if (out.length < want && !dev.wait(2)) await tick();
  }
  return out;
}

export function frameTo(from: Device, to: Device, fromIp: string, toIp: string, port: number, i: number, size: number): Uint8Array {
  // Both ports are the served one: a reply (ports swapped) must pass the other side's filter too.
  return udp4({ srcMac: from.mac, dstMac: to.mac, src: fromIp, dst: toIp, sport: port, dport: port, payload: pattern(size, i) });
}

export function deviceContract(test: TestFn, title: string, makePair: () => Promise<Pair>): void {
  const run = (name: string, fn: (p: Pair, t: ExecutionContext) => Promise<void>) =>
    test.serial(`${title}: ${name}`, async (t) => {
      const p = await makePair();
      t.teardown(() => p.close());
      await fn(p, t);
    });

  run('frames sent by one end arrive at the other intact and in order', async (p, t) => {
    const frames = Array.from({ length: 40 }, (_, i) => frameTo(p.b, p.a, p.bIp, p.aIp, p.port, i, 18 + i * 35));
    t.is(sendFrames(p.b, frames), frames.length);
    const got = await collect(p.a, frames.length);
    t.is(got.length, frames.length);
    got.forEach((g, i) => t.deepEqual(g, frames[i]));
  });

  run(`a frame started 1 to ${TX_SHIFT_MAX} bytes past its address (to align its payload) arrives intact, and its frame is reused`, async (p, t) => {
    const addrs = new Uint32Array(TX_SHIFT_MAX);
    const lens = new Uint32Array(TX_SHIFT_MAX);
    const frames: Uint8Array[] = [];
    t.is(p.b.allocate(addrs, TX_SHIFT_MAX), TX_SHIFT_MAX);
    for (let k = 0; k < TX_SHIFT_MAX; k++) {
      const f = frameTo(p.b, p.a, p.bIp, p.aIp, p.port, k, 1000 + k);
      frames.push(f);
      addrs[k] = addrs[k]! + k + 1;
      p.b.mem.set(f, addrs[k]!);
      lens[k] = f.length;
    }
    t.is(p.b.transmit(addrs, lens, TX_SHIFT_MAX), TX_SHIFT_MAX);
    p.b.flush();
    const got = await collect(p.a, TX_SHIFT_MAX);
    got.forEach((g, i) => t.deepEqual(g, frames[i]));
    t.is(got.length, TX_SHIFT_MAX);
    // The frames come back to the free pool whole: sending from each again works.
    await new Promise((r) => setTimeout(r, 20));
    p.b.flush();
    const again = Array.from({ length: Math.min(p.txRing, 2 * BATCH) }, (_, i) => frameTo(p.b, p.a, p.bIp, p.aIp, p.port, i, 60));
    t.is(sendFrames(p.b, again), again.length);
    t.is((await collect(p.a, again.length)).length, again.length);
  });

  run('a received frame rewritten in place goes back as the reply (zero copy)', async (p, t) => {
    const frames = Array.from({ length: 16 }, (_, i) => frameTo(p.b, p.a, p.bIp, p.aIp, p.port, i, 100 + i));
    sendFrames(p.b, frames);
    const r = responder(p.a.mac, p.aIp);
    const addrs = new Uint32Array(BATCH);
    const lens = new Uint32Array(BATCH);
    let answered = 0;
    const end = Date.now() + 3000;
    while (answered < frames.length && Date.now() < end) {
      const n = p.a.receive(addrs, lens, BATCH);
      for (let i = 0; i < n; i++) lens[i] = answerInPlace(r, p.a.mem, addrs[i]!, lens[i]!);
      const sent = p.a.transmit(addrs, lens, n);
      t.is(sent, n);
      p.a.flush();
      answered += n;
      if (n === 0 && !p.a.wait(2)) await tick();
    }
    t.is(answered, frames.length);
    const replies = await collect(p.b, frames.length);
    t.is(replies.length, frames.length);
    replies.forEach((f, i) => {
      t.deepEqual(f.subarray(0, 6), p.b.mac, 'to the asker');
      t.deepEqual([...f.subarray(26, 30)].join('.'), p.aIp, 'from the answerer');
      t.deepEqual(f.subarray(42), pattern(100 + i, i));
    });
  });

  run('allocate() gives distinct free frames with maxFrameLen bytes of room', async (p, t) => {
    const addrs = new Uint32Array(BATCH);
    const lens = new Uint32Array(BATCH);
    const n = p.a.allocate(addrs, 32);
    t.is(n, 32);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const addr = addrs[i]!;
      t.false(seen.has(addr));
      seen.add(addr);
      t.true(addr + p.a.maxFrameLen <= p.a.mem.length);
      const f = frameTo(p.a, p.b, p.aIp, p.bIp, p.port, i, 64 + i);
      p.a.mem.set(f, addr);
      lens[i] = f.length;
    }
    t.is(p.a.transmit(addrs, lens, n), n);
    p.a.flush();
    const got = await collect(p.b, n);
    t.is(got.length, n);
    got.forEach((g, i) => t.deepEqual(g, frameTo(p.a, p.b, p.aIp, p.bIp, p.port, i, 64 + i)));
  });

  run('frames recycle: three times more traffic than the device has frames', async (p, t) => {
    const total = 3 * p.a.frameCount;
    let sent = 0;
    let received = 0;
    const end = Date.now() + 15_000;
    while (received < total && Date.now() < end) {
      if (sent < total && sent - received < 64) {
        const batch = Array.from({ length: Math.min(32, total - sent) }, (_, i) => frameTo(p.b, p.a, p.bIp, p.aIp, p.port, (sent + i) & 0xff, 60));
        sent += sendFrames(p.b, batch);
      }
      const got = receiveFrames(p.a);
      received += got.length;
      if (got.length === 0 && !p.a.wait(1)) await tick();
    }
    t.is(received, total);
  });

  run('transmit() takes no more than the TX ring holds; the rest stay the caller\'s', async (p, t) => {
    const want = p.txRing + 16;
    const addrs = new Uint32Array(want);
    const lens = new Uint32Array(want);
    const n = p.a.allocate(addrs, want);
    t.is(n, want);
    for (let i = 0; i < n; i++) {
      const f = frameTo(p.a, p.b, p.aIp, p.bIp, p.port, i, 60);
      p.a.mem.set(f, addrs[i]!);
      lens[i] = f.length;
    }
    const took = p.a.transmit(addrs, lens, n);
    t.true(took <= p.txRing && took < n, `took ${took}`);
    p.a.release(addrs, n - took, took);
    p.a.flush();
    const got = await collect(p.b, took);
    t.is(got.length, took);
    // And the released frames are usable again.
    t.is(p.a.allocate(addrs, n - took), n - took);
    p.a.release(addrs, n - took);
  });

  run('stats count frames; wait() reports a waiting frame', async (p, t) => {
    const before = p.a.stats();
    sendFrames(p.b, [frameTo(p.b, p.a, p.bIp, p.aIp, p.port, 1, 60), frameTo(p.b, p.a, p.bIp, p.aIp, p.port, 2, 60)]);
    t.true(await waitFor(() => p.a.wait(50), 3000));
    const got = await collect(p.a, 2);
    t.is(got.length, 2);
    const after = p.a.stats();
    t.is(after.rxPackets - before.rxPackets, 2);
    t.true(p.b.stats().txPackets >= 2);
    t.false(p.a.wait(0));
  });
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await tick();
  }
  return cond();
}
