// Live statistics of both backends, and the control endpoint: on a kernel socket
// (--metrics ADDR:PORT), GET /metrics (Prometheus text), GET /health, POST /reload; and the
// reader behind `appliance stats`.

import http from 'node:http';
import { ApplianceError, isApplianceError } from '../../basics/errors.js';
import { GAUGE_NAMES } from '../stack/counters.js';

/** What the process serves, and since when. */
export interface ServerInfo {
  backend: 'socket' | 'xdp';
  /** When the server started (ms since the epoch). */
  startedAt: number;
  image: ImageInfo;
  reloads: { ok: number; failed: number };
}

export interface ImageInfo {
  file: string;
  sha256: string;
  builtAt: string;
  zones: Array<{ origin: string; serial: number }>;
}

export interface MetricsSource {
  perQueue(): Array<Record<string, number>>;
  info?(): ServerInfo;
  /** POST /reload: re-reads the image (as SIGHUP does); rejects with why it was refused. */
  reload?(): Promise<ImageInfo>;
}

const HELP: Record<string, string> = {
  rx_frames: 'Frames received from the NIC queue.',
  tx_frames: 'Frames sent (answers).',
  dns_queries: 'DNS queries seen by the responder.',
};

/** A label value, escaped as the text format wants (backslash, quote, line feed). */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Prometheus text exposition format 0.0.4: one family per counter name, a series per queue
 * (the socket backend has one); then the process's figures: uptime, the image served, its
 * zones' serials, reloads.
 */
export function renderMetrics(src: MetricsSource, now = Date.now()): string {
  const per = src.perQueue();
  const names = Object.keys(per[0] ?? {});
  const lines: string[] = [];
  for (const name of names) {
    const gauge = GAUGE_NAMES.has(name);
    const metric = gauge ? `appliance_${name}` : `appliance_${name}_total`;
    lines.push(`# HELP ${metric} ${HELP[name] ?? name.replace(/_/g, ' ') + '.'}`);
    lines.push(`# TYPE ${metric} ${gauge ? 'gauge' : 'counter'}`);
    per.forEach((q, i) => lines.push(`${metric}{queue="${i}"} ${q[name] ?? 0}`));
  }
  const info = src.info?.();
  if (info) {
    const img = info.image;
    lines.push('# HELP appliance_uptime_seconds Seconds since the server started.', '# TYPE appliance_uptime_seconds gauge',
      `appliance_uptime_seconds ${((now - info.startedAt) / 1000).toFixed(3)}`);
    lines.push('# HELP appliance_image_info The image served (value 1).', '# TYPE appliance_image_info gauge',
      `appliance_image_info{backend="${info.backend}",file="${label(img.file)}",sha256="${img.sha256}",built="${label(img.builtAt)}"} 1`);
    if (img.zones.length > 0) {
      lines.push('# HELP appliance_zone_serial The SOA serial of each zone served.', '# TYPE appliance_zone_serial gauge');
      for (const z of img.zones) lines.push(`appliance_zone_serial{zone="${label(z.origin)}"} ${z.serial}`);
    }
    lines.push('# HELP appliance_reloads_total Image reloads, by result.', '# TYPE appliance_reloads_total counter',
      `appliance_reloads_total{result="ok"} ${info.reloads.ok}`, `appliance_reloads_total{result="failed"} ${info.reloads.failed}`);
  }
  return lines.join('\n') + '\n';
}

export function serveMetrics(src: MetricsSource, host: string, port: number): Promise<{ close: () => Promise<void>; port: number }> {
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body) + '\n');
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(renderMetrics(src));
    } else if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      // Answering at all means the process serves: a worker that fails takes the process down.
      const info = src.info?.();
      json(res, 200, { status: 'ok', ...(info ? { backend: info.backend, image: info.image.sha256, uptime: Math.round((Date.now() - info.startedAt) / 1000) } : {}) });
    } else if (path === '/reload' && src.reload) {
      if (req.method !== 'POST') {
        res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' }).end('POST to reload\n');
        return;
      }
      src.reload().then(
        (image) => json(res, 200, { ok: true, image }),
        (e: unknown) => json(res, 409, { ok: false, code: isApplianceError(e) ? e.code : 'APPL_ERR_RELOAD', error: (e as Error).message }),
      );
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('try /metrics, /health, or POST /reload\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new ApplianceError('APPL_ERR_LISTEN', `cannot listen for --metrics on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, () => resolve({
      port: (server.address() as { port: number }).port,
      close: () => new Promise((r) => server.close(() => r())),
    }));
  });
}

export interface ParsedMetrics {
  totals: Record<string, number>;
  queues: number;
  /** The process's figures, when the server gave them. */
  info?: { backend: string; uptime: number; image: ImageInfo; reloads: { ok: number; failed: number } };
}

/** Parses the text format back into totals per counter and per queue, and the process's figures. */
export function parseMetrics(text: string): ParsedMetrics {
  const totals: Record<string, number> = {};
  let queues = 0;
  let info: ParsedMetrics['info'];
  const unescape = (v: string): string => v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  const labels = (s: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const m of s.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = unescape(m[2]!);
    return out;
  };
  const ensure = (): NonNullable<ParsedMetrics['info']> =>
    (info ??= { backend: '', uptime: 0, image: { file: '', sha256: '', builtAt: '', zones: [] }, reloads: { ok: 0, failed: 0 } });
  for (const line of text.split('\n')) {
    let m = /^appliance_(\w+?)(_total)?\{queue="(\d+)"\} ([\d.e+-]+)$/.exec(line);
    if (m) {
      totals[m[1]!] = (totals[m[1]!] ?? 0) + Number(m[4]);
      queues = Math.max(queues, Number(m[3]) + 1);
      continue;
    }
    m = /^appliance_(uptime_seconds|image_info|zone_serial|reloads_total)(?:\{(.*)\})? ([\d.e+-]+)$/.exec(line);
    if (!m) continue;
    const l = labels(m[2] ?? '');
    const v = Number(m[3]);
    const i = ensure();
    if (m[1] === 'uptime_seconds') i.uptime = v;
    else if (m[1] === 'image_info') {
      i.backend = l.backend ?? '';
      i.image.file = l.file ?? '';
      i.image.sha256 = l.sha256 ?? '';
      i.image.builtAt = l.built ?? '';
    } else if (m[1] === 'zone_serial') i.image.zones.push({ origin: l.zone ?? '', serial: v });
    else if (l.result === 'ok') i.reloads.ok = v;
    else if (l.result === 'failed') i.reloads.failed = v;
  }
  return { totals, queues, ...(info ? { info } : {}) };
}
