// The transfer client against NSD 4 (Debian's nsd) as the primary, on 127.0.0.1 and a
// free port, in the foreground, stopped by its pid: the SOA query; AXFR of the fixture
// zones (example.com without a key, example.net, which holds every type the parser knows,
// with an hmac-sha256 key) and of two 20,000-name zones from scripts/gen-zone.mjs (one
// with the key: a long TSIG chain), each compared as a set of (owner, type, class, TTL,
// canonical RDATA) with the repository's own parse of the same file; a wrong key, no key;
// and IXFR, which NSD 4.6 has no differences for: it answers in AXFR form, or with its
// lone SOA when we are current.

import test, { type ExecutionContext } from 'ava';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nsdConf } from '../../../appliance/bench/nsd.js';
import { parseTsigKey, type TsigKey } from '../../../appliance/secondary/tsig.js';
import { zoneText, type WireRecord } from '../../../appliance/secondary/wire-records.js';
import { querySoa, transfer, type Primary } from '../../../appliance/secondary/xfr.js';
import { checkZone, parseZoneFile, parseZoneText } from '../../../specializers/dns/zone.js';
import { FIXTURE_ZONES, freePort, tempDir } from '../../helpers/fixtures.js';
import { waitForDns } from '../../helpers/nsd.js';
import { hasCommand, startProcess, type Started } from '../../helpers/processes.js';
import { fromZone, genZone, recordKeys } from './xfr-helpers.js';

const haveNsd = hasCommand('nsd');
const tmp = tempDir('xfr-nsd');
const SECRET = Buffer.from('nsd transfer key, 32 bytes long!').toString('base64');
const KEY = parseTsigKey(`xfr-key:hmac-sha256:${SECRET}`);
const WRONG_SECRET = parseTsigKey(`xfr-key:hmac-sha256:${Buffer.from('not the key NSD has, 32 bytes...').toString('base64')}`);
const UNKNOWN_KEY = parseTsigKey(`other-key:hmac-sha256:${SECRET}`);
const NAMES = 20_000;

const zones = {
  'example.com': { file: join(FIXTURE_ZONES, 'example.com.zone'), key: false },
  'example.net': { file: join(FIXTURE_ZONES, 'example.net.zone'), key: true },
  'big.example': { file: join(tmp.dir, 'big.example.zone'), key: false },
  'bigkey.example': { file: join(tmp.dir, 'bigkey.example.zone'), key: true },
};
type ZoneName = keyof typeof zones;

let nsd: Started | undefined;
let primary: Primary = { host: '127.0.0.1', port: 0 };

test.before(async () => {
  if (!haveNsd) return;
  genZone(zones['big.example'].file, NAMES, 'big.example', 1);
  genZone(zones['bigkey.example'].file, NAMES, 'bigkey.example', 2);
  const dir = join(tmp.dir, 'nsd');
  mkdirSync(dir);
  const port = await freePort();
  primary = { host: '127.0.0.1', port };
  // The benchmarks' config writer for the server part; the key and the zones with their
  // provide-xfr ACLs (nsd.conf(5)) after it.
  const conf = join(dir, 'nsd.conf');
  appendFileSync(conf, nsdConf({ dir, addresses: ['127.0.0.1'], port, zones: [], zonesdir: FIXTURE_ZONES, verbosity: 1 }));
  appendFileSync(conf, ['key:', '    name: "xfr-key"', '    algorithm: hmac-sha256', `    secret: "${SECRET}"`, ''].join('\n'));
  for (const [name, z] of Object.entries(zones)) {
    appendFileSync(conf, ['zone:', `    name: "${name}"`, `    zonefile: "${z.file}"`, `    provide-xfr: 127.0.0.1 ${z.key ? 'xfr-key' : 'NOKEY'}`, ''].join('\n'));
  }
  nsd = startProcess('nsd', ['-d', '-c', conf]);
  await waitForDns('127.0.0.1', port, 15_000, nsd);
  // NSD answers before every zone is read: each zone's SOA, polled with a deadline.
  for (const [name, z] of Object.entries(zones)) await soaWhenLoaded(name, z.key ? KEY : undefined);
});

test.after.always(async () => {
  await nsd?.stop();
  tmp.cleanup();
});

async function soaWhenLoaded(zone: string, key: TsigKey | undefined): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await querySoa(zone, { ...primary, key }, { timeoutMs: 1000, tries: 1 });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`NSD did not serve ${zone} within 30 s: ${(e as Error).message}\n${nsd?.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function skip(t: ExecutionContext): boolean {
  if (haveNsd) return false;
  t.log('SKIPPED: nsd is not installed (apt-get install nsd)');
  t.pass();
  return true;
}

/** The zone as the repository reads the same file, duplicates dropped as NSD drops them. */
function expected(zone: ZoneName): WireRecord[] {
  return checkZone(parseZoneFile(zones[zone].file, { origin: zone })).records.map(fromZone);
}

function keyOf(zone: ZoneName): TsigKey | undefined {
  return zones[zone].key ? KEY : undefined;
}

test('querySoa: NSD\'s serial for example.com, unsigned and signed', async (t) => {
  if (skip(t)) return;
  const r = await querySoa('example.com', primary);
  t.is(r.serial, 2024060101);
  t.is(r.soa.type, 6);
  t.true(r.rtt >= 0);
  const signed = await querySoa('example.net.', { ...primary, key: KEY });
  t.is(signed.serial, 2024060101);
});

for (const zone of ['example.com', 'example.net', 'big.example', 'bigkey.example'] as const) {
  test(`AXFR of ${zone}${zones[zone].key ? ' (TSIG hmac-sha256)' : ''}: exactly the zone's records, and zoneText reads back to them`, async (t) => {
    if (skip(t)) return;
    const r = await transfer(zone, { ...primary, key: keyOf(zone) });
    if (r.kind !== 'axfr') throw new Error(`kind ${r.kind}`);
    const want = expected(zone);
    t.is(r.records.length, want.length);
    t.deepEqual(recordKeys(r.records), recordKeys(want));
    t.is(r.records[0]!.type, 6, 'the SOA first');
    const back = parseZoneText(zoneText(zone, r.records), { file: `${zone}.zone` }).records.map(fromZone);
    t.deepEqual(recordKeys(back), recordKeys(want));
    if (zone.startsWith('big')) t.true(r.messages > 10, `${r.messages} messages`);
    t.log(`${zone}: ${r.records.length} records in ${r.messages} messages, ${r.bytes} bytes`);
  });
}

test('a wrong secret, or a key NSD does not know: APPL_ERR_XFR_TSIG, never a zone', async (t) => {
  if (skip(t)) return;
  for (const key of [WRONG_SECRET, UNKNOWN_KEY]) {
    const e = await t.throwsAsync(transfer('bigkey.example', { ...primary, key }));
    const code = (e as { code?: string }).code;
    t.true(code === 'APPL_ERR_XFR_TSIG' || (code === 'APPL_ERR_XFR_RCODE' && /NOTAUTH/.test(e!.message)), `${code}: ${e!.message}`);
    t.log(`${key.name}: ${code}: ${e!.message}`);
    await t.throwsAsync(querySoa('example.net', { ...primary, key }), { message: /TSIG|NOTAUTH/ });
  }
});

test('no key for a zone that needs one: APPL_ERR_XFR_RCODE', async (t) => {
  if (skip(t)) return;
  const e = await t.throwsAsync(transfer('example.net', primary));
  t.is((e as { code?: string }).code, 'APPL_ERR_XFR_RCODE');
  t.log(e!.message);
});

test('IXFR: NSD 4 has no differences to send; an older serial gets the whole zone, ours is uptodate', async (t) => {
  if (skip(t)) return;
  for (const zone of ['example.com', 'bigkey.example'] as const) {
    const p = { ...primary, key: keyOf(zone) };
    const now = await querySoa(zone, p);
    const older = await transfer(zone, p, { serial: now.serial - 1, soa: now.soa });
    if (older.kind !== 'axfr') throw new Error(`an IXFR from an older serial came back as ${older.kind}`);
    t.deepEqual(recordKeys(older.records), recordKeys(expected(zone)));
    t.log(`${zone}: IXFR from ${now.serial - 1} answered ${older.fellBack ? 'by refusing it (AXFR asked instead)' : 'in AXFR form'}, ${older.messages} messages`);
    const same = await transfer(zone, p, { serial: now.serial, soa: now.soa });
    t.deepEqual(same, { kind: 'uptodate', serial: now.serial });
  }
});
