// The site scan and the reading of site files, as an attacker would try them:
//  - a symbolic link whose target is a dotfile, or lies under a dot directory, is a dotfile
//    (env.txt → .env, repo → .git, sub/cfg → ../.git/config): not published unless
//    --include-dotfiles, from the CLI through inspect;
//  - a file swapped after the scan (for a FIFO, a link, another file, or grown) is refused
//    with APPL_ERR_SITE_READ, never read forever nor published;
//  - a name that is not UTF-8 is skipped and reported, not a build failure;
//  - a modification time in the future or before 1970 does not make Last-Modified lie.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildInputError } from '../../../basics/errors.js';
import { DEFAULT_HTTP_OPTIONS, prepare } from '../../../specializers/http/compile.js';
import { scanSite, type SiteFile } from '../../../specializers/http/site-scan.js';
import * as L from '../../../specializers/http/layout.js';
import { loadImage } from '../../../specializers/image/format.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import { buildTestImage, CLI, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('scan');
test.after.always(tmp.cleanup);

function routes(site: string, ...flags: string[]): { paths: string[]; stderr: string } {
  const out = join(tmp.dir, `r${Math.random().toString(16).slice(2)}.apl`);
  const b = spawnSync(process.execPath, [CLI, 'build', '--site', site, ...flags, '-o', out], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(b.stderr);
  const i = spawnSync(process.execPath, [CLI, 'inspect', '--json', '--all', out], { encoding: 'utf8' });
  return { paths: (JSON.parse(i.stdout) as { http: { routeList: Array<{ path: string }> } }).http.routeList.map((r) => r.path), stderr: b.stderr };
}

test('a symbolic link to a dotfile or into a dot directory is a dotfile: not published (CLI)', (t) => {
  const site = join(tmp.dir, 'links');
  mkdirSync(join(site, '.git'), { recursive: true });
  mkdirSync(join(site, 'sub'));
  writeFileSync(join(site, 'index.html'), 'hi');
  writeFileSync(join(site, '.env'), 'SECRET=1');
  writeFileSync(join(site, '.git', 'config'), '[core]');
  symlinkSync('.env', join(site, 'env.txt'));
  symlinkSync('.git', join(site, 'repo'));
  symlinkSync('../.git/config', join(site, 'sub', 'cfg'));
  symlinkSync('index.html', join(site, 'home.html')); // an ordinary link inside the site stays served
  const { paths } = routes(site);
  t.deepEqual(paths.filter((p) => /env|repo|cfg|\.git/.test(p)), [], 'none of the dotfiles, whatever the link is called');
  t.true(paths.includes('/home.html'));
  const all = routes(site, '--include-dotfiles').paths;
  for (const p of ['/env.txt', '/repo/config', '/sub/cfg', '/.env', '/.git/config']) t.true(all.includes(p), `${p} with --include-dotfiles`);
  const scanned = scanSite(site, { includeDotfiles: false });
  t.regex(scanned.skipped.find((s) => s.path === 'env.txt')?.why ?? '', /dotfile: a symbolic link to \.env/);
});

function scanOne(site: string, rel: string): SiteFile {
  const f = scanSite(site, { includeDotfiles: false }).files.find((x) => x.rel === rel);
  if (!f) throw new Error(`${rel} not scanned`);
  return f;
}

async function readError(f: SiteFile): Promise<BuildInputError | undefined> {
  try {
    await prepare(f, DEFAULT_HTTP_OPTIONS);
  } catch (e) {
    if (e instanceof BuildInputError) return e;
    throw e;
  }
  return undefined;
}

test('a file swapped for a FIFO after the scan is refused at once, not read forever', async (t) => {
  const site = join(tmp.dir, 'fifo');
  mkdirSync(site);
  writeFileSync(join(site, 'a.txt'), 'hello');
  const f = scanOne(site, 'a.txt');
  unlinkSync(join(site, 'a.txt'));
  t.is(spawnSync('mkfifo', [join(site, 'a.txt')]).status, 0);
  const e = await readError(f);
  t.is(e?.code, 'APPL_ERR_SITE_READ');
  t.regex(e?.message ?? '', /a\.txt: cannot read the file: not a regular file: a FIFO/);
});

test('a file swapped for a symbolic link after the scan is refused (O_NOFOLLOW), not followed', async (t) => {
  const site = join(tmp.dir, 'swaplink');
  mkdirSync(site);
  writeFileSync(join(site, 'a.txt'), 'hello');
  writeFileSync(join(site, '.env'), 'SECRET');
  const f = scanOne(site, 'a.txt');
  unlinkSync(join(site, 'a.txt'));
  symlinkSync('.env', join(site, 'a.txt'));
  const e = await readError(f);
  t.is(e?.code, 'APPL_ERR_SITE_READ');
  t.regex(e?.message ?? '', /not a regular file: a symbolic link|ELOOP/);
});

test('a file replaced by another one, or grown, after the scan is refused: only the file the scan saw is published', async (t) => {
  const site = join(tmp.dir, 'swapfile');
  mkdirSync(site);
  writeFileSync(join(site, 'a.txt'), 'hello');
  const f = scanOne(site, 'a.txt');
  writeFileSync(join(site, 'b.txt'), 'HELLO');
  renameSync(join(site, 'b.txt'), join(site, 'a.txt'));
  t.regex((await readError(f))?.message ?? '', /changed during the build: another file is at this path now/);
  const g = scanOne(site, 'a.txt');
  appendFileSync(join(site, 'a.txt'), ' and more');
  t.regex((await readError(g))?.message ?? '', /changed during the build: 5 bytes when the site was scanned, 14 now/);
  const h = scanOne(site, 'a.txt');
  t.is(Buffer.from((await prepare(h, DEFAULT_HTTP_OPTIONS)).identity).toString(), 'HELLO and more', 'unchanged, it reads as scanned');
});

test('a file under a directory swapped for a link after the scan is refused', async (t) => {
  const site = join(tmp.dir, 'swapdir');
  mkdirSync(join(site, 'd'), { recursive: true });
  mkdirSync(join(site, '.secret'));
  writeFileSync(join(site, 'd', 'a.txt'), 'hello');
  writeFileSync(join(site, '.secret', 'a.txt'), 'SECRET');
  const f = scanOne(site, 'd/a.txt');
  renameSync(join(site, 'd'), join(site, 'd-old'));
  symlinkSync('.secret', join(site, 'd'));
  const e = await readError(f);
  t.is(e?.code, 'APPL_ERR_SITE_READ', 'a different inode behind the same path');
});

test('a name that is not UTF-8 is skipped and reported, not a build failure (CLI)', (t) => {
  const site = join(tmp.dir, 'latin1');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), 'hi');
  writeFileSync(Buffer.concat([Buffer.from(site + '/caf'), Buffer.of(0xe9), Buffer.from('.html')]), 'x');
  const { paths, stderr } = routes(site);
  t.true(paths.includes('/index.html'));
  t.is(paths.length, 2, '/ and /index.html');
  t.regex(stderr, /caf\\xe9\.html: skipped, the name is not UTF-8/);
});

test('a modification time in the future or before 1970 gives a Last-Modified within [1970, the build] (RFC 9110 §8.8.2.1)', async (t) => {
  const site = join(tmp.dir, 'times');
  mkdirSync(site);
  writeFileSync(join(site, 'future.txt'), 'f');
  writeFileSync(join(site, 'past.txt'), 'p');
  utimesSync(join(site, 'future.txt'), new Date('2201-01-01T00:00:00Z'), new Date('2201-01-01T00:00:00Z'));
  utimesSync(join(site, 'past.txt'), new Date('1950-06-01T00:00:00Z'), new Date('1950-06-01T00:00:00Z'));
  const before = Math.floor(Date.now() / 1000);
  const img = join(tmp.dir, 'times.apl');
  await buildTestImage(img, [{ host: null, dir: site }]);
  const h = new HttpTables(loadImage(img));
  for (const [path, expect] of [['/future.txt', 'build'], ['/past.txt', 'epoch']] as const) {
    const key = Buffer.from(path);
    const r = h.lookup(0, key, key.length);
    const v = h.routes[r * L.ROUTE_WORDS + L.ROUTE_A]! * L.VARIANT_WORDS;
    const mtime = h.variants[v + L.VAR_MTIME]!;
    const fields = Buffer.from(h.blob.subarray(h.variants[v + L.VAR_FIELDS_OFF]!, h.variants[v + L.VAR_FIELDS_OFF]! + h.variants[v + L.VAR_FIELDS_LEN]!)).toString('latin1');
    if (expect === 'build') t.true(mtime >= before && mtime <= Math.floor(Date.now() / 1000) + 1, `${path}: ${mtime}`);
    else t.is(mtime, 0);
    t.regex(fields, expect === 'build' ? /Last-Modified: \w{3}, \d{2} \w{3} 20\d\d / : /Last-Modified: Thu, 01 Jan 1970 00:00:00 GMT/);
  }
});
