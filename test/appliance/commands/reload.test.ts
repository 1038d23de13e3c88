// Reloading the socket backend as an operator does (`appliance serve` with default flags
// but loopback ports): a probe sends a DNS query and an HTTP request every 10 ms across 20
// reloads, by SIGHUP and by `appliance reload`, each a new image renamed over the served
// path with the zone's serial bumped: nothing is lost, each new serial and page is seen in
// turn. Slow downloads of a large file straddle the reloads and come whole, from one
// image. A bad image is refused, logged and counted, and the old one goes on. Then wrk and
// dnsperf (bounded) across reloads: no errors.

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseMetrics } from '../../../appliance/worker/metrics.js';
import { tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';
import { serveSocket, type Serving } from '../../helpers/serve.js';
import { statSync } from 'node:fs';
import { BIG_BYTES, buildBigPair, buildVersions, cliReload, install, PROBE, probedReloads, probeLine, probeProblems, reloadMemory, RELOAD_ZONE, servedSerial, type Version } from '../../helpers/reload.js';

const tmp = tempDir('reload');
const served = join(tmp.dir, 'served.apl');
let versions: Version[] = [];
let app: Serving | undefined;

test.before(async () => {
  versions = await buildVersions(tmp.dir, 21);
  install(versions[0]!, served);
  // The load generator's address is exempt from response rate limiting, as an operator
  // exempts a monitor or a load test (at NSD's default 200 answers/s per name, RRL would
  // drop dnsperf's queries by design); the probe stays under the limit anyway.
  app = await serveSocket(served, ['--rrl-exempt', '127.0.0.1']);
});

test.after.always(async () => {
  await app?.stop();
  tmp.cleanup();
});

/** curl with --limit-rate (a slow reader) for big.bin, started now; resolves with the body's sha256. */
function slowDownload(port: number, k: number): Promise<string> {
  const out = join(tmp.dir, `big-${k}.bin`);
  return promisify(execFile)('curl', ['-s', '-f', '--limit-rate', '1500k', '-o', out, `http://127.0.0.1:${port}/big.bin`], { timeout: 30_000 })
    .then(() => createHash('sha256').update(readFileSync(out)).digest('hex'));
}

test.serial('20 reloads under a probe every 10 ms (SIGHUP and appliance reload): nothing lost, every serial and page seen in turn', async (t) => {
  const { result: r, took, shas } = await probedReloads({
    spawn: () => spawn(process.execPath, [PROBE, writeProbeJob('probe.json')], { stdio: ['pipe', 'pipe', 'pipe'] }),
    download: (k) => (hasCommand('curl') ? slowDownload(app!.httpPort, k) : Promise.resolve('')),
    versions, served, pid: app!.proc.pid!, metricsPort: app!.metricsPort, settleMs: 200,
  });
  t.log(probeLine(r, took));
  t.deepEqual(probeProblems(r, versions), []);
  // Each slow download (≈0.5 s, across a reload or two) is one version's file, whole.
  const known = new Set(versions.map((v) => v.bigSha));
  t.log(`${shas.length} slow downloads of ${BIG_BYTES >> 10} KiB across the reloads; ${new Set(shas).size} versions among them`);
  t.true(shas.length > 0);
  t.deepEqual(shas.filter((s) => s !== '' && !known.has(s)), []);
  const m = parseMetrics(await (await fetch(`http://127.0.0.1:${app!.metricsPort}/metrics`)).text());
  t.is(m.info?.reloads.ok, 20);
  t.is(m.info?.reloads.failed, 0);
  t.true(app!.alive());
});

function writeProbeJob(name: string): string {
  const f = join(tmp.dir, name);
  writeFileSync(f, JSON.stringify({ host: '127.0.0.1', httpPort: app!.httpPort, dnsPort: app!.dnsPort, zone: RELOAD_ZONE, path: '/version.txt', everyMs: 10 }));
  return f;
}

test.serial('a bad image is refused: logged, counted, and the old one goes on being served', async (t) => {
  const before = await servedSerial(app!.metricsPort);
  // A deploy that went wrong: the file cut short.
  writeFileSync(served + '.new', readFileSync(versions[3]!.image).subarray(0, 5000));
  const { renameSync } = await import('node:fs');
  renameSync(served + '.new', served);
  const r = await cliReload(app!.metricsPort);
  t.is(r.code, 1);
  t.regex(r.out, /refused the image and serves the old one: .*truncated/);
  process.kill(app!.proc.pid!, 'SIGHUP');
  const deadline = Date.now() + 5000;
  let m = parseMetrics(await (await fetch(`http://127.0.0.1:${app!.metricsPort}/metrics`)).text());
  while ((m.info?.reloads.failed ?? 0) < 2 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 50));
    m = parseMetrics(await (await fetch(`http://127.0.0.1:${app!.metricsPort}/metrics`)).text());
  }
  t.is(m.info?.reloads.failed, 2);
  t.is(await servedSerial(app!.metricsPort), before);
  t.regex(app!.output(), /"msg":"reload refused; still serving [0-9a-f]{16}…"/);
  const res = await fetch(`http://127.0.0.1:${app!.httpPort}/version.txt`);
  t.is((await res.text()).trim(), `v${before}`);
  t.true(app!.alive());
  install(versions[versions.length - 1]!, served);
});

test.serial('wrk and dnsperf (bounded) across 10 reloads: no errors, no query lost', async (t) => {
  if (!hasCommand('wrk') || !hasCommand('dnsperf')) {
    t.log('SKIPPED: wrk or dnsperf missing (.ci/run installs them)');
    t.pass();
    return;
  }
  const qfile = join(tmp.dir, 'queries.txt');
  writeFileSync(qfile, `${RELOAD_ZONE} SOA\nwww.${RELOAD_ZONE} A\n`);
  const wrk = promisify(execFile)('wrk', ['-t1', '-c8', '-d4s', `http://127.0.0.1:${app!.httpPort}/version.txt`], { timeout: 30_000 });
  const dnsperf = promisify(execFile)('dnsperf', ['-s', '127.0.0.1', '-p', String(app!.dnsPort), '-d', qfile, '-l', '4', '-Q', '3000', '-t', '2'], { timeout: 30_000 });
  // Versions 10..19 again, one every 300 ms.
  for (const v of versions.slice(10, 20)) {
    install(v, served);
    process.kill(app!.proc.pid!, 'SIGHUP');
    await new Promise((res) => setTimeout(res, 300));
  }
  const [w, d] = await Promise.all([wrk, dnsperf]);
  t.log(w.stdout.split('\n').filter((l) => /Requests\/sec|Socket errors|Non-2xx/.test(l)).join(' | '));
  t.log(d.stdout.split('\n').filter((l) => /Queries (sent|completed|lost)/.test(l)).join(' | '));
  t.notRegex(w.stdout, /Socket errors|Non-2xx/);
  t.regex(d.stdout, /Queries lost:\s+0 /);
  t.true(app!.alive());
});

test.serial('the old images go: 30 reloads of a 48 MB image the resident size stays well under what keeping them would take', async (t) => {
  const pair = await buildBigPair(tmp.dir, 48 << 20);
  const path = join(tmp.dir, 'big-served.apl');
  install({ image: pair[0], serial: 0, body: '', bigSha: '' }, path);
  const big = await serveSocket(path);
  try {
    const size = statSync(pair[0]).size;
    const start = big.rss();
    const most = await reloadMemory(pair, path, big.proc.pid!, big.metricsPort, 30, () => big.rss());
    t.log(`image ${(size / 1e6).toFixed(0)} MB; resident ${(start / 1e6).toFixed(0)} MB at start, at most ${(most / 1e6).toFixed(0)} MB across 30 reloads`);
    // Kept, every old image would add its 48 MB: 30 of them. Let go and collected (the
    // server collects after a reload), what stays is the image served, the one being read,
    // and those responses still being written hold.
    t.true(most < start + 6 * size);
  } finally {
    await big.stop();
  }
});
