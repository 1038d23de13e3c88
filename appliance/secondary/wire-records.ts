// DNS messages as a secondary receives them from its primary: the header, the question,
// and resource records with every compressed name expanded, then the records as zone-file
// text the repository's own parser reads back.
//
// Read first: RFC 1035 §4.1 (message format), §4.1.4 (compression: a pointer names a
// "prior occurrence"), §2.3.4 (63-octet labels, 255-octet names), RFC 3597 §4 (which
// RDATA may hold compressed names), RFC 6891 §6.1.1 (OPT), RFC 8945 §5.2 (TSIG is the
// last record of the additional section), RFC 2181 §8 (a TTL with its top bit set is 0).
//
//   ┌────────┬──────────┬────────┬───────────┬────────────┐
//   │ header │ question │ answer │ authority │ additional │   (RFC 1035 §4.1)
//   │ 12 B   │ QDCOUNT  │ ANCOUNT│ NSCOUNT   │ ARCOUNT    │
//   └────────┴──────────┴────────┴───────────┴────────────┘
//   a record: NAME (maybe compressed) TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA
//
// Off the hot path (a transfer is a few messages a second at most), and its input is a
// remote server's: every length, count and pointer is checked before it is followed, and a
// message that is malformed in any way is an ApplianceError APPL_ERR_XFR_FORMAT that says
// what is wrong and at which byte. Nothing here throws anything else on any input.
//
// Names inside RDATA (RFC 3597 §4). Compression may appear in the RDATA of the "well-known"
// types, those of RFC 1035 that hold names: NS MD MF CNAME SOA MB MG MR PTR MINFO MX; a
// receiver MUST decompress them. RFC 3597 §4 adds that it SHOULD also decompress RP AFSDB
// RT SIG PX NXT NAPTR SRV, because older specifications (RFC 2052 for SRV, RFC 2163 for
// PX, RFC 2535 for SIG and NXT) allowed or required it and such senders are still about.
// We do both lists: expanding a name that was sent uncompressed changes nothing, so being
// liberal there costs nothing, even for SRV (RFC 2782) and NAPTR (RFC 3403 §4.1), whose
// current RFCs forbid the sender to compress. Every other type (KX, DNAME, RRSIG, NSEC,
// SVCB, ...) is taken as sent: RFC 3597 §4 forbids compression there, so a byte that looks
// like a pointer is data, and such RDATA then fails its type's check below.

import { DNS_ANCOUNT as HDR_ANCOUNT, DNS_ARCOUNT as HDR_ARCOUNT, DNS_FLAGS as HDR_FLAGS, DNS_HEADER_LEN, DNS_ID as HDR_ID, DNS_NSCOUNT as HDR_NSCOUNT, DNS_QDCOUNT as HDR_QDCOUNT } from '../wire/dns.js';
import { ApplianceError, UsageError } from '../../basics/errors.js';
import { ByteArena, TextFormatError, MAX_NAME_LEN } from '../../specializers/dns/dns-name.js';
import { rdataWireValid } from '../../specializers/dns/rdata-parse.js';
import { hasNameFields, isMetaType } from '../../specializers/dns/rr-types.js';
import { classToText, nameToText, nameToWire, namesEqual, rdataToText, RRType as T, typeToText } from '../../specializers/dns/zone.js';

/** A resource record as received, every name in it uncompressed. */
export interface WireRecord {
  /** Wire name, uncompressed, case as sent. Shared between records with the same owner: read-only. */
  owner: Uint8Array;
  type: number;
  cls: number;
  /** Seconds; a TTL with its top bit set was made 0 (RFC 2181 §8). */
  ttl: number;
  /** Uncompressed RDATA; a view into a shared chunk: read-only, mind byteOffset when copying. */
  rdata: Uint8Array;
}

export interface Question {
  name: Uint8Array;
  type: number;
  cls: number;
}

/** A received message: the OPT and TSIG records are taken out of `additional`. */
export interface Message {
  id: number;
  /** The header's second word: QR, Opcode, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  flags: number;
  opcode: number;
  /** The header's RCODE, with the OPT record's upper 8 bits when there is one (RFC 6891 §6.1.3). */
  rcode: number;
  question: Question[];
  answer: WireRecord[];
  authority: WireRecord[];
  additional: WireRecord[];
  opt: WireRecord | null;
  /** The TSIG record (RDATA exactly as sent) and the byte offset where it starts (RFC 8945 §4.3.2). */
  tsig: { record: WireRecord; offset: number } | null;
}

// Header layout (RFC 1035 §4.1.1): the wire views' names (appliance/wire/dns.ts).
export {
  DNS_HEADER_LEN, DNS_ID as HDR_ID, DNS_FLAGS as HDR_FLAGS, DNS_QDCOUNT as HDR_QDCOUNT, DNS_ANCOUNT as HDR_ANCOUNT,
  DNS_NSCOUNT as HDR_NSCOUNT, DNS_ARCOUNT as HDR_ARCOUNT, FLAG_QR, FLAG_AA, FLAG_TC, OPCODE_QUERY,
} from '../wire/dns.js';
export const CLASS_IN = 1;
/** RFC 1035 §3.2.5: TSIG records are of class ANY (RFC 8945 §4.2). */
export const CLASS_ANY = 255;

/** TYPE, CLASS, TTL, RDLENGTH after a record's owner (RFC 1035 §4.1.3). */
const RR_FIXED_LEN = 10;
/** SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM: the end of an SOA's RDATA (RFC 1035 §3.3.13). */
const SOA_TAIL_LEN = 20;
const MAX_RDATA = 65535;
/**
 * Pointers followed in one name. Each must point before the start of the stretch of name
 * that holds it, which already ends every loop; this bounds the work of a chain of pointers
 * to pointers: a real name needs at most one per label, and a name has at most 127 labels.
 */
const MAX_POINTERS = 128;

const RCODE_TEXT = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET',
  'NXRRSET', 'NOTAUTH', 'NOTZONE', 'DSOTYPENI',
];
const RCODE_EXTENDED = new Map<number, string>([[16, 'BADVERS'], [23, 'BADCOOKIE']]);

/** The RCODE's mnemonic (IANA "DNS RCODEs"), or "RCODE n". */
export function rcodeText(rcode: number): string {
  return RCODE_TEXT[rcode] ?? RCODE_EXTENDED.get(rcode) ?? `RCODE ${rcode}`;
}

// Where the names are in the RDATA of the types we decompress (see the top of the file).
// A number is that many fixed octets, NAME a possibly compressed name, STRING a
// <character-string>, REST whatever is left.
const NAME = -1, STRING = -2, REST = -3;
const COMPRESSIBLE = new Map<number, readonly number[]>([
  // RFC 1035: must be decompressed.
  [T.NS, [NAME]], [T.MD, [NAME]], [T.MF, [NAME]], [T.CNAME, [NAME]], [T.MB, [NAME]],
  [T.MG, [NAME]], [T.MR, [NAME]], [T.PTR, [NAME]],
  [T.SOA, [NAME, NAME, SOA_TAIL_LEN]],
  [T.MINFO, [NAME, NAME]],
  [T.MX, [2, NAME]],
  // RFC 3597 §4: should be decompressed.
  [T.RP, [NAME, NAME]],                          // RFC 1183 §2.2
  [T.AFSDB, [2, NAME]], [T.RT, [2, NAME]],       // RFC 1183 §1, §3.3
  [T.SIG, [18, NAME, REST]],                     // RFC 2535 §4.1: 18 octets, then the signer
  [T.PX, [2, NAME, NAME]],                       // RFC 2163 §4
  [T.NXT, [NAME, REST]],                         // RFC 2535 §5.2
  [T.SRV, [6, NAME]],                            // RFC 2782 (RFC 2052 compressed it)
  [T.NAPTR, [4, STRING, STRING, STRING, NAME]],  // RFC 3403 §4.1
]);

/** The error for a malformed message; `at` is a byte offset in it. */
export function formatError(what: string, at: number, msgLen: number): ApplianceError {
  return new ApplianceError('APPL_ERR_XFR_FORMAT', `malformed DNS message: ${what} (at byte ${at} of ${msgLen})`);
}

// One name is expanded at a time, into this.
const NAME_SCRATCH = new Uint8Array(MAX_NAME_LEN + 1);
const RDATA_SCRATCH = new Uint8Array(MAX_RDATA + 4 * MAX_NAME_LEN);

/**
 * Reads a message after message, keeping what records may share: consecutive records with
 * the same owner get one array, and RDATA is copied into shared chunks (as the zone parser
 * stores them), so a zone of millions of records is not millions of small buffers.
 */
export class MessageReader {
  private readonly arena = new ByteArena();
  private lastOwner: Uint8Array = new Uint8Array([0]);
  private nameLen = 0;

  /** Parses one whole message; throws ApplianceError APPL_ERR_XFR_FORMAT if it is malformed. */
  parse(msg: Uint8Array): Message {
    const len = msg.length;
    if (len < DNS_HEADER_LEN) throw formatError(`${len} bytes is shorter than a DNS header (12)`, 0, len);
    const flags = u16(msg, HDR_FLAGS);
    const counts = [u16(msg, HDR_QDCOUNT), u16(msg, HDR_ANCOUNT), u16(msg, HDR_NSCOUNT), u16(msg, HDR_ARCOUNT)] as const;
    const m: Message = {
      id: u16(msg, HDR_ID), flags, opcode: (flags >>> 11) & 0xf, rcode: flags & 0xf,
      question: [], answer: [], authority: [], additional: [], opt: null, tsig: null,
    };
    let p = DNS_HEADER_LEN;
    for (let i = 0; i < counts[0]; i++) {
      const start = p;
      p = this.name(msg, p, len, 'question name');
      if (p + 4 > len) throw formatError(`question ${i + 1} of ${counts[0]} is cut short after its name`, start, len);
      m.question.push({ name: NAME_SCRATCH.slice(0, this.nameLen), type: u16(msg, p), cls: u16(msg, p + 2) });
      p += 4;
    }
    const sections = [m.answer, m.authority, m.additional];
    const sectionNames = ['answer', 'authority', 'additional'];
    for (let s = 0; s < 3; s++) {
      const n = counts[s + 1]!;
      for (let i = 0; i < n; i++) {
        const start = p;
        const where = `${sectionNames[s]} record ${i + 1} of ${n}`;
        p = this.name(msg, p, len, `owner name of the ${where}`);
        const nameLen = this.nameLen;
        if (p + RR_FIXED_LEN > len) throw formatError(`the ${where} is cut short after its owner name`, start, len);
        const type = u16(msg, p), cls = u16(msg, p + 2);
        const rawTtl = u32(msg, p + 4);
        const rdlen = u16(msg, p + 8);
        const rdStart = p + RR_FIXED_LEN;
        const rdEnd = rdStart + rdlen;
        if (rdEnd > len) throw formatError(`RDLENGTH ${rdlen} of the ${where} runs past the end of the message`, p + 8, len);
        const owner = this.owner(nameLen);
        // RFC 2181 §8: a TTL with the top bit set is treated as 0.
        const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
        if (isMetaType(type)) {
          if (s === 2 && type === T.OPT && m.opt === null && nameLen === 1) {
            m.opt = { owner, type, cls, ttl: rawTtl, rdata: this.arena.copy(msg, rdStart, rdEnd) };
            // RFC 6891 §6.1.3: the OPT TTL's top 8 bits are the RCODE's upper bits.
            m.rcode |= (rawTtl >>> 24) << 4;
          } else if (s === 2 && type === T.TSIG && i === n - 1) {
            // RFC 8945 §4.2: TSIG RDATA is never compressed; it is kept as sent for the MAC.
            m.tsig = { record: { owner, type, cls, ttl: rawTtl, rdata: this.arena.copy(msg, rdStart, rdEnd) }, offset: start };
          } else if (type === T.TSIG) {
            // RFC 8945 §5.2: a TSIG anywhere but last in the additional section is FORMERR.
            throw formatError(`a TSIG record as the ${where}: TSIG must be the last record of the additional section (RFC 8945 §5.2)`, start, len);
          } else {
            throw formatError(`the ${where} is of type ${typeToText(type)}, a meta type that cannot be there (RFC 6895 §3.1)`, p, len);
          }
          p = rdEnd;
          continue;
        }
        const rdata = this.rdata(msg, type, rdStart, rdEnd, where);
        sections[s]!.push({ owner, type, cls, ttl, rdata });
        p = rdEnd;
      }
    }
    if (p !== len) throw formatError(`${len - p} ${len - p === 1 ? 'byte' : 'bytes'} after the last record the counts announce`, p, len);
    return m;
  }

  /** The owner just read (in NAME_SCRATCH), as the previous record's array when they match. */
  private owner(n: number): Uint8Array {
    const last = this.lastOwner;
    if (last.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) if (last[i] !== NAME_SCRATCH[i]) { same = false; break; }
      if (same) return last;
    }
    this.lastOwner = this.arena.copy(NAME_SCRATCH, 0, n);
    return this.lastOwner;
  }

  /**
   * Expands the name at msg[off] into NAME_SCRATCH (length in nameLen); returns the offset
   * after the name as it sits in the message. Its own octets must lie before `limit`;
   * RFC 1035 §4.1.4: a pointer refers to a prior occurrence, so each must point before the
   * start of the stretch of name that holds it, which makes every loop impossible.
   */
  private name(msg: Uint8Array, off: number, limit: number, what: string, inRdata = false): number {
    const len = msg.length;
    let p = off;
    let floor = off;
    let end = -1;
    let n = 0;
    let pointers = 0;
    let area = inRdata ? 'RDATA' : 'message';
    for (;;) {
      if (p >= limit) throw formatError(`the ${what} runs past the end of its ${area}`, off, len);
      const l = msg[p]!;
      if (l === 0) {
        NAME_SCRATCH[n++] = 0;
        this.nameLen = n;
        return end < 0 ? p + 1 : end;
      }
      const kind = l & 0xc0;
      if (kind === 0xc0) {
        if (p + 1 >= limit) throw formatError(`the ${what} ends in half a compression pointer`, p, len);
        const target = ((l & 0x3f) << 8) | msg[p + 1]!;
        if (target >= floor) {
          throw formatError(`a compression pointer in the ${what} points to byte ${target}, not before byte ${floor} (RFC 1035 §4.1.4: pointers go back)`, p, len);
        }
        if (++pointers > MAX_POINTERS) throw formatError(`the ${what} follows more than ${MAX_POINTERS} compression pointers`, p, len);
        if (end < 0) end = p + 2;
        floor = p = target;
        limit = len;
        area = 'message';
        continue;
      }
      if (kind !== 0) {
        // 0x40 and 0x80: extended label types (RFC 6891 §5 reserves them; RFC 6891 obsoletes RFC 2673's).
        throw formatError(`label type 0x${kind.toString(16)} in the ${what} is not a label length or a pointer`, p, len);
      }
      // kind 0: l is a label length, at most 63 (RFC 1035 §2.3.4) by construction.
      if (p + 1 + l > limit) throw formatError(`a label of the ${what} runs past the end of its ${area}`, p, len);
      if (n + 1 + l + 1 > MAX_NAME_LEN) throw formatError(`the ${what} is longer than 255 octets (RFC 1035 §2.3.4)`, off, len);
      NAME_SCRATCH[n++] = l;
      for (let k = 1; k <= l; k++) NAME_SCRATCH[n++] = msg[p + k]!;
      p += l + 1;
    }
  }

  /** The RDATA at msg[start, end), its names expanded where RFC 3597 §4 allows compression. */
  private rdata(msg: Uint8Array, type: number, start: number, end: number, where: string): Uint8Array {
    const len = msg.length;
    const fields = COMPRESSIBLE.get(type);
    let out: Uint8Array;
    if (fields === undefined) {
      out = this.arena.copy(msg, start, end);
    } else {
      let p = start;
      let q = 0;
      const o = RDATA_SCRATCH;
      for (const f of fields) {
        if (f === NAME) {
          p = this.name(msg, p, end, `name in the ${typeToText(type)} RDATA of the ${where}`, true);
          o.set(NAME_SCRATCH.subarray(0, this.nameLen), q);
          q += this.nameLen;
        } else {
          const k = f === REST ? end - p : f === STRING ? (p < end ? msg[p]! + 1 : 1) : f;
          if (p + k > end) throw formatError(`the ${typeToText(type)} RDATA of the ${where} is cut short`, p, len);
          o.set(msg.subarray(p, p + k), q);
          q += k;
          p += k;
        }
      }
      if (p !== end) throw formatError(`${end - p} ${end - p === 1 ? 'byte' : 'bytes'} left over in the ${typeToText(type)} RDATA of the ${where}`, p, len);
      if (q > MAX_RDATA) throw formatError(`the ${typeToText(type)} RDATA of the ${where} is over 65535 octets once its names are expanded`, start, len);
      out = this.arena.copy(o, 0, q);
    }
    if (!rdataWireValid(type, out, 0, out.length)) {
      const hint = fields === undefined && hasNameFields(type) ? ' (a compressed name? RFC 3597 §4 forbids them in this type)' : '';
      throw formatError(`the RDATA of the ${where} is not a valid ${typeToText(type)} RDATA${hint}`, start, len);
    }
    return out;
  }
}

/** Parses one message with a fresh reader (nothing shared with other messages). */
export function parseMessage(msg: Uint8Array): Message {
  return new MessageReader().parse(msg);
}

// ---------------------------------------------------------------------------------------
// Writing: queries and uncompressed records.

/** The wire form of a zone name given as text ("example.com" or "example.com."); a UsageError if it is not a name. */
export function zoneNameWire(zone: string): Uint8Array {
  try {
    return nameToWire(zone.endsWith('.') && !zone.endsWith('\\.') ? zone : `${zone}.`);
  } catch (e) {
    if (e instanceof TextFormatError) throw new UsageError(`'${zone}' is not a zone name: ${e.message}`);
    throw e;
  }
}

/** RFC 1035 §4.1.3, names uncompressed. */
export function encodeRecord(r: WireRecord): Uint8Array {
  const out = new Uint8Array(r.owner.length + RR_FIXED_LEN + r.rdata.length);
  out.set(r.owner, 0);
  let p = r.owner.length;
  p = put16(out, p, r.type);
  p = put16(out, p, r.cls);
  p = put32(out, p, r.ttl);
  p = put16(out, p, r.rdata.length);
  out.set(r.rdata, p);
  return out;
}

/** A query (RD clear: RFC 5936 §2.1.1) for qname/qtype/IN with the records given as its authority section. */
export function encodeQuery(id: number, qname: Uint8Array, qtype: number, authority: readonly WireRecord[] = []): Uint8Array {
  const rrs = authority.map(encodeRecord);
  const out = new Uint8Array(DNS_HEADER_LEN + qname.length + 4 + rrs.reduce((n, r) => n + r.length, 0));
  put16(out, HDR_ID, id);
  put16(out, HDR_QDCOUNT, 1);
  put16(out, HDR_NSCOUNT, rrs.length);
  out.set(qname, DNS_HEADER_LEN);
  let p = DNS_HEADER_LEN + qname.length;
  p = put16(out, p, qtype);
  p = put16(out, p, CLASS_IN);
  for (const r of rrs) {
    out.set(r, p);
    p += r.length;
  }
  return out;
}

/** The SERIAL of an SOA's uncompressed RDATA (RFC 1035 §3.3.13); -1 if it is too short. */
export function soaSerial(rdata: Uint8Array): number {
  if (rdata.length < 2 + SOA_TAIL_LEN) return -1;
  return u32(rdata, rdata.length - SOA_TAIL_LEN);
}

/** True when the record is the zone's SOA: type SOA, class IN, owned by the apex. */
export function isApexSoa(r: WireRecord, apex: Uint8Array): boolean {
  return r.type === T.SOA && r.cls === CLASS_IN && namesEqual(r.owner, apex);
}

// ---------------------------------------------------------------------------------------
// Zone-file text.

/**
 * The records as a master file (RFC 1035 §5): `$ORIGIN`, then one `owner TTL CLASS TYPE
 * RDATA` line per record, every name absolute. The RDATA printer is the zone parser's own
 * (specializers/dns/rdata-text.ts), so parseZoneText gives back the same octets; types it
 * has no layout for, and RDATA that is not valid for its type, print as RFC 3597's
 * `\# len hex`.
 */
export function zoneText(origin: string, records: readonly WireRecord[]): string {
  return [...zoneTextChunks(origin, records)].join('');
}

/**
 * zoneText in pieces of about `chunkChars` characters, for zones whose text is longer than
 * a JavaScript string can be (V8: about 2^29 characters, some ten million records): write
 * each piece as it comes. The pieces joined are zoneText's string.
 */
export function* zoneTextChunks(origin: string, records: readonly WireRecord[], chunkChars = 1 << 20): Generator<string> {
  let lines = [`$ORIGIN ${nameToText(zoneNameWire(origin))}`];
  let size = lines[0]!.length;
  for (const r of records) {
    const line = `${nameToText(r.owner)} ${r.ttl} ${classToText(r.cls)} ${typeToText(r.type)} ${rdataToText(r.type, r.rdata)}`;
    lines.push(line);
    size += line.length + 1;
    if (size >= chunkChars) {
      yield lines.join('\n') + '\n';
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) yield lines.join('\n') + '\n';
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
}

export function put16(b: Uint8Array, p: number, v: number): number {
  b[p] = (v >>> 8) & 0xff;
  b[p + 1] = v & 0xff;
  return p + 2;
}

export function put32(b: Uint8Array, p: number, v: number): number {
  b[p] = (v >>> 24) & 0xff;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
  return p + 4;
}
