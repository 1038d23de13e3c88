// TSIG (RFC 8945) on the client side of a zone transfer: the key a secondary shares with
// its primary, the signature on its query, and the check of every answer the primary sends.
//
// Read first: RFC 8945 §4.2 (the TSIG record), §4.3 (what a MAC covers: §4.3.1 the request
// MAC, §4.3.2 the message, §4.3.3 the variables), §5.1 (signing a request), §5.2.2.1 (MAC
// size), §5.2.3 (time), §5.3.1 (TSIG on TCP connections: the chain of MACs over a
// transfer), §5.4 (what the client does with the errors), §6 (algorithms).
//
//   TSIG RDATA (RFC 8945 §4.2), never compressed:
//   ┌────────────────┬─────────────┬───────┬──────────┬─────┬─────────────┬───────┬───────────┬────────────┐
//   │ Algorithm Name │ Time Signed │ Fudge │ MAC Size │ MAC │ Original ID │ Error │ Other Len │ Other Data │
//   │ wire name      │ 48 bits     │ 16    │ 16       │     │ 16          │ 16    │ 16        │            │
//   └────────────────┴─────────────┴───────┴──────────┴─────┴─────────────┴───────┴───────────┴────────────┘
//
// What each MAC covers:
//   the query                 message + variables                                  (§4.3.3)
//   the first answer          request MAC + message + variables                    (§4.3.1, §5.3)
//   each later signed answer  prior MAC + unsigned messages since it + message + timers (§5.3.1)
// where "message" is the message without its TSIG record, ARCOUNT one less and the ID the
// record's Original ID; a MAC is digested with its 16-bit size before it; the variables
// are the key name and algorithm name in canonical (lower-case) form, class ANY, TTL 0,
// the time, fudge, error and other data; the timers are only the time and fudge.
//
// Unsigned messages in a stream are fed into the running HMAC as they arrive, so nothing is
// held until the next signed one; at most 99 come in a row (§5.3.1), and the last message
// must be signed. Time is passed in (`now`, seconds): tests move it.

import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import { ApplianceError, UsageError } from '../../basics/errors.js';
import { lowerName, nameToText, namesEqual, RRType as T, wireNameLength } from '../../specializers/dns/zone.js';
import {
  CLASS_ANY, DNS_HEADER_LEN, HDR_ARCOUNT, HDR_ID, encodeRecord, put16, zoneNameWire, type Message,
} from './wire-records.js';

export interface TsigKey {
  /** As given, e.g. "xfr-key". */
  name: string;
  /** The key name's wire form, absolute, case as given. */
  nameWire: Uint8Array;
  /** e.g. "hmac-sha256". */
  algorithm: string;
  secret: Buffer;
}

interface Algorithm {
  hash: string;
  /** Digest length: the only MAC size we accept (see macCheck). */
  size: number;
  /** The algorithm name on the wire (RFC 8945 §6, the IANA "TSIG Algorithm Names"). */
  wire: Uint8Array;
}

const ALGORITHMS = new Map<string, Algorithm>(
  [['hmac-sha1', 'sha1', 20], ['hmac-sha224', 'sha224', 28], ['hmac-sha256', 'sha256', 32], ['hmac-sha384', 'sha384', 48], ['hmac-sha512', 'sha512', 64]]
    .map(([name, hash, size]) => [name as string, { hash: hash as string, size: size as number, wire: zoneNameWire(name as string) }]),
);

/** Seconds of clock difference allowed each way: the value RFC 8945's security considerations (§10) recommend. */
export const TSIG_FUDGE = 300;
/** RFC 8945 §5.3.1: a client accepts up to 99 unsigned messages between two signed ones. */
export const MAX_UNSIGNED_RUN = 99;

/** TSIG error codes (RFC 8945 §3, the IANA "DNS RCODEs"). */
export const TSIG_ERROR_TEXT = new Map<number, string>([
  [16, 'BADSIG'], [17, 'BADKEY'], [18, 'BADTIME'], [19, 'BADMODE'], [20, 'BADNAME'], [21, 'BADALG'], [22, 'BADTRUNC'],
]);
const BADTIME = 18;
const RCODE_NOTAUTH = 9;

/**
 * A key from `NAME:ALGORITHM:BASE64`, e.g. `xfr-key:hmac-sha256:c2VjcmV0...`. The algorithm
 * is one of hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512 (RFC 8945 §6;
 * hmac-md5 is left out: RFC 8945 §6 deprecates it). A UsageError names the part
 * that is wrong.
 */
export function parseTsigKey(spec: string): TsigKey {
  const parts = spec.split(':');
  if (parts.length !== 3) {
    throw new UsageError(`TSIG key '${redact(spec)}': expected NAME:ALGORITHM:BASE64 (three parts separated by ':'), got ${parts.length} part${parts.length === 1 ? '' : 's'}`);
  }
  const [name, algText, b64] = parts as [string, string, string];
  if (name === '') throw new UsageError(`TSIG key '${redact(spec)}': the NAME part is empty`);
  let nameWire: Uint8Array;
  try {
    nameWire = zoneNameWire(name);
  } catch (e) {
    throw new UsageError(`TSIG key '${redact(spec)}': the NAME part '${name}' is not a domain name: ${(e as Error).message}`);
  }
  const algorithm = algText.toLowerCase().replace(/\.$/, '');
  if (!ALGORITHMS.has(algorithm)) {
    throw new UsageError(`TSIG key '${name}': the ALGORITHM part '${algText}' is not one of ${[...ALGORITHMS.keys()].join(', ')}`);
  }
  // Buffer.from(…, 'base64') skips what is not base64; the secret must be exactly base64.
  if (b64 === '' || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new UsageError(`TSIG key '${name}': the BASE64 part is not base64 (RFC 4648 §4: A-Z a-z 0-9 + /, padded with = to a multiple of 4 characters)`);
  }
  const secret = Buffer.from(b64, 'base64');
  if (secret.length === 0) throw new UsageError(`TSIG key '${name}': the BASE64 part decodes to an empty secret`);
  return { name, nameWire, algorithm, secret };
}

/** The spec without its secret, for messages. */
function redact(spec: string): string {
  const parts = spec.split(':');
  if (parts.length >= 3) return `${parts[0]}:${parts[1]}:…`;
  if (parts.length === 2) return `${parts[0]}:…`;
  return spec.replace(/[A-Za-z0-9+/=]{16,}/g, '…');
}

function algorithmOf(key: TsigKey): Algorithm {
  const a = ALGORITHMS.get(key.algorithm);
  if (a === undefined) throw new UsageError(`TSIG key '${key.name}': unknown algorithm '${key.algorithm}'`);
  return a;
}

/** The fields of a TSIG record's RDATA (RFC 8945 §4.2). */
export interface TsigFields {
  algorithm: Uint8Array;
  /** Seconds since the epoch (48 bits fit a double exactly). */
  timeSigned: number;
  fudge: number;
  mac: Uint8Array;
  originalId: number;
  error: number;
  other: Uint8Array;
}

/** Reads TSIG RDATA; an APPL_ERR_XFR_FORMAT error when its lengths do not add up. */
export function tsigFields(rdata: Uint8Array): TsigFields {
  const bad = (what: string): ApplianceError => new ApplianceError('APPL_ERR_XFR_FORMAT', `malformed TSIG record: ${what} (RFC 8945 §4.2)`);
  const n = wireNameLength(rdata, 0);
  if (n < 0) throw bad('the algorithm name is not an uncompressed domain name');
  let p = n;
  if (p + 10 > rdata.length) throw bad('RDATA cut short before the MAC');
  const timeSigned = u16(rdata, p) * 2 ** 32 + u32(rdata, p + 2);
  const fudge = u16(rdata, p + 6);
  const macSize = u16(rdata, p + 8);
  p += 10;
  if (p + macSize + 6 > rdata.length) throw bad(`MAC size ${macSize} runs past the RDATA`);
  const mac = rdata.subarray(p, p + macSize);
  p += macSize;
  const originalId = u16(rdata, p), error = u16(rdata, p + 2), otherLen = u16(rdata, p + 4);
  p += 6;
  if (p + otherLen !== rdata.length) throw bad(`Other Len ${otherLen} does not match the RDATA's ${rdata.length - p} remaining octets`);
  return { algorithm: rdata.subarray(0, n), timeSigned, fudge, mac, originalId, error, other: rdata.subarray(p) };
}

/** RFC 8945 §4.3.3: the variables, key and algorithm names in canonical form. */
function variables(key: TsigKey, alg: Algorithm, f: Pick<TsigFields, 'timeSigned' | 'fudge' | 'error' | 'other'>): Buffer {
  const owner = lowerName(key.nameWire);
  const out = Buffer.alloc(owner.length + 2 + 4 + alg.wire.length + 6 + 2 + 2 + 2 + f.other.length);
  let p = 0;
  out.set(owner, p);
  p += owner.length;
  p = put16(out, p, CLASS_ANY);
  p = out.writeUInt32BE(0, p); // TTL
  out.set(alg.wire, p);
  p += alg.wire.length;
  p = timers(out, p, f.timeSigned, f.fudge);
  p = put16(out, p, f.error);
  p = put16(out, p, f.other.length);
  out.set(f.other, p);
  return out;
}

function timers(out: Buffer, p: number, time: number, fudge: number): number {
  p = out.writeUIntBE(time, p, 6);
  return put16(out, p, fudge);
}

function withSize(mac: Uint8Array): Buffer {
  const b = Buffer.alloc(2 + mac.length);
  put16(b, 0, mac.length);
  b.set(mac, 2);
  return b;
}

export interface SignedQuery {
  /** The query with its TSIG record appended and ARCOUNT one more. */
  message: Uint8Array;
  /** Its MAC: the first answer's MAC covers it (RFC 8945 §4.3.1). */
  mac: Uint8Array;
}

/** Signs a query (RFC 8945 §5.1): time = now (seconds), fudge 300, Original ID = the query's ID. */
export function signQuery(query: Uint8Array, key: TsigKey, now: number): SignedQuery {
  const alg = algorithmOf(key);
  const f = { timeSigned: Math.floor(now), fudge: TSIG_FUDGE, error: 0, other: new Uint8Array(0) };
  const h = createHmac(alg.hash, key.secret);
  h.update(query);
  h.update(variables(key, alg, f));
  const mac = h.digest();
  const rdata = Buffer.alloc(alg.wire.length + 10 + mac.length + 6);
  let p = 0;
  rdata.set(alg.wire, p);
  p = timers(rdata, alg.wire.length, f.timeSigned, f.fudge);
  p = put16(rdata, p, mac.length);
  rdata.set(mac, p);
  p += mac.length;
  p = put16(rdata, p, u16(query, HDR_ID));
  p = put16(rdata, p, 0); // Error
  put16(rdata, p, 0); // Other Len
  const rr = encodeRecord({ owner: key.nameWire, type: T.TSIG, cls: CLASS_ANY, ttl: 0, rdata });
  const message = new Uint8Array(query.length + rr.length);
  message.set(query, 0);
  message.set(rr, query.length);
  put16(message, HDR_ARCOUNT, u16(query, HDR_ARCOUNT) + 1);
  return { message, mac };
}

function tsigError(what: string): ApplianceError {
  return new ApplianceError('APPL_ERR_XFR_TSIG', what);
}

/**
 * The primary's refusal of our key, if the message is one: a TSIG record with its Error
 * field set (RFC 8945 §5.2: BADKEY, BADSIG, BADTIME... with RCODE NOTAUTH). Taken as said
 * without checking its MAC (BADKEY and BADSIG answers are unsigned, §5.3.2): believing a
 * forged one only makes the transfer fail, which a forged RST does too.
 */
export function refusedKey(m: Message, key: TsigKey, now: number): ApplianceError | null {
  if (m.tsig === null) return null;
  let f: TsigFields;
  try {
    f = tsigFields(m.tsig.record.rdata);
  } catch {
    return null; // malformed: the stream check reports it
  }
  if (f.error === 0) return null;
  const name = TSIG_ERROR_TEXT.get(f.error) ?? `error ${f.error}`;
  let detail = '';
  if (f.error === BADTIME && f.other.length === 6) {
    // RFC 8945 §5.2.3: a BADTIME answer's Other Data is the server's time.
    const theirs = u16(f.other, 0) * 2 ** 32 + u32(f.other, 2);
    detail = `: its clock says ${new Date(theirs * 1000).toISOString()}, ours ${new Date(now * 1000).toISOString()} (more than ${TSIG_FUDGE} s apart)`;
  } else if (f.error === 16 || f.error === 17) {
    detail = f.error === 17 ? ': it does not know the key name or algorithm' : ': the secrets differ';
  }
  const rcode = (m.rcode & 0xf) === RCODE_NOTAUTH ? 'NOTAUTH, ' : '';
  return tsigError(`the primary refused TSIG key '${key.name}' (${key.algorithm}) with ${rcode}${name}${detail} (RFC 8945 §5.4)`);
}

/**
 * Checks the answers to one signed query, in the order they arrive: a single answer over
 * UDP, or every message of a transfer over TCP. receive() throws APPL_ERR_XFR_TSIG when a
 * MAC does not verify, a signature is missing where one must be, or the time is off;
 * finish() when the last message was not signed.
 */
export class TsigStream {
  private readonly alg: Algorithm;
  private hmac: Hmac;
  private messages = 0;
  private unsignedRun = 0;
  private lastSigned = false;

  constructor(private readonly key: TsigKey, requestMac: Uint8Array, private readonly now: () => number) {
    this.alg = algorithmOf(key);
    this.hmac = createHmac(this.alg.hash, key.secret);
    this.hmac.update(withSize(requestMac));
  }

  /** True when the last message received was signed (and verified). */
  get complete(): boolean {
    return this.lastSigned;
  }

  /** One received message: its bytes as they came, and its parse (with the TSIG record taken out). */
  receive(raw: Uint8Array, m: Message): void {
    const first = this.messages++ === 0;
    const where = first ? 'the first answer' : `answer message ${this.messages}`;
    if (m.tsig === null) {
      // RFC 8945 §5.3.1: the first message must be signed; later ones may not be, up to 99 in a row.
      if (first) throw tsigError(`${where} from the primary is not signed, but the query was signed with key '${this.key.name}' (RFC 8945 §5.3.1)`);
      if (++this.unsignedRun > MAX_UNSIGNED_RUN) {
        throw tsigError(`${MAX_UNSIGNED_RUN + 1} messages in a row without TSIG, up to ${where} (RFC 8945 §5.3.1 allows ${MAX_UNSIGNED_RUN})`);
      }
      this.hmac.update(raw);
      this.lastSigned = false;
      return;
    }
    const f = tsigFields(m.tsig.record.rdata);
    if (!namesEqual(m.tsig.record.owner, this.key.nameWire)) {
      throw tsigError(`${where} is signed with key '${nameToText(m.tsig.record.owner)}', not '${this.key.name}' (RFC 8945 §5.2.1)`);
    }
    if (!namesEqual(f.algorithm, this.alg.wire)) {
      throw tsigError(`${where} is signed with algorithm '${nameToText(f.algorithm)}', not ${this.key.algorithm} (RFC 8945 §5.2.1)`);
    }
    if (m.tsig.record.cls !== CLASS_ANY || m.tsig.record.ttl !== 0) {
      throw new ApplianceError('APPL_ERR_XFR_FORMAT', `malformed TSIG record in ${where}: class ${m.tsig.record.cls} TTL ${m.tsig.record.ttl}, not ANY and 0 (RFC 8945 §4.2)`);
    }
    if (f.error !== 0) {
      throw tsigError(`${where} carries TSIG error ${TSIG_ERROR_TEXT.get(f.error) ?? f.error} (RFC 8945 §5.4)`);
    }
    // RFC 8945 §5.2.2.1 lets the receiver set the shortest MAC it takes; we never ask for a
    // truncated one, so ours is the whole digest.
    if (f.mac.length !== this.alg.size) {
      throw tsigError(`${where} has a ${f.mac.length}-octet MAC; ${this.key.algorithm} gives ${this.alg.size} (RFC 8945 §5.2.2.1: a shorter one is not accepted here)`);
    }
    // The message as it was signed: no TSIG record, ARCOUNT one less, the Original ID (§4.3.2).
    const head = Buffer.from(raw.subarray(0, DNS_HEADER_LEN));
    put16(head, HDR_ID, f.originalId);
    put16(head, HDR_ARCOUNT, u16(raw, HDR_ARCOUNT) - 1);
    this.hmac.update(head);
    this.hmac.update(raw.subarray(DNS_HEADER_LEN, m.tsig.offset));
    // The first answer's MAC covers all the variables, the later ones' only the timers (§5.3.1).
    this.hmac.update(first ? variables(this.key, this.alg, f) : timersOf(f));
    const expected = this.hmac.digest();
    if (!timingSafeEqual(expected, f.mac)) {
      throw tsigError(`the MAC of ${where} does not verify with key '${this.key.name}': the message was altered or signed with another secret (RFC 8945 §5.2.2)`);
    }
    // RFC 8945 §5.2.3: the time is checked after the MAC, so that only a genuine answer can fail it.
    const now = this.now();
    if (Math.abs(now - f.timeSigned) > f.fudge) {
      throw tsigError(`${where} was signed at ${new Date(f.timeSigned * 1000).toISOString()}, ${Math.round(now - f.timeSigned)} s from our clock, outside its fudge of ${f.fudge} s (RFC 8945 §5.2.3)`);
    }
    this.hmac = createHmac(this.alg.hash, this.key.secret);
    this.hmac.update(withSize(f.mac));
    this.unsignedRun = 0;
    this.lastSigned = true;
  }

  /** After the last message: RFC 8945 §5.3.1, it must be signed. */
  finish(): void {
    if (this.messages === 0) throw tsigError('no answer to check against the TSIG key');
    if (!this.lastSigned) {
      throw tsigError(`the last of ${this.messages} messages from the primary is not signed with key '${this.key.name}' (RFC 8945 §5.3.1: the last must be)`);
    }
  }
}

function timersOf(f: TsigFields): Buffer {
  const b = Buffer.alloc(8);
  timers(b, 0, f.timeSigned, f.fudge);
  return b;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
}
