// The image file (.apl): one versioned, checksummed file of ready-made responses.
//
//   offset 0 ┌──────────────────────────────────────────────┐
//            │ header (HEADER_LEN = 96 bytes)               │
//         96 ├──────────────────────────────────────────────┤
//            │ section bodies, each aligned to 8 bytes:     │
//            │   BLOB    response bytes, streamed first     │
//            │   META    JSON: build options, sites, zones  │
//            │   tables  typed-array records (HTTP, DNS)    │
//            ├──────────────────────────────────────────────┤
//            │ section table: count × 32-byte entries       │
//   fileLen  └──────────────────────────────────────────────┘
//
// Header (all integers little-endian):
//    0  magic            8  "APPLIMG" 0x1a
//    8  format version   u32
//   12  header length    u32  (96)
//   16  file length      u64
//   24  section table    u64  offset of the section table
//   32  section count    u32
//   36  flags            u32  (0)
//   40  content hash     32   SHA-256 of bytes [HEADER_LEN, fileLen)
//   72  reserved         24   zero
//
// Section table entry (32 bytes): id u32, flags u32, offset u64, length u64, reserved u64.
//
// Every header byte is either hashed (the content hash covers everything after the
// header, the section table included) or checked: the magic, the version, the header
// length, the file length (= the file's size), the section table's place (8-aligned, at
// the end), the flags and the reserved bytes (zero: no flag is defined), the hash. The
// section table is checked too, for images whose hash was recomputed: known ids, each
// once, flags and reserved words zero, sections 8-aligned and tiling the file between
// the header and the table in offset order with only zero padding (< 8 bytes) between
// them, table sections a whole number of u32 words, META a JSON object of the right
// shape. What the tables hold is checked by their readers (appliance/http/tables.ts,
// appliance/dns/tables.ts), against every index a request can reach.
//
// The writer puts the file in place atomically: a temporary file in the same directory
// (a dotfile, created exclusively, never followed if it is a link), fsync, rename, fsync
// of the directory. The path is judged first: a directory, device, FIFO, socket or
// symbolic link there is refused, and so is a regular file that is not an image (a zone
// file or page given to -o by mistake); nothing but a regular file is ever written.
//
// Records inside table sections are little-endian u32 words, so the runtime reads them
// through Uint32Array views laid straight over the loaded bytes: no parsing, no copy.
// The whole file is loaded once into a SharedArrayBuffer that every worker reads.

import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, constants, fsyncSync, fstatSync, lstatSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { copyBytes } from '../../basics/bytes.js';
import { ImageError } from '../../basics/errors.js';
import { fileKind, readRegularFile } from '../regular-file.js';
import type { SpillFile, SpillingU32Builder } from './u32-builder.js';
import { errnoText, WriteThread } from './write-thread.js';

export const MAGIC = Uint8Array.of(0x41, 0x50, 0x50, 0x4c, 0x49, 0x4d, 0x47, 0x1a); // "APPLIMG\x1a"
export const FORMAT_VERSION = 3;
export const HEADER_LEN = 96;
export const SECTION_ENTRY_LEN = 32;
const ALIGN = 8;
/** Offsets inside the image are u32 in table records; the file stays below 4 GiB. */
export const MAX_IMAGE_BYTES = 0xffff_fff0;

/** Section ids. HTTP tables are defined in specializers/http/layout.ts, DNS in specializers/dns/layout.ts. */
export const enum SectionId {
  META = 1,
  BLOB = 2,
  HTTP_SITES = 16,
  HTTP_ROUTES = 17,
  HTTP_VARIANTS = 18,
  HTTP_RESPONSES = 19,
  HTTP_SEGMENTS = 20,
  HTTP_ROUTE_HASH = 21,
  HTTP_SPECIAL = 22,
  DNS_ZONES = 32,
  DNS_NAMES = 33,
  DNS_NAME_HASH = 34,
  DNS_ANSWERS = 35,
  DNS_RRSETS = 36,
  DNS_DENIAL = 37,
}

export const SECTION_NAMES: Record<number, string> = {
  1: 'META', 2: 'BLOB',
  16: 'HTTP_SITES', 17: 'HTTP_ROUTES', 18: 'HTTP_VARIANTS', 19: 'HTTP_RESPONSES',
  20: 'HTTP_SEGMENTS', 21: 'HTTP_ROUTE_HASH', 22: 'HTTP_SPECIAL',
  32: 'DNS_ZONES', 33: 'DNS_NAMES', 34: 'DNS_NAME_HASH', 35: 'DNS_ANSWERS', 36: 'DNS_RRSETS', 37: 'DNS_DENIAL',
};

export interface SectionInfo { id: number; offset: number; length: number }

// ───────────────────────────── writer ─────────────────────────────

const WRITE_BUFFER = 1 << 20;

/** A file by device and inode: how the build knows its own output when it scans a site. */
export interface FileId { dev: number; ino: number }

/** Files the build itself writes, which a site scan must never publish. */
export interface OwnFiles {
  /** The temporary file, and the image being replaced when there is one. */
  ids: FileId[];
  /** The real path the image will have, and the temporary file's. */
  paths: string[];
}

/** Bytes written before the writes move to their own thread (WriteThread): below it, starting one costs more than it saves. */
export const THREAD_ABOVE = 16 << 20;

/**
 * Judges the output path before anything is written: a regular file (an image, or empty)
 * or nothing may be there. Returns what is there (to exclude it from the site), or null.
 */
function judgeOutput(path: string): Stats | null {
  if (path === '' || path.endsWith('/')) {
    throw new ImageError('APPL_ERR_IMAGE_WRITE', path || '(empty)', '-o needs a file name (for example site.apl)');
  }
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new ImageError('APPL_ERR_IMAGE_WRITE', path, `cannot look at the output path: ${errnoText(e)}`);
    let dir: Stats;
    try {
      dir = statSync(dirname(path));
    } catch (e2) {
      throw new ImageError('APPL_ERR_IMAGE_WRITE', path, `the directory ${dirname(path)} cannot be used: ${errnoText(e2)}`);
    }
    if (!dir.isDirectory()) throw new ImageError('APPL_ERR_IMAGE_WRITE', path, `${dirname(path)} is not a directory`);
    return null;
  }
  if (st.isSymbolicLink()) {
    throw new ImageError('APPL_ERR_IMAGE_WRITE', path,
      'is a symbolic link; -o writes only a regular file and does not follow links: give the path of the file itself, or remove the link');
  }
  if (st.isDirectory()) {
    throw new ImageError('APPL_ERR_IMAGE_WRITE', path, `is a directory; give a file name, for example ${join(path, 'site.apl')}`);
  }
  if (!st.isFile()) {
    throw new ImageError('APPL_ERR_IMAGE_WRITE', path,
      `is ${fileKind(st)}; -o writes only a regular file and never replaces anything else: choose another path`);
  }
  if (st.size > 0) {
    const magic = readHead(path, MAGIC.length);
    if (magic === null || magic.length < MAGIC.length || !startsWithMagic(magic)) {
      throw new ImageError('APPL_ERR_IMAGE_WRITE', path,
        'exists and is not an appliance image; it was left as it is (remove it first, or choose another path)');
    }
  }
  return st;
}

/** The first n bytes of a regular file (not following a link, never blocking), or null. */
function readHead(path: string, n: number): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const b = new Uint8Array(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes an image sequentially: the BLOB section is streamed first (append returns the
 * offset of the bytes inside BLOB), then whole sections, then the section table and the
 * header. The file appears under its final name only when complete (a temporary dotfile
 * in the same directory, synced, then renamed over it), so a failed build never leaves a
 * half image behind, and a crash leaves the old image or the new one, whole.
 */
export class ImageWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private readonly own: OwnFiles;
  private pos = HEADER_LEN;
  private readonly hash: Hash = createHash('sha256');
  private readonly buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private bufLen = 0;
  private readonly sections: SectionInfo[] = [];
  private blobStart = -1;
  private blobOpen = false;
  private done = false;
  private closed = false;
  /** Open spill files (SpillingU32Builder), closed once copied or on abort. */
  private readonly spills: number[] = [];
  /** The thread the writes go through once the image passes threadAbove bytes (null before, or when there is none). */
  private thread: WriteThread | null = null;
  private threadTried = false;
  private readonly threadAbove: number;

  /** @param opts.threadAbove bytes written before the writes go to a thread of their own (Infinity: never) */
  constructor(readonly path: string, opts: { threadAbove?: number } = {}) {
    this.threadAbove = opts.threadAbove ?? THREAD_ABOVE;
    const existing = judgeOutput(path);
    const dir = dirname(path);
    // A dotfile: a site scan leaves it out even before it checks inodes.
    this.tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      // Read and write: the writer thread reads back what was written before it started.
      this.fd = openSync(this.tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
    } catch (e) {
      throw new ImageError('APPL_ERR_IMAGE_WRITE', path, `cannot create the image in ${dir}: ${errnoText(e)}`);
    }
    try {
      const st = fstatSync(this.fd);
      let realDir = dir;
      try { realDir = realpathSync(dir); } catch { /* judged above; keep the path as given */ }
      this.own = {
        ids: [{ dev: st.dev, ino: st.ino }, ...(existing ? [{ dev: existing.dev, ino: existing.ino }] : [])],
        paths: [join(realDir, basename(path)), join(realDir, basename(this.tmp))],
      };
      this.io('write', () => writeSync(this.fd, new Uint8Array(HEADER_LEN), 0, HEADER_LEN, 0));
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** The files this build writes: a site scan leaves them out. */
  ownFiles(): OwnFiles {
    return this.own;
  }

  /** Bytes written so far (the image size if finished now, minus the section table). */
  get size(): number { return this.pos + this.bufLen; }

  beginBlob(): void {
    if (this.blobStart >= 0) throw new Error('BLOB section begun twice');
    this.blobStart = this.size;
    this.blobOpen = true;
  }

  /** Appends bytes[off, off+len) to the BLOB; returns their offset inside the BLOB section. */
  append(bytes: Uint8Array, off = 0, len = bytes.length - off): number {
    if (!this.blobOpen) throw new Error('append outside the BLOB section');
    const at = this.size - this.blobStart;
    this.room(len);
    if (len < 256 && this.bufLen + len <= WRITE_BUFFER) {
      // Short appends (DNS templates, names: millions of them) go straight into the buffer.
      copyBytes(this.buf, this.bufLen, bytes, off, len);
      this.bufLen += len;
    } else {
      this.write(off === 0 && len === bytes.length ? bytes : bytes.subarray(off, off + len));
    }
    return at;
  }

  /** Current length of the BLOB (the offset the next append gets). */
  get blobLength(): number { return this.size - this.blobStart; }

  endBlob(): void {
    if (!this.blobOpen) throw new Error('endBlob without beginBlob');
    this.blobOpen = false;
    this.sections.push({ id: SectionId.BLOB, offset: this.blobStart, length: this.size - this.blobStart });
    this.pad();
  }

  addSection(id: number, bytes: Uint8Array): void {
    this.newSection(id);
    this.pad();
    const offset = this.size;
    this.write(bytes);
    this.sections.push({ id, offset, length: bytes.length });
    this.pad();
  }

  /** A section may start here: the BLOB closed, the id defined and not written yet. */
  private newSection(id: number): void {
    if (this.blobOpen) throw new Error('addSection while the BLOB is open');
    if (this.sections.some((s) => s.id === id)) throw new Error(`section ${id} written twice`);
    if (SECTION_NAMES[id] === undefined) throw new Error(`section ${id} is not defined in format.ts`);
  }

  addU32Section(id: number, words: Uint32Array): void {
    this.addSection(id, new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
  }

  /**
   * A file for a SpillingU32Builder's windows: in the image's directory (a build of a big
   * zone needs free space there of about the image's size again, while the tables are
   * copied into the image), unlinked as soon as it is open, so that a build that fails or
   * is killed leaves nothing behind (but in the instant between the two calls). Closed by
   * addSpilledSection, finish() or abort(). A file that cannot be unlinked is refused,
   * named, rather than left in the directory.
   */
  spillFile(): SpillFile {
    const path = join(dirname(this.path), `.${basename(this.path)}.spill-${process.pid}-${randomBytes(4).toString('hex')}`);
    const fd = this.io('creating a temporary file', () =>
      openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        try { closeSync(fd); } catch { /* closing is all that is left to do */ }
        throw new ImageError('APPL_ERR_IMAGE_WRITE', this.path, `cannot remove the temporary file ${path} the build made: ${errnoText(e)}; remove it by hand`);
      }
    }
    this.spills.push(fd);
    let end = 0;
    return {
      fd,
      append: (bytes: Uint8Array) => {
        if (this.thread !== null) {
          this.thread.write(fd, end, bytes, false);
          this.checkThread();
        } else {
          let done = 0;
          while (done < bytes.length) done += this.io('writing a temporary file', () => writeSync(fd, bytes, done, bytes.length - done, end + done));
        }
        end += bytes.length;
      },
    };
  }

  /** A section whose words a SpillingU32Builder made: the spilled part read back from its file, then the rest. */
  addSpilledSection(id: number, table: SpillingU32Builder): void {
    this.newSection(id);
    this.pad();
    const offset = this.size;
    const { file, bytes } = table.spilledFile;
    if (file !== null) this.flush();
    if (file !== null && this.threadFor(bytes) !== null) {
      // Read back and written into the image by the thread, which then closes the file.
      this.thread!.copy(file.fd, 0, bytes, this.fd, this.pos);
      this.pos += bytes;
      this.spills.splice(this.spills.indexOf(file.fd), 1);
      this.thread!.close(file.fd);
      this.checkThread();
    } else if (file !== null) {
      const chunk = Buffer.allocUnsafe(WRITE_BUFFER * 4);
      for (let at = 0; at < bytes; ) {
        const want = Math.min(chunk.length, bytes - at);
        const got = this.io('reading a temporary file', () => readSync(file.fd, chunk, 0, want, at));
        if (got === 0) throw new ImageError('APPL_ERR_IMAGE_WRITE', this.path, 'a temporary file of the build ended early');
        this.write(chunk.subarray(0, got));
        at += got;
      }
      this.closeSpill(file.fd);
    }
    const tail = table.tail();
    this.write(tail);
    this.sections.push({ id, offset, length: bytes + tail.length });
    this.pad();
  }

  private closeSpill(fd: number): void {
    const i = this.spills.indexOf(fd);
    if (i < 0) return;
    this.spills.splice(i, 1);
    try { closeSync(fd); } catch { /* unlinked already; nothing to lose */ }
  }

  /** Writes the section table and header, syncs, then moves the file to its final name. */
  finish(): { size: number; hash: string } {
    if (this.blobOpen) throw new Error('finish with the BLOB open');
    this.pad();
    const tableOff = this.size;
    const table = new Uint8Array(this.sections.length * SECTION_ENTRY_LEN);
    const tv = new DataView(table.buffer);
    this.sections.forEach((s, i) => {
      const o = i * SECTION_ENTRY_LEN;
      tv.setUint32(o, s.id, true);
      tv.setUint32(o + 4, 0, true);
      tv.setBigUint64(o + 8, BigInt(s.offset), true);
      tv.setBigUint64(o + 16, BigInt(s.length), true);
    });
    this.write(table);
    this.flush();
    const fileLen = this.pos;
    let digest: Buffer;
    if (this.thread !== null) {
      digest = this.thread.digest(); // after every write handed over
      this.checkThread();
      this.thread.stop();
      this.thread = null;
    } else {
      digest = this.hash.digest();
    }
    for (const fd of this.spills.slice()) this.closeSpill(fd);
    const header = new Uint8Array(HEADER_LEN);
    const hv = new DataView(header.buffer);
    header.set(MAGIC, 0);
    hv.setUint32(8, FORMAT_VERSION, true);
    hv.setUint32(12, HEADER_LEN, true);
    hv.setBigUint64(16, BigInt(fileLen), true);
    hv.setBigUint64(24, BigInt(tableOff), true);
    hv.setUint32(32, this.sections.length, true);
    hv.setUint32(36, 0, true);
    header.set(digest, 40);
    this.io('write', () => writeSync(this.fd, header, 0, HEADER_LEN, 0));
    this.io('fsync', () => fsyncSync(this.fd));
    this.closed = true;
    this.io('close', () => closeSync(this.fd));
    // Judged again: what is at the path may have changed while the build ran (rename()
    // would replace a device node or a FIFO by the image, and fail on a directory).
    judgeOutput(this.path);
    this.io('rename', () => renameSync(this.tmp, this.path));
    this.done = true;
    syncDirectory(dirname(this.path));
    return { size: fileLen, hash: digest.toString('hex') };
  }

  /** Removes the temporary file of a build that failed. */
  abort(): void {
    if (this.thread !== null) {
      // Nothing is closed under the thread while it may still write to it.
      try { this.thread.drain(); } catch { /* stuck: its files are closed with the process */ }
      this.thread.stop();
      this.thread = null;
    }
    for (const fd of this.spills.slice()) this.closeSpill(fd);
    if (this.done) return;
    this.done = true;
    // Not closed twice: the number may belong to another file by now.
    if (!this.closed) try { closeSync(this.fd); } catch { /* nothing to close */ }
    try { unlinkSync(this.tmp); } catch { /* already gone */ }
  }

  /** A system call whose failure (ENOSPC, EIO, EDQUOT) the person running the build sees. */
  private io<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw new ImageError('APPL_ERR_IMAGE_WRITE', this.path, `${what} failed: ${errnoText(e)}`);
    }
  }

  /** Offsets in table records are u32: refuse, before writing, what would not fit. */
  private room(len: number): void {
    if (this.size + len > MAX_IMAGE_BYTES) {
      throw new ImageError('APPL_ERR_IMAGE_WRITE', this.path, 'the image would exceed 4 GiB; split the site into several images');
    }
  }

  private pad(): void {
    const rem = this.size % ALIGN;
    if (rem !== 0) this.write(new Uint8Array(ALIGN - rem));
  }

  private write(bytes: Uint8Array): void {
    this.room(bytes.length);
    if (bytes.length >= WRITE_BUFFER) {
      this.flush();
      this.put(bytes);
      return;
    }
    if (this.bufLen + bytes.length > WRITE_BUFFER) this.flush();
    this.buf.set(bytes, this.bufLen);
    this.bufLen += bytes.length;
  }

  private flush(): void {
    if (this.bufLen === 0) return;
    this.put(this.buf.subarray(0, this.bufLen));
    this.bufLen = 0;
  }

  /** Writes bytes at pos (through the thread once there is one: they are copied, the buffer is free again) and hashes them. */
  private put(bytes: Uint8Array): void {
    const t = this.threadFor(bytes.length);
    if (t !== null) {
      t.write(this.fd, this.pos, bytes, true);
      this.checkThread();
    } else {
      this.hash.update(bytes);
      let done = 0;
      while (done < bytes.length) done += this.io('write', () => writeSync(this.fd, bytes, done, bytes.length - done, this.pos + done));
    }
    this.pos += bytes.length;
  }

  /**
   * The writer thread, started when the image is about to pass threadAbove bytes (it then
   * reads back and hashes what was written before it); null before, or when it cannot run.
   */
  private threadFor(more: number): WriteThread | null {
    if (this.thread === null && !this.threadTried && this.pos + more - HEADER_LEN > this.threadAbove) {
      this.threadTried = true;
      this.thread = WriteThread.start(this.path);
      this.thread?.hashFile(this.fd, HEADER_LEN, this.pos - HEADER_LEN);
    }
    return this.thread;
  }

  /** A write of the thread's that failed, thrown as the system call's own failure would have been. */
  private checkThread(): void {
    const f = this.thread?.failure() ?? null;
    if (f !== null) throw new ImageError('APPL_ERR_IMAGE_WRITE', this.path, f);
  }
}

/** fsync of the directory, so that the rename itself survives a crash. */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return; // the image is in place; a directory that cannot be opened cannot be synced
  }
  try {
    fsyncSync(fd);
  } catch {
    // some file systems do not sync directories (EINVAL); the rename is done
  } finally {
    closeSync(fd);
  }
}

// ───────────────────────────── reader ─────────────────────────────

export interface Image {
  readonly file: string;
  /** The whole file, shared read-only by every worker. */
  readonly shared: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly version: number;
  readonly hash: string;
  readonly sections: ReadonlyMap<number, SectionInfo>;
  readonly meta: ImageMeta;
}

/** The META section: what was built, from what, with which options. */
export interface ImageMeta {
  tool: string;
  toolVersion: string;
  builtAt: string;
  options: Record<string, unknown>;
  sites: Array<{ host: string | null; dir: string; files: number; bytes: number; variants: number; isDefault: boolean }>;
  zones: Array<{ origin: string; file: string; records: number; names: number }>;
}

/** Reads, verifies and loads an image into shared memory. Every failure is an ImageError. */
export interface LoadOptions {
  /**
   * Called with the image's memory before the file is read into it (the runtime asks
   * for huge pages there: netmap-binding adviseHugePages).
   */
  advise?: (bytes: Uint8Array) => void;
}

export function loadImage(file: string, o: LoadOptions = {}): Image {
  if (endianness() !== 'LE') {
    throw new ImageError('APPL_ERR_IMAGE_OPEN', file, 'this host is big-endian; images are little-endian only');
  }
  // A regular file only (a directory, a FIFO or /dev/zero is refused, never read), at most
  // as large as any image, read for its size and not a byte more.
  let shared: SharedArrayBuffer | null = null;
  const r = readRegularFile(file, {
    limit: MAX_IMAGE_BYTES,
    alloc: (size) => {
      const bytes = new Uint8Array((shared = new SharedArrayBuffer(size)));
      o.advise?.(bytes);
      return bytes;
    },
  });
  if (!r.ok) {
    if (r.why.startsWith('too large')) {
      throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `${r.why}: larger than any image this version writes`);
    }
    const why = r.errno === 'ENOENT' ? 'no such file; build one with "appliance build"' : r.why;
    throw new ImageError('APPL_ERR_IMAGE_OPEN', file, `cannot open the image: ${why}`);
  }
  return verifyImage(file, shared!);
}

/** Do the bytes start like an image? (A file shorter than the magic is judged on what it has.) */
function startsWithMagic(b: Uint8Array): boolean {
  for (let i = 0; i < MAGIC.length && i < b.length; i++) if (b[i] !== MAGIC[i]) return false;
  return true;
}

/** Verifies an image held in shared memory: header, hash, section table, META. */
export function verifyImage(file: string, shared: SharedArrayBuffer): Image {
  const bytes = new Uint8Array(shared);
  const size = bytes.length;
  if (!startsWithMagic(bytes)) throw new ImageError('APPL_ERR_IMAGE_MAGIC', file, 'not an appliance image (wrong magic bytes)');
  if (size < HEADER_LEN) {
    throw new ImageError('APPL_ERR_IMAGE_TRUNCATED', file, `truncated: ${size} bytes, shorter than the ${HEADER_LEN}-byte header`);
  }
  const hv = new DataView(shared, 0, HEADER_LEN);
  const version = hv.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new ImageError('APPL_ERR_IMAGE_VERSION', file,
      `image format version ${version}; this appliance reads version ${FORMAT_VERSION}: rebuild the image with this version's "appliance build"`);
  }
  if (hv.getUint32(12, true) !== HEADER_LEN) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, 'header length field is wrong');
  const fileLen = hv.getBigUint64(16, true);
  if (fileLen > BigInt(size)) {
    throw new ImageError('APPL_ERR_IMAGE_TRUNCATED', file, `truncated: the header says ${fileLen} bytes, the file has ${size}`);
  }
  if (fileLen < BigInt(size)) {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `${BigInt(size) - fileLen} unexpected bytes after the end of the image (${fileLen} bytes)`);
  }
  checkHeaderZeros(file, bytes);
  const digest = createHash('sha256').update(bytes.subarray(HEADER_LEN)).digest();
  const stored = bytes.subarray(40, 72);
  if (!Buffer.from(stored).equals(digest)) {
    throw new ImageError('APPL_ERR_IMAGE_CHECKSUM', file, 'content hash mismatch: the image is corrupted; rebuild it');
  }
  const sections = readSectionTable(file, hv, bytes);
  const meta = readMeta(file, bytes, sections);
  return { file, shared, bytes, version, hash: digest.toString('hex'), sections, meta };
}

/** The header's flags (no flag is defined in this version) and reserved bytes must be zero. */
function checkHeaderZeros(file: string, bytes: Uint8Array): void {
  const flags = new DataView(bytes.buffer, bytes.byteOffset, HEADER_LEN).getUint32(36, true);
  if (flags !== 0) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `unknown header flags 0x${flags.toString(16)} (this version defines none)`);
  for (let i = 72; i < HEADER_LEN; i++) {
    if (bytes[i] !== 0) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `reserved header byte ${i} is not zero`);
  }
}

/** Attaches to an image another thread already verified (no hash pass, no copy). */
export function attachImage(file: string, shared: SharedArrayBuffer): Image {
  const bytes = new Uint8Array(shared);
  const hv = new DataView(shared, 0, HEADER_LEN);
  const sections = readSectionTable(file, hv, bytes);
  const meta = readMeta(file, bytes, sections);
  const hash = Buffer.from(bytes.subarray(40, 72)).toString('hex');
  return { file, shared, bytes, version: hv.getUint32(8, true), hash, sections, meta };
}

/** Sections from this id on are tables of u32 words (META and BLOB are bytes). */
const FIRST_TABLE_ID = 16;

function readSectionTable(file: string, hv: DataView, bytes: Uint8Array): Map<number, SectionInfo> {
  const corrupt = (what: string): never => { throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, what); };
  const size = bytes.length;
  const tableOff = hv.getBigUint64(24, true);
  const count = hv.getUint32(32, true);
  if (count > 1024 || tableOff < BigInt(HEADER_LEN) || tableOff % BigInt(ALIGN) !== 0n ||
      tableOff + BigInt(count * SECTION_ENTRY_LEN) !== BigInt(size)) {
    corrupt(`section table out of bounds (offset ${tableOff}, ${count} entries, ${size} bytes)`);
  }
  const tOff = Number(tableOff);
  const tv = new DataView(bytes.buffer, bytes.byteOffset + tOff, count * SECTION_ENTRY_LEN);
  const sections = new Map<number, SectionInfo>();
  for (let i = 0; i < count; i++) {
    const o = i * SECTION_ENTRY_LEN;
    const id = tv.getUint32(o, true);
    const name = SECTION_NAMES[id];
    if (name === undefined) corrupt(`section table entry ${i}: unknown section id ${id}`);
    if (tv.getUint32(o + 4, true) !== 0) corrupt(`section ${name}: unknown flags (this version defines none)`);
    if (tv.getBigUint64(o + 24, true) !== 0n) corrupt(`section ${name}: reserved word is not zero`);
    const offset = tv.getBigUint64(o + 8, true);
    const length = tv.getBigUint64(o + 16, true);
    if (offset < BigInt(HEADER_LEN) || offset % BigInt(ALIGN) !== 0n || offset + length > tableOff) corrupt(`section ${name} out of bounds`);
    if (id >= FIRST_TABLE_ID && length % 4n !== 0n) corrupt(`section ${name} is not whole u32 words`);
    if (sections.has(id)) corrupt(`section ${name} appears twice`);
    sections.set(id, { id, offset: Number(offset), length: Number(length) });
  }
  for (const id of [SectionId.META, SectionId.BLOB]) {
    if (!sections.has(id)) corrupt(`missing section ${SECTION_NAMES[id]}`);
  }
  // The sections tile the file from the header to the table, in offset order, with only
  // zero padding up to the next 8-byte boundary between them (what the writer makes).
  const ordered = [...sections.values()].sort((x, y) => x.offset - y.offset || x.length - y.length);
  let at = HEADER_LEN;
  for (const s of ordered) {
    if (s.offset !== at) corrupt(`section ${SECTION_NAMES[s.id]} at ${s.offset}: ${s.offset < at ? 'overlaps the one before it' : 'a gap before it'} (expected ${at})`);
    const end = s.offset + s.length;
    at = end + ((ALIGN - (end % ALIGN)) % ALIGN);
    for (let i = end; i < at; i++) if (bytes[i] !== 0) corrupt(`section ${SECTION_NAMES[s.id]}: padding after it is not zero`);
  }
  if (at !== tOff) corrupt(`${tOff - at} bytes between the last section and the section table`);
  return sections;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Is `v` a META of the shape ImageMeta says (what inspect and serve read from it)? */
function metaShapeProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'not a JSON object';
  for (const k of ['tool', 'toolVersion', 'builtAt'] as const) if (typeof v[k] !== 'string') return `"${k}" is not a string`;
  if (!isRecord(v.options)) return '"options" is not an object';
  if (!Array.isArray(v.sites)) return '"sites" is not a list';
  for (const s of v.sites as unknown[]) {
    if (!isRecord(s) || !(s.host === null || typeof s.host === 'string') || typeof s.dir !== 'string' || typeof s.isDefault !== 'boolean' ||
        !['files', 'bytes', 'variants'].every((k) => typeof s[k] === 'number')) return 'a site entry is malformed';
  }
  if (!Array.isArray(v.zones)) return '"zones" is not a list';
  for (const z of v.zones as unknown[]) {
    if (!isRecord(z) || typeof z.origin !== 'string' || typeof z.file !== 'string' ||
        !['records', 'names'].every((k) => typeof z[k] === 'number')) return 'a zone entry is malformed';
  }
  return null;
}

function readMeta(file: string, bytes: Uint8Array, sections: Map<number, SectionInfo>): ImageMeta {
  const s = sections.get(SectionId.META)!;
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(s.offset, s.offset + s.length)));
  } catch {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, 'META section is not valid JSON');
  }
  const problem = metaShapeProblem(meta);
  if (problem !== null) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `META section: ${problem}`);
  return meta as ImageMeta;
}

/** A section's bytes as a view over the shared image. */
export function sectionBytes(img: Image, id: number): Uint8Array {
  const s = img.sections.get(id);
  if (!s) return new Uint8Array(0);
  return new Uint8Array(img.shared, s.offset, s.length);
}

/** A u32-record section as a Uint32Array view over the shared image. */
export function sectionWords(img: Image, id: number): Uint32Array {
  const s = img.sections.get(id);
  if (!s) return new Uint32Array(0);
  if (s.length % 4 !== 0) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', img.file, `section ${SECTION_NAMES[id] ?? id} is not whole words`);
  return new Uint32Array(img.shared, s.offset, s.length / 4);
}
