import test from 'ava';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildInputError } from '../../../basics/errors.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import { partialSum } from '../../../basics/checksum.js';
import { loadImage } from '../../../specializers/image/format.js';
import { DEFAULT_HTTP_OPTIONS, prepare } from '../../../specializers/http/compile.js';
import * as L from '../../../specializers/http/layout.js';
import { buildTestImage, FIXTURE_SITE, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('compile');
test.after.always(tmp.cleanup);
let tables: HttpTables;
test.before(async () => {
  const p = await buildTestImage(join(tmp.dir, 'site.apl'), [{ host: null, dir: FIXTURE_SITE }]);
  tables = new HttpTables(loadImage(p));
});

function key(s: string): [Uint8Array, number] {
  const b = Buffer.from(s, 'utf8');
  return [b, b.length];
}

function route(path: string, site = 0): number {
  const [k, n] = key(path);
  return tables.lookup(site, k, n);
}

test('every file, directory and index of the fixture site has a route; dotfiles do not', (t) => {
  for (const p of ['/', '/index.html', '/docs', '/docs/', '/docs/guide/', '/docs/guide/chapter one.html', '/docs/ünïcödé.txt',
    '/docs/README', '/downloads/big.bin', '/data/empty.txt', '/img/', '/img']) {
    t.true(route(p) >= 0, p);
  }
  for (const p of ['/.env', '/.hidden/secret.txt', '/docs/.private/notes.txt', '/nope', '/index.htm', '/DOCS/']) {
    t.is(route(p), -1, p);
  }
  const img = tables.routes[route('/img/') * L.ROUTE_WORDS + L.ROUTE_KIND];
  t.is(img, L.KIND_FORBIDDEN);
  t.is(tables.routes[route('/img') * L.ROUTE_WORDS + L.ROUTE_KIND], L.KIND_REDIRECT);
});

test('stored segment sums are the RFC 1071 sums of the bytes, and the segments tile each response', (t) => {
  const r = tables.responses;
  const nResp = r.length / L.RESPONSE_WORDS;
  let checked = 0;
  for (let i = 0; i < nResp; i++) {
    const a = i * L.RESPONSE_WORDS;
    const start = r[a + L.RESP_HEAD_OFF]!;
    const total = r[a + L.RESP_HEAD_LEN]! + r[a + L.RESP_BODY_LEN]!;
    for (const [at, count, mss] of [[L.RESP_SEG4_AT, L.RESP_SEG4_COUNT, L.MSS_IPV4], [L.RESP_SEG6_AT, L.RESP_SEG6_COUNT, L.MSS_IPV6]] as const) {
      let expect = start;
      for (let s = r[a + at]!, end = s + r[a + count]!; s < end; s++) {
        const off = tables.segments[s * L.SEGMENT_WORDS + L.SEG_OFF]!;
        const w = tables.segments[s * L.SEGMENT_WORDS + L.SEG_LEN_SUM]!;
        const len = w >>> 16;
        t.is(off, expect);
        t.true(len > 0 && len <= mss);
        if ((w & 0xffff) !== partialSum(tables.blob, off, len)) t.fail(`response ${i} segment ${s}: stored sum is wrong`);
        expect += len;
        checked++;
      }
      t.is(expect, start + total, `response ${i} mss ${mss}`);
    }
  }
  t.true(checked > 2000);
});

test('header blocks carry Date and Connection at the recorded offsets', (t) => {
  const r = tables.responses;
  for (let i = 0; i < r.length / L.RESPONSE_WORDS; i++) {
    const a = i * L.RESPONSE_WORDS;
    const head = Buffer.from(tables.blob.subarray(r[a + L.RESP_HEAD_OFF]!, r[a + L.RESP_HEAD_OFF]! + r[a + L.RESP_HEAD_LEN]!)).toString('latin1');
    t.regex(head, /^HTTP\/1\.1 \d{3} [A-Za-z ]+\r\n/);
    t.true(head.endsWith('\r\n\r\n'));
    t.regex(head.slice(r[a + L.RESP_DATE_AT]!, r[a + L.RESP_DATE_AT]! + L.DATE_LEN), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    const conn = head.slice(r[a + L.RESP_CONN_AT]!, r[a + L.RESP_CONN_AT]! + L.CONN_LEN);
    t.true(conn === L.CONN_KEEP_ALIVE || conn === L.CONN_CLOSE);
    if (r[a + L.RESP_FLAGS]! & L.RESP_FLAG_HEAD) t.is(r[a + L.RESP_BODY_LEN], 0);
  }
});

test('compressible files get smaller gzip and brotli variants; binaries do not', (t) => {
  const css = route('/css/main.css') * L.ROUTE_WORDS;
  t.is(tables.routes[css + L.ROUTE_B], 3);
  const first = tables.routes[css + L.ROUTE_A]!;
  const sizes = [0, 1, 2].map((i) => tables.variants[(first + i) * L.VARIANT_WORDS + L.VAR_BODY_LEN]!);
  t.true(sizes[1]! < sizes[0]! && sizes[2]! < sizes[0]!);
  t.is(tables.routes[route('/downloads/big.bin') * L.ROUTE_WORDS + L.ROUTE_B], 1);
  t.is(tables.routes[route('/img/logo.png') * L.ROUTE_WORDS + L.ROUTE_B], 1);
  t.is(tables.routes[route('/data/empty.txt') * L.ROUTE_WORDS + L.ROUTE_B], 1);
});

test('virtual hosts: each site has its own routes; the plain --site is the default', async (t) => {
  const d = tempDir('vhost');
  t.teardown(d.cleanup);
  const other = join(d.dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'only-here.txt'), 'other site\n');
  const p = await buildTestImage(join(d.dir, 'v.apl'), [{ host: 'Other.Example', dir: other }, { host: null, dir: FIXTURE_SITE }]);
  const tt = new HttpTables(loadImage(p));
  t.is(tt.siteCount, 2);
  const def = tt.siteFor(undefined);
  const oth = tt.siteFor('other.example:8080');
  t.not(def, oth);
  t.is(tt.siteFor('OTHER.EXAMPLE.'), oth);
  t.is(tt.siteFor('unknown.example'), def);
  const [k, n] = key('/only-here.txt');
  t.true(tt.lookup(oth, k, n) >= 0);
  t.is(tt.lookup(def, k, n), -1);
});

test('dotfiles are served with --include-dotfiles', async (t) => {
  const d = tempDir('dot');
  t.teardown(d.cleanup);
  const { buildImage } = await import('../../../specializers/build.js');
  const out = join(d.dir, 'd.apl');
  await buildImage({ sites: [{ host: null, dir: FIXTURE_SITE }], zones: [], output: out, http: { ...DEFAULT_HTTP_OPTIONS, includeDotfiles: true, brotliQuality: 1 } });
  const tt = new HttpTables(loadImage(out));
  const [k, n] = key('/.env');
  t.true(tt.lookup(0, k, n) >= 0);
});

test('symbolic links that leave the site are refused at build, naming the link', async (t) => {
  const d = tempDir('link');
  t.teardown(d.cleanup);
  const site = join(d.dir, 'site');
  mkdirSync(site);
  writeFileSync(join(d.dir, 'secret.txt'), 'outside');
  writeFileSync(join(site, 'inside.txt'), 'inside');
  symlinkSync(join(site, 'inside.txt'), join(site, 'alias.txt'));
  const ok = await buildTestImage(join(d.dir, 'ok.apl'), [{ host: null, dir: site }]);
  t.truthy(loadImage(ok));
  symlinkSync('../secret.txt', join(site, 'escape.txt'));
  const e = await t.throwsAsync(buildTestImage(join(d.dir, 'bad.apl'), [{ host: null, dir: site }]), { instanceOf: BuildInputError });
  t.is(e?.code, 'APPL_ERR_SITE_SYMLINK');
  t.true(e?.message.includes('escape.txt'));
  t.throws(() => loadImage(join(d.dir, 'bad.apl')), { code: 'APPL_ERR_IMAGE_OPEN' } as never);
});

test('a file that cannot be read is an error naming the file', async (t) => {
  const e = await t.throwsAsync(prepare({ rel: 'gone.html', abs: '/nonexistent/gone.html', real: '/nonexistent/gone.html', dev: 0, ino: 0, size: 1, mtime: 0 }, DEFAULT_HTTP_OPTIONS), { instanceOf: BuildInputError });
  t.is(e?.code, 'APPL_ERR_SITE_READ');
  t.true(e?.message.includes('/nonexistent/gone.html'));
});
