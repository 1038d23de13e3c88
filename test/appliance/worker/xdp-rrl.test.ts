// Response rate limiting through the fused datapath, end to end, in a namespace pair joined
// by a veth (root): `appliance serve --backend xdp` with NSD's defaults (no --rrl-* flag) on
// 198.18.0.10 and 2001:db8::10, asked from the client namespace (198.18.0.2, 2001:db8::2).
//
//   - dig gets its answers over IPv4 and IPv6: a person asking is never near the limit;
//   - a bounded burst (1,000 queries for one name in about a second, one source) is limited
//     as NSD limits it, and the counters say so through --metrics and `appliance stats`;
//   - while that bucket is limited, other names are answered, and the same name over TCP.
//
// Traffic stays inside the two namespaces this test creates and deletes; the burst is
// bounded in count and time.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, type Topology } from '../../../appliance/bench/netns.js';
import { buildTestImage, CLI, FIXTURE_ZONES, ROOT, tempDir } from '../../helpers/fixtures.js';
import { encodeQuery, parseCorpusLine } from '../../helpers/dns.js';
import { rootSkip, skipped } from '../../helpers/root.js';
import { serveXdp, type Served } from '../../helpers/serve.js';
import type { BurstResult } from '../../helpers/dns-burst.js';

const APP4 = '198.18.0.10';
const APP6 = '2001:db8::10';
const skip = rootSkip(['dig', 'ethtool']);

const tmp = tempDir('xdprrl');
let topo: Topology | undefined;
let app: Served | undefined;
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));

test.before(async () => {
  if (skip) return;
  topo = await createTopology({ queues: 1, tag: 'xdprrl' });
  const image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zoneFiles.map((file) => ({ origin: null, file })));
  app = await serveXdp(topo, image, ['--addr', APP4, '--addr', APP6]);
});

test.after.always(async () => {
  await app?.stop();
  await topo?.close();
  tmp.cleanup();
});

const guard = (t: { log: (s: string) => void; pass: () => void }): boolean => skipped(skip, t);
const counters = (): Promise<Record<string, number>> => app!.counters();

/** A burst from the client namespace (test/helpers/dns-burst.ts). */
async function burstInClient(host: string, line: string, count: number, spanMs: number): Promise<BurstResult> {
  const tag = host.replace(/[:.]/g, '_');
  const inFile = join(tmp.dir, `burst-${tag}.json`);
  const outFile = join(tmp.dir, `burst-${tag}-out.json`);
  writeFileSync(inFile, JSON.stringify({ host, port: 53, query: encodeQuery(parseCorpusLine(line)!, { edns: true }).toString('hex'), count, spanMs }));
  await topo!.run(topo!.client.ns, process.execPath, [join(ROOT, 'build', 'test', 'helpers', 'dns-burst.js'), inFile, outFile], 30_000);
  return JSON.parse(readFileSync(outFile, 'utf8')) as BurstResult;
}

const dig = (args: string[]): Promise<string> => topo!.run(topo!.client.ns, 'dig', ['+tries=2', '+time=2', ...args]);

test.serial('(root) with NSD\'s defaults dig gets its answers over IPv4 and IPv6, none limited', async (t) => {
  if (guard(t)) return;
  t.regex(app!.output(), /RRL\s+200 responses\/s per bucket \(IPv4 \/24, IPv6 \/56\), slip 2, per worker/);
  t.is((await dig(['+short', `@${APP4}`, 'www.example.com', 'A'])).trim(), '198.18.0.10');
  t.is((await dig(['+short', `@${APP6}`, 'www.example.com', 'AAAA'])).trim(), '2001:db8::10');
  t.regex(await dig([`@${APP4}`, 'nope.example.com', 'A']), /status: NXDOMAIN/);
  const c = await counters();
  t.is(c.rrl_checked, 3);
  t.is(c.rrl_dropped! + c.rrl_slipped!, 0);
});

for (const [family, addr] of [['IPv4', APP4], ['IPv6', APP6]] as const) {
  test.serial(`(root) a burst of 1,000 queries for one name in about a second from one ${family} source is limited as NSD limits it, and counted`, async (t) => {
    if (guard(t)) return;
    const before = await counters();
    const b = await burstInClient(addr, family === 'IPv4' ? 'alias.example.com A' : 'www2.example.com A', 1000, 1000);
    const c = await counters();
    const d = (k: string): number => (c[k] ?? 0) - (before[k] ?? 0);
    t.log(`whole ${b.whole}, truncated ${b.truncated}, dropped ${b.dropped}; rrl_checked +${d('rrl_checked')}, rrl_slipped +${d('rrl_slipped')}, rrl_dropped +${d('rrl_dropped')}`);
    t.is(b.sent, 1000);
    // NSD's arithmetic (see test/appliance/backends/socket-rrl.test.ts): 399 to 599 whole,
    // the rest limited and about half of it slipped.
    t.true(b.whole >= 399 && b.whole <= 600, `whole ${b.whole}`);
    const limited = b.truncated + b.dropped;
    t.true(Math.abs(b.truncated - limited / 2) <= Math.max(10, 4 * Math.sqrt(limited / 4)), `truncated ${b.truncated} of ${limited}`);
    t.is(d('rrl_checked'), 1000);
    t.is(d('rrl_slipped'), b.truncated);
    t.is(d('rrl_dropped'), b.dropped);
    t.is(d('dns_queries'), 1000);
  });
}

test.serial('(root) while a bucket is limited, other names are answered, and the limited name over TCP; appliance stats shows rrl_*', async (t) => {
  if (guard(t)) return;
  const b = burstInClient(APP4, 'www.example.net A', 1500, 1000);
  await new Promise((r) => setTimeout(r, 700));
  // In the middle of the burst (its bucket is limited by now): another name, and the same over TCP.
  t.is((await dig(['+short', '+notcp', `@${APP4}`, 'mail.example.com', 'AAAA'])).trim(), '2001:db8::3');
  t.is((await dig(['+short', '+tcp', `@${APP4}`, 'www.example.net', 'A'])).trim().split('\n').pop(), '198.18.2.10');
  const r = await b;
  t.true(r.dropped + r.truncated > 0, 'the burst was limited');
  const stats = spawnSync(process.execPath, [CLI, 'stats', `127.0.0.1:${app!.metricsPort}`], { encoding: 'utf8', timeout: 10_000 });
  t.is(stats.status, 0, stats.stderr);
  for (const n of ['rrl_checked', 'rrl_dropped', 'rrl_slipped', 'rrl_exempt', 'rrl_replaced']) t.regex(stats.stdout, new RegExp(`\\b${n}\\b`));
});

test.serial('(root) SIGTERM stops the server, exit 0', async (t) => {
  if (guard(t)) return;
  const code = await app!.stop();
  t.is(code, 0, app!.output());
});
