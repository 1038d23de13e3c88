import test from 'ava';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { HttpSocketServer } from '../../../appliance/backends/socket-http.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import { loadImage } from '../../../specializers/image/format.js';
import { buildTestImage, CLI, FIXTURE_SITE, tempDir } from '../../helpers/fixtures.js';
import { exchange, parseResponses } from '../../helpers/http.js';

const tmp = tempDir('sock');
let server: HttpSocketServer;
let port = 0;
let imagePath = '';

test.before(async () => {
  imagePath = await buildTestImage(join(tmp.dir, 'site.apl'), [{ host: null, dir: FIXTURE_SITE }]);
  server = new HttpSocketServer(new HttpTables(loadImage(imagePath)), { host: '127.0.0.1', port: 0, idleTimeoutMs: 5000 });
  port = (await server.listen()).port;
});
test.after.always(async () => {
  await server?.close(100);
  tmp.cleanup();
});

const file = (p: string): Buffer => readFileSync(join(FIXTURE_SITE, p));

function get(path: string, headers: Record<string, string> = {}, method = 'GET', agent?: http.Agent): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), socket: req.socket! }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET: status, body, and the headers a client expects', async (t) => {
  const r = await get('/');
  t.is(r.status, 200);
  t.deepEqual(r.body, file('index.html'));
  t.is(r.headers['content-type'], 'text/html; charset=utf-8');
  t.is(r.headers['content-length'], String(file('index.html').length));
  t.regex(r.headers.etag!, /^"[0-9a-f]{20}"$/);
  t.truthy(r.headers['last-modified']);
  t.is(r.headers.server, 'appliance');
  t.is(r.headers.vary, 'Accept-Encoding');
  t.is(r.headers['accept-ranges'], 'bytes');
  t.true(Math.abs(Date.parse(r.headers.date!) - Date.now()) < 2000);
});

test('names with spaces, UTF-8, percent signs and no extension', async (t) => {
  t.deepEqual((await get('/docs/guide/chapter%20one.html')).body, file('docs/guide/chapter one.html'));
  t.deepEqual((await get('/docs/%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt')).body, file('docs/ünïcödé.txt'));
  t.deepEqual((await get('/docs/100%25%20done.txt')).body, file('docs/100% done.txt'));
  const readme = await get('/docs/README');
  t.is(readme.headers['content-type'], 'application/octet-stream');
  const big = await get('/downloads/big.bin');
  t.true(big.body.equals(file('downloads/big.bin')));
});

test('HEAD: the same header block, no body', async (t) => {
  const { data } = await exchange(port, ['HEAD /css/main.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
  const { responses, rest } = parseResponses(data, [true]);
  t.is(responses.length, 1);
  t.is(responses[0]!.status, 200);
  t.is(responses[0]!.headers['content-length'], String(file('css/main.css').length));
  t.is(rest.length, 0);
});

test('directories: redirect to the slash form, index, 403 without an index', async (t) => {
  const r = await get('/docs');
  t.is(r.status, 301);
  t.is(r.headers.location, '/docs/');
  t.is((await get('/docs?x=1')).headers.location, '/docs/?x=1');
  t.deepEqual((await get('/docs/')).body, file('docs/index.html'));
  t.deepEqual((await get('/docs/guide/')).body, file('docs/guide/index.html'));
  t.is((await get('/img/')).status, 403);
  t.is((await get('/docs/guide%20')).status, 404);
});

test('missing files: 404 with the site\'s own 404.html; dotfiles are not served', async (t) => {
  const r = await get('/no/such/file.html');
  t.is(r.status, 404);
  t.deepEqual(r.body, file('404.html'));
  t.is((await get('/.env')).status, 404);
  t.is((await get('/docs/.private/notes.txt')).status, 404);
});

test('paths: dot segments, encoded dots, query strings; climbing above the root is 400', async (t) => {
  t.deepEqual((await get('/docs/../about.html?q=1')).body, file('about.html'));
  t.deepEqual((await get('/docs/%2e%2e/about.html')).body, file('about.html'));
  const { data } = await exchange(port, ['GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n']);
  t.is(parseResponses(data).responses[0]?.status, 400);
});

test('other methods: 405 with Allow', async (t) => {
  const r = await get('/', {}, 'POST');
  t.is(r.status, 405);
  t.is(r.headers.allow, 'GET, HEAD');
  const { data } = await exchange(port, ['DELETE / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
  const rs = parseResponses(data).responses;
  t.deepEqual(rs.map((x) => x.status), [405, 200]);
  t.deepEqual(rs[1]!.body, file('robots.txt'));
});

test('keep-alive: one connection serves many requests', async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<net.Socket>();
  for (let i = 0; i < 5; i++) {
    const r = await get('/robots.txt', {}, 'GET', agent);
    t.is(r.status, 200);
    sockets.add(r.socket);
  }
  t.is(sockets.size, 1);
});

test('pipelining: answers in order, also when requests arrive in pieces', async (t) => {
  const reqs = ['/robots.txt', '/js/tiny.js', '/nope', '/docs', '/about.html'];
  const all = reqs.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('') + 'GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const whole = await exchange(port, [all]);
  const pieces = await exchange(port, all.match(/[\s\S]{1,7}/g)!, { gapMs: 1, timeoutMs: 4000 });
  for (const { data, closed } of [whole, pieces]) {
    const { responses, rest } = parseResponses(data);
    t.deepEqual(responses.map((r) => r.status), [200, 200, 404, 301, 200, 200]);
    t.deepEqual(responses[1]!.body, file('js/tiny.js'));
    t.is(rest.length, 0);
    t.true(closed);
  }
});

test('HTTP/1.0: closes unless asked to keep alive; Connection: close is honoured', async (t) => {
  const a = await exchange(port, ['GET /robots.txt HTTP/1.0\r\n\r\n']);
  t.true(a.closed);
  t.is(parseResponses(a.data).responses[0]!.headers.connection, 'close');
  const b = await exchange(port, ['GET /robots.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'], { timeoutMs: 500 });
  t.false(b.closed);
  t.is(parseResponses(b.data).responses[0]!.headers.connection, 'keep-alive');
  const c = await exchange(port, ['GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n']);
  t.true(c.closed);
  t.is(parseResponses(c.data).responses.length, 1);
});

test('conditional requests: If-None-Match and If-Modified-Since give 304 without a body', async (t) => {
  const first = await get('/css/main.css');
  const etag = first.headers.etag!;
  const lm = first.headers['last-modified']!;
  const a = await get('/css/main.css', { 'If-None-Match': etag });
  t.is(a.status, 304);
  t.is(a.body.length, 0);
  t.is(a.headers.etag, etag);
  t.is((await get('/css/main.css', { 'If-None-Match': `"other", W/${etag}` })).status, 304);
  t.is((await get('/css/main.css', { 'If-None-Match': '"other"' })).status, 200);
  t.is((await get('/css/main.css', { 'If-Modified-Since': lm })).status, 304);
  t.is((await get('/css/main.css', { 'If-Modified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT' })).status, 200);
  // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
  t.is((await get('/css/main.css', { 'If-None-Match': '"other"', 'If-Modified-Since': lm })).status, 200);
  t.is((await get('/css/main.css', { 'If-Match': '"other"' })).status, 412);
  t.is((await get('/css/main.css', { 'If-Match': etag })).status, 200);
});

test('compression: gzip and brotli variants by Accept-Encoding, with Vary', async (t) => {
  const plain = file('js/app.js');
  const gz = await get('/js/app.js', { 'Accept-Encoding': 'gzip' });
  t.is(gz.headers['content-encoding'], 'gzip');
  t.true(zlib.gunzipSync(gz.body).equals(plain));
  t.true(gz.body.length < plain.length);
  const br = await get('/js/app.js', { 'Accept-Encoding': 'gzip, deflate, br' });
  t.is(br.headers['content-encoding'], 'br');
  t.true(zlib.brotliDecompressSync(br.body).equals(plain));
  t.not(br.headers.etag, gz.headers.etag);
  const none = await get('/js/app.js', { 'Accept-Encoding': 'gzip;q=0, br;q=0' });
  t.is(none.headers['content-encoding'], undefined);
  t.true(none.body.equals(plain));
  t.is(none.headers.vary, 'Accept-Encoding');
  const png = await get('/img/logo.png', { 'Accept-Encoding': 'gzip, br' });
  t.is(png.headers['content-encoding'], undefined);
  t.is(png.headers.vary, undefined);
  // a 304 for the gzip representation
  t.is((await get('/js/app.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag! })).status, 304);
});

test('ranges: 206 with Content-Range, 416, If-Range', async (t) => {
  const big = file('downloads/big.bin');
  const r = await get('/downloads/big.bin', { Range: 'bytes=1000-1999' });
  t.is(r.status, 206);
  t.is(r.headers['content-range'], `bytes 1000-1999/${big.length}`);
  t.true(r.body.equals(big.subarray(1000, 2000)));
  const tail = await get('/downloads/big.bin', { Range: 'bytes=-100' });
  t.true(tail.body.equals(big.subarray(big.length - 100)));
  const bad = await get('/downloads/big.bin', { Range: `bytes=${big.length}-` });
  t.is(bad.status, 416);
  t.is(bad.headers['content-range'], `bytes */${big.length}`);
  const etag = (await get('/downloads/big.bin', {}, 'HEAD')).headers.etag!;
  t.is((await get('/downloads/big.bin', { Range: 'bytes=0-9', 'If-Range': etag })).status, 206);
  t.is((await get('/downloads/big.bin', { Range: 'bytes=0-9', 'If-Range': '"stale"' })).status, 200);
  t.is((await get('/downloads/big.bin', { Range: 'bytes=0-9,20-29' })).status, 200);
  t.is((await get('/downloads/big.bin', { Range: 'bytes=0-9' }, 'HEAD')).status, 200);
});

test('bad requests: 400, 414, 431, 505, and the connection is closed', async (t) => {
  const cases: Array<[string, number]> = [
    ['GARBAGE\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\n\r\n', 400], // no Host
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    [`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(9000)}\r\n\r\n`, 431],
    [`GET / HTTP/1.1\r\nHost: x\r\n${'X-Many: 1234567890\r\n'.repeat(500)}\r\n`, 431],
    ['GET / HTTP/1.2\r\nHost: x\r\n\r\n', 505],
    ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
  ];
  for (const [req, status] of cases) {
    const { data, closed } = await exchange(port, [req]);
    const r = parseResponses(data).responses[0];
    t.is(r?.status, status, JSON.stringify(req.slice(0, 40)));
    t.is(r?.headers.connection, 'close');
    t.true(closed);
  }
});

test('backpressure: a slow reader gets every byte, in order', async (t) => {
  const big = file('downloads/big.bin');
  const body = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.write('GET /downloads/big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /downloads/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    s.pause();
    setTimeout(() => s.resume(), 300);
    s.on('data', (c) => {
      chunks.push(c);
      s.pause();
      setTimeout(() => s.resume(), 1);
    });
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
  const rs = parseResponses(body).responses;
  t.is(rs.length, 2);
  t.true(rs[0]!.body.equals(big) && rs[1]!.body.equals(big));
});

test('the CLI serves an image and stops cleanly on SIGTERM', async (t) => {
  const srv = spawn(process.execPath, [CLI, 'serve', imagePath, '--http', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  srv.stdout.on('data', (c) => { out += c; });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 10_000);
    srv.stdout.on('data', () => {
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
  });
  const res = await fetch(url + 'robots.txt');
  t.is(await res.text(), file('robots.txt').toString());
  const code = await new Promise<number | null>((resolve) => {
    srv.on('exit', (c) => resolve(c));
    srv.kill('SIGTERM');
  });
  t.is(code, 0);
});
