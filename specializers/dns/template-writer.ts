// Writes answer templates: resource records in wire format with names compressed
// (RFC 1035 §4.1.4), for a reference question name Q0 at offset 12 of the response.
//
// dns-packet compresses nothing and knows no SVCB/HTTPS; this writer compresses owner
// names everywhere and, inside RDATA, only the names of the RFC 1035 types (RFC 3597 §4:
// later types must not be compressed, receivers may not know where their names are).
//
// See layout.ts for how a template becomes a response, and why every pointer is listed.

import { copyBytes } from '../../basics/bytes.js';
import { T } from './rr-types.js';

/** Offset of the question name in every response. */
export const QNAME_AT = 12;
const MAX_POINTER = 0x3fff;

/** Types whose RDATA names may be compressed (RFC 3597 §4), and where those names are. */
function rdataNameLayout(type: number): 'name' | 'mx' | 'soa' | 'minfo' | null {
  switch (type) {
    case T.NS: case T.CNAME: case T.PTR: case 3 /* MD */: case 4 /* MF */: case 7 /* MB */: case 8 /* MG */: case 9 /* MR */:
      return 'name';
    case T.MX:
      return 'mx';
    case T.SOA:
      return 'soa';
    case 14: // MINFO
      return 'minfo';
    default:
      return null;
  }
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Length of the uncompressed wire name at buf[off]. */
export function nameLength(buf: Uint8Array, off: number): number {
  let i = off;
  while (buf[i] !== 0) i += buf[i]! + 1;
  return i - off + 1;
}

const NO_NAME = Uint8Array.of(0);

/**
 * One writer serves every template of a build: reset() starts the next one and keeps the
 * buffers (a million names make well over a million templates; a writer each would be
 * that many buffers for the collector).
 */
export class TemplateWriter {
  buf = new Uint8Array(4096);
  len = 0;
  an = 0;
  ns = 0;
  ar = 0;
  /** Where the additional section starts (set by startAdditional). */
  arAt = -1;
  /** The reference question name. */
  q0: Uint8Array = NO_NAME;
  /**
   * Position of every compression pointer written (relative to the template):
   * pointers[0, pointerCount). Kept in 32 bits while the template is written (it may grow
   * past 64 KiB before fit() cuts it); the image stores them as u16.
   */
  pointers = new Int32Array(256);
  pointerCount = 0;
  /** End offset and record count after each RRset of the additional section: pairs in arSets[0, 2 × arSetCount). */
  arSets = new Int32Array(64);
  arSetCount = 0;
  /**
   * Names equal to Q0 are not written as the pointer to offset 12 (which names whatever
   * the query name is): for records whose owner is Q0 itself, a wildcard's NSEC in its
   * NODATA proof (RFC 4035 §3.1.3.4), where the owner must stay "*".
   */
  literalQ0 = false;
  /** Absolute offset where the template starts in a response for Q0. */
  private base = 0;
  // Names already in the message: absolute offset, and the bytes (in `src` at `srcOff`).
  private regAt = new Int32Array(256);
  private regSrc: Uint8Array[] = [];
  private regSrcOff = new Int32Array(256);
  private regLen = new Int32Array(256);
  private regCount = 0;

  /** @param q0 the reference question name (wire, uncompressed) */
  constructor(q0?: Uint8Array) {
    if (q0 !== undefined) this.reset(q0);
  }

  /** Starts a new template for the reference question name q0 (wire, uncompressed). */
  reset(q0: Uint8Array): this {
    this.q0 = q0;
    this.len = 0;
    this.an = this.ns = this.ar = 0;
    this.arAt = -1;
    this.pointerCount = 0;
    this.arSetCount = 0;
    this.regCount = 0;
    this.literalQ0 = false;
    this.base = QNAME_AT + q0.length + 4;
    for (let off = 0; q0[off] !== 0; off += q0[off]! + 1) this.register(QNAME_AT + off, q0, off, q0.length - off);
    return this;
  }

  private register(at: number, src: Uint8Array, srcOff: number, len: number): void {
    if (at > MAX_POINTER || len <= 1) return;
    const r = this.regCount++;
    if (r === this.regAt.length) {
      this.regAt = grow(this.regAt);
      this.regSrcOff = grow(this.regSrcOff);
      this.regLen = grow(this.regLen);
    }
    this.regAt[r] = at;
    this.regSrc[r] = src;
    this.regSrcOff[r] = srcOff;
    this.regLen[r] = len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v & 0xff;
  }

  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }

  bytes(b: Uint8Array, off = 0, len = b.length - off): void {
    this.ensure(len);
    // A loop for the short runs records are made of; set(subarray()) allocates a view.
    if (len < 64) copyBytes(this.buf, this.len, b, off, len);
    else this.buf.set(b.subarray(off, off + len), this.len);
    this.len += len;
  }

  /** Where a name equal (case-insensitively) to src[off..] already is, or -1. */
  private find(src: Uint8Array, off: number, len: number): number {
    for (let r = 0; r < this.regCount; r++) {
      if (this.regLen[r] !== len || (this.literalQ0 && this.regAt[r] === QNAME_AT)) continue;
      const s = this.regSrc[r]!, so = this.regSrcOff[r]!;
      let i = 0;
      while (i < len && lower(s[so + i]!) === lower(src[off + i]!)) i++;
      if (i === len) return this.regAt[r]!;
    }
    return -1;
  }

  /** Writes a pointer to an absolute offset (of a response for Q0). */
  private pointer(at: number): void {
    if (this.pointerCount === this.pointers.length) this.pointers = grow(this.pointers);
    this.pointers[this.pointerCount++] = this.len;
    this.u16(0xc000 | at);
  }

  /** Writes the query name itself: always a pointer to offset 12. */
  qname(): void {
    this.pointer(QNAME_AT);
  }

  /** Marks the end of an RRset written into the additional section. */
  endAdditionalSet(): void {
    if (this.arSetCount * 2 === this.arSets.length) this.arSets = grow(this.arSets);
    this.arSets[this.arSetCount * 2] = this.len;
    this.arSets[this.arSetCount * 2 + 1] = this.ar;
    this.arSetCount++;
  }

  /** Writes a name, compressed against what is already in the message when `compress`. */
  name(src: Uint8Array, off = 0, compress = true): void {
    const total = nameLength(src, off);
    let i = off;
    while (src[i] !== 0) {
      const rest = total - (i - off);
      if (compress) {
        const at = this.find(src, i, rest);
        if (at >= 0) {
          this.pointer(at);
          return;
        }
        this.register(this.base + this.len, src, i, rest);
      }
      const l = src[i]!;
      this.bytes(src, i, l + 1);
      i += l + 1;
    }
    this.u8(0);
  }

  /**
   * One resource record. `owner` null: the owner is the query name (pointer to 12). RDATA
   * names of the RFC 1035 types are compressed; everything else is copied as it is.
   */
  rr(owner: Uint8Array | null, type: number, cls: number, ttl: number, rdata: Uint8Array): void {
    this.rrAt(owner, type, cls, ttl, rdata, 0, rdata.length);
  }

  /** rr() with the RDATA at src[off, off+len) (a record store's chunk: no view made). */
  rrAt(owner: Uint8Array | null, type: number, cls: number, ttl: number, src: Uint8Array, off: number, len: number): void {
    if (owner === null) this.qname();
    else this.name(owner);
    this.u16(type);
    this.u16(cls);
    this.u32(ttl);
    const lenAt = this.len;
    this.u16(0);
    const start = this.len;
    const layout = rdataNameLayout(type);
    if (layout === null) {
      this.bytes(src, off, len);
    } else if (layout === 'name') {
      this.name(src, off);
    } else if (layout === 'mx') {
      this.bytes(src, off, 2);
      this.name(src, off + 2);
    } else {
      const first = nameLength(src, off);
      this.name(src, off);
      this.name(src, off + first);
      const second = first + nameLength(src, off + first);
      this.bytes(src, off + second, len - second);
    }
    const rdlen = this.len - start;
    this.buf[lenAt] = rdlen >>> 8;
    this.buf[lenAt + 1] = rdlen & 0xff;
  }

  startAdditional(): void {
    this.arAt = this.len;
  }

  /**
   * Cuts the template to what a message can hold: `max` bytes after the question
   * (layout.ts, MAX_TEMPLATE_LEN). Additional RRsets that end past it are left out, as
   * they would be from every response (NSD leaves additional RRsets out when they do not
   * fit). When the answer and authority sections alone are longer, no response can carry
   * them: the template is kept as its first max + 1 bytes with the additional section
   * starting at its end, so that every query is answered TC=1 with no records, as NSD
   * answers an RRset that does not fit in 65,535 bytes, over UDP and TCP alike.
   * Returns 'whole', 'cut' (additional RRsets left out) or 'never' (never fits).
   */
  fit(max: number): 'whole' | 'cut' | 'never' {
    if (this.len <= max) return 'whole';
    const arAt = this.arAt >= 0 ? this.arAt : this.len;
    let kind: 'cut' | 'never';
    if (arAt > max) {
      kind = 'never';
      this.len = max + 1;
      this.arAt = this.len;
      this.ar = 0;
      this.arSetCount = 0;
      this.an = Math.min(this.an, 0xffff);
      this.ns = Math.min(this.ns, 0xffff);
    } else {
      kind = 'cut';
      let len = arAt, ar = 0, sets = 0;
      for (let i = 0; i < this.arSetCount && this.arSets[i * 2]! <= max; i++) {
        len = this.arSets[i * 2]!;
        ar = this.arSets[i * 2 + 1]!;
        sets = i + 1;
      }
      this.len = len;
      this.ar = ar;
      this.arSetCount = sets;
    }
    // Pointers in the part left out go with it (they are listed in the order written).
    let n = 0;
    while (n < this.pointerCount && this.pointers[n]! + 2 <= this.len) n++;
    this.pointerCount = n;
    return kind;
  }

  /** The template bytes. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function grow<A extends Int32Array>(a: A): A {
  const next = new (a.constructor as { new (n: number): A })(a.length * 2);
  next.set(a);
  return next;
}
