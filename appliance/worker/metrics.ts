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
  /** The secondary zones (appliance/secondary/manager.ts), when serve has any. */
  secondaries?: SecondaryInfo[];
}

/** A secondary zone's state, as the metrics give it (times in ms since the epoch). */
export interface SecondaryInfo {
  zone: string;
  serial: number | null;
  state: 'ok' | 'pending' | 'expired';
  lastCheck: number | null;
  lastTransfer: number | null;
  /** When a primary last confirmed the serial (the SOA expire runs from here). */
  lastOk: number | null;
  checks: number;
  ixfr: number;
  axfr: number;
  /** A primary tried and failed, or a compile refused (the old zone kept serving). */
  failures: number;
  notifies: number;
  /** The last compile inside serve for a change of the zone, seconds. */
  compileSeconds: number | null;
  lastError?: string | null;
}

const SECONDARY_STATES = ['ok', 'pending', 'expired'] as const;

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
    if (info.secondaries && info.secondaries.length > 0) lines.push(...secondaryLines(info.secondaries));
    lines.push('# HELP appliance_reloads_total Image reloads, by result.', '# TYPE appliance_reloads_total counter',
      `appliance_reloads_total{result="ok"} ${info.reloads.ok}`, `appliance_reloads_total{result="failed"} ${info.reloads.failed}`);
  }
  return lines.join('\n') + '\n';
}

function secondaryLines(list: SecondaryInfo[]): string[] {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, rows: Array<[string, number | null]>): void => {
    const r = rows.filter((x): x is [string, number] => x[1] !== null);
    if (r.length === 0) return;
    out.push(`# HELP appliance_secondary_${name} ${help}`, `# TYPE appliance_secondary_${name} ${type}`);
    for (const [labels, v] of r) out.push(`appliance_secondary_${name}{${labels}} ${v}`);
  };
  const z = (s: SecondaryInfo, extra = ''): string => `zone="${label(s.zone)}"${extra}`;
  family('serial', 'gauge', 'The SOA serial served for each secondary zone.', list.map((s) => [z(s), s.serial]));
  family('state', 'gauge', 'Each secondary zone\'s state (1 for the one it is in): ok, pending (never transferred: SERVFAIL), expired (SERVFAIL).',
    list.flatMap((s) => SECONDARY_STATES.map((st): [string, number] => [z(s, `,state="${st}"`), s.state === st ? 1 : 0])));
  family('last_check_timestamp_seconds', 'gauge', 'When each secondary zone was last checked with its primary.', list.map((s) => [z(s), s.lastCheck === null ? null : s.lastCheck / 1000]));
  family('last_transfer_timestamp_seconds', 'gauge', 'When each secondary zone was last transferred.', list.map((s) => [z(s), s.lastTransfer === null ? null : s.lastTransfer / 1000]));
  family('checks_total', 'counter', 'SOA checks made per secondary zone.', list.map((s) => [z(s), s.checks]));
  family('last_ok_timestamp_seconds', 'gauge', 'When a primary last confirmed each secondary zone\'s serial (its SOA expire runs from here).', list.map((s) => [z(s), s.lastOk === null ? null : s.lastOk / 1000]));
  family('transfers_total', 'counter', 'Zone transfers taken in per secondary zone, by kind.', list.flatMap((s): Array<[string, number]> => [[z(s, ',kind="ixfr"'), s.ixfr], [z(s, ',kind="axfr"'), s.axfr]]));
  family('failures_total', 'counter', 'Failures per secondary zone, a primary tried or a compile (the old zone kept serving).', list.map((s) => [z(s), s.failures]));
  family('notifies_total', 'counter', 'NOTIFY messages taken from the primaries per secondary zone.', list.map((s) => [z(s), s.notifies]));
  family('compile_seconds', 'gauge', 'The last compile inside serve for a change of each secondary zone (all the secondaries are compiled together), seconds.', list.map((s) => [z(s), s.compileSeconds]));
  return out;
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
  info?: { backend: string; uptime: number; image: ImageInfo; reloads: { ok: number; failed: number }; secondaries?: SecondaryInfo[] };
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
    const sm = /^appliance_secondary_(\w+)\{(.*)\} ([\d.e+-]+)$/.exec(line);
    if (sm) {
      const l = labels(sm[2]!);
      const v = Number(sm[3]);
      const list = (ensure().secondaries ??= []);
      let s = list.find((x) => x.zone === l.zone);
      if (!s) {
        s = { zone: l.zone ?? '', serial: null, state: 'pending', lastCheck: null, lastTransfer: null, lastOk: null, checks: 0, ixfr: 0, axfr: 0, failures: 0, notifies: 0, compileSeconds: null };
        list.push(s);
      }
      const f = sm[1];
      if (f === 'serial') s.serial = v;
      else if (f === 'state' && v === 1) s.state = (l.state ?? 'pending') as SecondaryInfo['state'];
      else if (f === 'last_check_timestamp_seconds') s.lastCheck = v * 1000;
      else if (f === 'last_transfer_timestamp_seconds') s.lastTransfer = v * 1000;
      else if (f === 'last_ok_timestamp_seconds') s.lastOk = v * 1000;
      else if (f === 'checks_total') s.checks = v;
      else if (f === 'transfers_total') s[l.kind === 'ixfr' ? 'ixfr' : 'axfr'] = v;
      else if (f === 'failures_total') s.failures = v;
      else if (f === 'notifies_total') s.notifies = v;
      else if (f === 'compile_seconds') s.compileSeconds = v;
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
