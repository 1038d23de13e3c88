// The records of a zone, column by column: what the parser writes, the checker filters,
// and the model and the compiler read.
//
// An object per record (owner, type, class, TTL, RDATA view, file, line) costs about 180
// bytes of heap; a zone of 1.4 million records was 260 MB of them, the largest part of a
// million-name build's peak, and a million long-lived objects are what the collector
// spends its time on. Here a record is a row of typed arrays (about 30 bytes) and its
// RDATA a span of one byte array. ZoneRecord objects are still there for whoever asks
// (record(), all()): the tests, `inspect`, messages; the build's phases never make them
// in bulk.

import { ByteArena } from './dns-name.js';

export interface ZoneRecord {
  /** Uncompressed wire-format owner, case as written; records with the same spelling share one array. */
  readonly owner: Uint8Array;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /**
   * Uncompressed wire-format RDATA (names inside uncompressed, case as written). A view
   * into a shared chunk: read-only, and mind byteOffset when copying.
   */
  readonly rdata: Uint8Array;
  /** Source line where the record's entry starts. */
  readonly line: number;
  readonly file: string;
}

export class RecordStore {
  /** Owner, wire format, case as written; records of one spelling share the parser's array. */
  owner: Uint8Array[] = [];
  type: Uint16Array;
  cls: Uint16Array;
  ttl: Uint32Array;
  line: Uint32Array;
  /** Index in `files`. */
  fileOf: Uint32Array;
  /** RDATA of record k: rdChunk[k] (an index in `chunks`) at rdOff[k], rdLen[k] bytes. */
  private rdChunk: Uint32Array;
  private rdOff: Uint32Array;
  private rdLen: Uint32Array;
  private readonly chunks: Uint8Array[] = [];
  readonly files: string[] = [];
  length = 0;
  private readonly arena = new ByteArena();
  private cached: ZoneRecord[] | null = null;

  constructor(expected = 1024) {
    const n = Math.max(16, expected);
    this.type = new Uint16Array(n);
    this.cls = new Uint16Array(n);
    this.ttl = new Uint32Array(n);
    this.line = new Uint32Array(n);
    this.fileOf = new Uint32Array(n);
    this.rdChunk = new Uint32Array(n);
    this.rdOff = new Uint32Array(n);
    this.rdLen = new Uint32Array(n);
  }

  /** Appends a record; its RDATA is copied from rdata[start, end). */
  add(owner: Uint8Array, type: number, cls: number, ttl: number, rdata: Uint8Array, start: number, end: number, line: number, file: string): void {
    const k = this.length;
    if (k === this.type.length) this.grow();
    this.owner.push(owner);
    this.type[k] = type;
    this.cls[k] = cls;
    this.ttl[k] = ttl;
    this.line[k] = line;
    this.fileOf[k] = this.fileIndex(file);
    const off = this.arena.place(rdata, start, end);
    this.rdChunk[k] = this.chunkIndex(this.arena.placed);
    this.rdOff[k] = off;
    this.rdLen[k] = end - start;
    this.length = k + 1;
    this.cached = null;
  }

  /** The RDATA of record k (uncompressed wire format): a view, read-only, made on each call. */
  rdata(k: number): Uint8Array {
    const off = this.rdOff[k]!;
    return this.chunks[this.rdChunk[k]!]!.subarray(off, off + this.rdLen[k]!);
  }

  rdataLength(k: number): number {
    return this.rdLen[k]!;
  }

  /** The array record k's RDATA lies in, at rdataOffset(k): for readers that take an offset (no view made). */
  rdataChunk(k: number): Uint8Array {
    return this.chunks[this.rdChunk[k]!]!;
  }

  rdataOffset(k: number): number {
    return this.rdOff[k]!;
  }

  file(k: number): string {
    return this.files[this.fileOf[k]!]!;
  }

  /** Record k as an object (a new one on each call). */
  record(k: number): ZoneRecord {
    return { owner: this.owner[k]!, type: this.type[k]!, class: this.cls[k]!, ttl: this.ttl[k]!, rdata: this.rdata(k), line: this.line[k]!, file: this.file(k) };
  }

  /** Every record as an object, in order: made once, on the first call (for tests and small users). */
  all(): ZoneRecord[] {
    if (this.cached === null) {
      const out = new Array<ZoneRecord>(this.length);
      for (let k = 0; k < this.length; k++) out[k] = this.record(k);
      this.cached = out;
    }
    return this.cached;
  }

  /** A store of the records whose `drop` byte is 0, in order (the RDATA chunks shared). */
  keep(drop: Uint8Array): RecordStore {
    let n = 0;
    for (let k = 0; k < this.length; k++) if (drop[k] === 0) n++;
    const s = new RecordStore(n);
    s.chunks.push(...this.chunks);
    s.files.push(...this.files);
    for (let k = 0; k < this.length; k++) {
      if (drop[k] !== 0) continue;
      const j = s.length++;
      s.owner.push(this.owner[k]!);
      s.type[j] = this.type[k]!;
      s.cls[j] = this.cls[k]!;
      s.ttl[j] = this.ttl[k]!;
      s.line[j] = this.line[k]!;
      s.fileOf[j] = this.fileOf[k]!;
      s.rdChunk[j] = this.rdChunk[k]!;
      s.rdOff[j] = this.rdOff[k]!;
      s.rdLen[j] = this.rdLen[k]!;
    }
    return s;
  }

  private lastFile = '';
  private lastFileIndex = -1;

  private fileIndex(file: string): number {
    if (file === this.lastFile && this.lastFileIndex >= 0) return this.lastFileIndex;
    let i = this.files.indexOf(file);
    if (i < 0) {
      i = this.files.length;
      this.files.push(file);
    }
    this.lastFile = file;
    this.lastFileIndex = i;
    return i;
  }

  private arenaChunk: Uint8Array | null = null;
  private arenaChunkIndex = -1;

  /** The index of the chunk an RDATA was just placed in: the arena's current one, or a chunk of its own (a long RDATA). */
  private chunkIndex(chunk: Uint8Array): number {
    if (chunk === this.arenaChunk) return this.arenaChunkIndex;
    const i = this.chunks.push(chunk) - 1;
    if (chunk === this.arena.current) {
      this.arenaChunk = chunk;
      this.arenaChunkIndex = i;
    }
    return i;
  }

  private grow(): void {
    const n = this.type.length * 2;
    const more = <T extends Uint16Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.type = more(this.type, (x) => new Uint16Array(x));
    this.cls = more(this.cls, (x) => new Uint16Array(x));
    this.ttl = more(this.ttl, (x) => new Uint32Array(x));
    this.line = more(this.line, (x) => new Uint32Array(x));
    this.fileOf = more(this.fileOf, (x) => new Uint32Array(x));
    this.rdChunk = more(this.rdChunk, (x) => new Uint32Array(x));
    this.rdOff = more(this.rdOff, (x) => new Uint32Array(x));
    this.rdLen = more(this.rdLen, (x) => new Uint32Array(x));
  }
}
