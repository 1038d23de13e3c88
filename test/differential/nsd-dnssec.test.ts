// The differential test of signed zones: the fixtures of fixtures/zones/dnssec, signed at
// test time (test/helpers/signed.ts: NSEC; NSEC3 without salt under RSA-2048, so that
// answers outgrow small buffers; NSEC3 with salt, iterations and opt-out; signed and
// unsigned delegations; a wildcard, a DNAME, CNAME chains, an empty non-terminal), served
// by NSD and by the appliance from the same files. Every name of the zones with its types
// and the common ones, and names below each (missing names, wildcard and DNAME descents),
// go to both with DO set over UDP at EDNS sizes 512 (most signed answers truncate), 1232
// and 4096, over TCP, and over IPv6; and with DO clear. Every section is compared (as
// sets: order is not the test's business), and the header; a truncated answer's sections
// are not (NSD keeps what fitted, we send none: both say TC).
//
// Where NSD 4.6's answer is no proof, the difference is expected and checked instead of
// counted (test/helpers/dnssec-diff.ts): for a name below a DNAME whose substituted name
// does not exist, NSD leaves out the NSEC that covers the substituted name; ours adds it,
// and it must cover that name in canonical order (RFC 4034 §6.1). Below empty
// non-terminals without an NSEC3 and below NSEC3 owner names, ours must equal NSD's
// answer but for the NSEC3 records (for NSEC3 owners: NSD's answer for the name with the
// hash label replaced), and its NSEC3 proof must hold by RFC 5155 §8. Where NSD's answer
// just fits a small buffer, ours with more records is truncated (checked whole over TCP).

import test from 'ava';
import { join } from 'node:path';
import { DnsSocketServer } from '../../appliance/backends/socket-dns.js';
import { DnsTables } from '../../appliance/dns/tables.js';
import { loadImage } from '../../specializers/image/format.js';
import { buildTestImage, freePort, tempDir } from '../helpers/fixtures.js';
import { decode, encodeQuery, tcpExchange, udpExchange } from '../helpers/dns.js';
import { answerExtras, signedCorpus, signedDifferences, type SignedCorpus } from '../helpers/dnssec-diff.js';
import { hasCommand, type Started } from '../helpers/processes.js';
import { startNsd } from '../helpers/nsd.js';
import { DNSSEC_SOURCES, signFixtures, SIGN_TOOLS, type SignedFixtures } from '../helpers/signed.js';

const missing = ['nsd', ...SIGN_TOOLS].filter((c) => !hasCommand(c));
const tmp = tempDir('nsd-dnssec');
let fx: SignedFixtures;
let nsd: Started | undefined;
let app4: DnsSocketServer | undefined;
let app6: DnsSocketServer | undefined;
let nsdPort = 0, port4 = 0, port6 = 0;
let sc: SignedCorpus = { queries: [], dnames: [] };

test.before(async () => {
  if (missing.length) return;
  fx = await signFixtures(tmp.dir);
  // With an unsigned zone whose CNAMEs lead into the signed ones.
  const zones = [...fx.served, { origin: 'plain.test.', file: join(DNSSEC_SOURCES, 'plain.test.zone') }];
  const files = zones.map((z) => z.file);
  nsdPort = await freePort();
  nsd = await startNsd(tmp.dir, '127.0.0.1,::1', nsdPort, zones, tmp.dir);
  const image = await buildTestImage(`${tmp.dir}/signed.apl`, [], zones.map((z) => ({ origin: z.origin, file: z.file })));
  const tables = new DnsTables(loadImage(image));
  app4 = new DnsSocketServer(tables, { host: '127.0.0.1', port: 0, idleTimeoutMs: 10_000 });
  port4 = (await app4.listen()).port;
  app6 = new DnsSocketServer(tables, { host: '::1', port: 0, idleTimeoutMs: 10_000 });
  port6 = (await app6.listen()).port;
  sc = signedCorpus(files);
});

test.after.always(async () => {
  await nsd?.stop();
  await app4?.close();
  await app6?.close();
  tmp.cleanup();
});

const VARIANTS = [
  { name: 'UDP, DO, EDNS 4096', dnssecOk: true, udpSize: 4096, tcp: false, v6: false },
  { name: 'UDP, DO, EDNS 1232', dnssecOk: true, udpSize: 1232, tcp: false, v6: false },
  { name: 'UDP, DO, EDNS 512 (truncating)', dnssecOk: true, udpSize: 512, tcp: false, v6: false },
  { name: 'TCP, DO', dnssecOk: true, udpSize: 4096, tcp: true, v6: false },
  { name: 'UDP over IPv6, DO, EDNS 1232', dnssecOk: true, udpSize: 1232, tcp: false, v6: true },
  { name: 'UDP, DO clear, EDNS 1232', dnssecOk: false, udpSize: 1232, tcp: false, v6: false },
];

for (const v of VARIANTS) {
  test.serial(`signed zones: NSD and the appliance give the same answers, every section: ${v.name}`, async (t) => {
    if (missing.length) {
      t.log(`SKIPPED: ${missing.join(', ')} not installed (apt-get install nsd ldnsutils); .ci/run installs them`);
      t.pass();
      return;
    }
    const corpus = sc.queries;
    const queries = corpus.map((q) => encodeQuery(q, { edns: true, dnssecOk: v.dnssecOk, udpSize: v.udpSize }));
    const host = v.v6 ? '::1' : '127.0.0.1';
    const ex = (port: number): Promise<Array<Buffer | null>> => (v.tcp ? tcpExchange(port, queries, host) : udpExchange(port, queries, host));
    const ref = await ex(nsdPort);
    const ours = await ex(v.v6 ? port6 : port4);
    // What judging the answers NSD is known to get wrong needs besides (extraQueries).
    const extra = await answerExtras(sc, { edns: true, dnssecOk: v.dnssecOk, udpSize: v.udpSize }, (to, qs) =>
      (v.tcp ? tcpExchange : udpExchange)(to === 'nsd' ? nsdPort : v.v6 ? port6 : port4, qs, host));
    const mismatches: string[] = [];
    const expected: string[] = [];
    let truncated = 0;
    for (let i = 0; i < corpus.length; i++) {
      const d = signedDifferences(sc, corpus[i]!, ref[i] ?? null, ours[i] ?? null, expected, extra);
      if (d.length) mismatches.push(`${corpus[i]!.line}: ${d.join('; ')}`);
      if (ref[i] && decode(ref[i]!).tc) truncated++;
    }
    // The expected differences by kind (the text after "below NAME, " or after the query).
    const kinds = new Map<string, number>();
    for (const e of expected) {
      const k = e.replace(/^[^:]*: /, '').replace(/ (of|covering) \S+/g, '');
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    t.log(`${corpus.length} queries compared, ${truncated} truncated by NSD; expected differences: ${[...kinds].map(([k, n]) => `${n} ${k}`).join('; ') || 'none'}`);
    t.deepEqual(mismatches.slice(0, 20), []);
    t.is(mismatches.length, 0);
  });
}
