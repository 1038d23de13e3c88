// Secondary zones on the fused path (root, namespaces, default flags): NSD is the primary in
// the client namespace; `appliance serve --backend xdp --secondary ...` runs in the server
// namespace with no image at all, so that its supervisor's transfers use that namespace's
// kernel sockets (198.18.0.1, passed to the kernel by the XDP program) while the workers
// answer on 198.18.0.10. The zone is transferred, answered as NSD answers it (the
// differential corpus through the fused datapath, against NSD as a secondary of the same
// primary), and a change NSD announces by NOTIFY
// (which reaches a fused worker, and is judged there) is served with a probe every 2 ms
// losing nothing. Knot DNS is the primary of a second zone: its NOTIFY comes over TCP, to
// the fused TCP, and a knotc change arrives by IXFR.

import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createTopology, stopProcess, type Topology } from '../../../appliance/bench/netns.js';
import { nsdConf } from '../../../appliance/bench/nsd.js';
import { knotChange, knotPrimaryConf } from '../../../appliance/bench/knot.js';
import { genZone } from './xfr-helpers.js';
import { nsdSecondaryConf } from '../../helpers/nsd.js';
import { tempDir } from '../../helpers/fixtures.js';
import { rootSkip, skipped, untilOk } from '../../helpers/root.js';
import { start, type Served } from '../../helpers/serve.js';
import { corpusMismatches, encodeQuery, exchangeInNamespace, fullCorpus } from '../../helpers/dns.js';
import { copyZone, setSerial, untilMatches } from '../../helpers/secondary.js';
import { PROBE, startedProbe } from '../../helpers/reload.js';

const APP4 = '198.18.0.10';
const skip = rootSkip(['nsd', 'knotd', 'knotc', 'dig', 'curl']);
const tmp = tempDir('xdpsec');
let topo: Topology | undefined;
let app: Served | undefined;
let nsd: ChildProcess | undefined;
/** NSD as a secondary of the same primary, in the client namespace on port REF_PORT: the corpus's reference. */
let ref: ChildProcess | undefined;
const REF_PORT = 5300;
/** Knot DNS, the primary of a second zone, in the client namespace on KNOT_PORT: its NOTIFY comes over TCP, to the fused TCP. */
let knot: ChildProcess | undefined;
const KNOT_PORT = 5301;
const KNOT_ZONE = 'knot.example';
let knotConfFile = '';
let zone = '';

const guard = (t: { log: (s: string) => void; pass: () => void }): boolean => skipped(skip, t);

async function digSerial(): Promise<string> {
  const out = await topo!.run(topo!.client.ns, 'dig', ['+short', '+tries=1', '+time=1', `@${APP4}`, 'example.org', 'SOA']);
  return out.trim().split(/\s+/)[2] ?? '';
}

test.before(async () => {
  if (skip) return;
  topo = await createTopology({ queues: 2, tag: 'xdpsec' });
  zone = copyZone(tmp.dir, 'example.org.zone');
  const conf = join(tmp.dir, 'nsd.conf');
  writeFileSync(conf, nsdConf({
    dir: tmp.dir, addresses: [topo.client.ipv4], port: 53, verbosity: 1, hideIdentity: true, minimalResponses: true,
    zones: [{ origin: 'example.org.', file: zone, extra: [`provide-xfr: ${topo.server.ipv4} NOKEY`, `provide-xfr: ${topo.client.ipv4} NOKEY`, `notify: ${APP4} NOKEY`] }],
  }));
  nsd = topo.spawn(topo.client.ns, 'nsd', ['-d', '-c', conf]);
  await untilOk('NSD in the client namespace', async () => (await topo!.run(topo!.client.ns, 'dig', ['+short', '+time=1', `@${topo!.client.ipv4}`, 'example.org', 'SOA'])).includes('hostmaster'));
  const refDir = join(tmp.dir, 'ref');
  mkdirSync(refDir);
  writeFileSync(join(refDir, 'nsd.conf'), nsdSecondaryConf(refDir, topo.client.ipv4, REF_PORT, [{ origin: 'example.org.', primary: `${topo.client.ipv4}@53` }]));
  ref = topo.spawn(topo.client.ns, 'nsd', ['-d', '-c', join(refDir, 'nsd.conf')]);
  const knotDir = join(tmp.dir, 'knot');
  mkdirSync(join(knotDir, 'db'), { recursive: true });
  knotConfFile = join(knotDir, 'knot.conf');
  writeFileSync(knotConfFile, knotPrimaryConf({
    dir: knotDir, listen: [`${topo.client.ipv4}@${KNOT_PORT}`],
    zones: [{ domain: KNOT_ZONE, file: genZone(join(knotDir, `${KNOT_ZONE}.zone`), 500, KNOT_ZONE, 9), transferFrom: [topo.server.ipv4], notify: [`${APP4}@53`] }],
  }));
  knot = topo.spawn(topo.client.ns, 'knotd', ['-c', knotConfFile]);
  await untilOk('Knot in the client namespace', async () => (await topo!.run(topo!.client.ns, 'dig', ['+short', '+time=1', '-p', String(KNOT_PORT), `@${topo!.client.ipv4}`, KNOT_ZONE, 'SOA'])).includes('hostmaster'));
  app = await start(['serve', '--backend', 'xdp', '--iface', topo.server.iface, '--addr', APP4, '--metrics', '127.0.0.1:0',
    '--state-dir', join(tmp.dir, 'state'), '--secondary', `example.org=${topo.client.ipv4}`, '--secondary', `${KNOT_ZONE}=${topo.client.ipv4}@${KNOT_PORT}`,
    '--rrl-exempt', `${topo.client.ipv4}/32`],
  { inNamespace: { topo, ns: topo.server.ns } });
});

test.after.always(async () => {
  await app?.stop();
  if (nsd) await stopProcess(nsd, 5000);
  if (ref) await stopProcess(ref, 5000);
  if (knot) await stopProcess(knot, 5000);
  await topo?.close();
  tmp.cleanup();
});

test.serial('(root) fused path, no image: the zone transferred from NSD, answered as NSD answers it, a NOTIFY-announced change served with nothing lost', async (t) => {
  if (guard(t)) return;
  await untilOk('the transferred zone served', async () => (await digSerial()) === '2024060101', 20_000);
  await untilOk('the reference NSD has the zone', async () => (await topo!.run(topo!.client.ns, 'dig', ['+short', '+time=1', '-p', String(REF_PORT), `@${topo!.client.ipv4}`, 'example.org', 'SOA'])).includes('2024060101'), 20_000);
  const corpus = fullCorpus([zone]).filter((q) => q.opcode === 0 && /example\.org\.?(\s|$)/i.test(q.line));
  for (const edns of [false, true]) {
    const qs = corpus.map((q) => encodeQuery(q, { edns }));
    const theirs = await exchangeInNamespace(topo!, topo!.client.ns, tmp.dir, topo!.client.ipv4, qs, REF_PORT);
    const ours = await exchangeInNamespace(topo!, topo!.client.ns, tmp.dir, APP4, qs);
    const mism = corpusMismatches(corpus, theirs, ours);
    t.log(`${corpus.length} queries compared${edns ? ' with EDNS' : ''}`);
    t.deepEqual(mism.slice(0, 10), []);
  }
  const job = join(tmp.dir, 'probe.json');
  writeFileSync(job, JSON.stringify({ host: APP4, httpPort: 0, dnsPort: 53, zone: 'example.org.', path: '/', everyMs: 2 }));
  const probe = await startedProbe(topo!.spawn(topo!.client.ns, process.execPath, [PROBE, job], { stdio: ['pipe', 'pipe', 'pipe'] }));
  await new Promise((r) => setTimeout(r, 300));
  setSerial(zone, 2024060102, ['added IN A 198.18.3.250']);
  const sent = performance.now();
  nsd!.kill('SIGHUP');
  await untilOk('the new serial served', async () => (await digSerial()) === '2024060102', 10_000);
  const took = performance.now() - sent;
  await new Promise((r) => setTimeout(r, 300));
  const r = await probe.finish();
  t.log(`NSD SIGHUP → serial 2024060102 served through the fused path within ${took.toFixed(0)} ms; probe ${r.dns.answered}/${r.dns.sent}, serials ${r.dns.serials.join(' → ')}`);
  t.is(r.dns.lost, 0);
  t.is(r.dns.wrong, 0);
  t.deepEqual(r.dns.serials, [2024060101, 2024060102]);
  const wanted = [/appliance_dns_notify_total\{queue="\d"\} [1-9]/, /appliance_secondary_serial\{zone="example\.org\."\} 2024060102/];
  const metrics = await untilMatches(() => topo!.run(topo!.server.ns, 'curl', ['-s', `http://127.0.0.1:${app!.metricsPort}/metrics`]), wanted);
  for (const re of wanted) t.regex(metrics, re);
});

test.serial('(root) fused path: Knot as the primary, its NOTIFY over TCP to the fused TCP, a knotc change served by IXFR with nothing lost', async (t) => {
  if (guard(t)) return;
  const serialOf = async (port: number, host: string): Promise<number> =>
    Number((await topo!.run(topo!.client.ns, 'dig', ['+short', '+tries=1', '+time=1', '-p', String(port), `@${host}`, KNOT_ZONE, 'SOA'])).trim().split(/\s+/)[2]);
  const first = await serialOf(KNOT_PORT, topo!.client.ipv4);
  await untilOk('the Knot zone served', async () => (await serialOf(53, APP4)) === first, 20_000);
  const job = join(tmp.dir, 'probe-knot.json');
  writeFileSync(job, JSON.stringify({ host: APP4, httpPort: 0, dnsPort: 53, zone: `${KNOT_ZONE}.`, path: '/', everyMs: 2 }));
  const probe = await startedProbe(topo!.spawn(topo!.client.ns, process.execPath, [PROBE, job], { stdio: ['pipe', 'pipe', 'pipe'] }));
  await new Promise((r) => setTimeout(r, 300));
  const sent = performance.now();
  knotChange(knotConfFile, KNOT_ZONE, ['zone-set', 'fused-added', '300', 'A', '198.18.7.8']);
  const next = await serialOf(KNOT_PORT, topo!.client.ipv4);
  await untilOk('the new serial served', async () => (await serialOf(53, APP4)) === next, 10_000);
  const took = performance.now() - sent;
  await new Promise((r) => setTimeout(r, 300));
  const r = await probe.finish();
  t.log(`knotc zone-commit → serial ${next} served through the fused path within ${took.toFixed(0)} ms; probe ${r.dns.answered}/${r.dns.sent}, serials ${r.dns.serials.join(' → ')}`);
  t.is(r.dns.lost, 0);
  t.is(r.dns.wrong, 0);
  t.deepEqual(r.dns.serials, [first, next]);
  // Nothing else here speaks DNS over TCP to the appliance: its TCP messages are Knot's NOTIFYs.
  const wanted = [new RegExp(`appliance_secondary_transfers_total\\{zone="${KNOT_ZONE}\\.",kind="ixfr"\\} 1`), /appliance_dns_notify_total\{queue="\d"\} [1-9]/,
    /appliance_dns_tcp_messages_total\{queue="\d"\} [1-9]/];
  const metrics = await untilMatches(() => topo!.run(topo!.server.ns, 'curl', ['-s', `http://127.0.0.1:${app!.metricsPort}/metrics`]), wanted);
  for (const re of wanted) t.regex(metrics, re);
});
