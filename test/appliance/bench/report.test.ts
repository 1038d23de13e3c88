// bench report's drawing, from a fixture results.json (no bench runs): every chart's SVG
// has its series and axes, the page links every chart and opens offline (nothing fetched
// from elsewhere), a section with no figures is said to be missing, a bad results file is
// refused; and a real browser — headless Chromium — loads the page from disk with no
// console error and draws something that is not blank.

import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { ROOT, runCli, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';

const FIXTURE = join(ROOT, 'fixtures', 'bench', 'results.json');
const tmp = tempDir('report');
const out = join(tmp.dir, 'page');
test.after.always(() => tmp.cleanup());

const cli = runCli;

const svg = (id: string): string => readFileSync(join(out, `${id}.svg`), 'utf8');

test.serial('bench report --from: every chart drawn, with its series and axes', async (t) => {
  const r = await cli(['bench', 'report', '--from', FIXTURE, '-o', out]);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /13 charts; open .*index\.html/);
  // DNS by server: a bar per server, the ratio to NSD marked, the axis titled.
  const udp = svg('dns-udp');
  for (const s of ['appliance (AF_XDP)', 'Knot DNS (XDP)', 'NSD', 'answers/s', '1.57× NSD', 'kxdpgun -Q 2,000,000']) t.true(udp.includes(s), `dns-udp: ${s}`);
  // HTTP by file size: a line per server, the size axis in KiB/MiB.
  const rps = svg('http-rps');
  for (const s of ['appliance, fused (AF_XDP)', 'appliance, socket backend', 'nginx', 'requests/s', 'file size', '1 MiB', '1 KiB']) t.true(rps.includes(s), `http-rps: ${s}`);
  t.true(svg('http-gbps').includes('Gbit/s'));
  t.true(svg('http-cpu').includes('CPU µs per request'));
  for (const s of ['p50', 'p99', 'ms']) t.true(svg('http-latency').includes(s), `latency: ${s}`);
  t.true(svg('http-conn').includes('connections/s'));
  for (const s of ['a connection per query', 'connections reused', 'NSD (kernel TCP)']) t.true(svg('dns-tcp').includes(s), `dns-tcp: ${s}`);
  for (const s of ['appliance build --zone', 'nsd-checkzone', 'seconds']) t.true(svg('zone-build-time').includes(s));
  t.true(svg('zone-build-memory').includes('MB'));
  t.true(svg('dns-socket').includes('0.46× NSD'));
  t.true(svg('reflector').includes('reflector (JS, AF_XDP)'));
  t.true(svg('http-socket').includes('× nginx'));
});

test.serial('the page links every chart, holds them inline, fetches nothing from elsewhere, and says how they were measured', (t) => {
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  const charts = ['dns-udp', 'dns-udp-cpu', 'dns-socket', 'dns-tcp', 'reflector', 'http-rps', 'http-gbps', 'http-cpu', 'http-conn', 'http-latency', 'http-socket', 'zone-build-time', 'zone-build-memory'];
  for (const c of charts) {
    t.true(html.includes(`href="${c}.svg"`), `links ${c}.svg`);
    t.true(html.includes(`<figure id="${c}">`), `holds ${c}`);
  }
  t.is((html.match(/<svg/g) ?? []).length, charts.length);
  t.notRegex(html, /(src|href)="(https?:)?\/\//);
  t.notRegex(html, /<script/);
  t.true(html.includes('appliance bench http'));
  t.true(html.includes('nginx version: nginx/1.22.1'));
  t.notRegex(html, /Not measured in this run/);
});

test.serial('a section with no figures is said to be missing, with the bench that makes it; a bad results file is refused', async (t) => {
  const r = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { figures: Array<{ kind: string }>; notes: string[] };
  r.figures = r.figures.filter((f) => f.kind !== 'http');
  r.notes = ['HTTP by file size and connection mode: not run (it needs root: network namespaces and AF_XDP)'];
  const f = join(tmp.dir, 'partial.json');
  writeFileSync(f, JSON.stringify(r));
  const dir = join(tmp.dir, 'partial');
  t.is((await cli(['bench', 'report', '--from', f, '-o', dir])).code, 0);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  t.regex(html, /Not measured in this run/);
  t.regex(html, /HTTP by file size and connection mode: no figures \(<code>appliance bench http \(root\)<\/code>\)/);
  t.regex(html, /it needs root/);
  t.false(html.includes('href="http-rps.svg"'));
  writeFileSync(join(tmp.dir, 'bad.json'), '{"version": 9}');
  const bad = await cli(['bench', 'report', '--from', join(tmp.dir, 'bad.json'), '-o', join(tmp.dir, 'bad')]);
  t.is(bad.code, 2, 'a usage error');
  t.regex(bad.out, /APPL_ERR_USAGE: .*bad\.json: not a results file of version 1/);
});

test.serial('headless Chromium loads the page from disk: no console error, and a screenshot that is not blank', async (t) => {
  if (!hasCommand('chromium')) {
    t.log('SKIPPED: chromium is not installed (.ci/run installs it)');
    t.pass();
    return;
  }
  const shot = join(tmp.dir, 'shot.png');
  const r = await promisify(execFile)('chromium', [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', '--enable-logging=stderr', '--v=0',
    `--user-data-dir=${join(tmp.dir, 'chromium')}`, '--window-size=1280,2400', `--screenshot=${shot}`, `file://${join(out, 'index.html')}`,
  ], { timeout: 60_000 });
  const log = r.stdout + r.stderr;
  const consoleLines = log.split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource/i.test(l));
  t.deepEqual(consoleLines, []);
  const png = PNG.sync.read(readFileSync(shot));
  t.is(png.width, 1280);
  // Not blank: many pixels differ from the first one, and some are the charts' colors.
  const d = png.data;
  let differ = 0;
  let colored = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) differ++;
    if (Math.abs(d[i]! - d[i + 1]!) > 60 || Math.abs(d[i + 1]! - d[i + 2]!) > 60) colored++;
  }
  t.log(`${png.width}×${png.height}: ${differ} pixels not background, ${colored} in color`);
  t.true(differ > png.width * png.height * 0.05);
  t.true(colored > 10_000);
});
