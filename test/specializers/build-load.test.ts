// Property: whatever the build writes, the loader and inspect accept. Random zones (names
// from a small pool so that CNAME chains, wildcards, DNAMEs and delegations meet; RRsets
// from one record to far more than a message holds; TXT records up to 65,535 octets) and
// random sites (odd file names, empty and large files), built with buildImage: either the
// build refuses them with a coded error (a zone check, say), or loadImage, the HTTP and
// DNS tables (every index a query can reach) and inspect's description all take the image
// without an exception. fast-check, fixed seed, bounded runs.

import test from 'ava';
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isApplianceError } from '../../basics/errors.js';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import { loadImage } from '../../specializers/image/format.js';
import * as D from '../../specializers/dns/layout.js';
import { DnsTables } from '../../appliance/dns/tables.js';
import { HttpTables } from '../../appliance/http/tables.js';
import { describeImage } from '../../appliance/commands/inspect.js';
import { tempDir } from '../helpers/fixtures.js';

const SEED = 20261201;
const tmp = tempDir('buildload');
test.after.always(tmp.cleanup);

const NAMES = ['@', 'a', 'b', 'c.a', 'd.b', '*', '*.a', 'x.*.a', 'del', 'ns.del', 'deep.ns.del', 'dn', 'u.dn', 'ns1'];
const nameArb = fc.constantFrom(...NAMES);
const target = fc.oneof(nameArb.map((n) => (n === '@' ? 'p.test.' : `${n.replace('*', 'w')}.p.test.`)), fc.constant('out.example.'));

/** One RRset as zone-file lines: sometimes far larger than any message. */
const rrset: fc.Arbitrary<(owner: string) => string[]> = fc.oneof(
  fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(4090, 4094, 4095, 4096, 5000)).map((n) => (o: string) => Array.from({ length: n }, (_, i) => `${o} IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)),
  fc.integer({ min: 1, max: 40 }).map((n) => (o: string) => Array.from({ length: n }, (_, i) => `${o} IN AAAA 2001:db8::${i.toString(16)}`)),
  fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 65400, max: 65535 })).map((octets) => (o: string) => {
    const strings: string[] = [];
    for (let left = Math.max(1, octets); left > 0; left -= 255) strings.push(`"${'t'.repeat(Math.min(254, left - 1))}"`);
    return [`${o} IN TXT ${strings.join(' ')}`];
  }),
  fc.tuple(fc.integer({ min: 1, max: 3 }), target).map(([n, tg]) => (o: string) => Array.from({ length: n }, (_, i) => `${o} IN MX ${i} ${tg}`)),
  target.map((tg) => (o: string) => [`${o} IN CNAME ${tg}`]),
  target.map((tg) => (o: string) => [`${o} IN DNAME ${tg}`]),
  fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(2000, 3000)).map((n) => (o: string) => [...Array.from({ length: n }, (_, i) => `${o} IN NS ns${i}.out.example.`), `${o} IN NS ns.del.p.test.`]),
);

const zoneArb = fc.array(fc.tuple(nameArb, rrset), { minLength: 1, maxLength: 8 }).map((sets) => {
  const lines = ['$ORIGIN p.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m', '@ IN NS ns1', 'ns1 IN A 198.18.0.1', 'del IN NS ns.del'];
  for (const [owner, make] of sets) lines.push(...make(owner));
  return lines.join('\n') + '\n';
});

const fileName = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,20}$/),
  fc.constantFrom('a b.html', 'ünï.txt', '%41.txt', 'q?x', 'h#h', 'tab\there', 'nl\nname', 'esc\x1b[31m.txt', '..x', 'index.html', '404.html', 'x'.repeat(250)),
).filter((n) => n !== '.' && n !== '..' && !n.includes('/'));
const siteArb = fc.array(fc.tuple(fc.constantFrom('', 'd/', 'd/e/', '.h/'), fileName, fc.integer({ min: 0, max: 70_000 })), { maxLength: 12 });

let run = 0;
let built = 0;
let neverFits = 0;
const refusals = new Map<string, number>();

test('anything the build writes, loadImage, the tables and inspect accept', async (t) => {
  await fc.assert(fc.asyncProperty(zoneArb, siteArb, fc.boolean(), async (zone, files, dotfiles) => {
    const dir = join(tmp.dir, `r${run++}`);
    mkdirSync(join(dir, 'site'), { recursive: true });
    writeFileSync(join(dir, 'p.test.zone'), zone);
    for (const [sub, name, size] of files) {
      mkdirSync(join(dir, 'site', sub), { recursive: true });
      writeFileSync(join(dir, 'site', sub, name), Buffer.alloc(size, 0x61 + (size % 26)));
    }
    const out = join(dir, 'out.apl');
    try {
      await buildImage({
        sites: [{ host: null, dir: join(dir, 'site') }], zones: [{ origin: null, file: join(dir, 'p.test.zone') }], output: out,
        http: { ...DEFAULT_HTTP_OPTIONS, includeDotfiles: dotfiles, brotliQuality: 1, gzipLevel: 1 },
      });
    } catch (e) {
      // Refused at build, with a code: never an image the server refuses.
      if (isApplianceError(e)) { refusals.set(e.code, (refusals.get(e.code) ?? 0) + 1); return true; }
      throw e;
    }
    built++;
    const img = loadImage(out);
    const dns = new DnsTables(img);
    new HttpTables(img);
    describeImage(img, true);
    for (let i = 0; i < dns.templates.length / D.TEMPLATE_WORDS; i++) {
      const len = dns.templates[i * D.TEMPLATE_WORDS + D.TPL_LEN]!;
      if (len > D.MAX_TEMPLATE_LEN + 1) throw new Error(`template ${i} longer than any message`);
      if (len > D.MAX_TEMPLATE_LEN) neverFits++;
    }
    return true;
  }), { seed: SEED, numRuns: 40, interruptAfterTimeLimit: 60_000 });
  t.log(`${built} images built and accepted (${neverFits} templates no message holds); refused at build: ${JSON.stringify(Object.fromEntries(refusals))}`);
  t.true(neverFits > 0, 'answers too large for any message were among them');
  t.true(built >= 10, 'most random inputs build (else the property tests little)');
});
