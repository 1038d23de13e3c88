// The HTTP differential's cases and its comparison (nginx and the appliance on the same
// site): every file of the fixture site and a list of tricky requests, sent with
// Connection: close; what a client sees is compared — status, media type, length and body
// bytes of what has one, the range, the redirect target.

import { siteFiles } from './fixtures.js';
import type { RawResponse } from './http.js';

/** Media types the two servers name differently for the same thing (both registered). */
const SAME_TYPE: Record<string, string> = {
  'application/javascript': 'text/javascript', // RFC 9239 made text/javascript the one to use
  'image/x-icon': 'image/vnd.microsoft.icon',
  'text/xml': 'application/xml',
  'application/gzip': 'application/octet-stream', // nginx's mime.types has no .gz
};

export function mediaType(r: RawResponse): string | undefined {
  const t = r.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return t === undefined ? undefined : SAME_TYPE[t] ?? t;
}

export interface Case { method: string; target: string; headers?: string; note?: string }

export function cases(): Case[] {
  const list: Case[] = [];
  for (const p of siteFiles().map((f) => '/' + f.split('/').map(encodeURIComponent).join('/'))) {
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


/** The request bytes of a case. */
export function requestBytes(c: Case): Buffer {
  return Buffer.from(`${c.method} ${c.target} HTTP/1.1\r\nHost: localhost\r\n${c.headers ?? ''}Connection: close\r\n\r\n`, 'latin1');
}

/** How the appliance's response differs from nginx's (empty: alike). */
export function compareResponses(n: RawResponse, a: RawResponse, c: Case): string[] {
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
  return diffs;
}
