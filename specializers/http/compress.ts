// The compressed variants of a file: which settings each file gets, the compression itself
// (run in worker threads, specializers/http/compress-pool.ts), and the cache keys that name
// the result (specializers/build-cache.ts).
//
// Every setting that shapes the output is given, not left to Node's defaults: the same
// file gives the same bytes for as long as the build of Node does. (zlib's output also
// follows its version, and Node's Chromium zlib hashes with CRC32C where the CPU has it,
// SSE4.2 or ARMv8 CRC: an image is reproducible with the same Node on the same kind of
// CPU. Brotli's follows its version only.) A cache key holds all of them, and for gzip a
// fingerprint of what this zlib on this CPU makes of a fixed sample, so that a cache
// carried to a machine whose zlib hashes otherwise misses instead of giving other bytes
// than a clean build there would.

import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { cacheKey } from '../build-cache.js';

const GZIP_WINDOW_BITS = 15;
const GZIP_MEM_LEVEL = 8;
const BROTLI_WINDOW_BITS = 22;
/** RFC 1952 §2.3.1 OS: zlib writes the one it was built for (3 Unix, 19 macOS, 10 Windows); always Unix, as strip-nondeterminism does. */
const GZIP_OS_UNIX = 3;
const GZIP_OS_AT = 9;

// ───────────────────────────── which settings ─────────────────────────────
//
// Brotli's quality decides a build's time: on Python 3.11's documentation (63 MiB to
// compress) one core takes 121 s at quality 11, 42 s at 10, 2.7 s at 8, 1.7 s at 5, for
// brotli output 2.5% (10), 13% (8) and 16% (5) larger than 11's. Qualities 10 and 11 search
// for the shortest encoding (Zopfli-like); up to 9 they are greedy and cheap, so the
// choice is mostly which bytes are worth 10 or 11, and that is by what a file is:
//  - assets (stylesheets, scripts, JSON, SVG, fonts: every compressible type but text/*
//    documents) are fetched by page after page, and a site has few of their bytes:
//    quality 11 up to ASSET_BEST_MAX;
//  - documents (HTML, plain text and the other text/* types) are most of a site's bytes,
//    each fetched on its own: quality DOCUMENT_SMALL_QUALITY up to DOCUMENT_SMALL_MAX (a
//    small page is sent in a handful of segments, where each one saved shows), quality
//    DOCUMENT_QUALITY above, up to LARGE;
//  - anything larger than LARGE: LARGE_QUALITY (a file of tens of megabytes at 10 or 11
//    takes a minute on its own).
// --brotli-quality N sets one quality for every file instead.

export const ASSET_BEST_MAX = 1 << 20;
export const DOCUMENT_SMALL_MAX = 128 << 10;
export const DOCUMENT_SMALL_QUALITY = 10;
export const DOCUMENT_QUALITY = 8;
export const LARGE = 1 << 20;
export const LARGE_QUALITY = 5;
export const BROTLI_POLICY = `auto (assets: 11 up to 1 MiB; documents: ${DOCUMENT_SMALL_QUALITY} up to 128 KiB, ${DOCUMENT_QUALITY} up to 1 MiB; larger files: ${LARGE_QUALITY})`;

/** text/* but stylesheets and scripts: pages, plain text, CSV, Markdown. */
function isDocument(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (type.startsWith('text/') && type !== 'text/css' && type !== 'text/javascript') || type === 'application/xhtml+xml';
}

/** The brotli quality a file gets: `fixed` when given (--brotli-quality), else by its type and size. */
export function brotliQualityFor(size: number, contentType: string, fixed: number | null): number {
  if (fixed !== null) return fixed;
  if (!isDocument(contentType)) return size <= ASSET_BEST_MAX ? 11 : LARGE_QUALITY;
  if (size <= DOCUMENT_SMALL_MAX) return DOCUMENT_SMALL_QUALITY;
  return size <= LARGE ? DOCUMENT_QUALITY : LARGE_QUALITY;
}

/** Brotli's text mode for text/* (a hint for its context modelling), generic for the rest. */
export function brotliTextMode(contentType: string): boolean {
  return contentType.startsWith('text/');
}

// ───────────────────────────── compression ─────────────────────────────

export interface CompressTask {
  bytes: Uint8Array;
  /** null: no gzip variant wanted (cached, or not compressible). */
  gzipLevel: number | null;
  brotli: { quality: number; text: boolean } | null;
}

export interface CompressResult {
  gzip: Uint8Array | null;
  br: Uint8Array | null;
}

function gzipOptions(level: number): zlib.ZlibOptions {
  return { level, windowBits: GZIP_WINDOW_BITS, memLevel: GZIP_MEM_LEVEL, strategy: zlib.constants.Z_DEFAULT_STRATEGY };
}

function brotliOptions(quality: number, size: number, text: boolean): zlib.BrotliOptions {
  const c = zlib.constants;
  return {
    params: {
      [c.BROTLI_PARAM_QUALITY]: quality,
      [c.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
      [c.BROTLI_PARAM_LGBLOCK]: 0, // chosen from the quality: the same for the same input
      [c.BROTLI_PARAM_SIZE_HINT]: size,
      [c.BROTLI_PARAM_MODE]: text ? c.BROTLI_MODE_TEXT : c.BROTLI_MODE_GENERIC,
      [c.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING]: 0,
      [c.BROTLI_PARAM_LARGE_WINDOW]: 0,
    },
  };
}

/**
 * zlib's gzip header is fixed but for its OS byte (MTIME 0, no name, no header CRC: the
 * trailer's CRC-32 covers the data only, so the byte can be set).
 */
function gzipBytes(bytes: Uint8Array, level: number): Uint8Array {
  const g = zlib.gzipSync(bytes, gzipOptions(level));
  g[GZIP_OS_AT] = GZIP_OS_UNIX;
  return g;
}

/** Compresses as asked, synchronously (a worker thread's job; the main thread's when there are none). */
export function compress(t: CompressTask): CompressResult {
  return {
    gzip: t.gzipLevel === null ? null : gzipBytes(t.bytes, t.gzipLevel),
    br: t.brotli === null ? null : zlib.brotliCompressSync(t.bytes, brotliOptions(t.brotli.quality, t.bytes.length, t.brotli.text)),
  };
}

// ───────────────────────────── cache keys ─────────────────────────────

const fingerprints = new Map<number, string>();

/**
 * What this zlib, on this CPU, makes of a fixed sample at `level`: 64 KiB of words from a
 * fixed sequence, full of the repeated strings whose hashing differs between CPUs.
 */
function zlibFingerprint(level: number): string {
  let f = fingerprints.get(level);
  if (f === undefined) {
    const words = ['appliance', 'segment', 'checksum', 'variant', 'response', 'header', 'zone', 'record', 'brotli', 'gzip', 'cache', 'worker'];
    let seed = 1;
    const parts: string[] = [];
    for (let len = 0; len < 65536;) {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      const w = words[seed % words.length]! + (seed % 7 === 0 ? String(seed % 1000) : '');
      parts.push(w);
      len += w.length + 1;
    }
    f = createHash('sha256').update(gzipBytes(Buffer.from(parts.join(' '), 'latin1'), level)).digest('hex').slice(0, 32);
    fingerprints.set(level, f);
  }
  return f;
}

/** The cache key of a file's gzip variant: its content's SHA-256 and every setting. */
export function gzipKey(contentSha256: string, level: number): string {
  return cacheKey({
    kind: 'gzip', content: contentSha256, level, windowBits: GZIP_WINDOW_BITS, memLevel: GZIP_MEM_LEVEL,
    strategy: zlib.constants.Z_DEFAULT_STRATEGY, os: GZIP_OS_UNIX, zlib: process.versions.zlib ?? '', engine: zlibFingerprint(level),
  });
}

/** The cache key of a file's brotli variant (the size hint is the content's length: named by the content). */
export function brotliKey(contentSha256: string, quality: number, text: boolean): string {
  return cacheKey({
    kind: 'br', content: contentSha256, quality, lgwin: BROTLI_WINDOW_BITS, lgblock: 0, text,
    brotli: process.versions.brotli ?? '',
  });
}
