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
import { rrsigsOver, ZoneDnssec } from './dnssec.js';
import type { ZoneRecord } from './record-store.js';

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

/** The most words of a table kept in memory while it is made (1 MiB; SpillingU32Builder): a full window is copied to the writer thread, so a larger one buys nothing. */
const WINDOW_WORDS = 1 << 18;

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
  /** Per zone, its DNSSEC when it is signed (RRSIGs, chain), else null. */
  private readonly sec: Array<ZoneDnssec | null> = [];
  /** The words of each zone's shared NODATA and NXDOMAIN templates, copied for the names of signed zones that need a DO twin of their own. */
  private readonly nodataWords: Uint32Array[] = [];
  private readonly nxdomainWords: Uint32Array[] = [];
  /** The template being made is a wildcard's, answered for names below its parent: its DO twin takes the run-time denial record (a splice). */
  private wildMode = false;
  /** DNS_DENIAL, made in zones(). */
  private readonly denial = new U32Builder();
  private scratch = new Uint8Array(1024);

  constructor(private readonly w: ImageWriter, private readonly m: DnsModel) {
    const spill = (): ReturnType<ImageWriter['spillFile']> => w.spillFile();
    // Windows sized from the name count (about 1.7 templates and 2.5 types a name in a
    // typical zone), at most WINDOW_WORDS: a small zone never spills, nor takes 3 MiB.
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
    this.written.length = 0;
    return this.tw.reset(q0);
  }

  /** The denial records written into the template being made (writeEntry), each once. */
  private readonly written: Array<{ sec: ZoneDnssec; entry: number }> = [];

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

  /** The words of template `index`, just emitted (still in the builder's window). */
  private wordsOf(index: number): Uint32Array {
    if (index !== this.templates.length / D.TEMPLATE_WORDS - 1) throw new Error('wordsOf: only the template just emitted');
    const a = this.templates.lastAt(D.TEMPLATE_WORDS);
    return this.templates.array.slice(a, a + D.TEMPLATE_WORDS);
  }

  /** A new template with the words of another (its bytes shared) and more flags; returns its index. */
  private clone(words: Uint32Array, flags: number): number {
    const index = this.templates.length / D.TEMPLATE_WORDS;
    const at = this.templates.record(D.TEMPLATE_WORDS);
    const t = this.templates.array;
    for (let i = 0; i < D.TEMPLATE_WORDS; i++) t[at + i] = words[i]!;
    t[at + D.TPL_FLAGS] = words[D.TPL_FLAGS]! | flags;
    return index;
  }

  /**
   * Emits a template that takes the denial record of `sec` found at run time at `at`
   * (SPLICE_*), unless the template has it already: the descriptor lists the entries of
   * the zone's chain written into it (places in its run of DNS_DENIAL, so that nothing
   * moves when images are linked).
   */
  private emitSplice(tw: TemplateWriter, rcode: number, aa: boolean, at: number, sec: ZoneDnssec): number {
    // One no message can hold (a wildcard RRset of thousands of records) is answered TC=1 whatever is spliced: none then.
    if (tw.len > D.MAX_TEMPLATE_LEN) return this.emit(tw, rcode, aa);
    const have = this.written.filter((x) => x.sec === sec).map((x) => x.entry).slice(0, 255);
    const d = Buffer.alloc(D.SPLICE_HEAD + 4 * have.length);
    d.writeUInt16LE(at, 0);
    d[2] = Compiler.spliceKind(sec);
    d[3] = have.length;
    have.forEach((e, i) => d.writeUInt32LE(e + 1, D.SPLICE_HEAD + 4 * i));
    return this.emit(tw, rcode, aa, D.TPLF_SPLICE, 0, this.w.append(d));
  }

  /** The RRSIGs at node n over `type`, owners as the RRset's; returns how many. */
  private writeSigs(tw: TemplateWriter, n: DnsNode, type: number, ownerIsQname: boolean, ownerOverride?: Uint8Array): number {
    const sigs = rrsigsOver(n, type);
    for (const r of sigs) tw.rr(ownerIsQname ? null : (ownerOverride ?? r.owner), r.type, r.class, r.ttl, r.rdata);
    return sigs.length;
  }

  /** Denial record i of a signed zone (its NSEC or NSEC3 RRset and RRSIGs) into the authority section. */
  private writeEntry(tw: TemplateWriter, sec: ZoneDnssec, i: number): void {
    if (this.written.some((x) => x.sec === sec && x.entry === i)) return;
    this.written.push({ sec, entry: i });
    const n = sec.node(i);
    const type = sec.denialType;
    // Its owner as it is, also when it is the template's Q0 (a wildcard's own NSEC).
    tw.literalQ0 = true;
    tw.ns += this.writeSet(tw, rrsetOf(n, type)!, false);
    tw.ns += this.writeSigs(tw, n, type, false);
    tw.literalQ0 = false;
  }

  /** The negative SOA and its RRSIGs (authority), at the negative SOA's TTL (as NSD sends them). */
  private writeNegativeSoaDo(tw: TemplateWriter, zone: DnsZone): void {
    const ttl = this.writeNegativeSoa(tw, zone);
    for (const r of rrsigsOver(zone.apex, T.SOA)) {
      tw.rr(zone.origin, r.type, r.class, ttl, r.rdata);
      tw.ns++;
    }
  }

  /**
   * The closest provable encloser proof for `name` in an NSEC3 zone (RFC 5155 §7.2.1):
   * the NSEC3 matching the closest ancestor that has one, and the one covering the next
   * closer name. Returns the entries, in that order.
   */
  private closestProvable(sec: ZoneDnssec, name: Uint8Array): number[] {
    let next = name;
    for (let off = name[0]! + 1; off < name.length; off += name[off]! + 1) {
      const anc = name.subarray(off);
      const m = sec.match(anc);
      if (m >= 0) {
        const c = sec.coverIndex(next);
        return c === m ? [m] : [m, c];
      }
      next = anc;
    }
    return [];
  }

  /** What proves that a name that exists has no RRset of the asked type (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3): its entries. */
  private nodataProof(sec: ZoneDnssec, n: DnsNode): number[] {
    if (!sec.nsec3) {
      const e = sec.entryAt(n);
      return [e >= 0 ? e : sec.coverIndex(n.name)];
    }
    const m = sec.match(n.name);
    if (m >= 0 && n.parent !== null && n.parent.wildcard === n) {
      // A wildcard asked for by its own name: the NSEC3 of its parent too, as NSD sends (a wildcard NODATA's closest encloser).
      const p = sec.match(n.parent.name);
      return p >= 0 && p !== m ? [p, m] : [m];
    }
    return m >= 0 ? [m] : this.closestProvable(sec, n.name);
  }

  /** What proves that a cut has no DS (RFC 4035 §3.1.4, RFC 5155 §7.2.4 and §7.2.7 with opt-out). */
  private noDsProof(sec: ZoneDnssec, cut: DnsNode): number[] {
    if (!sec.nsec3) {
      const e = sec.entryAt(cut);
      return e >= 0 ? [e] : [];
    }
    const m = sec.match(cut.name);
    return m >= 0 ? [m] : this.closestProvable(sec, cut.name);
  }

  /**
   * NSEC3: the closest provable encloser of names below `encloser` when it has no NSEC3
   * of its own (an empty non-terminal above opted-out delegations only, as BIND's
   * dnssec-signzone -A and Knot leave them, RFC 5155 §7.1): its nearest ancestor that has
   * one. The next closer name is then the child of that ancestor toward `encloser`, the
   * same for every name below: the whole proof is known here (RFC 5155 §7.2.1). Null when
   * the encloser has its NSEC3.
   */
  private provableAbove(sec: ZoneDnssec, encloser: DnsNode): number[] | null {
    if (!sec.nsec3 || sec.match(encloser.name) >= 0) return null;
    let p = encloser.parent, next = encloser;
    while (p !== null && sec.match(p.name) < 0) {
      next = p;
      p = p.parent;
    }
    if (p === null) return [];
    // NSD's order: the next closer's cover, the encloser's match, the wildcard's cover (each once).
    return [...new Set([sec.coverIndex(next.name), sec.match(p.name), sec.coverIndex(starOf(p.name))])];
  }

  /** NXDOMAIN proof entries known at build time for a name below `encloser` (NSEC: the wildcard's cover; NSEC3: the encloser's match, the wildcard's cover), and for a name known at build time its own cover too. */
  private nxProof(sec: ZoneDnssec, encloser: DnsNode, name: Uint8Array | null): { before: number[]; after: number[] } {
    const star = starOf(encloser.name);
    if (!sec.nsec3) {
      const wild = sec.coverIndex(star);
      const own = name === null ? -1 : sec.coverIndex(name);
      return { before: own >= 0 && own !== wild ? [own] : [], after: [wild] };
    }
    const above = this.provableAbove(sec, encloser);
    if (above !== null) return { before: above, after: [] };
    const ce = sec.match(encloser.name);
    const wild = sec.coverIndex(star);
    const before = [ce];
    if (name !== null) {
      const c = sec.coverIndex(nextCloser(name, encloser.name.length));
      if (!before.includes(c)) before.push(c);
    }
    return { before, after: before.includes(wild) ? [] : [wild] };
  }

  /**
   * The authority records that prove a wildcard expansion made at build time (a CNAME
   * chain's hop to a name a wildcard synthesizes) synthesized from the closest encloser:
   * the NSEC covering the name, or the NSEC3 covering its next closer name (RFC 4035
   * §3.1.3.3, RFC 5155 §7.2.6). Entries of `sec`.
   */
  private expansionProof(sec: ZoneDnssec, name: Uint8Array, encloser: DnsNode): number {
    return sec.coverIndex(sec.nsec3 ? nextCloser(name, encloser.name.length) : name);
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
  private writeNegativeSoa(tw: TemplateWriter, zone: DnsZone): number {
    const soa = zone.soa;
    const rd = soa.rdata;
    const mEnd = nameLength(rd, 0);
    const rEnd = mEnd + nameLength(rd, mEnd);
    const minimum = ((rd[rEnd + 16]! << 24) | (rd[rEnd + 17]! << 16) | (rd[rEnd + 18]! << 8) | rd[rEnd + 19]!) >>> 0;
    const ttl = Math.min(soa.ttl, minimum);
    tw.rr(zone.origin, T.SOA, soa.class, ttl, soa.rdata);
    tw.ns++;
    return ttl;
  }

  private negative(zone: DnsZone, rcode: number): number {
    const tw = this.writer(starOf(zone.origin));
    this.writeNegativeSoa(tw, zone);
    return this.emit(tw, rcode, true);
  }

  zones(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const z of this.m.zones) {
      const sec = ZoneDnssec.of(this.m, z, this.m.warnings, now);
      this.sec[z.index] = sec;
      if (sec) this.denialRecords(sec);
      this.zoneNodata[z.index] = this.negative(z, RCODE_NOERROR);
      if (sec) this.nodataWords[z.index] = this.wordsOf(this.zoneNodata[z.index]!);
      this.zoneNxdomain[z.index] = this.negative(z, RCODE_NXDOMAIN);
      if (sec) this.nxdomainWords[z.index] = this.wordsOf(this.zoneNxdomain[z.index]!);
    }
  }

  /** A signed zone's NSEC or NSEC3 RRsets with their RRSIGs into DNS_DENIAL (layout.ts). */
  private denialRecords(sec: ZoneDnssec): void {
    sec.base = this.denial.length / D.DENIAL_WORDS;
    const type = sec.denialType;
    for (let i = 0; i < sec.entries.length; i++) {
      const n = sec.node(i);
      const recs: ZoneRecord[] = [...rrsetOf(n, type)!.records, ...rrsigsOver(n, type)];
      const parts: Uint8Array[] = [];
      recs.forEach((r, k) => {
        const rr = Buffer.alloc((k > 0 ? 2 : 0) + 10 + r.rdata.length);
        let p = 0;
        if (k > 0) { rr[0] = 0xc0; p = 2; }
        rr.writeUInt16BE(r.type, p);
        rr.writeUInt16BE(r.class, p + 2);
        rr.writeUInt32BE(r.ttl, p + 4);
        rr.writeUInt16BE(r.rdata.length, p + 8);
        rr.set(r.rdata, p + 10);
        parts.push(rr);
      });
      const body = Buffer.concat(parts);
      const key = sec.nsec3 ? sec.hashes[i]! : sec.keys[i]!;
      const a = this.denial.record(D.DENIAL_WORDS);
      this.denial.set(a + D.DEN_KEY_OFF, this.w.append(key));
      this.denial.set(a + D.DEN_KEY_LEN, key.length);
      this.denial.set(a + D.DEN_OWNER_OFF, this.w.append(n.name));
      this.denial.set(a + D.DEN_BODY_OFF, this.w.append(body));
      this.denial.set(a + D.DEN_BODY_LEN, body.length);
      this.denial.set(a + D.DEN_OWNER_LEN_COUNT, (n.name.length << 16) | recs.length);
    }
  }


  /** The kind of run-time denial record of a signed zone. */
  private static spliceKind(sec: ZoneDnssec): number {
    return sec.nsec3 ? D.SPLICE_NSEC3_NEXT_CLOSER : D.SPLICE_NSEC_COVER;
  }

  /**
   * A template of a signed zone's name for DO, emitted right after its DO=0 form. In
   * wildcard mode the run-time denial record goes at its end (RFC 4035 §3.1.3.3, RFC 5155
   * §7.2.6: no closer name exists), unless the template has it already.
   */
  private emitDo(tw: TemplateWriter, sec: ZoneDnssec, rcode: number, aa: boolean): number {
    if (!this.wildMode) return this.emit(tw, rcode, aa);
    // After the answer, or first when there is none (a NODATA: before the SOA, where NSD puts it).
    const at = tw.an > 0 ? tw.len : 0;
    return this.emitSplice(tw, rcode, aa, at, sec);
  }

  /**
   * The NODATA answer for a name (a qtype it has not): the zone's shared one, or in a
   * signed zone a copy of it with a DO twin that proves the type absent.
   */
  private nodataFor(n: DnsNode): number {
    const sec = this.sec[n.zone];
    if (!sec) return this.zoneNodata[n.zone]!;
    const zone = this.m.zones[n.zone]!;
    const i = this.clone(this.nodataWords[n.zone]!, D.TPLF_DO_NEXT);
    const tw = this.writer(n.name);
    this.writeNegativeSoaDo(tw, zone);
    if (this.wildMode && sec.nsec3) {
      // A wildcard NODATA (RFC 5155 §7.2.5): the closest encloser's NSEC3, the next closer's cover (at run time), the wildcard's NSEC3.
      const ce = sec.match(n.parent!.name);
      const wild = sec.match(n.name);
      if (ce >= 0) this.writeEntry(tw, sec, ce);
      if (wild >= 0) this.writeEntry(tw, sec, wild);
    } else {
      for (const e of this.nodataProof(sec, n)) this.writeEntry(tw, sec, e);
    }
    this.emitDo(tw, sec, RCODE_NOERROR, true);
    return i;
  }

  /**
   * The referral for a cut: NS in authority, addresses of in-zone name servers in
   * additional. Written for the question `q0`: names at and below a cut get their own
   * (exact, and "*." for what lies below them), so that compression against the query
   * name packs the referral as tightly as NSD does and the same glue fits.
   */
  referral(cut: DnsNode, q0: Uint8Array): number {
    // The twin for IPv6 queries first (AAAA glue first), then the one for IPv4 that names
    // it; in a signed zone each followed by its DO twin (the DS and its RRSIGs, or the
    // proof that there is none), whose IPv6 twin is the IPv6 twin's DO twin.
    const sec = this.sec[cut.zone] ?? null;
    const doNext = sec ? D.TPLF_DO_NEXT : 0;
    const need = (): number => (this.leadAddress ? D.TPLF_NEEDS_ADDRESS : 0);
    let tw = this.referralBody(cut, q0, [T.AAAA, T.A], null);
    const twin = this.emit(tw, RCODE_NOERROR, false, doNext | need());
    if (sec) {
      tw = this.referralBody(cut, q0, [T.AAAA, T.A], sec);
      this.emit(tw, RCODE_NOERROR, false, need());
    }
    tw = this.referralBody(cut, q0, [T.A, T.AAAA], null);
    const t = this.emit(tw, RCODE_NOERROR, false, D.TPLF_V6_TWIN | doNext | need(), 0, twin);
    if (sec) {
      tw = this.referralBody(cut, q0, [T.A, T.AAAA], sec);
      this.emit(tw, RCODE_NOERROR, false, D.TPLF_V6_TWIN | need(), 0, twin + 1);
    }
    return t;
  }

  private referralBody(cut: DnsNode, q0: Uint8Array, glueOrder: number[], sec: ZoneDnssec | null): TemplateWriter {
    const tw = this.writer(q0);
    const ns = rrsetOf(cut, T.NS)!;
    tw.ns += this.writeSet(tw, ns, false);
    if (sec) {
      // RFC 4035 §3.1.4: the DS and its RRSIGs, or the NSEC / NSEC3 that proves there is none.
      const ds = rrsetOf(cut, T.DS);
      if (ds) {
        tw.ns += this.writeSet(tw, ds, false);
        tw.ns += this.writeSigs(tw, cut, T.DS, false);
      } else {
        for (const e of this.noDsProof(sec, cut)) this.writeEntry(tw, sec, e);
      }
    }
    tw.startAdditional();
    this.leadAddress = this.writeAddresses(tw, ns.records, cut.zone, glueOrder, sec);
    return tw;
  }

  /** The last referralBody's first additional RRset is of the address type sent first (TPLF_NEEDS_ADDRESS). */
  private leadAddress = false;

  /**
   * The additional section of an NS RRset: the addresses of the name servers that live in
   * zone `zone`, by type in `glueOrder`, each in NS order (NSD's order, so that the same
   * ones are left out when they do not fit); with `sec`, each address RRset of an
   * authoritative name with its RRSIGs (glue below a cut has none). Returns whether the
   * first RRset is of glueOrder[0] (some server has one).
   */
  private writeAddresses(tw: TemplateWriter, ns: ZoneRecord[], zone: number, glueOrder: number[], sec: ZoneDnssec | null): boolean {
    const origin = this.m.zones[zone]!.origin;
    const servers: DnsNode[] = [];
    for (const r of ns) {
      const target = rdataName(r.rdata);
      const n = endsWithName(target, origin) ? this.m.nodes.get(target) : undefined;
      if (n && n.zone === zone && !servers.includes(n)) servers.push(n);
    }
    for (const type of glueOrder) {
      for (const n of servers) {
        const set = rrsetOf(n, type);
        if (!set) continue;
        tw.ar += this.writeSet(tw, set, false);
        if (sec && !n.cutAbove && !n.isCut) tw.ar += this.writeSigs(tw, n, type, false);
        tw.endAdditionalSet();
      }
    }
    return servers.some((n) => rrsetOf(n, glueOrder[0]!) !== undefined);
  }

  /**
   * The answer to qtype NS at a name with an NS RRset of its own (an apex): the RRset and,
   * as NSD sends even with minimal-responses, the addresses of the name servers in the zone
   * (AAAA first in the IPv6 twin); in a signed zone each with its DO twin.
   */
  private nsAnswer(n: DnsNode, i: number, j: number, q0: Uint8Array): number {
    const sec = this.sec[n.zone] ?? null;
    const recs = n.recs;
    const ns = rrsetOf(n, T.NS)!.records;
    const body = (glueOrder: number[], dnssec: boolean): TemplateWriter => {
      const tw = this.writer(q0);
      tw.an += this.writeRun(tw, recs, i, j, true);
      if (dnssec) tw.an += this.writeSigs(tw, n, T.NS, true);
      tw.startAdditional();
      this.writeAddresses(tw, ns, n.zone, glueOrder, dnssec ? sec : null);
      return tw;
    };
    const doNext = sec ? D.TPLF_DO_NEXT : 0;
    const twin = this.emit(body([T.AAAA, T.A], false), RCODE_NOERROR, true, doNext);
    if (sec) this.emit(body([T.AAAA, T.A], true), RCODE_NOERROR, true);
    const t = this.emit(body([T.A, T.AAAA], false), RCODE_NOERROR, true, D.TPLF_V6_TWIN | doNext, 0, twin);
    if (sec) this.emit(body([T.A, T.AAAA], true), RCODE_NOERROR, true, D.TPLF_V6_TWIN, 0, twin + 1);
    return t;
  }

  /** The answer with the RRset of records i to j of a name (its DO twin after it in a signed zone); returns its template. */
  private runTemplate(n: DnsNode, i: number, j: number, q0: Uint8Array): number {
    const recs = n.recs;
    const type = typeAt(recs, i);
    if (type === T.NS && !this.wildMode) return this.nsAnswer(n, i, j, q0);
    const sec = this.sec[n.zone] ?? null;
    const tw = this.writer(q0);
    tw.an += this.writeRun(tw, recs, i, j, true);
    // In a signed zone each RRset but the RRSIGs themselves has a DO twin with its signatures (RFC 4035 §3.1.1).
    const twin = sec !== null && (type !== T.RRSIG || this.wildMode);
    const t = this.emit(tw, RCODE_NOERROR, true, twin ? D.TPLF_DO_NEXT : 0);
    if (twin) {
      const tw2 = this.writer(q0);
      tw2.an += this.writeRun(tw2, recs, i, j, true);
      if (type !== T.RRSIG) tw2.an += this.writeSigs(tw2, n, type, true);
      this.emitDo(tw2, sec, RCODE_NOERROR, true);
    }
    return t;
  }

  /**
   * Where a CNAME target leads, in any served zone (NSD follows chains across the zones it
   * serves): its node, or the wildcard that synthesizes it, or the closest encloser when
   * it does not exist. Nothing when it is under no served zone, or below a zone cut.
   */
  private chainTarget(name: Uint8Array): { node: DnsNode | null; wildcardFor: Uint8Array | null; encloser: DnsNode | null } {
    const none = { node: null, wildcardFor: null, encloser: null };
    // NSEC3 owners are looked past here as by the responder (NAME_FLAG_ABSENT).
    const n = this.m.nodes.get(name);
    if (n && !this.isAbsent(n)) return { node: n, wildcardFor: null, encloser: null };
    for (let off = name[0]! + 1; off < name.length; off += name[off]! + 1) {
      const e = this.m.nodes.get(name, off, name.length - off);
      if (!e || this.isAbsent(e)) continue;
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
    const chain: Array<{ set: RRset; owner: Uint8Array | null; node: DnsNode }> = [{ set: rrsetOf(start, T.CNAME)!, owner: null, node: start }];
    const sec = this.sec[start.zone] ?? null;
    let nxTarget: Uint8Array | null = null;
    let nxEncloser: DnsNode | null = null;
    const visited = new Set<DnsNode>([start]);
    // The hops to names a wildcard synthesizes, each proven in the DO twins (expansionProof).
    const expansions: Array<{ name: Uint8Array; encloser: DnsNode; hop: number }> = [];
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
          nxTarget = target;
          nxEncloser = found.encloser;
        }
        break;
      }
      const n = found.node;
      if (n.isCut || n.cutAbove || visited.has(n)) break;
      visited.add(n);
      const owner = found.wildcardFor ?? n.name;
      // hop: the chain's index of the name synthesized (chain.length for the end).
      if (found.wildcardFor !== null) expansions.push({ name: found.wildcardFor, encloser: found.encloser!, hop: chain.length });
      const cname = rrsetOf(n, T.CNAME);
      if (cname) {
        chain.push({ set: cname, owner, node: n });
        continue;
      }
      end = { node: n, owner };
      endStatus = 'data';
      endZone = this.m.zones[n.zone]!;
      break;
    }
    // In a signed zone every RRset of the chain is followed by its RRSIGs in the DO twins.
    const head = (dnssec: boolean, hops = chain.length): TemplateWriter => {
      const tw = this.writer(q0);
      for (const c of chain.slice(0, hops)) {
        tw.an += this.writeSet(tw, c.set, c.owner === null, c.owner ?? undefined);
        if (dnssec) tw.an += this.writeSigs(tw, c.node, T.CNAME, c.owner === null, c.owner ?? undefined);
      }
      return tw;
    };
    // The DO twins: when the chain starts in a signed zone or reaches into one (NSD signs
    // each RRset from its own zone).
    const signedChain = sec !== null || chain.some((c) => this.sec[c.node.zone]) || (end !== null && this.sec[end.node.zone] != null) ||
      (endStatus !== 'stop' && this.sec[endZone.index] != null);
    const doNext = signedChain ? D.TPLF_DO_NEXT : 0;
    // The proofs (authority) of the expansions up to hop `upto` of the chain.
    const proofs = (tw: TemplateWriter, upto = chain.length): void => {
      for (const x of expansions) {
        if (x.hop > upto) continue;
        const xs = this.sec[x.encloser.zone];
        if (xs) this.writeEntry(tw, xs, this.expansionProof(xs, x.name, x.encloser));
      }
    };
    const twin = (tw: TemplateWriter, rcode: number): void => {
      if (sec) this.emitDo(tw, sec, rcode, true);
      else this.emit(tw, rcode, true);
    };
    const base = this.pairTop;
    if (end) {
      const recs = end.node.recs;
      for (let i = end.node.recStart, stop = i + end.node.recCount; i < stop; ) {
        const j = runEnd(recs, i, stop);
        const tw = head(false);
        tw.an += this.writeRun(tw, recs, i, j, false, end.owner);
        this.pushPair(typeAt(recs, i), this.emit(tw, RCODE_NOERROR, true, doNext));
        if (signedChain) {
          const tw2 = head(true);
          tw2.an += this.writeRun(tw2, recs, i, j, false, end.owner);
          tw2.an += this.writeSigs(tw2, end.node, typeAt(recs, i), false, end.owner);
          proofs(tw2);
          twin(tw2, RCODE_NOERROR);
        }
        i = j;
      }
    }
    // A name along the chain that holds the asked type beside its CNAME (RRSIG, NSEC) ends
    // the chain there, as NSD looks for the qtype at each name before it follows the CNAME
    // (the first such name wins: pushed last). Only names after the start (its own come below).
    for (let k = chain.length - 1; k >= 1; k--) {
      const c = chain[k]!;
      const hs = this.sec[c.node.zone] ?? null;
      for (const type of [T.RRSIG, T.NSEC]) {
        const set = rrsetOf(c.node, type);
        if (!set) continue;
        const owner = c.owner ?? c.node.name;
        const tw = head(false, k);
        tw.an += this.writeSet(tw, set, false, owner);
        const t = this.emit(tw, RCODE_NOERROR, true, doNext);
        if (signedChain) {
          const tw2 = head(true, k);
          tw2.an += this.writeSet(tw2, set, false, owner);
          if (hs && type !== T.RRSIG) tw2.an += this.writeSigs(tw2, c.node, type, false, owner);
          proofs(tw2, k);
          twin(tw2, RCODE_NOERROR);
        }
        this.dropPairs(base, type);
        this.pushPair(type, t);
      }
    }
    const rcode = endStatus === 'nxdomain' ? RCODE_NXDOMAIN : RCODE_NOERROR;
    const negativeEnd = (dnssec: boolean): TemplateWriter => {
      const tw = head(dnssec);
      if (dnssec) proofs(tw);
      if (endStatus === 'stop') return tw;
      const endSec = dnssec ? this.sec[endZone.index] ?? null : null;
      if (endSec === null) {
        this.writeNegativeSoa(tw, endZone);
        return tw;
      }
      // The last name's denial (RFC 4035 §3.1.3): NODATA at the end of the chain, or NXDOMAIN for its target.
      this.writeNegativeSoaDo(tw, endZone);
      if (endStatus === 'data') {
        for (const e of this.nodataProof(endSec, end!.node)) this.writeEntry(tw, endSec, e);
      } else {
        const p = this.nxProof(endSec, nxEncloser!, nxTarget);
        for (const e of [...p.before, ...p.after]) this.writeEntry(tw, endSec, e);
      }
      return tw;
    };
    const def = this.emit(negativeEnd(false), rcode, true, doNext);
    if (signedChain) twin(negativeEnd(true), rcode);
    // The CNAME itself answers qtype CNAME and ANY (RFC 8482: one RRset).
    const only = this.writer(q0);
    only.an += this.writeSet(only, chain[0]!.set, true);
    const cnameOnly = this.emit(only, RCODE_NOERROR, true, sec ? D.TPLF_DO_NEXT : 0);
    if (sec) {
      const only2 = this.writer(q0);
      only2.an += this.writeSet(only2, chain[0]!.set, true);
      only2.an += this.writeSigs(only2, start, T.CNAME, true);
      this.emitDo(only2, sec, RCODE_NOERROR, true);
    }
    this.dropPairs(base, T.CNAME);
    this.dropPairs(base, QTYPE_ANY);
    this.pushPair(T.CNAME, cnameOnly);
    this.pushPair(QTYPE_ANY, cnameOnly);
    // What else the name holds (RRSIG, NSEC: RFC 2181 §10.1, RFC 4035 §2.5) answers its own
    // qtype, as NSD looks for the qtype before it follows a CNAME.
    const recs = start.recs;
    for (let i = start.recStart, stop = i + start.recCount; i < stop; ) {
      const j = runEnd(recs, i, stop);
      const type = typeAt(recs, i);
      if (type !== T.CNAME) {
        const t = this.runTemplate(start, i, j, q0);
        this.dropPairs(base, type);
        this.pushPair(type, t);
      }
      i = j;
    }
    this.nsec3Nodata(start, this.nodataFor(start));
    return def;
  }

  /**
   * Templates for a name with data and no CNAME: one per type, default NODATA, and ANY
   * answered with one RRset (RFC 8482). Which one is NSD's choice, so that both servers
   * agree: the first in zone-file order of SOA, A, AAAA, MX and PTR, else the RRset that
   * appears last in the file (measured against NSD 4.6; see test/differential/nsd.test.ts).
   */
  private dataTemplates(n: DnsNode, q0: Uint8Array): number {
    // ANY (NSD's answer_domain): the first of SOA, A, AAAA, MX, PTR; else the last RRset of
    // another type; else the last DNSKEY, NSEC or (unsigned zone) RRSIG; never NSEC3.
    let preferred = -1, last = -1, lastLow = -1;
    const recs = n.recs;
    const signed = this.sec[n.zone] != null;
    for (let i = n.recStart, stop = i + n.recCount; i < stop; ) {
      const j = runEnd(recs, i, stop);
      const type = typeAt(recs, i);
      const t = this.runTemplate(n, i, j, q0);
      i = j;
      this.pushPair(type, t);
      if (type === T.NSEC3) continue;
      if (type === T.DNSKEY || type === T.NSEC || type === T.RRSIG) {
        if (type !== T.RRSIG || !signed) lastLow = t;
      } else if (preferred < 0 && ANY_PREFERRED.has(type)) {
        preferred = t;
      } else {
        last = t;
      }
    }
    const any = preferred >= 0 ? preferred : last >= 0 ? last : lastLow;
    if (any >= 0) this.pushPair(QTYPE_ANY, any);
    // qtype NSEC3 (when the name has none) is answered by the default, this NODATA: no pair for it.
    return this.nodataFor(n);
  }

  /**
   * qtype NSEC3 at a name that exists is answered NODATA, as NSD does (NSEC3 records are
   * not data of the name they are hashed from, RFC 5155 §7.2.8), also at a CNAME.
   */
  private nsec3Nodata(n: DnsNode, nodata: number): void {
    if (hasType(n, T.NSEC3)) return;
    this.pushPair(T.NSEC3, nodata);
  }

  /**
   * The answer to qtype DS at a cut, from the parent zone `pz` (RFC 4035 §3.1.4.1): its DS
   * RRset, or its NODATA; `cut` is the parent's own name there (with the DS's RRSIGs, or
   * the NSEC that proves there is no DS).
   */
  private dsAnswer(n: DnsNode, ds: RRset | null, pz: number, cut: DnsNode): number {
    const sec = this.sec[pz] ?? null;
    if (ds) {
      const tw = this.writer(n.name);
      tw.an += this.writeSet(tw, ds, true);
      const t = this.emit(tw, RCODE_NOERROR, true, sec ? D.TPLF_DO_NEXT : 0);
      if (sec) {
        const tw2 = this.writer(n.name);
        tw2.an += this.writeSet(tw2, ds, true);
        tw2.an += this.writeSigs(tw2, cut, T.DS, true);
        this.emit(tw2, RCODE_NOERROR, true);
      }
      return t;
    }
    if (!sec) return this.zoneNodata[pz]!;
    const t = this.clone(this.nodataWords[pz]!, D.TPLF_DO_NEXT);
    const tw = this.writer(n.name);
    this.writeNegativeSoaDo(tw, this.m.zones[pz]!);
    for (const e of this.noDsProof(sec, cut)) this.writeEntry(tw, sec, e);
    this.emit(tw, RCODE_NOERROR, true);
    return t;
  }

  /**
   * The NXDOMAIN for names below n that do not exist: the zone's shared one, or in a
   * signed zone a copy with a DO twin holding the proof (RFC 4035 §3.1.3.2, RFC 5155
   * §7.2.2): what is known here (NSEC: the wildcard's cover; NSEC3: the closest
   * encloser's NSEC3, the wildcard's cover) and, at run time, the record covering the
   * query name (NSEC) or its next closer name (NSEC3), in between. Below an empty
   * non-terminal without an NSEC3 (opt-out) the whole proof is known here.
   */
  private nxdomainBelow(n: DnsNode): number {
    const sec = this.sec[n.zone];
    if (!sec) return this.zoneNxdomain[n.zone]!;
    const t = this.clone(this.nxdomainWords[n.zone]!, D.TPLF_DO_NEXT);
    const tw = this.writer(starOf(n.name));
    const above = this.provableAbove(sec, n);
    if (above !== null) {
      for (const e of above) this.writeEntry(tw, sec, e);
      this.writeNegativeSoaDo(tw, this.m.zones[n.zone]!);
      this.emit(tw, RCODE_NXDOMAIN, true);
      return t;
    }
    // NSD's order: the run-time record first, then the encloser's and the wildcard's, then the SOA.
    const p = this.nxProof(sec, n, null);
    for (const e of [...p.before, ...p.after]) this.writeEntry(tw, sec, e);
    this.writeNegativeSoaDo(tw, this.m.zones[n.zone]!);
    this.emitSplice(tw, RCODE_NXDOMAIN, true, 0, sec);
    return t;
  }

  /** Templates for a name: its (qtype, template) pairs pushed on the pair stack; returns the default. */
  private templatesFor(n: DnsNode, q0: Uint8Array): number {
    if (n.recCount === 0) return this.nodataFor(n);
    if (hasType(n, T.CNAME)) return this.cnameTemplates(n, q0);
    return this.dataTemplates(n, q0);
  }

  /** A wildcard's pairs, flat (qtype, template, ...), ending with (-1, its default); made once. */
  private wildcardTemplates(wild: DnsNode): number[] {
    let t = this.wildOf.get(wild);
    if (t) return t;
    const base = this.pairTop;
    this.wildMode = this.sec[wild.zone] != null;
    let def: number;
    try {
      def = this.templatesFor(wild, wild.name);
    } finally {
      this.wildMode = false;
    }
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
    const sec = this.sec[n.zone];
    const make = (dnssec: boolean): number => {
      const tw = this.writer(starOf(n.name));
      tw.rr(r.owner, r.type, r.class, r.ttl, r.rdata);
      tw.an++;
      const targetAt = tw.len - r.rdata.length;
      // The DNAME's RRSIGs follow it; the CNAME synthesized after them is unsigned (RFC 6672 §5.3.1).
      if (dnssec) tw.an += this.writeSigs(tw, n, T.DNAME, false);
      return this.emit(tw, RCODE_NOERROR, true, D.TPLF_DNAME | (sec && !dnssec ? D.TPLF_DO_NEXT : 0), targetAt, r.ttl);
    };
    const t = make(false);
    if (sec) make(true);
    return t;
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

  /** The names of NSEC3 zones that have a name below them (made when first asked). */
  private parents: Set<DnsNode> | null = null;

  /** An NSEC3 owner of a signed zone, not a name for queries (NAME_FLAG_ABSENT). */
  private isAbsent(n: DnsNode): boolean {
    return !!this.sec[n.zone]?.nsec3 && !n.isApex && !n.isCut && !n.cutAbove && isHashedOnly(n) && !this.hasChild(n);
  }

  private hasChild(n: DnsNode): boolean {
    if (this.parents === null) {
      this.parents = new Set();
      for (const x of this.m.nodes.list) if (x.parent !== null && this.sec[x.zone]?.nsec3) this.parents.add(x.parent);
    }
    return this.parents.has(n);
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
      if (this.isAbsent(n)) {
        // An NSEC3 owner: passed over by the lookup (NAME_FLAG_ABSENT), its templates unused.
        exactDefault = this.zoneNxdomain[zone]!;
        descTpl = exactDefault;
        descKind = D.DESC_NXDOMAIN;
        flags = (flags & ~D.NAME_FLAG_DATA) | D.NAME_FLAG_ABSENT;
      } else if (cut) {
        exactDefault = this.referral(cut, n.name);
        if (n.isCut && !n.cutAbove) {
          // DS is answered from this (the parent) side of the cut (RFC 4035 §3.1.4.1).
          this.pushPair(T.DS, this.dsAnswer(n, rrsetOf(n, T.DS) ?? null, zone, n));
        }
        descKind = D.DESC_REFERRAL;
        descTpl = this.referral(cut, starOf(n.name));
      } else if (n.parent?.wildcard === n && !this.sec[zone]) {
        // A wildcard asked for by its own name: its synthesized templates serve as they are.
        const wt = this.wildcardTemplates(n);
        for (let k = 0; k < wt.length - 2; k += 2) this.pushPair(wt[k]!, wt[k + 1]!);
        exactDefault = wt[wt.length - 1]!;
      } else {
        exactDefault = this.templatesFor(n, n.name);
      }
      if (!cut && descKind !== D.DESC_NXDOMAIN) {
        if (n.parentDs !== undefined) {
          // The apex of a served child: its DS comes from the served parent.
          const dsTpl = this.dsAnswer(n, n.parentDs, n.parentZone, n.parentCut!);
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
          descTpl = this.nxdomainBelow(n);
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
      const sec = this.sec[z.index];
      if (sec) {
        zones.set(a + D.ZONE_FLAGS, sec.nsec3 ? D.ZONE_FLAG_NSEC3 : D.ZONE_FLAG_NSEC);
        zones.set(a + D.ZONE_DENIAL_AT, sec.base);
        zones.set(a + D.ZONE_DENIAL_COUNT, sec.entries.length);
        if (sec.nsec3) {
          const p = Buffer.alloc(4 + sec.nsec3.salt.length);
          p[0] = sec.nsec3.algorithm;
          p.writeUInt16LE(sec.nsec3.iterations, 1);
          p[3] = sec.nsec3.salt.length;
          p.set(sec.nsec3.salt, 4);
          zones.set(a + D.ZONE_NSEC3, this.w.append(p));
        }
      }
    }
    return [
      [SectionId.DNS_ZONES, zones.view()],
      [SectionId.DNS_NAMES, this.names],
      [SectionId.DNS_NAME_HASH, hash],
      [SectionId.DNS_RRSETS, this.typemap],
      [SectionId.DNS_ANSWERS, this.templates],
      // Only when a zone is signed (an empty section is one more thing for a loader to check).
      ...(this.denial.length > 0 ? [[SectionId.DNS_DENIAL, this.denial.view()] as [number, Uint32Array]] : []),
    ];
  }
}

/** Does the name hold NSEC3 records and their RRSIGs only (an NSEC3 chain's owner)? */
/** The ancestor of `name` (or itself) one label longer than a name of `encloserLen` bytes it ends in: the next closer name (RFC 5155 §1.3). */
function nextCloser(name: Uint8Array, encloserLen: number): Uint8Array {
  let nc = name;
  for (let off = 0; off < name.length; off += name[off]! + 1) {
    if (name.length - off === encloserLen) break;
    nc = name.subarray(off);
  }
  return nc;
}

function isHashedOnly(n: DnsNode): boolean {
  if (n.recCount === 0 || n.wildcard) return false;
  const recs = n.recs;
  let nsec3 = false;
  for (let i = n.recStart, end = i + n.recCount; i < end; i++) {
    const t = recs.store.type[recs.order[i]!]!;
    if (t === T.NSEC3) nsec3 = true;
    else if (t !== T.RRSIG) return false;
  }
  return nsec3;
}

/** Compiles zones into the image's BLOB (which must be open); returns the tables to write after it. */
export function compileDns(w: ImageWriter, specs: ZoneSpec[]): DnsBuildResult {
  const loaded = loadZones(specs);
  const records = loaded.parsed.reduce((n, z) => n + z.store.length, 0);
  let model: DnsModel | null = buildModel(loaded.parsed, loaded.warnings);
  loaded.parsed.length = 0;
  collectAfterPhase(records);
  const r = compileModel(w, model);
  // The model and the records are garbage now: collected before the tables are copied
  // into the image, so that their memory is not still held at the build's peak.
  model = null;
  collectAfterPhase(records);
  return r;
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

