// The access and query logs: the ring between a serving loop and the log writer (a full
// ring loses records, counted, and never blocks), the formats (nginx's combined line and
// its escaping, the query line, JSON), and the socket backend writing both files and
// reopening them on SIGUSR1 after a logrotate-style rename.

import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { addressBytes, KIND_ACCESS, LogRing, QueryLog, Sampler, SLOTS, type LogRecord } from '../../../appliance/log-ring.js';
import { formatAccess, formatQuery, timeLocal } from '../../../appliance/commands/log-files.js';
import { buildTestImage, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';
import { serveSocket } from '../../helpers/serve.js';

const tmp = tempDir('logs');
test.after.always(() => tmp.cleanup());

const HEAD = Buffer.from('GET /a%20b?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: Mo"zilla\\5\r\nReferer:  http://r/  \r\n\r\n', 'latin1');
const V4 = Uint8Array.of(198, 18, 0, 2);

function takeAll(ring: LogRing): LogRecord[] {
  const out: LogRecord[] = [];
  ring.take((r) => out.push(r));
  return out;
}

test('the ring: records come out in order with their fields; a full ring loses records, counted, and takes again once drained', (t) => {
  const ring = new LogRing();
  ring.access(4, V4, 0, 40000, 200, 1234, Date.UTC(2026, 11, 1, 14, 42, 16), HEAD, 0, HEAD.length);
  const [r] = takeAll(ring);
  t.is(r!.kind, KIND_ACCESS);
  t.is(r!.addr, '198.18.0.2');
  t.is(r!.port, 40000);
  t.is(r!.code, 200);
  t.is(r!.size, 1234);
  t.deepEqual(Buffer.from(r!.bytes), HEAD);
  for (let i = 0; i < SLOTS + 10; i++) ring.access(4, V4, 0, 1, 200, i, 0, HEAD, 0, 10);
  t.is(ring.lost, 10);
  const all = takeAll(ring);
  t.is(all.length, SLOTS);
  t.is(all[0]!.size, 0);
  t.is(all[SLOTS - 1]!.size, SLOTS - 1);
  ring.access(4, V4, 0, 1, 200, 7, 0, HEAD, 0, 10);
  t.is(takeAll(ring)[0]!.size, 7);
  t.is(ring.put, SLOTS + 2);
});

test('a head longer than a slot is cut; addresses of both families read back in their usual text', (t) => {
  const ring = new LogRing();
  const long = Buffer.alloc(2000, 0x41);
  ring.access(4, V4, 0, 1, 200, 0, 0, long, 0, long.length);
  t.is(takeAll(ring)[0]!.bytes.length, 464);
  const a = new Uint8Array(16);
  t.is(addressBytes('2001:db8::2', a), 6);
  ring.access(6, a, 0, 1, 200, 0, 0, HEAD, 0, 4);
  t.is(takeAll(ring)[0]!.addr, '2001:db8::2');
  t.is(addressBytes('::ffff:198.18.0.9', a), 4);
  t.deepEqual([...a.subarray(0, 4)], [198, 18, 0, 9]);
  t.is(addressBytes('2001:db8:0:1:2:3:4:5', a), 6);
  ring.access(6, a, 0, 1, 200, 0, 0, HEAD, 0, 4);
  t.is(takeAll(ring)[0]!.addr, '2001:db8:0:1:2:3:4:5');
});

test('combined format: nginx\'s line, its escaping of " and \\ as \\xHH, "-" for a missing header; JSON keeps the text', (t) => {
  const ring = new LogRing();
  ring.access(4, V4, 0, 40000, 404, 153, Date.UTC(2026, 11, 1, 14, 42, 16), HEAD, 0, HEAD.length);
  const [r] = takeAll(ring);
  t.is(formatAccess(r!, 'combined'), '198.18.0.2 - - [01/Dec/2026:14:42:16 +0000] "GET /a%20b?q=1 HTTP/1.1" 404 153 "http://r/" "Mo\\x22zilla\\x5C5"\n');
  const j = JSON.parse(formatAccess(r!, 'json')) as Record<string, unknown>;
  t.is(j.http_user_agent, 'Mo"zilla\\5');
  t.is(j.status, 404);
  t.is(j.time, '2026-12-01T14:42:16.000Z');
  const bare = Buffer.from('GET / HTTP/1.0\r\n\r\n');
  ring.access(4, V4, 0, 1, 200, 5, 0, bare, 0, bare.length);
  t.regex(formatAccess(takeAll(ring)[0]!, 'combined'), /"GET \/ HTTP\/1\.0" 200 5 "-" "-"\n$/);
  t.is(timeLocal(Date.UTC(2027, 0, 5, 3, 4, 5)), '05/Jan/2027:03:04:05 +0000');
});

test('query format: client#port, transport, name, class, type, rcode, flags, size; sampling takes about the share asked', (t) => {
  const ring = new LogRing();
  const q = new QueryLog(ring, 1, 0);
  const ans = dnsPacket.encode({ type: 'response', id: 1, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ type: 'AAAA', name: 'www.Example.com' }] });
  q.udpFrom(4, V4, 0, 5353, ans, 0, ans.length, Date.UTC(2026, 11, 1));
  const [r] = takeAll(ring);
  t.is(formatQuery(r!, 'text'), `2026-12-01T00:00:00.000Z 198.18.0.2#5353 udp www.Example.com. IN AAAA NOERROR qr aa ${ans.length}b\n`);
  t.like(JSON.parse(formatQuery(r!, 'json')), { qname: 'www.Example.com.', qtype: 'AAAA', rcode: 'NOERROR', transport: 'udp' });
  const s = new Sampler(0.1);
  let yes = 0;
  for (let i = 0; i < 100_000; i++) if (s.take()) yes++;
  t.true(yes > 9000 && yes < 11000, `${yes}`);
});

test('the socket backend writes the access and query logs, and reopens both on SIGUSR1 (logrotate\'s rename, then a new file)', async (t) => {
  const image = await buildTestImage(join(tmp.dir, 's.apl'), [{ host: null, dir: FIXTURE_SITE }], [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }]);
  const acc = join(tmp.dir, 'access.log');
  const ql = join(tmp.dir, 'query.log');
  const app = await serveSocket(image, ['--access-log', acc, '--query-log', ql]);
  try {
    await fetch(`http://127.0.0.1:${app.httpPort}/`, { headers: { 'User-Agent': 'probe/1' } }).then((r) => r.text());
    if (hasCommand('dig')) await promisify(execFile)('dig', ['@127.0.0.1', '-p', String(app.dnsPort), 'example.com', 'SOA']);
    await until(() => existsSync(acc) && readFileSync(acc, 'utf8').includes('probe/1'));
    renameSync(acc, acc + '.1');
    renameSync(ql, ql + '.1');
    process.kill(app.proc.pid!, 'SIGUSR1');
    await until(() => existsSync(acc));
    await fetch(`http://127.0.0.1:${app.httpPort}/nope`).then((r) => r.text());
    await until(() => readFileSync(acc, 'utf8').includes('/nope'));
    t.regex(readFileSync(acc + '.1', 'utf8'), /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 \d+ "-" "probe\/1"\n$/);
    t.regex(readFileSync(acc, 'utf8'), /"GET \/nope HTTP\/1\.1" 404 /);
    if (hasCommand('dig')) t.regex(readFileSync(ql + '.1', 'utf8'), /127\.0\.0\.1#\d+ udp example\.com\. IN SOA NOERROR qr aa/);
    t.regex(app.output(), /"msg":"log file reopened"/);
    const c = await app.counters();
    t.is(c.log_records_lost, 0);
  } finally {
    await app.stop();
  }
});

async function until(ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
