// The fault-injecting device (netmap-binding/fault.ts) over the in-memory pipe: with zero
// rates it passes the device contract untouched; with rates, what it does matches them
// over many frames, is the same for the same seed, and keeps the ownership contract (the
// pipe throws on a breach, both ends poison what comes back, and every frame is back once
// the clock has moved past every delay).

import test from 'ava';
import { createPipe, type PipeDevice } from '../../netmap-binding/pipe.js';
import { receiveFrames, sendFrames } from '../../netmap-binding/device-util.js';
import {
  FAULT_DROP, FAULT_DUPLICATE, FAULT_REORDER, FaultDevice, formatFaultSpec, parseFaultSpec, type FaultOptions,
} from '../../netmap-binding/fault.js';
import { deviceContract } from './helpers/contract.js';

deviceContract(test, 'fault device with zero rates', async () => {
  const [pa, pb] = createPipe({ frames: 512, ringSize: 128, poison: true }, { frames: 512, ringSize: 128, poison: true });
  const a = new FaultDevice(pa, { seed: 1 });
  const b = new FaultDevice(pb, { seed: 2, rx: { drop: 0, duplicate: 0, reorder: 0, delayMs: 0 } });
  return { a, b, aIp: '198.18.0.1', bIp: '198.18.0.2', port: 7777, txRing: 128, close: async () => { await a.close(); await b.close(); } };
});

/** A frame that says which it is: 14 bytes of Ethernet header, a 32-bit number, then bytes derived from it. */
function numbered(i: number, size = 64): Uint8Array {
  const f = new Uint8Array(size);
  f.set([2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 0x0b, 0x88, 0xb5]);
  new DataView(f.buffer).setUint32(14, i);
  for (let k = 18; k < size; k++) f[k] = (i * 7 + k) & 0xff;
  return f;
}

function idOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset).getUint32(14);
}

function intact(f: Uint8Array): boolean {
  const i = idOf(f);
  for (let k = 18; k < f.length; k++) if (f[k] !== ((i * 7 + k) & 0xff)) return false;
  return f.length === 64;
}

interface Run {
  ids: number[];
  fault: FaultDevice;
  pipeA: PipeDevice;
  pipeB: PipeDevice;
  now: { t: number };
}

/**
 * Sends `n` numbered frames through the fault device in direction `dir` (rx: the pipe's far
 * end sends, the fault device receives; tx: the fault device transmits), 32 a batch, the
 * clock 1 ms further each batch; then moves the clock past every delay and collects the rest.
 */
function pump(dir: 'rx' | 'tx', n: number, o: Omit<FaultOptions, 'now'>): Run {
  const [pipeA, pipeB] = createPipe({ frames: 2048, ringSize: 1024, poison: true }, { frames: 2048, ringSize: 1024, poison: true });
  const now = { t: 5000 };
  const fault = new FaultDevice(pipeA, { ...o, now: () => now.t });
  const ids: number[] = [];
  const collect = (): void => {
    for (const f of receiveFrames(dir === 'rx' ? fault : pipeB)) {
      if (!intact(f)) throw new Error(`frame ${idOf(f)} arrived damaged`);
      ids.push(idOf(f));
    }
    fault.flush();
  };
  for (let i = 0; i < n; i += 32) {
    const batch = Array.from({ length: Math.min(32, n - i) }, (_, k) => numbered(i + k));
    const went = sendFrames(dir === 'rx' ? pipeB : fault, batch);
    if (went !== batch.length) throw new Error(`only ${went} of ${batch.length} frames went at ${i}`);
    now.t += 1;
    collect();
  }
  for (let k = 0; k < 20 && fault.heldFrames > 0; k++) {
    now.t += 1000;
    fault.flush();
    collect();
  }
  return { ids, fault, pipeA, pipeB, now };
}

function within(t: { true: (v: boolean, m?: string) => void }, what: string, observed: number, n: number, p: number): void {
  // Five standard deviations of the binomial, plus one frame.
  const sd = Math.sqrt(n * p * (1 - p));
  t.true(Math.abs(observed - n * p) <= 5 * sd + 1, `${what}: ${observed} of ${n}, expected ${(n * p).toFixed(0)} ± ${(5 * sd).toFixed(0)}`);
}

function inversions(ids: number[]): number {
  let n = 0, max = -1;
  for (const i of ids) {
    if (i < max) n++;
    else max = i;
  }
  return n;
}

for (const dir of ['rx', 'tx'] as const) {
  test(`${dir}: the observed drop, duplicate and reorder rates match the asked ones over 20,000 frames`, (t) => {
    const n = 20_000;
    const rates = { drop: 0.1, duplicate: 0.05, reorder: 0.2 };
    const r = pump(dir, n, { seed: 11, [dir]: rates });
    const s = r.fault.faultStats()[dir];
    t.is(s.frames, n);
    within(t, 'dropped', s.dropped, n, rates.drop);
    within(t, 'duplicated', s.duplicated, s.frames - s.dropped, rates.duplicate);
    within(t, 'reordered', s.reordered, s.frames - s.dropped, rates.reorder);
    t.is(s.duplicateFailed, 0);
    // What came out is what the counters say: every survivor once, the duplicates twice.
    t.is(r.ids.length, n - s.dropped + s.duplicated);
    const counts = new Map<number, number>();
    for (const i of r.ids) counts.set(i, (counts.get(i) ?? 0) + 1);
    t.is(counts.size, n - s.dropped);
    t.is([...counts.values()].filter((c) => c === 2).length, s.duplicated);
    t.true([...counts.values()].every((c) => c <= 2));
    // Reordered frames really are overtaken (a reordered one held 10 ms, 32 frames a ms).
    t.true(inversions(r.ids) >= s.reordered * 0.9, `${inversions(r.ids)} frames out of order for ${s.reordered} reordered`);
    // The other direction was left alone.
    const other = r.fault.faultStats()[dir === 'rx' ? 'tx' : 'rx'];
    t.is(other.dropped + other.duplicated + other.reordered, 0);
    // Every frame back: nothing held, every frame of both ends free.
    t.is(r.fault.heldFrames, 0);
    t.is(r.pipeA.freeFrames, r.pipeA.frameCount);
    t.is(r.pipeB.freeFrames, r.pipeB.frameCount);
  });

  test(`${dir}: the same seed gives the same faults; another seed other faults`, (t) => {
    const o = { [dir]: { drop: 0.05, duplicate: 0.05, reorder: 0.1, delayMs: 3 } };
    const a = pump(dir, 3000, { seed: 42, ...o });
    const b = pump(dir, 3000, { seed: 42, ...o });
    const c = pump(dir, 3000, { seed: 43, ...o });
    t.deepEqual(a.ids, b.ids);
    t.deepEqual(a.fault.faultStats(), b.fault.faultStats());
    t.notDeepEqual(a.ids, c.ids);
  });

  test(`${dir}: a fixed delay holds every frame that long and keeps the order`, (t) => {
    const [pipeA, pipeB] = createPipe({ poison: true }, { poison: true });
    let now = 100;
    const fault = new FaultDevice(pipeA, { seed: 3, [dir]: { delayMs: 20 }, now: () => now });
    const frames = Array.from({ length: 10 }, (_, i) => numbered(i));
    // rx: the delay runs from when the fault device takes the frame (receive()); tx: from transmit().
    const out = (): Uint8Array[] => {
      fault.flush();
      return receiveFrames(dir === 'rx' ? fault : pipeB);
    };
    sendFrames(dir === 'rx' ? pipeB : fault, frames.slice(0, 5));
    t.deepEqual(out(), []);
    now = 110;
    sendFrames(dir === 'rx' ? pipeB : fault, frames.slice(5));
    t.deepEqual(out(), []);
    t.is(fault.heldFrames, 10);
    t.is(fault.nextDue(), 120);
    now = 119.9;
    t.deepEqual(out(), []);
    now = 120;
    t.deepEqual(out().map(idOf), [0, 1, 2, 3, 4]);
    now = 200;
    t.deepEqual(out().map(idOf), [5, 6, 7, 8, 9]);
    t.is(fault.faultStats()[dir].delayed, 10);
    t.is(pipeA.freeFrames, pipeA.frameCount);
  });
}

test('rx: a reordered frame is overtaken by the frames behind it, then arrives', (t) => {
  const [pipeA, pipeB] = createPipe({ poison: true }, { poison: true });
  let now = 0;
  const late: number[] = [];
  const watched = new FaultDevice(pipeA, {
    seed: 9, rx: { reorder: 0.5, reorderMs: 5 }, now: () => now,
    onFault: (f, rx, mem, addr) => { if (f === FAULT_REORDER && rx) late.push(new DataView(mem.buffer, mem.byteOffset).getUint32(addr + 14)); },
  });
  sendFrames(pipeB, Array.from({ length: 8 }, (_, i) => numbered(i)));
  const first = receiveFrames(watched).map(idOf);
  t.true(late.length > 0 && late.length < 8, `${late.length} reordered`);
  t.deepEqual(first, [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => !late.includes(i)));
  now = 5;
  t.deepEqual(receiveFrames(watched).map(idOf), late);
  t.is(pipeA.freeFrames, pipeA.frameCount);
});

test('the fault hook sees each dropped and duplicated frame with its bytes, before it goes back', (t) => {
  const [pipeA, pipeB] = createPipe({ poison: true }, { poison: true });
  const seen: Array<[number, boolean, number]> = [];
  const fault = new FaultDevice(pipeA, {
    seed: 5, rx: { drop: 0.3, duplicate: 0.3 }, tx: { drop: 0.3, duplicate: 0.3 }, now: () => 0,
    onFault: (f, rx, mem, addr, len) => {
      const copy = mem.slice(addr, addr + len);
      if (!intact(copy)) throw new Error('the hook saw a damaged frame');
      seen.push([f, rx, idOf(copy)]);
    },
  });
  sendFrames(pipeB, Array.from({ length: 200 }, (_, i) => numbered(i)));
  const got = receiveFrames(fault).map(idOf);
  sendFrames(fault, Array.from({ length: 200 }, (_, i) => numbered(1000 + i)));
  const sent = receiveFrames(pipeB).map(idOf);
  const s = fault.faultStats();
  t.is(seen.filter(([f, rx]) => f === FAULT_DROP && rx).length, s.rx.dropped);
  t.is(seen.filter(([f, rx]) => f === FAULT_DUPLICATE && rx).length, s.rx.duplicated);
  t.is(seen.filter(([f, rx]) => f === FAULT_DROP && !rx).length, s.tx.dropped);
  t.is(seen.filter(([f, rx]) => f === FAULT_DUPLICATE && !rx).length, s.tx.duplicated);
  for (const [f, rx, id] of seen) {
    const list = rx ? got : sent;
    if (f === FAULT_DROP) t.false(list.includes(id), `dropped ${id} arrived`);
    else t.is(list.filter((x) => x === id).length, 2, `duplicated ${id} did not arrive twice`);
  }
  t.is(pipeA.freeFrames, pipeA.frameCount);
});

test('tx: frames the inner TX ring cannot take stay held, in order, and go at the next flush()', (t) => {
  const [pipeA, pipeB] = createPipe({ ringSize: 16, poison: true }, { poison: true });
  let now = 0;
  const fault = new FaultDevice(pipeA, { seed: 1, tx: { delayMs: 1 }, now: () => now });
  sendFrames(fault, Array.from({ length: 40 }, (_, i) => numbered(i)));
  t.is(fault.heldFrames, 40);
  now = 1;
  const got: number[] = [];
  for (let k = 0; k < 5; k++) {
    fault.flush();
    got.push(...receiveFrames(pipeB).map(idOf));
  }
  t.deepEqual(got, Array.from({ length: 40 }, (_, i) => i));
  t.true(fault.faultStats().tx.deferred >= 2);
  t.is(pipeA.freeFrames, pipeA.frameCount);
});

test('rx: with the inner device out of frames a duplicate is not made (counted), the original still arrives', (t) => {
  const [pipeA, pipeB] = createPipe({ frames: 8, ringSize: 8, poison: true }, { poison: true });
  const fault = new FaultDevice(pipeA, { seed: 1, rx: { duplicate: 1 }, now: () => 0 });
  sendFrames(pipeB, Array.from({ length: 8 }, (_, i) => numbered(i)));
  const got = receiveFrames(fault).map(idOf);
  const s = fault.faultStats().rx;
  t.is(s.duplicated + s.duplicateFailed, 8);
  t.true(s.duplicateFailed > 0);
  t.is(got.length, 8 + s.duplicated);
  t.deepEqual([...new Set(got)].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.is(pipeA.freeFrames, pipeA.frameCount);
});

test('drop everything: nothing arrives either way, and every frame goes back', (t) => {
  const [pipeA, pipeB] = createPipe({ poison: true }, { poison: true });
  const fault = new FaultDevice(pipeA, { seed: 1, rx: { drop: 1 }, tx: { drop: 1 } });
  sendFrames(pipeB, Array.from({ length: 100 }, (_, i) => numbered(i)));
  t.deepEqual(receiveFrames(fault), []);
  t.is(sendFrames(fault, Array.from({ length: 100 }, (_, i) => numbered(i))), 100);
  t.deepEqual(receiveFrames(pipeB), []);
  t.is(fault.faultStats().rx.dropped, 100);
  t.is(fault.faultStats().tx.dropped, 100);
  t.is(pipeA.freeFrames, pipeA.frameCount);
});

test('wait() says a held frame is due; close() gives back every held frame', async (t) => {
  const [pipeA, pipeB] = createPipe({ poison: true }, { poison: true });
  let now = 0;
  const fault = new FaultDevice(pipeA, { seed: 1, rx: { delayMs: 10 }, tx: { delayMs: 10 }, now: () => now });
  sendFrames(pipeB, [numbered(1), numbered(2)]);
  t.deepEqual(receiveFrames(fault), []);
  t.false(fault.wait(0));
  t.is(fault.heldFrames, 2);
  now = 10;
  t.true(fault.wait(0));
  t.deepEqual(receiveFrames(fault).map(idOf), [1, 2]);
  sendFrames(pipeB, [numbered(3)]);
  t.deepEqual(receiveFrames(fault), []);
  sendFrames(fault, [numbered(4), numbered(5)]);
  t.is(fault.heldFrames, 3);
  await fault.close();
  t.is(pipeA.freeFrames, pipeA.frameCount);
  t.deepEqual(receiveFrames(pipeB), []);
});

test('the pipe\'s contract checks still apply through the fault device', (t) => {
  const [pipeA] = createPipe({ poison: true });
  const fault = new FaultDevice(pipeA, { seed: 1, tx: { delayMs: 5 }, now: () => 0 });
  const addrs = new Uint32Array(1);
  const lens = Uint32Array.of(64);
  fault.allocate(addrs, 1);
  t.is(fault.transmit(addrs, lens, 1), 1);
  // Held by the fault device, the frame is no longer the application's to give back.
  t.throws(() => fault.release(addrs, 1), { message: /gave up already/ });
  t.throws(() => fault.transmit(addrs, lens, 1), { message: /gave up already/ });
  addrs[0] = 12345;
  t.throws(() => fault.release(addrs, 1), { message: /never handed out/ });
});

test('options out of range are refused, naming the field', (t) => {
  const [pipeA] = createPipe();
  t.throws(() => new FaultDevice(pipeA, { seed: 1, rx: { drop: 1.5 } }), { message: /rx\.drop 1\.5 is not a rate in \[0, 1\]/ });
  t.throws(() => new FaultDevice(pipeA, { seed: 1, tx: { duplicate: -0.1 } }), { message: /tx\.duplicate -0\.1/ });
  t.throws(() => new FaultDevice(pipeA, { seed: 1, tx: { delayMs: NaN } }), { message: /tx\.delayMs NaN is not a delay/ });
  t.throws(() => new FaultDevice(pipeA, { seed: -1 }), { message: /seed -1/ });
  t.throws(() => new FaultDevice(pipeA, { seed: 1.5 }), { message: /seed 1\.5/ });
});

// ── The spec string ─────────────────────────────────────────────────────────────────────

test('spec: the example parses to both directions', (t) => {
  const s = parseFaultSpec('seed=7,drop=0.01,dup=0.01,reorder=0.05,delay=20,dir=both');
  const d = { drop: 0.01, duplicate: 0.01, reorder: 0.05, delayMs: 20, reorderMs: 10 };
  t.deepEqual(s, { seed: 7, rx: d, tx: d });
});

test('spec: defaults, percentages, ms suffixes, dir, per-direction keys, spaces and case', (t) => {
  const zero = { drop: 0, duplicate: 0, reorder: 0, delayMs: 0, reorderMs: 10 };
  t.deepEqual(parseFaultSpec('drop=5%'), { seed: 1, rx: { ...zero, drop: 0.05 }, tx: { ...zero, drop: 0.05 } });
  t.deepEqual(parseFaultSpec('seed=3, DROP=0.2, dir=rx'), { seed: 3, rx: { ...zero, drop: 0.2 }, tx: zero });
  t.deepEqual(parseFaultSpec('dir=tx,duplicate=1,delay=5ms,reorder-ms=2'), { seed: 1, rx: zero, tx: { ...zero, duplicate: 1, delayMs: 5, reorderMs: 2 } });
  // A direction's own key wins over the plain one, whichever comes first.
  t.deepEqual(parseFaultSpec('rx.drop=0.5,drop=0.1'), { seed: 1, rx: { ...zero, drop: 0.5 }, tx: { ...zero, drop: 0.1 } });
  t.deepEqual(parseFaultSpec('dir=rx,tx.delay=7'), { seed: 1, rx: zero, tx: { ...zero, delayMs: 7 } });
  t.deepEqual(parseFaultSpec('seed=4294967295,drop=1e-3'), { seed: 4294967295, rx: { ...zero, drop: 0.001 }, tx: { ...zero, drop: 0.001 } });
});

test('spec: formatFaultSpec writes what parseFaultSpec reads back', (t) => {
  for (const text of ['seed=7,drop=0.01,dup=0.01,reorder=0.05,delay=20', 'seed=9,rx.drop=0.2,tx.reorder=0.5,tx.reorder-ms=3', 'seed=1']) {
    const s = parseFaultSpec(text);
    t.deepEqual(parseFaultSpec(formatFaultSpec(s)), s);
  }
  t.is(formatFaultSpec(parseFaultSpec('seed=2,dir=rx,drop=0.1')), 'seed=2,rx.drop=0.1');
});

test('spec: mistakes are refused with the pair and what to do', (t) => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty; give KEY=VALUE pairs/],
    ['  ', /empty/],
    ['drop', /"drop" is not KEY=VALUE/],
    ['drop=', /drop has no value/],
    ['drop=0.1,,dup=0.1', /an empty item/],
    ['drop=0.1,', /an empty item/],
    ['loss=0.1', /unknown key "loss" \(keys: seed, drop, dup/],
    ['rx.seed=1', /unknown key "rx\.seed"/],
    ['drop=1.5', /drop=1\.5 is not a rate in \[0, 1\]/],
    ['drop=150%', /drop=150% is not a rate/],
    ['drop=-0.1', /drop=-0\.1 is not a rate/],
    ['drop=abc', /drop=abc is not a rate/],
    ['drop=0x1', /drop=0x1 is not a rate/],
    ['dup=0.1,duplicate=0.2', /duplicate is given twice/],
    ['drop=0.1,drop=0.2', /drop is given twice/],
    ['delay=-5', /delay=-5 is not a delay in \[0, 60000\] ms/],
    ['delay=100000', /delay=100000 is not a delay/],
    ['seed=-1', /seed=-1 is not an integer/],
    ['seed=1.5', /seed=1\.5 is not an integer/],
    ['seed=4294967296', /seed=4294967296 is not an integer/],
    ['dir=up', /dir=up: say both, rx or tx/],
  ];
  for (const [spec, message] of bad) {
    const e = t.throws(() => parseFaultSpec(spec), { message }, spec);
    t.is((e as Error & { code?: string })?.code, 'APPL_ERR_USAGE', spec);
    t.true(e?.message.startsWith(`fault spec "${spec}": `), spec);
  }
});
