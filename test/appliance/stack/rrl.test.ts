// Response rate limiting in the fused stack, over the in-memory pipe (no root): a stack
// built as a worker builds it (makeStack with the job's rrl options, a limiter of its own,
// its counters in the worker's stride at RRL_BASE), driven through the per-core loop body
// (BatchRunner) with the clock moved by the test.
//
//   - a flood of one query from one source in one second: NSD's arithmetic (399 whole, the
//     rest slipped or dropped one in two at random), every slipped answer the responder's
//     slip form with correct UDP/IP lengths and checksums (the invariant checker), dropped
//     frames give nothing back and are counted; IPv4 and IPv6 (prefixes /24 and /56);
//   - the fast path and the general path (the same flood behind a VLAN tag) decide alike,
//     to the byte and to the counter;
//   - time moving on lets answers through again, as NSD's rate decays;
//   - exempt prefixes; each worker its own limiter; RRL off.

import test, { type ExecutionContext } from 'ava';
import { createPipe, type PipeDevice } from '../../../netmap-binding/pipe.js';
import { receiveFrames, sendFrames } from '../../../netmap-binding/device-util.js';
import { BatchRunner, makeStack } from '../../../appliance/worker/serve-worker.js';
import { COUNTER_NAMES } from '../../../appliance/worker/supervisor.js';
import { COUNTER_STRIDE, DNS_ANSWERS, DNS_BASE, RRL_BASE, RX_FRAMES, TX_FRAMES } from '../../../appliance/stack/counters.js';
import { DnsResponder, TRANSPORT_UDP } from '../../../appliance/dns/responder.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { C_RRL_CHECKED, C_RRL_DROPPED, C_RRL_EXEMPT, C_RRL_SLIPPED, RRL_COUNTER_NAMES, type RrlOptions } from '../../../appliance/dns/rrl.js';
import { attachImage } from '../../../specializers/image/format.js';
import { encodeQuery, parseCorpusLine } from '../../helpers/dns.js';
import { emittedProblems, ip4, ip6, toHex, udp4Frame, udp6Frame, udpPayload, US4, US6, US_MAC } from '../../helpers/packets.js';
import { buildZonesImage, stackJob, type ZonesImage } from './helpers/rig.js';

let image: ZonesImage;
let tables: DnsTables;
test.before(async () => {
  image = await buildZonesImage();
  tables = new DnsTables(attachImage(image.file, image.shared));
});
test.after.always(() => image?.cleanup());

/** Fixed key and slip seed: two limiters built alike decide alike. */
const FIXED: RrlOptions = { key: [0x1234, 0x5678], seed: 7, size: 1 << 12 };
const CHUNK = 256;

/**
 * One worker's stack on one end of a pipe, its counters a stride of `all` (as the
 * supervisor lays them out), the test as the client on the other end.
 */
class Worker {
  readonly dev: PipeDevice;
  readonly client: PipeDevice;
  readonly runner: BatchRunner;
  readonly counters: Float64Array;
  /** The loop's clock (ms, fractional as performance.now()). */
  now = 1_000_000.25;

  constructor(rrl: RrlOptions | undefined, all: Float64Array = new Float64Array(COUNTER_STRIDE), queue = 0) {
    [this.dev, this.client] = createPipe({ poison: true, frames: 1024 }, { poison: true, frames: 1024 });
    this.counters = all.subarray(queue * COUNTER_STRIDE, (queue + 1) * COUNTER_STRIDE);
    const stack = makeStack({ ...stackJob(image), rrl }, this.dev, this.counters, this.now);
    this.runner = new BatchRunner(this.dev, stack);
  }

  /** Sends the frames (in chunks the rings hold), runs the loop, returns what came back. */
  exchange(frames: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < frames.length; i += CHUNK) {
      const chunk = frames.slice(i, i + CHUNK);
      if (sendFrames(this.client, chunk) !== chunk.length) throw new Error('the pipe took fewer frames than sent');
      while (this.runner.run(this.now) > 0);
      if (this.dev.frameCount !== this.dev.freeFrames) throw new Error('frames of the appliance\'s end were never given back');
      out.push(...receiveFrames(this.client));
    }
    return out;
  }

  rrl(i: number): number {
    return this.counters[RRL_BASE + i]!;
  }

  async close(): Promise<void> {
    await this.dev.close();
    await this.client.close();
  }
}

function worker(t: ExecutionContext, rrl: RrlOptions | undefined, all?: Float64Array, queue?: number): Worker {
  const w = new Worker(rrl, all, queue);
  t.teardown(() => w.close());
  return w;
}

const query = (line: string, id: number, edns = true): Uint8Array => {
  const q = encodeQuery(parseCorpusLine(line)!, { edns });
  q.writeUInt16BE(id, 0);
  return q;
};

interface Flood { requests: Uint8Array[]; queries: Uint8Array[] }

/** `n` copies of one query (IDs from `id0`), from `src` (IPv4 or IPv6), maybe behind a VLAN tag. */
function flood(line: string, n: number, src: Uint8Array, o: { vlan?: number[]; id0?: number; edns?: boolean } = {}): Flood {
  const queries = Array.from({ length: n }, (_, i) => query(line, (o.id0 ?? 0) + i, o.edns));
  const requests = queries.map((q) => (src.length === 4 ? udp4Frame(q, { src4: src, vlan: o.vlan }) : udp6Frame(q, { src6: src, vlan: o.vlan })));
  return { requests, queries };
}

interface Fates { whole: number; slipped: number; dropped: number; problems: string[]; byId: Map<number, Uint8Array> }

/**
 * What became of each query of the flood: a whole answer, a slipped one (TC=1, no records,
 * byte for byte the responder's slip()), or nothing; every reply through the invariant
 * checker against its own request.
 */
function fates(f: Flood, replies: Uint8Array[], v6: boolean): Fates {
  const byId = new Map<number, Uint8Array>();
  const problems: string[] = [];
  const reqById = new Map(f.queries.map((q, i) => [(q[0]! << 8) | q[1]!, { q, frame: f.requests[i]! }]));
  const ref = new DnsResponder(tables);
  let whole = 0, slipped = 0;
  for (const r of replies) {
    const dns = udpPayload(r);
    const id = (dns[0]! << 8) | dns[1]!;
    const req = reqById.get(id);
    if (!req || byId.has(id)) {
      problems.push(`a reply to no query of the flood, or a second one (ID ${id})`);
      continue;
    }
    byId.set(id, dns);
    problems.push(...emittedProblems(r, { ourMac: US_MAC, ours4: [US4], ours6: [US6], request: req.frame }).map((p) => `ID ${id}: ${p}`));
    const buf = new Uint8Array(1500);
    buf.set(req.q);
    const n = ref.answer(buf, 0, req.q.length, v6 ? 1500 - 48 : 1500 - 28, TRANSPORT_UDP, v6);
    const full = toHex(buf.subarray(0, n));
    if (toHex(dns) === full) {
      whole++;
      continue;
    }
    const cut = toHex(buf.subarray(0, ref.slip(buf, 0)));
    if (toHex(dns) !== cut) problems.push(`ID ${id}: neither the answer nor its slip form: ${toHex(dns)}`);
    else if ((dns[2]! & 0x02) === 0 || ((dns[6]! << 8) | dns[7]!) !== 0) problems.push(`ID ${id}: slipped without TC=1 and no records`);
    slipped++;
  }
  return { whole, slipped, dropped: f.queries.length - byId.size, problems, byId };
}

/** One in two of the limited slips, at random: within four standard deviations. */
function halfSlipped(t: ExecutionContext, x: Fates): void {
  const limited = x.slipped + x.dropped;
  const slack = Math.max(8, 4 * Math.sqrt(limited / 4));
  t.true(Math.abs(x.slipped - limited / 2) <= slack, `slipped ${x.slipped} of ${limited} limited`);
}

const CLIENT = ip4('198.18.0.1');
const WWW = 'www.example.com A';

test('IPv4 (the fast path): a flood of one query from one source in one second gets 399 whole answers, the rest slipped or dropped; slipped answers well-formed; counted', (t) => {
  const w = worker(t, { ...FIXED });
  const f = flood(WWW, 1000, CLIENT);
  const replies = w.exchange(f.requests);
  const x = fates(f, replies, false);
  t.log(`whole ${x.whole}, slipped ${x.slipped}, dropped ${x.dropped}`);
  t.deepEqual(x.problems.slice(0, 10), []);
  t.is(x.whole, 399, 'NSD\'s limit for a new bucket: 2 x 200 a second');
  t.is(x.whole + x.slipped + x.dropped, 1000);
  halfSlipped(t, x);
  // The first 399 went out whole, in order; then the limit held.
  for (let id = 0; id < 399; id++) t.true(x.byId.has(id) && (x.byId.get(id)![2]! & 0x02) === 0, `ID ${id} whole`);
  const c = w.counters;
  t.is(c[RX_FRAMES], 1000);
  t.is(c[TX_FRAMES], replies.length);
  t.is(c[DNS_ANSWERS], x.whole + x.slipped, 'dns_answers counts what went out');
  t.is(c[DNS_BASE + 1], 1000, 'the responder answered every query (dns_answered)');
  t.is(w.rrl(C_RRL_CHECKED), 1000);
  t.is(w.rrl(C_RRL_SLIPPED), x.slipped);
  t.is(w.rrl(C_RRL_DROPPED), x.dropped);
  t.is(w.rrl(C_RRL_EXEMPT), 0);
});

test('the fast path and the general path (the same flood behind a VLAN tag) decide alike: the same answers, byte for byte, and the same counters', (t) => {
  const a = worker(t, { ...FIXED });
  const b = worker(t, { ...FIXED });
  const fa = flood(WWW, 1000, CLIENT);
  const fb = flood(WWW, 1000, CLIENT, { vlan: [7] });
  const xa = fates(fa, a.exchange(fa.requests), false);
  const xb = fates(fb, b.exchange(fb.requests), false);
  t.deepEqual(xa.problems.slice(0, 10), []);
  t.deepEqual(xb.problems.slice(0, 10), []);
  t.is(xa.whole, 399);
  t.deepEqual([...xb.byId].map(([id, m]) => `${id} ${toHex(m)}`), [...xa.byId].map(([id, m]) => `${id} ${toHex(m)}`));
  t.deepEqual(Array.from(b.counters), Array.from(a.counters));
});

test('IPv6 (the general path): clients share buckets by /56, slipped answers well-formed', (t) => {
  const w = worker(t, { ...FIXED });
  const f1 = flood(WWW, 600, ip6('2001:db8::1'));
  const x1 = fates(f1, w.exchange(f1.requests), true);
  t.deepEqual(x1.problems.slice(0, 10), []);
  t.is(x1.whole, 399);
  halfSlipped(t, x1);
  t.true(x1.slipped > 0);
  // Another host of the same /56 (2001:db8:0:ff::/64): its bucket is the flood's, already limited.
  const f2 = flood(WWW, 100, ip6('2001:db8:0:ff::7'), { id0: 1000 });
  const x2 = fates(f2, w.exchange(f2.requests), true);
  t.deepEqual(x2.problems.slice(0, 10), []);
  t.is(x2.whole, 0);
  // The next /56 has buckets of its own.
  const f3 = flood(WWW, 100, ip6('2001:db8:0:100::7'), { id0: 2000 });
  t.is(fates(f3, w.exchange(f3.requests), true).whole, 100);
  t.is(w.rrl(C_RRL_CHECKED), 800);
  t.is(w.rrl(C_RRL_SLIPPED) + w.rrl(C_RRL_DROPPED), 201 + 100);
});

test('IPv4 clients share buckets by /24; each class of answer has its own (an NXDOMAIN flood does not stop positive answers)', (t) => {
  const w = worker(t, { ...FIXED });
  const nx = { requests: [] as Uint8Array[], queries: [] as Uint8Array[] };
  for (let i = 0; i < 500; i++) {
    const q = query(`nx${i}.example.com A`, i);
    nx.queries.push(q);
    nx.requests.push(udp4Frame(q, { src4: ip4('198.18.0.1') }));
  }
  t.is(fates(nx, w.exchange(nx.requests), false).whole, 399, 'NXDOMAIN is keyed by the zone: one bucket for every name');
  const same24 = flood('nx-other.example.com A', 10, ip4('198.18.0.200'), { id0: 1000 });
  t.is(fates(same24, w.exchange(same24.requests), false).whole, 0, 'another host of the /24 shares the limited bucket');
  const pos = flood(WWW, 10, ip4('198.18.0.200'), { id0: 2000 });
  t.is(fates(pos, w.exchange(pos.requests), false).whole, 10, 'positive answers are another bucket');
  const other24 = flood('nx-other.example.com A', 10, ip4('198.18.1.1'), { id0: 3000 });
  t.is(fates(other24, w.exchange(other24.requests), false).whole, 10, 'another /24 has buckets of its own');
});

test('time moving on lets answers through again, as NSD\'s rate decays (the clock in ms, RRL in seconds)', (t) => {
  const w = worker(t, { ...FIXED });
  const f = flood(WWW, 1000, CLIENT);
  t.is(fates(f, w.exchange(f.requests), false).whole, 399);
  // +1 s: the rate is last second's 1,000; +2 s: 500 (halved, plus 1); +3 s: 251, under 400.
  const probe = (id: number): boolean => {
    const p = flood(WWW, 1, CLIENT, { id0: id });
    const x = fates(p, w.exchange(p.requests), false);
    t.deepEqual(x.problems, []);
    return x.whole === 1;
  };
  w.now += 999.5; // 1,000,000.25 + 999.5 ms: still second 1000, the flood's
  t.false(probe(5000), 'the same second');
  w.now += 0.5; // second 1001
  t.false(probe(5001), 'one second on');
  w.now += 1000;
  t.false(probe(5002), 'two seconds on');
  w.now += 1000;
  t.true(probe(5003), 'three seconds on: the rate has decayed under the limit');
  // And from then on NSD's arithmetic again: whole answers while the count + 251/2 stays
  // under 400, up to a count of 274 in that second, the probe's included.
  const g = flood(WWW, 400, CLIENT, { id0: 6000 });
  t.is(fates(g, w.exchange(g.requests), false).whole, 273);
});

test('exempt prefixes (IPv4 and IPv6) are never limited and are counted; other prefixes still are', (t) => {
  const w = worker(t, { ...FIXED, exempt: ['198.18.0.0/24', '2001:db8::/48'] });
  const f4 = flood(WWW, 1000, CLIENT);
  const x4 = fates(f4, w.exchange(f4.requests), false);
  t.deepEqual(x4.problems.slice(0, 10), []);
  t.is(x4.whole, 1000);
  const f6 = flood(WWW, 1000, ip6('2001:db8::1'), { id0: 10_000 });
  t.is(fates(f6, w.exchange(f6.requests), true).whole, 1000);
  t.is(w.rrl(C_RRL_EXEMPT), 2000);
  t.is(w.rrl(C_RRL_DROPPED) + w.rrl(C_RRL_SLIPPED), 0);
  const other = flood(WWW, 1000, ip4('198.18.1.1'), { id0: 20_000 });
  t.is(fates(other, w.exchange(other.requests), false).whole, 399);
  const other6 = flood(WWW, 1000, ip6('2001:db8:1::1'), { id0: 30_000 });
  t.is(fates(other6, w.exchange(other6.requests), true).whole, 399);
});

test('each worker has its own limiter (shared-nothing), its counters in its own stride at RRL_BASE, named rrl_* by the supervisor', (t) => {
  const all = new Float64Array(2 * COUNTER_STRIDE);
  const w0 = worker(t, { ...FIXED }, all, 0);
  const w1 = worker(t, { ...FIXED }, all, 1);
  const f = flood(WWW, 600, CLIENT);
  t.is(fates(f, w0.exchange(f.requests), false).whole, 399);
  t.is(fates(f, w1.exchange(f.requests), false).whole, 399, 'the other worker\'s buckets are its own');
  for (const q of [0, 1]) {
    t.is(all[q * COUNTER_STRIDE + RRL_BASE + C_RRL_CHECKED], 600);
    t.is(all[q * COUNTER_STRIDE + RRL_BASE + C_RRL_SLIPPED]! + all[q * COUNTER_STRIDE + RRL_BASE + C_RRL_DROPPED]!, 201);
  }
  for (const n of RRL_COUNTER_NAMES) t.true(COUNTER_NAMES.includes(n), `${n} in appliance stats and /metrics`);
});

test('RRL off (a rate of 0, or no rrl options in the job): a flood is answered whole and nothing is counted', (t) => {
  for (const rrl of [{ ...FIXED, rate: 0 }, undefined]) {
    const w = worker(t, rrl);
    const f = flood(WWW, 1000, CLIENT);
    t.is(fates(f, w.exchange(f.requests), false).whole, 1000);
    t.is(w.rrl(C_RRL_CHECKED), 0);
  }
});

test('slip 1 slips every limited answer, slip 0 none; a lower rate limits sooner', (t) => {
  const w1 = worker(t, { ...FIXED, slip: 1, rate: 10 });
  const f = flood(WWW, 100, CLIENT);
  const x1 = fates(f, w1.exchange(f.requests), false);
  t.deepEqual(x1.problems.slice(0, 10), []);
  t.deepEqual([x1.whole, x1.slipped, x1.dropped], [19, 81, 0]);
  const w0 = worker(t, { ...FIXED, slip: 0, rate: 10 });
  const x0 = fates(f, w0.exchange(f.requests), false);
  t.deepEqual([x0.whole, x0.slipped, x0.dropped], [19, 0, 81]);
});
