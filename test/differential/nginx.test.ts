// The differential test of the HTTP side: nginx (Debian's package) and the appliance serve
// the same site on loopback; every file and a list of tricky requests go to both, and what
// a client sees is compared: status, media type, length and body bytes, redirect target.

import test from 'ava';
import { join } from 'node:path';
import { writeNginxConfig } from '../../appliance/bench/nginx.js';
import { HttpSocketServer } from '../../appliance/backends/socket-http.js';
import { HttpTables } from '../../appliance/http/tables.js';
import { loadImage } from '../../specializers/image/format.js';
import { buildTestImage, FIXTURE_SITE, freePort, tempDir } from '../helpers/fixtures.js';
import { exchange, parseResponses, type RawResponse } from '../helpers/http.js';
import { cases, compareResponses, requestBytes } from '../helpers/http-diff.js';
import { hasCommand, startProcess, waitForTcp, type Started } from '../helpers/processes.js';

const haveNginx = hasCommand('nginx');
const tmp = tempDir('nginx');
let nginx: Started | undefined;
let appliance: HttpSocketServer | undefined;
let nginxPort = 0;
let appPort = 0;

test.before(async () => {
  if (!haveNginx) return;
  nginxPort = await freePort();
  const conf = writeNginxConfig({ dir: tmp.dir, listen: [`127.0.0.1:${nginxPort}`], root: FIXTURE_SITE, connections: 64 });
  nginx = startProcess('nginx', ['-e', join(tmp.dir, 'error.log'), '-c', conf, '-g', 'daemon off;']);
  await waitForTcp('127.0.0.1', nginxPort, 10_000, nginx);
  const image = await buildTestImage(join(tmp.dir, 'site.apl'), [{ host: null, dir: FIXTURE_SITE }]);
  appliance = new HttpSocketServer(new HttpTables(loadImage(image)), { host: '127.0.0.1', port: 0, idleTimeoutMs: 5000 });
  appPort = (await appliance.listen()).port;
});

test.after.always(async () => {
  await nginx?.stop();
  await appliance?.close(100);
  tmp.cleanup();
});

test('nginx and the appliance agree on every file and every tricky request', async (t) => {
  if (!haveNginx) {
    t.log('SKIPPED: nginx is not installed (apt-get install nginx); .ci/run installs it');
    t.pass();
    return;
  }
  const mismatches: string[] = [];
  const all = cases();
  for (const c of all) {
    const ask = async (port: number): Promise<RawResponse | undefined> =>
      parseResponses((await exchange(port, [requestBytes(c)], { timeoutMs: 3000 })).data, [c.method === 'HEAD']).responses[0];
    const [n, a] = await Promise.all([ask(nginxPort), ask(appPort)]);
    const what = `${c.method} ${JSON.stringify(c.target)} ${(c.headers ?? '').trim()}`;
    if (!n || !a) {
      mismatches.push(`${what}: no response (nginx ${!!n}, appliance ${!!a})`);
      continue;
    }
    const diffs = compareResponses(n, a, c);
    if (diffs.length) mismatches.push(`${what}: ${diffs.join('; ')}`);
  }
  t.log(`${all.length} requests compared`);
  t.deepEqual(mismatches, []);
});

/** Pipelined exchanges nginx and the appliance must frame alike: bodies on GET and HEAD, chunked bodies, bare LF. */
const FRAMING: Array<{ name: string; bytes: string; bodyless?: boolean[] }> = [
  { name: 'GET with Content-Length, then a GET', bytes: 'GET /robots.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
  { name: 'HEAD with Content-Length, then a GET', bytes: 'HEAD /robots.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', bodyless: [true] },
  { name: 'GET with a chunked body, then a GET', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
  { name: 'chunked body with trailers', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
  { name: 'POST with a body: 405, then a GET', bytes: 'POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello worldGET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
  { name: 'bare LF line ends', bytes: 'GET /robots.txt HTTP/1.1\nHost: x\n\nGET /index.html HTTP/1.1\nHost: x\nConnection: close\n\n' },
  { name: 'mixed CRLF and LF', bytes: 'GET /robots.txt HTTP/1.1\r\nHost: x\nAccept: */*\r\n\nGET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
  { name: 'empty lines before a request', bytes: '\r\n\nGET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
  { name: 'Content-Length and Transfer-Encoding together', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' },
];

test('nginx and the appliance frame pipelined requests alike: bodies discarded, chunked, bare LF', async (t) => {
  if (!haveNginx) {
    t.log('SKIPPED: nginx is not installed (apt-get install nginx); .ci/run installs it');
    t.pass();
    return;
  }
  const mismatches: string[] = [];
  for (const c of FRAMING) {
    const [n, a] = await Promise.all([nginxPort, appPort].map(async (port) => {
      const { data } = await exchange(port, [Buffer.from(c.bytes, 'latin1')], { timeoutMs: 2000 });
      // Bodies of 2xx are the site's bytes and must agree; error pages are each server's own.
      return parseResponses(data, c.bodyless ?? []).responses.map((r) => (r.status < 300 ? `${r.status}:${r.body.length}` : String(r.status)));
    }));
    t.log(`${c.name}: nginx ${n!.join(' ')}; appliance ${a!.join(' ')}`);
    if (n!.join(' ') !== a!.join(' ')) mismatches.push(`${c.name}: nginx ${n!.join(' ')} vs appliance ${a!.join(' ')}`);
  }
  t.deepEqual(mismatches, []);
});
