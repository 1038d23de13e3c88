// The DNS-over-TCP session (appliance/dns/stream.ts) alone, without sockets: however the
// bytes of a pipelined stream are cut into reads, and however often the sink says it is
// full, the answers are the same bytes in the same order as for the whole stream at once;
// deadlines follow the message's first byte; blocks are bounded and given back.

import test from 'ava';
import { join } from 'node:path';
import fc from 'fast-check';
import { DnsResponder, TRANSPORT_TCP, MAX_MESSAGE } from '../../../appliance/dns/responder.js';
import { DnsStreams, STREAM_CLOSE, STREAM_IDLE, STREAM_MESSAGE, S_BLOCKS_EXHAUSTED, type DnsStreamSink } from '../../../appliance/dns/stream.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { loadImage } from '../../../specializers/image/format.js';
import { buildTestImage, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { header, question } from '../../helpers/dns-wire.js';

const tmp = tempDir('stream');
let tables: DnsTables;

test.before(async () => {
  const image = await buildTestImage(join(tmp.dir, 'z.apl'), [], [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }]);
  tables = new DnsTables(loadImage(image));
});
test.after.always(() => tmp.cleanup());

const NAMES = ['www.example.com', 'example.com', 'nope.example.com', 'mail.example.com', 'a.b.c.example.com'];

function frame(q: Buffer): Buffer {
  return Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
}

function queries(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.concat([header({ id: i }), question(NAMES[i % NAMES.length]!, [1, 28, 15, 6, 16][i % 5]!)]));
}

/** The answers the responder gives each query alone. */
function expected(qs: Buffer[]): Buffer[] {
  const r = new DnsResponder(tables);
  return qs.map((q) => {
    const work = new Uint8Array(MAX_MESSAGE);
    work.set(q);
    const n = r.answer(work, 0, q.length, MAX_MESSAGE, TRANSPORT_TCP, false);
    return frame(Buffer.from(work.subarray(0, n)));
  });
}

class Sink implements DnsStreamSink {
  out: Buffer[] = [];
  constructor(private readonly full: () => boolean = () => false) {}
  send(_slot: number, buf: Uint8Array, off: number, len: number): boolean {
    this.out.push(Buffer.from(buf.subarray(off, off + len)));
    return !this.full();
  }
}

/** Feeds `bytes` cut at `cuts`, offering what is not consumed again (as a paused socket does after a drain). */
function feed(s: DnsStreams, slot: number, bytes: Buffer, cuts: number[], sink: Sink): void {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let held = Buffer.alloc(0);
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    held = Buffer.concat([held, bytes.subarray(prev, p)]);
    prev = p;
    for (let guard = 0; held.length > 0 && guard < 100_000; guard++) {
      const n = s.data(slot, held, 0, held.length, 0, sink);
      if (n === STREAM_CLOSE) return;
      held = held.subarray(n); // what is left was refused by a full sink: offered again (it drained)
    }
  }
}

test('a pipelined stream cut anywhere, with a sink that fills at random, gives the same answers in order', (t) => {
  const qs = queries(40);
  const want = Buffer.concat(expected(qs));
  const stream = Buffer.concat(qs.map(frame));
  fc.assert(fc.property(fc.array(fc.nat(), { maxLength: 60 }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.integer(), (cuts, pFull, seed) => {
    let x = seed | 1;
    const rand = (): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const s = new DnsStreams(new DnsResponder(tables), { capacity: 4, messageTimeoutMs: 1000, idleTimeoutMs: 5000 });
    s.open(2, 0, false);
    const sink = new Sink(() => rand() < pFull);
    feed(s, 2, stream, cuts, sink);
    return Buffer.concat(sink.out).equals(want) && s.phaseOf(2) === STREAM_IDLE;
  }), { numRuns: 400, seed: 4 });
  t.pass();
});

test('one byte at a time: every message answered; the message deadline is its first byte plus the timeout', (t) => {
  const qs = queries(3);
  const s = new DnsStreams(new DnsResponder(tables), { capacity: 2, messageTimeoutMs: 1000, idleTimeoutMs: 5000 });
  const sink = new Sink();
  s.open(0, 100, false);
  t.is(s.deadline(0), 5100);
  const bytes = Buffer.concat(qs.map(frame));
  for (let i = 0; i < bytes.length; i++) {
    t.is(s.data(0, bytes, i, 1, 200 + i, sink), 1);
    // Inside a message, the deadline stays where its first byte put it.
    if (s.phaseOf(0) === STREAM_MESSAGE && bytes[i - 1] !== undefined) t.true(s.deadline(0) <= 200 + i + 1000);
  }
  t.deepEqual(Buffer.concat(sink.out), Buffer.concat(expected(qs)));
});

test('a message longer than a small block moves to a large one; the pool of large blocks is bounded', (t) => {
  const s = new DnsStreams(new DnsResponder(tables), { capacity: 8, messageTimeoutMs: 1000, idleTimeoutMs: 5000, largeBlocks: 2 });
  const sink = new Sink();
  // A 2,000-byte query (a question, then padding the responder will call FORMERR or answer).
  const big = Buffer.concat([header({ id: 1, ar: 0 }), question('www.example.com', 1), Buffer.alloc(1980)]);
  const framed = frame(big);
  for (let slot = 0; slot < 3; slot++) {
    s.open(slot, 0, false);
    const n = s.data(slot, framed, 0, 600, 0, sink);
    if (slot < 2) t.is(n, 600);
    else t.is(n, STREAM_CLOSE); // no large block left: that connection is closed, counted
  }
  t.is(s.counters[S_BLOCKS_EXHAUSTED], 1);
  t.is(s.data(0, framed, 600, framed.length - 600, 0, sink), framed.length - 600);
  t.is(sink.out.length, 1);
  s.free(1);
  s.open(2, 0, false);
  t.is(s.data(2, framed, 0, 600, 0, sink), 600);
});

test('a message that is not a query closes the stream after the answers owed', (t) => {
  const s = new DnsStreams(new DnsResponder(tables), { capacity: 1, messageTimeoutMs: 1000, idleTimeoutMs: 5000 });
  const sink = new Sink();
  s.open(0, 0, false);
  const good = frame(queries(1)[0]!);
  const response = frame(Buffer.concat([header({ id: 5, flags: 0x8000 }), question('www.example.com', 1)]));
  t.is(s.data(0, Buffer.concat([good, response, good]), 0, good.length * 2 + response.length, 0, sink), STREAM_CLOSE);
  t.is(sink.out.length, 1);
});
