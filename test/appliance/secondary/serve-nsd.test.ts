// `appliance serve IMAGE --secondary ...` fed by NSD 4 as the primary, on loopback, with
// default flags: the zones transferred at start, answered as NSD, a secondary of the same
// primary, answers them (the NSD differential corpus), a change NSD announces by NOTIFY served with a steady probe losing
// nothing, a NOTIFY from elsewhere refused, and the state kept across a restart with the
// primary down until the SOA expire, then SERVFAIL.

import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { buildTestImage, FIXTURE_SITE, FIXTURE_ZONES, freePort, tempDir } from '../../helpers/fixtures.js';
import { startNsd, startNsdSecondary } from '../../helpers/nsd.js';
import { hasCommand, type Started } from '../../helpers/processes.js';
import { start, type Served } from '../../helpers/serve.js';
import { corpusMismatches, encodeQuery, fullCorpus, parseCorpusLine, tcpExchange, udpExchange } from '../../helpers/dns.js';
import { copyZone, servedSerial, setSerial, untilSerial } from '../../helpers/secondary.js';
import { PROBE, startedProbe } from '../../helpers/reload.js';
import { stopProcess } from '../../../appliance/bench/netns.js';

const HAVE = hasCommand('nsd');

async function stopNsd(nsd: Started): Promise<void> {
  await stopProcess(nsd.proc, 3000);
}

function served(args: string[]): Promise<Served> {
  return start(['serve', ...args, '--metrics', '127.0.0.1:0']);
}

test.serial('NSD as the primary: transferred at start, answered as NSD answers, a NOTIFY-announced change served with nothing lost', async (t) => {
  if (!HAVE) return void t.pass();
  const d = tempDir('sec-nsd');
  t.teardown(d.cleanup);
  const net = copyZone(d.dir, 'example.net.zone');
  const org = copyZone(d.dir, 'example.org.zone');
  const nsdPort = await freePort();
  const dnsPort = await freePort();
  const extra = ['provide-xfr: 127.0.0.1 NOKEY', `notify: 127.0.0.1@${dnsPort} NOKEY`];
  const nsd = await startNsd(d.dir, '127.0.0.1', nsdPort, [{ origin: 'example.net.', file: net, extra }, { origin: 'example.org.', file: org, extra }]);
  t.teardown(() => stopNsd(nsd));
  const image = await buildTestImage(join(d.dir, 'site.img'), [{ host: null, dir: FIXTURE_SITE }], [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }]);
  // RRL off, as the NSD it is compared with (rrl-ratelimit: 0): the corpus comes from one source, fast.
  const app = await served([image, '--http', '127.0.0.1:0', '--dns', `127.0.0.1:${dnsPort}`, '--state-dir', join(d.dir, 'state'), '--rrl-rate', '0',
    '--secondary', `example.net=127.0.0.1:${nsdPort}`, '--secondary', `example.org=127.0.0.1:${nsdPort}`]);
  t.teardown(() => app.stop());
  await untilSerial(dnsPort, 'example.net', await servedSerial(nsdPort, 'example.net') as number, 15_000);
  await untilSerial(dnsPort, 'example.org', await servedSerial(nsdPort, 'example.org') as number, 15_000);
  t.is(await servedSerial(dnsPort, 'example.com'), 2024060101, 'the image\'s own zone is served beside them');

  // The reference: NSD as a secondary of the same primary (its answer to ANY at an apex
  // depends on the order a transfer gives the records, as ours does).
  const refPort = await freePort();
  const refDir = join(d.dir, 'ref');
  mkdirSync(refDir);
  const ref = await startNsdSecondary(refDir, refPort, [{ origin: 'example.net.', primary: `127.0.0.1@${nsdPort}` }, { origin: 'example.org.', primary: `127.0.0.1@${nsdPort}` }]);
  t.teardown(() => ref.stop());
  await untilSerial(refPort, 'example.net', 2024060101, 15_000);
  await untilSerial(refPort, 'example.org', 2024060101, 15_000);
  // The differential corpus over the transferred zones: the same answers as NSD's, over UDP (with and without EDNS) and TCP.
  const corpus = fullCorpus([net, org]).filter((q) => q.opcode === 0 && /example\.(net|org)\.?(\s|$)/i.test(q.line));
  t.true(corpus.length > 200, `${corpus.length} queries`);
  for (const [what, enc] of [['no EDNS', {}], ['EDNS 1232', { edns: true, udpSize: 1232 }], ['EDNS 512', { edns: true, udpSize: 512 }]] as const) {
    const qs = corpus.map((q) => encodeQuery(q, enc));
    const mism = corpusMismatches(corpus, await udpExchange(refPort, qs), await udpExchange(dnsPort, qs));
    t.deepEqual(mism.slice(0, 10), [], `UDP ${what}: ${mism.length} mismatches`);
  }
  const qs = corpus.map((q) => encodeQuery(q));
  const tcpMism = corpusMismatches(corpus, await tcpExchange(refPort, qs), await tcpExchange(dnsPort, qs));
  t.deepEqual(tcpMism.slice(0, 10), [], `TCP: ${tcpMism.length} mismatches`);

  // A change: NSD reloads on SIGHUP and sends NOTIFY; a probe asks every 2 ms throughout.
  const probeIn = join(d.dir, 'probe.json');
  const httpPort = Number(/HTTP\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(app.output())?.[1]);
  writeFileSync(probeIn, JSON.stringify({ host: '127.0.0.1', httpPort, dnsPort, zone: 'example.org.', path: '/', everyMs: 2 }));
  const probe = await startedProbe(spawn(process.execPath, [PROBE, probeIn], { stdio: ['pipe', 'pipe', 'pipe'] }));
  await new Promise((r) => setTimeout(r, 300));
  setSerial(org, 2024060102, ['added IN A 198.18.3.250']);
  const before = (await app.counters()).dns_notify ?? 0;
  const sent = performance.now();
  nsd.proc.kill('SIGHUP');
  const took = await untilSerial(dnsPort, 'example.org', 2024060102, 10_000, '127.0.0.1', 2);
  const tookMs = performance.now() - sent;
  await new Promise((r) => setTimeout(r, 300));
  const result = await probe.finish();
  t.log(`NSD SIGHUP → serial 2024060102 served in ${tookMs.toFixed(0)} ms (${took.toFixed(0)} ms of polling); probe: ${result.dns.answered}/${result.dns.sent} answered, serials ${result.dns.serials.join(' → ')}`);
  t.is(result.dns.lost, 0);
  t.is(result.dns.wrong, 0);
  t.is(result.http.lost, 0);
  t.deepEqual(result.http.errors, []);
  t.deepEqual(result.dns.serials, [2024060101, 2024060102]);
  t.true(((await app.counters()).dns_notify ?? 0) > before, 'the NOTIFY was taken');
  const [a] = await udpExchange(dnsPort, [encodeQuery(parseCorpusLine('added.example.org. A')!)]);
  t.is(a![3]! & 0xf, 0);
  t.is(a!.readUInt16BE(6), 1);

  // NOTIFY from an address that is not the primary's: REFUSED, and nothing checked.
  const other = dgram.createSocket('udp4');
  t.teardown(() => other.close());
  await new Promise<void>((r) => other.bind(0, '127.0.0.2', () => r()));
  const notify = encodeQuery({ ...parseCorpusLine('example.org. SOA')!, opcode: 4 });
  const reply = await new Promise<Buffer>((res) => { other.once('message', res); other.send(notify, dnsPort, '127.0.0.1'); });
  t.is(reply[3]! & 0xf, 5, 'REFUSED');
  t.true(existsSync(join(d.dir, 'state', 'zones', 'example.org.zone')));
});

test.serial('the primary stopped: the kept copy is served, across a restart too, until the SOA expire; then SERVFAIL', async (t) => {
  if (!HAVE) return void t.pass();
  const d = tempDir('sec-expire');
  t.teardown(d.cleanup);
  const zone = join(d.dir, 'expire.test.zone');
  // refresh 1 s, retry 1 s, expire 8 s
  writeFileSync(zone, '$ORIGIN expire.test.\n$TTL 60\n@ IN SOA ns hostmaster ( 7 1 1 8 60 )\n IN NS ns\nns IN A 198.18.4.1\nwww IN A 198.18.4.2\n');
  const nsdPort = await freePort();
  const dnsPort = await freePort();
  const nsd = await startNsd(d.dir, '127.0.0.1', nsdPort, [{ origin: 'expire.test.', file: zone, extra: ['provide-xfr: 127.0.0.1 NOKEY'] }]);
  let nsdUp = true;
  t.teardown(() => (nsdUp ? stopNsd(nsd) : undefined));
  const args = ['--dns', `127.0.0.1:${dnsPort}`, '--state-dir', join(d.dir, 'state'), '--secondary', `expire.test=127.0.0.1:${nsdPort}`];
  let app = await served(args);
  t.teardown(() => app.stop());
  await untilSerial(dnsPort, 'expire.test', 7, 15_000);
  await stopNsd(nsd);
  nsdUp = false;
  const stoppedAt = performance.now();
  // Restarted with the primary down: the kept copy, at once.
  await app.stop();
  app = await served(args);
  t.is(await servedSerial(dnsPort, 'expire.test'), 7, 'the kept copy is served after a restart');
  const s = await app.counters();
  t.truthy(s);
  // Still served before the expire, SERVFAIL after it (8 s after the last good check).
  await new Promise((r) => setTimeout(r, Math.max(0, 4000 - (performance.now() - stoppedAt))));
  t.is(await servedSerial(dnsPort, 'expire.test'), 7);
  const servfailAt = await (async () => {
    for (;;) {
      const v = await servedSerial(dnsPort, 'expire.test');
      if (v === -2) return performance.now() - stoppedAt;
      if (performance.now() - stoppedAt > 15_000) throw new Error(`no SERVFAIL 15 s after the primary stopped (last ${v})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  t.log(`SERVFAIL ${servfailAt.toFixed(0)} ms after the primary stopped (expire 8 s)`);
  t.true(servfailAt > 6000 && servfailAt < 11_000);
  const res = await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`).then((r) => r.text());
  t.regex(res, /appliance_secondary_state\{zone="expire\.test\.",state="expired"\} 1/);
  t.regex(res, /appliance_secondary_failures_total\{zone="expire\.test\."\} [1-9]/);
});
