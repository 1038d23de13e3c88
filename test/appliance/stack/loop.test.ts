// The per-core loop body (runBatch in appliance/worker/serve-worker.ts) around the stack,
// on the pipe: bursts larger than a batch, an idle ring, and a TX ring that takes only part
// of a batch (a device wrapper that refuses the rest), where the answers not taken must be
// given back and counted, and every frame must come back to the device exactly once.

import test from 'ava';
import { BATCH, type Device, type DeviceStats } from '../../../netmap-binding/device.js';
import { receiveFrames, sendFrames } from '../../../netmap-binding/device-util.js';
import { BatchRunner } from '../../../appliance/worker/serve-worker.js';
import { HANDLER_ERRORS, RX_FRAMES, TX_FRAMES, TX_RING_FULL } from '../../../appliance/stack/counters.js';
import { encodeQuery, parseCorpusLine } from '../../helpers/dns.js';
import { arpRequestFrame, udp4Frame, udpPayload } from '../../helpers/packets.js';
import { buildZonesImage, drops, Rig, type ZonesImage } from './helpers/rig.js';

let image: ZonesImage;
test.before(async () => {
  image = await buildZonesImage();
});
test.after.always(() => image?.cleanup());

/** A device whose transmit() takes at most `room` frames per call, as a nearly full TX ring would. */
class TightTx implements Device {
  constructor(readonly inner: Device, public room: number) {}
  get kind() { return this.inner.kind; }
  get name() { return this.inner.name; }
  get queue() { return this.inner.queue; }
  get mac() { return this.inner.mac; }
  get mtu() { return this.inner.mtu; }
  get mode() { return this.inner.mode; }
  get mem() { return this.inner.mem; }
  get view() { return this.inner.view; }
  get frameSize() { return this.inner.frameSize; }
  get frameCount() { return this.inner.frameCount; }
  get maxFrameLen() { return this.inner.maxFrameLen; }
  receive(addrs: Uint32Array, lens: Uint32Array, max: number): number { return this.inner.receive(addrs, lens, max); }
  allocate(addrs: Uint32Array, max: number): number { return this.inner.allocate(addrs, max); }
  transmit(addrs: Uint32Array, lens: Uint32Array, count: number): number { return this.inner.transmit(addrs, lens, Math.min(count, this.room)); }
  release(addrs: Uint32Array, count: number, start?: number): void { this.inner.release(addrs, count, start); }
  flush(): void { this.inner.flush(); }
  wait(timeoutMs: number): boolean { return this.inner.wait(timeoutMs); }
  stats(out?: DeviceStats): DeviceStats { return this.inner.stats(out); }
  close(): Promise<void> { return this.inner.close(); }
}


test('an idle ring: a batch returns 0 and touches nothing', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  t.is(new BatchRunner(r.dev, r.stack).run(0), 0);
  t.is(r.counters[RX_FRAMES], 0);
  t.is(r.dev.freeFrames, r.dev.frameCount);
});

test('a burst of 300 queries goes through in batches of BATCH, answers in order', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  const frames = Array.from({ length: 300 }, (_, i) => udp4Frame(encodeQuery(parseCorpusLine('www.example.com A')!, { id: i }), { sport: 2000 + i }));
  for (const f of frames) t.true(r.dev.inject(f));
  t.is(r.run(), Math.ceil(300 / BATCH));
  const out = receiveFrames(r.client);
  t.is(out.length, 300);
  out.forEach((o, i) => {
    if (udpPayload(o)[1] !== (i & 0xff) || (o[36]! << 8 | o[37]!) !== 2000 + i) t.fail(`answer ${i} out of order`);
  });
  t.is(r.counters[TX_FRAMES], 300);
});

test('the read-ahead of a batch (forced on for the fixture zones, as it runs for a big zone) changes no reply and no counter', (t) => {
  const lines = ['www.example.com A', 'WWW.Example.COM AAAA', 'nope.example.com A', 'a.wild.example.com TXT', 'example.com MX',
    'sub.example.com NS', 'x.sub.example.com A', 'example.net SOA', 'www.example.org A', 'example.invalid A'];
  const frames = Array.from({ length: 300 }, (_, i) => udp4Frame(encodeQuery(parseCorpusLine(lines[i % lines.length]!)!, { id: i, edns: i % 3 === 0 }), { sport: 2000 + i }));
  const replies = (warm: boolean): { out: string[]; counters: number[] } => {
    const r = new Rig(image);
    t.teardown(() => r.close());
    r.stack.responder!.t.warmAbove = warm ? 0 : Infinity;
    for (const f of frames) t.true(r.dev.inject(f));
    r.run();
    return { out: receiveFrames(r.client).map((o) => Buffer.from(o).toString('hex')), counters: [...r.counters] };
  };
  const on = replies(true);
  t.is(on.out.length, 300);
  t.deepEqual(on, replies(false));
});

test('answers the TX ring does not take are given back and counted as tx_ring_full', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  const tight = new TightTx(r.dev, 10);
  const q = udp4Frame(encodeQuery(parseCorpusLine('www.example.com A')!));
  const frames = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? arpRequestFrame() : i % 4 === 1 ? new Uint8Array(8) : q));
  for (const f of frames) t.true(r.dev.inject(f));
  t.is(new BatchRunner(tight, r.stack).run(0), 40);
  t.is(r.dev.freeFrames, r.dev.frameCount, 'sent, refused and dropped frames all came back');
  const out = receiveFrames(r.client);
  t.is(out.length, 10);
  out.forEach((o, i) => t.deepEqual(r.problems(o), [], `reply ${i}`));
  const c = r.counters;
  t.is(c[TX_FRAMES], 10);
  t.is(c[TX_RING_FULL], 20, '30 answers, 10 taken');
  t.is(drops(c), 10);
  t.is(c[RX_FRAMES], c[TX_FRAMES]! + c[TX_RING_FULL]! + drops(c));
});

test('a TX ring with no room at all: every answer is given back, nothing leaks', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  const tight = new TightTx(r.dev, 0);
  for (let i = 0; i < 100; i++) r.dev.inject(arpRequestFrame());
  const runner = new BatchRunner(tight, r.stack);
  while (runner.run(0) > 0);
  t.is(r.dev.freeFrames, r.dev.frameCount);
  t.is(r.counters[TX_RING_FULL], 100);
  t.deepEqual(receiveFrames(r.client), []);
  tight.room = Infinity;
  r.dev.inject(arpRequestFrame());
  t.is(runner.run(0), 1);
  t.is(receiveFrames(r.client).length, 1, 'and the loop goes on once there is room');
});

test('a frame whose handler throws costs that frame only: counted, reported, and the rest of the batch is answered', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  const real = r.stack.handle.bind(r.stack);
  let n = 0;
  r.stack.handle = (mem, off, len, cap, now) => {
    if (n++ === 1) throw new Error('injected fault');
    return real(mem, off, len, cap, now);
  };
  const faults: unknown[] = [];
  const q = encodeQuery(parseCorpusLine('www.example.com A')!);
  const frames = [udp4Frame(q, { sport: 40001 }), udp4Frame(q, { sport: 40002 }), udp4Frame(q, { sport: 40003 })];
  sendFrames(r.client, frames);
  new BatchRunner(r.dev, r.stack, (e) => faults.push(e)).run(0);
  const replies = receiveFrames(r.client);
  t.is(replies.length, 2);
  t.is(faults.length, 1);
  t.is(r.counters[HANDLER_ERRORS], 1);
  t.is(r.dev.frameCount - r.dev.freeFrames, 0, 'every frame came back to the device');
});
