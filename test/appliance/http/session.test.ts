// The HTTP session (appliance/http/session.ts) alone, without sockets: a pipelined stream
// of requests — with Content-Length and chunked bodies to discard, bare-LF heads, empty
// lines between them — gives the same responses in the same order however it is cut into
// reads and however often the sink says it is full; heads in pieces use a bounded pool;
// the head deadline is the first byte plus the timeout, whatever trickles in after it.

import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { PLAN_TEMPLATE, type ResponsePlan } from '../../../appliance/http/responder.js';
import {
  H_BAD_BODIES, H_BARE_LF_HEADS, H_BODIES_DISCARDED, H_HEAD_BLOCKS_EXHAUSTED, HttpSessions, PHASE_HEAD, PHASE_IDLE, SESSION_CLOSE, type HttpSink,
} from '../../../appliance/http/session.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import { loadImage } from '../../../specializers/image/format.js';
import { buildTestImage, FIXTURE_SITE, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('session');
let tables: HttpTables;

test.before(async () => {
  const image = await buildTestImage(join(tmp.dir, 's.apl'), [{ host: null, dir: FIXTURE_SITE }]);
  tables = new HttpTables(loadImage(image));
});
test.after.always(() => tmp.cleanup());

class Sink implements HttpSink {
  out: string[] = [];
  constructor(private readonly full: () => boolean = () => false) {}
  send(_slot: number, plan: ResponsePlan): boolean {
    this.out.push(plan.kind === PLAN_TEMPLATE ? `T${plan.resp}:${plan.status}:${plan.close}` : `D${plan.status}:${plan.bodyOff}+${plan.bodyLen}:${plan.close}`);
    return !this.full();
  }
}

const REQUESTS = [
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /robots.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nabcdefg',
  'HEAD /css/main.css HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\nT: 1\r\n\r\n',
  'GET /missing HTTP/1.1\nHost: x\nAccept-Encoding: gzip\n\n',
  '\r\nGET /downloads/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=10-20\r\n\r\n',
  'POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz',
  'GET /index.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n',
];

function session(capacity = 4, headBlocks?: number): HttpSessions {
  return new HttpSessions(tables, { capacity, headerTimeoutMs: 1000, idleTimeoutMs: 5000, headBlocks });
}

/** Feeds `bytes` cut at `cuts`, offering again what a full sink left unconsumed. */
function feed(s: HttpSessions, slot: number, bytes: Buffer, cuts: number[], sink: Sink, now = 0): void {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let held = Buffer.alloc(0);
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    held = Buffer.concat([held, bytes.subarray(prev, p)]);
    prev = p;
    for (let guard = 0; held.length > 0 && guard < 100_000; guard++) {
      const n = s.data(slot, held, 0, held.length, now, sink);
      if (n === SESSION_CLOSE) return;
      held = held.subarray(n);
    }
  }
}

test('a pipelined stream cut anywhere, with a sink that fills at random, gives the same responses in order', (t) => {
  const stream = Buffer.from(REQUESTS.join('') + 'GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1');
  const ref = new Sink();
  const whole = session();
  whole.open(0, 0);
  t.is(whole.data(0, stream, 0, stream.length, 0, ref), SESSION_CLOSE);
  t.is(ref.out.length, REQUESTS.length + 1);
  t.true(ref.out.at(-1)!.endsWith(':true'));
  t.is(whole.counters[H_BODIES_DISCARDED], 3);
  t.is(whole.counters[H_BARE_LF_HEADS], 1);
  fc.assert(fc.property(fc.array(fc.nat(), { maxLength: 80 }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.integer(), (cuts, pFull, seed) => {
    let x = seed | 1;
    const rand = (): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const s = session();
    s.open(1, 0);
    const sink = new Sink(() => rand() < pFull);
    feed(s, 1, stream, cuts, sink);
    const ok = sink.out.join(' ') === ref.out.join(' ') && s.headBlocksInUse === 0;
    s.destroy();
    return ok;
  }), { numRuns: 300, seed: 11 });
  whole.destroy();
});

test('the head deadline is armed at the first byte and not moved by the bytes after it (slowloris)', (t) => {
  const s = session();
  const sink = new Sink();
  s.open(0, 1000);
  t.is(s.deadline(0), 6000); // idle
  const head = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let i = 0; i < head.length - 1; i++) {
    t.is(s.data(0, head, i, 1, 2000 + i * 100, sink), 1);
    t.is(s.phaseOf(0), PHASE_HEAD);
    t.is(s.deadline(0), 3000); // 2000 + headerTimeoutMs
  }
  t.is(s.data(0, head, head.length - 1, 1, 9000, sink), 1);
  t.is(sink.out.length, 1);
  t.is(s.phaseOf(0), PHASE_IDLE);
  t.is(s.deadline(0), 14000);
  s.destroy();
});

test('heads in pieces take blocks from a bounded pool; when none is left the connection is closed, counted', (t) => {
  const s = session(4, 2);
  const sink = new Sink();
  const part = Buffer.from('GET / HTTP/1.1\r\nHo');
  for (let slot = 0; slot < 3; slot++) s.open(slot, 0);
  t.is(s.data(0, part, 0, part.length, 0, sink), part.length);
  t.is(s.data(1, part, 0, part.length, 0, sink), part.length);
  t.is(s.data(2, part, 0, part.length, 0, sink), SESSION_CLOSE);
  t.is(s.counters[H_HEAD_BLOCKS_EXHAUSTED], 1);
  s.free(0);
  s.open(3, 0);
  t.is(s.data(3, part, 0, part.length, 0, sink), part.length);
  t.is(s.headBlocksInUse, 2);
  s.destroy();
});

test('limits: a head over 8 KiB is 431, a request line over 8 KiB is 414, a bad chunked body closes', (t) => {
  const cases: Array<[string, string]> = [
    ['GET / HTTP/1.1\r\nHost: x\r\nX: ' + 'a'.repeat(9000) + '\r\n\r\n', ':431:true'],
    ['GET /' + 'a'.repeat(9000) + ' HTTP/1.1\r\nHost: x\r\n\r\n', ':414:true'],
  ];
  for (const [req, want] of cases) {
    for (const cut of [0, 100, 5000]) {
      const s = session();
      const sink = new Sink();
      s.open(0, 0);
      feed(s, 0, Buffer.from(req), cut === 0 ? [] : [cut], sink);
      t.true(sink.out[0]?.endsWith(want), `${want} cut ${cut}: ${sink.out.join(' ')}`);
      s.destroy();
    }
  }
  const s = session();
  const sink = new Sink();
  s.open(0, 0);
  const bad = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
  t.is(s.data(0, bad, 0, bad.length, 0, sink), SESSION_CLOSE);
  t.is(sink.out.length, 1); // the request was answered; the body then closed the connection
  t.is(s.counters[H_BAD_BODIES], 1);
  s.destroy();
});

test('virtual hosts: the same target under other Hosts, and other targets under one Host, each get their own answer, asked alone or back to back', async (t) => {
  // The parser hands out the last target's and Host's strings again, and the responder the
  // last route for the same pair: neither may carry an answer over to another request.
  const dirA = join(tmp.dir, 'vh-a'), dirB = join(tmp.dir, 'vh-b');
  mkdirSync(dirA, { recursive: true });
  mkdirSync(dirB, { recursive: true });
  writeFileSync(join(dirA, 'index.html'), 'a site');
  writeFileSync(join(dirB, 'index.html'), 'the b site, longer');
  writeFileSync(join(dirB, 'only-b.txt'), 'b');
  const vt = new HttpTables(loadImage(await buildTestImage(join(tmp.dir, 'vh.apl'), [{ host: 'a.test', dir: dirA }, { host: 'b.test', dir: dirB }])));
  const hosts = ['a.test', 'b.test', 'B.TEST:80', 'a.test', 'a.test', 'b.test', 'b.test', 'a.test'];
  const targets = ['/', '/only-b.txt', '/', '/index.html', '/index.html'];
  const req = (host: string, target: string): string => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
  // Hosts changing under one target, then targets changing under one Host.
  const reqs = [...targets.flatMap((target) => hosts.map((host) => req(host, target))), ...hosts.flatMap((host) => targets.map((target) => req(host, target)))];
  const alone = reqs.map((r) => {
    const s = new HttpSessions(vt, { capacity: 1, headerTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const sink = new Sink();
    s.open(0, 0);
    feed(s, 0, Buffer.from(r), [], sink);
    s.destroy();
    return sink.out[0];
  });
  t.is(new Set(alone).size > 3, true, alone.join(' '));
  const s = new HttpSessions(vt, { capacity: 1, headerTimeoutMs: 1000, idleTimeoutMs: 5000 });
  const sink = new Sink();
  s.open(0, 0);
  feed(s, 0, Buffer.from(reqs.join('')), [], sink);
  s.destroy();
  t.deepEqual(sink.out, alone);
});
