// The lean llhttp binding against the package's own wrapper, on the same heads: the same
// errno, method, version, keep-alive, target, and field names and values (the wrapper
// decodes as UTF-8, the binding as latin1: the corpus's fields are ASCII, as the bytes
// above 0x7f in a target are percent-encoded first).

import test from 'ava';
import { createParser, TYPE, type HeadersComplete } from 'llhttp-wasm';
import { HeadParser } from '../../../appliance/http/llhttp.js';

const HEADS = [
  'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'HEAD /x?y=1 HTTP/1.0\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAccept-Encoding: gzip, br\r\n\r\n',
  'GET /a HTTP/1.1\r\nhost:a\r\nX-Empty:\r\nX-Sp:   v  \r\n\r\n',
  'GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'GET /u HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
  'GET / HTTP/1.1\r\nHost a\r\n\r\n',
  'GET  / HTTP/1.1\r\n\r\n',
  'GET / HTTP/1.1\r\n Host: a\r\n\r\n',
  'BREW / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n',
  `GET /${'a'.repeat(4000)} HTTP/1.1\r\nHost: a\r\n${Array.from({ length: 200 }, (_, i) => `X-${i}: ${i}\r\n`).join('')}\r\n`,
];

function viaWrapper(head: Buffer): { ret: number; m: HeadersComplete | undefined } {
  const p = createParser(TYPE.REQUEST);
  let m: HeadersComplete | undefined;
  p.onHeadersComplete = (x) => { m = x; return 0; };
  const ret = p.execute(head);
  p.destroy();
  return { ret, m };
}

test('the binding reads every head as the package wrapper does', (t) => {
  const hp = new HeadParser();
  for (const text of HEADS) {
    const head = Buffer.from(text, 'latin1');
    const w = viaWrapper(head);
    const ret = hp.execute(hp.load(head, 0, head.length));
    t.is(ret, w.ret, text);
    t.is(hp.complete, w.m !== undefined, text);
    if (!w.m) continue;
    t.is(hp.major, w.m.versionMajor);
    t.is(hp.minor, w.m.versionMinor);
    t.is(hp.method, w.m.method ?? -1);
    t.is(hp.keepAlive, w.m.shouldKeepAlive, text);
    t.is(hp.target(), w.m.url ?? "");
    const fields: string[] = [];
    for (let i = 0; i < hp.count; i++) {
      fields.push(hp.mem.toString('latin1', hp.fields[i * 4]!, hp.fields[i * 4]! + hp.fields[i * 4 + 1]!), hp.value(i));
    }
    t.deepEqual(fields, w.m.rawHeaders, text);
  }
  hp.destroy();
});

test('bytes above 0x7f in the target are percent-encoded before llhttp sees them; those in field values are kept', (t) => {
  const hp = new HeadParser();
  const head = Buffer.concat([Buffer.from('GET /caf'), Buffer.from([0xc3, 0xa9]), Buffer.from(' HTTP/1.1\r\nHost: a\r\nX: '), Buffer.from([0xe9]), Buffer.from('\r\n\r\n')]);
  t.is(hp.execute(hp.load(head, 0, head.length)), 0);
  t.is(hp.target(), '/caf%C3%A9');
  t.true(hp.nameIs(1, 'x'));
  t.is(hp.value(1), '\u00e9');
  hp.destroy();
});

test('parsers share one module and its input area; version and method are each parser\'s own', (t) => {
  const a = new HeadParser(), b = new HeadParser();
  const ha = Buffer.from('GET /a HTTP/1.1\r\nHost: a\r\n\r\n'), hb = Buffer.from('HEAD /b HTTP/1.0\r\n\r\n');
  a.execute(a.load(ha, 0, ha.length));
  t.is(a.target(), '/a');
  b.execute(b.load(hb, 0, hb.length));
  t.is(b.target(), '/b');
  t.is(b.minor, 0);
  t.is(a.minor, 1);
  t.is(a.method, 1);
  t.is(b.method, 2);
  a.destroy();
  b.destroy();
});
