// Symbolic links as nginx users have them (specializers/http/site-scan.ts):
//  - a link that leaves the site stops the build, and the error says to pass
//    --follow-symlinks; with it, the target's bytes are served (a file, or a directory's
//    files), as a distribution's documentation links into /usr/share/javascript;
//  - a link to a dotfile outside the site, or to a file under a dot directory there, is
//    not served even so (unless --include-dotfiles);
//  - a dangling link, or a loop of links, is a warning naming it, and its path answers
//    404; --strict makes that warning an error, and no image is written.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLAN_TEMPLATE, type ResponsePlan } from '../../../appliance/http/responder.js';
import { HttpSessions, type HttpSink } from '../../../appliance/http/session.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import * as L from '../../../specializers/http/layout.js';
import { loadImage } from '../../../specializers/image/format.js';
import { CLI, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('symlinks');
test.after.always(tmp.cleanup);

/**
 * A site with links out of it, as python3.11-doc ships: _static/jquery.js →
 * ../../outside/js/jquery.js (relative), lib → an outside directory (absolute), and links to
 * secrets outside; and one dangling link.
 */
function makeSite(name: string, dangling = true): { site: string; outside: string } {
  const base = join(tmp.dir, name);
  const site = join(base, 'site');
  const outside = join(base, 'outside');
  mkdirSync(join(site, '_static'), { recursive: true });
  mkdirSync(join(outside, 'js'), { recursive: true });
  mkdirSync(join(outside, 'lib', 'sub'), { recursive: true });
  mkdirSync(join(outside, '.hidden'), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<p>docs</p>\n');
  writeFileSync(join(outside, 'js', 'jquery.js'), 'window.jQuery = 1;\n');
  writeFileSync(join(outside, 'lib', 'sub', 'u.js'), 'var u = 2;\n');
  writeFileSync(join(outside, 'lib', '.npmrc'), 'token=x\n');
  writeFileSync(join(outside, '.env'), 'SECRET=1\n');
  writeFileSync(join(outside, '.hidden', 'key.txt'), 'KEY\n');
  symlinkSync('../../outside/js/jquery.js', join(site, '_static', 'jquery.js'));
  symlinkSync(join(outside, 'lib'), join(site, 'lib'));
  symlinkSync('../outside/.env', join(site, 'env.txt'));
  symlinkSync(join(outside, '.hidden', 'key.txt'), join(site, 'key.txt'));
  symlinkSync(join(outside, '.hidden'), join(site, 'hidden'));
  if (dangling) symlinkSync('../../nowhere/underscore.js', join(site, '_static', 'underscore.js'));
  return { site, outside };
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
function build(site: string, ...flags: string[]): { out: string; status: number | null; stderr: string } {
  const out = join(tmp.dir, `l${n++}.apl`);
  const r = cli(['build', '-q', '--no-cache', '--site', site, ...flags, '-o', out]);
  return { out, status: r.status, stderr: r.stderr };
}

class Sink implements HttpSink {
  plans: ResponsePlan[] = [];
  send(_slot: number, plan: ResponsePlan): boolean {
    this.plans.push({ ...plan });
    return true;
  }
}

/** GET path through the HTTP session: the status and, for a 200, the body. */
function get(tables: HttpTables, path: string): { status: number; body: string } {
  const s = new HttpSessions(tables, { capacity: 1, headerTimeoutMs: 1000, idleTimeoutMs: 1000 });
  const sink = new Sink();
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  s.open(0, 0);
  s.data(0, req, 0, req.length, 0, sink);
  const plan = sink.plans[0]!;
  if (plan.kind !== PLAN_TEMPLATE || plan.status !== 200) return { status: plan.status, body: '' };
  const v = tables.responses;
  const at = plan.resp * L.RESPONSE_WORDS;
  const off = v[at + L.RESP_HEAD_OFF]! + v[at + L.RESP_HEAD_LEN]!;
  return { status: 200, body: Buffer.from(tables.blob.subarray(off, off + v[at + L.RESP_BODY_LEN]!)).toString() };
}

test('a link that leaves the site stops the build, and the error says to pass --follow-symlinks', (t) => {
  const { site } = makeSite('refused');
  const r = build(site);
  t.is(r.status, 1);
  t.regex(r.stderr, /^appliance: APPL_ERR_SITE_SYMLINK: .*(_static\/jquery\.js|lib): symbolic link leaves the site directory \(it resolves to .*\); pass --follow-symlinks/);
  t.false(existsSync(r.out));
});

test('--follow-symlinks: what a link that leaves the site points to is served (a file, a directory\'s files), outside dotfiles are not; a dangling link warns and answers 404', (t) => {
  const { site } = makeSite('followed');
  const r = build(site, '--follow-symlinks');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /appliance: warning: .*site: _static\/underscore\.js: skipped, a dangling symbolic link \(→ \.\.\/\.\.\/nowhere\/underscore\.js\): not served, it answers 404/);
  const tables = new HttpTables(loadImage(r.out));
  t.deepEqual(get(tables, '/_static/jquery.js'), { status: 200, body: 'window.jQuery = 1;\n' });
  t.deepEqual(get(tables, '/lib/sub/u.js'), { status: 200, body: 'var u = 2;\n' });
  t.is(get(tables, '/_static/underscore.js').status, 404, 'the dangling link answers 404, as nginx');
  for (const p of ['/env.txt', '/key.txt', '/hidden/key.txt', '/lib/.npmrc']) t.is(get(tables, p).status, 404, `${p}: a dotfile outside is not served`);
  const dotted = build(site, '--follow-symlinks', '--include-dotfiles');
  t.is(dotted.status, 0, dotted.stderr);
  const all = new HttpTables(loadImage(dotted.out));
  t.deepEqual(get(all, '/env.txt'), { status: 200, body: 'SECRET=1\n' });
  t.deepEqual(get(all, '/hidden/key.txt'), { status: 200, body: 'KEY\n' });
});

test('--strict: a dangling link is an error naming it, and no image is written', (t) => {
  const { site } = makeSite('strict');
  const r = build(site, '--follow-symlinks', '--strict');
  t.is(r.status, 1);
  t.regex(r.stderr, /^appliance: APPL_ERR_BUILD_STRICT: --strict: 1 warning .*\n {2}.*_static\/underscore\.js: skipped, a dangling symbolic link/);
  t.false(existsSync(r.out));
  const clean = makeSite('strict-clean', false);
  t.is(build(clean.site, '--follow-symlinks', '--strict').status, 0, 'no warning, no error');
});

test('a loop of links, or a link into itself, warns and answers 404; a link to a directory above it is not walked forever', (t) => {
  const site = join(tmp.dir, 'loops');
  mkdirSync(join(site, 'd'), { recursive: true });
  writeFileSync(join(site, 'index.html'), 'x');
  symlinkSync('b', join(site, 'a'));
  symlinkSync('a', join(site, 'b'));
  symlinkSync('..', join(site, 'd', 'up'));
  const r = build(site);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /loops: a: skipped, a loop of symbolic links \(→ b\): not served, it answers 404/);
  t.regex(r.stderr, /loops: d\/up: skipped, symbolic link loop/);
  const tables = new HttpTables(loadImage(r.out));
  t.is(get(tables, '/a').status, 404);
  t.is(get(tables, '/index.html').status, 200);
});
