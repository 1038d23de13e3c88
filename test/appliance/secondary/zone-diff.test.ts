// The kept copy of a secondary zone: records packed across threads and back, an IXFR's
// steps applied (deletions must match, TTL aside; names compared without case), a step
// that deletes what the copy lacks refused as a mismatch, and the copy written as zone text
// (SOA last) read back as the same records.

import test from 'ava';
import { join } from 'node:path';
import { applyIxfr, packRecords, readKept, unpackRecords, writeZone } from '../../../appliance/secondary/zone-diff.js';
import { tempDir } from '../../helpers/fixtures.js';
import { aRecord, recordKeys, soaRecord, wire } from './xfr-helpers.js';

const ZONE = 'diff.example';
const base = () => [soaRecord(ZONE, 1), { owner: wire(ZONE), type: 2, cls: 1, ttl: 60, rdata: wire(`ns.${ZONE}`) }, aRecord(`ns.${ZONE}`, [198, 18, 1, 1]), aRecord(`www.${ZONE}`, [198, 18, 1, 2])];

test('records packed and unpacked are the same records', (t) => {
  const r = [...base(), { owner: wire('x.' + ZONE), type: 16, cls: 1, ttl: 0x7fffffff, rdata: Uint8Array.of(3, 97, 98, 99) }];
  t.deepEqual(recordKeys(unpackRecords(packRecords(r))), recordKeys(r));
  t.deepEqual(unpackRecords(packRecords([])), []);
});

test('IXFR steps applied in order; a deletion the copy lacks is a mismatch', (t) => {
  const steps = {
    soa: soaRecord(ZONE, 3),
    diffs: [
      { from: 1, to: 2, deleted: [soaRecord(ZONE, 1), aRecord(`WWW.${ZONE.toUpperCase()}`, [198, 18, 1, 2], 999)], added: [soaRecord(ZONE, 2), aRecord(`www.${ZONE}`, [198, 18, 1, 3])] },
      { from: 2, to: 3, deleted: [soaRecord(ZONE, 2)], added: [soaRecord(ZONE, 3), aRecord(`new.${ZONE}`, [198, 18, 1, 4])] },
    ],
  };
  const out = applyIxfr(base(), steps);
  t.deepEqual(recordKeys(out), recordKeys([soaRecord(ZONE, 3), ...base().slice(1, 3), aRecord(`www.${ZONE}`, [198, 18, 1, 3]), aRecord(`new.${ZONE}`, [198, 18, 1, 4])]));
  t.is(out[0]!.type, 6);
  const bad = { soa: soaRecord(ZONE, 2), diffs: [{ from: 1, to: 2, deleted: [soaRecord(ZONE, 1), aRecord(`gone.${ZONE}`, [1, 2, 3, 4])], added: [soaRecord(ZONE, 2)] }] };
  const e = t.throws(() => applyIxfr(base(), bad));
  t.is((e as { code?: string }).code, 'APPL_ERR_SECONDARY');
  t.true((e as { ixfrMismatch?: boolean }).ixfrMismatch);
});

test('a copy written as zone text reads back as the same records, the SOA first', (t) => {
  const d = tempDir('zone-diff');
  t.teardown(d.cleanup);
  const file = join(d.dir, 'z.zone');
  writeZone(file, `${ZONE}.`, base());
  const back = readKept(file, `${ZONE}.`);
  t.is(back[0]!.type, 6);
  t.deepEqual(recordKeys(back), recordKeys(base()));
});
