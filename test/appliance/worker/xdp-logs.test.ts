// The access and query logs of the fused path (root, namespaces): requests and queries from
// the client namespace come out in the files with the client's address, and the workers
// write nothing themselves: their records go through their rings to the supervisor, which
// writes the files (the workers' write system calls, counted by the kernel per thread in
// /proc/PID/task/TID/io, stay where they were across thousands of requests).

import test from 'ava';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { toolVersion } from '../../../specializers/build.js';
import { createTopology, type Topology } from '../../../appliance/bench/netns.js';
import { buildTestImage, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { rootSkip, skipped } from '../../helpers/root.js';
import { serveXdp, type Served } from '../../helpers/serve.js';

const APP4 = '198.18.0.10';
const skip = rootSkip(['ab', 'dig', 'curl']);
const tmp = tempDir('xdplogs');
const acc = join(tmp.dir, 'access.log');
const ql = join(tmp.dir, 'query.log');
let topo: Topology | undefined;
let app: Served | undefined;

test.before(async () => {
  if (skip) return;
  topo = await createTopology({ queues: 2, tag: 'xdplog' });
  const image = await buildTestImage(join(tmp.dir, 's.apl'), [{ host: null, dir: FIXTURE_SITE }], [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }]);
  // Pinned, so that the worker threads can be told from the supervisor's in /proc.
  app = await serveXdp(topo, image, ['--addr', APP4, '--cpus', '0,1', '--access-log', acc, '--query-log', ql, '--access-log-format', 'json']);
});

test.after.always(async () => {
  await app?.stop();
  await topo?.close();
  tmp.cleanup();
});

/** The threads of the process pinned to exactly one CPU (the workers), and the write calls each made so far. */
function workerWrites(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const cpus = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '';
    if (!/^\d+$/.test(cpus)) continue;
    out.set(tid, Number(/syscw:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/io`, 'utf8'))?.[1] ?? 0));
  }
  return out;
}

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.serial('(root) the fused path logs every request and query with the client\'s address, through the supervisor; workers write nothing', async (t) => {
  if (skipped(skip, t)) return;
  const before = workerWrites(app!.proc.pid!);
  t.is(before.size, 2, 'two pinned worker threads');
  await topo!.run(topo!.client.ns, 'ab', ['-q', '-k', '-n', '3000', '-c', '4', `http://${APP4}/`], 60_000);
  for (let i = 0; i < 20; i++) await topo!.run(topo!.client.ns, 'dig', ['+tries=1', '+time=2', `@${APP4}`, 'example.com', 'SOA']);
  await topo!.run(topo!.client.ns, 'dig', ['+tcp', `@${APP4}`, 'www.example.com', 'A']);
  await until(() => existsSync(acc) && readFileSync(acc, 'utf8').split('\n').length > 3000 && readFileSync(ql, 'utf8').includes('tcp www.example.com.'));
  const after = workerWrites(app!.proc.pid!);
  const lines = readFileSync(acc, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { remote_addr: string; request: string; status: number; http_user_agent: string });
  t.is(lines.length, 3000);
  t.true(lines.every((l) => l.remote_addr === topo!.client.ipv4 && l.request === 'GET / HTTP/1.0' && l.status === 200 && /^ApacheBench/.test(l.http_user_agent)));
  const q = readFileSync(ql, 'utf8').trim().split('\n');
  t.is(q.filter((l) => l.includes(`${topo!.client.ipv4}#`) && / udp example\.com\. IN SOA NOERROR qr aa/.test(l)).length, 20);
  for (const [tid, n] of after) t.true(n - (before.get(tid) ?? 0) < 10, `worker thread ${tid}: ${n - (before.get(tid) ?? 0)} writes`);
  // The workers copy their counts into the counters a few times a second.
  let c = await app!.counters();
  for (let i = 0; i < 20 && c.log_records !== 3021; i++) {
    await new Promise((r) => setTimeout(r, 100));
    c = await app!.counters();
  }
  t.is(c.log_records, 3021);
  // CHAOS TXT with serve's defaults, as NSD's: the version string and the host name.
  t.is((await topo!.run(topo!.client.ns, 'dig', ['+short', `@${APP4}`, 'CH', 'TXT', 'version.bind'])).trim(), `"appliance ${toolVersion()}"`);
  t.is((await topo!.run(topo!.client.ns, 'dig', ['+short', `@${APP4}`, 'CH', 'TXT', 'id.server'])).trim(), `"${hostname()}"`);
  t.is(c.log_records_lost, 0);
  // Rotation: rename, SIGUSR1, and the next records go to a new file.
  renameSync(acc, acc + '.1');
  process.kill(app!.proc.pid!, 'SIGUSR1');
  await until(() => existsSync(acc));
  await topo!.run(topo!.client.ns, 'curl', ['-s', '-o', '/dev/null', `http://${APP4}/nope`]);
  await until(() => readFileSync(acc, 'utf8').includes('/nope'));
  t.is(readFileSync(acc + '.1', 'utf8').trim().split('\n').length, 3000);
});
