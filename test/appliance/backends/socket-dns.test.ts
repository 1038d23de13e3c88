// The DNS socket backend under hostile input: garbage over UDP and TCP never stops the
// server; malformed queries get FORMERR (or the rcode NSD gives) and drops are counted; a
// TCP peer that sends something that is not a query is closed after the answers it is
// owed, as NSD does; pipelined queries are answered in order.

import test from 'ava';
import dgram from 'node:dgram';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DnsSocketServer } from '../../../appliance/backends/socket-dns.js';
import { C_ANSWERED, C_DROP_RESPONSE, C_DROP_SHORT, C_FORMERR, DNS_COUNTER_NAMES } from '../../../appliance/dns/responder.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { loadImage } from '../../../specializers/image/format.js';
import { buildTestImage, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { countsOf, header, opt, question, rcodeOf, tsig } from '../../helpers/dns-wire.js';

const tmp = tempDir('sockdns');
let server: DnsSocketServer;
let port = 0;

test.before(async () => {
  const zones = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => ({ origin: null, file: join(FIXTURE_ZONES, f) }));
  const image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zones);
  server = new DnsSocketServer(new DnsTables(loadImage(image)), { host: '127.0.0.1', port: 0, idleTimeoutMs: 5000 });
  port = (await server.listen()).port;
});
test.after.always(async () => {
  await server?.close();
  tmp.cleanup();
});

const WWW = question('www.example.com', 1);
const query = (id: number): Buffer => Buffer.concat([header({ id }), WWW]);

/** Sends each datagram from one socket; collects what comes back within `waitMs`. */
async function udp(messages: Buffer[], waitMs = 300): Promise<Buffer[]> {
  const s = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  for (const m of messages) s.send(m, port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, waitMs));
  s.close();
  return got;
}

/** Writes raw bytes on one TCP connection; resolves with the framed answers and whether the server closed. */
function tcp(bytes: Buffer, waitMs = 600): Promise<{ answers: Buffer[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      const answers: Buffer[] = [];
      let off = 0;
      while (data.length - off >= 2 && data.length - off - 2 >= data.readUInt16BE(off)) {
        answers.push(data.subarray(off + 2, off + 2 + data.readUInt16BE(off)));
        off += 2 + data.readUInt16BE(off);
      }
      resolve({ answers, closed });
    };
    const timer = setTimeout(done, waitMs);
    s.on('connect', () => s.write(bytes));
    s.on('data', (c) => { data = Buffer.concat([data, c]); });
    s.on('end', () => { closed = true; done(); });
    s.on('error', reject);
  });
}

const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.of(m.length >> 8, m.length & 0xff), m]);

function counters(): Record<string, number> {
  return Object.fromEntries(DNS_COUNTER_NAMES.map((n, i) => [n, server.responder.counters[i]!]));
}

test.serial('UDP: garbage of every kind is answered FORMERR or dropped and counted; the server goes on answering', async (t) => {
  const before = counters();
  let x = 7;
  const random = Array.from({ length: 200 }, (_, i) => Buffer.from(Array.from({ length: i % 90 }, () => (x = (x * 1103515245 + 12345) & 0x7fffffff) & 0xff)));
  const hostile = [
    Buffer.alloc(0), Buffer.of(1, 2, 3), header().subarray(0, 11),                 // shorter than a header: dropped
    Buffer.concat([header({ flags: 0x8100 }), WWW]),                                 // a response: dropped
    header(), Buffer.concat([header(), Buffer.of(0xc0, 12, 0, 1, 0, 1)]),            // FORMERR
    Buffer.concat([header({ an: 0xffff, ns: 0xffff, ar: 0xffff }), WWW]),            // FORMERR
    Buffer.concat([header({ ar: 2 }), WWW, opt(), opt()]),                           // FORMERR
    ...random,
  ];
  const got = await udp(hostile, 500);
  for (const m of got) t.true(m.length >= 12 && (m[2]! & 0x80) !== 0, 'every reply is a response');
  const after = counters();
  t.is(after.queries! - before.queries!, hostile.length, 'every datagram reached the responder');
  t.true(after.drop_short! - before.drop_short! >= 2);
  t.true(after.drop_response! - before.drop_response! >= 1, 'responses (QR set, in the random ones too) are dropped');
  t.true(after.formerr! - before.formerr! >= 4);
  const dropped = (after.drop_short! - before.drop_short!) + (after.drop_response! - before.drop_response!);
  t.is(got.length, hostile.length - dropped, 'one reply for every datagram not dropped');
  const ok = await udp([query(0x4242)]);
  t.is(ok.length, 1);
  t.is(ok[0]!.readUInt16BE(0), 0x4242);
  t.is(rcodeOf(ok[0]!), 0);
  t.deepEqual(countsOf(ok[0]!), [1, 1, 0, 0]);
});

test.serial('TCP: pipelined queries are answered in order, on one connection', async (t) => {
  const r = await tcp(Buffer.concat([1, 2, 3, 4, 5].map((id) => frame(query(id)))));
  t.deepEqual(r.answers.map((a) => a.readUInt16BE(0)), [1, 2, 3, 4, 5]);
  t.false(r.closed);
});

test.serial('TCP: a malformed query gets FORMERR and the connection stays open', async (t) => {
  const r = await tcp(Buffer.concat([frame(Buffer.concat([header({ id: 1, ar: 2 }), WWW, opt(), opt()])), frame(query(2))]));
  t.deepEqual(r.answers.map((a) => [a.readUInt16BE(0), rcodeOf(a)]), [[1, 1], [2, 0]]);
  t.false(r.closed);
});

test.serial('TCP: after a message that is not a query (a response, or too short), the answers owed are sent and the connection is closed', async (t) => {
  const c0 = counters();
  for (const bad of [Buffer.concat([header({ id: 9, flags: 0x8000 }), WWW]), header({ id: 9 }), Buffer.alloc(0), Buffer.of(1, 2, 3)]) {
    const r = await tcp(Buffer.concat([frame(query(1)), frame(bad), frame(query(2))]));
    t.deepEqual(r.answers.map((a) => a.readUInt16BE(0)), [1], `after ${bad.toString('hex')}`);
    t.true(r.closed, 'closed by the server');
  }
  const c1 = counters();
  t.is(c1.drop_response! - c0.drop_response!, 1);
  t.is(c1.drop_short! - c0.drop_short!, 3);
  t.is(c1.answered! - c0.answered!, 4);
  // The server goes on: a new connection is answered.
  t.deepEqual((await tcp(frame(query(3)))).answers.map((a) => a.readUInt16BE(0)), [3]);
});

test.serial('TCP: a length prefix announcing more than is sent, then a close: no answer, no crash', async (t) => {
  const r = await tcp(Buffer.concat([Buffer.of(0xff, 0xff), query(1)]), 300);
  t.deepEqual(r.answers, []);
  const again = await tcp(frame(query(4)));
  t.deepEqual(again.answers.map((a) => a.readUInt16BE(0)), [4]);
});

test.serial('TCP: random bytes on many connections never stop the server', async (t) => {
  let x = 99;
  const before = server.responder.counters[C_ANSWERED]!;
  for (let i = 0; i < 30; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + (i * 37) % 400 }, () => (x = (x * 1103515245 + 12345) & 0x7fffffff) & 0xff));
    await tcp(junk, 100);
  }
  // TSIG-signed and OPT-only queries over TCP too.
  const signed = await tcp(frame(Buffer.concat([header({ id: 5, ar: 1 }), WWW, tsig()])));
  t.is(rcodeOf(signed.answers[0]!), 9);
  const probe = await tcp(frame(Buffer.concat([header({ id: 6, qd: 0, ar: 1 }), opt()])));
  t.deepEqual(countsOf(probe.answers[0]!), [0, 0, 0, 1]);
  const ok = await tcp(frame(query(7)));
  t.is(ok.answers[0]!.readUInt16BE(0), 7);
  t.true(server.responder.counters[C_ANSWERED]! > before);
  t.true(server.responder.counters[C_FORMERR]! + server.responder.counters[C_DROP_SHORT]! + server.responder.counters[C_DROP_RESPONSE]! > 0);
});
