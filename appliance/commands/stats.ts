// `appliance stats ADDR:PORT`: the counters of a running xdp server, from its --metrics endpoint.

import { ApplianceError } from '../../basics/errors.js';
import { parseMetrics } from '../worker/metrics.js';
import { table } from './format.js';

export async function runStats(addr: string, o: { json: boolean }): Promise<void> {
  const url = `http://${addr.replace(/^http:\/\//, '').replace(/\/metrics$/, '')}/metrics`;
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (e) {
    throw new ApplianceError('APPL_ERR_USAGE', `cannot read ${url}: ${(e as Error).message} (is the server running with --metrics ${addr}?)`);
  }
  const { totals, queues } = parseMetrics(text);
  if (o.json) {
    process.stdout.write(JSON.stringify({ queues, totals }, null, 2) + '\n');
    return;
  }
  const rows = Object.entries(totals).filter(([k, v]) => v !== 0 || !k.startsWith('drop_'));
  process.stdout.write(`${queues} queue${queues === 1 ? '' : 's'}\n` + table([['counter', 'total'], ...rows.map(([k, v]) => [k, String(v)])]) + '\n');
}
