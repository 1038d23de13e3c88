// The DNS responder: one query in, its answer out, in place, from the image's templates.
//
// RFC 1035 §4.1 (messages), RFC 1034 §4.3.2 (the lookup, done at build time; here only the
// closest-encloser walk), RFC 6891 (EDNS(0)), RFC 6672 (DNAME), RFC 8482 (ANY), RFC 7766
// (TCP). It knows payloads only: the transports (kernel sockets, the fused stack) hand it
// the query's bytes in a buffer with room after them and send what it leaves there.
//
// The answer is written over the query: the header is patched, the question stays where
// it is (so it goes back byte for byte, case included: DNS 0x20), and the template is
// copied after it, its pointers moved when the query name is longer or shorter than the
// template's reference name, then the OPT record. No allocation per query.

import * as D from '../../specializers/dns/layout.js';
import {
  DNS_HEADER_LEN, EDNS_DO, FLAG_AA, FLAG_CD, FLAG_QR, FLAG_RD, FLAG_TC, OPCODE_QUERY, OPCODE_SHIFT, OPCODE_MASK,
  RCODE_BADVERS, RCODE_FORMERR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_YXDOMAIN, TYPE_OPT, setU16, u16,
} from '../wire/dns.js';
import type { DnsTables } from './tables.js';

export const TRANSPORT_UDP = 0;
export const TRANSPORT_TCP = 1;

/** Largest DNS message (TCP's two-byte length; RFC 7766). */
export const MAX_MESSAGE = 65535;
/** UDP without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;

const CLASS_IN = 1;
const OPCODE_NOTIFY = 4;
const CLASS_ANY = 255;
const QTYPE_IXFR = 251;
const QTYPE_AXFR = 252;
const TYPE_CNAME = 5;
const MAX_LABELS = 128;

/** Counters, by name; indexes into a worker's Float64Array slice (see COUNTER_NAMES). */
export const C_QUERIES = 0;
export const C_ANSWERED = 1;
export const C_DROP_SHORT = 2; // shorter than a header: nothing to answer to
export const C_DROP_RESPONSE = 3; // QR set: a response, never answered (no loops)
export const C_FORMERR = 4;
export const C_NOTIMP = 5;
export const C_REFUSED = 6;
export const C_NXDOMAIN = 7;
export const C_TRUNCATED = 8;
export const C_BADVERS = 9;
export const C_EDNS = 10;
export const DNS_COUNTERS = 11;
export const DNS_COUNTER_NAMES = [
  'queries', 'answered', 'drop_short', 'drop_response', 'formerr', 'notimp', 'refused', 'nxdomain', 'truncated', 'badvers', 'edns',
];

export class DnsResponder {
  /** Start of each label of the query name (relative to the message, or to a name). */
  private readonly labels = new Int32Array(MAX_LABELS);
  /** A name a DNAME substituted, uncompressed, for its lookup. */
  private readonly scratch = new Uint8Array(256);
  // Results of lookup() and place(), kept in fields: no objects per query.
  private dnameLabel = -1;
  private an = 0;
  private ns = 0;
  private ar = 0;
  private rcode = 0;
  // place() mode 1: where the substituted name is (relative to the message).
  private synth = 0;
  private synthPrefix = 0;
  private synthTarget = 0;

  constructor(readonly t: DnsTables, readonly counters: Float64Array = new Float64Array(DNS_COUNTERS)) {}

  /**
   * Answers the query at buf[off, off+len) in place. `cap` is how many bytes from `off`
   * may be written; `v6`: the query came over IPv6 (referral glue then lists AAAA first,
   * as NSD does). Returns the response length, or -1 to drop the packet.
   */
  answer(buf: Uint8Array, off: number, len: number, cap: number, transport: number, v6 = false): number {
    const c = this.counters;
    c[C_QUERIES]!++;
    if (len < DNS_HEADER_LEN) {
      c[C_DROP_SHORT]!++;
      return -1;
    }
    const flags = u16(buf, off + 2);
    if (flags & FLAG_QR) {
      c[C_DROP_RESPONSE]!++;
      return -1;
    }
    const opcode = (flags >> OPCODE_SHIFT) & OPCODE_MASK;
    const keep = flags & (FLAG_RD | FLAG_CD | (OPCODE_MASK << OPCODE_SHIFT));
    if (opcode !== OPCODE_QUERY) {
      // NOTIFY is refused (no zone here is a secondary, as NSD without allow-notify);
      // every other opcode is not implemented.
      if (opcode === OPCODE_NOTIFY) {
        c[C_REFUSED]!++;
        return this.headerOnly(buf, off, keep, RCODE_REFUSED);
      }
      c[C_NOTIMP]!++;
      return this.headerOnly(buf, off, keep, RCODE_NOTIMP);
    }
    if (u16(buf, off + 4) !== 1) return this.formerr(buf, off, keep);

    // The question name: labels only (a pointer cannot point back from the first name).
    const end = off + len;
    const labels = this.labels;
    let nLabels = 0;
    let p = off + DNS_HEADER_LEN;
    for (;;) {
      if (p >= end) return this.formerr(buf, off, keep);
      const l = buf[p]!;
      if (l === 0) break;
      if (l > 63 || nLabels === MAX_LABELS - 1) return this.formerr(buf, off, keep);
      labels[nLabels++] = p - off;
      p += l + 1;
    }
    const qnameLen = p + 1 - (off + DNS_HEADER_LEN);
    if (qnameLen > 255 || p + 5 > end) return this.formerr(buf, off, keep);
    const qtype = u16(buf, p + 1);
    const qclass = u16(buf, p + 3);
    const qend = p + 5; // absolute

    // EDNS(0): at most one OPT, in the additional section; the rest must parse too.
    let edns = false, ednsVersion = 0, ednsDo = 0, udpSize = CLASSIC_UDP_SIZE;
    const skip = u16(buf, off + 6) + u16(buf, off + 8);
    const arIn = u16(buf, off + 10);
    let q = qend;
    for (let i = 0; i < skip + arIn; i++) {
      // owner name: labels, possibly ending in a pointer
      let ownerRoot = false;
      for (let first = true; ; first = false) {
        if (q >= end) return this.formerr(buf, off, keep);
        const l = buf[q]!;
        if (l === 0) { q++; ownerRoot = first; break; }
        if ((l & 0xc0) === 0xc0) { q += 2; break; }
        if (l > 63) return this.formerr(buf, off, keep);
        q += l + 1;
      }
      if (q + 10 > end) return this.formerr(buf, off, keep);
      const type = u16(buf, q);
      const rdlen = u16(buf, q + 8);
      if (q + 10 + rdlen > end) return this.formerr(buf, off, keep);
      if (type === TYPE_OPT) {
        if (i < skip || edns || !ownerRoot) return this.formerr(buf, off, keep);
        edns = true;
        udpSize = u16(buf, q + 2);
        ednsVersion = buf[q + 5]!;
        ednsDo = u16(buf, q + 6) & EDNS_DO;
      }
      q += 10 + rdlen;
    }
    if (edns) c[C_EDNS]!++;

    // The answer goes after the question, over whatever followed it.
    let limit = transport === TRANSPORT_TCP ? MAX_MESSAGE : edns ? Math.min(Math.max(udpSize, CLASSIC_UDP_SIZE), D.EDNS_UDP_SIZE) : CLASSIC_UDP_SIZE;
    if (limit > cap) limit = cap;
    const optLen = edns ? D.OPT_RR_LEN : 0;
    let w = qend;
    if (edns && ednsVersion !== 0) {
      c[C_BADVERS]!++;
      this.header(buf, off, keep, RCODE_BADVERS & 0xf, 1, 0, 0, 1);
      return this.opt(buf, w, RCODE_BADVERS >> 4, ednsDo) - off;
    }
    if (qclass !== CLASS_IN && qclass !== CLASS_ANY) {
      c[C_REFUSED]!++;
      this.header(buf, off, keep, RCODE_REFUSED, 1, 0, 0, edns ? 1 : 0);
      if (edns) w = this.opt(buf, w, 0, ednsDo);
      return w - off;
    }
    if (qtype === TYPE_OPT || (qtype === QTYPE_AXFR && transport === TRANSPORT_UDP) || (qtype === QTYPE_IXFR && transport === TRANSPORT_UDP)) {
      return this.formerr(buf, off, keep);
    }

    // The lookup: the name itself, else its closest existing ancestor.
    const qnameAt = off + DNS_HEADER_LEN;
    let tpl = this.lookup(buf, qnameAt, qnameLen, nLabels, qtype);
    if (tpl >= 0 && v6) tpl = this.forV6(tpl);
    if (tpl < 0) {
      // Under no zone served here.
      c[C_REFUSED]!++;
      this.header(buf, off, keep, RCODE_REFUSED, 1, 0, 0, edns ? 1 : 0);
      if (edns) w = this.opt(buf, w, 0, ednsDo);
      return w - off;
    }
    const dnameAt = this.dnameLabel;
    const t = this.t;
    const tFlags = t.templates[tpl * D.TEMPLATE_WORDS + D.TPL_FLAGS]!;
    // QCLASS * (RFC 1035 §3.2.5): the data may not be all there is, so not authoritative.
    const aa = tFlags & D.TPLF_AA && qclass === CLASS_IN ? FLAG_AA : 0;
    const room = limit - (qend - off) - optLen;
    const n = this.place(buf, off, w, tpl, room, qnameLen, -1);
    if (n < 0) return this.truncated(buf, off, w, keep | aa, tFlags & 0xf, edns, ednsDo);
    w += n;
    let an = this.an, ns = this.ns, ar = this.ar, rcode = this.rcode;

    if ((tFlags & D.TPLF_DNAME) !== 0 && dnameAt > 0) {
      // RFC 6672 §3.2: the DNAME, a CNAME from the query name to the substituted name,
      // then the substituted name's own answer when it is served here (as NSD does).
      const ta = tpl * D.TEMPLATE_WORDS;
      const target = qend - off + t.templates[ta + D.TPL_DNAME_TARGET]!; // relative to the message
      const targetLen = nameLen(buf, off + target);
      const prefixLen = this.labels[dnameAt]! - DNS_HEADER_LEN;
      const sLen = prefixLen + targetLen;
      if (sLen > 255) {
        rcode = RCODE_YXDOMAIN; // the substituted name would be too long
      } else {
        const cnameLen = 12 + prefixLen + 2;
        if (w - off + cnameLen > limit - optLen) return this.truncated(buf, off, qend, keep | aa, rcode, edns, ednsDo);
        const ttl = t.templates[ta + D.TPL_EXTRA]!;
        buf[w] = 0xc0; buf[w + 1] = DNS_HEADER_LEN;
        setU16(buf, w + 2, TYPE_CNAME);
        setU16(buf, w + 4, CLASS_IN);
        setU16(buf, w + 6, ttl >>> 16);
        setU16(buf, w + 8, ttl & 0xffff);
        setU16(buf, w + 10, prefixLen + 2);
        const synth = w + 12 - off; // the substituted name, relative to the message
        buf.copyWithin(w + 12, qnameAt, qnameAt + prefixLen);
        buf[w + 12 + prefixLen] = 0xc0 | (target >> 8);
        buf[w + 13 + prefixLen] = target & 0xff;
        w += cnameLen;
        an++;
        // The substituted name, uncompressed, to look it up.
        const sn = this.scratch;
        for (let i = 0; i < prefixLen; i++) sn[i] = buf[qnameAt + i]!;
        for (let i = 0; i < targetLen; i++) sn[prefixLen + i] = buf[off + target + i]!;
        let sLabels = 0;
        for (let i = 0; sn[i] !== 0; i += sn[i]! + 1) this.labels[sLabels++] = i;
        let tpl2 = this.lookupIn(sn, 0, sLen, sLabels, qtype);
        if (tpl2 >= 0 && v6) tpl2 = this.forV6(tpl2);
        if (tpl2 >= 0 && this.dnameLabel < 0) {
          this.synth = synth;
          this.synthPrefix = prefixLen;
          this.synthTarget = target;
          const n2 = this.place(buf, off, w, tpl2, limit - optLen - (w - off), sLen, 1);
          if (n2 < 0) return this.truncated(buf, off, qend, keep | aa, rcode, edns, ednsDo);
          w += n2;
          an += this.an;
          ns = this.ns;
          ar = this.ar;
          rcode = this.rcode;
        }
      }
    }
    if (edns) w = this.opt(buf, w, 0, ednsDo);
    this.header(buf, off, keep | aa, rcode, 1, an, ns, ar + (edns ? 1 : 0));
    if (rcode === RCODE_NXDOMAIN) c[C_NXDOMAIN]!++;
    c[C_ANSWERED]!++;
    return w - off;
  }

  /** The template to use over IPv6: a referral's twin with the AAAA glue first. */
  private forV6(tpl: number): number {
    const a = tpl * D.TEMPLATE_WORDS;
    return this.t.templates[a + D.TPL_FLAGS]! & D.TPLF_V6_TWIN ? this.t.templates[a + D.TPL_EXTRA]! : tpl;
  }

  /** Template for the query name (exact, else by its closest encloser), or -1 outside every zone. */
  private lookup(buf: Uint8Array, at: number, len: number, nLabels: number, qtype: number): number {
    // labels[] hold offsets relative to the message; make them relative to the name.
    for (let i = 0; i < nLabels; i++) this.labels[i]! -= DNS_HEADER_LEN;
    const tpl = this.lookupIn(buf, at, len, nLabels, qtype);
    for (let i = 0; i < nLabels; i++) this.labels[i]! += DNS_HEADER_LEN;
    return tpl;
  }

  /**
   * The lookup over a name at buf[at, at+len) whose label starts (relative to `at`) are in
   * labels[0, nLabels). Sets dnameLabel to the label where a DNAME owner starts, else -1.
   */
  private lookupIn(buf: Uint8Array, at: number, len: number, nLabels: number, qtype: number): number {
    const t = this.t;
    const names = t.names;
    this.dnameLabel = -1;
    const n = t.find(buf, at, len);
    if (n >= 0) {
      const a = n * D.NAME_WORDS;
      const tpl = t.typeTemplate(names[a + D.NAME_TYPES_AT]!, names[a + D.NAME_TYPES_COUNT]!, qtype);
      return tpl >= 0 ? tpl : names[a + D.NAME_EXACT_DEFAULT]!;
    }
    for (let i = 1; i <= nLabels; i++) {
      const start = i < nLabels ? this.labels[i]! : len - 1; // len - 1: the root label
      const e = t.find(buf, at + start, len - start);
      if (e < 0) continue;
      const a = e * D.NAME_WORDS;
      const kind = names[a + D.NAME_DESC_KIND]!;
      if (kind === D.DESC_WILDCARD) {
        const wt = t.typeTemplate(names[a + D.NAME_WILD_AT]!, names[a + D.NAME_WILD_COUNT]!, qtype);
        if (wt >= 0) return wt;
      } else if (kind === D.DESC_DNAME) {
        this.dnameLabel = i;
      }
      return names[a + D.NAME_DESC_TPL]!;
    }
    return -1;
  }

  /**
   * Copies a template to buf[w..] and points its pointers at this message. Additional
   * RRsets that do not fit in `room` are left out, by RRset; when the answer and authority
   * do not fit, returns -1 (the caller truncates). Sets an, ns, ar, rcode.
   *
   * mode -1: the template answers the question: a pointer to 12 stays, every other one
   *          moves by the difference between the query name and the template's Q0.
   * mode  1: the template answers the name a DNAME substituted, written at `synth` as the
   *          query's first labels then a pointer to the DNAME target: pointers into Q0 are
   *          mapped onto those two pieces, pointers inside the template move with it.
   */
  private place(buf: Uint8Array, off: number, w: number, tpl: number, room: number, nameLen: number, mode: number): number {
    const t = this.t;
    const tw = t.templates;
    const blob = t.blob;
    const ta = tpl * D.TEMPLATE_WORDS;
    const tOff = tw[ta + D.TPL_OFF]!;
    let tLen = tw[ta + D.TPL_LEN]!;
    let ar = tw[ta + D.TPL_ARCOUNT]!;
    if (tLen > room) {
      const arAt = tw[ta + D.TPL_AR_AT]!;
      if (arAt > room) return -1;
      // Keep the additional RRsets that fit.
      tLen = arAt;
      ar = 0;
      const sets = tw[ta + D.TPL_ARSETS_OFF]!;
      for (let i = 0, n = tw[ta + D.TPL_ARSETS_COUNT]!; i < n; i++) {
        const end = blob[sets + i * 4]! | (blob[sets + i * 4 + 1]! << 8);
        if (end > room) break;
        tLen = end;
        ar = blob[sets + i * 4 + 2]! | (blob[sets + i * 4 + 3]! << 8);
      }
    }
    // A byte loop, not buf.set(blob.subarray(...)): subarray() allocates a view per call.
    for (let i = 0; i < tLen; i++) buf[w + i] = blob[tOff + i]!;
    const q0Len = tw[ta + D.TPL_Q0_LEN]!;
    const ptrs = tw[ta + D.TPL_PTR_OFF]!;
    const nPtr = tw[ta + D.TPL_PTR_COUNT]!;
    const delta = nameLen - q0Len;
    if (mode < 0 ? delta !== 0 : nPtr > 0) {
      const base0 = DNS_HEADER_LEN + q0Len + 4; // where the template began in a response for Q0
      const here = w - off;
      for (let i = 0; i < nPtr; i++) {
        const pos = blob[ptrs + i * 2]! | (blob[ptrs + i * 2 + 1]! << 8);
        if (pos >= tLen) continue; // in a part left out
        const at = w + pos;
        const v = ((buf[at]! & 0x3f) << 8) | buf[at + 1]!;
        let nv: number;
        if (mode < 0) {
          if (v === DNS_HEADER_LEN) continue;
          nv = v + delta;
        } else if (v >= base0) {
          nv = here + (v - base0);
        } else {
          const k = v === DNS_HEADER_LEN ? 0 : v - DNS_HEADER_LEN + delta;
          nv = k < this.synthPrefix ? this.synth + k : this.synthTarget + (k - this.synthPrefix);
        }
        buf[at] = 0xc0 | (nv >> 8);
        buf[at + 1] = nv & 0xff;
      }
    }
    this.an = tw[ta + D.TPL_COUNTS]! >>> 16;
    this.ns = tw[ta + D.TPL_COUNTS]! & 0xffff;
    this.ar = ar;
    this.rcode = tw[ta + D.TPL_FLAGS]! & 0xf;
    return tLen;
  }

  /** TC=1: the header and question (and OPT), no records; the client retries over TCP. */
  private truncated(buf: Uint8Array, off: number, qend: number, flags: number, rcode: number, edns: boolean, ednsDo: number): number {
    this.counters[C_TRUNCATED]!++;
    let w = qend;
    this.header(buf, off, flags | FLAG_TC, rcode, 1, 0, 0, edns ? 1 : 0);
    if (edns) w = this.opt(buf, w, 0, ednsDo);
    return w - off;
  }

  private header(buf: Uint8Array, off: number, flags: number, rcode: number, qd: number, an: number, ns: number, ar: number): void {
    setU16(buf, off + 2, FLAG_QR | flags | rcode);
    setU16(buf, off + 4, qd);
    setU16(buf, off + 6, an);
    setU16(buf, off + 8, ns);
    setU16(buf, off + 10, ar);
  }

  /** An OPT RR (RFC 6891 §6.1.2): our UDP size, the extended RCODE's upper bits, DO echoed. */
  private opt(buf: Uint8Array, w: number, extRcode: number, dnssecOk: number): number {
    buf[w] = 0;
    setU16(buf, w + 1, TYPE_OPT);
    setU16(buf, w + 3, D.EDNS_UDP_SIZE);
    buf[w + 5] = extRcode;
    buf[w + 6] = 0; // version 0
    setU16(buf, w + 7, dnssecOk);
    setU16(buf, w + 9, 0);
    return w + D.OPT_RR_LEN;
  }

  private headerOnly(buf: Uint8Array, off: number, keep: number, rcode: number): number {
    this.header(buf, off, keep, rcode, 0, 0, 0, 0);
    return DNS_HEADER_LEN;
  }

  private formerr(buf: Uint8Array, off: number, keep: number): number {
    this.counters[C_FORMERR]!++;
    return this.headerOnly(buf, off, keep, RCODE_FORMERR);
  }
}

function nameLen(buf: Uint8Array, at: number): number {
  let i = at;
  while (buf[i] !== 0) i += buf[i]! + 1;
  return i - at + 1;
}
