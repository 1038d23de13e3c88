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

/**
 * Typed arrays cut one after another from a single buffer. A buffer of 32 MiB or more is
 * always its own mmap (glibc's largest mmap threshold): when it is freed its memory goes
 * back to the system, whichever thread frees it. A split parse's worker (zone-split.ts)
 * makes its big arrays this way; made one by one, they would come from its thread's malloc
 * arena, and once freed there they are memory no other thread reuses.
 */
export class Carver {
  private at = 0;
  readonly buffer: ArrayBuffer;

  constructor(bytes: number) {
    this.buffer = new ArrayBuffer(Math.max(bytes, 32 << 20) + 64);
  }

  u16(n: number): Uint16Array {
    return new Uint16Array(this.buffer, this.take(n * 2), n);
  }

  u32(n: number): Uint32Array {
    return new Uint32Array(this.buffer, this.take(n * 4), n);
  }

  i32(n: number): Int32Array {
    return new Int32Array(this.buffer, this.take(n * 4), n);
  }

  /** Bytes left. */
  get room(): number {
    return this.buffer.byteLength - this.at;
  }

  private take(bytes: number): number {
    const at = this.at;
    if (at + bytes > this.buffer.byteLength) throw new RangeError('Carver: out of room');
    this.at = (at + bytes + 7) & ~7;
    return at;
  }
}

/** A RecordStore's records as exportParts() gives them (buffers a thread can move). */
export interface StoreParts {
  length: number;
  type: Uint16Array;
  cls: Uint16Array;
  ttl: Uint32Array;
  line: Uint32Array;
  fileOf: Uint32Array;
  rdChunk: Uint32Array;
  rdOff: Uint32Array;
  rdLen: Uint32Array;
  chunks: Uint8Array[];
  files: string[];
  /** Record k's owner is span ownerRef[k]: (buffer index, byte offset, length) in ownerSpans. */
  ownerRef: Int32Array;
  ownerSpans: Int32Array;
  ownerBuffers: ArrayBuffer[];
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

  /** @param from columns for `expected` records carved from one buffer (Carver), rather than one allocation each */
  constructor(expected = 1024, from?: Carver) {
    const n = Math.max(16, expected);
    const u16 = (): Uint16Array => (from ? from.u16(n) : new Uint16Array(n));
    const u32 = (): Uint32Array => (from ? from.u32(n) : new Uint32Array(n));
    this.type = u16();
    this.cls = u16();
    this.ttl = u32();
    this.line = u32();
    this.fileOf = u32();
    this.rdChunk = u32();
    this.rdOff = u32();
    this.rdLen = u32();
  }

  /** Bytes the columns of `n` records take (for a Carver). */
  static columnBytes(n: number): number {
    return Math.max(16, n) * 28;
  }

  /** Records it has room for before its columns grow. */
  get capacity(): number {
    return this.type.length;
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

  /**
   * The records as buffers another thread can take whole (zone-split.ts): the columns, the
   * RDATA chunks, and the owners as spans of the buffers they lie in (`owners`: the
   * parser's interned names, and each record's id among them). `transfer` lists the
   * buffers to move rather than copy; the store is unusable after they are moved.
   */
  exportParts(owners: { ids: Int32Array; names: Uint8Array[]; alloc?: (n: number) => Int32Array }): { parts: StoreParts; transfer: ArrayBuffer[] } {
    const n = this.length;
    const buffers: ArrayBuffer[] = [];
    const bufferIndex = new Map<ArrayBuffer, number>();
    let lastBuffer: ArrayBuffer | null = null, lastIndex = -1;
    const indexOf = (b: ArrayBuffer): number => {
      if (b === lastBuffer) return lastIndex;
      let i = bufferIndex.get(b);
      if (i === undefined) {
        i = buffers.push(b) - 1;
        bufferIndex.set(b, i);
      }
      lastBuffer = b;
      lastIndex = i;
      return i;
    };
    // The parser's interned names, and each record's id among them.
    const ownerRef = owners.ids.subarray(0, n);
    const ownerSpans = owners.alloc ? owners.alloc(owners.names.length * 3) : new Int32Array(owners.names.length * 3);
    owners.names.forEach((o, i) => {
      ownerSpans[i * 3] = indexOf(o.buffer as ArrayBuffer);
      ownerSpans[i * 3 + 1] = o.byteOffset;
      ownerSpans[i * 3 + 2] = o.length;
    });
    const chunks = this.chunks.map((c) => (c.byteOffset === 0 && c.byteLength === c.buffer.byteLength ? c : c.slice()));
    for (const c of chunks) indexOf(c.buffer as ArrayBuffer);
    const parts: StoreParts = {
      length: n, type: this.type, cls: this.cls, ttl: this.ttl, line: this.line, fileOf: this.fileOf,
      rdChunk: this.rdChunk, rdOff: this.rdOff, rdLen: this.rdLen, chunks, files: this.files.slice(),
      ownerRef, ownerSpans, ownerBuffers: buffers,
    };
    // Columns may share a buffer (Carver): each buffer is listed once.
    const transfer = [...new Set<ArrayBuffer>([...buffers, ownerRef.buffer as ArrayBuffer, ownerSpans.buffer as ArrayBuffer,
      ...[this.type, this.cls, this.ttl, this.line, this.fileOf, this.rdChunk, this.rdOff, this.rdLen].map((a) => a.buffer as ArrayBuffer)])];
    return { parts, transfer };
  }

  /** Appends the records of exportParts(), in their order (the RDATA chunks taken as they are). */
  appendParts(p: StoreParts): void {
    const n = p.length;
    while (this.type.length < this.length + n) this.grow();
    const chunkBase = this.chunks.length;
    this.chunks.push(...p.chunks);
    const fileMap = p.files.map((f) => this.fileIndex(f));
    const views: Uint8Array[] = new Array(p.ownerSpans.length / 3);
    for (let i = 0; i < views.length; i++) {
      views[i] = new Uint8Array(p.ownerBuffers[p.ownerSpans[i * 3]!]!, p.ownerSpans[i * 3 + 1]!, p.ownerSpans[i * 3 + 2]!);
    }
    const at = this.length;
    this.type.set(p.type.subarray(0, n), at);
    this.cls.set(p.cls.subarray(0, n), at);
    this.ttl.set(p.ttl.subarray(0, n), at);
    this.line.set(p.line.subarray(0, n), at);
    this.rdOff.set(p.rdOff.subarray(0, n), at);
    this.rdLen.set(p.rdLen.subarray(0, n), at);
    for (let k = 0; k < n; k++) {
      this.owner.push(views[p.ownerRef[k]!]!);
      this.fileOf[at + k] = fileMap[p.fileOf[k]!]!;
      this.rdChunk[at + k] = p.rdChunk[k]! + chunkBase;
    }
    this.length = at + n;
    this.cached = null;
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
