// The DNS tables of a loaded image, as typed views over the shared bytes (no copy).
//
// Layouts: specializers/dns/layout.ts. Loading checks every index and span a query can
// reach, so a damaged image is refused (APPL_ERR_IMAGE_CORRUPT) rather than read out of
// bounds while serving.

import { ImageError } from '../../basics/errors.js';
import { SectionId, sectionWords, type Image } from '../../specializers/image/format.js';
import * as D from '../../specializers/dns/layout.js';

/** ASCII upper case to lower case, everything else as it is (RFC 4343): a table, not a branch. */
export const LOWER = Uint8Array.from({ length: 256 }, (_, c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c));

/** The most lookups warm() reads ahead for at once (a receive batch). */
export const WARM_BATCH = 256;

export class DnsTables {
  readonly blob: Uint8Array;
  /** The BLOB as a DataView: templates are copied out four bytes at a time. */
  readonly blobView: DataView;
  readonly zones: Uint32Array;
  readonly names: Uint32Array;
  readonly hash: Uint32Array;
  readonly typemap: Uint32Array;
  readonly templates: Uint32Array;
  /** DNS_DENIAL (empty when no zone is signed). */
  readonly denial: Uint32Array;
  readonly nameCount: number;
  private readonly mask: number;
  /** find()'s lower-cased copy of the name. */
  private readonly scratch = new Uint8Array(256);
  private readonly scratchView = new DataView(this.scratch.buffer);

  constructor(readonly image: Image) {
    const blob = image.sections.get(SectionId.BLOB)!;
    this.blob = new Uint8Array(image.shared, blob.offset, blob.length);
    this.blobView = new DataView(image.shared, blob.offset, blob.length);
    this.zones = sectionWords(image, SectionId.DNS_ZONES);
    this.names = sectionWords(image, SectionId.DNS_NAMES);
    this.hash = sectionWords(image, SectionId.DNS_NAME_HASH);
    this.typemap = sectionWords(image, SectionId.DNS_RRSETS);
    this.templates = sectionWords(image, SectionId.DNS_ANSWERS);
    this.denial = image.sections.has(SectionId.DNS_DENIAL) ? sectionWords(image, SectionId.DNS_DENIAL) : new Uint32Array(0);
    this.nameCount = Math.floor(this.names.length / D.NAME_WORDS);
    this.mask = this.hash.length - 1;
    this.validate();
  }

  /** At least this many names, and warm() reads ahead (below it the tables mostly stay in the caches). */
  static readonly WARM_ABOVE = 1 << 17;

  /** warm() reads ahead from this many names on (tests set it lower). */
  warmAbove = DnsTables.WARM_ABOVE;

  /** Does this image's name table outgrow the caches (warm() then pays)? */
  get warmPays(): boolean {
    return this.nameCount >= this.warmAbove;
  }

  // warm()'s per-query state, for at most WARM_BATCH queries.
  private readonly wEntry = new Int32Array(WARM_BATCH);
  private readonly wTpl = new Int32Array(WARM_BATCH);
  /** Where warm()'s reads go, so that they are not optimized away. */
  warmSink = 0;

  /**
   * Reads ahead, for a batch of lookups, what they will read: each a chain of dependent
   * cache misses in a big zone (hash slot, name record, key bytes and type map, template
   * record, template bytes), one stage for the whole batch at a time, so that the misses
   * of a stage overlap instead of following one another. `hashes` are the names' hashes
   * (as lookups compute them; -1: none), `qtypes` their qtypes. Reads only: the answers
   * are the lookups' own, whether this ran or not.
   */
  warm(hashes: Int32Array, qtypes: Uint16Array, count: number): void {
    const n = Math.min(count, WARM_BATCH);
    const hash = this.hash, names = this.names, blob = this.blob, tm = this.typemap, tpls = this.templates;
    const es = this.wEntry, ts = this.wTpl, mask = this.mask;
    let sink = 0;
    for (let k = 0; k < n; k++) {
      const h = hashes[k]!;
      es[k] = h === -1 ? 0 : hash[h & mask]!;
    }
    for (let k = 0; k < n; k++) {
      const e = es[k]!;
      if (e !== 0) sink = (sink + names[(e - 1) * D.NAME_WORDS + D.NAME_KEY_OFF]!) | 0;
    }
    for (let k = 0; k < n; k++) {
      const e = es[k]!;
      if (e === 0) continue;
      const a = (e - 1) * D.NAME_WORDS;
      sink = (sink + blob[names[a + D.NAME_KEY_OFF]!]!) | 0;
      if (names[a + D.NAME_TYPES_COUNT]! > 0) sink = (sink + tm[names[a + D.NAME_TYPES_AT]! * D.TYPEMAP_WORDS]!) | 0;
    }
    for (let k = 0; k < n; k++) {
      const e = es[k]!;
      ts[k] = -1;
      if (e === 0) continue;
      const a = (e - 1) * D.NAME_WORDS;
      const t = this.typeTemplate(names[a + D.NAME_TYPES_AT]!, names[a + D.NAME_TYPES_COUNT]!, qtypes[k]!);
      const tpl = t >= 0 ? t : names[a + D.NAME_EXACT_DEFAULT]!;
      ts[k] = tpl;
      sink = (sink + tpls[tpl * D.TEMPLATE_WORDS + D.TPL_OFF]!) | 0;
    }
    for (let k = 0; k < n; k++) {
      const tpl = ts[k]!;
      if (tpl >= 0) sink = (sink + blob[tpls[tpl * D.TEMPLATE_WORDS + D.TPL_OFF]!]!) | 0;
    }
    this.warmSink = sink;
  }

  get hasZones(): boolean {
    return this.zones.length > 0;
  }

  get zoneCount(): number {
    return this.zones.length / D.ZONE_WORDS;
  }

  /**
   * The name record for the wire name at buf[off, off+len) (uncompressed, any case), or -1.
   * The name is lower-cased into a scratch buffer first (the responder does that itself,
   * once for the name and all its suffixes, and calls findLowered).
   */
  find(buf: Uint8Array, off: number, len: number): number {
    if (len > 255) return -1;
    const low = this.scratch;
    for (let i = 0; i < len; i++) low[i] = LOWER[buf[off + i]!]!;
    return this.findLowered(low, this.scratchView, 0, len);
  }

  /**
   * find() for a name already lower-cased, at name[off, off+len) where `view` is a DataView
   * over `name`: no folding, and the key compared four bytes at a time. The responder
   * lower-cases a query name once and looks up the name and its suffixes with this.
   */
  findLowered(name: Uint8Array, view: DataView, off: number, len: number): number {
    let h = 0x811c9dc5;
    for (let i = off, end = off + len; i < end; i++) h = Math.imul(h ^ name[i]!, 0x01000193);
    return this.findHashed(name, view, off, len, h >>> 0);
  }

  /** findLowered() with the name's hash (hashBytesFolded) already computed. */
  findHashed(name: Uint8Array, view: DataView, off: number, len: number, h: number): number {
    const names = this.names;
    const blob = this.blob;
    const bv = this.blobView;
    const mask = this.mask;
    for (let slot = h & mask, probes = 0; probes <= mask; slot = (slot + 1) & mask, probes++) {
      const e = this.hash[slot]!;
      if (e === 0) return -1;
      const a = (e - 1) * D.NAME_WORDS;
      if (names[a + D.NAME_HASH] !== h || names[a + D.NAME_KEY_LEN] !== len) continue;
      const k = names[a + D.NAME_KEY_OFF]!;
      let i = 0;
      while (i + 4 <= len && view.getInt32(off + i) === bv.getInt32(k + i)) i += 4;
      if (i + 4 <= len) continue;
      while (i < len && name[off + i] === blob[k + i]) i++;
      if (i === len) return e - 1;
    }
    return -1;
  }

  /** The template for qtype in a run of (qtype, template) pairs, or -1. */
  typeTemplate(at: number, count: number, qtype: number): number {
    const tm = this.typemap;
    for (let i = at, end = at + count; i < end; i++) {
      const q = tm[i * D.TYPEMAP_WORDS + D.TM_QTYPE]!;
      if (q === qtype) return tm[i * D.TYPEMAP_WORDS + D.TM_TPL]!;
      if (q > qtype) break;
    }
    return -1;
  }

  private corrupt(what: string): never {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', this.image.file, `DNS tables: ${what}`);
  }

  private validate(): void {
    if (!this.hasZones) return;
    const nTpl = this.templates.length / D.TEMPLATE_WORDS;
    const nTm = this.typemap.length / D.TYPEMAP_WORDS;
    if (![nTpl, nTm, this.names.length / D.NAME_WORDS, this.zones.length / D.ZONE_WORDS].every(Number.isInteger)) {
      this.corrupt('a table is not a whole number of records');
    }
    if (this.hash.length === 0 || (this.hash.length & this.mask) !== 0) this.corrupt('name hash size is not a power of two');
    const blobLen = this.blob.length;
    for (let t = 0; t < nTpl; t++) {
      const a = t * D.TEMPLATE_WORDS;
      const off = this.templates[a + D.TPL_OFF]!, len = this.templates[a + D.TPL_LEN]!;
      if (off + len > blobLen || len > 65535) this.corrupt(`template ${t} outside the BLOB`);
      const ptr = this.templates[a + D.TPL_PTR_OFF]!, ptrN = this.templates[a + D.TPL_PTR_COUNT]!;
      if (ptr + ptrN * 2 > blobLen) this.corrupt(`template ${t} pointer list outside the BLOB`);
      for (let i = 0; i < ptrN; i++) {
        const p = this.blob[ptr + i * 2]! | (this.blob[ptr + i * 2 + 1]! << 8);
        if (p + 2 > len || (this.blob[off + p]! & 0xc0) !== 0xc0) this.corrupt(`template ${t}: pointer list names no pointer`);
      }
      const sets = this.templates[a + D.TPL_ARSETS_OFF]!, setsN = this.templates[a + D.TPL_ARSETS_COUNT]!;
      if (sets + setsN * 4 > blobLen) this.corrupt(`template ${t} additional RRsets outside the BLOB`);
      for (let i = 0; i < setsN; i++) {
        if ((this.blob[sets + i * 4]! | (this.blob[sets + i * 4 + 1]! << 8)) > len) this.corrupt(`template ${t}: additional RRset past its end`);
      }
      if (this.templates[a + D.TPL_AR_AT]! > len) this.corrupt(`template ${t}: additional section past its end`);
      const flags = this.templates[a + D.TPL_FLAGS]!;
      if (flags & D.TPLF_V6_TWIN && this.templates[a + D.TPL_EXTRA]! >= nTpl) this.corrupt(`template ${t}: twin past the table`);
      if (flags & D.TPLF_DO_NEXT && t + 1 >= nTpl) this.corrupt(`template ${t}: DO twin past the table`);
      if (flags & D.TPLF_SPLICE) {
        const s = this.templates[a + D.TPL_EXTRA]!;
        if (flags & (D.TPLF_V6_TWIN | D.TPLF_DNAME) || s + D.SPLICE_HEAD > blobLen || s + D.SPLICE_HEAD + 4 * this.blob[s + 3]! > blobLen) this.corrupt(`template ${t}: splice descriptor outside the BLOB`);
        const at = this.blob[s]! | (this.blob[s + 1]! << 8), kind = this.blob[s + 2]!;
        // Before where the template can be cut (a spliced template has no additional section: its end).
        if (at > this.templates[a + D.TPL_AR_AT]! || at > len || (kind !== D.SPLICE_NSEC_COVER && kind !== D.SPLICE_NSEC3_NEXT_CLOSER)) this.corrupt(`template ${t}: bad splice descriptor`);
      }
      const q0 = this.templates[a + D.TPL_Q0_LEN]!;
      if (q0 < 1 || q0 > 255) this.corrupt(`template ${t}: bad reference name length`);
    }
    for (let i = 0; i < nTm; i++) {
      if (this.typemap[i * D.TYPEMAP_WORDS + D.TM_TPL]! >= nTpl) this.corrupt(`type map entry ${i} names a template past the table`);
    }
    for (let n = 0; n < this.nameCount; n++) {
      const a = n * D.NAME_WORDS;
      const w = this.names;
      if (w[a + D.NAME_KEY_OFF]! + w[a + D.NAME_KEY_LEN]! > blobLen || w[a + D.NAME_KEY_LEN]! > 255) this.corrupt(`name ${n}: key outside the BLOB`);
      if (w[a + D.NAME_EXACT_DEFAULT]! >= nTpl || w[a + D.NAME_DESC_TPL]! >= nTpl) this.corrupt(`name ${n}: template past the table`);
      if (w[a + D.NAME_TYPES_AT]! + w[a + D.NAME_TYPES_COUNT]! > nTm || w[a + D.NAME_WILD_AT]! + w[a + D.NAME_WILD_COUNT]! > nTm) {
        this.corrupt(`name ${n}: type map past the table`);
      }
      if (w[a + D.NAME_DESC_KIND]! > D.DESC_DNAME) this.corrupt(`name ${n}: unknown kind`);
      if (w[a + D.NAME_ZONE]! >= this.zoneCount) this.corrupt(`name ${n}: zone past the table`);
    }
    for (let i = 0; i < this.hash.length; i++) if (this.hash[i]! > this.nameCount) this.corrupt(`hash slot ${i} past the name table`);
    this.validateDenial(blobLen);
  }

  /** DNS_DENIAL and the zones' runs of it: every span inside the BLOB, every record's RDLENGTHs inside its body, NSEC keys whole names. */
  private validateDenial(blobLen: number): void {
    const den = this.denial;
    const nDen = den.length / D.DENIAL_WORDS;
    if (!Number.isInteger(nDen)) this.corrupt('denial table is not a whole number of records');
    for (let z = 0; z < this.zoneCount; z++) {
      const a = z * D.ZONE_WORDS;
      const f = this.zones[a + D.ZONE_FLAGS]!;
      const at = this.zones[a + D.ZONE_DENIAL_AT]!, n = this.zones[a + D.ZONE_DENIAL_COUNT]!;
      if (at + n > nDen) this.corrupt(`zone ${z}: denial records past the table`);
      if (f & D.ZONE_FLAG_NSEC3) {
        const p = this.zones[a + D.ZONE_NSEC3]!;
        if (p + 4 > blobLen || p + 4 + this.blob[p + 3]! > blobLen) this.corrupt(`zone ${z}: NSEC3 parameters outside the BLOB`);
        if ((this.blob[p + 1]! | (this.blob[p + 2]! << 8)) > D.MAX_NSEC3_ITERATIONS) this.corrupt(`zone ${z}: more NSEC3 iterations than the build allows`);
      }
      for (let e = at; e < at + n; e++) {
        const r = e * D.DENIAL_WORDS;
        const k = den[r + D.DEN_KEY_OFF]!, kl = den[r + D.DEN_KEY_LEN]!;
        if (k + kl > blobLen) this.corrupt(`denial record ${e}: key outside the BLOB`);
        if (f & D.ZONE_FLAG_NSEC && !this.wholeName(k, kl)) this.corrupt(`denial record ${e}: key is not a name`);
        if (f & D.ZONE_FLAG_NSEC3 && kl !== 20) this.corrupt(`denial record ${e}: key is not a hash`);
        const o = den[r + D.DEN_OWNER_OFF]!, ol = den[r + D.DEN_OWNER_LEN_COUNT]! >>> 16, count = den[r + D.DEN_OWNER_LEN_COUNT]! & 0xffff;
        if (!this.wholeName(o, ol) || count === 0) this.corrupt(`denial record ${e}: bad owner`);
        const b = den[r + D.DEN_BODY_OFF]!, bl = den[r + D.DEN_BODY_LEN]!;
        if (b + bl > blobLen) this.corrupt(`denial record ${e}: records outside the BLOB`);
        let i = 0, seen = 0;
        while (i < bl) {
          if (seen > 0) i += 2;
          if (i + 10 > bl) break;
          i += 10 + ((this.blob[b + i + 8]! << 8) | this.blob[b + i + 9]!);
          seen++;
        }
        if (i !== bl || seen !== count) this.corrupt(`denial record ${e}: records do not fill their span`);
      }
    }
  }

  /** Is blob[off, off+len) one uncompressed wire name of exactly that length? */
  private wholeName(off: number, len: number): boolean {
    if (len < 1 || len > 255 || off + len > this.blob.length) return false;
    let i = off;
    while (i < off + len && this.blob[i] !== 0) {
      if (this.blob[i]! > 63) return false;
      i += this.blob[i]! + 1;
    }
    return i === off + len - 1;
  }
}
