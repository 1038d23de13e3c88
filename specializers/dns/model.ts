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
  /** The RRsets, in zone-file order (an array: a Map per name costs more than the name). */
  sets: RRset[];
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

let keyScratch = Buffer.allocUnsafe(256);

/**
 * Lower-cased wire name as a map key (latin1: one char per byte). Lowered into a scratch
 * buffer and decoded in one call: a flat string, not a million cons-strings built a
 * character at a time.
 */
export function nameKey(wire: Uint8Array, off = 0, len = wire.length - off): string {
  if (len > keyScratch.length) keyScratch = Buffer.allocUnsafe(len);
  const k = keyScratch;
  for (let i = 0; i < len; i++) {
    const c = wire[off + i]!;
    k[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return k.toString('latin1', 0, len);
}

/** The RRset of this type at a name, if any. */
export function rrsetOf(n: DnsNode, type: number): RRset | undefined {
  const sets = n.sets;
  for (let i = 0; i < sets.length; i++) if (sets[i]!.type === type) return sets[i];
  return undefined;
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
  let nodes = new Map<string, DnsNode>();
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
    const newNode = (name: Uint8Array, key: string): DnsNode => {
      const n: DnsNode = { key, name, zone: index, sets: [], parent: null, wildcard: null, isApex: key === originKey, isCut: false, cutAbove: null, parentDs: undefined, parentZone: -1 };
      own.set(key, n);
      return n;
    };
    const node = (name: Uint8Array, key: string): DnsNode => own.get(key) ?? newNode(name, key);
    node(z.origin, originKey);
    // The parser hands records of one owner the same array: its node is looked up once.
    let lastOwner: Uint8Array | null = null;
    let lastNode: DnsNode | null = null;
    for (const r of z.records) {
      const n: DnsNode = r.owner === lastOwner ? lastNode! : node(r.owner, nameKey(r.owner));
      lastOwner = r.owner;
      lastNode = n;
      const set = rrsetOf(n, r.type);
      // [r], not [] then push: a pushed-to empty array reserves room for 17.
      if (set === undefined) n.sets.push({ type: r.type, owner: r.owner, records: [r] });
      else set.records.push(r);
      zone.recordCount++;
    }
    // Empty non-terminals: every ancestor up to the apex exists (RFC 4592 §2.2.2).
    // (Names added on the way are visited too: their chain is linked already, they stop at once.)
    for (const n of own.values()) {
      let child = n;
      while (!child.isApex) {
        const pKey = child.key.slice(child.key.charCodeAt(0) + 1);
        const p = own.get(pKey) ?? newNode(parentName(child.name), pKey);
        child.parent = p;
        if (isWildcardLabel(child.name)) p.wildcard = child;
        if (p.parent !== null || p.isApex) break; // its own chain is (or will be) linked
        child = p;
      }
    }
    for (const n of own.values()) {
      if (!n.isApex && rrsetOf(n, T.NS) !== undefined) n.isCut = true;
    }
    for (const n of own.values()) {
      for (let p = n.parent; p !== null; p = p.parent) {
        if (p.isCut) n.cutAbove = p; // keep going: the topmost cut occludes
      }
    }
    zone.apex = own.get(originKey)!;

    // Only a zone with a served child below it has names another zone answers for.
    let hasChild = false;
    for (const k of originKeys) if (k.length > originKey.length && k.endsWith(originKey)) hasChild = true;
    if (!hasChild && nodes.size === 0) {
      // The first zone, with no served child: its map is the model's (no second million entries).
      nodes = own;
      zone.nameCount = own.size;
      continue;
    }
    for (const [key, n] of own) {
      const owner = hasChild ? zoneOfKey(key) : originKey;
      if (owner !== originKey) {
        // At or below a served child's apex: only the parent-side DS at the apex is kept.
        if (key === owner) pendingDs.set(key, { ds: rrsetOf(n, T.DS) ?? null, zone: index });
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
