// The differential test of the HTTP side: nginx (Debian's package) and the appliance serve
// the same site on loopback; every file and a list of tricky requests go to both, and what
// a client sees is compared: status, media type, length and body bytes, redirect target.

import test from 'ava';
import { writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { HttpSocketServer } from '../../appliance/backends/socket-http.js';
import { HttpTables } from '../../appliance/http/tables.js';
import { loadImage } from '../../specializers/image/format.js';
import { buildTestImage, FIXTURE_SITE, freePort, tempDir } from '../helpers/fixtures.js';
import { exchange, parseResponses, type RawResponse } from '../helpers/http.js';
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
  const conf = join(tmp.dir, 'nginx.conf');
  writeFileSync(conf, `
user root;
worker_processes 1;
pid ${tmp.dir}/nginx.pid;
error_log ${tmp.dir}/error.log;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path ${tmp.dir}/body;
  proxy_temp_path ${tmp.dir}/proxy;
  fastcgi_temp_path ${tmp.dir}/fastcgi;
  uwsgi_temp_path ${tmp.dir}/uwsgi;
  scgi_temp_path ${tmp.dir}/scgi;
  absolute_redirect off;
  server {
    listen 127.0.0.1:${nginxPort};
    root ${FIXTURE_SITE};
    error_page 404 /404.html;
    location ~ /\\. { return 404; }
  }
}
`);
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

/** Media types the two servers name differently for the same thing (both registered). */
const SAME_TYPE: Record<string, string> = {
  'application/javascript': 'text/javascript', // RFC 9239 made text/javascript the one to use
  'image/x-icon': 'image/vnd.microsoft.icon',
  'text/xml': 'application/xml',
  'application/gzip': 'application/octet-stream', // nginx's mime.types has no .gz
};

function mediaType(r: RawResponse): string | undefined {
  const t = r.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return t === undefined ? undefined : SAME_TYPE[t] ?? t;
}

function sitePaths(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push('/' + relative(FIXTURE_SITE, p).split('/').map(encodeURIComponent).join('/'));
    }
  };
  walk(FIXTURE_SITE);
  return out;
}

async function ask(port: number, method: string, target: string, headers: string): Promise<RawResponse | undefined> {
  const { data } = await exchange(port, [Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n`, 'latin1')], { timeoutMs: 3000 });
  return parseResponses(data, [method === 'HEAD']).responses[0];
}

interface Case { method: string; target: string; headers?: string; note?: string }

function cases(): Case[] {
  const list: Case[] = [];
  for (const p of sitePaths()) {
    list.push({ method: 'GET', target: p }, { method: 'HEAD', target: p });
  }
  const tricky = [
    '/', '/docs', '/docs/', '/docs/guide', '/docs/guide/', '/img', '/img/', '/assets/styles',
    '/missing.html', '/docs/missing/', '/docs/guide/chapter one.html'.replace(/ /g, '%20'),
    '/docs/./guide/../index.html', '/docs//guide///index.html', '/docs/%2e%2e/about.html', '/a/b/../../robots.txt',
    '/../robots.txt', '/docs/../../robots.txt', '/%2e%2e/robots.txt',
    '/robots.txt?query=1', '/docs?x=1&y=2', '/index.html#frag',
    '/%72obots.txt', '/docs/%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt', '/docs/100%25%20done.txt',
    '/.env', '/.hidden/secret.txt', '/docs/.private/notes.txt', '/data/empty.txt', '/404.html',
  ];
  for (const p of tricky) list.push({ method: 'GET', target: p }, { method: 'HEAD', target: p });
  list.push({ method: 'GET', target: Buffer.from('/docs/ünïcödé.txt', 'utf8').toString('latin1'), note: 'raw UTF-8 in the request line' });
  for (const range of ['bytes=0-99', 'bytes=100-', 'bytes=-50', 'bytes=0-0', 'bytes=1572000-1600000', 'bytes=99999999-', 'bytes=5-1']) {
    list.push({ method: 'GET', target: '/downloads/big.bin', headers: `Range: ${range}\r\n` });
    list.push({ method: 'GET', target: '/robots.txt', headers: `Range: ${range}\r\n` });
  }
  return list;
}

test('nginx and the appliance agree on every file and every tricky request', async (t) => {
  if (!haveNginx) {
    t.log('SKIPPED: nginx is not installed (apt-get install nginx); .ci/run installs it');
    t.pass();
    return;
  }
  const mismatches: string[] = [];
  const all = cases();
  for (const c of all) {
    const headers = c.headers ?? '';
    const [n, a] = await Promise.all([ask(nginxPort, c.method, c.target, headers), ask(appPort, c.method, c.target, headers)]);
    const what = `${c.method} ${JSON.stringify(c.target)} ${headers.trim()}`;
    if (!n || !a) {
      mismatches.push(`${what}: no response (nginx ${!!n}, appliance ${!!a})`);
      continue;
    }
    const diffs: string[] = [];
    if (n.status !== a.status) diffs.push(`status ${n.status} vs ${a.status}`);
    if ((n.status === 200 || n.status === 206 || n.status === 404) && mediaType(n) !== mediaType(a)) {
      diffs.push(`type ${mediaType(n)} vs ${mediaType(a)}`);
    }
    if (n.status === 200 || n.status === 206 || (n.status === 404 && c.method === 'GET')) {
      if (n.headers['content-length'] !== a.headers['content-length']) diffs.push(`length ${n.headers['content-length']} vs ${a.headers['content-length']}`);
      if (!n.body.equals(a.body)) diffs.push('body bytes differ');
    }
    if (n.status === 206 && n.headers['content-range'] !== a.headers['content-range']) diffs.push(`range ${n.headers['content-range']} vs ${a.headers['content-range']}`);
    if (n.status === 301) {
      const path = (l: string | undefined): string => decodeURIComponent(new URL(l ?? '', 'http://x').pathname + new URL(l ?? '', 'http://x').search);
      if (path(n.headers.location) !== path(a.headers.location)) diffs.push(`location ${n.headers.location} vs ${a.headers.location}`);
    }
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
