// The build's checks of signed zones (specializers/dns/dnssec.ts), on the fixtures of
// fixtures/zones/dnssec signed at test time with ldns and then damaged: a chain with a
// record taken out is refused (APPL_ERR_ZONE_DNSSEC) with the file:line of the record
// whose next name or hash no longer follows; an RRset whose RRSIG is taken out, a
// signature past its expiry and NSEC3 iterations above 0 are warnings naming file:line
// (and the dates); the signed zones as they come build with no warning but the iterations.

import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../../specializers/http/compile.js';
import { hasCommand } from '../../helpers/processes.js';
import { tempDir } from '../../helpers/fixtures.js';
import { SIGN_TOOLS, signFixtures, type SignedFixtures } from '../../helpers/signed.js';

const missing = SIGN_TOOLS.filter((c) => !hasCommand(c));
const tmp = tempDir('dnssec-checks');
let fx: SignedFixtures | undefined;
let old: SignedFixtures | undefined;

test.before(async () => {
  if (missing.length) return;
  fx = await signFixtures(join(tmp.dir, 'now'));
  // Signed 60 days ago, valid for 30: expired.
  old = await signFixtures(join(tmp.dir, 'old'), { now: Date.now() - 60 * 86_400_000, validDays: 30 });
});

test.after.always(() => tmp.cleanup());

async function build(files: Array<{ origin: string; file: string }>): Promise<{ warnings: string[]; error?: { code: string; message: string } }> {
  try {
    const r = await buildImage({ sites: [], zones: files, output: join(tmp.dir, 'out.apl'), http: { ...DEFAULT_HTTP_OPTIONS } });
    return { warnings: r.warnings };
  } catch (e) {
    return { warnings: [], error: e as { code: string; message: string } };
  }
}

/** A copy of `file` without its lines that match `drop` (the first `count` of them); returns the copy and the line numbers dropped. */
function without(file: string, drop: RegExp, out: string, count = 1): { file: string; lines: number[] } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const dropped: number[] = [];
  const kept = lines.filter((l, i) => {
    if (dropped.length < count && drop.test(l)) {
      dropped.push(i + 1);
      return false;
    }
    return true;
  });
  writeFileSync(out, kept.join('\n'));
  return { file: out, lines: dropped };
}

function lineOf(file: string, re: RegExp): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => re.test(l)) + 1;
}

const skipped = (t: { log: (s: string) => void; pass: () => void }): boolean => {
  if (!missing.length) return false;
  t.log(`SKIPPED: ${missing.join(', ')} not installed (apt-get install ldnsutils); .ci/run installs it`);
  t.pass();
  return true;
};

test('the signed fixtures build; the only warnings are the salted zones\' NSEC3 iterations (RFC 9276), with file:line', async (t) => {
  if (skipped(t)) return;
  const r = await build(fx!.served.filter((z) => z.origin !== 'bogus.test.'));
  t.is(r.error, undefined);
  t.true(r.warnings.length >= 1);
  for (const w of r.warnings) t.regex(w, /optout\.test\.signed:\d+: zone (signed\.)?optout\.test\. uses 5 NSEC3 iterations: RFC 9276 §3\.1 asks for 0/);
});

test('an NSEC taken out of the chain: refused, naming the NSEC before the gap by file:line', async (t) => {
  if (skipped(t)) return;
  const src = fx!.zone('nsec.test.').file;
  const cut = without(src, /^ftp\.nsec\.test\.\s+\d+\s+IN\s+NSEC\s/, join(tmp.dir, 'nsec-gap.zone'));
  t.is(cut.lines.length, 1);
  const r = await build([{ origin: 'nsec.test.', file: cut.file }]);
  t.is(r.error?.code, 'APPL_ERR_ZONE_DNSSEC');
  const before = lineOf(cut.file, /^dname\.nsec\.test\.\s+\d+\s+IN\s+NSEC\s/);
  t.true(r.error!.message.includes(`nsec-gap.zone:${before}: the NSEC chain is broken: the NSEC at dname.nsec.test. names ftp.nsec.test. as the next name`), r.error?.message);
});

test('an NSEC3 taken out of the chain: refused, naming the NSEC3 before the gap by file:line', async (t) => {
  if (skipped(t)) return;
  const src = fx!.zone('nsec3.test.').file;
  // The second NSEC3 of the file (the first is the apex's hash, whichever it is).
  const lines = readFileSync(src, 'utf8').split('\n');
  const nsec3 = lines.map((l, i) => ({ l, i })).filter((x) => /\sIN\s+NSEC3\s/.test(x.l));
  const victim = nsec3[1]!.l.split(/\s+/)[0]!;
  const cut = without(src, new RegExp(`^${victim.replace(/\./g, '\\.')}\\s+\\d+\\s+IN\\s+NSEC3\\s`), join(tmp.dir, 'nsec3-gap.zone'));
  const r = await build([{ origin: 'nsec3.test.', file: cut.file }]);
  t.is(r.error?.code, 'APPL_ERR_ZONE_DNSSEC');
  t.regex(r.error!.message, /nsec3-gap\.zone:\d+: the NSEC3 chain (is broken: the NSEC3 at \S+ names \w+ as the next hash|is incomplete: no NSEC3 for)/);
});

test('an RRset without its RRSIG: a warning naming the RRset by file:line', async (t) => {
  if (skipped(t)) return;
  const src = fx!.zone('nsec.test.').file;
  const cut = without(src, /^ftp\.nsec\.test\.\s+\d+\s+IN\s+RRSIG\s+A\s/, join(tmp.dir, 'nsec-unsigned.zone'));
  const r = await build([{ origin: 'nsec.test.', file: cut.file }]);
  t.is(r.error, undefined);
  const at = lineOf(cut.file, /^ftp\.nsec\.test\.\s+\d+\s+IN\s+A\s/);
  t.true(r.warnings.includes(`${cut.file}:${at}: the A RRset of ftp.nsec.test. has no RRSIG: validators will answer SERVFAIL for it`), r.warnings.join('\n'));
});

test('signatures past their expiry: warnings naming each RRSIG by file:line, with its dates, ten at most and a count', async (t) => {
  if (skipped(t)) return;
  const file = old!.zone('nsec.test.').file;
  const r = await build([{ origin: 'nsec.test.', file }]);
  t.is(r.error, undefined);
  const expired = r.warnings.filter((w) => w.includes('is expired'));
  t.is(expired.length, 10);
  const soa = lineOf(file, /^nsec\.test\.\s+\d+\s+IN\s+RRSIG\s+SOA\s/);
  t.regex(expired.join('\n'), new RegExp(`:${soa}: the RRSIG over nsec\\.test\\. SOA is expired \\(\\d{14}\\); valid \\d{14} to \\d{14}, now \\d{14}: validators will answer SERVFAIL for it`));
  t.true(r.warnings.some((w) => /zone nsec\.test\.: \d+ more signatures outside their validity period/.test(w)));
});

test('a second NSEC3PARAM (a chain being rolled): the first with SHA-1 and flags 0 is used, the other chain\'s NSEC3 records ignored, with a warning', async (t) => {
  if (skipped(t)) return;
  const src = fx!.zone('nsec3.test.').file;
  const lines = readFileSync(src, 'utf8').split('\n');
  // Before the real one: an NSEC3PARAM with the opt-out flag (not for servers, RFC 5155 §4.1.2) and one with no chain
  // (no NSEC3 of its parameters at the apex: NSD ignores it); after it, one of another salt, with an NSEC3 of its chain.
  const at = lines.findIndex((l) => /^nsec3\.test\.\s+\d+\s+IN\s+NSEC3PARAM\s/.test(l));
  lines.splice(at, 0, 'nsec3.test.\t3600\tIN\tNSEC3PARAM\t1 1 0 -', 'nsec3.test.\t3600\tIN\tNSEC3PARAM\t1 0 5 aabb');
  lines.push('nsec3.test.\t3600\tIN\tNSEC3PARAM\t1 0 2 beef', '0123456789abcdefghijklmnopqrstuv.nsec3.test.\t300\tIN\tNSEC3\t1 0 2 beef 0123456789abcdefghijklmnopqrstuv A RRSIG');
  const file = join(tmp.dir, 'nsec3-two-params.zone');
  writeFileSync(file, lines.join('\n'));
  const r = await build([{ origin: 'nsec3.test.', file }]);
  t.is(r.error, undefined, r.error?.message);
  t.true(r.warnings.some((w) => w.startsWith(`${file}:${at + 3}: zone nsec3.test. has 4 NSEC3PARAM records: this one is used`)), r.warnings.join('\n'));
});

test('no NSEC3PARAM with SHA-1 and flags 0: refused, naming it by file:line', async (t) => {
  if (skipped(t)) return;
  const src = fx!.zone('nsec3.test.').file;
  const lines = readFileSync(src, 'utf8').split('\n');
  const at = lines.findIndex((l) => /^nsec3\.test\.\s+\d+\s+IN\s+NSEC3PARAM\s/.test(l));
  lines[at] = lines[at]!.replace(/NSEC3PARAM\s+1\s+0\s/, 'NSEC3PARAM\t1 1 ');
  const file = join(tmp.dir, 'nsec3-param-flags.zone');
  writeFileSync(file, lines.join('\n'));
  const r = await build([{ origin: 'nsec3.test.', file }]);
  t.is(r.error?.code, 'APPL_ERR_ZONE_DNSSEC');
  t.true(r.error!.message.includes(`nsec3-param-flags.zone:${at + 1}: no NSEC3PARAM of zone nsec3.test. has hash algorithm SHA-1 (1) and flags 0`), r.error?.message);
});

test('an empty non-terminal without NSEC3 (BIND\'s -A opt-out) under a wildcard: a warning that names below it cannot be proven absent, with file:line', async (t) => {
  if (skipped(t)) return;
  const src = join(tmp.dir, 'awent-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'awent.test.zone'), [
    '$ORIGIN awent.test.', '$TTL 3600', '@ SOA ns1 hostmaster 1 7200 1800 1209600 300', '  NS ns1', 'ns1 A 198.18.16.2',
    '* A 198.18.16.20', 'd.ent NS ns1', '',
  ].join('\n'));
  const signed = await signFixtures(join(tmp.dir, 'awent'), {
    sources: src,
    zones: [{ origin: 'awent.test.', parent: null, denial: { kind: 'nsec3', salt: '', iterations: 0, optOut: true }, algorithm: 'ECDSAP256SHA256', signer: 'bind' }],
  });
  const file = signed.zone('awent.test.').file;
  const r = await build([{ origin: 'awent.test.', file }]);
  t.is(r.error, undefined, r.error?.message);
  const at = lineOf(file, /^\*\.awent\.test\.\s+\d+\s+IN\s+A\s/);
  t.true(r.warnings.includes(`${file}:${at}: names below the empty non-terminal ent.awent.test., which has no NSEC3 (opt-out), cannot be proven absent while the wildcard *.awent.test. exists: validators will answer SERVFAIL for them (sign with an NSEC3 for every empty non-terminal, or give ent.awent.test. a record)`), r.warnings.join('\n'));
});
