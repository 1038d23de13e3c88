// The HTTP specializer: a site directory in, every response it can give out, ready-made.
//
// For each file: its representations (identity, and gzip and brotli where the type is
// compressible and the result is smaller), and for each representation its complete 200
// response (header block followed by the body), the HEAD form, the 304, and the cut of
// each into TCP segment payloads for the usual MSS with their RFC 1071 partial sums.
// For each directory: the 301 to its slash form, and its index (or a 403). Per site: a
// 404 (its own 404.html when it has one). Plus the errors that do not depend on the site.
//
// Table layouts: specializers/http/layout.ts.

import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
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
import * as L from './layout.js';
import { INDEX_FILE, scanSite, type ScannedSite, type SiteFile } from './site-scan.js';

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

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
  /** Brotli quality for every file; null: 11 up to BROTLI_BEST_MAX bytes, 5 above. */
  brotliQuality: number | null;
  gzipLevel: number;
  /** How many files are read and compressed at once. */
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_HTTP_OPTIONS: HttpBuildOptions = {
  includeDotfiles: false,
  followSymlinks: false,
  strict: false,
  brotliQuality: null,
  gzipLevel: 9,
  concurrency: 4,
};

/** Above this size brotli's best quality costs minutes per file; quality 5 is near it. */
export const BROTLI_BEST_MAX = 1 << 20;

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
  hash: string;
  gzip: Uint8Array | null;
  br: Uint8Array | null;
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

  /**
   * A complete response. `fields` are the lines after Server (each ending in CRLF);
   * Content-Length is added when `contentLength` is given. Returns the response index;
   * a response with a body gets its HEAD form at index + 1.
   */
  response(status: number, fields: string, body: Uint8Array | null, contentLength: number | null, close: boolean): number {
    const statusLine = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
    const dateLine = 'Date: ';
    const connLine = '\r\nConnection: ';
    const head = Buffer.from(
      statusLine + dateLine + this.placeholderDate + connLine + (close ? L.CONN_CLOSE : L.CONN_KEEP_ALIVE) +
      `\r\nServer: ${L.SERVER_NAME}\r\n` + fields +
      (contentLength === null ? '' : `Content-Length: ${contentLength}\r\n`) + '\r\n', 'latin1');
    const dateAt = statusLine.length + dateLine.length;
    const connAt = dateAt + L.DATE_LEN + connLine.length;
    const headOff = this.blob(head);
    const bodyBytes = body ?? new Uint8Array(0);
    if (bodyBytes.length > 0) this.blob(bodyBytes);
    const flags = close ? L.RESP_FLAG_CLOSE : 0;
    const r = this.record(status, flags, headOff, head, bodyBytes, dateAt, connAt);
    if (bodyBytes.length > 0) this.record(status, flags | L.RESP_FLAG_HEAD, headOff, head, new Uint8Array(0), dateAt, connAt);
    return r;
  }

  private record(status: number, flags: number, headOff: number, head: Uint8Array, body: Uint8Array, dateAt: number, connAt: number): number {
    const at = this.responses.record(L.RESPONSE_WORDS);
    const r = at / L.RESPONSE_WORDS;
    this.responses.set(at + L.RESP_STATUS, status);
    this.responses.set(at + L.RESP_FLAGS, flags);
    this.responses.set(at + L.RESP_HEAD_OFF, headOff);
    this.responses.set(at + L.RESP_HEAD_LEN, head.length);
    this.responses.set(at + L.RESP_BODY_LEN, body.length);
    this.responses.set(at + L.RESP_DATE_AT, dateAt);
    this.responses.set(at + L.RESP_CONN_AT, connAt);
    const [s4, c4] = this.cut(headOff, head, body, L.MSS_IPV4);
    const [s6, c6] = this.cut(headOff, head, body, L.MSS_IPV6);
    this.responses.set(at + L.RESP_SEG4_AT, s4);
    this.responses.set(at + L.RESP_SEG4_COUNT, c4);
    this.responses.set(at + L.RESP_SEG6_AT, s6);
    this.responses.set(at + L.RESP_SEG6_COUNT, c6);
    return r;
  }

  /** Cuts head ‖ body into MSS-sized payloads; returns [first segment, count]. */
  private cut(headOff: number, head: Uint8Array, body: Uint8Array, mss: number): [number, number] {
    const total = head.length + body.length;
    const first = this.segments.length / L.SEGMENT_WORDS;
    let count = 0;
    for (let off = 0; off < total; off += mss) {
      const len = Math.min(mss, total - off);
      const at = this.segments.record(L.SEGMENT_WORDS);
      this.segments.set(at + L.SEG_OFF, headOff + off);
      this.segments.set(at + L.SEG_LEN_SUM, (len << 16) | spanSum(head, body, off, len));
      count++;
    }
    return [first, count];
  }

  /** One representation of a file: its 200 (and HEAD form) and 304. Returns the variant index. */
  variant(p: PreparedFile, encoding: number, body: Uint8Array, hasVariants: boolean): number {
    const etag = `"${p.hash}${encoding === L.ENC_IDENTITY ? '' : '-' + L.ENCODING_NAMES[encoding]}"`;
    const lastModified = formatHttpDate(p.file.mtime);
    const vary = hasVariants ? 'Vary: Accept-Encoding\r\n' : '';
    const validators = `Last-Modified: ${lastModified}\r\nETag: ${etag}\r\n`;
    const fields = `Content-Type: ${p.contentType}\r\n` + validators + vary +
      (encoding === L.ENC_IDENTITY ? '' : `Content-Encoding: ${L.ENCODING_NAMES[encoding]}\r\n`) +
      'Accept-Ranges: bytes\r\n';
    const resp = this.response(200, fields, body, body.length, false);
    const r304 = this.response(304, validators + vary, null, null, false);
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

// Compression settings, every one that shapes the output given, not left to Node's
// defaults: the same file gives the same bytes for as long as the build of Node does.
// (zlib's output also follows its version, and Node's Chromium zlib hashes with CRC32C
// where the CPU has it, SSE4.2 or ARMv8 CRC: an image is reproducible with the same Node
// on the same kind of CPU. Brotli's follows its version only.)
const GZIP_WINDOW_BITS = 15;
const GZIP_MEM_LEVEL = 8;
const BROTLI_WINDOW_BITS = 22;
/** RFC 1952 §2.3.1 OS: zlib writes the one it was built for (3 Unix, 19 macOS, 10 Windows); always Unix, as strip-nondeterminism does. */
const GZIP_OS_UNIX = 3;
const GZIP_OS_AT = 9;

function gzipOptions(level: number): zlib.ZlibOptions {
  return { level, windowBits: GZIP_WINDOW_BITS, memLevel: GZIP_MEM_LEVEL, strategy: zlib.constants.Z_DEFAULT_STRATEGY };
}

/**
 * zlib's gzip header is fixed but for its OS byte (MTIME 0, no name, no header CRC: the
 * trailer's CRC-32 covers the data only, so the byte can be set).
 */
function fixGzipHeader(g: Buffer): Buffer {
  g[GZIP_OS_AT] = GZIP_OS_UNIX;
  return g;
}

function brotliOptions(quality: number, size: number, contentType: string): zlib.BrotliOptions {
  const c = zlib.constants;
  return {
    params: {
      [c.BROTLI_PARAM_QUALITY]: quality,
      [c.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
      [c.BROTLI_PARAM_LGBLOCK]: 0, // chosen from the quality: the same for the same input
      [c.BROTLI_PARAM_SIZE_HINT]: size,
      [c.BROTLI_PARAM_MODE]: contentType.startsWith('text/') ? c.BROTLI_MODE_TEXT : c.BROTLI_MODE_GENERIC,
      [c.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING]: 0,
      [c.BROTLI_PARAM_LARGE_WINDOW]: 0,
    },
  };
}

/** Keep a compressed variant only when it saves at least 1/16 of the identity size. */
function worthIt(compressed: number, identity: number): boolean {
  return compressed <= identity - identity / 16;
}

export async function prepare(file: SiteFile, opts: HttpBuildOptions): Promise<PreparedFile> {
  // The real path, not following a link, and only the very file the scan saw: a file
  // swapped for a link, a FIFO or another file since is refused, not published.
  const r = readRegularFile(file.real, { limit: MAX_IMAGE_BYTES, noFollow: true, expect: { dev: file.dev, ino: file.ino, size: file.size } });
  if (!r.ok) throw new BuildInputError('APPL_ERR_SITE_READ', file.abs, undefined, `cannot read the file: ${r.why}`);
  const identity = r.bytes;
  const contentType = contentTypeFor(file.rel);
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 20);
  let gz: Uint8Array | null = null;
  let br: Uint8Array | null = null;
  if (identity.length > 0 && isCompressible(contentType)) {
    const quality = opts.brotliQuality ?? (identity.length <= BROTLI_BEST_MAX ? 11 : 5);
    const [g, b] = await Promise.all([
      gzip(identity, gzipOptions(opts.gzipLevel)).then(fixGzipHeader),
      brotli(identity, brotliOptions(quality, identity.length, contentType)),
    ]);
    // A variant that saves almost nothing costs a Vary header and cache entries downstream.
    if (worthIt(g.length, identity.length)) gz = g;
    if (worthIt(b.length, identity.length)) br = b;
  }
  return { file, contentType, identity, hash, gzip: gz, br };
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
export async function compileHttp(w: ImageWriter, specs: SiteSpec[], opts: HttpBuildOptions, placeholderSeconds: number): Promise<HttpBuildResult> {
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
  let gzipVariants = 0;
  let brotliVariants = 0;
  let bytes = 0;
  const sitesWords = new U32Builder();
  const hashWords = new U32Builder();
  const summaries: SiteSummary[] = [];

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
      let first = -1;
      let mask = 0;
      for (const [enc, body] of bodies) {
        const v = b.variant(p, enc, body, hasVariants);
        if (first < 0) first = v;
        mask |= 1 << enc;
      }
      gzipVariants += p.gzip ? 1 : 0;
      brotliVariants += p.br ? 1 : 0;
      siteVariants += bodies.length;
      siteBytes += p.identity.length;
      const key = Buffer.from('/' + p.file.rel, 'utf8');
      fileRoute.set(p.file.rel, b.route(si, key, L.KIND_FILE, first, bodies.length, mask));
      if (p.file.rel === '404.html') notFoundBody = p.identity;
    };

    // Read and compress up to `concurrency` files at once (zlib runs on the thread pool),
    // and emit them in scan order, not as they complete: emit assigns BLOB offsets and
    // variant and route indexes, and the image must not depend on which compression
    // finished first. As before, about `concurrency` prepared files are held at once; a
    // slow file now keeps the next ones waiting (at most concurrency − 1 compress meanwhile).
    const files = site.files;
    const inFlight: Array<Promise<PreparedFile>> = [];
    let next = 0;
    const launch = (): void => {
      if (next >= files.length) return;
      const p = prepare(files[next++]!, opts);
      p.catch(() => undefined); // awaited below in its turn, where a failure fails the build
      inFlight.push(p);
    };
    for (let i = 0; i < Math.max(1, opts.concurrency); i++) launch();
    while (inFlight.length > 0) {
      const p = await inFlight.shift()!;
      launch();
      emit(p);
      done++;
      opts.onProgress?.(done, total);
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
  };
}

/** --strict: the warnings stop the build, all of them listed. */
export function strictCheck(warnings: string[]): void {
  if (warnings.length === 0) return;
  throw new ApplianceError('APPL_ERR_BUILD_STRICT',
    `--strict: ${warnings.length} warning${warnings.length === 1 ? '' : 's'} (drop --strict to build anyway):\n` + warnings.map((x) => `  ${x}`).join('\n'));
}
