// The differential test of the DNS side: NSD (Debian's package, on loopback, rate limiting
// off) and the appliance serve the same fixtures/zones; the query corpus (fixtures/queries,
// plus every name of the zones with its types and the common ones) goes to both over UDP,
// UDP with EDNS (DO clear and set) and TCP; the answers are compared (test/helpers/dns.ts).

import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DnsSocketServer } from '../../appliance/backends/socket-dns.js';
import { DnsTables } from '../../appliance/dns/tables.js';
import { loadImage } from '../../specializers/image/format.js';
import { loadZones } from '../../specializers/dns/model.js';
import { nameToText } from '../../specializers/dns/zone.js';
import { buildTestImage, FIXTURE_ZONES, freePort, tempDir } from '../helpers/fixtures.js';
import { corpusMismatches, encodeQuery, fullCorpus, tcpExchange, udpExchange } from '../helpers/dns.js';
import { hasCommand, type Started } from '../helpers/processes.js';
import { startNsd } from '../helpers/nsd.js';

const haveNsd = hasCommand('nsd');
const tmp = tempDir('nsd');
let nsd: Started | undefined;
let app: DnsSocketServer | undefined;
let nsdPort = 0;
let appPort = 0;
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));

test.before(async () => {
  if (!haveNsd) return;
  const { parsed } = loadZones(zoneFiles.map((file) => ({ origin: null, file })));
  nsdPort = await freePort();
  nsd = await startNsd(tmp.dir, '127.0.0.1', nsdPort, parsed.map((z) => ({ origin: nameToText(z.origin), file: z.file })), FIXTURE_ZONES);
  const image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zoneFiles.map((file) => ({ origin: null, file })));
  app = new DnsSocketServer(new DnsTables(loadImage(image)), { host: '127.0.0.1', port: 0, idleTimeoutMs: 10_000 });
  appPort = (await app.listen()).port;
});

test.after.always(async () => {
  await nsd?.stop();
  await app?.close();
  tmp.cleanup();
});

const VARIANTS = [
  { name: 'UDP', edns: false, dnssecOk: false, tcp: false },
  { name: 'UDP+EDNS', edns: true, dnssecOk: false, tcp: false },
  { name: 'UDP+EDNS+DO', edns: true, dnssecOk: true, tcp: false },
  { name: 'TCP', edns: true, dnssecOk: false, tcp: true },
];

for (const v of VARIANTS) {
  test.serial(`NSD and the appliance give the same answers: ${v.name}`, async (t) => {
    if (!haveNsd) {
      t.log('SKIPPED: nsd is not installed (apt-get install nsd); .ci/run installs it');
      t.pass();
      return;
    }
    const corpus = fullCorpus(zoneFiles);
    const queries = corpus.map((q) => encodeQuery(q, { edns: v.edns, dnssecOk: v.dnssecOk }));
    const exchange = v.tcp ? tcpExchange : udpExchange;
    const [ref, ours] = [await exchange(nsdPort, queries), await exchange(appPort, queries)];
    const mismatches = corpusMismatches(corpus, ref, ours);
    t.log(`${corpus.length} queries compared`);
    t.deepEqual(mismatches.slice(0, 40), []);
    t.is(mismatches.length, 0);
  });
}
