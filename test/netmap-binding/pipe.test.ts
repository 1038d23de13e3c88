import test from 'ava';
import { createPipe } from '../../netmap-binding/pipe.js';
import { receiveFrames, sendFrames } from '../../netmap-binding/device-util.js';
import { deviceContract, frameTo } from './helpers/contract.js';

deviceContract(test, 'pipe', async () => {
  const [a, b] = createPipe({ frames: 512, ringSize: 128, poison: true }, { frames: 512, ringSize: 128, poison: true });
  return { a, b, aIp: '198.18.0.1', bIp: '198.18.0.2', port: 7777, txRing: 128, close: async () => { await a.close(); await b.close(); } };
});

test('pipe: giving a frame back twice, or one never handed out, throws', (t) => {
  const [a] = createPipe();
  const addrs = new Uint32Array(2);
  const lens = Uint32Array.of(60, 60);
  t.is(a.allocate(addrs, 1), 1);
  a.release(addrs, 1);
  t.throws(() => a.release(addrs, 1), { message: /does not own/ });
  addrs[0] = 12345;
  t.throws(() => a.transmit(addrs, lens, 1), { message: /never handed out/ });
});

test('pipe: a transmitted frame is poisoned once sent, and lengths are checked', (t) => {
  const [a, b] = createPipe({ poison: true });
  const addrs = new Uint32Array(1);
  const lens = new Uint32Array(1);
  a.allocate(addrs, 1);
  const f = frameTo(a, b, '198.18.0.1', '198.18.0.2', 7777, 0, 60);
  a.mem.set(f, addrs[0]!);
  lens[0] = f.length;
  a.transmit(addrs, lens, 1);
  a.flush();
  t.is(a.mem[addrs[0]!], 0xee);
  t.deepEqual(receiveFrames(b), [f]);
  a.allocate(addrs, 1);
  lens[0] = a.maxFrameLen + 1;
  t.throws(() => a.transmit(addrs, lens, 1), { message: /transmit of/ });
});

test('pipe: nothing crosses before flush(); a full RX ring drops and counts', (t) => {
  const [a, b] = createPipe({}, { ringSize: 4 });
  const f = frameTo(a, b, '198.18.0.1', '198.18.0.2', 7777, 0, 60);
  const addrs = new Uint32Array(8);
  const lens = new Uint32Array(8).fill(f.length);
  a.allocate(addrs, 8);
  for (let i = 0; i < 8; i++) a.mem.set(f, addrs[i]!);
  a.transmit(addrs, lens, 8);
  t.is(b.rxAvailable(), 0);
  a.flush();
  t.is(b.rxAvailable(), 4);
  t.is(b.stats().rxRingFull, 4);
  t.is(a.freeFrames, a.frameCount);
});

test('pipe: inject() puts outside frames on the receive side', (t) => {
  const [a, b] = createPipe();
  const f = frameTo(b, a, '198.18.0.2', '198.18.0.1', 7777, 3, 33);
  t.true(a.inject(f));
  t.deepEqual(receiveFrames(a), [f]);
  t.is(sendFrames(b, [f]), 1);
  t.deepEqual(receiveFrames(a), [f]);
});
