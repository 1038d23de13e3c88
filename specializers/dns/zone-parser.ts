// The RFC 1035 master-file parser: entries → ZoneRecords with wire-format names and RDATA.
//
// Read first: RFC 1035 §5 (the format; $ORIGIN, $INCLUDE, the blank owner, TTL and class
// in either order), RFC 2308 §4 ($TTL), RFC 3597 §5 (TYPEnnn, CLASSnnn, `\#`), RFC 2181
// §8 (TTLs are 31 bits), and NSD's zone parser for the choices the RFCs leave open:
//   - no $TTL and no TTL on a record: 3600 s, as NSD does (a warning says so);
//   - $INCLUDE: an absolute path is opened as given (as NSD does); a relative one is
//     relative to the including file (NSD: to its zonesdir); the optional origin applies
//     to the included file only; after it, $ORIGIN is restored but $TTL, the previous
//     owner and class carry over from the included file (as in NSD); nesting deeper
//     than 10 or a file that includes itself is an error;
//   - a name in column 1 is always an owner, even `IN` (a warning points it out).
//
// Reading: a zone file and every file it includes must be a regular file (a FIFO, a
// device such as /dev/zero, a directory: refused, naming the $INCLUDE line, never read),
// and what one zone reads, its file and all its $INCLUDEs together, is capped at
// MAX_ZONE_BYTES (1 GiB: about 25 million records, more than a build's memory holds;
// NSD has no cap). Each file is read for the size it had when opened, and a file that
// grows meanwhile is refused rather than followed (specializers/regular-file.ts).
//
// Performance: the input is read as bytes, tokens are offsets, owner names are interned
// (a blank owner reuses the previous name without a lookup), RDATA is written into one
// scratch buffer and copied into the record store's arena. Nothing is allocated per
// record: a record is a row of the store's columns (record-store.ts).

import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { NameTable, TextFormatError, nameToText, writeNameBytes, nameToWire } from './dns-name.js';
import { RdataParser } from './rdata-parse.js';
import { Carver, RecordStore, type ZoneRecord } from './record-store.js';
import { CLASS_IN, T, classFromBytes, isMetaType, typeFromBytes, typeToText } from './rr-types.js';
import { MAX_TTL, period } from './text-codec.js';
import { ProblemList, where } from './zone-errors.js';
import { TOK_QUOTED, ZoneLexer, latin1 } from './zone-lexer.js';
import { BuildInputError } from '../../basics/errors.js';
import { readRegularFile } from '../regular-file.js';
import { canSplit, splitCounts, SplitPart, type SplitJob, type SplitReply } from './zone-split.js';

export type { ZoneRecord } from './record-store.js';

export interface ParsedZone {
  /** The zone apex, wire format. */
  origin: Uint8Array;
  file: string;
  /** The records, column by column: what the build reads. */
  store: RecordStore;
  /** The records as objects, made on the first use (tests, small users; the build reads `store`). */
  readonly records: ZoneRecord[];
  /** "file:line: message" lines. */
  warnings: string[];
  /**
   * From checkZone: the owners interned case-insensitively, ids in order of first
   * appearance, and each record's id (ownerId[k] for store record k), so that the model
   * need not hash every owner again. Taken once (the model hands the table's index over).
   */
  owners?: ZoneOwners;
}

export interface ZoneOwners {
  table: NameTable;
  ownerId: Int32Array;
}

/** A ParsedZone over a store, its `records` made when first read. */
export function parsedZone(origin: Uint8Array, file: string, store: RecordStore, warnings: string[], owners?: ZoneOwners): ParsedZone {
  return { origin, file, store, warnings, owners, get records() { return store.all(); } };
}

export interface ParseOptions {
  /** The zone's origin (apex); relative names before any $ORIGIN resolve against it. */
  origin?: string;
  /** The most bytes read for the zone, its file and every $INCLUDE together (default MAX_ZONE_BYTES). */
  maxBytes?: number;
  /** Files at least this long are parsed in two threads (zone-split.ts; default SPLIT_ABOVE, Infinity: never). */
  splitAbove?: number;
}

export interface ParseTextOptions extends ParseOptions {
  /** Shown in messages and stored in records. */
  file: string;
  /** Directory that relative $INCLUDE paths resolve against (default: the file's directory). */
  includeBase?: string;
}

/** TTL for records without one when the file has no $TTL (NSD's DEFAULT_TTL). */
export const DEFAULT_TTL = 3600;
/** NSD's limit on nested $INCLUDEs. */
export const MAX_INCLUDE_DEPTH = 10;
const MAX_WARNINGS = 200;
/** The share of a split file the build's own thread parses (zone-split.ts). */
const SPLIT_FIRST = 0.57;

/** The most zone text one zone may be: its file and all its $INCLUDEs together. */
export const MAX_ZONE_BYTES = 1 << 30;
const LIMIT_WHAT = 'the most zone text one zone may have, with its $INCLUDEs';

export function parseZoneFile(path: string, opts: ParseOptions = {}): ParsedZone {
  const max = opts.maxBytes ?? MAX_ZONE_BYTES;
  // A big file is read into shared memory, for a second thread to parse half of it (zone-split.ts).
  const r = readRegularFile(path, { limit: max, limitWhat: LIMIT_WHAT, alloc: (n) => (canSplit(n, opts.splitAbove) ? new Uint8Array(new SharedArrayBuffer(n)) : Buffer.allocUnsafe(n)) });
  if (!r.ok) throw new BuildInputError('APPL_ERR_ZONE_READ', path, undefined, `cannot read the zone file: ${r.why}`);
  const p = new ZoneParser(opts.origin, max - r.bytes.length);
  return p.run(r.bytes, path, dirname(path), r.bytes.buffer instanceof SharedArrayBuffer);
}

/** The worker's half of a split parse (zone-split-worker.ts): the records from job.from on, and what the first part needs of the rest. */
export function parsePart(job: SplitJob): { reply: SplitReply; transfer: ArrayBuffer[] } {
  // Room for all of its records from the start (a record per line at most): its thread's
  // memory freed in the build's thread would stay with that thread's malloc arena, unused.
  const text = new Uint8Array(job.text, 0, job.length);
  let lines = 1;
  for (let i = text.indexOf(0x0a, job.from); i >= 0; i = text.indexOf(0x0a, i + 1)) lines++;
  // Columns, owner ids, owner spans (3 words a name), the name table's slots.
  const carver = new Carver(RecordStore.columnBytes(lines) + 16 * lines + 4 * NameTable.slotsFor(lines) + 64);
  const p = new ZoneParser(undefined, job.budget, lines, carver);
  return p.runPart(job);
}

export function parseZoneText(text: string, opts: ParseTextOptions): ParsedZone {
  const bytes = Buffer.from(text, 'utf8');
  const p = new ZoneParser(opts.origin, (opts.maxBytes ?? MAX_ZONE_BYTES) - bytes.length);
  return p.run(bytes, opts.file, opts.includeBase ?? dirname(opts.file));
}

function absoluteOrigin(text: string): Uint8Array {
  const t = text.endsWith('.') ? text : text + '.';
  return nameToWire(t);
}

class ZoneParser {
  private readonly store: RecordStore;
  private readonly warnings: string[] = [];
  private warningCount = 0;
  private readonly problems = new ProblemList();
  private readonly owners: NameTable;
  private readonly rdataParser = new RdataParser();
  private readonly nameBuf = new Uint8Array(1024);
  private readonly apex: Uint8Array | null;
  private origin: Uint8Array | null;
  private firstOrigin: Uint8Array | null = null;
  private soaOwner: Uint8Array | null = null;
  private ttl = DEFAULT_TTL;
  private ttlSet = false;
  private lastOwner: Uint8Array | null = null;
  /** This parser is a split's second part (runPart). */
  private part = false;
  private lastOwnerId = -1;
  /** Each record's owner as its id in `owners`, kept for a split's second part only (its records move to another thread). */
  private ownerIds: Int32Array | null = null;
  private lastClass = CLASS_IN;
  /** Real paths of the files being read, outermost first (for loop detection). */
  private readonly includeStack: string[] = [];
  /** The same files as written (for messages). */
  private readonly fileStack: string[] = [];
  /** Token whose line an error should name. */
  private tok = 0;

  /**
   * @param budget bytes the $INCLUDEs may still read
   * @param expected records (and owner names) to make room for from the start
   * @param carver where the big arrays come from (a split's worker: zone-split.ts)
   */
  constructor(origin: string | undefined, private budget: number, expected = 1024, private readonly carver?: Carver) {
    this.store = new RecordStore(expected, carver);
    this.owners = new NameTable(false, expected, carver ? (n) => carver.i32(n) : undefined);
    let apex: Uint8Array | null = null;
    if (origin !== undefined) {
      try {
        apex = absoluteOrigin(origin);
      } catch (e) {
        throw new BuildInputError('APPL_ERR_ZONE_PARSE', origin, undefined, `bad zone origin: ${(e as Error).message}`);
      }
    }
    this.apex = apex;
    this.origin = apex;
  }

  run(buf: Uint8Array, file: string, dir: string, split = false): ParsedZone {
    this.includeStack.push(realPathOr(file));
    this.fileStack.push(file);
    this.parseBuffer(buf, file, dir, split);
    const apex = this.apex ?? this.soaOwner ?? this.firstOrigin;
    if (apex === null && this.problems.total === 0) {
      this.problems.add('APPL_ERR_ZONE_PARSE', file, undefined,
        "cannot tell the zone's origin: the file has no SOA record and no $ORIGIN; give it as --zone ORIGIN=FILE");
    }
    this.problems.throwIfAny(apex === null ? file : nameToText(apex));
    return parsedZone(apex!, file, this.store, this.warnings);
  }

  private warn(file: string, line: number, message: string): void {
    this.note(file, `${where(file, line)}: ${message}`);
  }

  /** Counts a warning, kept while there are fewer than MAX_WARNINGS. */
  private note(file: string, text: string): void {
    if (this.warningCount++ < MAX_WARNINGS) this.warnings.push(text);
    else if (this.warningCount === MAX_WARNINGS + 1) this.warnings.push(`${file}: further warnings not shown`);
  }

  private parseBuffer(buf: Uint8Array, file: string, dir: string, split = false): void {
    let from = 0;
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
      // Some editors start UTF-8 files with a byte-order mark; it is not zone data.
      this.warn(file, 1, 'the file starts with a UTF-8 byte-order mark; it was skipped');
      from = 3;
    }
    const lx = new ZoneLexer(buf, from);
    if (split) this.splitAndParse(lx, file, dir);
    this.entries(lx, file, dir);
  }

  /**
   * Parses the first part of the file while a worker parses the rest (zone-split.ts), and
   * takes the worker's records when the first part ends where the worker began, in the
   * state it began with. Otherwise, or when the worker fails, returns with the lexer where
   * the first part ended, for the caller to go on through the rest.
   */
  private splitAndParse(lx: ZoneLexer, file: string, dir: string): void {
    const plan = this.planSplit(lx.buf, lx.offset, file, dir);
    if (plan === null) return;
    const part = SplitPart.start({ ...plan, text: lx.buf.buffer as SharedArrayBuffer, length: lx.buf.length, file, dir, budget: this.budget });
    if (part === null) return;
    const started = performance.now();
    const budget = this.budget;
    lx.limit = plan.from;
    this.entries(lx, file, dir);
    lx.limit = lx.buf.length;
    const same = lx.offset === plan.from && this.origin !== null && bytesEqual(this.origin, plan.origin) &&
      this.ttl === plan.ttl && this.ttlSet === plan.ttlSet && this.lastClass === plan.cls && this.budget === budget;
    if (!same) {
      part.stop();
      splitCounts.redone++;
      return;
    }
    // The worker started at the same time on a part of about the same size: it is late only when starved of a core.
    const reply = part.wait(30_000 + 4 * (performance.now() - started));
    if (reply === null || !reply.ok) {
      splitCounts.redone++;
      return;
    }
    splitCounts.taken++;
    this.store.appendParts(reply.parts);
    for (const w of reply.warnings) this.note(file, w);
    for (let k = reply.warnings.length; k < reply.warningCount; k++) this.note(file, '');
    for (const q of reply.problems) this.problems.add(q.code, q.file, q.line, q.message);
    this.problems.total += reply.problemTotal - reply.problems.length;
    this.soaOwner ??= reply.soaOwner;
    this.firstOrigin ??= reply.firstOrigin;
    lx.skipToEnd();
  }

  /**
   * Where the second part starts (a line near the middle with an owner in column 1) and the
   * state there as the directive lines above it make it; null when the file is not split.
   */
  private planSplit(buf: Uint8Array, start: number, file: string, dir: string): { from: number; origin: Uint8Array; ttl: number; ttlSet: boolean; cls: number } | null {
    const n = buf.length;
    // The worker's part a little shorter: it starts a thread and hands its records over.
    let from = buf.indexOf(0x0a, start + Math.floor((n - start) * SPLIT_FIRST)) + 1;
    for (let tries = 0; from > 0 && from < n && !isOwnerStart(buf[from]!); tries++) {
      if (tries === 10_000) return null;
      from = buf.indexOf(0x0a, from) + 1;
    }
    if (from <= 0 || from >= n) return null;
    // The directive lines: those starting with '$' in column 1.
    const lines: Uint8Array[] = [];
    for (let i = buf.indexOf(0x24, start); i >= 0; i = buf.indexOf(0x24, i + 1)) {
      if (i !== start && buf[i - 1] !== 0x0a) continue;
      const e = buf.indexOf(0x0a, i);
      const line = buf.subarray(i, e < 0 ? n : e + 1);
      if (line.length >= 8 && latin1(line, 0, 8).toUpperCase() === '$INCLUDE') return null;
      if (i < from) lines.push(line);
    }
    const g = new ZoneParser(undefined, 0);
    g.origin = this.origin;
    g.ttl = this.ttl;
    g.ttlSet = this.ttlSet;
    g.entries(new ZoneLexer(Buffer.concat(lines)), file, dir);
    if (g.problems.total > 0 || g.origin === null) return null;
    return { from, origin: g.origin, ttl: g.ttl, ttlSet: g.ttlSet, cls: CLASS_IN };
  }

  /** The worker's side of a split: parses from job.from to the end in the state given. */
  runPart(job: SplitJob): { reply: SplitReply; transfer: ArrayBuffer[] } {
    this.part = true;
    this.includeStack.push(realPathOr(job.file));
    this.fileStack.push(job.file);
    this.origin = job.origin;
    this.ttl = job.ttl;
    this.ttlSet = job.ttlSet;
    this.lastClass = job.cls;
    this.ownerIds = this.carver ? this.carver.i32(this.store.capacity) : new Int32Array(this.store.capacity);
    const buf = new Uint8Array(job.text, 0, job.length);
    let line = 1;
    for (let i = buf.indexOf(0x0a); i >= 0 && i < job.from; i = buf.indexOf(0x0a, i + 1)) line++;
    try {
      this.entries(new ZoneLexer(buf, job.from, line), job.file, job.dir);
    } catch (e) {
      if (!(e instanceof PartUnsure)) throw e;
      return { reply: { ok: false, error: 'an entry with a blank owner before any record of the part' }, transfer: [] };
    }
    const carver = this.carver;
    const alloc = carver && carver.room >= this.owners.size * 12 + 8 ? (n: number): Int32Array => carver.i32(n) : undefined;
    const { parts, transfer } = this.store.exportParts({ ids: this.ownerIds, names: this.owners.names, alloc });
    const kept = Math.min(this.warningCount, MAX_WARNINGS);
    return {
      reply: {
        ok: true, parts, warnings: this.warnings.slice(0, kept), warningCount: this.warningCount,
        problems: this.problems.problems, problemTotal: this.problems.total, soaOwner: this.soaOwner, firstOrigin: this.firstOrigin,
      },
      transfer,
    };
  }

  private entries(lx: ZoneLexer, file: string, dir: string): void {
    while (lx.next()) {
      if (lx.error !== null) {
        this.problems.add('APPL_ERR_ZONE_PARSE', file, lx.errorLine, lx.error);
        continue;
      }
      this.tok = 0;
      try {
        this.entry(lx, file, dir);
      } catch (e) {
        if (!(e instanceof TextFormatError)) throw e;
        const t = Math.min(this.tok < 0 ? this.rdataParser.tok : this.tok, lx.count - 1);
        this.problems.add('APPL_ERR_ZONE_PARSE', file, lx.lines[t]!, e.message);
      }
    }
  }

  private entry(lx: ZoneLexer, file: string, dir: string): void {
    const b = lx.buf;
    let i = 0;
    let owner: Uint8Array;
    let ownerId: number;
    if (lx.blankOwner) {
      if (this.lastOwner === null) {
        // A split's second part does not know the owner before it (its first entry failed):
        // the first part parses the rest itself.
        if (this.part) throw new PartUnsure();
        throw new TextFormatError('the first record has no owner name (the line starts with a blank, and no record comes before it)');
      }
      owner = this.lastOwner;
      ownerId = this.lastOwnerId;
    } else {
      if (b[lx.start[0]!] === 0x24 && (lx.flags[0]! & TOK_QUOTED) === 0) {
        this.directive(lx, file, dir);
        return;
      }
      ownerId = this.ownerName(lx, file);
      owner = this.owners.names[ownerId]!;
      i = 1;
    }

    let ttl = -1;
    let cls = -1;
    for (;;) {
      this.tok = i;
      if (i >= lx.count) throw new TextFormatError('the record has no type');
      const s = lx.start[i]!, e = lx.end[i]!;
      const c = b[s]!;
      if (ttl < 0 && c >= 0x30 && c <= 0x39) {
        ttl = period(b, s, e);
        if (ttl < 0) throw new TextFormatError(`'${lx.text(i)}' is not a valid TTL (seconds, or units like 1h30m)${columnOneHint(lx)}`);
        if (ttl > MAX_TTL) throw new TextFormatError(`TTL ${ttl} is out of range: at most ${MAX_TTL} (RFC 2181 §8)`);
        i++;
        continue;
      }
      if (cls < 0) {
        const k = classFromBytes(b, s, e);
        if (k >= 0) {
          cls = k;
          i++;
          continue;
        }
      }
      break;
    }
    const type = typeFromBytes(b, lx.start[i]!, lx.end[i]!);
    if (type < 0) throw new TextFormatError(`unrecognized RR type '${lx.text(i)}'${columnOneHint(lx)}`);
    if (isMetaType(type)) throw new TextFormatError(`type ${typeToText(type)} is a query or meta type and cannot appear in a zone (RFC 6895 §3.1)`);
    i++;
    if (type === T.SOA && this.origin === null) this.origin = owner; // the apex, for the SOA's own names

    this.tok = -1; // from here on, the RDATA parser knows the token at fault
    const len = this.rdataParser.parse(type, lx, i, this.origin);

    if (ttl < 0) {
      if (!this.ttlSet) {
        this.ttlSet = true;
        this.warn(file, lx.entryLine, `no $TTL before the first record without a TTL; using ${DEFAULT_TTL} as NSD does (add a $TTL line)`);
      }
      ttl = this.ttl;
    }
    if (cls < 0) cls = this.lastClass;
    if (type === T.SOA && this.soaOwner === null) this.soaOwner = owner;
    this.lastOwner = owner;
    this.lastOwnerId = ownerId;
    this.lastClass = cls;
    // Copied into the store only now that the whole entry parsed.
    if (this.ownerIds !== null) {
      const k = this.store.length;
      if (k === this.ownerIds.length) {
        const more = new Int32Array(k * 2);
        more.set(this.ownerIds);
        this.ownerIds = more;
      }
      this.ownerIds[k] = ownerId;
    }
    this.store.add(owner, type, cls, ttl, this.rdataParser.out, 0, len, lx.entryLine, file);
  }

  /** The owner in column 1, interned: its id in `owners`. */
  private ownerName(lx: ZoneLexer, file: string): number {
    const b = lx.buf;
    const s = lx.start[0]!, e = lx.end[0]!;
    const end = writeNameBytes(b, s, e, this.origin, this.nameBuf, 0);
    const owner = this.owners.intern(this.nameBuf, 0, end);
    if (e - s === 2 && b[s]! <= 0x5a && b[s + 1]! <= 0x5a && classFromBytes(b, s, e) >= 0) {
      this.warn(file, lx.entryLine,
        `the owner name is '${lx.text(0)}', which looks like a class: a name in column 1 is the owner; indent the line to use the previous owner`);
    }
    return owner;
  }

  private directive(lx: ZoneLexer, file: string, dir: string): void {
    const b = lx.buf;
    const args = lx.count - 1;
    this.tok = 1;
    if (lx.is(0, '$ORIGIN')) {
      if (args !== 1) throw new TextFormatError(`$ORIGIN takes one domain name, got ${args} arguments`);
      // NSD requires an absolute name here (BIND would append the current origin).
      const s = lx.start[1]!, e = lx.end[1]!;
      if (b[e - 1] !== 0x2e || (e - s >= 2 && b[e - 2] === 0x5c && !(e - s >= 3 && b[e - 3] === 0x5c))) {
        throw new TextFormatError(`$ORIGIN needs an absolute domain name ending in '.', got '${lx.text(1)}'`);
      }
      const end = writeNameBytes(b, s, e, null, this.nameBuf, 0);
      this.origin = this.nameBuf.slice(0, end);
      if (this.firstOrigin === null) this.firstOrigin = this.origin;
    } else if (lx.is(0, '$TTL')) {
      if (args !== 1) throw new TextFormatError(`$TTL takes one TTL, got ${args} arguments`);
      const ttl = period(b, lx.start[1]!, lx.end[1]!);
      if (ttl < 0) throw new TextFormatError(`$TTL '${lx.text(1)}' is not a valid TTL (seconds, or units like 1h30m)`);
      if (ttl > MAX_TTL) throw new TextFormatError(`$TTL ${ttl} is out of range: at most ${MAX_TTL} (RFC 2181 §8)`);
      this.ttl = ttl;
      this.ttlSet = true;
    } else if (lx.is(0, '$INCLUDE')) {
      if (args < 1 || args > 2) throw new TextFormatError(`$INCLUDE takes a file name and an optional origin, got ${args} arguments`);
      const nameBytes = this.nameBuf;
      const fend = decodePath(b, lx.start[1]!, lx.end[1]!, nameBytes);
      const target = Buffer.from(nameBytes.subarray(0, fend)).toString('utf8');
      let incOrigin = this.origin;
      if (args === 2) {
        this.tok = 2;
        const end = writeNameBytes(b, lx.start[2]!, lx.end[2]!, this.origin, this.nameBuf, 0);
        incOrigin = this.nameBuf.slice(0, end);
      }
      this.tok = 1;
      this.include(isAbsolute(target) ? target : join(dir, target), target, incOrigin, file, lx.lines[0]!);
    } else {
      this.tok = 0;
      throw new TextFormatError(`unknown directive '${lx.text(0)}' (known: $ORIGIN, $TTL, $INCLUDE)`);
    }
  }

  private include(path: string, written: string, origin: Uint8Array | null, file: string, line: number): void {
    if (this.includeStack.length > MAX_INCLUDE_DEPTH) {
      throw new TextFormatError(`$INCLUDE nested deeper than ${MAX_INCLUDE_DEPTH} files; '${written}' skipped`);
    }
    const real = realPathOr(path);
    const loop = this.includeStack.indexOf(real);
    if (loop >= 0) {
      throw new TextFormatError(`$INCLUDE loop: '${written}' is already being read (${[...this.fileStack.slice(loop), path].join(' includes ')})`);
    }
    const r = readRegularFile(path, { limit: Math.max(0, this.budget), limitWhat: LIMIT_WHAT });
    if (!r.ok) {
      this.problems.add('APPL_ERR_ZONE_READ', file, line, `cannot read $INCLUDE file '${written}' (${resolve(path)}): ${r.why}`);
      return;
    }
    const buf = r.bytes;
    this.budget -= buf.length;
    const savedOrigin = this.origin;
    this.origin = origin;
    this.includeStack.push(real);
    this.fileStack.push(path);
    try {
      this.parseBuffer(buf, path, dirname(path));
    } finally {
      this.includeStack.pop();
      this.fileStack.pop();
      this.origin = savedOrigin;
    }
  }
}

/** When an owner in column 1 is really a type or class, the line probably lost its indent. */
function columnOneHint(lx: ZoneLexer): string {
  if (lx.blankOwner || lx.count === 0) return '';
  const b = lx.buf, s = lx.start[0]!, e = lx.end[0]!;
  // Only an upper-case word: 'a', 'ns' or 'mx' in lower case are ordinary owner names.
  for (let k = s; k < e; k++) if (b[k]! >= 0x61 && b[k]! <= 0x7a) return '';
  if (typeFromBytes(b, s, e) < 0 && classFromBytes(b, s, e) < 0) return '';
  return ` (the line starts with '${lx.text(0)}' in column 1, which makes it the owner name; indent the line to use the previous owner)`;
}

/** A split's second part cannot tell what the first part would have made of an entry. */
class PartUnsure extends Error {}

/** A byte that can start an owner name in column 1 and nothing else (not a directive, a blank, a comment, a parenthesis or a quote). */
function isOwnerStart(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2a || c === 0x5f || c === 0x2d;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function realPathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** A file name token with `\X` escapes decoded. */
function decodePath(b: Uint8Array, s: number, e: number, out: Uint8Array): number {
  let p = 0;
  for (let i = s; i < e && p < out.length; i++) {
    if (b[i] === 0x5c && i + 1 < e) i++;
    out[p++] = b[i]!;
  }
  return p;
}
