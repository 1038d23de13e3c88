// DNS over UDP on the socket backend as a user starts it (default flags: worker threads,
// a batch of datagrams per system call): every query of the corpus, with and without EDNS,
// over IPv4 and IPv6, gets byte for byte the answer node:dgram's path gives (--workers 0),
// the TCP beside it answers too, and the counters are the socket backend's names.

import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestImage, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { encodeQuery, fullCorpus, parseCorpusLine, tcpExchange, udpExchange } from '../../helpers/dns.js';
import { serveSocket, type Serving } from '../../helpers/serve.js';

const tmp = tempDir('udpworkers');
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));
let batched: Serving | undefined;
let dgramPath: Serving | undefined;

test.before(async () => {
  const image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zoneFiles.map((file) => ({ origin: null, file })));
  // Many answers a second from one address: exempt from rate limiting on both, as a test client.
  const exempt = ['--rrl-exempt', '127.0.0.1', '--rrl-exempt', '::1'];
  batched = await serveSocket(image, ['--dns', '[::1]:0', ...exempt]);
  dgramPath = await serveSocket(image, ['--workers', '0', '--dns', '[::1]:0', ...exempt]);
});

test.after.always(async () => {
  await batched?.stop();
  await dgramPath?.stop();
  tmp.cleanup();
});

const v6Port = (s: Serving): number => Number(/DNS\s+\[::1\]:(\d+) UDP and TCP/.exec(s.output())?.[1] ?? 0);

for (const edns of [false, true]) {
  test.serial(`the corpus${edns ? ' with EDNS' : ''}: the batched workers answer byte for byte as node:dgram does, IPv4 and IPv6`, async (t) => {
    t.regex(batched!.output(), /UDP through \d+ worker threads?, a batch per system call/);
    t.regex(dgramPath!.output(), /UDP through node:dgram/);
    const corpus = fullCorpus(zoneFiles);
    const queries = corpus.map((q) => encodeQuery(q, { edns }));
    for (const [host, port] of [['127.0.0.1', (s: Serving) => s.dnsPort], ['::1', v6Port]] as const) {
      const a = await udpExchange(port(batched!), queries, host);
      const b = await udpExchange(port(dgramPath!), queries, host);
      const differ = corpus.filter((_, i) => !(a[i] && b[i] && a[i]!.equals(b[i]!))).map((q) => q.line);
      t.log(`${host}: ${corpus.length} queries, ${differ.length} differ`);
      t.deepEqual(differ.slice(0, 10), []);
    }
  });
}

test.serial('TCP beside the workers answers on the same port; the counters sum the workers under the socket backend\'s names', async (t) => {
  const q = encodeQuery(parseCorpusLine('example.com. SOA')!);
  const [a] = await tcpExchange(batched!.dnsPort, [q]);
  t.truthy(a);
  const c = await batched!.counters();
  t.true(c.dns_udp_received! > 1000);
  t.is(c.dns_udp_received, c.dns_udp_sent);
  t.is(c.dns_udp_drop_truncated, 0);
  t.true(c.dns_queries! >= c.dns_udp_received!);
});
