// `appliance build -o PATH` from the command line: it writes a regular file or nothing.
// A directory, a FIFO, a character device (made with mknod in a temp dir: never the real
// /dev/null), a socket, a symbolic link, or a regular file that is not an image at PATH is
// refused with APPL_ERR_IMAGE_WRITE naming the path, left exactly as it was, and no
// temporary file stays behind; an existing image is replaced whole (rename over it). An
// image written into its own site directory is never published by the next build, nor
// is its temporary file. A full disk is APPL_ERR_IMAGE_WRITE with the errno, nothing left.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { CLI, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('output');
test.after.always(tmp.cleanup);
const ZONE = join(FIXTURE_ZONES, 'example.com.zone');
const isRoot = process.getuid?.() === 0;

function cli(args: string[], cwd = tmp.dir): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.includes('.tmp-'));
}

/** Builds onto `path` and expects a refusal naming it, with no stack trace and no leftovers. */
function refusedOnto(t: import('ava').ExecutionContext, path: string, why: RegExp): void {
  const r = cli(['build', '-q', '--zone', ZONE, '-o', path]);
  t.is(r.status, 1, `exit status: ${r.stderr}`);
  t.regex(r.stderr, /^appliance: APPL_ERR_IMAGE_WRITE: /, 'the stable code first');
  t.true(r.stderr.includes(path), 'the message names the path');
  t.regex(r.stderr, why);
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  t.deepEqual(leftovers(tmp.dir), [], 'no temporary file left behind');
}

test('-o onto a directory: refused, naming it; the directory is untouched', (t) => {
  const d = join(tmp.dir, 'adir');
  mkdirSync(d);
  writeFileSync(join(d, 'keep'), 'x');
  refusedOnto(t, d, /is a directory; give a file name/);
  t.true(lstatSync(d).isDirectory());
  t.deepEqual(readdirSync(d), ['keep']);
});

test('-o onto a FIFO: refused at once (never opened), and it stays a FIFO', (t) => {
  const f = join(tmp.dir, 'afifo');
  t.is(spawnSync('mkfifo', [f]).status, 0);
  refusedOnto(t, f, /is a FIFO; -o writes only a regular file/);
  t.true(lstatSync(f).isFIFO());
});

test('-o onto a character device (mknod, root): refused, and the node is not replaced', (t) => {
  if (!isRoot) {
    t.log('SKIPPED: needs root (mknod); the FIFO and socket cases check the same refusal');
    t.pass();
    return;
  }
  const c = join(tmp.dir, 'null-like');
  t.is(spawnSync('mknod', [c, 'c', '1', '3']).status, 0, 'mknod');
  const before = lstatSync(c);
  refusedOnto(t, c, /is a character device; -o writes only a regular file and never replaces anything else/);
  const after = lstatSync(c);
  t.true(after.isCharacterDevice());
  t.is(after.ino, before.ino);
  t.is(after.rdev, before.rdev);
});

test('-o onto a socket: refused, and it stays a socket', async (t) => {
  const s = join(tmp.dir, 'asock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(s, resolve));
  try {
    refusedOnto(t, s, /is a socket/);
    t.true(lstatSync(s).isSocket());
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('-o onto a symbolic link: refused; the link and its target are untouched', (t) => {
  const target = join(tmp.dir, 'target.txt');
  writeFileSync(target, 'precious');
  const link = join(tmp.dir, 'alink.apl');
  symlinkSync(target, link);
  refusedOnto(t, link, /is a symbolic link; -o writes only a regular file and does not follow links/);
  t.is(readlinkSync(link), target);
  t.is(readFileSync(target, 'utf8'), 'precious');
  const dangling = join(tmp.dir, 'dangling.apl');
  symlinkSync(join(tmp.dir, 'nowhere'), dangling);
  refusedOnto(t, dangling, /is a symbolic link/);
  t.throws(() => lstatSync(join(tmp.dir, 'nowhere')), undefined, 'nothing created through the link');
});

test('-o onto a file that is not an image (a zone file by mistake): refused, left as it was', (t) => {
  const z = join(tmp.dir, 'example.com.zone');
  writeFileSync(z, readFileSync(ZONE));
  refusedOnto(t, z, /exists and is not an appliance image; it was left as it is/);
  t.deepEqual(readFileSync(z), readFileSync(ZONE));
});

test('-o into a directory that does not exist, or with no file name: refused with the code', (t) => {
  refusedOnto(t, join(tmp.dir, 'no', 'such', 'x.apl'), /cannot be used: ENOENT/);
  refusedOnto(t, join(tmp.dir) + '/', /-o needs a file name/);
});

test('-o onto an existing image: replaced whole by a new file (renamed over it), no temporary file left', (t) => {
  const out = join(tmp.dir, 'again.apl');
  t.is(cli(['build', '-q', '--zone', ZONE, '-o', out]).status, 0);
  const first = lstatSync(out);
  const r = cli(['build', '-q', '--zone', ZONE, '--zone', join(FIXTURE_ZONES, 'example.net.zone'), '-o', out]);
  t.is(r.status, 0, r.stderr);
  const second = lstatSync(out);
  t.true(second.isFile());
  t.not(second.ino, first.ino, 'a new file took the name: readers of the old one keep it whole');
  t.is(cli(['inspect', out]).status, 0);
  t.deepEqual(leftovers(tmp.dir), []);
});

test('an image written into its own site is not published by the next build, nor its temporary file', (t) => {
  const site = join(tmp.dir, 'selfsite');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<p>hi</p>');
  const out = join(site, 'site.apl');
  for (const extra of [[], [], ['--include-dotfiles']]) {
    const r = cli(['build', '--site', site, ...extra, '-o', out]);
    t.is(r.status, 0, r.stderr);
    const j = JSON.parse(cli(['inspect', '--json', '--all', out]).stdout) as { http: { routeList: Array<{ path: string }> } };
    const paths = j.http.routeList.map((x) => x.path);
    t.deepEqual(paths.filter((p) => p.includes('site.apl')), [], `no route to the image or its temporary file (${extra.join(' ') || 'defaults'})`);
    t.true(paths.includes('/index.html'));
  }
  const r = cli(['build', '--site', site, '-o', out]);
  t.regex(r.stderr, /site\.apl: skipped, the image this build writes/, 'the skip is reported');
  t.deepEqual(leftovers(site), []);
});

test('a full disk (root: a 64 KiB tmpfs): APPL_ERR_IMAGE_WRITE with ENOSPC, nothing left behind', (t) => {
  const mnt = join(tmp.dir, 'full');
  mkdirSync(mnt);
  if (!isRoot || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status !== 0) {
    t.log('SKIPPED: needs root and mount (a small tmpfs to fill)');
    t.pass();
    return;
  }
  try {
    const r = cli(['build', '-q', '--site', FIXTURE_SITE, '-o', join(mnt, 'site.apl')]);
    t.is(r.status, 1);
    t.regex(r.stderr, /^appliance: APPL_ERR_IMAGE_WRITE: .*site\.apl: write failed: ENOSPC/);
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
    t.deepEqual(readdirSync(mnt), [], 'neither the image nor its temporary file');
  } finally {
    spawnSync('umount', [mnt]);
  }
});
