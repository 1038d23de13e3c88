// Reloading the fused path (root, namespaces, default flags): the appliance serves a small
// site and zone through AF_XDP on 198.18.0.10 (two queues, two workers); from the client
// namespace a probe sends a DNS query and an HTTP request every 10 ms across 20 reloads (by
// SIGHUP and by `appliance reload`), each a new image renamed over the served path with the
// zone's serial bumped: nothing is lost, each new serial and page is seen in turn. Slow
// downloads of a large file straddle reloads and come whole from one image (the worker
// keeps sending, and retransmitting, a response from the image it started on). A bad image
// is refused and the old one goes on. wrk and dnsperf (bounded) across reloads: no errors.
// Once the connections are done, each worker holds one image again.

import test from 'ava';
import { writeFileSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, type Topology } from '../../../appliance/bench/netns.js';
import { tempDir } from '../../helpers/fixtures.js';
import { rootSkip, skipped } from '../../helpers/root.js';
import { serveXdp, type Served } from '../../helpers/serve.js';
import { buildBigPair, buildVersions, cliReload, install, PROBE, probedReloads, probeLine, probeProblems, reloadMemory, RELOAD_ZONE, servedSerial, type Version } from '../../helpers/reload.js';

const APP4 = '198.18.0.10';
const skip = rootSkip(['curl', 'wrk', 'dnsperf', 'sha256sum']);

const tmp = tempDir('xdpreload');
const served = join(tmp.dir, 'served.apl');
let versions: Version[] = [];
let topo: Topology | undefined;
let app: Served | undefined;

test.before(async () => {
  if (skip) return;
  versions = await buildVersions(tmp.dir, 21);
  install(versions[0]!, served);
  topo = await createTopology({ queues: 2, tag: 'xdprld' });
  // The client is exempt from response rate limiting, as an operator exempts a load test:
  // dnsperf's rate is far above NSD's default 200 answers/s per name.
  app = await serveXdp(topo, served, ['--addr', APP4, '--rrl-exempt', `${topo.client.ipv4}/32`]);
});

test.after.always(async () => {
  await app?.stop();
  await topo?.close();
  tmp.cleanup();
});

const guard = (t: { log: (s: string) => void; pass: () => void }): boolean => skipped(skip, t);

/** curl --limit-rate in the client namespace for big.bin: the body's sha256. */
async function slowDownload(): Promise<string> {
  const out = await topo!.run(topo!.client.ns, 'sh', ['-c', `curl -s -f --limit-rate 1500k http://${APP4}/big.bin | sha256sum`], 30_000);
  return out.split(' ')[0]!;
}

test.serial('(root) 20 reloads of the fused path under a probe every 10 ms: nothing lost, every serial and page seen in turn', async (t) => {
  if (guard(t)) return;
  const job = join(tmp.dir, 'probe.json');
  writeFileSync(job, JSON.stringify({ host: APP4, httpPort: 80, dnsPort: 53, zone: RELOAD_ZONE, path: '/version.txt', everyMs: 10 }));
  const { result: r, took, shas } = await probedReloads({
    spawn: () => topo!.spawn(topo!.client.ns, process.execPath, [PROBE, job], { stdio: ['pipe', 'pipe', 'pipe'] }),
    download: () => slowDownload(), versions, served, pid: app!.proc.pid!, metricsPort: app!.metricsPort, settleMs: 300,
  });
  t.log(probeLine(r, took));
  t.deepEqual(probeProblems(r, versions), []);
  const known = new Set(versions.map((v) => v.bigSha));
  t.log(`${shas.length} slow downloads across the reloads, ${new Set(shas).size} versions among them`);
  t.true(shas.length > 0);
  t.deepEqual(shas.filter((s) => !known.has(s)), []);
  const c = await app!.counters();
  t.is(c.handler_errors, 0);
  t.true(app!.alive());
});

test.serial('(root) a bad image is refused by the fused path, and the old one goes on', async (t) => {
  if (guard(t)) return;
  const before = await servedSerial(app!.metricsPort);
  writeFileSync(served + '.new', readFileSync(versions[2]!.image).subarray(0, 4096));
  renameSync(served + '.new', served);
  const r = await cliReload(app!.metricsPort);
  t.is(r.code, 1);
  t.regex(r.out, /refused the image and serves the old one/);
  t.is(await servedSerial(app!.metricsPort), before);
  const body = await topo!.run(topo!.client.ns, 'curl', ['-s', `http://${APP4}/version.txt`]);
  t.is(body.trim(), `v${before}`);
  t.regex(app!.output(), /reload refused/);
  install(versions[20]!, served);
});

test.serial('(root) wrk and dnsperf (bounded) across 10 reloads of the fused path: no errors, no query lost; then one image held', async (t) => {
  if (guard(t)) return;
  const qfile = join(tmp.dir, 'queries.txt');
  writeFileSync(qfile, `${RELOAD_ZONE} SOA\nwww.${RELOAD_ZONE} A\n`);
  const wrk = topo!.run(topo!.client.ns, 'wrk', ['-t1', '-c8', '-d4s', `http://${APP4}/version.txt`], 30_000);
  const dnsperf = topo!.run(topo!.client.ns, 'dnsperf', ['-s', APP4, '-d', qfile, '-l', '4', '-Q', '3000', '-t', '2'], 30_000);
  for (const v of versions.slice(10, 20)) {
    install(v, served);
    process.kill(app!.proc.pid!, 'SIGHUP');
    await new Promise((res) => setTimeout(res, 300));
  }
  const [w, d] = await Promise.all([wrk, dnsperf]);
  t.log(w.split('\n').filter((l) => /Requests\/sec|Socket errors|Non-2xx/.test(l)).join(' | '));
  t.log(d.split('\n').filter((l) => /Queries (sent|completed|lost)/.test(l)).join(' | '));
  t.notRegex(w, /Socket errors|Non-2xx/);
  t.regex(d, /Queries lost:\s+0 /);
  // Every connection is done: each worker lets the older images go (a gauge, per worker).
  await new Promise((res) => setTimeout(res, 600));
  const c = await app!.counters();
  t.is(c.images_held, 2, 'one image per worker, two workers');
  t.true(app!.alive());
});

test.serial('(root) the old images go on the fused path too: 30 reloads of a 48 MB image, the resident size well under what keeping them would take', async (t) => {
  if (guard(t)) return;
  await app!.stop();
  app = undefined;
  const pair = await buildBigPair(tmp.dir, 48 << 20);
  const path = join(tmp.dir, 'big-served.apl');
  install({ image: pair[0], serial: 0, body: '', bigSha: '' }, path);
  app = await serveXdp(topo!, path, ['--addr', APP4]);
  const size = statSync(pair[0]).size;
  const start = app.rss();
  // A large download under way at each reload: each worker holds an old image until it is done.
  const busy = topo!.run(topo!.client.ns, 'sh', ['-c', `for i in 1 2 3 4 5 6; do curl -s -f --limit-rate 20M http://${APP4}/big.bin | sha256sum; done`], 120_000);
  const most = await reloadMemory(pair, path, app.proc.pid!, app.metricsPort, 30, () => app!.rss());
  const shas = (await busy).trim().split('\n').map((l) => l.split(' ')[0]);
  t.log(`image ${(size / 1e6).toFixed(0)} MB; resident ${(start / 1e6).toFixed(0)} MB at start, at most ${(most / 1e6).toFixed(0)} MB across 30 reloads; ${shas.length} downloads during them`);
  t.true(most < start + 6 * size);
  t.is(shas.length, 6);
});
