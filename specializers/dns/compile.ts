// The DNS answer compiler: zones in, every answer the server can give out, as templates.
//
// RFC 1034 §4.3.2 (the lookup), RFC 2308 (negative answers: SOA in authority, TTL the
// lesser of the SOA's TTL and MINIMUM), RFC 4592 (wildcards), RFC 6672 (DNAME), RFC 8482
// (ANY: one RRset), RFC 4035 §3.1.4.1 (DS from the parent side of a cut).
//
// What is precompiled (layouts in layout.ts):
//   - every (name, qtype) that has data: the answer, CNAME chains inside the zone followed
//     to their end (the end's RRset, or its negative answer);
//   - per zone, its NXDOMAIN and NODATA answers (the same for every name of an unsigned
//     zone: the SOA), written once and shared;
//   - per zone cut, its referral (NS in authority, addresses of the name servers that live
//     in the zone in additional; what does not fit is left out by RRset, as NSD does);
//   - per wildcard, its answers, with the owner taken from the query at run time;
//   - per DNAME, the DNAME record; the CNAME is synthesized from the query at run time.
// Positive answers are minimal (answer section only), as NSD's minimal-responses.

import { ImageWriter, SectionId } from '../image/format.js';
import { tableSizeFor } from '../image/hash.js';
import { SpillingU32Builder, U32Builder } from '../image/u32-builder.js';
import * as D from './layout.js';
import { buildModel, collectAfterPhase, endsWithName, hasType, loadZones, rrsetOf, runEnd, typeAt, type DnsModel, type DnsNode, type DnsZone, type RRset, type SortedRecords, type ZoneSpec } from './model.js';
import { T, typeToText } from './rr-types.js';
import { nameToText } from './dns-name.js';
import { TemplateWriter, nameLength } from './template-writer.js';

export type { ZoneSpec } from './model.js';

export interface DnsBuildResult {
  /** The tables, in the order they are written; the big ones made through a spill file. */
  sections: Array<[number, Uint32Array | SpillingU32Builder]>;
  zones: Array<{ origin: string; file: string; records: number; names: number }>;
  warnings: string[];
  templates: number;
}

const QTYPE_ANY = 255;
/** The types NSD prefers when it answers ANY with one RRset. */
const ANY_PREFERRED = new Set<number>([T.SOA, T.A, T.AAAA, T.MX, T.PTR]);
/** CNAME chains are followed this far inside a zone (NSD follows a handful too). */
const MAX_CHAIN = 8;
const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;

const WILDCARD_LABEL = Uint8Array.of(1, 0x2a);

/** The most words of a table kept in memory while it is made (4 MiB; SpillingU32Builder). */
const WINDOW_WORDS = 1 << 20;

/** "*." + name: the reference question of templates answered for names below `name`. */
function starOf(name: Uint8Array): Uint8Array {
  const q = new Uint8Array(name.length + 2);
  q.set(WILDCARD_LABEL, 0);
  q.set(name, 2);
  return q;
}

/** The first name of an RDATA (NS, CNAME, DNAME, PTR), uncompressed. */
function rdataName(rdata: Uint8Array, off = 0): Uint8Array {
  return rdata.subarray(off, off + nameLength(rdata, off));
}

class Compiler {
  // The three tables that grow with the zone, made a window at a time (SpillingU32Builder):
  // at a million names they are 150 MB, which would otherwise be alive beside the model.
  private readonly templates: SpillingU32Builder;
  private readonly typemap: SpillingU32Builder;
  private readonly names: SpillingU32Builder;
  private readonly zoneNodata: number[] = [];
  private readonly zoneNxdomain: number[] = [];
  private readonly wildOf = new Map<DnsNode, number[]>();
  private readonly tw = new TemplateWriter();
  /** Templates longer than any message: always answered TC=1. */
  neverFits = 0;
  private scratch = new Uint8Array(1024);

  constructor(private readonly w: ImageWriter, private readonly m: DnsModel) {
    const spill = (): ReturnType<ImageWriter['spillFile']> => w.spillFile();
    // Windows sized from the name count (about 1.7 templates and 2.5 types a name in a
    // typical zone), at most WINDOW_WORDS: a small zone never spills, nor takes 12 MiB.
    const n = m.nodes.size;
    const win = (words: number): number => Math.min(WINDOW_WORDS, Math.max(1024, words));
    this.names = new SpillingU32Builder(spill, win(n * D.NAME_WORDS));
    this.templates = new SpillingU32Builder(spill, win(2 * n * D.TEMPLATE_WORDS));
    this.typemap = new SpillingU32Builder(spill, win(3 * n * D.TYPEMAP_WORDS));
  }

  get templateCount(): number {
    return this.templates.length / D.TEMPLATE_WORDS;
  }

  /** The one template writer, reset for each template (see TemplateWriter). */
  private writer(q0: Uint8Array): TemplateWriter {
    this.biggest = null;
    return this.tw.reset(q0);
  }

  /** The largest RRset written into the current template (named when it never fits). */
  private biggest: { file: string; line: number; type: number; owner: Uint8Array; count: number; bytes: number } | null = null;
  /** RRsets already warned about, by the place of their first record (one appears in several templates: exact, ANY, chains). */
  private readonly warned = new Set<string>();

  private warnNeverFits(): void {
    const b = this.biggest;
    // One file may be served under two origins (or included twice): the owner is part of the key.
    const key = b === null ? '' : `${b.file}:${b.line}:${b.type}:${nameToText(b.owner)}`;
    if (b === null || this.warned.has(key)) return;
    this.warned.add(key);
    this.m.warnings.push(`${b.file}:${b.line}: the ${typeToText(b.type)} RRset of ${nameToText(b.owner)} ` +
      `(${b.count} record${b.count === 1 ? '' : 's'}, ${b.bytes} bytes in an answer) does not fit in a DNS message (65,535 bytes): ` +
      `every query for it is answered TC=1 with no records, as NSD answers it`);
  }

  /** Appends a wire name to the BLOB, lower-cased (the name table's key); returns its offset. */
  private appendLowered(name: Uint8Array): number {
    const f = this.scratch;
    for (let i = 0; i < name.length; i++) {
      const c = name[i]!;
      f[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    return this.w.append(f, 0, name.length);
  }

  /** Appends values[0, count) (each below 65,536) to the BLOB as u16 LE; returns their offset (0 when there are none). */
  private u16s(values: Int32Array, count: number): number {
    if (count === 0) return 0;
    if (this.scratch.length < count * 2) this.scratch = new Uint8Array(count * 4);
    const f = this.scratch;
    for (let i = 0; i < count; i++) {
      f[i * 2] = values[i]! & 0xff;
      f[i * 2 + 1] = values[i]! >>> 8;
    }
    return this.w.append(f, 0, count * 2);
  }

  /** Writes a template's bytes, pointer list and additional RRset ends to the BLOB; returns its index. */
  private emit(tw: TemplateWriter, rcode: number, aa: boolean, extraFlags = 0, arAtOrTarget = 0, extra = 0): number {
    // What does not fit in any message is left out here, so that every offset in the
    // template fits the image's u16 lists and the loader's bounds (layout.ts, MAX_TEMPLATE_LEN).
    if (tw.len > D.MAX_TEMPLATE_LEN && (tw.arAt >= 0 ? tw.arAt : tw.len) > D.MAX_TEMPLATE_LEN) this.warnNeverFits();
    if (tw.fit(D.MAX_TEMPLATE_LEN) === 'never') this.neverFits++;
    const off = this.w.append(tw.buf, 0, tw.len);
    const ptrOff = this.u16s(tw.pointers, tw.pointerCount);
    const setsOff = this.u16s(tw.arSets, tw.arSetCount * 2);
    const index = this.templates.length / D.TEMPLATE_WORDS;
    const at = this.templates.record(D.TEMPLATE_WORDS);
    const t = this.templates.array;
    t[at + D.TPL_OFF] = off;
    t[at + D.TPL_LEN] = tw.len;
    t[at + D.TPL_FLAGS] = rcode | (aa ? D.TPLF_AA : 0) | extraFlags;
    t[at + D.TPL_COUNTS] = (tw.an << 16) | tw.ns;
    t[at + D.TPL_ARCOUNT] = tw.ar;
    t[at + D.TPL_Q0_LEN] = tw.q0.length;
    t[at + D.TPL_PTR_OFF] = ptrOff;
    t[at + D.TPL_PTR_COUNT] = tw.pointerCount;
    t[at + D.TPL_AR_AT] = arAtOrTarget || (tw.arAt >= 0 ? tw.arAt : tw.len);
    t[at + D.TPL_EXTRA] = extra;
    t[at + D.TPL_ARSETS_OFF] = setsOff;
    t[at + D.TPL_ARSETS_COUNT] = tw.arSetCount;
    return index;
  }

  /** Writes an RRset (of record objects); returns how many records. */
  private writeSet(tw: TemplateWriter, set: RRset, ownerIsQname: boolean, ownerOverride?: Uint8Array): number {
    const start = tw.len;
    const recs = set.records;
    for (const r of recs) tw.rr(ownerIsQname ? null : (ownerOverride ?? r.owner), r.type, r.class, r.ttl, r.rdata);
    if (recs.length > 0 && (this.biggest === null || tw.len - start > this.biggest.bytes)) {
      const r = recs[0]!;
      this.biggest = { file: r.file, line: r.line, type: r.type, owner: r.owner, count: recs.length, bytes: tw.len - start };
    }
    return recs.length;
  }

  /** Writes the records from to to of a name's (one RRset), straight from the store; returns how many. */
  private writeRun(tw: TemplateWriter, recs: SortedRecords, from: number, to: number, ownerIsQname: boolean, ownerOverride?: Uint8Array): number {
    const start = tw.len;
    const st = recs.store, order = recs.order;
    for (let i = from; i < to; i++) {
      const k = order[i]!;
      tw.rrAt(ownerIsQname ? null : (ownerOverride ?? st.owner[k]!), st.type[k]!, st.cls[k]!, st.ttl[k]!, st.rdataChunk(k), st.rdataOffset(k), st.rdataLength(k));
    }
    if (to > from && (this.biggest === null || tw.len - start > this.biggest.bytes)) {
      const k = order[from]!;
      this.biggest = { file: st.file(k), line: st.line[k]!, type: st.type[k]!, owner: st.owner[k]!, count: to - from, bytes: tw.len - start };
    }
    return to - from;
  }

  /** The SOA for a negative answer: TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3). */
  private writeNegativeSoa(tw: TemplateWriter, zone: DnsZone): void {
    const soa = zone.soa;
    const rd = soa.rdata;
    const mEnd = nameLength(rd, 0);
    const rEnd = mEnd + nameLength(rd, mEnd);
    const minimum = ((rd[rEnd + 16]! << 24) | (rd[rEnd + 17]! << 16) | (rd[rEnd + 18]! << 8) | rd[rEnd + 19]!) >>> 0;
    tw.rr(zone.origin, T.SOA, soa.class, Math.min(soa.ttl, minimum), soa.rdata);
    tw.ns++;
  }

  private negative(zone: DnsZone, rcode: number): number {
    const tw = this.writer(starOf(zone.origin));
    this.writeNegativeSoa(tw, zone);
    return this.emit(tw, rcode, true);
  }

  zones(): void {
    for (const z of this.m.zones) {
      this.zoneNodata[z.index] = this.negative(z, RCODE_NOERROR);
      this.zoneNxdomain[z.index] = this.negative(z, RCODE_NXDOMAIN);
    }
  }

  /**
   * The referral for a cut: NS in authority, addresses of in-zone name servers in
   * additional. Written for the question `q0`: names at and below a cut get their own
   * (exact, and "*." for what lies below them), so that compression against the query
   * name packs the referral as tightly as NSD does and the same glue fits.
   */
  referral(cut: DnsNode, q0: Uint8Array): number {
    // The twin for IPv6 queries first (AAAA glue first), then the one for IPv4 that names it.
    const twin = this.emit(this.referralBody(cut, q0, [T.AAAA, T.A]), RCODE_NOERROR, false);
    return this.emit(this.referralBody(cut, q0, [T.A, T.AAAA]), RCODE_NOERROR, false, D.TPLF_V6_TWIN, 0, twin);
  }

  private referralBody(cut: DnsNode, q0: Uint8Array, glueOrder: number[]): TemplateWriter {
    const tw = this.writer(q0);
    const ns = rrsetOf(cut, T.NS)!;
    tw.ns += this.writeSet(tw, ns, false);
    tw.startAdditional();
    // Addresses of the name servers that live in this zone, by type in `glueOrder`, each in
    // NS order (NSD's order, so that the same ones are left out when they do not fit).
    const origin = this.m.zones[cut.zone]!.origin;
    const servers: DnsNode[] = [];
    for (const r of ns.records) {
      const target = rdataName(r.rdata);
      const n = endsWithName(target, origin) ? this.m.nodes.get(target) : undefined;
      if (n && n.zone === cut.zone && !servers.includes(n)) servers.push(n);
    }
    for (const type of glueOrder) {
      for (const n of servers) {
        const set = rrsetOf(n, type);
        if (!set) continue;
        tw.ar += this.writeSet(tw, set, false);
        tw.endAdditionalSet();
      }
    }
    return tw;
  }

  /**
   * Where a CNAME target leads, in any served zone (NSD follows chains across the zones it
   * serves): its node, or the wildcard that synthesizes it, or the closest encloser when
   * it does not exist. Nothing when it is under no served zone, or below a zone cut.
   */
  private chainTarget(name: Uint8Array): { node: DnsNode | null; wildcardFor: Uint8Array | null; encloser: DnsNode | null } {
    const none = { node: null, wildcardFor: null, encloser: null };
    const n = this.m.nodes.get(name);
    if (n) return { node: n, wildcardFor: null, encloser: null };
    for (let off = name[0]! + 1; off < name.length; off += name[off]! + 1) {
      const e = this.m.nodes.get(name, off, name.length - off);
      if (!e) continue;
      if (e.isCut || e.cutAbove || hasType(e, T.DNAME)) return none;
      if (e.wildcard) return { node: e.wildcard, wildcardFor: name, encloser: e };
      return { node: null, wildcardFor: null, encloser: e };
    }
    return none;
  }

  /**
   * Templates for a name that holds a CNAME: the chain followed inside the zone, then for
   * each type at its end, that RRset; and a default for every other qtype.
   */
  private cnameTemplates(start: DnsNode, q0: Uint8Array): number {
    // Walk the chain once: the CNAME RRsets with the owners to write, and where it ends.
    const chain: Array<{ set: RRset; owner: Uint8Array | null }> = [{ set: rrsetOf(start, T.CNAME)!, owner: null }];
    const visited = new Set<DnsNode>([start]);
    let end: { node: DnsNode; owner: Uint8Array } | null = null;
    let endStatus: 'data' | 'nxdomain' | 'stop' = 'stop';
    // The zone whose SOA goes with a negative end of the chain (RFC 6604: the last name's).
    let endZone = this.m.zones[start.zone]!;
    for (let hops = 0; hops < MAX_CHAIN; hops++) {
      const last = chain[chain.length - 1]!.set;
      const target = rdataName(last.records[0]!.rdata);
      const found = this.chainTarget(target);
      if (found.node === null) {
        if (found.encloser !== null) {
          endStatus = 'nxdomain';
          endZone = this.m.zones[found.encloser.zone]!;
        }
        break;
      }
      const n = found.node;
      if (n.isCut || n.cutAbove || visited.has(n)) break;
      visited.add(n);
      const owner = found.wildcardFor ?? n.name;
      const cname = rrsetOf(n, T.CNAME);
      if (cname) {
        chain.push({ set: cname, owner });
        continue;
      }
      end = { node: n, owner };
      endStatus = 'data';
      endZone = this.m.zones[n.zone]!;
      break;
    }
    const head = (): TemplateWriter => {
      const tw = this.writer(q0);
      for (const c of chain) tw.an += this.writeSet(tw, c.set, c.owner === null, c.owner ?? undefined);
      return tw;
    };
    const base = this.pairTop;
    if (end) {
      const recs = end.node.recs;
      for (let i = end.node.recStart, stop = i + end.node.recCount; i < stop; ) {
        const j = runEnd(recs, i, stop);
        const tw = head();
        tw.an += this.writeRun(tw, recs, i, j, false, end.owner);
        this.pushPair(typeAt(recs, i), this.emit(tw, RCODE_NOERROR, true));
        i = j;
      }
    }
    const tw = head();
    let rcode = RCODE_NOERROR;
    if (endStatus === 'data') this.writeNegativeSoa(tw, endZone);
    else if (endStatus === 'nxdomain') { this.writeNegativeSoa(tw, endZone); rcode = RCODE_NXDOMAIN; }
    const def = this.emit(tw, rcode, true);
    // The CNAME itself answers qtype CNAME and ANY (RFC 8482: one RRset).
    const only = this.writer(q0);
    only.an += this.writeSet(only, chain[0]!.set, true);
    const cnameOnly = this.emit(only, RCODE_NOERROR, true);
    this.dropPairs(base, T.CNAME);
    this.dropPairs(base, QTYPE_ANY);
    this.pushPair(T.CNAME, cnameOnly);
    this.pushPair(QTYPE_ANY, cnameOnly);
    return def;
  }

  /**
   * Templates for a name with data and no CNAME: one per type, default NODATA, and ANY
   * answered with one RRset (RFC 8482). Which one is NSD's choice, so that both servers
   * agree: the first in zone-file order of SOA, A, AAAA, MX and PTR, else the RRset that
   * appears last in the file (measured against NSD 4.6; see test/differential/nsd.test.ts).
   */
  private dataTemplates(n: DnsNode, q0: Uint8Array): number {
    let preferred = -1;
    let last = -1;
    const recs = n.recs;
    for (let i = n.recStart, stop = i + n.recCount; i < stop; ) {
      const j = runEnd(recs, i, stop);
      const type = typeAt(recs, i);
      const tw = this.writer(q0);
      tw.an += this.writeRun(tw, recs, i, j, true);
      i = j;
      const t = this.emit(tw, RCODE_NOERROR, true);
      this.pushPair(type, t);
      if (preferred < 0 && ANY_PREFERRED.has(type)) preferred = t;
      last = t;
    }
    const any = preferred >= 0 ? preferred : last;
    if (any >= 0) this.pushPair(QTYPE_ANY, any);
    return this.zoneNodata[n.zone]!;
  }

  /** Templates for a name: its (qtype, template) pairs pushed on the pair stack; returns the default. */
  private templatesFor(n: DnsNode, q0: Uint8Array): number {
    if (n.recCount === 0) return this.zoneNodata[n.zone]!;
    if (hasType(n, T.CNAME)) return this.cnameTemplates(n, q0);
    return this.dataTemplates(n, q0);
  }

  /** A wildcard's pairs, flat (qtype, template, ...), ending with (-1, its default); made once. */
  private wildcardTemplates(wild: DnsNode): number[] {
    let t = this.wildOf.get(wild);
    if (t) return t;
    const base = this.pairTop;
    const def = this.templatesFor(wild, wild.name);
    t = [];
    for (let i = base; i < this.pairTop; i++) t.push(this.pairType[i]!, this.pairTpl[i]!);
    t.push(-1, def);
    this.pairTop = base;
    this.wildOf.set(wild, t);
    return t;
  }

  private dname(n: DnsNode): number {
    const set = rrsetOf(n, T.DNAME)!;
    const r = set.records[0]!;
    const tw = this.writer(starOf(n.name));
    tw.rr(r.owner, r.type, r.class, r.ttl, r.rdata);
    tw.an++;
    const targetAt = tw.len - r.rdata.length;
    return this.emit(tw, RCODE_NOERROR, true, D.TPLF_DNAME, targetAt, r.ttl);
  }

  // The (qtype, template) pairs of the name being compiled: a stack in typed arrays (not an
  // array of pairs per name), so that a wildcard's, made while a name's are pending, go on top.
  private pairType = new Int32Array(64);
  private pairTpl = new Int32Array(64);
  private pairTop = 0;

  private pushPair(type: number, tpl: number): void {
    if (this.pairTop === this.pairType.length) {
      const t = new Int32Array(this.pairTop * 2), p = new Int32Array(this.pairTop * 2);
      t.set(this.pairType);
      p.set(this.pairTpl);
      this.pairType = t;
      this.pairTpl = p;
    }
    this.pairType[this.pairTop] = type;
    this.pairTpl[this.pairTop++] = tpl;
  }

  /** Removes the pairs of one qtype from the stack above `base`, keeping the order of the rest. */
  private dropPairs(base: number, type: number): void {
    let to = base;
    for (let i = base; i < this.pairTop; i++) {
      if (this.pairType[i] === type) continue;
      this.pairType[to] = this.pairType[i]!;
      this.pairTpl[to++] = this.pairTpl[i]!;
    }
    this.pairTop = to;
  }

  /** The last pushTypes: where its entries start in the type map. */
  private typesAt = 0;

  /**
   * Writes the pairs [base, pairTop) to the type map sorted by qtype (insertion sort: a
   * name has a handful), pops them; returns how many (their start in typesAt).
   */
  private pushTypes(base: number): number {
    const type = this.pairType, tpl = this.pairTpl;
    for (let i = base + 1; i < this.pairTop; i++) {
      const t = type[i]!, x = tpl[i]!;
      let j = i - 1;
      while (j >= base && type[j]! > t) {
        type[j + 1] = type[j]!;
        tpl[j + 1] = tpl[j]!;
        j--;
      }
      type[j + 1] = t;
      tpl[j + 1] = x;
    }
    this.typesAt = this.typemap.length / D.TYPEMAP_WORDS;
    const count = this.pairTop - base;
    const at = this.typemap.record(count * D.TYPEMAP_WORDS);
    const words = this.typemap.array;
    for (let i = 0; i < count; i++) {
      words[at + i * D.TYPEMAP_WORDS + D.TM_QTYPE] = type[base + i]!;
      words[at + i * D.TYPEMAP_WORDS + D.TM_TPL] = tpl[base + i]!;
    }
    this.pairTop = base;
    return count;
  }

  /**
   * The name hash (open addressing, linear probing; layout.ts). Names go in by region of
   * the table, not in name order: a million names in name order are a million cache
   * misses across the table. Any order makes the same lookups; where two names collide,
   * which one takes the first slot depends on it.
   */
  private fillHash(hash: Uint32Array, count: number): void {
    const mask = hash.length - 1;
    const bits = Math.log2(hash.length);
    const shift = Math.max(0, bits - 10); // 1024 regions
    const regions = new Int32Array((hash.length >>> shift) + 1);
    for (let i = 0; i < count; i++) regions[((this.m.nodes.hashAt(i) & mask) >>> shift) + 1]!++;
    for (let r = 1; r < regions.length; r++) regions[r]! += regions[r - 1]!;
    const order = new Int32Array(count);
    for (let i = 0; i < count; i++) order[regions[(this.m.nodes.hashAt(i) & mask) >>> shift]!++] = i;
    for (let k = 0; k < count; k++) {
      const i = order[k]!;
      let slot = this.m.nodes.hashAt(i) & mask;
      while (hash[slot] !== 0) slot = (slot + 1) & mask;
      hash[slot] = i + 1;
    }
  }

  /** Writes the name table, the hash and the zone table; returns the sections. */
  nameTable(): Array<[number, Uint32Array | SpillingU32Builder]> {
    const nodes = this.m.nodes.list;
    const hash = new Uint32Array(tableSizeFor(nodes.length));
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const zone = n.zone;
      let flags = 0;
      if (n.isApex) flags |= D.NAME_FLAG_APEX;
      if (n.isCut) flags |= D.NAME_FLAG_DELEGATION;
      if (n.cutAbove) flags |= D.NAME_FLAG_BELOW_CUT;
      if (n.recCount > 0) flags |= D.NAME_FLAG_DATA;

      const base = this.pairTop; // 0: nothing is pending between names
      let exactDefault: number;
      let descKind: number = D.DESC_REFERRAL;
      let descTpl = 0;
      let wildAt = 0, wildCount = 0;
      const cut = n.cutAbove ?? (n.isCut ? n : null);
      if (cut) {
        exactDefault = this.referral(cut, n.name);
        if (n.isCut && !n.cutAbove) {
          // DS is answered from this (the parent) side of the cut (RFC 4035 §3.1.4.1).
          const ds = rrsetOf(n, T.DS);
          if (ds) {
            const tw = this.writer(n.name);
            tw.an += this.writeSet(tw, ds, true);
            this.pushPair(T.DS, this.emit(tw, RCODE_NOERROR, true));
          } else {
            this.pushPair(T.DS, this.zoneNodata[zone]!);
          }
        }
        descKind = D.DESC_REFERRAL;
        descTpl = this.referral(cut, starOf(n.name));
      } else if (n.parent?.wildcard === n) {
        // A wildcard asked for by its own name: its synthesized templates serve as they are.
        const wt = this.wildcardTemplates(n);
        for (let k = 0; k < wt.length - 2; k += 2) this.pushPair(wt[k]!, wt[k + 1]!);
        exactDefault = wt[wt.length - 1]!;
      } else {
        exactDefault = this.templatesFor(n, n.name);
      }
      if (!cut) {
        if (n.parentDs !== undefined) {
          // The apex of a served child: its DS comes from the served parent.
          const pz = n.parentZone;
          let dsTpl = this.zoneNodata[pz]!;
          if (n.parentDs) {
            const tw = this.writer(n.name);
            tw.an += this.writeSet(tw, n.parentDs, true);
            dsTpl = this.emit(tw, RCODE_NOERROR, true);
          }
          this.dropPairs(base, T.DS);
          this.pushPair(T.DS, dsTpl);
        }
        if (hasType(n, T.DNAME)) {
          descKind = D.DESC_DNAME;
          descTpl = this.dname(n);
        } else if (n.wildcard) {
          descKind = D.DESC_WILDCARD;
          const wt = this.wildcardTemplates(n.wildcard);
          descTpl = wt[wt.length - 1]!;
          // The wildcard's pairs go into the type map before this name's own (on the stack above them).
          const top = this.pairTop;
          for (let k = 0; k < wt.length - 2; k += 2) this.pushPair(wt[k]!, wt[k + 1]!);
          wildCount = this.pushTypes(top);
          wildAt = this.typesAt;
        } else {
          descKind = D.DESC_NXDOMAIN;
          descTpl = this.zoneNxdomain[zone]!;
        }
      }
      const typesCount = this.pushTypes(base);
      const typesAt = this.typesAt;
      const keyLen = n.name.length;
      const keyOff = this.appendLowered(n.name);
      const h = this.m.nodes.hashAt(i); // hashBytesFolded(n.name), computed by the model
      const a = this.names.record(D.NAME_WORDS);
      const w = this.names.array;
      w[a + D.NAME_KEY_OFF] = keyOff;
      w[a + D.NAME_KEY_LEN] = keyLen;
      w[a + D.NAME_HASH] = h;
      w[a + D.NAME_FLAGS] = flags;
      w[a + D.NAME_ZONE] = zone;
      w[a + D.NAME_EXACT_DEFAULT] = exactDefault;
      w[a + D.NAME_TYPES_AT] = typesAt;
      w[a + D.NAME_TYPES_COUNT] = typesCount;
      w[a + D.NAME_DESC_KIND] = descKind;
      w[a + D.NAME_DESC_TPL] = descTpl;
      w[a + D.NAME_WILD_AT] = wildAt;
      w[a + D.NAME_WILD_COUNT] = wildCount;
    }
    this.fillHash(hash, nodes.length);
    const zones = new U32Builder();
    for (const z of this.m.zones) {
      const a = zones.record(D.ZONE_WORDS);
      const key = Buffer.from(z.originKey, 'latin1');
      zones.set(a + D.ZONE_ORIGIN_OFF, this.w.append(key));
      zones.set(a + D.ZONE_ORIGIN_LEN, key.length);
      zones.set(a + D.ZONE_NAME, nodes.indexOf(z.apex));
    }
    return [
      [SectionId.DNS_ZONES, zones.view()],
      [SectionId.DNS_NAMES, this.names],
      [SectionId.DNS_NAME_HASH, hash],
      [SectionId.DNS_RRSETS, this.typemap],
      [SectionId.DNS_ANSWERS, this.templates],
    ];
  }
}

/** Compiles zones into the image's BLOB (which must be open); returns the tables to write after it. */
export function compileDns(w: ImageWriter, specs: ZoneSpec[]): DnsBuildResult {
  const { parsed, warnings } = loadZones(specs);
  const model = buildModel(parsed, warnings);
  collectAfterPhase(parsed.reduce((n, z) => n + z.store.length, 0));
  return compileModel(w, model);
}

export function compileModel(w: ImageWriter, model: DnsModel): DnsBuildResult {
  const c = new Compiler(w, model);
  c.zones();
  const sections = c.nameTable();
  return {
    sections,
    zones: model.zones.map((z) => ({ origin: z.originText, file: z.file, records: z.recordCount, names: z.nameCount })),
    warnings: model.warnings,
    templates: c.templateCount,
  };
}

