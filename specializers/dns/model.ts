// The DNS specializer's model: checked zones → one tree of names with their RRsets, zone
// cuts, empty non-terminals, and the zone each name is answered from.
//
// RFC 1034 §4.2.1 (zone cuts, glue), §4.3.2 (the lookup these flags serve), RFC 4592 §2.2
// (empty non-terminals), RFC 4035 §3.1.4.1 (DS belongs to the parent side of a cut).
//
// A name is answered from the most specific served zone that contains it: when a parent
// and its child are both served, the parent's delegation NS and glue below the child's
// apex are not used for answers; its DS RRset at the child apex is (DS is parent-side).

import { UsageError } from '../../basics/errors.js';
import { collectGarbage } from '../../basics/gc.js';
import { hashBytesFolded } from '../image/hash.js';
import { T } from './rr-types.js';
import { checkZone, parseZoneFile, nameToText, type ParsedZone, type ZoneRecord } from './zone.js';
import { RecordStore } from './record-store.js';

export interface ZoneSpec {
  origin: string | null;
  file: string;
  /**
   * The zone's records already read (a zone transfer: appliance/secondary/): checked and
   * compiled as a parsed file would be, without the text; `file` names them in messages.
   */
  parsed?: ParsedZone;
}

export interface RRset {
  type: number;
  /** The owner as written in the zone (case kept), wire format. */
  owner: Uint8Array;
  records: ZoneRecord[];
}

export interface DnsNode {
  /** Wire name as first written (case kept); ENTs take it from the child that made them. */
  name: Uint8Array;
  zone: number;
  /**
   * The name's records are recs.order[recStart, recStart + recCount) of recs.store:
   * those of one type together, types in zone-file order of their first record. `recs` is
   * the zone's one order of its records by name (not an array, nor RRset objects, per name: at a
   * million names such long-lived objects are what the collector spends its time on);
   * rrsetOf() and rrsetsOf() make RRsets from it when asked.
   */
  recs: SortedRecords;
  recStart: number;
  recCount: number;
  parent: DnsNode | null;
  /** The "*" child, if any. */
  wildcard: DnsNode | null;
  readonly isApex: boolean;
  /** NS here and not at an apex: the top of a delegated subtree. */
  isCut: boolean;
  /** The cut above this name, when it is occluded (this is glue or junk below a delegation). */
  cutAbove: DnsNode | null;
  /** The DS RRset of the parent zone, when this is the apex of a served child. */
  parentDs: RRset | null | undefined;
  /** The parent zone's index, when parentDs is defined (for its NODATA). */
  parentZone: number;
  /** The parent zone's own name for this apex (its cut: DS, NSEC and their RRSIGs), when parentDs is defined. */
  parentCut: DnsNode | null;
}

export interface DnsZone {
  index: number;
  origin: Uint8Array;
  /** Lower-cased wire origin (latin1). */
  originKey: string;
  originText: string;
  file: string;
  apex: DnsNode;
  soa: ZoneRecord;
  recordCount: number;
  nameCount: number;
  /**
   * Every name of the zone's own tree, those a served child answers for included (the
   * parent's cut at a child's apex): a signed zone's chain runs through them. Kept only
   * for a zone that holds RRSIGs (the first zone's array is the model's, which later zones
   * add to: filter by zone); null otherwise.
   */
  own: DnsNode[] | null;
}

export interface DnsModel {
  zones: DnsZone[];
  /** Every name of every zone, found by its wire form in any case. */
  nodes: NameIndex;
  warnings: string[];
}

let keyScratch = Buffer.allocUnsafe(256);

/** Lower-cased wire name as a string (latin1: one char per byte), for the few maps keyed by name. */
export function nameKey(wire: Uint8Array, off = 0, len = wire.length - off): string {
  if (len > keyScratch.length) keyScratch = Buffer.allocUnsafe(len);
  const k = keyScratch;
  for (let i = 0; i < len; i++) {
    const c = wire[off + i]!;
    k[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return k.toString('latin1', 0, len);
}

/** Length of the uncompressed wire name at wire[off]. */
function wireLength(wire: Uint8Array, off: number): number {
  let i = off;
  while (wire[i] !== 0) i += wire[i]! + 1;
  return i - off + 1;
}

function sameName(a: Uint8Array, b: Uint8Array, bOff: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let i = 0; i < len; i++) {
    let x = a[i]!, y = b[bOff + i]!;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * The names of a model, found by their wire form without regard to case: an open-addressing
 * table of node indexes over the folded FNV-1a hash (the hash the image's name table uses).
 * A Map keyed by strings would need a string per name, and a string per lookup.
 */
export class NameIndex {
  /** Every name, in the order added. */
  readonly list: DnsNode[] = [];
  /** hashBytesFolded() of each name, by position in `list` (in a typed array: a number above 2^30 in an object is a heap object of its own). */
  private hashes: Int32Array;
  private slots: Int32Array;
  private mask: number;

  /**
   * @param from an index made elsewhere with the same hash and probing (a checked zone's
   *   owner table: NameTable.handOver()), and the node of each of its ids, in order
   */
  constructor(expected = 16, from?: { slots: Int32Array; hashes: Int32Array; list: DnsNode[] }) {
    if (from !== undefined) {
      this.slots = from.slots;
      this.mask = from.slots.length - 1;
      this.hashes = from.hashes;
      this.list = from.list;
      return;
    }
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    this.hashes = new Int32Array(Math.max(16, expected));
  }

  /** The hash of the i-th name (as hashBytesFolded returns it, unsigned). */
  hashAt(i: number): number {
    return this.hashes[i]! >>> 0;
  }

  get size(): number {
    return this.list.length;
  }

  values(): IterableIterator<DnsNode> {
    return this.list.values();
  }

  /** The node named by the wire name at wire[off] (uncompressed, any case). */
  get(wire: Uint8Array, off = 0, len = wireLength(wire, off)): DnsNode | undefined {
    return this.find(wire, off, len, hashBytesFolded(wire, off, len));
  }

  find(wire: Uint8Array, off: number, len: number, h: number): DnsNode | undefined {
    const i = this.indexOf(wire, off, len, h);
    return i < 0 ? undefined : this.list[i];
  }

  /** The position in `list` of the name of hash h at wire[off, off+len), or -1. */
  indexOf(wire: Uint8Array, off: number, len: number, h: number): number {
    const slots = this.slots, list = this.list, hashes = this.hashes, mask = this.mask;
    const h32 = h | 0;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = slots[s]!;
      if (e === 0) return -1;
      if (hashes[e - 1] === h32 && sameName(list[e - 1]!.name, wire, off, len)) return e - 1;
    }
  }

  /** Adds a node whose name (of hash h) is not in the index yet. */
  add(n: DnsNode, h: number): void {
    if ((this.list.length + 1) * 2 > this.slots.length) this.grow();
    const i = this.list.length;
    if (i === this.hashes.length) {
      const next = new Int32Array(i * 2);
      next.set(this.hashes);
      this.hashes = next;
    }
    this.hashes[i] = h;
    this.list.push(n);
    this.place(h, i + 1);
  }

  private place(h: number, entry: number): void {
    const slots = this.slots, mask = this.mask;
    let s = h & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = entry;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < this.list.length; i++) this.place(this.hashes[i]!, i + 1);
  }
}

/**
 * A zone's records in name order: the i-th is record order[i] of the store (model.ts
 * sorts indices, never records).
 */
export interface SortedRecords {
  readonly store: RecordStore;
  readonly order: Int32Array;
}

/** The records of a name without any. */
const NO_RECS: SortedRecords = { store: new RecordStore(0), order: new Int32Array(0) };

/** What few names have: a wildcard child, a cut above, the parent zone's DS. */
interface NodeExtra {
  wildcard: DnsNode | null;
  cutAbove: DnsNode | null;
  parentDs: RRset | null | undefined;
  parentZone: number;
  parentCut: DnsNode | null;
}

const NODE_APEX = 1;
const NODE_CUT = 2;

/**
 * A DnsNode in eight fields: the flags in one, and what few names have in an object of its
 * own (null for the rest). A million names are a million of these, alive from the model to
 * the end of the compile: four fields fewer are 35 MB less at the build's peak.
 */
class Node implements DnsNode {
  recs: SortedRecords = NO_RECS;
  recStart = 0;
  recCount = 0;
  parent: DnsNode | null = null;
  private flags: number;
  private extra: NodeExtra | null = null;

  constructor(readonly name: Uint8Array, readonly zone: number, isApex: boolean) {
    this.flags = isApex ? NODE_APEX : 0;
  }

  get isApex(): boolean { return (this.flags & NODE_APEX) !== 0; }
  get isCut(): boolean { return (this.flags & NODE_CUT) !== 0; }
  set isCut(v: boolean) { this.flags = v ? this.flags | NODE_CUT : this.flags & ~NODE_CUT; }

  private more(): NodeExtra {
    return (this.extra ??= { wildcard: null, cutAbove: null, parentDs: undefined, parentZone: -1, parentCut: null });
  }

  get wildcard(): DnsNode | null { return this.extra === null ? null : this.extra.wildcard; }
  set wildcard(v: DnsNode | null) { this.more().wildcard = v; }
  get cutAbove(): DnsNode | null { return this.extra === null ? null : this.extra.cutAbove; }
  set cutAbove(v: DnsNode | null) { this.more().cutAbove = v; }
  get parentDs(): RRset | null | undefined { return this.extra === null ? undefined : this.extra.parentDs; }
  set parentDs(v: RRset | null | undefined) { this.more().parentDs = v; }
  get parentZone(): number { return this.extra === null ? -1 : this.extra.parentZone; }
  set parentZone(v: number) { this.more().parentZone = v; }
  get parentCut(): DnsNode | null { return this.extra === null ? null : this.extra.parentCut; }
  set parentCut(v: DnsNode | null) { this.more().parentCut = v; }
}

/** The records i to j (one RRset) as an RRset of record objects. */
function setOf(recs: SortedRecords, i: number, j: number): RRset {
  const records: ZoneRecord[] = [];
  for (let x = i; x < j; x++) records.push(recs.store.record(recs.order[x]!));
  return { type: records[0]!.type, owner: records[0]!.owner, records };
}

/** Does the name hold records of this type? */
export function hasType(n: DnsNode, type: number): boolean {
  const types = n.recs.store.type, order = n.recs.order;
  for (let i = n.recStart, end = i + n.recCount; i < end; i++) if (types[order[i]!] === type) return true;
  return false;
}

/** The type of the i-th record in name order. */
export function typeAt(recs: SortedRecords, i: number): number {
  return recs.store.type[recs.order[i]!]!;
}

/** Where the run of records of the type that starts at the i-th ends (at `end` at most). */
export function runEnd(recs: SortedRecords, i: number, end: number): number {
  const types = recs.store.type, order = recs.order;
  const type = types[order[i]!];
  let j = i + 1;
  while (j < end && types[order[j]!] === type) j++;
  return j;
}

/** The RRset of this type at a name, if any (a new object each time). */
export function rrsetOf(n: DnsNode, type: number): RRset | undefined {
  const recs = n.recs;
  for (let i = n.recStart, end = i + n.recCount; i < end; i++) {
    if (typeAt(recs, i) === type) return setOf(recs, i, runEnd(recs, i, end));
  }
  return undefined;
}

/** The RRsets of a name, in zone-file order (new objects each time). */
export function rrsetsOf(n: DnsNode): RRset[] {
  const out: RRset[] = [];
  const recs = n.recs;
  for (let i = n.recStart, end = i + n.recCount; i < end; ) {
    const j = runEnd(recs, i, end);
    out.push(setOf(recs, i, j));
    i = j;
  }
  return out;
}

/** The types a name holds, in zone-file order. */
export function typesOf(n: DnsNode): number[] {
  return rrsetsOf(n).map((s) => s.type);
}

function isWildcardLabel(name: Uint8Array): boolean {
  return name[0] === 1 && name[1] === 0x2a;
}

/**
 * One array of the zone's records, those of each name together (in file order, then
 * regrouped so that a name's records of one type are together, types in order of first
 * appearance): a counting sort by name. Sets recs, recStart and recCount of every name.
 */
function sortRecordsByName(store: RecordStore, nodeOf: Int32Array, nodes: DnsNode[]): void {
  const start = new Int32Array(nodes.length + 1);
  for (let k = 0; k < nodeOf.length; k++) start[nodeOf[k]! + 1]!++;
  for (let i = 0; i < nodes.length; i++) start[i + 1]! += start[i]!;
  const order = new Int32Array(store.length);
  const fill = start.slice(0, nodes.length);
  for (let k = 0; k < store.length; k++) order[fill[nodeOf[k]!]!++] = k;
  const sorted: SortedRecords = { store, order };
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    const from = start[i]!, to = start[i + 1]!;
    if (to === from) continue;
    n.recs = sorted;
    n.recStart = from;
    n.recCount = to - from;
    if (to - from > 2) groupTypes(store.type, order, from, to);
  }
}

/** Makes the records of each type in order[from, to) contiguous, types in order of first appearance, stably. */
function groupTypes(types: Uint16Array, order: Int32Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    if (types[order[i]!] === types[order[i - 1]!]) continue;
    // A new type starts at i: is an earlier run of it further up? Then move this one there.
    let last = i - 1;
    while (last >= from && types[order[last]!] !== types[order[i]!]) last--;
    if (last < from) continue;
    const r = order[i]!;
    for (let j = i; j > last + 1; j--) order[j] = order[j - 1]!;
    order[last + 1] = r;
  }
}

/** Does the wire name `name` end in `suffix` (whole labels, any case)? */
export function endsWithName(name: Uint8Array, suffix: Uint8Array): boolean {
  for (let off = 0; off < name.length; off += name[off]! + 1) {
    if (name.length - off === suffix.length) return sameName(suffix, name, off, suffix.length);
    if (name.length - off < suffix.length || name[off] === 0) return false;
  }
  return false;
}

/** After each build phase of a zone of more records than this, a full collection (basics/gc.ts); below it the garbage is small. */
const COLLECT_ABOVE_RECORDS = 100_000;

/** A full collection after a phase of a big zone's build, so that its garbage is gone before the next phase's live data grows. */
export function collectAfterPhase(records: number): void {
  if (records > COLLECT_ABOVE_RECORDS) collectGarbage();
}

export function loadZones(specs: ZoneSpec[]): { parsed: ParsedZone[]; warnings: string[] } {
  const parsed: ParsedZone[] = [];
  const warnings: string[] = [];
  for (const s of specs) {
    let p: ParsedZone | null = s.parsed ?? parseZoneFile(s.file, s.origin === null ? {} : { origin: s.origin });
    collectAfterPhase(p.store.length); // the file's bytes and the lexer's tables
    const z = checkZone(p);
    p = null; // its store, when the checker dropped duplicates and made a new one
    collectAfterPhase(z.store.length);
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
  const origins = parsed.map((z) => z.origin);
  let nodes: NameIndex | null = null;
  const pendingDs: Array<{ apex: Uint8Array; ds: RRset | null; zone: number; cut: DnsNode }> = [];
  /** The most specific served origin the name is in (or at). */
  const zoneOf = (name: Uint8Array): Uint8Array | undefined => {
    let best: Uint8Array | undefined;
    for (const o of origins) if ((best === undefined || o.length > best.length) && endsWithName(name, o)) best = o;
    return best;
  };

  for (const { z } of order) {
    const originKey = nameKey(z.origin);
    const text = nameToText(z.origin);
    if (seen.has(originKey)) throw new UsageError(`zone ${text} given twice (${seen.get(originKey)} and ${z.file})`);
    seen.set(originKey, z.file);
    const index = zones.length;
    const st = z.store;
    let soaAt = 0;
    while (soaAt < st.length && st.type[soaAt] !== T.SOA) soaAt++;
    if (soaAt === st.length) throw new UsageError(`zone ${text} (${z.file}) has no SOA record: check it with checkZone first`);
    const soa = st.record(soaAt);
    const zone: DnsZone = { index, origin: z.origin, originKey, originText: text, file: z.file, apex: null as unknown as DnsNode, soa, recordCount: 0, nameCount: 0, own: null };
    zones.push(zone);

    // The checker's owner table, when the apex is its first name: its ids are then the
    // index's positions (the apex first, the others in order of first appearance, as the
    // loop below would add them), and its slots and hashes become the index's.
    const owners = z.owners;
    z.owners = undefined;
    const adopt = owners !== undefined && owners.ownerId.length === st.length && owners.table.size > 0 &&
      owners.table.find(z.origin, 0, z.origin.length) === 0;
    let own: NameIndex;
    let nodeOf: Int32Array;
    if (adopt) {
      const names = owners.table.names;
      const list: DnsNode[] = new Array<DnsNode>(names.length);
      list[0] = new Node(z.origin, index, true);
      for (let i = 1; i < names.length; i++) list[i] = new Node(names[i]!, index, false);
      own = new NameIndex(0, { ...owners.table.handOver(), list });
      nodeOf = owners.ownerId;
    } else {
      own = new NameIndex(st.length);
      own.add(new Node(z.origin, index, true), hashBytesFolded(z.origin, 0, z.origin.length));
      // Each record's name, by position in the index; the parser hands records of one owner
      // the same array, so a run of them is looked up once.
      nodeOf = new Int32Array(st.length);
      let lastOwner: Uint8Array | null = null;
      let lastNode = 0;
      for (let k = 0; k < st.length; k++) {
        const o = st.owner[k]!;
        if (o !== lastOwner) {
          const h = hashBytesFolded(o, 0, o.length);
          lastNode = own.indexOf(o, 0, o.length, h);
          if (lastNode < 0) {
            own.add(new Node(o, index, false), h);
            lastNode = own.size - 1;
          }
          lastOwner = o;
        }
        nodeOf[k] = lastNode;
      }
    }
    const newNode = (name: Uint8Array, hash: number): DnsNode => {
      const n = new Node(name, index, false);
      own.add(n, hash);
      return n;
    };
    const apex = own.list[0]!;
    zone.recordCount = st.length;
    sortRecordsByName(st, nodeOf, own.list);
    // Empty non-terminals: every ancestor up to the apex exists (RFC 4592 §2.2.2). (Names
    // added on the way are visited too: their chain is linked already, they stop at once.)
    const list = own.list;
    // Names in a zone file come in runs under one parent: the last parent found is tried
    // first, with a compare instead of a hash and a probe of the index.
    let lastParent: DnsNode = apex;
    for (let i = 0; i < list.length; i++) {
      let child = list[i]!;
      while (!child.isApex) {
        const name = child.name;
        const off = name[0]! + 1;
        const len = name.length - off;
        let p = lastParent;
        if (!sameName(p.name, name, off, len)) {
          const h = hashBytesFolded(name, off, len);
          p = own.find(name, off, len, h) ?? newNode(name.subarray(off), h);
          lastParent = p;
        }
        child.parent = p;
        if (isWildcardLabel(name)) p.wildcard = child;
        if (p.parent !== null || p.isApex) break; // its own chain is (or will be) linked
        child = p;
      }
    }
    let anyCut = false;
    for (let i = 0; i < list.length; i++) {
      const n = list[i]!;
      if (!n.isApex && hasType(n, T.NS)) n.isCut = anyCut = true;
    }
    if (anyCut) {
      for (let i = 0; i < list.length; i++) {
        const n = list[i]!;
        for (let p = n.parent; p !== null; p = p.parent) {
          if (p.isCut) n.cutAbove = p; // keep going: the topmost cut occludes
        }
      }
    }
    zone.apex = apex;
    if (st.type.includes(T.RRSIG)) zone.own = list;

    // Only a zone with a served child below it has names another zone answers for.
    let hasChild = false;
    for (const o of origins) if (o.length > z.origin.length && endsWithName(o, z.origin)) hasChild = true;
    if (!hasChild && nodes === null) {
      // The first zone, with no served child: its index is the model's.
      nodes = own;
      zone.nameCount = own.size;
      continue;
    }
    nodes ??= new NameIndex(own.size);
    for (let i = 0; i < list.length; i++) {
      const n = list[i]!;
      const owner = hasChild ? zoneOf(n.name) : z.origin;
      if (owner !== z.origin) {
        // At or below a served child's apex: only the parent-side DS at the apex is kept.
        if (owner !== undefined && owner.length === n.name.length) pendingDs.push({ apex: n.name, ds: rrsetOf(n, T.DS) ?? null, zone: index, cut: n });
        continue;
      }
      nodes.add(n, own.hashAt(i));
      zone.nameCount++;
    }
  }
  nodes ??= new NameIndex();
  for (const { apex: name, ds, zone, cut } of pendingDs) {
    const apex = nodes.get(name)!;
    apex.parentDs = ds;
    apex.parentZone = zone;
    apex.parentCut = cut;
  }
  return { zones, nodes, warnings };
}
