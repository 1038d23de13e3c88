// The zone-transfer client: the primary's SOA over UDP, the zone by AXFR or its changes by
// IXFR over TCP, each signed with TSIG when the primary has a key.
//
// Read first: RFC 5936 §2.2 (an AXFR answer: the SOA, the zone, the SOA again, over as many
// messages as it takes), §2.2.1 (each message's header and question), RFC 1995 §3 (an
// IXFR query carries our SOA in its authority section), §4 (the answer: a lone SOA when we
// are current, the AXFR form when the primary has no differences, else sequences of
// deleted and added records), RFC 1982 §3.2 (serial comparison), RFC 1035 §4.2.2 (TCP:
// two-octet length before each message), §4.1.1 (TC: ask again over TCP), RFC 7766 §6.2
// (the client may close once it has what it asked for), RFC 8945 (TSIG, in tsig.ts).
//
//   IXFR answer (RFC 1995 §4), over one or more messages:
//
//   SOA(new) │ SOA(s0) deleted… SOA(s1) added… │ SOA(s1) deleted… SOA(s2) added… │ … │ SOA(new)
//            └─────────── step s0 → s1 ───────┘ └─────────── step s1 → s2 ──────┘
//
//   AXFR answer, and an IXFR answered in AXFR form (RFC 5936 §2.2, RFC 1995 §4):
//
//   SOA(n) │ the zone's other records… │ SOA(n)
//
// The second record tells the two forms apart: an SOA begins a step, anything else is
// zone data. Records are read one by one as messages arrive, so a step may span messages.
//
// Bounds: one whole operation's deadline (timeoutMs, default 60 s), a silence limit
// (idleMs, default 10 s: no byte that long fails), the bytes received (maxBytes, default
// 512 MiB; the records kept, names expanded, are held to the same figure) and the records
// (maxRecords, default 20 million). At most one message is buffered: each is parsed and its
// records kept as it completes. The socket is destroyed on every way out.
//
// Every failure is an ApplianceError: APPL_ERR_XFR_TIMEOUT, _CONNECT, _RCODE (with the
// RCODE's name), _FORMAT, _TSIG, _LIMIT, _CLOSED (the primary closed mid-answer), _ABORTED
// (the caller's signal), each message starting "AXFR of ZONE from HOST:PORT".

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { ApplianceError, UsageError, type ErrorCode } from '../../basics/errors.js';
import { isSubdomain, nameToText, namesEqual, RRType as T, typeToText } from '../../specializers/dns/zone.js';
import { refusedKey, signQuery, TsigStream, type TsigKey } from './tsig.js';
import {
  CLASS_IN, FLAG_AA, FLAG_QR, FLAG_TC, MessageReader, OPCODE_QUERY, encodeQuery, isApexSoa, put32, rcodeText, soaSerial,
  zoneNameWire, type Message, type WireRecord,
} from './wire-records.js';

export interface Primary {
  host: string;
  port: number;
  key?: TsigKey;
}

export interface XfrOptions {
  /** The whole operation, a fallback to AXFR included (default 60_000). */
  timeoutMs?: number;
  /** No byte from the primary for this long: fail (default 10_000). */
  idleMs?: number;
  /** Bytes received, and bytes of records kept (default 512 MiB). */
  maxBytes?: number;
  /** Records received (default 20_000_000). */
  maxRecords?: number;
  signal?: AbortSignal;
}

/** One step of an IXFR: `deleted` starts with the old SOA, `added` with the new one. */
export interface IxfrDiff {
  from: number;
  to: number;
  deleted: WireRecord[];
  added: WireRecord[];
}

export type Transfer =
  /** The zone, SOA first, the closing SOA not repeated. fellBack: IXFR was asked, refused, and AXFR asked instead. */
  | { kind: 'axfr'; records: WireRecord[]; bytes: number; messages: number; fellBack: boolean }
  | { kind: 'ixfr'; from: number; to: number; soa: WireRecord; diffs: IxfrDiff[]; bytes: number; messages: number }
  | { kind: 'uptodate'; serial: number };

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_MS = 10_000;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const DEFAULT_MAX_RECORDS = 20_000_000;
const DEFAULT_SOA_TIMEOUT_MS = 6_000;
const DEFAULT_SOA_TRIES = 3;
/** Node's timers hold at most 2^31 − 1 ms (a longer one fires at once). */
const MAX_TIMER_MS = 0x7fffffff;

const RCODE_FORMERR = 1, RCODE_NOTIMP = 4, RCODE_REFUSED = 5, RCODE_NOTAUTH = 9;
/** Answers to IXFR after which AXFR is asked instead (NOTAUTH: only without a TSIG error, see refusedKey). */
const IXFR_REFUSALS = new Set([RCODE_NOTIMP, RCODE_REFUSED, RCODE_FORMERR, RCODE_NOTAUTH]);

/** RFC 1982 §3.2: is serial a greater than b (32 bits)? Neither is, when they are 2^31 apart. */
export function serialGreater(a: number, b: number): boolean {
  a >>>= 0;
  b >>>= 0;
  return (a < b && b - a > 0x80000000) || (a > b && a - b < 0x80000000);
}

const nowSeconds = (): number => Date.now() / 1000;

function fail(code: ErrorCode, message: string, cause?: unknown): ApplianceError {
  return new ApplianceError(code, message, cause === undefined ? undefined : { cause });
}

/** The error with "what" before its message, its code kept. */
function within(what: string, e: unknown): unknown {
  if (e instanceof ApplianceError && !(e instanceof UsageError)) return fail(e.code, `${what}: ${e.message}`, e.cause);
  return e;
}

// ---------------------------------------------------------------------------------------
// The SOA query.

/**
 * The primary's SOA for the zone, over UDP (tries times within timeoutMs, default 3 in
 * 6 s), asked again over TCP when the answer is truncated; signed when p.key. Rejects on
 * a timeout, an RCODE, an answer not authoritative or without the zone's SOA, with codes.
 * rtt: milliseconds from the last send to the answer.
 */
export async function querySoa(zone: string, p: Primary, o: { timeoutMs?: number; tries?: number } = {}): Promise<{ serial: number; soa: WireRecord; rtt: number }> {
  const apex = zoneNameWire(zone);
  const timeoutMs = positive(o.timeoutMs ?? DEFAULT_SOA_TIMEOUT_MS, 'timeoutMs', MAX_TIMER_MS);
  const tries = o.tries ?? DEFAULT_SOA_TRIES;
  if (!Number.isInteger(tries) || tries < 1) throw new UsageError(`tries must be a whole number of at least 1, got ${tries}`);
  const what = `SOA query for ${nameToText(apex)} to ${p.host}:${p.port}`;
  const deadline = Date.now() + timeoutMs;
  try {
    let q = makeQuery(apex, T.SOA, [], p.key);
    const udp = await udpExchange(p, q.message, q.id, tries, deadline);
    let raw: Uint8Array = udp.raw;
    let rtt = udp.rtt;
    let m = new MessageReader().parse(raw);
    checkHeader(m, q.id, 1, apex, T.SOA);
    if ((m.flags & FLAG_TC) !== 0) {
      // RFC 1035 §4.2.1, RFC 7766 §5: truncated over UDP, so the same question over TCP.
      q = makeQuery(apex, T.SOA, [], p.key);
      const started = Date.now();
      const stats = { bytes: 0, messages: 0 };
      let tcpRaw: Uint8Array | null = null;
      await tcpSession(p, q.message, { deadline, idleMs: Math.max(1, deadline - Date.now()), maxBytes: 2 + 65535, timeoutMs }, stats, (r) => {
        tcpRaw = r;
        return true;
      });
      raw = tcpRaw!;
      rtt = Date.now() - started;
      m = new MessageReader().parse(raw);
      checkHeader(m, q.id, 1, apex, T.SOA);
    }
    if (p.key) {
      const refused = refusedKey(m, p.key, nowSeconds());
      if (refused) throw refused;
    }
    if (m.rcode !== 0) throw rcodeError(m.rcode, p.key, 'the SOA query');
    if (p.key) {
      const ts = new TsigStream(p.key, q.mac!, nowSeconds);
      ts.receive(raw, m);
      ts.finish();
    }
    if ((m.flags & FLAG_AA) === 0) {
      throw fail('APPL_ERR_XFR_FORMAT', `the answer is not authoritative (AA clear): the primary does not serve ${nameToText(apex)}`);
    }
    const soa = m.answer.find((r) => isApexSoa(r, apex));
    if (soa === undefined) throw fail('APPL_ERR_XFR_FORMAT', `the answer (${m.answer.length} records) holds no SOA for ${nameToText(apex)}`);
    return { serial: soaSerial(soa.rdata), soa, rtt };
  } catch (e) {
    throw within(what, e);
  }
}

/** Sends the query until an answer with its ID comes from the primary's address and port. */
function udpExchange(p: Primary, query: Uint8Array, id: number, tries: number, deadline: number): Promise<{ raw: Buffer; rtt: number }> {
  return new Promise((resolve, reject) => {
    // connect(): the kernel then hands us datagrams from the primary's address and port
    // only, and an ICMP port-unreachable comes back as ECONNREFUSED.
    const sock = dgram.createSocket(net.isIPv6(p.host) ? 'udp6' : 'udp4');
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    let sentAt = 0;
    const finish = (err: Error | null, res?: { raw: Buffer; rtt: number }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* closed already */ }
      if (err) reject(err);
      else resolve(res!);
    };
    const perTry = Math.max(1, Math.floor((deadline - Date.now()) / tries));
    const send = (): void => {
      if (settled) return;
      const left = deadline - Date.now();
      if (sent === tries || left <= 0) {
        finish(fail('APPL_ERR_XFR_TIMEOUT', `no answer over UDP after ${sent} ${sent === 1 ? 'try' : 'tries'} (${Math.round(perTry * sent)} ms)`));
        return;
      }
      sent++;
      sentAt = Date.now();
      sock.send(query, (err) => { if (err) finish(fail('APPL_ERR_XFR_CONNECT', `cannot send over UDP: ${err.message}`, err)); });
      timer = setTimeout(send, Math.min(perTry, left));
    };
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' ? 'nothing listens on that UDP port (ICMP port unreachable)' : err.message;
      finish(fail('APPL_ERR_XFR_CONNECT', why, err));
    });
    sock.on('message', (msg: Buffer) => {
      // RFC 5452 §9.1: what does not carry our ID is not an answer to this query.
      if (msg.length >= 2 && msg.readUInt16BE(0) === id) finish(null, { raw: msg, rtt: Date.now() - sentAt });
    });
    sock.connect(p.port, p.host, send);
  });
}

// ---------------------------------------------------------------------------------------
// Transfers.

/**
 * AXFR when `have` is absent; IXFR (our SOA in the authority section, RFC 1995 §3) when it
 * is given (`have.serial` is the serial sent). An IXFR answered in AXFR form comes back as
 * kind 'axfr', one answered by a lone SOA whose serial is not greater than ours as
 * 'uptodate'. An IXFR refused with NOTIMP, REFUSED, FORMERR or NOTAUTH without a TSIG
 * error, a connection closed before any answer, or a lone SOA newer than ours and then the
 * connection closed (the RFC 1995 §4 "ask over TCP" reply, from a primary that does not do
 * IXFR even there), is asked again once as AXFR (fellBack: true). bytes and messages count
 * everything the call received.
 */
export async function transfer(zone: string, p: Primary, have?: { serial: number; soa: WireRecord }, o: XfrOptions = {}): Promise<Transfer> {
  const apex = zoneNameWire(zone);
  const timeoutMs = positive(o.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs', MAX_TIMER_MS);
  const lim: Limits = {
    deadline: Date.now() + timeoutMs,
    timeoutMs,
    idleMs: positive(o.idleMs ?? DEFAULT_IDLE_MS, 'idleMs', MAX_TIMER_MS),
    maxBytes: positive(o.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes'),
    maxRecords: positive(o.maxRecords ?? DEFAULT_MAX_RECORDS, 'maxRecords'),
    signal: o.signal,
  };
  const totals = { bytes: 0, messages: 0 };
  if (have === undefined) return transferOnce(apex, p, T.AXFR, undefined, lim, totals, false) as Promise<Transfer>;
  if (have.soa.type !== T.SOA || soaSerial(have.soa.rdata) < 0) throw new UsageError('transfer(): have.soa is not an SOA record');
  const ixfr = await transferOnce(apex, p, T.IXFR, have, lim, totals, false);
  if (ixfr !== 'fallback') return ixfr;
  return transferOnce(apex, p, T.AXFR, undefined, lim, totals, true) as Promise<Transfer>;
}

/** What bounds one TCP exchange. */
interface SessionLimits {
  deadline: number;
  timeoutMs: number;
  idleMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

interface Limits extends SessionLimits {
  maxRecords: number;
}

async function transferOnce(
  apex: Uint8Array, p: Primary, qtype: number, have: { serial: number; soa: WireRecord } | undefined,
  lim: Limits, totals: { bytes: number; messages: number }, fellBack: boolean,
): Promise<Transfer | 'fallback'> {
  const what = `${typeToText(qtype)} of ${nameToText(apex)} from ${p.host}:${p.port}${fellBack ? ' (after IXFR was refused)' : ''}`;
  const authority = have === undefined ? [] : [ourSoa(apex, have)];
  const q = makeQuery(apex, qtype, authority, p.key);
  const reader = new AnswerReader(apex, qtype, q.id, have?.serial, p.key ? new TsigStream(p.key, q.mac!, nowSeconds) : null, p.key, lim);
  const stats = { bytes: 0, messages: 0 };
  try {
    await tcpSession(p, q.message, lim, stats, (raw) => reader.message(raw));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (qtype === T.IXFR && code === 'APPL_ERR_XFR_CLOSED' && (stats.messages === 0 || reader.loneNewerSoa)) {
      totals.bytes += stats.bytes;
      totals.messages += stats.messages;
      return 'fallback';
    }
    throw within(what, e);
  }
  totals.bytes += stats.bytes;
  totals.messages += stats.messages;
  return reader.result(totals, fellBack);
}

/** Our SOA for the IXFR query's authority section (RFC 1995 §3), with have.serial in it. */
function ourSoa(apex: Uint8Array, have: { serial: number; soa: WireRecord }): WireRecord {
  const rdata = have.soa.rdata.slice();
  put32(rdata, rdata.length - 20, have.serial >>> 0);
  return { owner: apex, type: T.SOA, cls: CLASS_IN, ttl: have.soa.ttl, rdata };
}

function makeQuery(apex: Uint8Array, qtype: number, authority: WireRecord[], key: TsigKey | undefined): { id: number; message: Uint8Array; mac: Uint8Array | null } {
  const id = randomInt(0, 0x10000);
  const query = encodeQuery(id, apex, qtype, authority);
  if (key === undefined) return { id, message: query, mac: null };
  const s = signQuery(query, key, nowSeconds());
  return { id, message: s.message, mac: s.mac };
}

/** RFC 5936 §2.2.1: every message answers our query: our ID, QR set, opcode QUERY, our question or none. */
function checkHeader(m: Message, id: number, index: number, apex: Uint8Array, qtype: number): void {
  if (m.id !== id) throw fail('APPL_ERR_XFR_FORMAT', `the answer has ID ${m.id}, the query's was ${id} (RFC 5936 §2.2.1)`);
  if ((m.flags & FLAG_QR) === 0) throw fail('APPL_ERR_XFR_FORMAT', 'the answer has QR clear: it is a query, not a response');
  if (m.opcode !== OPCODE_QUERY) throw fail('APPL_ERR_XFR_FORMAT', `the answer has opcode ${m.opcode}, not QUERY (0)`);
  if (m.rcode !== 0) return; // error answers may leave the question out; the RCODE is reported first
  if (m.question.length > 1) throw fail('APPL_ERR_XFR_FORMAT', `the answer has ${m.question.length} questions (RFC 5936 §2.2.1: one, or none after the first message)`);
  if (m.question.length === 0) {
    if (index === 1) throw fail('APPL_ERR_XFR_FORMAT', 'the first answer message has no question (RFC 5936 §2.2.1: it repeats the query\'s)');
    return;
  }
  const qn = m.question[0]!;
  if (!namesEqual(qn.name, apex) || qn.type !== qtype || qn.cls !== CLASS_IN) {
    throw fail('APPL_ERR_XFR_FORMAT', `the answer's question is ${nameToText(qn.name)} ${typeToText(qn.type)} class ${qn.cls}, not ours, ${nameToText(apex)} ${typeToText(qtype)} IN (RFC 5936 §2.2.1)`);
  }
}

function rcodeError(rcode: number, key: TsigKey | undefined, what: string): ApplianceError {
  const hint = rcode === RCODE_NOTAUTH
    ? key ? ` (the primary does not let key '${key.name}' transfer this zone, or does not serve it)` : ' (the primary does not let us transfer this zone without a key, or does not serve it)'
    : rcode === RCODE_REFUSED ? ' (the primary\'s ACL does not allow us, or it does not serve the zone)' : '';
  return fail('APPL_ERR_XFR_RCODE', `${what} was answered ${rcodeText(rcode)}${hint}`);
}

type Mode = 'first' | 'second' | 'axfr' | 'deleting' | 'adding' | 'done' | 'fallback';

/** The answer to one AXFR or IXFR query, record by record as its messages complete. */
class AnswerReader {
  private readonly parser = new MessageReader();
  private mode: Mode = 'first';
  private messages = 0;
  private records = 0;
  private held = 0;
  private lastOwner: Uint8Array | null = null;
  private firstSoa: WireRecord | null = null;
  private newSerial = 0;
  private readonly zone: WireRecord[] = [];
  private readonly diffs: IxfrDiff[] = [];
  private step: IxfrDiff | null = null;
  /** An IXFR answered so far by one message holding one SOA, newer than ours. */
  loneNewerSoa = false;

  constructor(
    private readonly apex: Uint8Array, private readonly qtype: number, private readonly id: number,
    private readonly have: number | undefined, private readonly tsig: TsigStream | null,
    private readonly key: TsigKey | undefined, private readonly lim: Limits,
  ) {}

  /** One whole message; true when the answer is complete. */
  message(raw: Uint8Array): boolean {
    const index = ++this.messages;
    try {
      return this.take(raw, index);
    } catch (e) {
      throw within(`answer message ${index}`, e);
    }
  }

  private take(raw: Uint8Array, index: number): boolean {
    const m = this.parser.parse(raw);
    checkHeader(m, this.id, index, this.apex, this.qtype);
    if (this.key) {
      const refused = refusedKey(m, this.key, nowSeconds());
      if (refused) throw refused;
    }
    if (m.rcode !== 0) {
      // An error answer's TSIG is not checked: believing a forged one only makes us fail,
      // or ask for AXFR, whose answer is checked in full.
      if (index === 1 && this.qtype === T.IXFR && IXFR_REFUSALS.has(m.rcode)) {
        this.mode = 'fallback';
        return true;
      }
      throw rcodeError(m.rcode, this.key, `the ${typeToText(this.qtype)} query`);
    }
    this.tsig?.receive(raw, m);
    this.loneNewerSoa = false;
    const n = m.answer.length;
    if (index === 1 && n === 0) throw fail('APPL_ERR_XFR_FORMAT', 'the first answer message holds no records (RFC 5936 §2.2: it starts with the zone\'s SOA)');
    for (let i = 0; i < n; i++) {
      if (this.mode === 'done') throw fail('APPL_ERR_XFR_FORMAT', `${n - i} records after the closing SOA (RFC 5936 §2.2: the SOA ends the answer)`);
      this.record(m.answer[i]!, index === 1 && n === 1);
    }
    if (this.mode !== 'done') return false;
    this.tsig?.finish();
    return true;
  }

  private record(r: WireRecord, alone: boolean): void {
    if (++this.records > this.lim.maxRecords) {
      throw fail('APPL_ERR_XFR_LIMIT', `more than ${this.lim.maxRecords} records (maxRecords)`);
    }
    this.held += r.rdata.length + (r.owner === this.lastOwner ? 0 : r.owner.length);
    this.lastOwner = r.owner;
    if (this.held > this.lim.maxBytes) throw fail('APPL_ERR_XFR_LIMIT', `the records take more than ${this.lim.maxBytes} bytes once their names are expanded (maxBytes)`);
    if (!isSubdomain(r.owner, this.apex)) {
      throw fail('APPL_ERR_XFR_FORMAT', `record ${this.records} (${nameToText(r.owner)} ${typeToText(r.type)}) is outside the zone ${nameToText(this.apex)}`);
    }
    const isSoa = r.type === T.SOA;
    if (isSoa && !isApexSoa(r, this.apex)) {
      throw fail('APPL_ERR_XFR_FORMAT', `an SOA record at ${nameToText(r.owner)} class ${r.cls}: a zone has one, at its apex, class IN (RFC 1034 §4.2.1)`);
    }
    const serial = isSoa ? soaSerial(r.rdata) : -1;
    switch (this.mode) {
      case 'first':
        // RFC 5936 §2.2, RFC 1995 §4: the answer starts with the zone's (new) SOA.
        if (!isSoa) throw fail('APPL_ERR_XFR_FORMAT', `the answer starts with ${nameToText(r.owner)} ${typeToText(r.type)}, not the zone's SOA (RFC 5936 §2.2)`);
        this.firstSoa = r;
        this.newSerial = serial;
        if (this.qtype === T.AXFR) {
          this.zone.push(r);
          this.mode = 'axfr';
        } else if (alone && !serialGreater(serial, this.have!)) {
          // RFC 1995 §4: a lone SOA not newer than ours: we are current.
          this.mode = 'done';
        } else {
          this.loneNewerSoa = alone;
          this.mode = 'second';
        }
        return;
      case 'second':
        if (!isSoa) {
          // RFC 1995 §4: the AXFR form.
          this.zone.push(this.firstSoa!, r);
          this.mode = 'axfr';
        } else if (serial === this.newSerial) {
          this.zone.push(this.firstSoa!); // the AXFR form of a zone that is its SOA alone
          this.mode = 'done';
        } else {
          if (serial !== this.have) {
            throw fail('APPL_ERR_XFR_FORMAT', `the IXFR starts from serial ${serial}, not from ours (${this.have}) (RFC 1995 §4)`);
          }
          this.openStep(r, serial);
        }
        return;
      case 'axfr':
        if (!isSoa) {
          this.zone.push(r);
          return;
        }
        if (serial !== this.newSerial) {
          throw fail('APPL_ERR_XFR_FORMAT', `the closing SOA has serial ${serial}, the opening one ${this.newSerial} (RFC 5936 §2.2: the same SOA ends the transfer)`);
        }
        this.mode = 'done';
        return;
      case 'deleting': {
        const step = this.step!;
        if (!isSoa) {
          step.deleted.push(r);
          return;
        }
        if (!serialGreater(serial, step.from) || serialGreater(serial, this.newSerial)) {
          throw fail('APPL_ERR_XFR_FORMAT', `an IXFR step from serial ${step.from} to ${serial}, which is not between it and the new serial ${this.newSerial} (RFC 1995 §4, RFC 1982)`);
        }
        step.to = serial;
        step.added.push(r);
        this.mode = 'adding';
        return;
      }
      case 'adding': {
        const step = this.step!;
        if (!isSoa) {
          step.added.push(r);
          return;
        }
        if (serial === this.newSerial && step.to === this.newSerial) {
          this.mode = 'done';
          return;
        }
        if (serial !== step.to) {
          throw fail('APPL_ERR_XFR_FORMAT', `an IXFR step starts from serial ${serial}, but the one before ended at ${step.to} (RFC 1995 §4)`);
        }
        this.openStep(r, serial);
        return;
      }
      default:
        throw new Error(`AnswerReader: record in mode ${this.mode}`);
    }
  }

  private openStep(soa: WireRecord, from: number): void {
    this.step = { from, to: from, deleted: [soa], added: [] };
    this.diffs.push(this.step);
    this.mode = 'deleting';
  }

  result(totals: { bytes: number; messages: number }, fellBack: boolean): Transfer | 'fallback' {
    if (this.mode === 'fallback') return 'fallback';
    if (this.mode !== 'done') throw new Error('AnswerReader: result before the answer is complete');
    if (this.diffs.length > 0) {
      return { kind: 'ixfr', from: this.have!, to: this.newSerial, soa: this.firstSoa!, diffs: this.diffs, bytes: totals.bytes, messages: totals.messages };
    }
    if (this.zone.length === 0) return { kind: 'uptodate', serial: this.newSerial };
    return { kind: 'axfr', records: this.zone, bytes: totals.bytes, messages: totals.messages, fellBack };
  }
}

// ---------------------------------------------------------------------------------------
// TCP: one query, answers framed by their two-octet length (RFC 1035 §4.2.2).

/**
 * Connects, sends the query, and hands each complete message to onMessage until it returns
 * true. stats counts what arrived (also when it rejects). Rejects with APPL_ERR_XFR_CONNECT
 * (no connection), _CLOSED (closed or reset before the answer was complete), _TIMEOUT,
 * _LIMIT (more than maxBytes), _ABORTED, or what onMessage threw.
 */
function tcpSession(
  p: Primary, query: Uint8Array, lim: SessionLimits, stats: { bytes: number; messages: number }, onMessage: (raw: Uint8Array) => boolean,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let connected = false;
    const pending: Buffer[] = [];
    let pendingLen = 0;
    const left = lim.deadline - Date.now();
    const finish = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(idle);
      lim.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err === null) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish(fail('APPL_ERR_XFR_ABORTED', 'aborted', lim.signal?.reason));
    const sock = net.connect({ host: p.host, port: p.port });
    const total = setTimeout(() => finish(fail('APPL_ERR_XFR_TIMEOUT', `not done within ${lim.timeoutMs} ms (timeoutMs)`)), Math.max(0, left));
    const idle = setTimeout(() => finish(fail('APPL_ERR_XFR_TIMEOUT', `${connected ? 'nothing from the primary' : 'no TCP connection'} for ${lim.idleMs} ms (idleMs)`)), lim.idleMs);
    if (lim.signal?.aborted) {
      onAbort();
      return;
    }
    lim.signal?.addEventListener('abort', onAbort, { once: true });
    sock.setNoDelay(true);
    sock.on('connect', () => {
      connected = true;
      idle.refresh();
      const framed = Buffer.allocUnsafe(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      framed.set(query, 2);
      sock.write(framed);
    });
    sock.on('data', (chunk: Buffer) => {
      if (settled) return;
      idle.refresh();
      stats.bytes += chunk.length;
      if (stats.bytes > lim.maxBytes) {
        finish(fail('APPL_ERR_XFR_LIMIT', `more than ${lim.maxBytes} bytes (maxBytes)`));
        return;
      }
      pending.push(chunk);
      pendingLen += chunk.length;
      try {
        while (!settled && pendingLen >= 2) {
          const len = (byteAt(pending, 0) << 8) | byteAt(pending, 1);
          if (pendingLen < 2 + len) break;
          const msg = take(pending, 2 + len).subarray(2);
          pendingLen -= 2 + len;
          stats.messages++;
          if (onMessage(msg)) finish(null);
        }
      } catch (e) {
        finish(e);
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) finish(fail('APPL_ERR_XFR_CONNECT', `cannot connect over TCP: ${err.code ?? err.message}`, err));
      else finish(fail('APPL_ERR_XFR_CLOSED', `the connection failed after ${stats.messages} complete messages: ${err.code ?? err.message}`, err));
    });
    sock.on('close', () => {
      if (!connected) finish(fail('APPL_ERR_XFR_CONNECT', 'the TCP connection closed before it was established'));
      else finish(fail('APPL_ERR_XFR_CLOSED', `the primary closed the connection after ${stats.messages} complete messages${pendingLen > 0 ? ` and ${pendingLen} bytes of another` : ''}, before the answer was complete`));
    });
  });
}

function byteAt(chunks: Buffer[], i: number): number {
  for (const c of chunks) {
    if (i < c.length) return c[i]!;
    i -= c.length;
  }
  throw new RangeError('byteAt past the buffered bytes');
}

/** The first n buffered bytes, taken off the chunks (a view when one chunk holds them). */
function take(chunks: Buffer[], n: number): Buffer {
  const first = chunks[0]!;
  if (first.length >= n) {
    if (first.length === n) chunks.shift();
    else chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  while (o < n) {
    const c = chunks[0]!;
    const k = Math.min(c.length, n - o);
    c.copy(out, o, 0, k);
    o += k;
    if (k === c.length) chunks.shift();
    else chunks[0] = c.subarray(k);
  }
  return out;
}

function positive(v: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isFinite(v) || v <= 0 || v > max) throw new UsageError(`${what} must be a positive number up to ${max}, got ${v}`);
  return v;
}
