// The DNS responder: one query in, its answer out, in place, from the image's templates.
//
// RFC 1035 §4.1 (messages), RFC 1034 §4.3.2 (the lookup, done at build time; here only the
// closest-encloser walk), RFC 6891 (EDNS(0)), RFC 6672 (DNAME), RFC 8482 (ANY), RFC 7766
// (TCP), RFC 4892 and NSD's answer_chaos() (query.c) for the CHAOS TXT names. It knows
// payloads only: the transports (kernel sockets, the fused stack) hand it the query's bytes
// in a buffer with room after them and send what it leaves there.
//
// The answer is written over the query: the header is patched, the question stays where
// it is (so it goes back byte for byte, case included: DNS 0x20), and the template is
// copied after it, its pointers moved when the query name is longer or shorter than the
// template's reference name, then the OPT record. No allocation per query, but one view for an answer of 256 bytes or more (place()).
//
// For response rate limiting (rrl.ts) each UDP answer is also classified as NSD's
// rrl_classify() does (rrlClass, rrlName: what the transport hands to decide()), and
// slip() cuts an answer to what NSD sends for a limited one (TC=1, no records).
//
// CHAOS class (NSD's answer_chaos(), NSD 4.6.1): TXT or ANY for id.server and hostname.bind
// gets the server's identity, for version.server and version.bind its version, as one TXT
// record of class CH, TTL 0, owner a pointer to the question, AA clear; a hidden one (null),
// any other CH name or type: REFUSED with the question. The record is built when the
// strings are set (setChaos), so the answer is one copy. NSD also puts an Extended DNS
// Error (RFC 8914: 18 Prohibited, 21 Not Supported) in the OPT of those REFUSED answers;
// the responder gives no EDE anywhere.

import * as D from '../../specializers/dns/layout.js';
import {
  DnsHeaderView, DNS_HEADER_LEN, EDNS_DO, FLAG_AA, FLAG_CD, FLAG_QR, FLAG_RD, FLAG_TC, OPCODE_QUERY, OPCODE_SHIFT, OPCODE_MASK,
  RCODE_BADVERS, RCODE_FORMERR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL, RCODE_YXDOMAIN, TYPE_OPT, setU16, u16,
} from '../wire/dns.js';
import { copyBytes } from '../../basics/bytes.js';
import { UsageError } from '../../basics/errors.js';
import { nameToText } from '../../specializers/dns/dns-name.js';
import { LOWER, WARM_BATCH, type DnsTables } from './tables.js';
import { DenialRecords } from './denial.js';
import {
  RRL_ANY, RRL_DNSKEY, RRL_ERROR, RRL_NAME_MASK, RRL_NODATA, RRL_NONE, RRL_NXDOMAIN, RRL_POSITIVE, RRL_REFERRAL, RRL_RRSIG,
  RRL_WILDCARD,
} from './rrl.js';

export const TRANSPORT_UDP = 0;
export const TRANSPORT_TCP = 1;

/** Largest DNS message (TCP's two-byte length; RFC 7766). */
export const MAX_MESSAGE = 65535;
/** UDP without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;

const CLASS_IN = 1;
const CLASS_CH = 3;
const TYPE_TXT = 16;
const OPCODE_NOTIFY = 4;
const CLASS_ANY = 255;
const QTYPE_ANY = 255;
const QTYPE_IXFR = 251;
const QTYPE_AXFR = 252;
const TYPE_CNAME = 5;
const TYPE_DS = 43;
const TYPE_RRSIG = 46;
/** Templates this long or longer are copied by set() (place()). */
const LONG_COPY = 256;
const TYPE_DNSKEY = 48;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TYPE_TSIG = 250;
const RCODE_NOTAUTH = 9;
/** TSIG error BADKEY (RFC 8945 §5.2.1). */
const TSIG_BADKEY = 17;
const MAX_LABELS = 128;
/** The shortest query: a header and a question for the root (NSD drops shorter TCP messages). */
const MIN_QUERY_LEN = DNS_HEADER_LEN + 1 + 4;

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
export const C_NOTAUTH = 11; // TSIG-signed queries (no keys here) and zone transfers of names we do not serve
export const C_CHAOS = 12; // CHAOS TXT answers given (identity, version); also counted as answered
export const C_SERVFAIL = 13; // queries under a secondary zone that has no data to serve (not transferred yet, or expired)
export const C_NOTIFY = 14; // NOTIFY for a secondary zone from one of its primaries, taken (NOERROR)
export const DNS_COUNTERS = 15;
export const DNS_COUNTER_NAMES = [
  'queries', 'answered', 'drop_short', 'drop_response', 'formerr', 'notimp', 'refused', 'nxdomain', 'truncated', 'badvers', 'edns',
  'notauth', 'chaos', 'servfail', 'notify',
];

/**
 * What CHAOS TXT queries are answered with (NSD's identity and version options): a string
 * of at most 255 bytes in UTF-8, or null for hidden (NSD's hide-identity, hide-version:
 * REFUSED).
 */
export interface ChaosStrings {
  /** For id.server and hostname.bind. NSD's default: the host name. */
  identity: string | null;
  /** For version.server and version.bind. NSD's default: "NSD 4.6.1"; ours "appliance " + the package version. */
  version: string | null;
}

/** Both hidden: every CHAOS query REFUSED. The responder's default (it cannot know the host). */
export const CHAOS_HIDDEN: ChaosStrings = Object.freeze({ identity: null, version: null });

export interface DnsResponderOptions {
  /** Default CHAOS_HIDDEN; see setChaos(). */
  chaos?: ChaosStrings;
}

/**
 * The command-line choice (--identity, --hide-identity, --version-string, --hide-version)
 * as ChaosStrings, NSD's way: hidden wins over a string given; unset is the default,
 * `hostname` (os.hostname()) and "appliance <toolVersion>". Throws a UsageError for a
 * string too long for a TXT record.
 */
export function chaosStrings(
  o: { identity?: string; hideIdentity?: boolean; versionString?: string; hideVersion?: boolean }, hostname: string, toolVersion: string,
): ChaosStrings {
  const chaos = {
    identity: o.hideIdentity ? null : o.identity ?? hostname,
    version: o.hideVersion ? null : o.versionString ?? `appliance ${toolVersion}`,
  };
  checkChaos(chaos);
  return chaos;
}

/** Throws a UsageError when a string cannot go in one TXT string (RFC 1035 §3.3.14: 255 bytes). */
export function checkChaos(chaos: ChaosStrings): void {
  chaosRecord(chaos.identity, 'identity', '--identity');
  chaosRecord(chaos.version, 'version string', '--version-string');
}

export class DnsResponder {
  /** The query's header, then the response's (rewritten in place). */
  private readonly hdr = new DnsHeaderView();
  /** Start of each label of the query name (relative to the name). */
  private readonly labels = new Int32Array(MAX_LABELS);
  /** A name a DNAME substituted, uncompressed, for its lookup; a TSIG key name. */
  private readonly scratch = new Uint8Array(256);
  /** The query name, lower-cased, for the lookups (and a view to compare it by words). */
  private readonly lowered = new Uint8Array(256);
  private readonly loweredView = new DataView(this.lowered.buffer);
  /** A TSIG algorithm name. */
  private readonly scratch2 = new Uint8Array(256);
  /** Length of the name readName() last wrote. */
  private nameOut = 0;
  // Results of lookup() and place(), kept in fields: no objects per query.
  private dnameLabel = -1;
  /** Set by lookupIn(): the label where the closest encloser starts when the name does not exist, else 0. */
  private ceLabel = 0;
  /** The signed zones' denial records, searched for a name they do not have. */
  private readonly den: DenialRecords;
  private an = 0;
  private ns = 0;
  private ar = 0;
  private rcode = 0;
  // place() mode 1: where the substituted name is (relative to the message).
  private synth = 0;
  private synthPrefix = 0;
  private synthTarget = 0;

  /**
   * For response rate limiting (rrl.ts), after answer() over UDP: the class of the answer
   * (RRL_*, as NSD's rrl_classify(); RRL_NONE after a drop or over TCP) and the hash of
   * the name that class is about (0: none): FNV-1a of the lower-cased wire name, as the
   * name table's, cut to RRL_NAME_MASK (a small integer: never a heap number). Give both to
   * ResponseRateLimiter.decide().
   */
  rrlClass = RRL_NONE;
  rrlName = 0;
  /**
   * After answer(): the zone a NOTIFY answered NOERROR was for, else -1. The server then
   * checks the source (one of the zone's primaries, or notifyRefused()) and tells the
   * secondary's manager.
   */
  notified = -1;
  // What the classification needs from the lookups, reset per query (NSD's query fields:
  // q->zone, q->delegation_domain, q->wildcard_domain, q->qname).
  /** The zone of the query name's lookup, -1 when none (REFUSED, or no lookup). */
  private rZone = -1;
  /** The delegation point of the last lookup (NSD overwrites it per lookup, a DNAME's too). */
  private rDeleg = 0;
  private rHasDeleg = false;
  /** The wildcard a lookup went through ("*." + closest encloser). */
  private rWild = 0;
  private rHasWild = false;
  /** The full name's hash and the name record found (exact or closest encloser), of the last lookupIn(). */
  private lastHash = 0;
  private lastRec = -1;
  /** The query name's hash, when its lookup ran. */
  private rQname = 0;
  private rHasQname = false;
  /** The question's qtype and name length, -1 when no question was read. */
  private rQtype = -1;
  private rQnameLen = 0;
  /** Where the OPT record of the answer starts (relative to the message), -1 when none. */
  private optAt = -1;
  private msgAt = 0;
  /** The CHAOS TXT records (owner a pointer to the question), null when hidden; see setChaos(). */
  private identityRr: Uint8Array | null = null;
  private versionRr: Uint8Array | null = null;

  constructor(public t: DnsTables, readonly counters: Float64Array = new Float64Array(DNS_COUNTERS), o: DnsResponderOptions = {}) {
    this.den = new DenialRecords();
    this.setChaos(o.chaos ?? CHAOS_HIDDEN);
  }

  /**
   * Sets what id.server / hostname.bind and version.server / version.bind CH TXT answer
   * (null: REFUSED). Builds the records now, not per query; throws a UsageError for a
   * string over 255 bytes (checkChaos()), leaving the old ones in place.
   */
  setChaos(chaos: ChaosStrings): void {
    const id = chaosRecord(chaos.identity, 'identity', '--identity');
    const version = chaosRecord(chaos.version, 'version string', '--version-string');
    this.identityRr = id;
    this.versionRr = version;
  }

  // warm()'s per-query hashes and qtypes.
  private readonly wHash = new Int32Array(WARM_BATCH);
  private readonly wQtype = new Uint16Array(WARM_BATCH);

  /**
   * Before a batch of queries is answered: reads ahead the table lines their lookups will
   * miss in a big zone (DnsTables.warm). Queries at buf[offs[k], offs[k] + lens[k]); what
   * is not a plain query is passed over (answer() judges it). Changes nothing: the answers
   * are the same with or without it. A no-op for a zone that fits the caches.
   */
  warm(buf: Uint8Array, offs: Int32Array, lens: Int32Array | Uint32Array, count: number): void {
    const t = this.t;
    if (!t.warmPays || count < 2) return;
    const n = Math.min(count, WARM_BATCH);
    const hs = this.wHash, qt = this.wQtype, lower = LOWER;
    for (let k = 0; k < n; k++) {
      const off = offs[k]!, end = off + lens[k]!;
      hs[k] = -1;
      // A query (QR clear) with one question.
      if (end - off < DNS_HEADER_LEN + 5 || (buf[off + 2]! & 0x80) !== 0 || buf[off + 4] !== 0 || buf[off + 5] !== 1) continue;
      // The name's hash as lookupIn() makes it: over its lower-cased wire bytes, with the root label.
      let h = FNV_OFFSET, p = off + DNS_HEADER_LEN;
      const stop = Math.min(end, p + 255);
      while (p < stop) {
        const l = buf[p]!;
        if (l === 0 || l > 63 || p + l >= stop) break;
        for (let i = p, e = p + l + 1; i < e; i++) h = Math.imul(h ^ lower[buf[i]!]!, FNV_PRIME);
        p += l + 1;
      }
      if (p + 2 >= end || buf[p] !== 0) continue;
      hs[k] = Math.imul(h, FNV_PRIME); // the root label's zero byte
      qt[k] = (buf[p + 1]! << 8) | buf[p + 2]!;
    }
    t.warm(hs, qt, n);
  }

  /**
   * Answers the query at buf[off, off+len) in place. `cap` is how many bytes from `off`
   * may be written; `v6`: the query came over IPv6 (referral glue then lists AAAA first,
   * as NSD does). Returns the response length, or -1 to drop the packet. Over UDP it
   * also leaves rrlClass and rrlName set for the answer (see slip()).
   */
  answer(buf: Uint8Array, off: number, len: number, cap: number, transport: number, v6 = false): number {
    this.notified = -1;
    this.rZone = -1;
    this.rHasDeleg = false;
    this.rHasWild = false;
    this.rHasQname = false;
    this.rQtype = -1;
    this.optAt = -1;
    this.msgAt = off;
    const n = this.respond(buf, off, len, cap, transport, v6);
    if (n < 0 || transport !== TRANSPORT_UDP) {
      this.rrlClass = RRL_NONE;
      this.rrlName = 0;
    } else {
      this.classify(buf, off);
    }
    return n;
  }

  /**
   * The answer just written at buf[off..], cut to what NSD's rrl_slip() sends for a limited
   * answer: the header with TC=1 (flags and rcode as they were), the question if the answer
   * had it, no records, and the OPT record again when there was one (NSD adds it back after
   * rrl_slip(): query_add_optional). In place; returns the new length. Call it right after
   * answer() over UDP, with the same buffer and offset, and only when that returned > 0.
   */
  slip(buf: Uint8Array, off: number): number {
    const qd = u16(buf, off + 4);
    let w = qd === 1 ? off + DNS_HEADER_LEN + this.rQnameLen + 4 : off + DNS_HEADER_LEN;
    buf[off + 2]! |= FLAG_TC >> 8;
    setU16(buf, off + 6, 0);
    setU16(buf, off + 8, 0);
    setU16(buf, off + 10, this.optAt >= 0 ? 1 : 0);
    if (this.optAt >= 0) {
      // Our OPT record carries no options: 11 bytes, never before the question's end.
      const from = off + this.optAt;
      if (from !== w) for (let i = 0; i < D.OPT_RR_LEN; i++) buf[w + i] = buf[from + i]!;
      w += D.OPT_RR_LEN;
    }
    return w - off;
  }

  /**
   * NSD's rrl_classify() (rrl.c), in its order, from the response header and what the
   * lookups found: NXDOMAIN and other rcodes by the zone, then referrals by the delegation
   * point, ANY and RRSIG queries by the name, wildcard answers by the wildcard, empty
   * answers (NODATA) by the zone, DNSKEY and the rest (positive) by the query name.
   */
  private classify(buf: Uint8Array, off: number): void {
    const rcode = buf[off + 3]! & 0xf;
    let cls: number, name: number;
    if (rcode === RCODE_NXDOMAIN) {
      cls = RRL_NXDOMAIN;
      name = this.zoneHash();
    } else if (rcode !== 0) {
      cls = RRL_ERROR;
      name = this.zoneHash();
    } else if (this.rHasDeleg) {
      cls = RRL_REFERRAL;
      name = this.rDeleg;
    } else if (this.rQtype === QTYPE_ANY) {
      cls = RRL_ANY;
      name = this.qnameHash(buf, off);
    } else if (this.rQtype === TYPE_RRSIG) {
      cls = RRL_RRSIG;
      name = this.qnameHash(buf, off);
    } else if (this.rHasWild) {
      cls = RRL_WILDCARD;
      name = this.rWild;
    } else if (u16(buf, off + 6) === 0) {
      cls = RRL_NODATA;
      name = this.zoneHash();
    } else {
      cls = this.rQtype === TYPE_DNSKEY ? RRL_DNSKEY : RRL_POSITIVE;
      name = this.qnameHash(buf, off);
    }
    this.rrlClass = cls;
    this.rrlName = name;
  }

  /** The hash of the apex of the query's zone, 0 when there is none. */
  private zoneHash(): number {
    if (this.rZone < 0) return 0;
    const t = this.t;
    return t.names[t.zones[this.rZone * D.ZONE_WORDS + D.ZONE_NAME]! * D.NAME_WORDS + D.NAME_HASH]! & RRL_NAME_MASK;
  }

  /** The hash of the query name: the lookup's, or (no lookup ran: BADVERS) hashed here. */
  private qnameHash(buf: Uint8Array, off: number): number {
    if (this.rQtype < 0) return 0;
    if (this.rHasQname) return this.rQname;
    const lower = LOWER;
    let h = FNV_OFFSET;
    for (let i = off + DNS_HEADER_LEN, end = i + this.rQnameLen; i < end; i++) h = Math.imul(h ^ lower[buf[i]!]!, FNV_PRIME);
    return h & RRL_NAME_MASK;
  }

  private respond(buf: Uint8Array, off: number, len: number, cap: number, transport: number, v6: boolean): number {
    const c = this.counters;
    c[C_QUERIES]!++;
    // Nothing to answer to: no header, or (TCP) too short to hold a question (NSD closes
    // such a connection; the transport does when we drop), or no room for any answer.
    const hdr = this.hdr.wrap(buf, off, len);
    if (!hdr.check() || cap < len || (transport === TRANSPORT_TCP && len < MIN_QUERY_LEN)) {
      c[C_DROP_SHORT]!++;
      return -1;
    }
    const flags = hdr.flags;
    if (flags & FLAG_QR) {
      c[C_DROP_RESPONSE]!++;
      return -1;
    }
    const opcode = (flags >> OPCODE_SHIFT) & OPCODE_MASK;
    const keep = flags & (FLAG_RD | FLAG_CD | (OPCODE_MASK << OPCODE_SHIFT));
    // The checks below run in NSD's order (query.c, query_process), so that both servers
    // give the same rcode to the same malformed query.
    if (opcode !== OPCODE_QUERY && opcode !== OPCODE_NOTIFY) {
      c[C_NOTIMP]!++;
      return this.headerOnly(keep, RCODE_NOTIMP);
    }
    // An RCODE in a query is malformed (as NSD).
    if ((flags & 0xf) !== 0) return this.formerr(keep);

    // The question name: labels only (a pointer cannot point back from the first name).
    // It is read whatever QDCOUNT says, as NSD does: a message that cannot hold one is FORMERR.
    const end = off + len;
    const labels = this.labels;
    let nLabels = 0;
    let p = off + DNS_HEADER_LEN;
    for (;;) {
      if (p >= end) return this.formerr(keep);
      const l = buf[p]!;
      if (l === 0) break;
      if (l > 63 || nLabels === MAX_LABELS - 1) return this.formerr(keep);
      labels[nLabels++] = p - (off + DNS_HEADER_LEN); // relative to the name
      p += l + 1;
    }
    const qnameLen = p + 1 - (off + DNS_HEADER_LEN);
    if (qnameLen > 255 || p + 5 > end) return this.formerr(keep);
    const qtype = u16(buf, p + 1);
    const qclass = u16(buf, p + 3);
    const qend = p + 5; // absolute
    this.rQtype = qtype;
    this.rQnameLen = qnameLen;

    if (opcode === OPCODE_NOTIFY) return this.notify(buf, off, qnameLen, qend, keep);
    const anIn = u16(buf, off + 6);
    const nsIn = u16(buf, off + 8);
    const arIn = u16(buf, off + 10);
    if (u16(buf, off + 4) !== 1) return this.noQuestion(buf, off, end, keep, anIn, nsIn, arIn);
    // A query carries no answer, nor authority but an IXFR's SOA (RFC 1995 §3).
    if (anIn !== 0 || (nsIn !== 0 && qtype !== QTYPE_IXFR)) return this.formerr(keep);

    // The authority records of an IXFR are skipped; the additional section may hold one
    // OPT (RFC 6891 §6.1.1) and a TSIG, last (RFC 8945 §5.1); anything else is FORMERR.
    let edns = false, ednsVersion = 0, ednsDo = 0, udpSize = CLASSIC_UDP_SIZE;
    let tsigAt = -1;
    let q = qend;
    for (let i = 0, n = nsIn + arIn; i < n; i++) {
      const rrAt = q;
      q = skipName(buf, q, end);
      if (q < 0 || q + 10 > end) return this.formerr(keep);
      const type = u16(buf, q);
      const rdlen = u16(buf, q + 8);
      if (q + 10 + rdlen > end) return this.formerr(keep);
      if (i >= nsIn) {
        if (type === TYPE_OPT) {
          if (edns || tsigAt >= 0 || buf[rrAt] !== 0 || !optionsFit(buf, q + 10, q + 10 + rdlen)) return this.formerr(keep);
          edns = true;
          udpSize = u16(buf, q + 2);
          ednsVersion = buf[q + 5]!;
          ednsDo = u16(buf, q + 6) & EDNS_DO;
        } else if (type === TYPE_TSIG && i === n - 1) {
          tsigAt = rrAt;
        } else {
          return this.formerr(keep);
        }
      }
      q += 10 + rdlen;
    }
    if (edns) c[C_EDNS]!++;

    // The answer goes after the question, over whatever followed it.
    let limit = transport === TRANSPORT_TCP ? MAX_MESSAGE : edns ? Math.min(Math.max(udpSize, CLASSIC_UDP_SIZE), D.EDNS_UDP_SIZE) : CLASSIC_UDP_SIZE;
    if (limit > cap) limit = cap;
    const optLen = edns ? D.OPT_RR_LEN : 0;
    let w = qend;
    // Every write below stays inside `cap`: an OPT after the question fits where the
    // query's own OPT was (cap >= len), and templates are cut at `limit` (<= cap).
    if (tsigAt >= 0) return this.tsigBadKey(buf, off, end, tsigAt, keep, edns, ednsDo, limit);
    if (edns && ednsVersion !== 0) {
      // RFC 6891 §6.1.3. The DO bit is echoed here too (RFC 3225 §3; NSD does not).
      c[C_BADVERS]!++;
      this.header(keep, RCODE_BADVERS & 0xf, 1, 0, 0, 1);
      return this.opt(buf, w, RCODE_BADVERS >> 4, ednsDo) - off;
    }
    if (qclass !== CLASS_IN && qclass !== CLASS_ANY) {
      // CHAOS: NSD's answer_chaos() (before its zone transfer checks, so CH AXFR is REFUSED).
      const rr = qclass === CLASS_CH && (qtype === TYPE_TXT || qtype === QTYPE_ANY) ? this.chaosAnswer(buf, off + DNS_HEADER_LEN, qnameLen) : null;
      if (rr !== null) {
        // At most 12 + 16 + 4 + 268 + 11 = 311 bytes: within 512, as NSD assumes (it never
        // truncates these); only a smaller `cap` can cut it.
        if (qend - off + rr.length + optLen > limit) return this.truncated(buf, off, qend, keep, 0, edns, ednsDo);
        for (let i = 0; i < rr.length; i++) buf[w + i] = rr[i]!;
        w += rr.length;
        if (edns) w = this.opt(buf, w, 0, ednsDo);
        this.header(keep, 0, 1, 1, 0, edns ? 1 : 0);
        c[C_CHAOS]!++;
        c[C_ANSWERED]!++;
        return w - off;
      }
      // REFUSED, as NSD: with the question for CHAOS (a name it does not answer, another
      // type, or the string hidden), without it for any other class.
      c[C_REFUSED]!++;
      const qd = qclass === CLASS_CH ? 1 : 0;
      if (qd === 0) w = off + DNS_HEADER_LEN;
      this.header(keep, RCODE_REFUSED, qd, 0, 0, edns ? 1 : 0);
      if (edns) w = this.opt(buf, w, 0, ednsDo);
      return w - off;
    }
    if (qtype === QTYPE_AXFR || qtype === QTYPE_IXFR) {
      // No zone transfers here, answered as NSD without provide-xfr: AXFR over UDP is not
      // implemented (RFC 5936 §4.2); otherwise REFUSED for a zone we serve, NOTAUTH else.
      let rcode: number;
      if (qtype === QTYPE_AXFR && transport === TRANSPORT_UDP) {
        rcode = RCODE_NOTIMP;
        c[C_NOTIMP]!++;
      } else if (this.isApex(buf, off + DNS_HEADER_LEN, qnameLen)) {
        rcode = RCODE_REFUSED;
        c[C_REFUSED]!++;
      } else {
        rcode = RCODE_NOTAUTH;
        c[C_NOTAUTH]!++;
      }
      this.header(keep, rcode, 1, 0, 0, edns ? 1 : 0);
      if (edns) w = this.opt(buf, w, 0, ednsDo);
      return w - off;
    }

    // The lookup: the name itself, else its closest existing ancestor.
    const qnameAt = off + DNS_HEADER_LEN;
    let tpl = this.lookup(buf, qnameAt, qnameLen, nLabels, qtype);
    this.rQname = this.lastHash;
    this.rHasQname = true;
    if (tpl >= 0) {
      const rec = this.lastRec * D.NAME_WORDS;
      this.rZone = this.t.names[rec + D.NAME_ZONE]!;
      if (this.t.names[rec + D.NAME_FLAGS]! & D.NAME_FLAG_SERVFAIL) {
        // A secondary with nothing to serve: SERVFAIL with the question, not authoritative (NSD's answer for a zone it has not got or let expire).
        c[C_SERVFAIL]!++;
        this.header(keep, RCODE_SERVFAIL, 1, 0, 0, edns ? 1 : 0);
        if (edns) w = this.opt(buf, w, 0, ednsDo);
        return w - off;
      }
    }
    if (tpl >= 0 && ednsDo) tpl = this.forDo(tpl);
    if (tpl >= 0 && v6) tpl = this.forV6(tpl);
    if (tpl < 0) {
      // Under no zone served here.
      c[C_REFUSED]!++;
      this.header(keep, RCODE_REFUSED, 1, 0, 0, edns ? 1 : 0);
      if (edns) w = this.opt(buf, w, 0, ednsDo);
      return w - off;
    }
    const dnameAt = this.dnameLabel;
    const t = this.t;
    const tFlags = t.templates[tpl * D.TEMPLATE_WORDS + D.TPL_FLAGS]!;
    // QCLASS * (RFC 1035 §3.2.5): the data may not be all there is, so not authoritative.
    const aa = tFlags & D.TPLF_AA && qclass === CLASS_IN ? FLAG_AA : 0;
    const room = limit - (qend - off) - optLen;
    let n = this.place(buf, off, w, tpl, room, qnameLen, -1);
    if (n >= 0 && tFlags & D.TPLF_SPLICE && this.ceLabel > 0) n = this.splice(buf, off, w, n, tpl, room, qnameAt, nLabels, qnameLen);
    if (n < 0) return this.truncated(buf, off, w, keep | aa, tFlags & 0xf, edns, ednsDo);
    w += n;
    let an = this.an, ns = this.ns, ar = this.ar, rcode = this.rcode;

    if ((tFlags & D.TPLF_DNAME) !== 0 && dnameAt > 0) {
      // RFC 6672 §3.2: the DNAME, a CNAME from the query name to the substituted name,
      // then the substituted name's own answer when it is served here (as NSD does).
      const ta = tpl * D.TEMPLATE_WORDS;
      const target = qend - off + t.templates[ta + D.TPL_DNAME_TARGET]!; // relative to the message
      const targetLen = nameLen(buf, off + target);
      const prefixLen = this.labels[dnameAt]!;
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
        // A target in a secondary zone with nothing to serve: the CNAME alone (no answer from a stub or an expired copy).
        if (tpl2 >= 0 && this.t.names[this.lastRec * D.NAME_WORDS + D.NAME_FLAGS]! & D.NAME_FLAG_SERVFAIL) tpl2 = -1;
        if (tpl2 >= 0 && ednsDo) tpl2 = this.forDo(tpl2);
        if (tpl2 >= 0 && v6) tpl2 = this.forV6(tpl2);
        if (tpl2 >= 0 && this.dnameLabel < 0) {
          this.synth = synth;
          this.synthPrefix = prefixLen;
          this.synthTarget = target;
          const room2 = limit - optLen - (w - off);
          let n2 = this.place(buf, off, w, tpl2, room2, sLen, 1);
          if (n2 >= 0 && t.templates[tpl2 * D.TEMPLATE_WORDS + D.TPL_FLAGS]! & D.TPLF_SPLICE && this.ceLabel > 0) {
            n2 = this.splice(buf, off, w, n2, tpl2, room2, -1, sLabels, sLen);
          }
          // Truncated with the target's rcode (an NXDOMAIN stays one, as NSD sets it before it runs out of room).
          if (n2 < 0) return this.truncated(buf, off, qend, keep | aa, t.templates[tpl2 * D.TEMPLATE_WORDS + D.TPL_FLAGS]! & 0xf, edns, ednsDo);
          w += n2;
          an += this.an;
          ns = this.ns;
          ar = this.ar;
          rcode = this.rcode;
        }
      }
    }
    if (edns) w = this.opt(buf, w, 0, ednsDo);
    this.header(keep | aa, rcode, 1, an, ns, ar + (edns ? 1 : 0));
    if (rcode === RCODE_NXDOMAIN) c[C_NXDOMAIN]!++;
    c[C_ANSWERED]!++;
    return w - off;
  }

  /**
   * The CHAOS TXT record for the query name at buf[at, at+len) (case-insensitive, as NSD
   * compares its lower-cased qname): the identity's or the version's, or null (not one of
   * the four names, or hidden).
   */
  private chaosAnswer(buf: Uint8Array, at: number, len: number): Uint8Array | null {
    if (len === CH_ID_SERVER.length) return sameName(buf, at, CH_ID_SERVER) ? this.identityRr : null;
    if (len === CH_HOSTNAME_BIND.length) return sameName(buf, at, CH_HOSTNAME_BIND) ? this.identityRr : null;
    if (len === CH_VERSION_SERVER.length) return sameName(buf, at, CH_VERSION_SERVER) ? this.versionRr : null;
    if (len === CH_VERSION_BIND.length) return sameName(buf, at, CH_VERSION_BIND) ? this.versionRr : null;
    return null;
  }

  /** The template to use for a query with the DO bit: a signed zone's twin with its RRSIGs and denial records. */
  private forDo(tpl: number): number {
    return this.t.templates[tpl * D.TEMPLATE_WORDS + D.TPL_FLAGS]! & D.TPLF_DO_NEXT ? tpl + 1 : tpl;
  }

  /**
   * Puts the denial record that depends on the query name (the NSEC covering it, or the
   * NSEC3 covering its next closer name) into the template just placed at buf[w, w+tLen),
   * where its splice descriptor says, unless the template has that record already. The
   * name is this.lowered[0, nameLen) with labels this.labels[0, nLabels), the closest
   * encloser at label this.ceLabel; when q >= 0 it is also the question at buf[q] and the
   * owner is compressed against it. Returns the template's new length, or -1 when it no
   * longer fits in `room`.
   */
  private splice(buf: Uint8Array, off: number, w: number, tLen: number, tpl: number, room: number, q: number, nLabels: number, nameLen: number): number {
    const t = this.t;
    const blob = t.blob;
    const s = t.templates[tpl * D.TEMPLATE_WORDS + D.TPL_EXTRA]!;
    const at = blob[s]! | (blob[s + 1]! << 8);
    const zone = t.names[this.lastRec * D.NAME_WORDS + D.NAME_ZONE]!;
    const den = this.den;
    let e: number;
    // The descriptor's kind must be the zone's (the loader checks both; this keeps a mismatch from reading the other kind's words).
    const zf = t.zones[zone * D.ZONE_WORDS + D.ZONE_FLAGS]!;
    if (!(zf & (blob[s + 2] === D.SPLICE_NSEC_COVER ? D.ZONE_FLAG_NSEC : D.ZONE_FLAG_NSEC3))) return tLen;
    if (blob[s + 2] === D.SPLICE_NSEC_COVER) {
      e = den.nsecCover(t, zone, this.lowered, this.labels, nLabels);
    } else {
      const start = this.labels[this.ceLabel - 1]!;
      e = den.nsec3Cover(t, zone, this.lowered, start, nameLen - start);
    }
    if (e < 0) return tLen;
    const local = e - t.zones[zone * D.ZONE_WORDS + D.ZONE_DENIAL_AT]! + 1;
    for (let i = 0, have = blob[s + 3]!; i < have; i++) if (u32le(blob, s + D.SPLICE_HEAD + 4 * i) === local) return tLen;
    const n = den.size(t, buf, off, e, w + at - off, q, this.labels, nLabels);
    if (tLen + n > room) return -1;
    buf.copyWithin(w + at + n, w + at, w + tLen);
    den.write(t, buf, off, w + at, e, q, this.labels, nLabels);
    // Pointers in the part that moved, to names that moved with it, follow them.
    const ta = tpl * D.TEMPLATE_WORDS;
    const ptrs = t.templates[ta + D.TPL_PTR_OFF]!;
    const from = w - off + at; // where the moved part began, relative to the message
    for (let i = 0, count = t.templates[ta + D.TPL_PTR_COUNT]!; i < count; i++) {
      const pos = blob[ptrs + i * 2]! | (blob[ptrs + i * 2 + 1]! << 8);
      if (pos < at || pos >= tLen) continue;
      const p = w + pos + n;
      const v = ((buf[p]! & 0x3f) << 8) | buf[p + 1]!;
      if (v < from) continue;
      buf[p] = 0xc0 | ((v + n) >> 8);
      buf[p + 1] = (v + n) & 0xff;
    }
    this.ns += den.count(t, e);
    return tLen + n;
  }

  /** The template to use over IPv6: a referral's twin with the AAAA glue first. */
  private forV6(tpl: number): number {
    const a = tpl * D.TEMPLATE_WORDS;
    return this.t.templates[a + D.TPL_FLAGS]! & D.TPLF_V6_TWIN ? this.t.templates[a + D.TPL_EXTRA]! : tpl;
  }

  /** Template for the query name (exact, else by its closest encloser), or -1 outside every zone. */
  private lookup(buf: Uint8Array, at: number, len: number, nLabels: number, qtype: number): number {
    return this.lookupIn(buf, at, len, nLabels, qtype);
  }

  /**
   * The lookup over a name at buf[at, at+len) whose label starts (relative to `at`) are in
   * labels[0, nLabels). Sets dnameLabel to the label where a DNAME owner starts, else -1.
   */
  private lookupIn(buf: Uint8Array, at: number, len: number, nLabels: number, qtype: number): number {
    const t = this.t;
    const names = t.names;
    this.dnameLabel = -1;
    // Lower-cased once here, hashed on the way; the name and then its suffixes are looked
    // up in that copy.
    const low = this.lowered;
    const lowView = this.loweredView;
    const lower = LOWER; // a local: an imported binding is checked on every read
    let h = 0x811c9dc5;
    for (let i = 0; i < len; i++) {
      const c = lower[buf[at + i]!]!;
      low[i] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    const n = t.findHashed(low, lowView, 0, len, h >>> 0);
    this.lastHash = h & RRL_NAME_MASK;
    this.ceLabel = 0;
    // An NSEC3 owner (NAME_FLAG_ABSENT) is looked past, here and as an ancestor below.
    const f = n >= 0 ? names[n * D.NAME_WORDS + D.NAME_FLAGS]! : D.NAME_FLAG_ABSENT;
    if (!(f & D.NAME_FLAG_ABSENT)) {
      const a = n * D.NAME_WORDS;
      this.lastRec = n;
      // For RRL: NSD's delegation_domain (set by every lookup that finds a zone). A DS
      // query at a cut is answered from the parent but still counts as a referral (NSD's
      // answer_lookup_zone() keeps delegation_domain for it), and so is one at the apex of
      // a child whose parent is served here (answered from the parent, whose cut it is).
      if (f & (D.NAME_FLAG_DELEGATION | D.NAME_FLAG_BELOW_CUT)) {
        this.delegation(n, 0, len, nLabels);
      } else if (f & D.NAME_FLAG_APEX && qtype === TYPE_DS && this.servedParent(len, nLabels)) {
        this.rDeleg = names[a + D.NAME_HASH]! & RRL_NAME_MASK;
        this.rHasDeleg = true;
      } else {
        this.rHasDeleg = false;
      }
      const tpl = t.typeTemplate(names[a + D.NAME_TYPES_AT]!, names[a + D.NAME_TYPES_COUNT]!, qtype);
      return tpl >= 0 ? tpl : names[a + D.NAME_EXACT_DEFAULT]!;
    }
    for (let i = 1; i <= nLabels; i++) {
      const start = i < nLabels ? this.labels[i]! : len - 1; // len - 1: the root label
      const e = t.findLowered(low, lowView, start, len - start);
      if (e < 0 || names[e * D.NAME_WORDS + D.NAME_FLAGS]! & D.NAME_FLAG_ABSENT) continue;
      const a = e * D.NAME_WORDS;
      this.lastRec = e;
      this.ceLabel = i;
      const kind = names[a + D.NAME_DESC_KIND]!;
      if (kind === D.DESC_REFERRAL) this.delegation(e, i, len, nLabels);
      else this.rHasDeleg = false;
      if (kind === D.DESC_WILDCARD) {
        // For RRL: NSD's wildcard_domain, the wildcard's own name "*." + closest encloser.
        let wh = Math.imul(Math.imul(FNV_OFFSET ^ 1, FNV_PRIME) ^ 0x2a, FNV_PRIME);
        for (let j = start; j < len; j++) wh = Math.imul(wh ^ low[j]!, FNV_PRIME);
        this.rWild = wh & RRL_NAME_MASK;
        this.rHasWild = true;
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
   * For RRL: the delegation point of a name record `rec` at or below a cut, found at label
   * `from` of the lowered name (this.lowered, label starts in this.labels): the record
   * itself when it is the cut, else the highest cut above it (NSD's domain_find_ns_rrsets()
   * returns the highest). Lookups only for names below a cut.
   */
  private delegation(rec: number, from: number, len: number, nLabels: number): void {
    const t = this.t;
    const names = t.names;
    let best = rec;
    if (names[rec * D.NAME_WORDS + D.NAME_FLAGS]! & D.NAME_FLAG_BELOW_CUT) {
      for (let i = from + 1; i <= nLabels; i++) {
        const start = i < nLabels ? this.labels[i]! : len - 1;
        const e = t.findLowered(this.lowered, this.loweredView, start, len - start);
        if (e < 0) continue;
        const f = names[e * D.NAME_WORDS + D.NAME_FLAGS]!;
        if (f & D.NAME_FLAG_DELEGATION && !(f & D.NAME_FLAG_BELOW_CUT)) {
          best = e;
          break;
        }
        if (f & D.NAME_FLAG_APEX) break;
      }
    }
    this.rDeleg = names[best * D.NAME_WORDS + D.NAME_HASH]! & RRL_NAME_MASK;
    this.rHasDeleg = true;
  }

  /** For RRL: is a zone served here above the apex just looked up (this.lowered)? */
  private servedParent(len: number, nLabels: number): boolean {
    for (let i = 1; i <= nLabels; i++) {
      const start = i < nLabels ? this.labels[i]! : len - 1;
      if (this.t.findLowered(this.lowered, this.loweredView, start, len - start) >= 0) return true;
    }
    return false;
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
      // A DNAME template keeps its target's offset where others keep TPL_AR_AT (the same
      // word): it has no additional section and is never cut.
      if (tw[ta + D.TPL_FLAGS]! & D.TPLF_DNAME) return -1;
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
      if (ar === 0 && tw[ta + D.TPL_FLAGS]! & D.TPLF_NEEDS_ADDRESS) return -1;
    }
    // copyBytes: a template by a loop (no view allocated per query), but one of LONG_COPY
    // bytes or more (signed answers run to hundreds) by set(), twice as fast out of the
    // image's shared memory at 500 bytes, for one view's allocation. Not DataView writes:
    // they would go around the element accesses that the stack's fuzz test watches
    // (test/appliance/stack/fuzz.test.ts), which watches set() too.
    copyBytes(buf, w, blob, tOff, tLen, LONG_COPY);
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

  /** Is the name at buf[at, at+len) the apex of a zone served here? */
  private isApex(buf: Uint8Array, at: number, len: number): boolean {
    const n = this.t.find(buf, at, len);
    return n >= 0 && (this.t.names[n * D.NAME_WORDS + D.NAME_FLAGS]! & D.NAME_FLAG_APEX) !== 0;
  }

  /**
   * QDCOUNT is not 1: FORMERR. But a message of nothing but an OPT (QDCOUNT 0: a client
   * that probes for EDNS, or asks for a server cookie, RFC 7873 §5.4) gets an empty
   * NOERROR answer with an OPT, as NSD gives.
   */
  private noQuestion(buf: Uint8Array, off: number, end: number, keep: number, an: number, ns: number, ar: number): number {
    const q = off + DNS_HEADER_LEN;
    if (u16(buf, off + 4) === 0 && an === 0 && ns === 0 && ar === 1 && q + D.OPT_RR_LEN <= end &&
        buf[q] === 0 && u16(buf, q + 1) === TYPE_OPT && buf[q + 6] === 0) {
      const rdEnd = q + D.OPT_RR_LEN + u16(buf, q + 9);
      if (rdEnd <= end && optionsFit(buf, q + D.OPT_RR_LEN, rdEnd)) {
        this.counters[C_ANSWERED]!++;
        this.counters[C_EDNS]!++;
        this.header(keep, 0, 0, 0, 0, 1);
        return this.opt(buf, q, 0, u16(buf, q + 7) & EDNS_DO) - off;
      }
    }
    return this.formerr(keep);
  }

  /**
   * A TSIG-signed query: no keys are configured here, so NOTAUTH with an unsigned TSIG
   * whose error is BADKEY (RFC 8945 §5.2.1), the question left out, as NSD answers. A TSIG
   * record that does not parse is FORMERR.
   */
  private tsigBadKey(buf: Uint8Array, off: number, end: number, at: number, keep: number, edns: boolean, ednsDo: number, limit: number): number {
    const key = this.scratch, alg = this.scratch2;
    const q = this.readName(buf, off, end, at, key);
    if (q < 0) return this.formerr(keep);
    const keyLen = this.nameOut;
    const rdStart = q + 10, rdEnd = rdStart + u16(buf, q + 8); // inside the message: checked by the caller
    const r = this.readName(buf, off, rdEnd, rdStart, alg);
    if (r < 0 || r + 10 > rdEnd) return this.formerr(keep);
    const algLen = this.nameOut;
    const idAt = r + 10 + u16(buf, r + 8); // after time signed (6), fudge (2), MAC size (2), MAC
    if (idAt + 6 > rdEnd || idAt + 6 + u16(buf, idAt + 4) !== rdEnd) return this.formerr(keep);
    const time0 = u16(buf, r), time1 = u16(buf, r + 2), time2 = u16(buf, r + 4), fudge = u16(buf, r + 6);
    const originalId = u16(buf, idAt);
    this.counters[C_NOTAUTH]!++;
    let w = off + DNS_HEADER_LEN;
    const rdlen = algLen + 16;
    if (DNS_HEADER_LEN + (edns ? D.OPT_RR_LEN : 0) + keyLen + 10 + rdlen > limit) {
      this.header(keep, RCODE_NOTAUTH, 0, 0, 0, edns ? 1 : 0);
      if (edns) w = this.opt(buf, w, 0, ednsDo);
      return w - off;
    }
    this.header(keep, RCODE_NOTAUTH, 0, 0, 0, edns ? 2 : 1);
    if (edns) w = this.opt(buf, w, 0, ednsDo);
    for (let i = 0; i < keyLen; i++) buf[w + i] = key[i]!;
    w += keyLen;
    setU16(buf, w, TYPE_TSIG);
    setU16(buf, w + 2, CLASS_ANY);
    setU16(buf, w + 4, 0);
    setU16(buf, w + 6, 0);
    setU16(buf, w + 8, rdlen);
    w += 10;
    for (let i = 0; i < algLen; i++) buf[w + i] = alg[i]!;
    w += algLen;
    setU16(buf, w, time0);
    setU16(buf, w + 2, time1);
    setU16(buf, w + 4, time2);
    setU16(buf, w + 6, fudge);
    setU16(buf, w + 8, 0); // MAC size: unsigned
    setU16(buf, w + 10, originalId);
    setU16(buf, w + 12, TSIG_BADKEY);
    setU16(buf, w + 14, 0); // other len
    return w + 16 - off;
  }

  /**
   * Reads the possibly compressed name at buf[at] (message at `off`, ending at `end`) into
   * `out`, uncompressed; its length in nameOut. Returns where the name ends in the message,
   * or -1 when it is malformed. Pointers must point backwards and the name stay within 255
   * octets, so a pointer loop ends (RFC 1035 §4.1.4; RFC 9267 §2).
   */
  private readName(buf: Uint8Array, off: number, end: number, at: number, out: Uint8Array): number {
    let len = 0;
    let after = -1;
    let p = at;
    for (;;) {
      if (p >= end) return -1;
      const l = buf[p]!;
      if ((l & 0xc0) === 0xc0) {
        if (p + 1 >= end) return -1;
        if (after < 0) after = p + 2;
        const target = off + (((l & 0x3f) << 8) | buf[p + 1]!);
        if (target >= p) return -1;
        p = target;
        continue;
      }
      if (l > 63 || len + l + 1 > 255 || p + l + 1 > end) return -1;
      for (let i = 0; i <= l; i++) out[len + i] = buf[p + i]!;
      len += l + 1;
      if (l === 0) break;
      p += l + 1;
    }
    this.nameOut = len;
    return after < 0 ? p + 1 : after;
  }

  /** TC=1: the header and question (and OPT), no records; the client retries over TCP. */
  private truncated(buf: Uint8Array, off: number, qend: number, flags: number, rcode: number, edns: boolean, ednsDo: number): number {
    this.counters[C_TRUNCATED]!++;
    let w = qend;
    this.header(flags | FLAG_TC, rcode, 1, 0, 0, edns ? 1 : 0);
    if (edns) w = this.opt(buf, w, 0, ednsDo);
    return w - off;
  }

  /** Writes the response header over the query's (the view answer() wrapped on buf at off). */
  private header(flags: number, rcode: number, qd: number, an: number, ns: number, ar: number): void {
    this.hdr.setResponse(flags, rcode, qd, an, ns, ar);
  }

  /** An OPT RR (RFC 6891 §6.1.2): our UDP size, the extended RCODE's upper bits, DO echoed. */
  private opt(buf: Uint8Array, w: number, extRcode: number, dnssecOk: number): number {
    this.optAt = w - this.msgAt;
    buf[w] = 0;
    setU16(buf, w + 1, TYPE_OPT);
    setU16(buf, w + 3, D.EDNS_UDP_SIZE);
    buf[w + 5] = extRcode;
    buf[w + 6] = 0; // version 0
    setU16(buf, w + 7, dnssecOk);
    setU16(buf, w + 9, 0);
    return w + D.OPT_RR_LEN;
  }

  /**
   * NOTIFY (RFC 1996 §3.7): for the apex of a secondary zone, NOERROR and AA with the
   * question as it came and no records (NSD's reply), leaving `notified` set to the zone
   * for the server, which judges the source (notifyRefused() turns the reply into REFUSED
   * when it is not one of the zone's primaries) and starts a check. Anything else is
   * REFUSED without the question, as NSD without allow-notify answers.
   */
  private notify(buf: Uint8Array, off: number, qnameLen: number, qend: number, keep: number): number {
    const n = u16(buf, off + 4) === 1 ? this.t.find(buf, off + DNS_HEADER_LEN, qnameLen) : -1;
    const t = this.t;
    if (n >= 0 && t.names[n * D.NAME_WORDS + D.NAME_FLAGS]! & D.NAME_FLAG_APEX) {
      const zone = t.names[n * D.NAME_WORDS + D.NAME_ZONE]!;
      if (t.zones[zone * D.ZONE_WORDS + D.ZONE_FLAGS]! & D.ZONE_FLAG_SECONDARY) {
        this.notified = zone;
        this.header(keep | FLAG_AA, 0, 1, 0, 0, 0);
        return qend - off;
      }
    }
    this.counters[C_REFUSED]!++;
    return this.headerOnly(keep, RCODE_REFUSED);
  }

  /**
   * The NOTIFY reply answer() just wrote at buf[off..], made REFUSED (header only): the
   * source is not a primary of the zone. Returns the new length.
   */
  notifyRefused(buf: Uint8Array, off: number): number {
    const hdr = this.hdr.wrap(buf, off, DNS_HEADER_LEN);
    const keep = hdr.flags & (FLAG_RD | FLAG_CD | (OPCODE_MASK << OPCODE_SHIFT));
    this.counters[C_REFUSED]!++;
    this.notified = -1;
    return this.headerOnly(keep, RCODE_REFUSED);
  }

  /** The NOTIFY answer() just wrote is kept: one of the zone's primaries sent it (counted here, once judged). */
  notifyTaken(): void {
    this.counters[C_NOTIFY]!++;
    this.notified = -1;
  }

  /** The name of zone `z`'s apex, as text ("example.org."): what a NOTIFY was for. */
  zoneName(z: number): string {
    const t = this.t;
    const a = z * D.ZONE_WORDS;
    return nameToText(t.blob, t.zones[a + D.ZONE_ORIGIN_OFF]!);
  }

  private headerOnly(keep: number, rcode: number): number {
    this.header(keep, rcode, 0, 0, 0, 0);
    return DNS_HEADER_LEN;
  }

  private formerr(keep: number): number {
    this.counters[C_FORMERR]!++;
    return this.headerOnly(keep, RCODE_FORMERR);
  }
}

// The CHAOS names NSD answers, lower-case wire form (11, 15, 16 and 14 bytes: their lengths tell them apart).
const CH_ID_SERVER = Uint8Array.of(2, 0x69, 0x64, 6, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72, 0);
const CH_HOSTNAME_BIND = Uint8Array.of(8, 0x68, 0x6f, 0x73, 0x74, 0x6e, 0x61, 0x6d, 0x65, 4, 0x62, 0x69, 0x6e, 0x64, 0);
const CH_VERSION_SERVER = Uint8Array.of(7, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 6, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72, 0);
const CH_VERSION_BIND = Uint8Array.of(7, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 4, 0x62, 0x69, 0x6e, 0x64, 0);

/** Is the name at buf[at..] `name` (lower-case, same length), ignoring ASCII case? */
function sameName(buf: Uint8Array, at: number, name: Uint8Array): boolean {
  const lower = LOWER;
  for (let i = 0; i < name.length; i++) if (lower[buf[at + i]!] !== name[i]) return false;
  return true;
}

/**
 * A CHAOS TXT record as NSD's query_addtxt() writes it: owner a pointer to the question
 * (offset 12), TYPE TXT, CLASS CH, TTL 0, one character-string. Null for null (hidden).
 */
function chaosRecord(text: string | null, what: string, flag: string): Uint8Array | null {
  if (text === null) return null;
  const s = new TextEncoder().encode(text);
  if (s.length > 255) {
    throw new UsageError(`the server's ${what} is ${s.length} bytes in UTF-8, but a TXT string holds at most 255 (shorten ${flag})`);
  }
  const rr = new Uint8Array(2 + 10 + 1 + s.length);
  rr[0] = 0xc0;
  rr[1] = DNS_HEADER_LEN;
  setU16(rr, 2, TYPE_TXT);
  setU16(rr, 4, CLASS_CH);
  // TTL 0 (bytes 6-9), as NSD: the answer is about this server, now.
  setU16(rr, 10, 1 + s.length);
  rr[12] = s.length;
  rr.set(s, 13);
  return rr;
}

/** Where the name at buf[q] ends (labels, possibly ending in a pointer), or -1. */
function skipName(buf: Uint8Array, q: number, end: number): number {
  for (;;) {
    if (q >= end) return -1;
    const l = buf[q]!;
    if (l === 0) return q + 1;
    if ((l & 0xc0) === 0xc0) return q + 2;
    if (l > 63) return -1;
    q += l + 1;
  }
}

/** Do the EDNS options in buf[p, end) fill it exactly (RFC 6891 §6.1.2)? */
function optionsFit(buf: Uint8Array, p: number, end: number): boolean {
  while (p < end) {
    if (p + 4 > end) return false;
    p += 4 + u16(buf, p + 2);
  }
  return p === end;
}

function nameLen(buf: Uint8Array, at: number): number {
  let i = at;
  while (buf[i] !== 0) i += buf[i]! + 1;
  return i - at + 1;
}

/** A u32 little-endian in the BLOB (a splice descriptor's). */
function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
