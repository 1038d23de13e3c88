// HTTP over the fused TCP, on the pipe: every file of the fixture site fetched through the
// TCP rig (which checks every segment) is, byte for byte, the slow rendering of its
// prebuilt response (the header block with the Date and Connection the response carries,
// then the body); the pieces go out from the image's stored sums when the peer's MSS is the
// cut's (template path) and are copied and summed when it is smaller (copy path), and both
// give the same bytes. Keep-alive, pipelining in order, Connection: close (our FIN rides
// with the last segment), a range (a dynamic head, then an image span), retransmission from
// the image identical to the first transmission.

import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestImage, FIXTURE_SITE, siteFiles, tempDir } from '../../../helpers/fixtures.js';
import { loadImage } from '../../../../specializers/image/format.js';
import { ZONE_FILES, type ZonesImage } from '../helpers/rig.js';
import { ACK, FIN, PSH, TcpRig, assertClean, openRig, type TcpRigOptions } from './helpers/tcp-rig.js';

let image: ZonesImage;
test.before(async () => {
  const tmp = tempDir('tcphttp');
  const file = await buildTestImage(join(tmp.dir, 'site.apl'), [{ host: null, dir: FIXTURE_SITE }], ZONE_FILES.map((f) => ({ origin: null, file: f })));
  image = { file, shared: loadImage(file).shared, cleanup: tmp.cleanup };
});
test.after.always(() => image?.cleanup());

const rig = (t: ExecutionContext, o: TcpRigOptions = {}): TcpRig => openRig(t, image, { port: 80, ...o });

const clean = (t: ExecutionContext, r: TcpRig): void => assertClean(t, r, 30);

const enc = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

/** ACKs whatever arrives until nothing more comes (bounded). */
function drain(r: TcpRig): void {
  for (let i = 0; i < 5000; i++) {
    if (r.send({ flags: ACK }).every((s) => s.data.length === 0)) {
      if (r.advance(5).every((s) => s.data.length === 0)) return;
    }
  }
}

interface Parsed { status: number; headers: Record<string, string>; head: string; body: Buffer }

function parseAll(bytes: Buffer, heads: boolean[] = []): Parsed[] {
  const out: Parsed[] = [];
  let o = 0;
  while (o < bytes.length) {
    const e = bytes.indexOf('\r\n\r\n', o);
    if (e < 0) break;
    const head = bytes.toString('latin1', o, e + 4);
    const headers: Record<string, string> = {};
    for (const l of head.split('\r\n').slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    const n = heads[out.length] ? 0 : Number(headers['content-length'] ?? 0);
    out.push({ status: Number(head.slice(9, 12)), headers, head, body: bytes.subarray(e + 4, e + 4 + n) });
    o = e + 4 + n;
  }
  return out;
}

/** Fetches every file on one keep-alive connection; returns the bytes received and the counters. */
function fetchAll(t: ExecutionContext, mss: number, v6 = false): { bytes: Buffer; counters: Record<string, number>; paths: string[] } {
  const r = rig(t, { mss, v6 });
  r.established(r.synOptions({ mss }));
  const paths = siteFiles();
  for (const p of paths) {
    const target = '/' + p.split('/').map(encodeURIComponent).join('/');
    r.send({ flags: ACK | PSH, data: enc(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`) });
    drain(r);
  }
  clean(t, r);
  return { bytes: Buffer.from(r.stream), counters: r.counters(), paths };
}

for (const v6 of [false, true]) {
  test(`every fixture file, on one keep-alive connection, is its file byte for byte and its head the slow rendering; template path at the cut's MSS (${v6 ? 'IPv6' : 'IPv4'})`, (t) => {
    const { bytes, counters, paths } = fetchAll(t, v6 ? 1440 : 1460, v6);
    const rs = parseAll(bytes);
    t.is(rs.length, paths.length);
    rs.forEach((res, i) => {
      t.is(res.status, 200, paths[i]);
      t.deepEqual(res.body, readFileSync(join(FIXTURE_SITE, paths[i]!)), paths[i]);
      t.regex(res.head, /^HTTP\/1\.1 200 OK\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\nConnection: keep-alive\r\nServer: appliance\r\n/);
    });
    t.true(counters.segments_template! > 100, `template ${counters.segments_template}`);
    t.is(counters.segments_copied ?? 0, 0, 'no copy path at the cut\'s MSS');
  });
}

test('a smaller MSS takes the copy path; the bytes are the same as on the template path', (t) => {
  const a = fetchAll(t, 1460);
  const b = fetchAll(t, 1000);
  t.true(b.counters.segments_copied! > 100);
  const norm = (x: Buffer): string => x.toString('latin1').replace(/Date: [^\r]+/g, 'Date: -');
  t.is(norm(b.bytes), norm(a.bytes));
});

test('pipelined requests are answered in order; Connection: close ends with our FIN on the last segment', (t) => {
  const r = rig(t);
  r.established();
  const reqs = ['/', '/robots.txt', '/css/main.css', '/missing'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('') +
    'GET /downloads/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  r.send({ flags: ACK | PSH, data: enc(reqs) });
  let fin = false;
  for (let i = 0; i < 5000 && !fin; i++) fin = r.send({ flags: ACK }).some((s) => (s.flags & FIN) !== 0 && s.data.length > 0) || fin;
  t.true(fin, 'the FIN rode with data');
  const rs = parseAll(Buffer.from(r.stream));
  t.deepEqual(rs.map((x) => x.status), [200, 200, 200, 404, 200]);
  t.is(rs[4]!.headers.connection, 'close');
  t.deepEqual(rs[4]!.body, readFileSync(join(FIXTURE_SITE, 'downloads/big.bin')));
  clean(t, r);
});

test('a long pipeline of answers that take two records each (a head made per request, then a span of the image): every one answered in order, none reset', (t) => {
  // The record ring holds 16; a dynamic answer takes two, so the session must stop while
  // fewer than two are free (it once took the last record for the head, found none for the
  // span, and reset the connection: buffer_exhausted).
  const r = rig(t);
  r.established();
  const robots = readFileSync(join(FIXTURE_SITE, 'robots.txt'));
  const reqs = Array.from({ length: 20 }, () => [
    'GET /docs?x=1 HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /robots.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n',
    'GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n',
  ].join('')).join('') + 'GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const bytes = enc(reqs);
  for (let o = 0; o < bytes.length; o += 1400) r.send({ flags: ACK | PSH, data: bytes.subarray(o, o + 1400) });
  let fin = false;
  for (let i = 0; i < 2000 && !fin; i++) fin = r.send({ flags: ACK }).some((s) => (s.flags & FIN) !== 0) || fin;
  t.true(fin, 'the last answer closed the connection');
  const rs = parseAll(Buffer.from(r.stream));
  t.deepEqual(rs.map((x) => x.status), [...Array.from({ length: 20 }, () => [301, 206, 200]).flat(), 200]);
  t.deepEqual(rs[1]!.body, robots.subarray(0, 10));
  t.is(r.counters().buffer_exhausted ?? 0, 0);
  t.is(r.counters().resets_sent ?? 0, 0);
  clean(t, r);
});

test('a range is a dynamic head then a span of the image; 304 and HEAD have no body', (t) => {
  const r = rig(t);
  r.established();
  r.send({ flags: ACK | PSH, data: enc('GET /downloads/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-2999\r\n\r\n') });
  drain(r);
  const range = parseAll(Buffer.from(r.stream))[0]!;
  t.is(range.status, 206);
  t.deepEqual(range.body, readFileSync(join(FIXTURE_SITE, 'downloads/big.bin')).subarray(1000, 3000));
  const etag = (() => {
    r.stream = [];
    r.send({ flags: ACK | PSH, data: enc('HEAD /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n') });
    drain(r);
    return parseAll(Buffer.from(r.stream), [true])[0]!.headers.etag!;
  })();
  r.stream = [];
  r.send({ flags: ACK | PSH, data: enc(`GET /robots.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`) });
  drain(r);
  t.is(parseAll(Buffer.from(r.stream), [true])[0]!.status, 304);
  clean(t, r);
});

test('a lost piece of a large file comes again from the image, identical (the rig checks every retransmitted byte)', (t) => {
  const r = rig(t);
  r.established();
  let k = 0;
  r.lose = (s) => s.data.length > 0 && (++k === 3 || k === 17 || k === 40);
  r.send({ flags: ACK | PSH, data: enc('GET /downloads/big.bin HTTP/1.1\r\nHost: x\r\n\r\n') });
  for (let i = 0; i < 20_000; i++) {
    const got = r.send({ flags: ACK });
    if (got.length === 0 && r.advance(50).length === 0 && parseAll(Buffer.from(r.stream))[0]?.body.length === readFileSync(join(FIXTURE_SITE, 'downloads/big.bin')).length) break;
  }
  r.lose = null;
  const res = parseAll(Buffer.from(r.stream))[0]!;
  t.deepEqual(res.body, readFileSync(join(FIXTURE_SITE, 'downloads/big.bin')));
  t.is(r.lost.length, 3);
  t.true((r.counters().retransmits ?? 0) >= 3);
  clean(t, r);
});
