// Live statistics of the xdp backend: a Prometheus text endpoint on a kernel socket
// (--metrics ADDR:PORT), and the reader behind `appliance stats`.

import http from 'node:http';
import { ApplianceError } from '../../basics/errors.js';

export interface MetricsSource {
  perQueue(): Array<Record<string, number>>;
}

const HELP: Record<string, string> = {
  rx_frames: 'Frames received from the NIC queue.',
  tx_frames: 'Frames sent (answers).',
  dns_queries: 'DNS queries seen by the responder.',
};

/** Prometheus text exposition format 0.0.4: one counter family per name, a series per queue. */
export function renderMetrics(src: MetricsSource): string {
  const per = src.perQueue();
  const names = Object.keys(per[0] ?? {});
  const lines: string[] = [];
  for (const name of names) {
    const metric = `appliance_${name}_total`;
    lines.push(`# HELP ${metric} ${HELP[name] ?? name.replace(/_/g, ' ') + '.'}`);
    lines.push(`# TYPE ${metric} counter`);
    per.forEach((q, i) => lines.push(`${metric}{queue="${i}"} ${q[name] ?? 0}`));
  }
  return lines.join('\n') + '\n';
}

export function serveMetrics(src: MetricsSource, host: string, port: number): Promise<{ close: () => Promise<void>; port: number }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('try /metrics\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(renderMetrics(src));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new ApplianceError('APPL_ERR_LISTEN', `cannot listen for --metrics on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, () => resolve({
      port: (server.address() as { port: number }).port,
      close: () => new Promise((r) => server.close(() => r())),
    }));
  });
}

/** Parses the text format back into totals per counter and per queue. */
export function parseMetrics(text: string): { totals: Record<string, number>; queues: number } {
  const totals: Record<string, number> = {};
  let queues = 0;
  for (const line of text.split('\n')) {
    const m = /^appliance_(\w+)_total\{queue="(\d+)"\} ([\d.e+]+)$/.exec(line);
    if (!m) continue;
    totals[m[1]!] = (totals[m[1]!] ?? 0) + Number(m[3]);
    queues = Math.max(queues, Number(m[2]) + 1);
  }
  return { totals, queues };
}
