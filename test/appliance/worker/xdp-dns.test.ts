// The fused datapath end to end, in a namespace pair joined by a multi-queue veth (root):
// the appliance serves fixtures/zones through AF_XDP on 198.18.0.10 and 2001:db8::10; NSD
// serves the same zones from the server namespace's kernel on 198.18.0.1 and 2001:db8::1;
// real clients (dig, kdig, ping) and the differential corpus run in the client namespace.
// The corpus goes to both from one client address, many answers a second: the appliance
// exempts the client from response rate limiting (--rrl-exempt, as the benches do; NSD's
// config has RRL off), so the comparison sees every answer. RRL itself: xdp-rrl.test.ts.

import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTopology, stopProcess, xdpAttached, type Topology } from '../../../appliance/bench/netns.js';
import { buildTestImage, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { corpusMismatches, encodeQuery, exchangeInNamespace, fullCorpus } from '../../helpers/dns.js';
import { startNsdInNamespace } from '../../helpers/nsd.js';
import { rootSkip, skipped } from '../../helpers/root.js';
import { serveXdp, type Served } from '../../helpers/serve.js';

const APP4 = '198.18.0.10';
const APP6 = '2001:db8::10';
const skip = rootSkip(['nsd', 'dig', 'kdig', 'ping', 'ethtool']);

const tmp = tempDir('xdpdns');
let topo: Topology | undefined;
let app: Served | undefined;
let nsd: ChildProcess | undefined;
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));

test.before(async () => {
  if (skip) return;
  // Defaults, as a user runs it: the client's kernel sends UDP checksums in the offload form.
  topo = await createTopology({ queues: 2, tag: 'xdpdns' });
  const image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zoneFiles.map((file) => ({ origin: null, file })));
  nsd = await startNsdInNamespace(topo, tmp.dir, zoneFiles, FIXTURE_ZONES);
  // NSD here hides its identity and version (test/helpers/nsd.ts): the appliance is told the same.
  app = await serveXdp(topo, image, ['--addr', APP4, '--addr', APP6, '--rrl-exempt', `${topo.client.ipv4}/32`, '--rrl-exempt', `${topo.client.ipv6}/128`,
    '--hide-identity', '--hide-version']);
});

test.after.always(async () => {
  await app?.stop();
  if (nsd) await stopProcess(nsd, 5000);
  await topo?.close();
  tmp.cleanup();
});

const guard = (t: { log: (s: string) => void; pass: () => void }): boolean => skipped(skip, t);

test.serial('(root) dig and kdig get the right answers over IPv4 and IPv6', async (t) => {
  if (guard(t)) return;
  const c = topo!.client.ns;
  const dig = (args: string[]): Promise<string> => topo!.run(c, 'dig', ['+short', '+tries=2', '+time=2', ...args]);
  t.is((await dig([`@${APP4}`, 'www.example.com', 'A'])).trim(), '198.18.0.10');
  t.is((await dig([`@${APP6}`, 'www.example.com', 'AAAA'])).trim(), '2001:db8::10');
  t.is((await dig([`@${APP4}`, 'alias.example.com', 'A'])).trim().split('\n').pop(), '198.18.0.10');
  t.is((await dig([`@${APP6}`, 'foo.wild.example.com', 'TXT'])).trim(), '"wildcard"');
  const nx = await topo!.run(c, 'dig', ['+tries=2', '+time=2', `@${APP4}`, 'nope.example.com', 'A']);
  t.regex(nx, /status: NXDOMAIN/);
  t.regex(nx, /flags: qr aa/);
  const kdig4 = await topo!.run(c, 'kdig', ['+short', '+retry=1', '+time=2', `@${APP4}`, 'mail.example.com', 'AAAA']);
  t.is(kdig4.trim(), '2001:db8::3');
  const kdig6 = await topo!.run(c, 'kdig', ['+short', '+retry=1', '+time=2', `@${APP6}`, 'example.com', 'MX']);
  t.deepEqual(kdig6.trim().split('\n').sort(), ['10 mail.example.com.', '20 mail2.example.net.']);
  // The veth peer's kernel sent its checksums in the offload form: accepted (auto, the default) and counted.
  const totals = await app!.counters();
  t.log(`udp_csum_offload ${totals.udp_csum_offload}, drop_udp_checksum ${totals.drop_udp_checksum}`);
  t.true(totals.udp_csum_offload! > 0);
  t.is(totals.drop_udp_checksum, 0);
  // The client is on the RRL allow-list: its answers are counted as exempt, none limited.
  t.true(totals.rrl_exempt! > 0, `rrl_exempt ${totals.rrl_exempt}`);
  t.is(totals.rrl_dropped, 0);
});

test.serial('(root) ping and ping -6 are answered; the client resolves the MAC by ARP and NDP', async (t) => {
  if (guard(t)) return;
  const c = topo!.client.ns;
  t.regex(await topo!.run(c, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', APP4]), / 0% packet loss/);
  t.regex(await topo!.run(c, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', APP6]), / 0% packet loss/);
  const neigh = await topo!.run(c, 'ip', ['neigh', 'show', 'dev', topo!.client.iface]);
  const mac = topo!.server.mac.toLowerCase();
  t.regex(neigh, new RegExp(`${APP4.replace(/\./g, '\\.')} lladdr ${mac}`));
  t.regex(neigh, new RegExp(`${APP6} lladdr ${mac}`));
});

/** Runs the DNS client inside the client namespace; answers as buffers. */
function exchangeInClient(host: string, queries: Buffer[]): Promise<Array<Buffer | null>> {
  return exchangeInNamespace(topo!, topo!.client.ns, tmp.dir, host, queries);
}

for (const [family, nsdAddr, appAddr] of [['IPv4', 'server4', APP4], ['IPv6', 'server6', APP6]] as const) {
  for (const edns of [false, true]) {
    test.serial(`(root) the corpus through the fused datapath matches NSD: ${family}${edns ? ' with EDNS' : ''}`, async (t) => {
      if (guard(t)) return;
      const corpus = fullCorpus(zoneFiles);
      const queries = corpus.map((q) => encodeQuery(q, { edns }));
      const ref = await exchangeInClient(nsdAddr === 'server4' ? topo!.server.ipv4 : topo!.server.ipv6, queries);
      const ours = await exchangeInClient(appAddr, queries);
      const mismatches = corpusMismatches(corpus, ref, ours);
      t.log(`${corpus.length} queries compared`);
      t.deepEqual(mismatches.slice(0, 20), []);
    });
  }
}

test.serial('(root) SIGTERM stops the server, exit 0, no XDP program left on the interface', async (t) => {
  if (guard(t)) return;
  const code = await app!.stop();
  t.is(code, 0, app!.output());
  t.false(await xdpAttached(topo!.server));
});
