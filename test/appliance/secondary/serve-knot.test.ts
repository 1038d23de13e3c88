// `appliance serve --secondary ... --tsig-key ...` fed by Knot DNS 3 as the primary (kernel
// sockets, on loopback), transfers signed with TSIG (hmac-sha256): the zone transferred at
// start and answered as NSD answers it as a secondary of the same Knot (the differential corpus); a one-record
// change made with knotc, announced by Knot's NOTIFY, comes as an IXFR from Knot's journal
// and is served; a secondary with the wrong key is refused, counts the failure, and
// answers SERVFAIL for a zone it never got.

import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { knotChange, knotPrimaryConf } from '../../../appliance/bench/knot.js';
import { freePort, tempDir } from '../../helpers/fixtures.js';
import { startNsdSecondary, waitForDns } from '../../helpers/nsd.js';
import { hasCommand, startProcess, type Started } from '../../helpers/processes.js';
import { start, type Served } from '../../helpers/serve.js';
import { corpusMismatches, encodeQuery, fullCorpus, parseCorpusLine, udpExchange } from '../../helpers/dns.js';
import { servedSerial, untilMatches, untilSerial } from '../../helpers/secondary.js';
import { genZone } from './xfr-helpers.js';

const HAVE = hasCommand('knotd') && hasCommand('knotc') && hasCommand('nsd');
const ZONE = 'knot.example';
const SECRET = Buffer.from('the secondary tests\' transfer key, thirty-two+ bytes').toString('base64');
const WRONG = Buffer.from('not the key the primary has').toString('base64');

test.serial('Knot as the primary, TSIG: answered as NSD (its secondary too) answers the zone, a knotc change served by IXFR after NOTIFY; a wrong key refused and counted', async (t) => {
  if (!HAVE) return void t.pass();
  const d = tempDir('sec-knot');
  t.teardown(d.cleanup);
  const file = genZone(join(d.dir, `${ZONE}.zone`), 2000, ZONE, 7);
  const knotDir = join(d.dir, 'knot');
  mkdirSync(join(knotDir, 'db'), { recursive: true });
  const knotPort = await freePort();
  const dnsPort = await freePort();
  const conf = join(knotDir, 'knot.conf');
  writeFileSync(conf, knotPrimaryConf({
    dir: knotDir, listen: [`127.0.0.1@${knotPort}`], keys: [{ id: 'xfr', algorithm: 'hmac-sha256', secret: SECRET }],
    zones: [{ domain: ZONE, file, transferFrom: ['127.0.0.1'], key: 'xfr', notify: [`127.0.0.1@${dnsPort}`] }],
  }));
  const knot: Started = startProcess('knotd', ['-c', conf]);
  t.teardown(() => knot.stop());
  await waitForDns('127.0.0.1', knotPort, 15_000, knot);
  // The reference: NSD as a secondary of the same Knot, with the same key (its answer to ANY
  // depends on the order the records came in, as ours does).
  const nsdPort = await freePort();
  const nsdDir = join(d.dir, 'nsd');
  mkdirSync(nsdDir);
  const nsd = await startNsdSecondary(nsdDir, nsdPort, [{ origin: `${ZONE}.`, primary: `127.0.0.1@${knotPort}`, key: 'xfr' }],
    [{ name: 'xfr', algorithm: 'hmac-sha256', secret: SECRET }]);
  t.teardown(() => nsd.stop());

  // RRL off, as the NSD it is compared with: the corpus comes from one source, fast.
  const app: Served = await start(['serve', '--dns', `127.0.0.1:${dnsPort}`, '--metrics', '127.0.0.1:0', '--rrl-rate', '0', '--hide-identity', '--hide-version',
    '--state-dir', join(d.dir, 'state'), '--tsig-key', `xfr:hmac-sha256:${SECRET}`, '--secondary', `${ZONE}=127.0.0.1:${knotPort},key=xfr`]);
  t.teardown(() => app.stop());
  const first = await servedSerial(knotPort, ZONE) as number;
  await untilSerial(dnsPort, ZONE, first, 20_000);
  await untilSerial(nsdPort, ZONE, first, 20_000);
  const corpus = fullCorpus([file]).filter((q) => q.opcode === 0);
  const qs = corpus.map((q) => encodeQuery(q, { edns: true }));
  const mism = corpusMismatches(corpus, await udpExchange(nsdPort, qs), await udpExchange(dnsPort, qs));
  t.log(`${corpus.length} queries compared with NSD, a secondary of the same Knot`);
  t.deepEqual(mism.slice(0, 10), []);

  // One record changed through knotc: Knot bumps the serial, journals the change and NOTIFYs us.
  const started = performance.now();
  knotChange(conf, ZONE, ['zone-set', 'ixfr-added', '300', 'A', '198.18.7.7']);
  const next = await servedSerial(knotPort, ZONE) as number;
  t.not(next, first);
  await untilSerial(dnsPort, ZONE, next, 10_000, '127.0.0.1', 5).catch((e: unknown) => { t.log(app.output().slice(-3000)); throw e; });
  t.log(`knotc zone-commit → serial ${next} served in ${(performance.now() - started).toFixed(0)} ms`);
  // Every UDP worker has switched once the manager says so (the first to switch answers the SOA above).
  await untilMatches(() => fetch(`http://127.0.0.1:${app.metricsPort}/metrics`).then((r) => r.text()), [new RegExp(`appliance_secondary_serial\\{zone="${ZONE}\\."\\} ${next}`)]);
  const [a] = await udpExchange(dnsPort, [encodeQuery(parseCorpusLine(`ixfr-added.${ZONE}. A`)!)]);
  t.is(a!.readUInt16BE(6), 1, 'the added record is answered');
  const wanted = [
    new RegExp(`appliance_secondary_transfers_total\\{zone="${ZONE}\\.",kind="ixfr"\\} 1`),
    new RegExp(`appliance_secondary_transfers_total\\{zone="${ZONE}\\.",kind="axfr"\\} 1`),
    /appliance_dns_notify_total\{queue="0"\} [1-9]/,
  ];
  const metrics = await untilMatches(() => fetch(`http://127.0.0.1:${app.metricsPort}/metrics`).then((r) => r.text()), wanted);
  for (const re of wanted) t.regex(metrics, re);

  // The wrong key: refused by Knot, counted, logged with its code; the zone never served answers SERVFAIL.
  const badPort = await freePort();
  const bad = await start(['serve', '--dns', `127.0.0.1:${badPort}`, '--metrics', '127.0.0.1:0', '--state-dir', join(d.dir, 'state-bad'),
    '--tsig-key', `xfr:hmac-sha256:${WRONG}`, '--secondary', `${ZONE}=127.0.0.1:${knotPort},key=xfr`]);
  t.teardown(() => bad.stop());
  const deadline = Date.now() + 10_000;
  let m = '';
  while (Date.now() < deadline) {
    m = await fetch(`http://127.0.0.1:${bad.metricsPort}/metrics`).then((r) => r.text());
    if (/appliance_secondary_failures_total\{zone="knot\.example\."\} [1-9]/.test(m)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.regex(m, /appliance_secondary_failures_total\{zone="knot\.example\."\} [1-9]/);
  t.regex(m, /appliance_secondary_state\{zone="knot\.example\.",state="pending"\} 1/);
  t.is(await servedSerial(badPort, ZONE), -2, 'SERVFAIL');
  t.regex(bad.output(), /APPL_ERR_XFR_(TSIG|RCODE)/);
});
