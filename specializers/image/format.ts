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
// Records inside table sections are little-endian u32 words, so the runtime reads them
// through Uint32Array views laid straight over the loaded bytes: no parsing, no copy.
// The whole file is loaded once into a SharedArrayBuffer that every worker reads.

import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { copyBytes } from '../../basics/bytes.js';
import { ImageError } from '../../basics/errors.js';

export const MAGIC = Uint8Array.of(0x41, 0x50, 0x50, 0x4c, 0x49, 0x4d, 0x47, 0x1a); // "APPLIMG\x1a"
export const FORMAT_VERSION = 1;
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
}

export const SECTION_NAMES: Record<number, string> = {
  1: 'META', 2: 'BLOB',
  16: 'HTTP_SITES', 17: 'HTTP_ROUTES', 18: 'HTTP_VARIANTS', 19: 'HTTP_RESPONSES',
  20: 'HTTP_SEGMENTS', 21: 'HTTP_ROUTE_HASH', 22: 'HTTP_SPECIAL',
  32: 'DNS_ZONES', 33: 'DNS_NAMES', 34: 'DNS_NAME_HASH', 35: 'DNS_ANSWERS', 36: 'DNS_RRSETS',
};

export interface SectionInfo { id: number; offset: number; length: number }

// ───────────────────────────── writer ─────────────────────────────

const WRITE_BUFFER = 1 << 20;

/**
 * Writes an image sequentially: the BLOB section is streamed first (append returns the
 * offset of the bytes inside BLOB), then whole sections, then the section table and the
 * header. The file appears under its final name only when complete (written to a
 * temporary name, then renamed), so a failed build never leaves a half image behind.
 */
export class ImageWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private pos = HEADER_LEN;
  private readonly hash: Hash = createHash('sha256');
  private readonly buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private bufLen = 0;
  private readonly sections: SectionInfo[] = [];
  private blobStart = -1;
  private blobOpen = false;
  private done = false;

  constructor(readonly path: string) {
    this.tmp = `${path}.tmp-${process.pid}`;
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw new ImageError('APPL_ERR_IMAGE_WRITE', path, `cannot create the image: ${(e as Error).message}`);
    }
    writeSync(this.fd, new Uint8Array(HEADER_LEN), 0, HEADER_LEN, 0);
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
    if (this.size + len > MAX_IMAGE_BYTES) {
      throw new ImageError('APPL_ERR_IMAGE_WRITE', this.path, 'the image would exceed 4 GiB; split the site into several images');
    }
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
    if (this.blobOpen) throw new Error('addSection while the BLOB is open');
    if (this.sections.some((s) => s.id === id)) throw new Error(`section ${id} written twice`);
    this.pad();
    const offset = this.size;
    this.write(bytes);
    this.sections.push({ id, offset, length: bytes.length });
    this.pad();
  }

  addU32Section(id: number, words: Uint32Array): void {
    this.addSection(id, new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
  }

  /** Writes the section table and header, then moves the file to its final name. */
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
    const digest = this.hash.digest();
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
    writeSync(this.fd, header, 0, HEADER_LEN, 0);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
    this.done = true;
    return { size: fileLen, hash: digest.toString('hex') };
  }

  /** Removes the temporary file of a build that failed. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try { closeSync(this.fd); } catch { /* already closed */ }
    try { unlinkSync(this.tmp); } catch { /* never created */ }
  }

  private pad(): void {
    const rem = this.size % ALIGN;
    if (rem !== 0) this.write(new Uint8Array(ALIGN - rem));
  }

  private write(bytes: Uint8Array): void {
    if (bytes.length >= WRITE_BUFFER) {
      this.flush();
      this.hash.update(bytes);
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.pos + done);
      this.pos += bytes.length;
      return;
    }
    if (this.bufLen + bytes.length > WRITE_BUFFER) this.flush();
    this.buf.set(bytes, this.bufLen);
    this.bufLen += bytes.length;
  }

  private flush(): void {
    if (this.bufLen === 0) return;
    const chunk = this.buf.subarray(0, this.bufLen);
    this.hash.update(chunk);
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done, this.pos + done);
    this.pos += this.bufLen;
    this.bufLen = 0;
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
export function loadImage(file: string): Image {
  if (endianness() !== 'LE') {
    throw new ImageError('APPL_ERR_IMAGE_OPEN', file, 'this host is big-endian; images are little-endian only');
  }
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file; build one with "appliance build"' : err.message;
    throw new ImageError('APPL_ERR_IMAGE_OPEN', file, `cannot open the image: ${why}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < HEADER_LEN) {
      if (size > 0 && !startsWithMagic(readAll(fd, Math.min(size, MAGIC.length)))) {
        throw new ImageError('APPL_ERR_IMAGE_MAGIC', file, 'not an appliance image (wrong magic bytes)');
      }
      throw new ImageError('APPL_ERR_IMAGE_TRUNCATED', file, `truncated: ${size} bytes, shorter than the ${HEADER_LEN}-byte header`);
    }
    if (size > MAX_IMAGE_BYTES) {
      throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `${size} bytes: larger than any image this version writes`);
    }
    const shared = new SharedArrayBuffer(size);
    const bytes = new Uint8Array(shared);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    if (done !== size) throw new ImageError('APPL_ERR_IMAGE_TRUNCATED', file, `short read: ${done} of ${size} bytes`);
    return verifyImage(file, shared);
  } finally {
    closeSync(fd);
  }
}

function readAll(fd: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  readSync(fd, b, 0, n, 0);
  return b;
}

/** Do the bytes start like an image? (A file shorter than the magic is judged on what it has.) */
function startsWithMagic(b: Uint8Array): boolean {
  for (let i = 0; i < MAGIC.length && i < b.length; i++) if (b[i] !== MAGIC[i]) return false;
  return true;
}

/** Verifies an image held in shared memory: header, hash, section table. */
export function verifyImage(file: string, shared: SharedArrayBuffer): Image {
  const bytes = new Uint8Array(shared);
  const size = bytes.length;
  if (size < HEADER_LEN) throw new ImageError('APPL_ERR_IMAGE_TRUNCATED', file, `truncated: ${size} bytes`);
  if (!startsWithMagic(bytes)) throw new ImageError('APPL_ERR_IMAGE_MAGIC', file, 'not an appliance image (wrong magic bytes)');
  const hv = new DataView(shared, 0, HEADER_LEN);
  const version = hv.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new ImageError('APPL_ERR_IMAGE_VERSION', file,
      `image format version ${version}; this appliance reads version ${FORMAT_VERSION}: rebuild the image with this version's "appliance build"`);
  }
  if (hv.getUint32(12, true) !== HEADER_LEN) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, 'header length field is wrong');
  const fileLen = Number(hv.getBigUint64(16, true));
  if (fileLen > size) {
    throw new ImageError('APPL_ERR_IMAGE_TRUNCATED', file, `truncated: the header says ${fileLen} bytes, the file has ${size}`);
  }
  if (fileLen < size) {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `${size - fileLen} unexpected bytes after the end of the image (${fileLen} bytes)`);
  }
  const digest = createHash('sha256').update(bytes.subarray(HEADER_LEN)).digest();
  const stored = bytes.subarray(40, 72);
  if (!Buffer.from(stored).equals(digest)) {
    throw new ImageError('APPL_ERR_IMAGE_CHECKSUM', file, 'content hash mismatch: the image is corrupted; rebuild it');
  }
  const sections = readSectionTable(file, hv, bytes);
  const meta = readMeta(file, bytes, sections);
  return { file, shared, bytes, version, hash: digest.toString('hex'), sections, meta };
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

function readSectionTable(file: string, hv: DataView, bytes: Uint8Array): Map<number, SectionInfo> {
  const size = bytes.length;
  const tableOff = Number(hv.getBigUint64(24, true));
  const count = hv.getUint32(32, true);
  if (count > 1024 || tableOff < HEADER_LEN || tableOff + count * SECTION_ENTRY_LEN !== size) {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `section table out of bounds (offset ${tableOff}, ${count} entries)`);
  }
  const tv = new DataView(bytes.buffer, tableOff, count * SECTION_ENTRY_LEN);
  const sections = new Map<number, SectionInfo>();
  for (let i = 0; i < count; i++) {
    const o = i * SECTION_ENTRY_LEN;
    const id = tv.getUint32(o, true);
    const offset = Number(tv.getBigUint64(o + 8, true));
    const length = Number(tv.getBigUint64(o + 16, true));
    if (offset < HEADER_LEN || offset % ALIGN !== 0 || offset + length > tableOff) {
      throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `section ${SECTION_NAMES[id] ?? id} out of bounds`);
    }
    if (sections.has(id)) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `section ${SECTION_NAMES[id] ?? id} appears twice`);
    sections.set(id, { id, offset, length });
  }
  for (const id of [SectionId.META, SectionId.BLOB]) {
    if (!sections.has(id)) throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, `missing section ${SECTION_NAMES[id]}`);
  }
  return sections;
}

function readMeta(file: string, bytes: Uint8Array, sections: Map<number, SectionInfo>): ImageMeta {
  const s = sections.get(SectionId.META)!;
  try {
    return JSON.parse(Buffer.from(bytes.buffer, s.offset, s.length).toString('utf8')) as ImageMeta;
  } catch {
    throw new ImageError('APPL_ERR_IMAGE_CORRUPT', file, 'META section is not valid JSON');
  }
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
