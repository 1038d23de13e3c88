// The HTTP specializer: a site directory in, every response it can give out, ready-made.
//
// For each file: its representations (identity, and gzip and brotli where the type is
// compressible and the result is smaller), and for each representation its complete 200
// response (header block followed by the body), the HEAD form, the 304, and the cut of
// each into TCP segment payloads for the usual MSS with their RFC 1071 partial sums.
// For each directory: the 301 to its slash form, and its index (or a 403). Per site: a
// 404 (its own 404.html when it has one). Plus the errors that do not depend on the site.
//
// What is derived from a file's bytes alone comes from the build cache when it is there
// (specializers/build-cache.ts): the compressed variants (made in worker threads,
// specializers/http/compress-pool.ts, on a miss) and the partial sums of the pieces the
// segments cut from each body. Files are read, hashed and looked up in scan order, a
// bounded window of them at a time, and emitted in scan order whatever finishes first.
//
// Table layouts: specializers/http/layout.ts.

import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import mime from 'mime-types';
import mimeDb from 'mime-db';
import { BuildInputError, UsageError } from '../../basics/errors.js';
import { addSums, partialSum, swapSum } from '../../basics/checksum.js';
import { formatHttpDate } from './date.js';
import { encodePath } from './path.js';
import { reasonPhrase } from './status.js';
import { ApplianceError, ImageError } from '../../basics/errors.js';
import { MAX_IMAGE_BYTES, type ImageWriter } from '../image/format.js';
import { readRegularFile } from '../regular-file.js';
import { hashBytes, tableSizeFor } from '../image/hash.js';
import { U32Builder } from '../image/u32-builder.js';
import { cacheKey, type BuildCache } from '../build-cache.js';
import * as L from './layout.js';
import { brotliKey, brotliQualityFor, brotliTextMode, compress, gzipKey } from './compress.js';
import { CompressPool, defaultThreads } from './compress-pool.js';
import { INDEX_FILE, scanSite, type ScannedSite, type SiteFile } from './site-scan.js';

export interface SiteSpec {
  /** Host name this site answers for; null for the default site. */
  host: string | null;
  dir: string;
}

export interface HttpBuildOptions {
  includeDotfiles: boolean;
  /** Serve the targets of symbolic links that leave the site (else they stop the build). */
  followSymlinks?: boolean;
  /** Stop the build (APPL_ERR_BUILD_STRICT) when the scan left something out with a warning. */
  strict?: boolean;
  /** Brotli quality for every file; null: by type and size (compress.ts brotliQualityFor). */
  brotliQuality: number | null;
  gzipLevel: number;
  /** Compression worker threads (default: one per core). */
  concurrency: number;
  /** `cached`: how many of the `done` files needed no compression (the cache had it all). */
  onProgress?: (done: number, total: number, cached: number) => void;
}

export const DEFAULT_HTTP_OPTIONS: HttpBuildOptions = {
  includeDotfiles: false,
  followSymlinks: false,
  strict: false,
  brotliQuality: null,
  gzipLevel: 9,
  concurrency: defaultThreads(),
};

/**
 * Files read ahead of the one being emitted, per compression thread, and the bytes they
 * may hold at most (one file is always let in, however large): what bounds a build's
 * memory, whatever the site.
 */
const WINDOW_FILES_PER_THREAD = 8;
const WINDOW_BYTES = 128 << 20;

export interface HttpTables {
  sites: Uint32Array;
  routes: Uint32Array;
  hash: Uint32Array;
  variants: Uint32Array;
  responses: Uint32Array;
  segments: Uint32Array;
  special: Uint32Array;
}

export interface SiteSummary {
  host: string | null;
  dir: string;
  isDefault: boolean;
  files: number;
  bytes: number;
  variants: number;
  skipped: Array<{ path: string; why: string }>;
}

export interface HttpBuildResult {
  tables: HttpTables;
  sites: SiteSummary[];
  files: number;
  bytes: number;
  gzipVariants: number;
  brotliVariants: number;
  /** The bodies of the variants kept. */
  gzipBytes: number;
  brotliBytes: number;
  /** Files whose variants all came from the cache, and files compressed (the rest have no variants). */
  cachedFiles: number;
  compressedFiles: number;
  /** Compression threads started (0 when nothing needed compressing). */
  threads: number;
}

/** The warnings a site's scan gives (what it left out, dotfiles aside: those are counted). */
export function scanWarnings(dir: string, skipped: Array<{ path: string; why: string }>): string[] {
  return skipped.filter((k) => !k.why.startsWith('dotfile')).map((k) => `${dir}: ${k.path}: skipped, ${k.why}`);
}

/** The small HTML page sent with an error when the site has none of its own. */
export function defaultErrorPage(status: number): Uint8Array {
  const title = `${status} ${reasonPhrase(status)}`;
  return Buffer.from(
    `<!DOCTYPE html>\n<html>\n<head><title>${title}</title></head>\n` +
    `<body>\n<h1>${title}</h1>\n<hr><p>${L.SERVER_NAME}</p>\n</body>\n</html>\n`, 'latin1');
}

export function contentTypeFor(name: string): string {
  const t = mime.contentType(basename(name));
  return t === false ? 'application/octet-stream' : t;
}

function isCompressible(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const entry = (mimeDb as Record<string, { compressible?: boolean }>)[type];
  if (entry?.compressible !== undefined) return entry.compressible;
  return type.startsWith('text/') || type.endsWith('+json') || type.endsWith('+xml');
}

/** The sum of bytes [start, start+len) of head ‖ body, as a span starting at an even offset. */
function spanSum(head: Uint8Array, body: Uint8Array, start: number, len: number): number {
  const hl = head.length;
  if (start + len <= hl) return partialSum(head, start, len);
  if (start >= hl) return partialSum(body, start - hl, len);
  const first = hl - start;
  const a = partialSum(head, start, first);
  let b = partialSum(body, 0, len - first);
  if (first & 1) b = swapSum(b);
  return addSums(a, b);
}

interface PreparedFile {
  file: SiteFile;
  contentType: string;
  identity: Uint8Array;
  /** SHA-256 of the identity, hex: the ETag is its first 20 digits. */
  sha256: string;
  hash: string;
  gzip: Uint8Array | null;
  br: Uint8Array | null;
  /** The cache keys of the variants kept (what their bytes are derived from), else null. */
  gzipKey: string | null;
  brKey: string | null;
  /** Something had to be compressed (not all in the cache), or every variant came from the cache. */
  compressed: boolean;
  fromCache: boolean;
}

/** The partial sums of a body's pieces as the segments of each MSS cut them (see pieceSums). */
interface BodyPieces { v4: Uint16Array; v6: Uint16Array }

/** How many segments of MSS `mss` carry bytes of a body of `len` bytes after a head of `headLen`. */
function pieceCount(len: number, headLen: number, mss: number): number {
  return len === 0 ? 0 : Math.ceil((headLen + len) / mss) - Math.floor(headLen / mss);
}

/**
 * The RFC 1071 partial sums of the body's share of each segment that carries body bytes,
 * when head ‖ body is cut every `mss` bytes: the first piece runs to the first cut after
 * the head (mss − headLen mod mss bytes), the others are whole segments. They depend on
 * the body's bytes and headLen mod mss alone, and are what the build cache keeps.
 */
function pieceSums(body: Uint8Array, headLen: number, mss: number): Uint16Array {
  const out = new Uint16Array(pieceCount(body.length, headLen, mss));
  let start = 0;
  let end = Math.min(body.length, mss - (headLen % mss));
  for (let k = 0; k < out.length; k++) {
    out[k] = partialSum(body, start, end - start);
    start = end;
    end = Math.min(body.length, start + mss);
  }
  return out;
}

/** Builds the response, segment and route tables, appending every byte to the BLOB. */
class HttpTableBuilder {
  readonly responses = new U32Builder();
  readonly segments = new U32Builder();
  readonly variants = new U32Builder();
  readonly routes = new U32Builder();
  private readonly placeholderDate: string;

  constructor(private readonly w: ImageWriter, placeholderSeconds: number) {
    this.placeholderDate = formatHttpDate(placeholderSeconds);
  }

  /** Appends bytes to the BLOB, returning their BLOB offset. */
  blob(bytes: Uint8Array): number {
    return this.w.append(bytes);
  }

  /** A response's header block (see layout.ts), and where its Date and Connection values are. */
  head(status: number, fields: string, contentLength: number | null, close: boolean): { bytes: Buffer; dateAt: number; connAt: number } {
    const statusLine = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
    const dateLine = 'Date: ';
    const connLine = '\r\nConnection: ';
    const bytes = Buffer.from(
      statusLine + dateLine + this.placeholderDate + connLine + (close ? L.CONN_CLOSE : L.CONN_KEEP_ALIVE) +
      `\r\nServer: ${L.SERVER_NAME}\r\n` + fields +
      (contentLength === null ? '' : `Content-Length: ${contentLength}\r\n`) + '\r\n', 'latin1');
    const dateAt = statusLine.length + dateLine.length;
    return { bytes, dateAt, connAt: dateAt + L.DATE_LEN + connLine.length };
  }

  /**
   * A complete response. `fields` are the lines after Server (each ending in CRLF);
   * Content-Length is added when `contentLength` is given. Returns the response index;
   * a response with a body gets its HEAD form at index + 1. `pieces`: the body's piece
   * sums after this head, when known (from the cache), else they are summed here.
   */
  response(status: number, fields: string, body: Uint8Array | null, contentLength: number | null, close: boolean, pieces?: BodyPieces): number {
    const { bytes: head, dateAt, connAt } = this.head(status, fields, contentLength, close);
    const headOff = this.blob(head);
    const bodyBytes = body ?? new Uint8Array(0);
    if (bodyBytes.length > 0) this.blob(bodyBytes);
    const flags = close ? L.RESP_FLAG_CLOSE : 0;
    const r = this.record(status, flags, headOff, head, bodyBytes, dateAt, connAt, pieces);
    if (bodyBytes.length > 0) this.record(status, flags | L.RESP_FLAG_HEAD, headOff, head, new Uint8Array(0), dateAt, connAt);
    return r;
  }

  private record(status: number, flags: number, headOff: number, head: Uint8Array, body: Uint8Array, dateAt: number, connAt: number, pieces?: BodyPieces): number {
    const at = this.responses.record(L.RESPONSE_WORDS);
    const r = at / L.RESPONSE_WORDS;
    this.responses.set(at + L.RESP_STATUS, status);
    this.responses.set(at + L.RESP_FLAGS, flags);
    this.responses.set(at + L.RESP_HEAD_OFF, headOff);
    this.responses.set(at + L.RESP_HEAD_LEN, head.length);
    this.responses.set(at + L.RESP_BODY_LEN, body.length);
    this.responses.set(at + L.RESP_DATE_AT, dateAt);
    this.responses.set(at + L.RESP_CONN_AT, connAt);
    const [s4, c4] = this.cut(headOff, head, body, L.MSS_IPV4, pieces?.v4);
    const [s6, c6] = this.cut(headOff, head, body, L.MSS_IPV6, pieces?.v6);
    this.responses.set(at + L.RESP_SEG4_AT, s4);
    this.responses.set(at + L.RESP_SEG4_COUNT, c4);
    this.responses.set(at + L.RESP_SEG6_AT, s6);
    this.responses.set(at + L.RESP_SEG6_COUNT, c6);
    return r;
  }

  /** Cuts head ‖ body into MSS-sized payloads; returns [first segment, count]. */
  private cut(headOff: number, head: Uint8Array, body: Uint8Array, mss: number, pieces?: Uint16Array): [number, number] {
    const total = head.length + body.length;
    const hl = head.length;
    const first = this.segments.length / L.SEGMENT_WORDS;
    let count = 0;
    let piece = 0;
    for (let off = 0; off < total; off += mss) {
      const len = Math.min(mss, total - off);
      let sum: number;
      if (pieces === undefined || off + len <= hl) {
        sum = spanSum(head, body, off, len);
      } else if (off >= hl) {
        sum = pieces[piece++]!;
      } else {
        // The segment where the head ends and the body begins (RFC 1071 §2(B): a piece
        // that starts at an odd offset is swapped).
        const inHead = hl - off;
        const p = pieces[piece++]!;
        sum = addSums(partialSum(head, off, inHead), inHead & 1 ? swapSum(p) : p);
      }
      const at = this.segments.record(L.SEGMENT_WORDS);
      this.segments.set(at + L.SEG_OFF, headOff + off);
      this.segments.set(at + L.SEG_LEN_SUM, (len << 16) | sum);
      count++;
    }
    return [first, count];
  }

  /** The header lines of one representation of a file (its 200's after Server, and its 304's). */
  private variantFields(p: PreparedFile, encoding: number, hasVariants: boolean): { etag: string; fields: string; validators: string } {
    const etag = `"${p.hash}${encoding === L.ENC_IDENTITY ? '' : '-' + L.ENCODING_NAMES[encoding]}"`;
    const lastModified = formatHttpDate(p.file.mtime);
    const vary = hasVariants ? 'Vary: Accept-Encoding\r\n' : '';
    const validators = `Last-Modified: ${lastModified}\r\nETag: ${etag}\r\n` + vary;
    const fields = `Content-Type: ${p.contentType}\r\n` + validators +
      (encoding === L.ENC_IDENTITY ? '' : `Content-Encoding: ${L.ENCODING_NAMES[encoding]}\r\n`) +
      'Accept-Ranges: bytes\r\n';
    return { etag, fields, validators };
  }

  /** The length of a representation's 200 header block: where the segments cut its body. */
  variantHeadLength(p: PreparedFile, encoding: number, body: Uint8Array, hasVariants: boolean): number {
    return this.head(200, this.variantFields(p, encoding, hasVariants).fields, body.length, false).bytes.length;
  }

  /** One representation of a file: its 200 (and HEAD form) and 304. Returns the variant index. */
  variant(p: PreparedFile, encoding: number, body: Uint8Array, hasVariants: boolean, pieces?: BodyPieces): number {
    const { etag, fields, validators } = this.variantFields(p, encoding, hasVariants);
    const resp = this.response(200, fields, body, body.length, false, pieces);
    const r304 = this.response(304, validators, null, null, false);
    const fieldsOff = this.blob(Buffer.from(fields, 'latin1'));
    const etagOff = this.blob(Buffer.from(etag, 'latin1'));
    const headOff = this.responses.get(resp * L.RESPONSE_WORDS + L.RESP_HEAD_OFF);
    const headLen = this.responses.get(resp * L.RESPONSE_WORDS + L.RESP_HEAD_LEN);
    const at = this.variants.record(L.VARIANT_WORDS);
    this.variants.set(at + L.VAR_ENCODING, encoding);
    this.variants.set(at + L.VAR_ETAG_OFF, etagOff);
    this.variants.set(at + L.VAR_ETAG_LEN, etag.length);
    this.variants.set(at + L.VAR_MTIME, p.file.mtime);
    this.variants.set(at + L.VAR_BODY_OFF, headOff + headLen);
    this.variants.set(at + L.VAR_BODY_LEN, body.length);
    this.variants.set(at + L.VAR_RESP, resp);
    this.variants.set(at + L.VAR_RESP_304, r304);
    this.variants.set(at + L.VAR_FIELDS_OFF, fieldsOff);
    this.variants.set(at + L.VAR_FIELDS_LEN, fields.length);
    return at / L.VARIANT_WORDS;
  }

  route(site: number, key: Uint8Array, kind: number, a: number, b: number, c: number): number {
    const keyOff = this.blob(key);
    const at = this.routes.record(L.ROUTE_WORDS);
    this.routes.set(at + L.ROUTE_KEY_OFF, keyOff);
    this.routes.set(at + L.ROUTE_KEY_LEN, key.length);
    this.routes.set(at + L.ROUTE_HASH, hashBytes(key, 0, key.length));
    this.routes.set(at + L.ROUTE_KIND, kind);
    this.routes.set(at + L.ROUTE_A, a);
    this.routes.set(at + L.ROUTE_B, b);
    this.routes.set(at + L.ROUTE_C, c);
    this.routes.set(at + L.ROUTE_SITE, site);
    return at / L.ROUTE_WORDS;
  }
}

/** Keep a compressed variant only when it saves at least 1/16 of the identity size. */
function worthIt(compressed: number, identity: number): boolean {
  return compressed <= identity - identity / 16;
}

/** Where prepare() finds what it derived before, and the threads to compress on. */
export interface PrepareContext {
  cache: BuildCache | null;
  /** null: compress on this thread. */
  pool: CompressPool | null;
}

/**
 * Reads a file and makes its variants, from the cache when it has them. The read is
 * synchronous (done before the first await): a window of calls reads files in the order
 * it makes them.
 */
export async function prepare(file: SiteFile, opts: HttpBuildOptions, ctx: PrepareContext = { cache: null, pool: null }): Promise<PreparedFile> {
  // The real path, not following a link, and only the very file the scan saw: a file
  // swapped for a link, a FIFO or another file since is refused, not published.
  const r = readRegularFile(file.real, { limit: MAX_IMAGE_BYTES, noFollow: true, expect: { dev: file.dev, ino: file.ino, size: file.size } });
  if (!r.ok) throw new BuildInputError('APPL_ERR_SITE_READ', file.abs, undefined, `cannot read the file: ${r.why}`);
  const identity = r.bytes;
  const contentType = contentTypeFor(file.rel);
  const sha256 = createHash('sha256').update(identity).digest('hex');
  const p: PreparedFile = { file, contentType, identity, sha256, hash: sha256.slice(0, 20), gzip: null, br: null, gzipKey: null, brKey: null, compressed: false, fromCache: false };
  if (identity.length === 0 || !isCompressible(contentType)) return p;
  const quality = brotliQualityFor(identity.length, contentType, opts.brotliQuality);
  const text = brotliTextMode(contentType);
  const gzKey = gzipKey(sha256, opts.gzipLevel);
  const brKey = brotliKey(sha256, quality, text);
  const cachedGz = ctx.cache?.get(gzKey) ?? null;
  const cachedBr = ctx.cache?.get(brKey) ?? null;
  let gz = cachedGz ?? new Uint8Array(0);
  let br = cachedBr ?? new Uint8Array(0);
  if (cachedGz === null || cachedBr === null) {
    const task = { bytes: identity, gzipLevel: cachedGz === null ? opts.gzipLevel : null, brotli: cachedBr === null ? { quality, text } : null };
    const made = ctx.pool ? await ctx.pool.run(task) : compress(task);
    // A variant not worth keeping is cached as an empty entry (no compressor's output is
    // empty): the next build knows without compressing, and the cache holds no copy of it.
    if (cachedGz === null) {
      gz = made.gzip!;
      ctx.cache?.put(gzKey, worthIt(gz.length, identity.length) ? gz : new Uint8Array(0));
    }
    if (cachedBr === null) {
      br = made.br!;
      ctx.cache?.put(brKey, worthIt(br.length, identity.length) ? br : new Uint8Array(0));
    }
    p.compressed = true;
  } else {
    p.fromCache = true;
  }
  // A variant that saves almost nothing costs a Vary header and cache entries downstream.
  if (gz.length > 0 && worthIt(gz.length, identity.length)) { p.gzip = gz; p.gzipKey = gzKey; }
  if (br.length > 0 && worthIt(br.length, identity.length)) { p.br = br; p.brKey = brKey; }
  return p;
}

/**
 * The piece sums of every body of a file (identity, then its variants; MSS_IPV4, then
 * MSS_IPV6 for each), from the cache or summed and stored. Keyed by what the bodies are
 * derived from and where their heads end.
 */
function filePieces(cache: BuildCache | null, p: PreparedFile, bodies: Array<[number, Uint8Array]>, headLens: number[]): BodyPieces[] {
  const names = bodies.map(([enc]) => (enc === L.ENC_IDENTITY ? p.sha256 : enc === L.ENC_GZIP ? p.gzipKey! : p.brKey!));
  const key = cache === null ? '' : cacheKey({ kind: 'pieces', bodies: names.join(','), heads: headLens.join(','), mss: `${L.MSS_IPV4},${L.MSS_IPV6}` });
  const counts = bodies.map(([, b], i) => [pieceCount(b.length, headLens[i]!, L.MSS_IPV4), pieceCount(b.length, headLens[i]!, L.MSS_IPV6)] as const);
  const words = counts.reduce((n, [a, b]) => n + a + b, 0);
  const stored = cache?.get(key) ?? null;
  if (stored !== null && stored.length === words * 2) {
    const all = stored.byteOffset % 2 === 0 ? new Uint16Array(stored.buffer, stored.byteOffset, words) : new Uint16Array(Buffer.from(stored).buffer, 0, words);
    let at = 0;
    return counts.map(([a, b]) => {
      const v4 = all.subarray(at, at + a);
      const v6 = all.subarray(at + a, at + a + b);
      at += a + b;
      return { v4, v6 };
    });
  }
  const out = bodies.map(([, b], i) => ({ v4: pieceSums(b, headLens[i]!, L.MSS_IPV4), v6: pieceSums(b, headLens[i]!, L.MSS_IPV6) }));
  cache?.put(key, out.flatMap((x) => [x.v4, x.v6]).map((u) => new Uint8Array(u.buffer, u.byteOffset, u.byteLength)));
  return out;
}

function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h) && !/^\[[0-9a-f:.]+\]$/.test(h) && !/^[0-9.]+$/.test(h)) {
    throw new UsageError(`--site ${host}=DIR: "${host}" is not a host name`);
  }
  return h;
}

/** Orders sites: the default site (the one without a host, else the first) first. */
function planSites(specs: SiteSpec[]): Array<SiteSpec & { isDefault: boolean }> {
  if (specs.length === 0) throw new UsageError('no --site given');
  const plain = specs.filter((s) => s.host === null);
  if (plain.length > 1) throw new UsageError('only one --site DIR may be the default; give the others as --site HOST=DIR');
  const seen = new Set<string>();
  const out = specs.map((s) => {
    const host = s.host === null ? null : normalizeHost(s.host);
    if (host !== null) {
      if (seen.has(host)) throw new UsageError(`--site ${host}=… given twice`);
      seen.add(host);
    }
    return { host, dir: s.dir, isDefault: false };
  });
  const def = out.find((s) => s.host === null) ?? out[0]!;
  def.isDefault = true;
  return [def, ...out.filter((s) => s !== def)];
}

/**
 * Compiles the sites into the image's BLOB (which must be open) and returns the tables to
 * write once the BLOB is closed.
 */
export async function compileHttp(w: ImageWriter, specs: SiteSpec[], opts: HttpBuildOptions, placeholderSeconds: number, cache: BuildCache | null = null): Promise<HttpBuildResult> {
  const plan = planSites(specs);
  const exclude = w.ownFiles();
  const scanned: ScannedSite[] = plan.map((s) => scanSite(s.dir, { includeDotfiles: opts.includeDotfiles, followSymlinks: opts.followSymlinks ?? false, exclude }));
  if (opts.strict) strictCheck(plan.flatMap((s, i) => scanWarnings(s.dir, scanned[i]!.skipped)));
  // Last-Modified is never later than the build (RFC 9110 §8.8.2.1: a modification time in
  // the future is replaced by the time the response was made) nor before 1970: VAR_MTIME
  // is a u32 the runtime compares with If-Modified-Since.
  for (const s of scanned) for (const f of s.files) f.mtime = Math.min(Math.max(f.mtime, 0), placeholderSeconds);
  const siteBytes = scanned.reduce((n, s) => s.files.reduce((m, f) => m + f.size, n), 0);
  if (siteBytes > MAX_IMAGE_BYTES) {
    throw new ImageError('APPL_ERR_IMAGE_WRITE', w.path, `the sites hold ${siteBytes} bytes; an image holds at most 4 GiB: split them into several images`);
  }
  const b = new HttpTableBuilder(w, placeholderSeconds);

  const special = new Uint32Array(L.SPECIAL_COUNT);
  const html = 'Content-Type: text/html; charset=utf-8\r\n';
  for (const [slot, status, extra] of [
    [L.SPECIAL_400, 400, ''], [L.SPECIAL_405, 405, 'Allow: GET, HEAD\r\n'], [L.SPECIAL_414, 414, ''],
    [L.SPECIAL_431, 431, ''], [L.SPECIAL_505, 505, ''],
  ] as const) {
    const body = defaultErrorPage(status);
    special[slot] = b.response(status, html + extra, body, body.length, status !== 405);
  }

  const total = scanned.reduce((n, s) => n + s.files.length, 0);
  let done = 0;
  let cachedFiles = 0;
  let compressedFiles = 0;
  let gzipVariants = 0;
  let brotliVariants = 0;
  let gzipBytes = 0;
  let brotliBytes = 0;
  let bytes = 0;
  const sitesWords = new U32Builder();
  const hashWords = new U32Builder();
  const summaries: SiteSummary[] = [];
  const pool = new CompressPool(Math.max(1, opts.concurrency));
  const ctx: PrepareContext = { cache, pool };
  try {
    for (let si = 0; si < plan.length; si++) {
      const spec = plan[si]!;
      const site = scanned[si]!;
      const fileRoute = new Map<string, number>();
      let siteBytes = 0;
      let siteVariants = 0;
      let notFoundBody: Uint8Array = defaultErrorPage(404);

      const emit = (p: PreparedFile): void => {
        const bodies: Array<[number, Uint8Array]> = [[L.ENC_IDENTITY, p.identity]];
        if (p.gzip) bodies.push([L.ENC_GZIP, p.gzip]);
        if (p.br) bodies.push([L.ENC_BR, p.br]);
        const hasVariants = bodies.length > 1;
        const pieces = filePieces(cache, p, bodies, bodies.map(([enc, body]) => b.variantHeadLength(p, enc, body, hasVariants)));
        let first = -1;
        let mask = 0;
        bodies.forEach(([enc, body], i) => {
          const v = b.variant(p, enc, body, hasVariants, pieces[i]);
          if (first < 0) first = v;
          mask |= 1 << enc;
        });
        gzipVariants += p.gzip ? 1 : 0;
        brotliVariants += p.br ? 1 : 0;
        gzipBytes += p.gzip?.length ?? 0;
        brotliBytes += p.br?.length ?? 0;
        cachedFiles += p.fromCache ? 1 : 0;
      compressedFiles += p.compressed ? 1 : 0;
        siteVariants += bodies.length;
        siteBytes += p.identity.length;
        const key = Buffer.from('/' + p.file.rel, 'utf8');
        fileRoute.set(p.file.rel, b.route(si, key, L.KIND_FILE, first, bodies.length, mask));
        if (p.file.rel === '404.html') notFoundBody = p.identity;
      };

      // Read files ahead, a window of them, while the threads compress, and emit them in
      // scan order, not as they complete: emit assigns BLOB offsets and variant and route
      // indexes, and the image must not depend on which compression finished first. The
      // window is bounded in files and in bytes: a slow file keeps the next ones waiting
      // once it is full.
      const files = site.files;
      const inFlight: Array<{ p: Promise<PreparedFile>; size: number }> = [];
      let held = 0;
      let next = 0;
      const maxFiles = WINDOW_FILES_PER_THREAD * pool.threads;
      const launch = (): void => {
        while (next < files.length && (inFlight.length === 0 || (inFlight.length < maxFiles && held + files[next]!.size <= WINDOW_BYTES))) {
          const f = files[next++]!;
          const p = prepare(f, opts, ctx);
          p.catch(() => undefined); // awaited below in its turn, where a failure fails the build
          inFlight.push({ p, size: f.size });
          held += f.size;
        }
      };
      launch();
      while (inFlight.length > 0) {
        const head = inFlight.shift()!;
        const p = await head.p;
        held -= head.size;
        launch();
        emit(p);
        done++;
        opts.onProgress?.(done, total, cachedFiles);
      }

      const r404 = b.response(404, html, notFoundBody, notFoundBody.length, false);
      const forbidden = defaultErrorPage(403);
      const r403 = b.response(403, html, forbidden, forbidden.length, false);

      for (const dir of site.dirs) {
        const slashPath = dir.rel === '' ? '/' : `/${dir.rel}/`;
        const slashKey = Buffer.from(slashPath, 'utf8');
        if (dir.hasIndex) {
          const fileR = fileRoute.get(dir.rel === '' ? INDEX_FILE : `${dir.rel}/${INDEX_FILE}`)!;
          const at = fileR * L.ROUTE_WORDS;
          b.route(si, slashKey, L.KIND_FILE, b.routes.get(at + L.ROUTE_A), b.routes.get(at + L.ROUTE_B), b.routes.get(at + L.ROUTE_C));
        } else {
          b.route(si, slashKey, L.KIND_FORBIDDEN, r403, 0, 0);
        }
        if (dir.rel !== '') {
          const location = encodePath(slashKey);
          const body = defaultErrorPage(301);
          const r301 = b.response(301, `Location: ${location}\r\n` + html, body, body.length, false);
          const locOff = b.blob(Buffer.from(location, 'latin1'));
          b.route(si, Buffer.from('/' + dir.rel, 'utf8'), L.KIND_REDIRECT, r301, locOff, location.length);
        }
      }

      // This site's run of hash slots: linear probing, slot = route index + 1.
      const siteRoutes: number[] = [];
      for (let r = 0; r < b.routes.length / L.ROUTE_WORDS; r++) {
        if (b.routes.get(r * L.ROUTE_WORDS + L.ROUTE_SITE) === si) siteRoutes.push(r);
      }
      const size = tableSizeFor(siteRoutes.length);
      const hashAt = hashWords.record(size);
      for (const r of siteRoutes) {
        let slot = b.routes.get(r * L.ROUTE_WORDS + L.ROUTE_HASH) & (size - 1);
        while (hashWords.get(hashAt + slot) !== 0) slot = (slot + 1) & (size - 1);
        hashWords.set(hashAt + slot, r + 1);
      }

      const host = spec.host === null ? null : Buffer.from(spec.host, 'latin1');
      const hostOff = host ? b.blob(host) : 0;
      const sAt = sitesWords.record(L.SITE_WORDS);
      sitesWords.set(sAt + L.SITE_HOST_OFF, hostOff);
      sitesWords.set(sAt + L.SITE_HOST_LEN, host ? host.length : 0);
      sitesWords.set(sAt + L.SITE_HASH_AT, hashAt);
      sitesWords.set(sAt + L.SITE_HASH_SIZE, size);
      sitesWords.set(sAt + L.SITE_RESP_404, r404);
      sitesWords.set(sAt + L.SITE_RESP_403, r403);
      sitesWords.set(sAt + L.SITE_FLAGS, spec.isDefault ? L.SITE_FLAG_DEFAULT : 0);
      bytes += siteBytes;
      summaries.push({
        host: spec.host, dir: spec.dir, isDefault: spec.isDefault, files: site.files.length,
        bytes: siteBytes, variants: siteVariants, skipped: site.skipped,
      });
    }
  } finally {
    await pool.close();
  }

  return {
    tables: {
      sites: sitesWords.view(), routes: b.routes.view(), hash: hashWords.view(), variants: b.variants.view(),
      responses: b.responses.view(), segments: b.segments.view(), special,
    },
    sites: summaries,
    files: total,
    bytes,
    gzipVariants,
    brotliVariants,
    gzipBytes,
    brotliBytes,
    cachedFiles,
    compressedFiles,
    threads: pool.started,
  };
}

/** --strict: the warnings stop the build, all of them listed. */
export function strictCheck(warnings: string[]): void {
  if (warnings.length === 0) return;
  throw new ApplianceError('APPL_ERR_BUILD_STRICT',
    `--strict: ${warnings.length} warning${warnings.length === 1 ? '' : 's'} (drop --strict to build anyway):\n` + warnings.map((x) => `  ${x}`).join('\n'));
}
