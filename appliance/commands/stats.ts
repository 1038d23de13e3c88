// `appliance stats ADDR:PORT` and `appliance reload ADDR:PORT`: a running server's counters
// and image, and a reload, through its --metrics endpoint.

import { ApplianceError } from '../../basics/errors.js';
import { parseMetrics, type ImageInfo } from '../worker/metrics.js';
import { table } from './format.js';

function endpoint(addr: string, path: string): string {
  return `http://${addr.replace(/^http:\/\//, '').replace(/\/(metrics|reload|health)?$/, '')}${path}`;
}

export async function runStats(addr: string, o: { json: boolean }): Promise<void> {
  const url = endpoint(addr, '/metrics');
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (e) {
    throw new ApplianceError('APPL_ERR_USAGE', `cannot read ${url}: ${(e as Error).message} (is the server running with --metrics ${addr}?)`);
  }
  const { totals, queues, info } = parseMetrics(text);
  if (o.json) {
    process.stdout.write(JSON.stringify({ queues, ...(info ? { server: info } : {}), totals }, null, 2) + '\n');
    return;
  }
  const head: string[] = [];
  if (info) {
    head.push(`${info.backend} backend, up ${formatUptime(info.uptime)}; reloads: ${info.reloads.ok} ok, ${info.reloads.failed} failed`);
    head.push(...describeImage(info.image));
    for (const s of info.secondaries ?? []) {
      const at = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());
      head.push(`  secondary ${s.zone}: ${s.state}, serial ${s.serial ?? '-'}; last check ${at(s.lastCheck)}, last transfer ${at(s.lastTransfer)}; ` +
        `${s.ixfr} IXFR, ${s.axfr} AXFR, ${s.failures} failed, ${s.notifies} NOTIFY${s.compileSeconds !== null ? `; compile ${s.compileSeconds.toFixed(2)} s` : ''}`);
    }
  }
  const rows = Object.entries(totals).filter(([k, v]) => v !== 0 || !k.startsWith('drop_'));
  head.push(`${queues} queue${queues === 1 ? '' : 's'}`);
  process.stdout.write(head.join('\n') + '\n' + table([['counter', 'total'], ...rows.map(([k, v]) => [k, String(v)])]) + '\n');
}

export async function runReload(addr: string): Promise<void> {
  const url = endpoint(addr, '/reload');
  let body: { ok: boolean; image?: ImageInfo; error?: string };
  try {
    const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(60_000) });
    if (res.status === 404) throw new Error('no reload endpoint there');
    body = await res.json() as typeof body;
  } catch (e) {
    throw new ApplianceError('APPL_ERR_USAGE', `cannot reload through ${url}: ${(e as Error).message} (is the server running with --metrics ${addr}?)`);
  }
  if (!body.ok || !body.image) throw new ApplianceError('APPL_ERR_RELOAD', `the server refused the image and serves the old one: ${body.error ?? 'no reason given'}`);
  process.stdout.write(`reloaded\n${describeImage(body.image).join('\n')}\n`);
}

function describeImage(img: ImageInfo): string[] {
  return [
    `image ${img.file}: sha256 ${img.sha256}, built ${img.builtAt}`,
    ...img.zones.map((z) => `  zone ${z.origin} serial ${z.serial}`),
  ];
}

function formatUptime(s: number): string {
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
