import test from 'ava';
import { encodePath, MAX_PATH_BYTES, normalizePath, PATH_BAD, targetAuthority } from '../../../specializers/http/path.js';

const out = new Uint8Array(MAX_PATH_BYTES);
function norm(target: string): string | null {
  const n = normalizePath(target, out);
  return n === PATH_BAD ? null : Buffer.from(out.subarray(0, n)).toString('utf8');
}

test('plain paths are kept', (t) => {
  t.is(norm('/'), '/');
  t.is(norm('/index.html'), '/index.html');
  t.is(norm('/docs/'), '/docs/');
  t.is(norm('/docs'), '/docs');
});

test('query and fragment play no part', (t) => {
  t.is(norm('/a.html?x=1&y=/../..'), '/a.html');
  t.is(norm('/a.html#frag'), '/a.html');
  t.is(norm('/?'), '/');
});

test('percent-decoding, including UTF-8 and spaces', (t) => {
  t.is(norm('/docs/chapter%20two.html'), '/docs/chapter two.html');
  t.is(norm('/docs/%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt'), '/docs/ünïcödé.txt');
  t.is(norm('/docs/100%25%20done.txt'), '/docs/100% done.txt');
  t.is(norm('/%7e%7E'), '/~~');
});

test('malformed or NUL escapes are refused', (t) => {
  t.is(norm('/a%zz'), null);
  t.is(norm('/a%2'), null);
  t.is(norm('/a%'), null);
  t.is(norm('/a%00b'), null);
});

test('dot segments are removed (RFC 3986 §5.2.4), slashes merged', (t) => {
  t.is(norm('/a/./b'), '/a/b');
  t.is(norm('/a/b/../c'), '/a/c');
  t.is(norm('/a/b/..'), '/a/');
  t.is(norm('/a/b/.'), '/a/b/');
  t.is(norm('/a//b///c'), '/a/b/c');
  t.is(norm('//a'), '/a');
  t.is(norm('/a/%2e%2e/b'), '/b');
  t.is(norm('/a/%2E/b'), '/a/b');
  t.is(norm('/a%2fb'), '/a/b');
  t.is(norm('/.hidden'), '/.hidden');
  t.is(norm('/a/..b'), '/a/..b');
  t.is(norm('/a/...'), '/a/...');
});

test('a path that climbs above the root is refused', (t) => {
  t.is(norm('/..'), null);
  t.is(norm('/../etc/passwd'), null);
  t.is(norm('/a/../../b'), null);
  t.is(norm('/%2e%2e/x'), null);
  t.is(norm('/a/%2e%2e%2f%2e%2e/x'), null);
});

test('absolute-form targets: the path and the authority', (t) => {
  t.is(norm('http://example.com/a/b'), '/a/b');
  t.is(norm('HTTP://example.com'), '/');
  t.is(targetAuthority('http://Example.com:8080/x'), 'Example.com:8080');
  t.is(targetAuthority('/x'), undefined);
  t.is(norm('ftp://example.com/x'), null);
  t.is(norm('*'), null);
  t.is(norm('index.html'), null);
});

test('an over-long path is refused, not overflowed', (t) => {
  t.is(norm('/' + 'a'.repeat(MAX_PATH_BYTES + 10)), null);
});

test('encodePath percent-encodes what a Location header cannot carry', (t) => {
  t.is(encodePath(Buffer.from('/docs/chapter two/', 'utf8')), '/docs/chapter%20two/');
  t.is(encodePath(Buffer.from('/ü/', 'utf8')), '/%C3%BC/');
  t.is(encodePath(Buffer.from('/100%/', 'utf8')), '/100%25/');
  t.is(encodePath(Buffer.from('/a-b_c.d~e/', 'utf8')), '/a-b_c.d~e/');
});
