// The transfer client against Knot DNS 3 (Debian's knotd) as the primary, on 127.0.0.1 and
// a free port, in the foreground with its own config, storage and journal in a temporary
// directory, stopped by its pid. Knot keeps the changes made through knotc in its journal
// (journal-content: changes, its default; knot.conf(5)) and serves them as IXFR:
//
//   - one record changed (knotc zone-begin / zone-unset / zone-set / zone-commit, the serial
//     incremented by Knot's serial-policy): IXFR from the old serial is one step, the old
//     SOA and record deleted, the new SOA and record added; applied to the zone as it was,
//     it gives the zone as AXFR now sends it;
//   - IXFR from the current serial: uptodate; from a serial the journal does not hold: the
//     AXFR form (RFC 1995 §4);
//   - a zone whose ACL denies transfers: APPL_ERR_XFR_RCODE, for AXFR and for IXFR (which
//     falls back to AXFR, refused too);
//   - a zone that needs a key (hmac-sha512 here: another algorithm, another implementation
//     of the TSIG chain than NSD's): transferred whole with it, refused without or with a
//     wrong one.

import test, { type ExecutionContext } from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTsigKey, type TsigKey } from '../../../appliance/secondary/tsig.js';
import { knotChange, knotPrimaryConf } from '../../../appliance/bench/knot.js';
import { soaSerial, type WireRecord } from '../../../appliance/secondary/wire-records.js';
import { querySoa, transfer, type Primary } from '../../../appliance/secondary/xfr.js';
import { checkZone, nameToText, parseZoneFile, rdataToText } from '../../../specializers/dns/zone.js';
import { freePort, tempDir } from '../../helpers/fixtures.js';
import { waitForDns } from '../../helpers/nsd.js';
import { hasCommand, startProcess, type Started } from '../../helpers/processes.js';
import { fromZone, genZone, recordKey, recordKeys } from './xfr-helpers.js';

const haveKnot = hasCommand('knotd') && hasCommand('knotc');
const tmp = tempDir('xfr-knot');
const dir = join(tmp.dir, 'knot');
const conf = join(dir, 'knot.conf');
const SECRET = Buffer.from('a knot transfer key: sixty-four bytes of secret for hmac-sha512..').toString('base64');
const KEY = parseTsigKey(`knot-key:hmac-sha512:${SECRET}`);
const WRONG = parseTsigKey(`knot-key:hmac-sha512:${Buffer.from('wrong').toString('base64')}`);

const IXFR_ZONE = 'ixfr.example';
const CLOSED_ZONE = 'closed.example';
const KEYED_ZONE = 'keyed.example';
const file = (zone: string): string => join(tmp.dir, `${zone}.zone`);

let knot: Started | undefined;
let primary: Primary = { host: '127.0.0.1', port: 0 };

function knotConf(port: number): string {
  return knotPrimaryConf({
    dir, listen: [`127.0.0.1@${port}`], keys: [{ id: 'knot-key', algorithm: 'hmac-sha512', secret: SECRET }],
    zones: [
      { domain: IXFR_ZONE, file: file(IXFR_ZONE), transferFrom: ['127.0.0.1'] },
      { domain: CLOSED_ZONE, file: file(CLOSED_ZONE), transferFrom: ['127.0.0.1'], deny: true },
      { domain: KEYED_ZONE, file: file(KEYED_ZONE), transferFrom: ['127.0.0.1'], key: 'knot-key' },
    ],
  });
}

test.before(async () => {
  if (!haveKnot) return;
  genZone(file(IXFR_ZONE), 300, IXFR_ZONE, 3);
  genZone(file(CLOSED_ZONE), 10, CLOSED_ZONE, 4);
  genZone(file(KEYED_ZONE), 3000, KEYED_ZONE, 5);
  mkdirSync(join(dir, 'db'), { recursive: true });
  const port = await freePort();
  primary = { host: '127.0.0.1', port };
  writeFileSync(conf, knotConf(port));
  knot = startProcess('knotd', ['-c', conf]);
  await waitForDns('127.0.0.1', port, 15_000, knot);
  for (const zone of [IXFR_ZONE, CLOSED_ZONE, KEYED_ZONE]) await soaWhenLoaded(zone);
});

test.after.always(async () => {
  await knot?.stop();
  tmp.cleanup();
});

async function soaWhenLoaded(zone: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await querySoa(zone, primary, { timeoutMs: 1000, tries: 1 });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`Knot did not serve ${zone} within 30 s: ${(e as Error).message}\n${knot?.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function skip(t: ExecutionContext): boolean {
  if (haveKnot) return false;
  t.log('SKIPPED: knotd or knotc is not installed (apt-get install knot)');
  t.pass();
  return true;
}

function expected(zone: string): WireRecord[] {
  return checkZone(parseZoneFile(file(zone), { origin: zone })).records.map(fromZone);
}

/** The zone after the IXFR's steps (SOA replaced, deleted records removed, added ones added). */
function applySteps(zone: WireRecord[], diffs: Array<{ deleted: WireRecord[]; added: WireRecord[] }>): string[] {
  const keys = new Map(zone.map((r) => [recordKey(r), r]));
  for (const d of diffs) {
    for (const r of d.deleted) if (!keys.delete(recordKey(r))) throw new Error(`the IXFR deletes ${recordKey(r)}, which the zone does not hold`);
    for (const r of d.added) keys.set(recordKey(r), r);
  }
  return [...keys.keys()].sort();
}

// These run in order: the first changes the zone the others read.
let before: { serial: number; soa: WireRecord; records: WireRecord[] } | undefined;
let after: { serial: number; soa: WireRecord } | undefined;

test.serial('IXFR after a one-record change: one step, the old SOA and record out, the new ones in', async (t) => {
  if (skip(t)) return;
  const soa = await querySoa(IXFR_ZONE, primary);
  const whole = await transfer(IXFR_ZONE, primary);
  if (whole.kind !== 'axfr') throw new Error(whole.kind);
  t.deepEqual(recordKeys(whole.records), recordKeys(expected(IXFR_ZONE)));
  before = { serial: soa.serial, soa: soa.soa, records: whole.records };

  const old = whole.records.find((r) => r.type === 1 && r.owner.length > 14)!;
  const owner = nameToText(old.owner);
  knotChange(conf, IXFR_ZONE, ['zone-unset', owner, 'A', rdataToText(1, old.rdata)], ['zone-set', owner, String(old.ttl), 'A', '198.19.255.77']);

  const now = await querySoa(IXFR_ZONE, primary);
  t.is(now.serial, (soa.serial + 1) >>> 0, "Knot's serial-policy increment");
  after = { serial: now.serial, soa: now.soa };

  const r = await transfer(IXFR_ZONE, primary, { serial: soa.serial, soa: soa.soa });
  if (r.kind !== 'ixfr') throw new Error(`kind ${r.kind}`);
  t.is(r.from, soa.serial);
  t.is(r.to, now.serial);
  t.is(soaSerial(r.soa.rdata), now.serial);
  t.is(r.diffs.length, 1);
  const [d] = r.diffs;
  t.deepEqual([d!.from, d!.to], [soa.serial, now.serial]);
  t.deepEqual(recordKeys(d!.deleted), recordKeys([soa.soa, old]));
  t.deepEqual(recordKeys(d!.added), recordKeys([now.soa, { ...old, rdata: Uint8Array.of(198, 19, 255, 77) }]));
  t.log(`Knot: IXFR ${soa.serial} → ${now.serial} in ${r.messages} message(s), ${r.bytes} bytes`);

  const nowWhole = await transfer(IXFR_ZONE, primary);
  if (nowWhole.kind !== 'axfr') throw new Error(nowWhole.kind);
  t.deepEqual(applySteps(whole.records, r.diffs), recordKeys(nowWhole.records), 'the old zone and the steps give the new zone');
});

test.serial('IXFR from the current serial: uptodate', async (t) => {
  if (skip(t)) return;
  t.truthy(after, 'the change above ran');
  t.deepEqual(await transfer(IXFR_ZONE, primary, after!), { kind: 'uptodate', serial: after!.serial });
});

test.serial('IXFR from a serial the journal does not hold: the AXFR form, the whole zone', async (t) => {
  if (skip(t)) return;
  t.truthy(before && after, 'the change above ran');
  const r = await transfer(IXFR_ZONE, primary, { serial: (before!.serial - 1000) >>> 0, soa: before!.soa });
  if (r.kind !== 'axfr') throw new Error(`kind ${r.kind}`);
  t.false(r.fellBack, 'answered in AXFR form, not refused');
  t.is(soaSerial(r.records[0]!.rdata), after!.serial);
  t.is(r.records.length, before!.records.length);
});

test('an ACL that denies transfers: APPL_ERR_XFR_RCODE, for AXFR and for IXFR', async (t) => {
  if (skip(t)) return;
  const soa = await querySoa(CLOSED_ZONE, primary);
  const axfr = await t.throwsAsync(transfer(CLOSED_ZONE, primary));
  t.is((axfr as { code?: string }).code, 'APPL_ERR_XFR_RCODE');
  t.regex(axfr!.message, /AXFR query was answered (NOTAUTH|REFUSED)/);
  t.log(axfr!.message);
  const ixfr = await t.throwsAsync(transfer(CLOSED_ZONE, primary, { serial: soa.serial - 1, soa: soa.soa }));
  t.is((ixfr as { code?: string }).code, 'APPL_ERR_XFR_RCODE');
  t.regex(ixfr!.message, /^AXFR of closed\.example\. from .* \(after IXFR was refused\)/);
});

test('TSIG hmac-sha512: the zone with the key; a wrong key or none refused', async (t) => {
  if (skip(t)) return;
  const withKey: Primary & { key: TsigKey } = { ...primary, key: KEY };
  t.true((await querySoa(KEYED_ZONE, withKey)).serial > 0);
  const r = await transfer(KEYED_ZONE, withKey);
  if (r.kind !== 'axfr') throw new Error(r.kind);
  t.deepEqual(recordKeys(r.records), recordKeys(expected(KEYED_ZONE)));
  t.log(`Knot: ${r.records.length} records signed with hmac-sha512 in ${r.messages} messages`);
  const wrong = await t.throwsAsync(transfer(KEYED_ZONE, { ...primary, key: WRONG }));
  t.is((wrong as { code?: string }).code, 'APPL_ERR_XFR_TSIG');
  t.log(wrong!.message);
  const none = await t.throwsAsync(transfer(KEYED_ZONE, primary));
  t.is((none as { code?: string }).code, 'APPL_ERR_XFR_RCODE');
});
