// `appliance build`: parses the site and zone arguments, runs the build, prints a summary.

import { InvalidArgumentError } from 'commander';
import { UsageError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { defaultCacheDir } from '../../specializers/build-cache.js';
import { defaultThreads } from '../../specializers/http/compress-pool.js';
import type { SiteSpec } from '../../specializers/http/compile.js';
import type { ZoneSpec } from '../../specializers/dns/compile.js';
import { formatBytes, printable } from './format.js';

export interface BuildOptions {
  site: string[];
  zone: string[];
  output: string;
  includeDotfiles: boolean;
  followSymlinks: boolean;
  strict: boolean;
  brotliQuality?: number;
  gzipLevel: number;
  /** A directory; false: --no-cache; absent: the default one. */
  cache?: string | boolean;
  cacheMaxSize: number;
  jobs?: number;
  quiet: boolean;
}

/** "1G", "500M", "64k", "1048576" → bytes (powers of 1024). */
export function parseSize(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a size such as 1G, 500M or 1048576 (bytes)');
  const n = Math.floor(Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase()));
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('too large');
  return n;
}

/** "HOST=DIR" → {host, dir}; "DIR" → default site. A "=" inside a plain path needs "./". */
export function parseSiteArg(arg: string): SiteSpec {
  const eq = arg.indexOf('=');
  if (eq > 0 && !arg.slice(0, eq).includes('/')) return { host: arg.slice(0, eq), dir: arg.slice(eq + 1) };
  if (arg === '') throw new UsageError('--site needs a directory');
  return { host: null, dir: arg };
}

export function parseZoneArg(arg: string): ZoneSpec {
  const eq = arg.indexOf('=');
  if (eq > 0 && !arg.slice(0, eq).includes('/')) return { origin: arg.slice(0, eq), file: arg.slice(eq + 1) };
  if (arg === '') throw new UsageError('--zone needs a file');
  return { origin: null, file: arg };
}

/** A one-line progress bar on stderr, redrawn at most ten times a second (terminals only). */
function progressBar(): { update: (done: number, total: number, cached: number) => void; clear: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(done, total, cached) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} files, ${cached} from the cache`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

export async function runBuild(o: BuildOptions): Promise<void> {
  const sites = o.site.map(parseSiteArg);
  const zones = o.zone.map(parseZoneArg);
  if (sites.length === 0 && zones.length === 0) throw new UsageError('nothing to build: give at least one --site or --zone');
  const bar = !o.quiet && process.stderr.isTTY ? progressBar() : null;
  const cacheDir = o.cache === false ? null : typeof o.cache === 'string' ? o.cache : defaultCacheDir();
  const result = await buildImage({
    sites, zones, output: o.output,
    http: {
      includeDotfiles: o.includeDotfiles, followSymlinks: o.followSymlinks, strict: o.strict,
      brotliQuality: o.brotliQuality ?? null, gzipLevel: o.gzipLevel,
      concurrency: o.jobs ?? defaultThreads(), onProgress: bar ? (d, t, c) => bar.update(d, t, c) : undefined,
    },
    cache: cacheDir === null ? null : { dir: cacheDir, limit: o.cacheMaxSize },
  });
  bar?.clear();
  for (const w of result.warnings) process.stderr.write(`appliance: warning: ${printable(w)}\n`);
  if (o.quiet) return;
  const lines: string[] = [`built ${result.output} in ${result.seconds.toFixed(2)} s`];
  if (result.http) {
    const h = result.http;
    for (const s of h.sites) {
      const dot = s.skipped.filter((k) => k.why.startsWith('dotfile')).length;
      lines.push(`  site ${s.host ?? '(default)'}${s.isDefault && s.host ? ' (default)' : ''}: ${s.dir}: ${s.files} files, ${formatBytes(s.bytes)}, ${s.variants} variants` +
        (dot ? `, ${dot} dotfiles left out` : ''));
    }
    lines.push(`  http: ${h.files} files, ${formatBytes(h.bytes)}; ${h.gzipVariants} gzip variants (${formatBytes(h.gzipBytes)}), ` +
      `${h.brotliVariants} brotli variants (${formatBytes(h.brotliBytes)})`);
    lines.push(`  compression: ${plural(h.compressedFiles, 'file')} compressed on ${plural(h.threads, 'thread')}, ` +
      (result.cache ? `${plural(h.cachedFiles, 'file')} from the cache` : 'no cache (--no-cache)'));
  }
  if (result.cache) {
    const c = result.cache;
    lines.push(`  cache: ${c.dir}: ${c.stats.hits} entries read, ${c.stats.written} written (${formatBytes(c.stats.writtenBytes)})` +
      (c.stats.damaged ? `, ${c.stats.damaged} damaged (recomputed)` : '') +
      `; holds ${c.held.entries} entries, ${formatBytes(c.held.bytes)} of at most ${formatBytes(c.limit)}` +
      (c.held.removed ? ` (${c.held.removed} least recently used removed)` : ''));
  }
  if (result.dns) {
    for (const z of result.dns.zones) lines.push(`  zone ${z.origin}: ${z.file}: ${z.records} records, ${z.names} names`);
  }
  lines.push(`  image: ${formatBytes(result.size)}, sha256 ${result.hash.slice(0, 16)}…`);
  process.stdout.write(lines.map(printable).join('\n') + '\n');
}
