// `appliance build`: sites and zones in, one image file out.
//
// The BLOB is streamed while the specializers run (a 200 MB site never sits in memory
// whole); the tables follow it; the file takes its final name only when complete.
//
// Reproducible: the same inputs (site files with their modification times, zone files,
// the paths as given, options) and the same build of the tool and of Node give the same
// image, byte for byte. The only time an image holds besides file mtimes is its build
// time (META builtAt, the Date placeholder, the Last-Modified ceiling): the current time,
// or SOURCE_DATE_EPOCH when set (https://reproducible-builds.org/specs/source-date-epoch/).
// test/specializers/reproducible.test.ts builds the fixtures twice and compares bytes.
// The build cache changes nothing in the image (test/specializers/build-cache.test.ts: a
// cached rebuild is byte for byte a clean build), and nothing about it is recorded there.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../basics/errors.js';
import { ImageWriter, SectionId, type ImageMeta } from './image/format.js';
import { BuildCache, type CacheStats, type PruneResult } from './build-cache.js';
import { compileHttp, DEFAULT_HTTP_OPTIONS, scanWarnings, strictCheck, type HttpBuildOptions, type HttpBuildResult, type SiteSpec } from './http/compile.js';
import { BROTLI_POLICY } from './http/compress.js';
import { compileDns, type DnsBuildResult, type ZoneSpec } from './dns/compile.js';

export interface BuildRequest {
  sites: SiteSpec[];
  zones: ZoneSpec[];
  output: string;
  http: HttpBuildOptions;
  /** The build time to record; default: buildTime() (SOURCE_DATE_EPOCH, else the clock). */
  builtAt?: Date;
  /** The build cache (specializers/build-cache.ts); none when absent or null. */
  cache?: { dir: string; limit?: number } | null;
}

export interface BuildResult {
  output: string;
  size: number;
  hash: string;
  seconds: number;
  http: HttpBuildResult | null;
  dns: DnsBuildResult | null;
  warnings: string[];
  /** What the cache gave and took, and what it holds after the build (pruned to its limit). */
  cache: { dir: string; limit: number; stats: CacheStats; held: PruneResult } | null;
}

/** The package version, from the package.json above this module (sources, build/ or dist/). */
export function toolVersion(): string {
  for (const rel of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const p = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { name?: string; version?: string };
      if (p.name === 'appliance' && p.version) return p.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/** The latest build time an image can hold: Last-Modified times are u32 in its tables. */
export const MAX_BUILD_TIME = 0xffff_ffff;

/**
 * SOURCE_DATE_EPOCH as seconds since the epoch, or null when it is not set. The spec asks
 * for a decimal integer ("date +%s"), and a build to fail on anything else rather than
 * fall back to the clock: a typo would otherwise make a build quietly unreproducible.
 */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined) return null;
  if (!/^[0-9]+$/.test(v) || Number(v) > MAX_BUILD_TIME) {
    throw new UsageError(`SOURCE_DATE_EPOCH=${JSON.stringify(v)} is not a build time: give whole seconds since 1970-01-01 UTC ` +
      `from 0 to ${MAX_BUILD_TIME}, as "date +%s" prints them (for example SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)), or unset it to use the current time`);
  }
  return Number(v);
}

/** The time a build records: SOURCE_DATE_EPOCH when set, else the clock's. */
export function buildTime(env: NodeJS.ProcessEnv = process.env, now: () => number = Date.now): Date {
  const epoch = sourceDateEpoch(env);
  return new Date(epoch === null ? now() : epoch * 1000);
}

export async function buildImage(req: BuildRequest): Promise<BuildResult> {
  const started = performance.now();
  const builtAt = req.builtAt ?? buildTime();
  const httpOpts = { ...DEFAULT_HTTP_OPTIONS, ...req.http };
  const cache = req.cache ? new BuildCache(req.cache.dir, req.cache.limit) : null;
  const w = new ImageWriter(req.output);
  try {
    w.beginBlob();
    const http = req.sites.length > 0
      ? await compileHttp(w, req.sites, httpOpts, Math.floor(builtAt.getTime() / 1000), cache)
      : null;
    const dns = req.zones.length > 0 ? compileDns(w, req.zones) : null;
    w.endBlob();
    if (http) {
      const t = http.tables;
      w.addU32Section(SectionId.HTTP_SITES, t.sites);
      w.addU32Section(SectionId.HTTP_ROUTES, t.routes);
      w.addU32Section(SectionId.HTTP_ROUTE_HASH, t.hash);
      w.addU32Section(SectionId.HTTP_VARIANTS, t.variants);
      w.addU32Section(SectionId.HTTP_RESPONSES, t.responses);
      w.addU32Section(SectionId.HTTP_SEGMENTS, t.segments);
      w.addU32Section(SectionId.HTTP_SPECIAL, t.special);
    }
    if (dns) {
      for (const [id, words] of dns.sections) {
        if (words instanceof Uint32Array) w.addU32Section(id, words);
        else w.addSpilledSection(id, words);
      }
    }
    const meta: ImageMeta = {
      tool: 'appliance',
      toolVersion: toolVersion(),
      builtAt: builtAt.toISOString(),
      options: {
        includeDotfiles: req.http.includeDotfiles,
        brotliQuality: req.http.brotliQuality ?? BROTLI_POLICY,
        gzipLevel: req.http.gzipLevel,
        mss: { ipv4: 1460, ipv6: 1440 },
      },
      sites: (http?.sites ?? []).map((s) => ({ host: s.host, dir: s.dir, files: s.files, bytes: s.bytes, variants: s.variants, isDefault: s.isDefault })),
      zones: (dns?.zones ?? []).map((z) => ({ origin: z.origin, file: z.file, records: z.records, names: z.names })),
    };
    w.addSection(SectionId.META, Buffer.from(JSON.stringify(meta), 'utf8'));
    const warnings = [
      ...(http?.sites ?? []).flatMap((s) => scanWarnings(s.dir, s.skipped)),
      ...(dns?.warnings ?? []),
      ...(cache?.writeFailure ? [cache.writeFailure] : []),
    ];
    if (httpOpts.strict) strictCheck(warnings);
    const { size, hash } = w.finish();
    const held = cache?.prune() ?? null;
    return {
      output: req.output, size, hash, seconds: (performance.now() - started) / 1000, http, dns, warnings,
      cache: cache && held ? { dir: cache.dir, limit: cache.limit, stats: cache.stats, held } : null,
    };
  } catch (e) {
    w.abort();
    throw e;
  }
}
