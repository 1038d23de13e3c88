// `appliance build`: sites and zones in, one image file out.
//
// The BLOB is streamed while the specializers run (a 200 MB site never sits in memory
// whole); the tables follow it; the file takes its final name only when complete.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ImageWriter, SectionId, type ImageMeta } from './image/format.js';
import { compileHttp, DEFAULT_HTTP_OPTIONS, type HttpBuildOptions, type HttpBuildResult, type SiteSpec } from './http/compile.js';
import { compileDns, type DnsBuildResult, type ZoneSpec } from './dns/compile.js';

export interface BuildRequest {
  sites: SiteSpec[];
  zones: ZoneSpec[];
  output: string;
  http: HttpBuildOptions;
}

export interface BuildResult {
  output: string;
  size: number;
  hash: string;
  seconds: number;
  http: HttpBuildResult | null;
  dns: DnsBuildResult | null;
  warnings: string[];
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

export async function buildImage(req: BuildRequest): Promise<BuildResult> {
  const started = performance.now();
  const builtAt = new Date();
  const w = new ImageWriter(req.output);
  try {
    w.beginBlob();
    const http = req.sites.length > 0
      ? await compileHttp(w, req.sites, { ...DEFAULT_HTTP_OPTIONS, ...req.http }, Math.floor(builtAt.getTime() / 1000))
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
    if (dns) for (const [id, words] of dns.sections) w.addU32Section(id, words);
    const meta: ImageMeta = {
      tool: 'appliance',
      toolVersion: toolVersion(),
      builtAt: builtAt.toISOString(),
      options: {
        includeDotfiles: req.http.includeDotfiles,
        brotliQuality: req.http.brotliQuality ?? 'auto (11 up to 1 MiB, 5 above)',
        gzipLevel: req.http.gzipLevel,
        mss: { ipv4: 1460, ipv6: 1440 },
      },
      sites: (http?.sites ?? []).map((s) => ({ host: s.host, dir: s.dir, files: s.files, bytes: s.bytes, variants: s.variants, isDefault: s.isDefault })),
      zones: (dns?.zones ?? []).map((z) => ({ origin: z.origin, file: z.file, records: z.records, names: z.names })),
    };
    w.addSection(SectionId.META, Buffer.from(JSON.stringify(meta), 'utf8'));
    const { size, hash } = w.finish();
    const warnings = [
      ...(http?.sites ?? []).flatMap((s) => s.skipped.filter((k) => !k.why.startsWith('dotfile')).map((k) => `${s.dir}: ${k.path}: skipped, ${k.why}`)),
      ...(dns?.warnings ?? []),
    ];
    return { output: req.output, size, hash, seconds: (performance.now() - started) / 1000, http, dns, warnings };
  } catch (e) {
    w.abort();
    throw e;
  }
}
