// `appliance bench dns-socket` end to end, shortened to one round of one second per server:
// both servers start, give the same answers to the whole mix, and dnsperf's figures are
// read. No figure is checked against another (no test asserts a speed).

import test from 'ava';
import { runDnsSocketBench, dnsperfMix } from '../../../appliance/bench/dns-socket.js';
import { CLI } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';

test('the dnsperf mix: one "name type" query a line, every name in the bench zone', (t) => {
  const lines = dnsperfMix().trim().split('\n');
  t.true(lines.length > 40);
  for (const l of lines) t.regex(l, /^(\S+\.)?bench\.test (A|AAAA|TXT|SOA|NS)$/);
});

test('bench dns-socket: NSD and the socket backend answer the mix alike, and dnsperf is read', async (t) => {
  const missing = ['dnsperf', 'nsd', 'taskset'].filter((c) => !hasCommand(c));
  if (missing.length > 0) {
    t.log(`SKIPPED: ${missing.join(', ')} not installed (apt-get install dnsperf nsd)`);
    t.pass();
    return;
  }
  const lines: string[] = [];
  const r = await runDnsSocketBench({
    seconds: 1, rounds: 1, outstanding: 50, clients: 2, edns: true, serverCpu: 0, clientCpu: 1, cli: CLI, log: (l) => lines.push(l),
  });
  t.deepEqual(r.mismatches, []);
  t.is(r.nsd.length, 1);
  t.is(r.appliance.length, 1);
  t.true(r.nsd[0]! > 0 && r.appliance[0]! > 0);
  t.regex(lines.join('\n'), /ratio to NSD [\d.]+/);
});
