// `appliance inspect IMAGE`: what an image holds, as text or JSON.

import { loadImage, SECTION_NAMES, type Image } from '../../specializers/image/format.js';
import * as L from '../../specializers/http/layout.js';
import { HttpTables } from '../http/tables.js';
import { DnsTables } from '../dns/tables.js';
import { describeDns, formatDns, type DnsDescription } from './inspect-dns.js';
import { formatBytes, printable, table } from './format.js';

export interface InspectOptions {
  json: boolean;
  all: boolean;
}

const LIST_LIMIT = 40;

interface RouteInfo {
  site: string;
  path: string;
  kind: 'file' | 'redirect' | 'forbidden';
  status: number;
  location?: string;
  variants?: Array<{ encoding: string; bytes: number; etag: string; segments4: number; segments6: number }>;
}

function text(t: HttpTables, off: number, len: number): string {
  return Buffer.from(t.blob.buffer, t.blob.byteOffset + off, len).toString('utf8');
}

export function describeRoutes(t: HttpTables): RouteInfo[] {
  const out: RouteInfo[] = [];
  const n = t.routes.length / L.ROUTE_WORDS;
  for (let r = 0; r < n; r++) {
    const a = r * L.ROUTE_WORDS;
    const s = t.routes[a + L.ROUTE_SITE]!;
    const hostLen = t.sites[s * L.SITE_WORDS + L.SITE_HOST_LEN]!;
    const site = hostLen ? text(t, t.sites[s * L.SITE_WORDS + L.SITE_HOST_OFF]!, hostLen) : '(default)';
    const path = text(t, t.routes[a + L.ROUTE_KEY_OFF]!, t.routes[a + L.ROUTE_KEY_LEN]!);
    const kind = t.routes[a + L.ROUTE_KIND]!;
    if (kind === L.KIND_FILE) {
      const variants = [];
      for (let v = t.routes[a + L.ROUTE_A]!, end = v + t.routes[a + L.ROUTE_B]!; v < end; v++) {
        const va = v * L.VARIANT_WORDS;
        const resp = t.variants[va + L.VAR_RESP]! * L.RESPONSE_WORDS;
        variants.push({
          encoding: L.ENCODING_NAMES[t.variants[va + L.VAR_ENCODING]!]!,
          bytes: t.variants[va + L.VAR_BODY_LEN]!,
          etag: text(t, t.variants[va + L.VAR_ETAG_OFF]!, t.variants[va + L.VAR_ETAG_LEN]!),
          segments4: t.responses[resp + L.RESP_SEG4_COUNT]!,
          segments6: t.responses[resp + L.RESP_SEG6_COUNT]!,
        });
      }
      out.push({ site, path, kind: 'file', status: 200, variants });
    } else if (kind === L.KIND_REDIRECT) {
      out.push({ site, path, kind: 'redirect', status: 301, location: text(t, t.routes[a + L.ROUTE_B]!, t.routes[a + L.ROUTE_C]!) });
    } else {
      out.push({ site, path, kind: 'forbidden', status: 403 });
    }
  }
  out.sort((x, y) => (x.site === y.site ? (x.path < y.path ? -1 : 1) : x.site < y.site ? -1 : 1));
  return out;
}

/** `all`: list every DNS name (else the first LIST_LIMIT, in canonical order). */
export function describeImage(img: Image, all = false): Record<string, unknown> {
  const http = new HttpTables(img);
  const dns = new DnsTables(img);
  const sections = [...img.sections.values()].map((s) => ({ name: SECTION_NAMES[s.id] ?? String(s.id), offset: s.offset, bytes: s.length }));
  const dnsInfo = dns.hasZones ? describeDns(dns, img.meta.zones, all, LIST_LIMIT) : null;
  return {
    file: img.file,
    formatVersion: img.version,
    size: img.bytes.length,
    contentHash: img.hash,
    tool: `${img.meta.tool} ${img.meta.toolVersion}`,
    builtAt: img.meta.builtAt,
    options: img.meta.options,
    sections,
    sites: img.meta.sites,
    http: http.hasSites ? {
      routes: http.routes.length / L.ROUTE_WORDS,
      variants: http.variants.length / L.VARIANT_WORDS,
      responses: http.responses.length / L.RESPONSE_WORDS,
      segments: http.segments.length / L.SEGMENT_WORDS,
      routeList: describeRoutes(http),
    } : null,
    // META's zones, each with the serial of its SOA (from the tables: META does not hold it).
    zones: dnsInfo?.zones ?? img.meta.zones.map((z) => ({ ...z, serial: null })),
    dns: dnsInfo,
  };
}

export async function runInspect(file: string, o: InspectOptions): Promise<void> {
  const img = loadImage(file);
  const d = describeImage(img, o.all) as ReturnType<typeof describeImage> & {
    sections: Array<{ name: string; offset: number; bytes: number }>;
    http: { routes: number; variants: number; responses: number; segments: number; routeList: RouteInfo[] } | null;
    dns: DnsDescription | null;
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(d, null, 2) + '\n');
    return;
  }
  const out: string[] = [];
  out.push(`image ${printable(img.file)}`);
  out.push(`  format version ${img.version}, ${formatBytes(img.bytes.length)}, sha256 ${img.hash}`);
  out.push(`  built ${img.meta.builtAt} by ${img.meta.tool} ${img.meta.toolVersion}`);
  out.push(`  options ${JSON.stringify(img.meta.options)}`);
  out.push('', 'sections');
  out.push(table([['name', 'offset', 'size'], ...d.sections.map((s) => [s.name, String(s.offset), formatBytes(s.bytes)])]).replace(/^/gm, '  '));
  if (img.meta.sites.length > 0 && d.http) {
    out.push('', 'sites');
    out.push(table([['host', 'directory', 'files', 'bytes', 'variants'],
      ...img.meta.sites.map((s) => [printable(s.host ?? '*') + (s.isDefault ? ' (default)' : ''), printable(s.dir), String(s.files), formatBytes(s.bytes), String(s.variants)])]).replace(/^/gm, '  '));
    const h = d.http;
    out.push('', `routes: ${h.routes} (${h.variants} variants, ${h.responses} responses, ${h.segments} TCP segments)`);
    const list = o.all ? h.routeList : h.routeList.slice(0, LIST_LIMIT);
    out.push(table([['site', 'path', 'status', 'representations'], ...list.map((r) => [
      printable(r.site), printable(r.path), String(r.status),
      r.kind === 'file' ? r.variants!.map((v) => `${v.encoding} ${formatBytes(v.bytes)}`).join(', ') : r.kind === 'redirect' ? `→ ${printable(r.location!)}` : 'no index',
    ])]).replace(/^/gm, '  '));
    if (list.length < h.routeList.length) out.push(`  … ${h.routeList.length - list.length} more (--all lists them)`);
  }
  if (d.dns) out.push(...formatDns(d.dns));
  process.stdout.write(out.join('\n') + '\n');
}
