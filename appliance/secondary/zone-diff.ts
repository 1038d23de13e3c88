// A transferred zone made into its kept copy, in the compile worker (compile-worker.ts):
// the records of an AXFR, or the kept copy with an IXFR's differences applied (RFC 1995
// §4), written as zone text beside the old copy. Records cross from serve's thread packed
// into one buffer (packRecords), not as objects: one copy, transferred, no clone per record.

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ApplianceError } from '../../basics/errors.js';
import { canonicalRdata } from '../../specializers/dns/zone-check.js';
import { lowerName, nameToWire } from '../../specializers/dns/dns-name.js';
import { parseZoneFile, parsedZone, type ParsedZone } from '../../specializers/dns/zone-parser.js';
import { RecordStore } from '../../specializers/dns/record-store.js';
import { zoneTextChunks, type WireRecord } from './wire-records.js';

const SOA = 6;

export interface Soa { serial: number; refresh: number; retry: number; expire: number }

export function soaOf(rdata: Uint8Array): Soa {
  const v = new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength);
  const t = rdata.length - 20;
  if (t < 2) throw new ApplianceError('APPL_ERR_SECONDARY', 'an SOA record too short to hold its timers');
  return { serial: v.getUint32(t), refresh: v.getUint32(t + 4), retry: v.getUint32(t + 8), expire: v.getUint32(t + 12) };
}

// ─────────────────────────── packing ───────────────────────────
//
//   per record: owner length u8, owner, type u16, class u16, TTL u32, RDATA length u16, RDATA

export function packRecords(records: readonly WireRecord[]): Uint8Array {
  let size = 0;
  for (const r of records) size += 1 + r.owner.length + 10 + r.rdata.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  for (const r of records) {
    out[p++] = r.owner.length;
    out.set(r.owner, p);
    p += r.owner.length;
    v.setUint16(p, r.type);
    v.setUint16(p + 2, r.cls);
    v.setUint32(p + 4, r.ttl);
    v.setUint16(p + 8, r.rdata.length);
    out.set(r.rdata, p + 10);
    p += 10 + r.rdata.length;
  }
  return out;
}

/** The records of packRecords(), as views into `b`. */
export function unpackRecords(b: Uint8Array): WireRecord[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: WireRecord[] = [];
  for (let p = 0; p < b.length;) {
    const ol = b[p++]!;
    const owner = b.subarray(p, p + ol);
    p += ol;
    const rdlen = v.getUint16(p + 8);
    out.push({ owner, type: v.getUint16(p), cls: v.getUint16(p + 2), ttl: v.getUint32(p + 4), rdata: b.subarray(p + 10, p + 10 + rdlen) });
    p += 10 + rdlen;
  }
  return out;
}

// ─────────────────────────── IXFR ───────────────────────────

function recordKey(r: WireRecord): string {
  return `${Buffer.from(lowerName(r.owner)).toString('latin1')}|${r.type}|${r.cls}|${Buffer.from(canonicalRdata(r.type, r.rdata)).toString('latin1')}`;
}

export interface IxfrSteps { soa: WireRecord; diffs: Array<{ from: number; to: number; deleted: WireRecord[]; added: WireRecord[] }> }

/**
 * The zone after an IXFR's differences, in order: each step deletes records that must be
 * there (compared as RFC 4034 §6.2 canonical forms, TTL aside) and adds its own; the SOA
 * is the last step's. A deletion of a record the copy lacks means the copy and the primary
 * disagree: APPL_ERR_SECONDARY with ixfrMismatch (the caller then asks for the whole zone).
 */
export function applyIxfr(records: WireRecord[], t: IxfrSteps): WireRecord[] {
  const byKey = new Map<string, WireRecord>();
  for (const r of records) if (r.type !== SOA) byKey.set(recordKey(r), r);
  for (const d of t.diffs) {
    for (const r of d.deleted) {
      if (r.type === SOA) continue;
      if (!byKey.delete(recordKey(r))) {
        throw Object.assign(new ApplianceError('APPL_ERR_SECONDARY', `IXFR ${d.from} → ${d.to} deletes a record the kept copy does not have (type ${r.type})`), { ixfrMismatch: true });
      }
    }
    for (const r of d.added) if (r.type !== SOA) byKey.set(recordKey(r), r);
  }
  return [t.soa, ...byKey.values()];
}

/** A kept copy's records, the SOA first. */
export function readKept(file: string, origin: string): WireRecord[] {
  const s = parseZoneFile(file, { origin }).store;
  const records: WireRecord[] = [];
  let soa: WireRecord | null = null;
  for (let k = 0; k < s.length; k++) {
    const r = { owner: s.owner[k]!, type: s.type[k]!, cls: s.cls[k]!, ttl: s.ttl[k]!, rdata: s.rdata(k) };
    if (r.type === SOA && soa === null) soa = r;
    else records.push(r);
  }
  if (soa === null) throw new ApplianceError('APPL_ERR_SECONDARY', `${file}: no SOA`);
  return [soa, ...records];
}

/**
 * Writes the zone (the SOA first in `records`) to `file` as zone text, piece by piece, and
 * syncs it. The SOA is written last: NSD as a secondary adds the transferred SOA after the
 * rest of the zone, and which RRset it answers ANY with at an apex depends on that order
 * (compile.ts, dataTemplates).
 */
export function writeZone(file: string, origin: string, records: readonly WireRecord[]): void {
  const fd = openSync(file, 'w', 0o640);
  try {
    for (const p of zoneTextChunks(origin, [...records.slice(1), records[0]!])) writeSync(fd, p);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What the compile worker writes before it compiles: one zone's new copy. */
export interface ZoneWrite {
  origin: string;
  /** The new copy's path (beside the old one). */
  file: string;
  /** AXFR: the zone's records, packed (the SOA first). */
  records?: Uint8Array;
  /** IXFR: the kept copy and the steps, packed. */
  ixfr?: { kept: string; soa: Uint8Array; diffs: Array<{ from: number; to: number; deleted: Uint8Array; added: Uint8Array }> };
}

/** The records a ZoneWrite stands for: an AXFR's, or the kept copy with the IXFR applied (the SOA first). */
export function zoneRecords(w: ZoneWrite): WireRecord[] {
  let records: WireRecord[];
  if (w.ixfr) {
    const soa = unpackRecords(w.ixfr.soa)[0]!;
    records = applyIxfr(readKept(w.ixfr.kept, w.origin), {
      soa, diffs: w.ixfr.diffs.map((d) => ({ from: d.from, to: d.to, deleted: unpackRecords(d.deleted), added: unpackRecords(d.added) })),
    });
  } else {
    records = unpackRecords(w.records!);
  }
  return records;
}

/** The records as a parsed zone, for the compiler (model.ts ZoneSpec.parsed): no text in between. */
export function parsedFrom(origin: string, file: string, records: readonly WireRecord[]): ParsedZone {
  const store = new RecordStore(records.length);
  // The SOA last, as writeZone() writes it (see there): the same order the kept copy gives after a restart.
  for (let i = 1; i <= records.length; i++) {
    const r = records[i % records.length]!;
    store.add(r.owner, r.type, r.cls, r.ttl, r.rdata, 0, r.rdata.length, 0, file);
  }
  return parsedZone(nameToWire(origin), file, store, []);
}
