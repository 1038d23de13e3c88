// Fuzzing the fused stack (fast-check, seeded, bounded in runs and time): random frames
// and mutations of a corpus of valid ones (bit flips, byte changes, truncations, growth,
// splices, length and count fields rewritten, checksums optionally repaired so that the
// damage reaches the deeper layers) never throw, never read a byte that neither arrived
// nor was written, never write outside the frame, and every frame sent passes the
// invariant checker. The counters add up (rx = tx + drops), the pipe gets every frame back
// exactly once (runBatch, the real loop body), and afterwards the worker still answers
// valid queries byte for byte as the socket-free responder does.

import test from 'ava';
import fc from 'fast-check';
import { receiveFrames } from '../../../netmap-binding/device-util.js';
import { makeStack } from '../../../appliance/worker/serve-worker.js';
import { EthernetView } from '../../../appliance/wire/ethernet.js';
import { COUNTER_STRIDE, DNS_BASE, RX_FRAMES, TX_FRAMES, TX_RING_FULL } from '../../../appliance/stack/counters.js';
import { encodeQuery, loadCorpus, parseCorpusLine } from '../../helpers/dns.js';
import {
  ALL_NODES_MAC, arpRequestFrame, be16, CLIENT4, concat, echo4Frame, echo6Frame, equalBytes, ETH_ARP, ETH_IPV4, ETH_IPV6, ethernet,
  ipv4, layers, nsFrame, pingData, put16, refChecksum, pseudo4, pseudo6, toHex, udp, udp4Frame, udp6Frame, udpPayload, UNSPECIFIED6, US4, US6, US_MAC,
} from '../../helpers/packets.js';
import { buildZonesImage, drops, Rig, stackJob, type ZonesImage } from './helpers/rig.js';

// Seeded and bounded by default; FUZZ_SEED and FUZZ_SCALE (a multiplier of the run counts
// and time limits) explore further by hand, e.g. FUZZ_SCALE=50 for a long run.
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x5eed_0fa2;
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
/** Each property stops after this long even if its runs are not all done (a safety net for slow machines). */
const TIME_LIMIT_MS = 2500 * SCALE;
const runs = (n: number): number => Math.round(n * SCALE);

let image: ZonesImage;
test.before(async () => {
  image = await buildZonesImage();
});
test.after.always(() => image?.cleanup());

// ── The corpus ──────────────────────────────────────────────────────────────────────────

const q = (line: string, edns = false): Uint8Array => encodeQuery(parseCorpusLine(line)!, { edns, id: 0x2a2a });
const DNS_LINES = ['www.example.com A', 'ExAmPlE.cOm MX', 'alias.example.com A', 'x.dname.example.net A', 'foo.wild.example.com TXT', 'nope.example.com AAAA', 'partner.example.com A', 'many.example.org A', 'example.com ANY'];

function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [
    arpRequestFrame(), concat(arpRequestFrame(), new Uint8Array(18)), nsFrame(US6), nsFrame(US6, { src6: UNSPECIFIED6 }),
    echo4Frame(1, 2, pingData()), echo6Frame(3, 4, pingData(13)), arpRequestFrame({ vlan: [7] }), nsFrame(US6, { vlan: [7] }),
    ethernet(ETH_IPV4, ipv4(17, udp(CLIENT4, US4, 1000, 53, q('www.example.com A'), 0))),
  ];
  for (const line of DNS_LINES) {
    for (const edns of [false, true]) {
      out.push(udp4Frame(q(line, edns)), udp6Frame(q(line, edns)));
    }
  }
  out.push(udp4Frame(q('www.example.com A'), { vlan: [0x0fff] }), udp6Frame(q('old.example.com A', true), { vlan: [1] }));
  return out;
}
const CORPUS = corpus();

// ── Mutations ───────────────────────────────────────────────────────────────────────────

type Mutation =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'byte'; at: number; v: number }
  | { k: 'cut'; at: number }
  | { k: 'grow'; bytes: Uint8Array }
  | { k: 'splice'; at: number; bytes: Uint8Array }
  | { k: 'field'; which: number; v: number; rel: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('byte' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('grow' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ k: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({
    k: fc.constant('field' as const), which: fc.nat(),
    v: fc.oneof(fc.constantFrom(0, 1, 4, 7, 8, 11, 12, 19, 20, 23, 24, 39, 40, 63, 64, 192, 255, 256, 1500, 0xffff), fc.integer({ min: 0, max: 0xffff })),
    rel: fc.boolean(),
  }),
);

/** Offsets and widths of the fields that steer parsing: types, lengths, counts, versions. */
function fields(f: Uint8Array): Array<[number, 1 | 2]> {
  const out: Array<[number, 1 | 2]> = [[12, 2]];
  if (f.length < 18) return out;
  const { l3, type } = layers(f);
  if (l3 === 18) out.push([16, 2]);
  const dns = (l4: number): void => {
    out.push([l4 + 2, 2], [l4 + 4, 2]);
    for (const k of [2, 4, 6, 8, 10]) out.push([l4 + 8 + k, 2]);
    out.push([l4 + 20, 1], [l4 + 24, 1]); // label lengths of the question name
  };
  if (type === ETH_ARP) out.push([l3 + 4, 1], [l3 + 5, 1], [l3 + 6, 2]);
  if (type === ETH_IPV4) {
    out.push([l3, 1], [l3 + 2, 2], [l3 + 6, 2], [l3 + 9, 1]);
    if (f[l3 + 9] === 17) dns(l3 + 20);
  }
  if (type === ETH_IPV6) {
    out.push([l3 + 4, 2], [l3 + 6, 1], [l3 + 7, 1]);
    if (f[l3 + 6] === 17) dns(l3 + 40);
    if (f[l3 + 6] === 58) out.push([l3 + 40, 1], [l3 + 41, 1], [l3 + 64, 1], [l3 + 65, 1]);
  }
  return out.filter(([at, w]) => at + w <= f.length);
}

function applyMutation(f: Uint8Array, m: Mutation): Uint8Array {
  const n = f.length;
  switch (m.k) {
    case 'flip': {
      if (n === 0) return f;
      const c = Uint8Array.from(f);
      c[m.at % n] ^= 1 << m.bit;
      return c;
    }
    case 'byte': {
      if (n === 0) return f;
      const c = Uint8Array.from(f);
      c[m.at % n] = m.v;
      return c;
    }
    case 'cut':
      return f.slice(0, m.at % (n + 1));
    case 'grow':
      return concat(f, m.bytes);
    case 'splice': {
      const at = m.at % (n + 1);
      return concat(f.subarray(0, at), m.bytes, f.subarray(at));
    }
    case 'field': {
      const fs = fields(f);
      if (fs.length === 0) return f;
      const [at, w] = fs[m.which % fs.length]!;
      const c = Uint8Array.from(f);
      const old = w === 2 ? be16(c, at) : c[at]!;
      const v = m.rel ? old + (m.v % 7) - 3 : m.v;
      if (w === 2) put16(c, at, v & 0xffff);
      else c[at] = v & 0xff;
      return c;
    }
  }
}

/**
 * Repairs the checksums the headers now call for, where the lengths allow it, so that a
 * mutation gets past the checksum checks to the layers behind them. Never throws.
 */
function repairSums(f: Uint8Array): Uint8Array {
  const c = Uint8Array.from(f);
  if (c.length < 18) return c;
  const { l3, type } = layers(c);
  if (type === ETH_IPV4 && c.length >= l3 + 20) {
    const ihl = (c[l3]! & 15) * 4;
    const total = be16(c, l3 + 2);
    if (ihl >= 20 && c.length >= l3 + ihl) {
      put16(c, l3 + 10, 0);
      put16(c, l3 + 10, refChecksum(c.subarray(l3, l3 + ihl)));
    }
    if (ihl < 20 || total < ihl || l3 + total > c.length) return c;
    const body = c.subarray(l3 + ihl, l3 + total);
    if (c[l3 + 9] === 17 && body.length >= 8) {
      const ulen = be16(body, 4);
      if (ulen >= 8 && ulen <= body.length) {
        put16(body, 6, 0);
        put16(body, 6, refChecksum(pseudo4(c.subarray(l3 + 12, l3 + 16), c.subarray(l3 + 16, l3 + 20), 17, ulen), body.subarray(0, ulen)) || 0xffff);
      }
    } else if (c[l3 + 9] === 1 && body.length >= 4) {
      put16(body, 2, 0);
      put16(body, 2, refChecksum(body));
    }
  } else if (type === ETH_IPV6 && c.length >= l3 + 40) {
    const plen = be16(c, l3 + 4);
    if (l3 + 40 + plen > c.length) return c;
    const body = c.subarray(l3 + 40, l3 + 40 + plen);
    const src = c.subarray(l3 + 8, l3 + 24), dst = c.subarray(l3 + 24, l3 + 40);
    if (c[l3 + 6] === 17 && body.length >= 8) {
      const ulen = be16(body, 4);
      if (ulen >= 8 && ulen <= body.length) {
        put16(body, 6, 0);
        put16(body, 6, refChecksum(pseudo6(src, dst, 17, ulen), body.subarray(0, ulen)) || 0xffff);
      }
    } else if (c[l3 + 6] === 58 && body.length >= 4) {
      put16(body, 2, 0);
      put16(body, 2, refChecksum(pseudo6(src, dst, 58, body.length), body));
    }
  }
  return c;
}

const mutated: fc.Arbitrary<Uint8Array> = fc
  .record({ base: fc.nat({ max: CORPUS.length - 1 }), muts: fc.array(mutation, { minLength: 1, maxLength: 4 }), repair: fc.boolean() })
  .map(({ base, muts, repair }) => {
    const f = muts.reduce(applyMutation, CORPUS[base]!);
    return repair ? repairSums(f) : f;
  });

/** Random bytes behind a real header prefix (Ethernet, or Ethernet and IP), checksums repaired. */
const randomTail: fc.Arbitrary<Uint8Array> = fc
  .record({ base: fc.nat({ max: CORPUS.length - 1 }), keep: fc.constantFrom(12, 14, 18, 34, 42, 54, 62), tail: fc.uint8Array({ maxLength: 120 }) })
  .map(({ base, keep, tail }) => repairSums(concat(CORPUS[base]!.subarray(0, keep), tail)));

const frame: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 2, arbitrary: randomTail },
  { weight: 6, arbitrary: mutated },
);

const MAX_FRAME = 1792; // the pipe's default maxFrameLen
const RUNS = { seed: SEED, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false };

// ── Properties ──────────────────────────────────────────────────────────────────────────

function report<T>(stats: fc.RunDetails<T>): string {
  return `${String(stats.errorInstance)}\n${fc.defaultReportMessage(stats) ?? ''}`;
}

function fail(why: string, f: Uint8Array): never {
  throw new Error(`${why}\n  frame: ${toHex(f)}`);
}

test.serial('one frame at a time through runBatch: no throw, one outcome, valid replies to the sender', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  let replies = 0;
  const stats = fc.check(fc.property(frame, (f) => {
    if (f.length > MAX_FRAME) return;
    const before = r.snapshot();
    if (!r.dev.inject(f)) fail('the pipe refused the frame', f);
    r.run();
    const out = receiveFrames(r.client);
    const rx = r.counters[RX_FRAMES]! - before[RX_FRAMES]!;
    const tx = r.counters[TX_FRAMES]! - before[TX_FRAMES]!;
    const dropped = drops(r.counters) - drops(before);
    if (rx !== 1 || tx + dropped !== 1 || out.length !== tx) fail(`rx ${rx}, tx ${tx}, drops ${dropped}, ${out.length} frames out`, f);
    for (const o of out) {
      const p = r.problems(o, f);
      if (p.length) fail(`reply: ${p.join('; ')}\n  reply: ${toHex(o)}`, f);
      replies++;
    }
  }), { ...RUNS, numRuns: runs(20000) });
  if (stats.failed) t.fail(report(stats));
  t.log(`${stats.numRuns} frames, ${replies} answered${stats.interrupted ? ' (stopped by the time limit)' : ''}`);
  t.true(stats.numRuns > 100);
  t.true(replies > 0, 'some mutations still deserve an answer');
});

test.serial('batches of up to 150 frames: the counters add up and every reply goes to one of the senders', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  const stats = fc.check(fc.property(fc.array(frame, { minLength: 1, maxLength: 150 }), (fs) => {
    const batch = fs.filter((f) => f.length <= MAX_FRAME);
    const before = r.snapshot();
    for (const f of batch) if (!r.dev.inject(f)) fail('the pipe refused a frame', f);
    r.run();
    const out = receiveFrames(r.client);
    const rx = r.counters[RX_FRAMES]! - before[RX_FRAMES]!;
    const tx = r.counters[TX_FRAMES]! - before[TX_FRAMES]!;
    const full = r.counters[TX_RING_FULL]! - before[TX_RING_FULL]!;
    const dropped = drops(r.counters) - drops(before);
    if (rx !== batch.length || rx !== tx + full + dropped || out.length !== tx) {
      throw new Error(`batch of ${batch.length}: rx ${rx}, tx ${tx}, ring full ${full}, drops ${dropped}, ${out.length} frames out`);
    }
    const senders = batch.filter((f) => f.length >= 12).map((f) => f.subarray(6, 12));
    for (const o of out) {
      const p = r.problems(o);
      if (!equalBytes(o.subarray(0, 6), ALL_NODES_MAC) && !senders.some((m) => equalBytes(m, o.subarray(0, 6)))) p.push('sent to a MAC no frame came from');
      if (p.length) throw new Error(`reply: ${p.join('; ')}\n  reply: ${toHex(o)}`);
    }
  }), { ...RUNS, numRuns: runs(500) });
  if (stats.failed) t.fail(report(stats));
  t.log(`${stats.numRuns} batches`);
  const c = r.counters;
  t.is(c[RX_FRAMES], c[TX_FRAMES]! + c[TX_RING_FULL]! + drops(c), 'over the whole run');
});

/**
 * A frame buffer that watches Stack.handle: a read of a byte that neither arrived
 * (off..off+len) nor was written earlier in this call, or a write outside off..off+cap, is
 * recorded. Typed-array methods the stack calls (copyWithin, set) are watched too.
 */
function watchedFrame(size: number, off: number, len: number, cap: number): { mem: Uint8Array; raw: Uint8Array; bad: string[] } {
  const raw = new Uint8Array(size).fill(0xee);
  const written = new Uint8Array(size);
  const bad: string[] = [];
  const read = (i: number): void => {
    if ((i < off || i >= off + len) && !written[i]) bad.push(`read of byte ${i - off} (${len} arrived)`);
  };
  const write = (i: number): void => {
    if (i < off || i >= off + cap) bad.push(`write of byte ${i - off} (room for ${cap})`);
    else written[i] = 1;
  };
  const index = (p: string | symbol): number => (typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : -1);
  const mem: Uint8Array = new Proxy(raw, {
    get(target, p) {
      const i = index(p);
      if (i >= 0) {
        read(i);
        return target[i];
      }
      if (p === 'copyWithin') {
        return (to: number, start: number, end: number) => {
          for (let k = start; k < end; k++) read(k);
          for (let k = start; k < end; k++) write(to + k - start);
          target.copyWithin(to, start, end);
          return mem;
        };
      }
      if (p === 'set') {
        return (src: ArrayLike<number>, at = 0) => {
          for (let k = 0; k < src.length; k++) write(at + k);
          target.set(src, at);
        };
      }
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    set(target, p, v) {
      const i = index(p);
      if (i >= 0) {
        write(i);
        target[i] = v as number;
        return true;
      }
      return Reflect.set(target, p, v, target);
    },
  });
  return { mem, raw, bad };
}

test('the watched frame flags reads past what arrived and writes past the room', (t) => {
  const w = watchedFrame(64, 8, 10, 20);
  new EthernetView().wrap(w.mem, 8, 14).check(); // claims 14 bytes where 10 arrived
  t.deepEqual(w.bad, ['read of byte 12 (10 arrived)', 'read of byte 13 (10 arrived)']);
  const v = watchedFrame(64, 8, 10, 20);
  v.mem[8 + 15] = 1;
  t.is(v.mem[8 + 15], 1);
  v.mem.copyWithin(8 + 18, 8, 8 + 4);
  v.mem.set([1, 2], 8 + 20);
  t.deepEqual(v.bad, ['write of byte 20 (room for 20)', 'write of byte 21 (room for 20)', 'write of byte 20 (room for 20)', 'write of byte 21 (room for 20)']);
});

test.serial('Stack.handle reads only bytes that arrived or that it wrote, and writes only inside the frame', (t) => {
  const counters = new Float64Array(COUNTER_STRIDE);
  const stack = makeStack(
    stackJob(image),
    { mac: US_MAC, mtu: 1500 }, counters,
  );
  const OFF = 256, CAP = 1792;
  let answered = 0;
  const stats = fc.check(fc.property(fc.oneof(frame, fc.constantFrom(...CORPUS)), (f) => {
    if (f.length > CAP) return;
    const w = watchedFrame(OFF + CAP + 256, OFF, f.length, CAP);
    w.raw.set(f, OFF);
    const n = stack.handle(w.mem, OFF, f.length, CAP);
    if (w.bad.length) fail(`${w.bad.slice(0, 4).join('; ')}${w.bad.length > 4 ? ` and ${w.bad.length - 4} more` : ''}`, f);
    if (n < 0 || n > CAP || !Number.isInteger(n)) fail(`handle returned ${n}`, f);
    if (n > 0) answered++;
  }), { ...RUNS, numRuns: runs(10000) });
  if (stats.failed) t.fail(report(stats));
  t.log(`${stats.numRuns} frames, ${answered} answered`);
  t.true(answered > 0);
  t.is(counters[RX_FRAMES], answered + drops(counters), 'every frame answered or dropped');
});

test.serial('after the fuzzing the worker still answers: DNS byte for byte, ARP, NDP, echo', (t) => {
  const r = new Rig(image);
  t.teardown(() => r.close());
  // Abuse first, through the same rig.
  fc.check(fc.property(fc.array(frame, { minLength: 1, maxLength: 64 }), (fs) => {
    for (const f of fs) if (f.length <= MAX_FRAME) r.dev.inject(f);
    r.run();
    receiveFrames(r.client);
  }), { ...RUNS, numRuns: 60 });
  const queries = loadCorpus().map((c, i) => encodeQuery(c, { id: i, edns: i % 2 === 0 }));
  for (const v6 of [false, true]) {
    const frames = queries.map((qq) => (v6 ? udp6Frame(qq) : udp4Frame(qq)));
    for (let at = 0; at < frames.length; at += 128) {
      const chunk = frames.slice(at, at + 128);
      const out = r.exchange(chunk);
      t.is(out.length, chunk.length);
      out.forEach((o, i) => {
        t.deepEqual(r.problems(o, chunk[i]), []);
        const want = r.referenceAnswer(queries[at + i]!, v6);
        if (!want || toHex(udpPayload(o)) !== toHex(want)) t.fail(`query ${at + i} over IPv${v6 ? 6 : 4}`);
      });
    }
  }
  const others = [arpRequestFrame(), nsFrame(US6), echo4Frame(9, 9, pingData()), echo6Frame(9, 9, pingData())];
  const out = r.exchange(others);
  t.is(out.length, others.length);
  out.forEach((o, i) => t.deepEqual(r.problems(o, others[i]), []));
  const c = r.counters;
  t.is(c[RX_FRAMES], c[TX_FRAMES]! + c[TX_RING_FULL]! + drops(c));
  t.true(c.subarray(DNS_BASE).some((x) => x > 0), 'the responder counted');
});
