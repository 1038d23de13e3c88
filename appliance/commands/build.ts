// `appliance build`: parses the site and zone arguments, runs the build, prints a summary.

import { UsageError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
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
  quiet: boolean;
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
function progressBar(): { update: (done: number, total: number) => void; clear: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} files`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export async function runBuild(o: BuildOptions): Promise<void> {
  const sites = o.site.map(parseSiteArg);
  const zones = o.zone.map(parseZoneArg);
  if (sites.length === 0 && zones.length === 0) throw new UsageError('nothing to build: give at least one --site or --zone');
  const bar = !o.quiet && process.stderr.isTTY ? progressBar() : null;
  const result = await buildImage({
    sites, zones, output: o.output,
    http: {
      includeDotfiles: o.includeDotfiles, followSymlinks: o.followSymlinks, strict: o.strict,
      brotliQuality: o.brotliQuality ?? null, gzipLevel: o.gzipLevel,
      concurrency: 4, onProgress: bar ? (d, t) => bar.update(d, t) : undefined,
    },
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
    lines.push(`  http: ${h.files} files, ${formatBytes(h.bytes)}; ${h.gzipVariants} gzip and ${h.brotliVariants} brotli variants`);
  }
  if (result.dns) {
    for (const z of result.dns.zones) lines.push(`  zone ${z.origin}: ${z.file}: ${z.records} records, ${z.names} names`);
  }
  lines.push(`  image: ${formatBytes(result.size)}, sha256 ${result.hash.slice(0, 16)}…`);
  process.stdout.write(lines.map(printable).join('\n') + '\n');
}
