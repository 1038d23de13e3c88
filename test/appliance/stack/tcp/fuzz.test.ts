// Hostile segments for the fused TCP (seeded fast-check, with a budget): random flags,
// sequence and acknowledgment numbers (near the peer's real ones and anywhere), windows,
// options (valid and malformed) and data, for a few 4-tuples some of which hold real
// connections, with time moving at random. The TCP must never throw, its tables' invariants
// must hold after every step, every frame it emits must pass the checker, and afterwards a
// fresh connection must still be served.

import test from 'ava';
import fc from 'fast-check';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import { buildZonesImage, type ZonesImage } from '../helpers/rig.js';
import { ACK, FIN, PSH, RST, SYN, TcpRig } from './helpers/tcp-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildZonesImage(); });
test.after.always(() => image?.cleanup());

const Q = encodeQuery(parseCorpusLine('www.example.com A')!);

const seg = fc.record({
  port: fc.integer({ min: 0, max: 3 }),
  flags: fc.oneof(fc.constantFrom(SYN, ACK, ACK | PSH, ACK | FIN, RST, RST | ACK, SYN | ACK, FIN, 0, ACK | SYN | FIN), fc.integer({ min: 0, max: 63 })),
  seqMode: fc.constantFrom('next', 'near', 'any'),
  seqOff: fc.integer({ min: -70_000, max: 70_000 }),
  seqAny: fc.integer({ min: 0, max: 0xffffffff }),
  ackMode: fc.constantFrom('got', 'near', 'any'),
  ackOff: fc.integer({ min: -70_000, max: 70_000 }),
  window: fc.oneof(fc.constant(65535), fc.integer({ min: 0, max: 65535 })),
  data: fc.oneof(fc.constant(new Uint8Array(0)), fc.constant(TcpRig.framed(Q)), fc.uint8Array({ maxLength: 300 })),
  options: fc.oneof(fc.constant(undefined), fc.constant(Uint8Array.of(2, 4, 5, 0xb4)), fc.uint8Array({ maxLength: 12 }).map((b) => {
    const pad = new Uint8Array(Math.ceil(b.length / 4) * 4);
    pad.set(b);
    return pad;
  })),
  advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 })),
});

test('random segments against live and absent connections: no throw, invariants hold, every frame valid, still serving after', (t) => {
  let steps = 0;
  fc.assert(fc.property(fc.array(seg, { minLength: 1, maxLength: 60, size: 'max' }), (segs) => {
    const r = new TcpRig(image, { tcpConnections: 8 });
    r.modelChecks = false; // four 4-tuples through one rig: the frame checker and the invariants judge
    try {
      // Two real connections to begin with.
      r.cport = 40000;
      r.established();
      r.cport = 40001;
      r.established();
      for (const s of segs) {
        r.cport = 40000 + s.port;
        const seq = s.seqMode === 'next' ? r.next : s.seqMode === 'near' ? (r.next + s.seqOff) >>> 0 : (s.seqAny - 0xffffffec) >>> 0;
        const ack = s.ackMode === 'got' ? r.received : s.ackMode === 'near' ? (r.received + s.ackOff) >>> 0 : s.seqAny;
        r.send({ flags: s.flags, seq, ack, window: s.window, data: s.data, options: s.flags & SYN ? s.options : undefined });
        if (s.advance) r.advance(s.advance);
        steps++;
        if (r.problems.length) return false;
      }
      // Still serving: a new connection, a query, its answer.
      r.modelChecks = true;
      r.cport = 41000;
      r.established();
      r.send({ flags: ACK | PSH, data: TcpRig.framed(Q) });
      return r.messages().length === 1 && r.problems.length === 0;
    } finally {
      void r.close();
    }
  }), { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: 21, endOnFailure: true });
  t.log(`${steps} segments`);
  t.pass();
});

test('the table full: a new connection evicts the longest-idle one (counted); with all busy, a cookie and then a refusal', (t) => {
  const r = new TcpRig(image, { tcpConnections: 4 });
  t.teardown(() => r.close());
  for (let i = 0; i < 4; i++) {
    r.cport = 30000 + i;
    r.established();
  }
  t.is(r.tcp.table.free, 0);
  r.cport = 31000;
  r.established();
  t.is(r.counters().evicted, 1);
  t.is(r.tcp.table.used, 4);
  r.send({ flags: ACK | PSH, data: TcpRig.framed(Q) });
  t.is(r.messages().length, 1);
  t.deepEqual(r.problems, []);
});
