// The build cache (specializers/build-cache.ts): a rebuild from it is byte for byte a
// clean build (no cache) of the same inputs, whatever changed in between; a change
// invalidates exactly the entries derived from what changed (counted: entries read,
// missed, written); a damaged entry (a flipped byte, a truncation, garbage, another
// entry's bytes) is detected, recomputed and never served; builds at once sharing a
// cache neither corrupt it nor leave files behind; the cache is kept within its limit.
//
// The site: a page and a stylesheet that compress (gzip, brotli and piece-sums entries
// each), a one-byte text (its variants are not worth keeping: two empty entries, and its
// pieces) and an image (not compressible: its pieces only): 10 entries.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isApplianceError } from '../../basics/errors.js';
import { BuildCache, cacheKey } from '../../specializers/build-cache.js';
import { buildImage, type BuildResult } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS, type HttpBuildOptions } from '../../specializers/http/compile.js';
import { CLI, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../helpers/fixtures.js';

const tmp = tempDir('cache');
test.after.always(tmp.cleanup);

const BUILT_AT = new Date(1_700_000_000_000);
const FILES = 10;
let n = 0;

function page(words: number, seed: number): string {
  const w = ['alpha', 'beta', 'gamma', 'delta', 'segment', 'variant', 'brotli', 'gzip', 'cache', 'zone'];
  let s = seed;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    out.push(w[s % w.length]!);
  }
  return `<!DOCTYPE html>\n<p>${out.join(' ')}</p>\n`;
}

function makeSite(name: string): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.html'), page(4000, 1));
  writeFileSync(join(dir, 'b.css'), `body { margin: 0 }\n${'.x { color: red }\n'.repeat(300)}`);
  writeFileSync(join(dir, 'c.txt'), 'x');
  const png = Buffer.alloc(3000);
  for (let i = 0; i < png.length; i++) png[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(dir, 'd.png'), png);
  for (const f of readdirSync(dir)) utimesSync(join(dir, f), 1_600_000_000, 1_600_000_000);
  return dir;
}

interface Built { bytes: Buffer; result: BuildResult }

async function build(site: string, cache: string | null, http: Partial<HttpBuildOptions> = {}, limit?: number): Promise<Built> {
  const output = join(tmp.dir, `image-${n++}.apl`);
  const result = await buildImage({
    sites: [{ host: null, dir: site }], zones: [], output, builtAt: BUILT_AT,
    http: { ...DEFAULT_HTTP_OPTIONS, concurrency: 2, ...http },
    cache: cache === null ? null : { dir: cache, limit },
  });
  return { bytes: readFileSync(output), result };
}

/** Builds with the cache and without; the two images must be the same bytes. Returns the cached build's counts. */
async function sameAsClean(t: ExecutionContext, site: string, cache: string, http: Partial<HttpBuildOptions> = {}): Promise<{ hits: number; misses: number; damaged: number; written: number; compressed: number }> {
  const cached = await build(site, cache, http);
  const clean = await build(site, null, http);
  t.true(cached.bytes.equals(clean.bytes), 'the image built from the cache is the clean build, byte for byte');
  const s = cached.result.cache!.stats;
  return { hits: s.hits, misses: s.misses, damaged: s.damaged, written: s.written, compressed: cached.result.http!.compressedFiles };
}

function entryFiles(cache: string): string[] {
  const root = join(cache, 'v1');
  return readdirSync(root).flatMap((p) => readdirSync(join(root, p)).map((f) => join(root, p, f))).sort();
}

test('a cached rebuild is the clean build byte for byte, and reads everything from the cache', async (t) => {
  const site = makeSite('same');
  const cache = join(tmp.dir, 'c-same');
  const first = await sameAsClean(t, site, cache);
  t.deepEqual(first, { hits: 0, misses: FILES, damaged: 0, written: FILES, compressed: 3 });
  const again = await sameAsClean(t, site, cache);
  t.deepEqual(again, { hits: FILES, misses: 0, damaged: 0, written: 0, compressed: 0 });
  t.is(entryFiles(cache).length, FILES);
});

test('the fixture site and zones: a cached rebuild is the clean build byte for byte', async (t) => {
  const cache = join(tmp.dir, 'c-fixtures');
  const zones = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => ({ origin: null, file: join(FIXTURE_ZONES, f) }));
  const go = async (c: string | null): Promise<Buffer> => {
    const output = join(tmp.dir, `fixtures-${n++}.apl`);
    await buildImage({ sites: [{ host: null, dir: FIXTURE_SITE }], zones, output, builtAt: BUILT_AT, http: { ...DEFAULT_HTTP_OPTIONS, brotliQuality: 5 }, cache: c ? { dir: c } : null });
    return readFileSync(output);
  };
  const clean = await go(null);
  t.true((await go(cache)).equals(clean), 'cold cache');
  t.true((await go(cache)).equals(clean), 'warm cache');
});

test('a damaged entry is detected, recomputed and never served: a flipped byte, a truncation, garbage, another entry\'s bytes', async (t) => {
  const site = makeSite('damage');
  const cache = join(tmp.dir, 'c-damage');
  await build(site, cache);
  const entries = entryFiles(cache);
  const largest = entries.reduce((a, b) => (statSync(a).size >= statSync(b).size ? a : b));
  const damage: Array<[string, (p: string) => void]> = [
    ['a flipped payload byte', (p) => { const b = readFileSync(p); b[b.length - 5] ^= 0x40; writeFileSync(p, b); }],
    ['a flipped header byte', (p) => { const b = readFileSync(p); b[20] ^= 1; writeFileSync(p, b); }],
    ['a truncation', (p) => { const b = readFileSync(p); writeFileSync(p, b.subarray(0, b.length - 1)); }],
    ['garbage', (p) => writeFileSync(p, 'not an entry')],
    ['empty', (p) => writeFileSync(p, '')],
    ['another entry\'s bytes', (p) => writeFileSync(p, readFileSync(entries.find((e) => e !== p && statSync(e).size > 88)!))],
  ];
  for (const [what, harm] of damage) {
    harm(largest);
    const c = await sameAsClean(t, site, cache);
    t.is(c.damaged, 1, what);
    t.is(c.misses, 0, what);
    t.is(c.written, 1, `${what}: written again`);
    const after = await sameAsClean(t, site, cache);
    t.deepEqual([after.damaged, after.misses, after.hits], [0, 0, FILES], `${what}: whole again`);
  }
});

test('what changed is recomputed, and only that: a changed, a removed, a renamed, a retyped file, a new mtime', async (t) => {
  const site = makeSite('change');
  const cache = join(tmp.dir, 'c-change');
  await build(site, cache);

  writeFileSync(join(site, 'a.html'), page(4000, 2));
  t.deepEqual(await sameAsClean(t, site, cache), { hits: FILES - 3, misses: 3, damaged: 0, written: 3, compressed: 1 }, 'changed: its gzip, brotli and pieces');

  unlinkSync(join(site, 'b.css'));
  t.deepEqual(await sameAsClean(t, site, cache), { hits: FILES - 3, misses: 0, damaged: 0, written: 0, compressed: 0 }, 'removed: nothing to make');
  writeFileSync(join(site, 'b.css'), `body { margin: 0 }\n${'.x { color: red }\n'.repeat(300)}`);
  utimesSync(join(site, 'b.css'), 1_600_000_000, 1_600_000_000);
  t.deepEqual(await sameAsClean(t, site, cache), { hits: FILES, misses: 0, damaged: 0, written: 0, compressed: 0 }, 'back: all still there');

  mkdirSync(join(site, 'moved'));
  renameSync(join(site, 'a.html'), join(site, 'moved', 'renamed.html'));
  t.deepEqual(await sameAsClean(t, site, cache), { hits: FILES, misses: 0, damaged: 0, written: 0, compressed: 0 }, 'renamed (same type): the same entries');

  // A stylesheet (an asset: brotli 11) renamed to .txt (a document: brotli 10, another
  // Content-Type): its brotli variant and its pieces are made again, its gzip is not.
  renameSync(join(site, 'b.css'), join(site, 'b.txt'));
  t.deepEqual(await sameAsClean(t, site, cache), { hits: FILES - 2, misses: 2, damaged: 0, written: 2, compressed: 1 }, 'retyped: brotli and pieces');

  utimesSync(join(site, 'c.txt'), 1_650_000_000, 1_650_000_000);
  t.deepEqual(await sameAsClean(t, site, cache), { hits: FILES, misses: 0, damaged: 0, written: 0, compressed: 0 }, 'a new mtime: Last-Modified has a fixed width');
});

test('changed settings invalidate what they shape: the gzip level its gzip entries, the brotli quality its brotli entries, and the pieces of the bodies that changed', async (t) => {
  const site = makeSite('settings');
  const cache = join(tmp.dir, 'c-settings');
  await build(site, cache);
  // Three compressible files: their gzip entries, and the pieces of the two whose gzip is kept.
  t.deepEqual(await sameAsClean(t, site, cache, { gzipLevel: 1 }), { hits: FILES - 5, misses: 5, damaged: 0, written: 5, compressed: 3 }, 'gzip level');
  t.deepEqual(await sameAsClean(t, site, cache, { gzipLevel: 1, brotliQuality: 3 }), { hits: FILES - 5, misses: 5, damaged: 0, written: 5, compressed: 3 }, 'brotli quality');
  t.deepEqual(await sameAsClean(t, site, cache), { hits: FILES, misses: 0, damaged: 0, written: 0, compressed: 0 }, 'back to the defaults: all still there');
  t.deepEqual(await sameAsClean(t, site, cache, { concurrency: 1 }), { hits: FILES, misses: 0, damaged: 0, written: 0, compressed: 0 }, 'threads shape nothing');
});

test('keys: the same parts in any order are one key; any part changed is another', (t) => {
  t.is(cacheKey({ a: 1, b: 'x' }), cacheKey({ b: 'x', a: 1 }));
  t.not(cacheKey({ a: 1, b: 'x' }), cacheKey({ a: 2, b: 'x' }));
  t.not(cacheKey({ a: 1 }), cacheKey({ a: '1' }));
  t.regex(cacheKey({}), /^[0-9a-f]{64}$/);
});

function cliBuild(site: string, cache: string, out: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, 'build', '-q', '--site', site, '--cache', cache, '-o', out], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => resolve({ status, stderr }));
  });
}

test('builds at once sharing one cache (CLI, four processes): the same images, a whole cache, no temporary files left', async (t) => {
  const site = makeSite('concurrent');
  for (let i = 0; i < 20; i++) writeFileSync(join(site, `p${i}.html`), page(3000, 100 + i));
  const cache = join(tmp.dir, 'c-concurrent');
  const outs = [0, 1, 2, 3].map((i) => join(tmp.dir, `concurrent-${i}.apl`));
  const runs = await Promise.all(outs.map((o) => cliBuild(site, cache, o)));
  for (const r of runs) t.is(r.status, 0, r.stderr);
  const first = readFileSync(outs[0]!);
  for (const o of outs.slice(1)) t.true(readFileSync(o).equals(first), o);
  const entries = entryFiles(cache);
  t.deepEqual(entries.filter((e) => e.includes('.tmp-')), [], 'no temporary file left');
  const check = new BuildCache(cache);
  for (const e of entries) t.not(check.get(e.slice(-64)), null, `${e} reads back whole`);
  t.is(check.stats.damaged, 0);
  const again = await build(site, cache);
  t.is(again.result.cache!.stats.misses, 0);
});

test('the cache is kept within its limit, least recently used first; stale temporary files go', async (t) => {
  const site = makeSite('limit');
  const cache = join(tmp.dir, 'c-limit');
  const full = await build(site, cache);
  const total = full.result.cache!.held.bytes;
  t.is(full.result.cache!.held.entries, FILES);
  // Every entry made old; then a build of the site without its page and stylesheet but
  // with a new page, limited to what the first build wrote: it reads (and so refreshes)
  // what it uses, writes the new page's, and the unused old entries go to make room.
  const old = Date.now() / 1000 - 86_400;
  for (const e of entryFiles(cache)) utimesSync(e, old, old);
  const stale = join(cache, 'v1', 'ab', `.${'ab'.repeat(32)}.tmp-1-deadbeef`);
  mkdirSync(join(cache, 'v1', 'ab'), { recursive: true });
  writeFileSync(stale, 'left by a build that died');
  utimesSync(stale, old, old);
  unlinkSync(join(site, 'a.html'));
  unlinkSync(join(site, 'b.css'));
  writeFileSync(join(site, 'e.html'), page(4000, 9));
  const limited = await build(site, cache, {}, total);
  const held = limited.result.cache!.held;
  t.true(held.bytes <= total, `${held.bytes} ≤ ${total}`);
  t.true(held.removed > 0);
  t.throws(() => statSync(stale), undefined, 'the stale temporary file is gone');
  const fresh = await build(site, cache, {}, total);
  t.is(fresh.result.cache!.stats.misses, 0, 'what the last build used is what was kept');
  t.true(fresh.bytes.equals((await build(site, null)).bytes));
});

test('a cache path that is not a directory is a usage error; a cache that cannot be written is a warning, and the build goes on', async (t) => {
  const site = makeSite('unwritable');
  const file = join(tmp.dir, 'not-a-dir');
  writeFileSync(file, 'x');
  const e = await t.throwsAsync(build(site, file));
  t.true(isApplianceError(e) && e.code === 'APPL_ERR_USAGE');
  t.regex(e!.message, /not a directory/);
  const blocked = join(tmp.dir, 'c-blocked');
  mkdirSync(blocked);
  writeFileSync(join(blocked, 'v1'), 'in the way');
  const r = await build(site, blocked);
  t.true(r.bytes.equals((await build(site, null)).bytes));
  t.is(r.result.warnings.filter((w) => w.includes('cannot write to the build cache')).length, 1, r.result.warnings.join('\n'));
  rmSync(join(blocked, 'v1'));
});
