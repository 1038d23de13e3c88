// What serve does around serving: a limit that bites is said in the log, once per period
// and limit, with the counts that moved; counters that do not say a limit stay quiet.

import test from 'ava';
import { Writable } from 'node:stream';
import pino from 'pino';
import { watchLimits } from '../../../appliance/commands/serve-ops.js';

test('watchLimits: one warning per limit that moved in the period, with its counts; nothing for other counters', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(String(c)) as Record<string, unknown>); cb(); } }));
  const totals: Record<string, number> = { http_requests: 0, http_connections_evicted_at_cap: 0, tcp_connections_refused_at_cap: 0, log_records_lost: 0 };
  const stop = watchLimits(() => ({ ...totals }), log, 50);
  await new Promise((r) => setTimeout(r, 80));
  t.is(lines.length, 0);
  totals.http_requests = 1000;
  totals.http_connections_evicted_at_cap = 3;
  totals.tcp_connections_refused_at_cap = 2;
  totals.log_records_lost = 7;
  await new Promise((r) => setTimeout(r, 60));
  stop();
  t.is(lines.length, 2);
  const cap = lines.find((l) => /max-connections:/.test(String(l.msg)));
  t.deepEqual(cap?.counts, { http_connections_evicted_at_cap: 3, tcp_connections_refused_at_cap: 2 });
  t.is(cap?.level, 40);
  t.deepEqual(lines.find((l) => /log records lost/.test(String(l.msg)))?.counts, { log_records_lost: 7 });
});
