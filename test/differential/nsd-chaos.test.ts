// The CHAOS-class differential test: NSD (Debian's package, on loopback) and the appliance,
// given the same identity and version strings (NSD's identity:, version:, hide-identity:,
// hide-version:; the responder's setChaos()), get the same CH queries (the four names NSD
// answers, in other cases, other names, other types, QCLASS *) over UDP without and with
// EDNS (DO clear and set) and over TCP. Compared byte for byte: the header (ID, flags,
// rcode, counts), the question and the answer section; of the OPT, its fixed fields. Not
// its options: NSD adds an Extended DNS Error there (RFC 8914; 18 Prohibited for a hidden
// string, 21 Not Supported for the rest), the appliance gives none (logged, not failed).
// With both strings hidden, NSD's default here, test/differential/nsd.test.ts compares.

import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DnsSocketServer } from '../../appliance/backends/socket-dns.js';
import type { ChaosStrings } from '../../appliance/dns/responder.js';
import { DnsTables } from '../../appliance/dns/tables.js';
import { loadImage } from '../../specializers/image/format.js';
import { buildTestImage, FIXTURE_ZONES, freePort, tempDir } from '../helpers/fixtures.js';
import { encodeQuery, parseCorpusLine, tcpExchange, udpExchange, type CorpusQuery } from '../helpers/dns.js';
import { hasCommand, type Started } from '../helpers/processes.js';
import { startNsd } from '../helpers/nsd.js';

const haveNsd = hasCommand('nsd');
const tmp = tempDir('nsd-chaos');
const ZONE = join(FIXTURE_ZONES, 'example.com.zone');

/** Each side configured alike: both shown, one hidden, the other hidden. Strings with a space, as versions have. */
const CONFIGS: Array<{ name: string; chaos: ChaosStrings }> = [
  { name: 'identity and version', chaos: { identity: 'ns1.chaos-test', version: 'appliance 9.8.7' } },
  { name: 'identity, version hidden', chaos: { identity: 'ns2 identity', version: null } },
  { name: 'identity hidden, version', chaos: { identity: null, version: 'y' } },
];

const NAMES = [
  'id.server', 'hostname.bind', 'version.server', 'version.bind', 'ID.SERVER', 'HostName.Bind', 'VERSION.server', 'Version.Bind',
  'authors.bind', 'bind', 'server', 'foo.version.bind', 'version.bind.example.com', 'example.com', '.',
];
const TYPES = ['TXT', 'ANY', 'A', 'SOA', 'NS', 'HINFO', 'TYPE65000'];
const CORPUS: CorpusQuery[] = [
  ...NAMES.flatMap((n) => TYPES.map((t) => parseCorpusLine(`${n} ${t} CH`)!)),
  ...['version.bind', 'id.server'].flatMap((n) => [`${n} TXT ANY`, `${n} TXT IN`, `${n} TXT HS`, `${n} TYPE252 CH`].map((l) => parseCorpusLine(l)!)),
];

const VARIANTS = [
  { name: 'UDP', edns: false, dnssecOk: false, tcp: false },
  { name: 'UDP+EDNS', edns: true, dnssecOk: false, tcp: false },
  { name: 'UDP+EDNS+DO', edns: true, dnssecOk: true, tcp: false },
  { name: 'TCP', edns: true, dnssecOk: false, tcp: true },
];

interface Side { nsd: Started; nsdPort: number; app: DnsSocketServer; appPort: number }
const sides: Side[] = [];

test.before(async () => {
  if (!haveNsd) return;
  const image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], [{ origin: null, file: ZONE }]);
  for (const [i, c] of CONFIGS.entries()) {
    const dir = join(tmp.dir, String(i));
    mkdirSync(dir);
    const nsdPort = await freePort();
    const nsd = await startNsd(dir, '127.0.0.1', nsdPort, [{ origin: 'example.com', file: ZONE }], FIXTURE_ZONES, c.chaos);
    const app = new DnsSocketServer(new DnsTables(loadImage(image)), { host: '127.0.0.1', port: 0, idleTimeoutMs: 10_000 });
    app.responder.setChaos(c.chaos);
    sides.push({ nsd, nsdPort, app, appPort: (await app.listen()).port });
  }
});

test.after.always(async () => {
  for (const s of sides) {
    await s.nsd.stop();
    await s.app.close();
  }
  tmp.cleanup();
});

/** Where the name at m[p] ends. */
function skipName(m: Buffer, p: number): number {
  for (;;) {
    const l = m[p]!;
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2;
    p += l + 1;
  }
}

/** A response as compared: the bytes up to the end of the answer section, the OPT's fixed fields, its options apart. */
function split(m: Buffer): { head: string; opt: string | null; options: string } {
  let p = 12;
  for (let i = 0, n = m.readUInt16BE(4); i < n; i++) p = skipName(m, p) + 4;
  for (let i = 0, n = m.readUInt16BE(6) + m.readUInt16BE(8); i < n; i++) {
    p = skipName(m, p);
    p += 10 + m.readUInt16BE(p + 8);
  }
  const head = m.subarray(0, p).toString('hex');
  if (m.readUInt16BE(10) === 0) return { head, opt: null, options: '' };
  const rdlen = m.readUInt16BE(p + 9);
  // owner, type, UDP size, extended RCODE, version, flags (DO): all but RDLENGTH and the options
  return { head, opt: m.subarray(p, p + 9).toString('hex'), options: m.subarray(p + 11, p + 11 + rdlen).toString('hex') };
}

/** EDE INFO-CODEs in OPT options (option 15, RFC 8914 §2). */
function edeCodes(options: string): number[] {
  const b = Buffer.from(options, 'hex');
  const out: number[] = [];
  for (let p = 0; p + 4 <= b.length; p += 4 + b.readUInt16BE(p + 2)) if (b.readUInt16BE(p) === 15) out.push(b.readUInt16BE(p + 4));
  return out;
}

for (const [ci, c] of CONFIGS.entries()) {
  for (const v of VARIANTS) {
    test.serial(`NSD and the appliance answer CHAOS queries alike (${c.name}): ${v.name}`, async (t) => {
      if (!haveNsd) {
        t.log('SKIPPED: nsd is not installed (apt-get install nsd); .ci/run installs it');
        t.pass();
        return;
      }
      const s = sides[ci]!;
      const queries = CORPUS.map((q) => encodeQuery(q, { edns: v.edns, dnssecOk: v.dnssecOk }));
      const exchange = v.tcp ? tcpExchange : udpExchange;
      const [ref, ours] = [await exchange(s.nsdPort, queries), await exchange(s.appPort, queries)];
      const mismatches: string[] = [];
      const ede = new Map<string, number>();
      let answered = 0;
      for (const [i, q] of CORPUS.entries()) {
        const a = ref[i], b = ours[i];
        if (!a || !b) {
          if (a || b) mismatches.push(`${q.line}: ${a ? 'NSD' : 'the appliance'} alone answered`);
          continue;
        }
        const sa = split(a), sb = split(b);
        if (sa.head !== sb.head) mismatches.push(`${q.line}: NSD ${sa.head} / appliance ${sb.head}`);
        if (sa.opt !== sb.opt) mismatches.push(`${q.line}: OPT NSD ${sa.opt} / appliance ${sb.opt}`);
        if (sb.options !== '') mismatches.push(`${q.line}: the appliance sent EDNS options ${sb.options}`);
        for (const code of edeCodes(sa.options)) ede.set(`EDE ${code}`, (ede.get(`EDE ${code}`) ?? 0) + 1);
        if (a.readUInt16BE(6) > 0) answered++;
      }
      t.log(`${CORPUS.length} queries compared, ${answered} answered with a TXT record; NSD's EDE options (not compared): ${[...ede].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`);
      const expectAnswered = 4 * 2 * ((c.chaos.identity !== null ? 1 : 0) + (c.chaos.version !== null ? 1 : 0)); // 4 spellings × (TXT, ANY)
      t.is(answered, expectAnswered, 'NSD answered the names it should (the comparison is not vacuous)');
      t.deepEqual(mismatches.slice(0, 40), []);
      t.is(mismatches.length, 0);
    });
  }
}
