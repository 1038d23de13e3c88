// Limits of the socket backends as a hostile client meets them, on `appliance serve` in a
// child process: pipelining floods that never read (memory stays bounded, UDP keeps its
// pace), slowloris (a head deadline armed at the first byte, while a real client is served
// every second), connection caps total and per source (the longest-idle connection makes
// room, so idle floods cannot lock new clients out), and the DNS-over-TCP message deadline.

import test from 'ava';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestImage, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { header, question } from '../../helpers/dns-wire.js';
import { exchange, parseResponses } from '../../helpers/http.js';
import { serveSocket } from '../../helpers/serve.js';

const tmp = tempDir('limits');
let image = '';

test.before(async () => {
  // A name with a 4 KB answer: 30,000 of them (120 MB) is more than any socket buffer holds.
  const big = join(tmp.dir, 'big.test.zone');
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m', '  IN NS ns1', 'ns1 IN A 198.18.0.1'];
  for (let i = 0; i < 16; i++) lines.push(`txt IN TXT "${String(i).padStart(4, '0')}${'x'.repeat(246)}"`);
  writeFileSync(big, lines.join('\n') + '\n');
  image = await buildTestImage(join(tmp.dir, 'all.apl'), [{ host: null, dir: FIXTURE_SITE }],
    [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }, { origin: null, file: big }]);
});
test.after.always(() => tmp.cleanup());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Milliseconds for one UDP query to be answered, or Infinity. */
function udpRtt(port: number, timeoutMs = 2000): Promise<number> {
  const q = Buffer.concat([header({ id: 7 }), question('www.example.com', 1)]);
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t0 = performance.now();
    const timer = setTimeout(() => { s.close(); resolve(Infinity); }, timeoutMs);
    s.on('message', () => { clearTimeout(timer); s.close(); resolve(performance.now() - t0); });
    s.send(q, port, '127.0.0.1');
  });
}

async function httpStatus(port: number, path = '/robots.txt'): Promise<number | undefined> {
  const { data } = await exchange(port, [`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], { timeoutMs: 3000 });
  return parseResponses(data).responses[0]?.status;
}

test('DNS over TCP: 30,000 pipelined queries for a 4 KB answer, never read, hold bounded memory; UDP stays answered', async (t) => {
  const srv = await serveSocket(image);
  try {
    const before = srv.rss();
    const s = await connect(srv.dnsPort);
    s.pause(); // never read
    const q = Buffer.concat([header({ id: 1 }), question('txt.big.test', 16)]);
    const framed = Buffer.concat([Buffer.from([0, q.length]), q]);
    const flood = Buffer.concat(new Array<Buffer>(30_000).fill(framed));
    s.write(flood);
    const rtts: number[] = [];
    for (let i = 0; i < 10; i++) {
      rtts.push(await udpRtt(srv.dnsPort));
      await sleep(100);
    }
    const after = srv.rss();
    const c = await srv.counters();
    t.log(`RSS ${(before / MB).toFixed(1)} MB → ${(after / MB).toFixed(1)} MB; UDP round trips during the flood: max ${Math.max(...rtts).toFixed(1)} ms; ${c.dns_tcp_messages} of 30000 answered so far, ${c.dns_tcp_read_pauses} read pauses`);
    t.true(after - before < 40 * MB, `RSS grew by ${((after - before) / MB).toFixed(1)} MB`);
    t.true(rtts.every((r) => r < 1000), `UDP stalled: ${rtts.join(', ')}`);
    t.true(c.dns_tcp_messages! < 30_000, 'the server kept reading a peer that does not read');
    t.true(c.dns_tcp_read_pauses! >= 1);
    s.destroy();
  } finally {
    t.is(await srv.stop(), 0);
  }
});

test('HTTP: a pipelining flood that never reads holds bounded memory', async (t) => {
  const srv = await serveSocket(image);
  try {
    const before = srv.rss();
    const s = await connect(srv.httpPort);
    s.pause();
    const req = Buffer.from('GET /css/main.css HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 20; i++) s.write(Buffer.concat(new Array<Buffer>(2000).fill(req)));
    await sleep(1500);
    const after = srv.rss();
    const c = await srv.counters();
    t.log(`RSS ${(before / MB).toFixed(1)} MB → ${(after / MB).toFixed(1)} MB; ${c.http_requests} of 40000 answered so far`);
    t.true(after - before < 40 * MB, `RSS grew by ${((after - before) / MB).toFixed(1)} MB`);
    t.true(c.http_requests! < 40_000);
    t.is(await httpStatus(srv.httpPort), 200);
    s.destroy();
  } finally {
    t.is(await srv.stop(), 0);
  }
});

test('slowloris: 100 connections at one byte a second are closed at --header-timeout while a real client is served every second', async (t) => {
  const srv = await serveSocket(image, ['--header-timeout', '2', '--idle-timeout', '30']);
  const slow: net.Socket[] = [];
  const closedAt: number[] = [];
  const t0 = Date.now();
  try {
    for (let i = 0; i < 100; i++) {
      const s = await connect(srv.httpPort);
      s.on('close', () => closedAt.push(Date.now() - t0));
      s.on('error', () => undefined);
      slow.push(s);
    }
    const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'a'.repeat(200) + '\r\n\r\n';
    const served: number[] = [];
    for (let sec = 0; sec < 5; sec++) {
      for (const s of slow) if (!s.destroyed) s.write(head[sec]!);
      const a = Date.now();
      const st = await httpStatus(srv.httpPort);
      if (st === 200) served.push(Date.now() - a);
      await sleep(1000);
    }
    const c = await srv.counters();
    t.log(`slow connections closed after ${Math.min(...closedAt)}–${Math.max(...closedAt)} ms (${closedAt.length} of 100); legitimate requests served in ${served.join(', ')} ms; header_timeouts ${c.http_header_timeouts}`);
    t.is(served.length, 5, 'a legitimate client went unserved');
    t.is(closedAt.length, 100);
    t.true(Math.max(...closedAt) < 4500, 'the head deadline was re-armed by the trickle');
    t.true(Math.min(...closedAt) >= 1900);
    t.is(c.http_header_timeouts, 100);
  } finally {
    for (const s of slow) s.destroy();
    t.is(await srv.stop(), 0);
  }
});

test('connection caps: a flood of idle connections cannot lock new clients out (the longest idle makes room); counted', async (t) => {
  const srv = await serveSocket(image, ['--max-connections', '20', '--max-connections-per-source', '1000']);
  const idle: net.Socket[] = [];
  try {
    for (let i = 0; i < 60; i++) {
      const s = await connect(srv.httpPort);
      s.on('error', () => undefined);
      idle.push(s);
    }
    await sleep(200);
    for (let i = 0; i < 5; i++) t.is(await httpStatus(srv.httpPort), 200, `request ${i}`);
    const c = await srv.counters();
    t.log(`open ${c.http_connections_open}, evicted ${c.http_connections_evicted_at_cap}, refused ${c.http_connections_refused_at_cap}`);
    t.true(c.http_connections_open! <= 20);
    t.true(c.http_connections_evicted_at_cap! >= 40);
    // The same for DNS over TCP.
    const dnsIdle: net.Socket[] = [];
    for (let i = 0; i < 40; i++) {
      const s = await connect(srv.dnsPort);
      s.on('error', () => undefined);
      dnsIdle.push(s);
    }
    const q = Buffer.concat([header({ id: 9 }), question('www.example.com', 1)]);
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(srv.dnsPort, '127.0.0.1', () => s.write(Buffer.concat([Buffer.from([0, q.length]), q])));
      s.on('data', (d) => { resolve(d); s.destroy(); });
      s.on('error', reject);
    });
    t.is(answer.readUInt16BE(2), 9);
    const d = await srv.counters();
    t.true(d.dns_tcp_connections_evicted_at_cap! >= 20);
    for (const s of dnsIdle) s.destroy();
  } finally {
    for (const s of idle) s.destroy();
    t.is(await srv.stop(), 0);
  }
});

test('per-source cap: one source beyond --max-connections-per-source evicts its own idlest; counted', async (t) => {
  const srv = await serveSocket(image, ['--max-connections-per-source', '5']);
  const socks: net.Socket[] = [];
  try {
    for (let i = 0; i < 12; i++) {
      const s = await connect(srv.httpPort);
      s.on('error', () => undefined);
      socks.push(s);
    }
    await sleep(200);
    t.is(await httpStatus(srv.httpPort), 200);
    const c = await srv.counters();
    t.true(c.http_connections_open! <= 5);
    t.true(c.http_connections_evicted_per_source! >= 7);
  } finally {
    for (const s of socks) s.destroy();
    t.is(await srv.stop(), 0);
  }
});

test('DNS over TCP: a message that trickles in is cut at --dns-message-timeout; an idle connection at --idle-timeout', async (t) => {
  const srv = await serveSocket(image, ['--dns-message-timeout', '1', '--idle-timeout', '2']);
  try {
    const t0 = Date.now();
    const trickle = await connect(srv.dnsPort);
    const idle = await connect(srv.dnsPort);
    const closed = (s: net.Socket): Promise<number> => new Promise((r) => s.on('close', () => r(Date.now() - t0)));
    const [a, b] = [closed(trickle), closed(idle)];
    trickle.write(Buffer.from([0, 33]));
    const timer = setInterval(() => { if (!trickle.destroyed) trickle.write(Buffer.from([0])); }, 200);
    const [ta, tb] = await Promise.all([a, b]);
    clearInterval(timer);
    t.log(`trickling message closed after ${ta} ms, idle connection after ${tb} ms`);
    t.true(ta >= 900 && ta < 2500);
    t.true(tb >= 1900 && tb < 4000);
    const c = await srv.counters();
    t.is(c.dns_tcp_message_timeouts, 1);
    t.is(c.dns_tcp_idle_timeouts, 1);
  } finally {
    t.is(await srv.stop(), 0);
  }
});
