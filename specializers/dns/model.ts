// The DNS specializer's model: checked zones → one tree of names with their RRsets, zone
// cuts, empty non-terminals, and the zone each name is answered from.
//
// RFC 1034 §4.2.1 (zone cuts, glue), §4.3.2 (the lookup these flags serve), RFC 4592 §2.2
// (empty non-terminals), RFC 4035 §3.1.4.1 (DS belongs to the parent side of a cut).
//
// A name is answered from the most specific served zone that contains it: when a parent
// and its child are both served, the parent's delegation NS and glue below the child's
// apex are not used for answers; its DS RRset at the child apex is (DS is parent-side).

import { UsageError } from '../../appliance/errors.js';
import { T } from './rr-types.js';
import { checkZone, refuseSigned, parseZoneFile, nameToText, type ParsedZone, type ZoneRecord } from './zone.js';

export interface ZoneSpec {
  origin: string | null;
  file: string;
}

export interface RRset {
  type: number;
  /** The owner as written in the zone (case kept), wire format. */
  owner: Uint8Array;
  records: ZoneRecord[];
}

export interface DnsNode {
  /** Lower-cased wire name: the key of the name table. */
  key: string;
  /** Wire name as first written (case kept); ENTs take it from the child that made them. */
  name: Uint8Array;
  zone: number;
  rrsets: Map<number, RRset>;
  parent: DnsNode | null;
  /** The "*" child, if any. */
  wildcard: DnsNode | null;
  isApex: boolean;
  /** NS here and not at an apex: the top of a delegated subtree. */
  isCut: boolean;
  /** The cut above this name, when it is occluded (this is glue or junk below a delegation). */
  cutAbove: DnsNode | null;
  /** The DS RRset of the parent zone, when this is the apex of a served child. */
  parentDs: RRset | null | undefined;
  /** The parent zone's index, when parentDs is defined (for its NODATA). */
  parentZone: number;
}

export interface DnsZone {
  index: number;
  origin: Uint8Array;
  originKey: string;
  originText: string;
  file: string;
  apex: DnsNode;
  soa: ZoneRecord;
  recordCount: number;
  nameCount: number;
}

export interface DnsModel {
  zones: DnsZone[];
  /** Every name of every zone, keyed by its lower-cased wire form. */
  nodes: Map<string, DnsNode>;
  warnings: string[];
}

/** Lower-cased wire name as a map key (latin1: one char per byte, no allocation of a copy). */
export function nameKey(wire: Uint8Array, off = 0, len = wire.length - off): string {
  let s = '';
  for (let i = off, end = off + len; i < end; i++) {
    let c = wire[i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    s += String.fromCharCode(c);
  }
  return s;
}

/** The wire name one label up ("\x03www\x07example\x03com\x00" → "\x07example\x03com\x00"). */
function parentName(name: Uint8Array): Uint8Array {
  return name.subarray(name[0]! + 1);
}

function isWildcardLabel(name: Uint8Array): boolean {
  return name[0] === 1 && name[1] === 0x2a;
}

export function loadZones(specs: ZoneSpec[]): { parsed: ParsedZone[]; warnings: string[] } {
  const parsed: ParsedZone[] = [];
  const warnings: string[] = [];
  for (const s of specs) {
    const z = checkZone(parseZoneFile(s.file, s.origin === null ? {} : { origin: s.origin }));
    refuseSigned(z);
    for (const w of z.warnings) warnings.push(w);
    parsed.push(z);
  }
  return { parsed, warnings };
}

export function buildModel(parsed: ParsedZone[], warnings: string[] = []): DnsModel {
  const seen = new Map<string, string>();
  const zones: DnsZone[] = [];
  // Parents before children, so that a child's names replace its parent's below its apex.
  const order = parsed.map((z, i) => ({ z, i })).sort((a, b) => a.z.origin.length - b.z.origin.length);
  const originKeys = new Set(parsed.map((z) => nameKey(z.origin)));
  const nodes = new Map<string, DnsNode>();
  const pendingDs = new Map<string, { ds: RRset | null; zone: number }>();
  const zoneOfKey = (key: string): string | undefined => {
    // the most specific served origin that is a suffix of key (keys are wire names)
    for (let off = 0; off < key.length; off += key.charCodeAt(off) + 1) {
      const suffix = key.slice(off);
      if (originKeys.has(suffix)) return suffix;
      if (key.charCodeAt(off) === 0) break;
    }
    return undefined;
  };

  for (const { z } of order) {
    const originKey = nameKey(z.origin);
    const text = nameToText(z.origin);
    if (seen.has(originKey)) throw new UsageError(`zone ${text} given twice (${seen.get(originKey)} and ${z.file})`);
    seen.set(originKey, z.file);
    const index = zones.length;
    const soa = z.records.find((r) => r.type === T.SOA)!;
    const zone: DnsZone = { index, origin: z.origin, originKey, originText: text, file: z.file, apex: null as unknown as DnsNode, soa, recordCount: 0, nameCount: 0 };
    zones.push(zone);

    const own = new Map<string, DnsNode>();
    const node = (name: Uint8Array, key: string): DnsNode => {
      let n = own.get(key);
      if (n === undefined) {
        n = { key, name, zone: index, rrsets: new Map(), parent: null, wildcard: null, isApex: key === originKey, isCut: false, cutAbove: null, parentDs: undefined, parentZone: -1 };
        own.set(key, n);
      }
      return n;
    };
    node(z.origin, originKey);
    for (const r of z.records) {
      const key = nameKey(r.owner);
      const n = node(r.owner, key);
      let set = n.rrsets.get(r.type);
      if (set === undefined) {
        set = { type: r.type, owner: r.owner, records: [] };
        n.rrsets.set(r.type, set);
      }
      set.records.push(r);
      zone.recordCount++;
    }
    // Empty non-terminals: every ancestor up to the apex exists (RFC 4592 §2.2.2).
    for (const n of [...own.values()]) {
      let child = n;
      while (!child.isApex) {
        const pName = parentName(child.name);
        const pKey = child.key.slice(child.key.charCodeAt(0) + 1);
        const p = node(pName, pKey);
        child.parent = p;
        if (isWildcardLabel(child.name)) p.wildcard = child;
        if (p.parent !== null || p.isApex) break; // its own chain is (or will be) linked
        child = p;
      }
    }
    for (const n of own.values()) {
      if (!n.isApex && n.rrsets.has(T.NS)) n.isCut = true;
    }
    for (const n of own.values()) {
      for (let p = n.parent; p !== null; p = p.parent) {
        if (p.isCut) n.cutAbove = p; // keep going: the topmost cut occludes
      }
    }
    zone.apex = own.get(originKey)!;

    for (const [key, n] of own) {
      const owner = zoneOfKey(key);
      if (owner !== originKey) {
        // At or below a served child's apex: only the parent-side DS at the apex is kept.
        if (key === owner) pendingDs.set(key, { ds: n.rrsets.get(T.DS) ?? null, zone: index });
        continue;
      }
      nodes.set(key, n);
      zone.nameCount++;
    }
  }
  for (const [key, { ds, zone }] of pendingDs) {
    const apex = nodes.get(key)!;
    apex.parentDs = ds;
    apex.parentZone = zone;
  }
  return { zones, nodes, warnings };
}
