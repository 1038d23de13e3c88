// RRL against NSD itself (Debian's nsd 4.6, on loopback): the same zones (fixtures/zones),
// NSD with its default RRL (rrl-ratelimit 200, rrl-slip 2, IPv4 /24: the config leaves
// every rrl- option out) and the appliance's responder and ResponseRateLimiter driven in
// process by the same queries at the times they were sent to NSD.
//
//   - 1,000 queries over about a second from one source, then a mix of classes (positive,
//     NXDOMAIN, referral), then three sources of which two share a /24: answered,
//     truncated and dropped counted on both sides, within ±15% (both slip a limited
//     answer at random with probability 1/slip: the truncated counts differ by chance,
//     so small counts get four standard deviations). Bytes out per byte in printed.
//   - Every query of the differential corpus from a /24 of its own to a second NSD with
//     rrl-ratelimit 1 and rrl-slip 1: the second answer in a second is limited and slips,
//     and NSD logs the bucket ("ratelimit block NAME type CLASS target PREFIX"): its class
//     and name are compared with the responder's rrlClass and rrlName, and the slipped
//     answer byte for byte with the responder's slip().
//
// Traffic goes to 127.0.0.1 only, from loopback sources 127.0.X.1 (all of 127/8 is the
// loopback interface's); every sender is bounded in count and time.

import test from 'ava';
import dgram from 'node:dgram';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DnsResponder, TRANSPORT_UDP } from '../../../appliance/dns/responder.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { FAMILY_IPV4, RRL_DROP, RRL_SEND, RRL_SLIP, ResponseRateLimiter, rrlClassName } from '../../../appliance/dns/rrl.js';
import { loadImage } from '../../../specializers/image/format.js';
import { loadZones } from '../../../specializers/dns/model.js';
import { nameToText } from '../../../specializers/dns/zone.js';
import { buildTestImage, FIXTURE_ZONES, freePort, tempDir } from '../../helpers/fixtures.js';
import { encodeQuery, fullCorpus, parseCorpusLine } from '../../helpers/dns.js';
import { hasCommand, type Started } from '../../helpers/processes.js';
import { readRrlBlocks, rrlNameHash, startNsdRrl } from '../../helpers/nsd-rrl.js';
import { pacedQueries, type PacedRun } from '../../helpers/dns-burst.js';

const haveNsd = hasCommand('nsd');
const tmp = tempDir('rrl-nsd');
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));
let nsd: Started | undefined;
let nsdLog: Started | undefined;
let port = 0;
let logPort = 0;
let tables: DnsTables;
const logDir = join(tmp.dir, 'nsd-rrl1');
const TOLERANCE = 0.15;

test.before(async () => {
  if (!haveNsd) return;
  const { parsed } = loadZones(zoneFiles.map((file) => ({ origin: null, file })));
  const zones = parsed.map((z) => ({ origin: nameToText(z.origin), file: z.file }));
  port = await freePort();
  const dir = join(tmp.dir, 'nsd-default');
  mkdirSync(dir);
  nsd = await startNsdRrl(dir, '127.0.0.1', port, zones, FIXTURE_ZONES);
  logPort = await freePort();
  mkdirSync(logDir);
  nsdLog = await startNsdRrl(logDir, '127.0.0.1', logPort, zones, FIXTURE_ZONES, { ratelimit: 1, slip: 1 });
  tables = new DnsTables(loadImage(await buildTestImage(join(tmp.dir, 'zones.apl'), [], zoneFiles.map((file) => ({ origin: null, file })))));
});

test.after.always(async () => {
  await nsd?.stop();
  await nsdLog?.stop();
  tmp.cleanup();
});

function skip(t: { log: (m: string) => void; pass: () => void }): boolean {
  if (haveNsd) return false;
  t.log('SKIPPED: nsd is not installed (apt-get install nsd); .ci/run installs it');
  t.pass();
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function bindUdp(address: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => resolve(s));
  });
}

const v4 = (a: string): Uint8Array => Uint8Array.from(a.split('.').map(Number));

/** test/helpers/dns-burst.ts's pacing, to NSD on loopback; every query must have gone out. */
async function paced(queries: Buffer[], sources: string[], sourceOf: (i: number) => number, spanMs: number): Promise<PacedRun> {
  const run = await pacedQueries('127.0.0.1', port, queries, sources, sourceOf, spanMs);
  if (run.sent < queries.length) throw new Error(`sent only ${run.sent} of ${queries.length} queries in time`);
  return run;
}

interface Tally { answered: number; truncated: number; dropped: number; bytesIn: number; bytesOut: number }
const tally = (): Tally => ({ answered: 0, truncated: 0, dropped: 0, bytesIn: 0, bytesOut: 0 });

/** The same queries through the responder and a limiter with NSD's defaults, at the times they were sent. */
function replay(queries: Buffer[], sources: string[], sourceOf: (i: number) => number, sentAt: number[], groupOf: (i: number) => number, groups: number): { ours: Tally[]; unlimited: Tally[] } {
  const r = new DnsResponder(tables);
  const rrl = new ResponseRateLimiter({ size: 1 << 16 });
  const ours = Array.from({ length: groups }, tally), unlimited = Array.from({ length: groups }, tally);
  const buf = new Uint8Array(4096);
  const addrs = sources.map(v4);
  for (let i = 0; i < queries.length; i++) {
    const q = Buffer.from(queries[i]!);
    q.writeUInt16BE(i, 0);
    buf.set(q, 0);
    const n = r.answer(buf, 0, q.length, buf.length, TRANSPORT_UDP);
    const g = groupOf(i);
    ours[g]!.bytesIn += q.length;
    unlimited[g]!.bytesIn += q.length;
    if (n <= 0) continue;
    unlimited[g]!.answered++;
    unlimited[g]!.bytesOut += n;
    const d = rrl.decide(addrs[sourceOf(i)]!, 0, FAMILY_IPV4, r.rrlClass, r.rrlName, Math.floor(sentAt[i]! / 1000));
    if (d === RRL_SEND) {
      ours[g]!.answered++;
      ours[g]!.bytesOut += n;
    } else if (d === RRL_SLIP) {
      ours[g]!.answered++;
      ours[g]!.truncated++;
      ours[g]!.bytesOut += r.slip(buf, 0);
    } else if (d === RRL_DROP) {
      ours[g]!.dropped++;
    }
  }
  return { ours, unlimited };
}

function nsdTally(queries: Buffer[], run: PacedRun, groupOf: (i: number) => number, groups: number): Tally[] {
  const out = Array.from({ length: groups }, tally);
  run.responses.forEach((m, i) => {
    const g = out[groupOf(i)]!;
    g.bytesIn += queries[i]!.length;
    if (m === null) {
      g.dropped++;
      return;
    }
    g.answered++;
    g.bytesOut += m.length;
    if (m.readUInt16BE(2) & 0x0200) g.truncated++;
  });
  return out;
}

const show = (x: Tally): string => `answered ${x.answered} (${x.truncated} truncated), dropped ${x.dropped}, bytes out/in ${(x.bytesOut / x.bytesIn).toFixed(2)}`;

/**
 * ±15%, or for small counts four standard deviations of the difference of the two slips
 * (each limited answer slips with probability 1/2 on either side), whichever is wider.
 */
function within(t: { true: (v: boolean, m?: string) => void }, what: string, nsdV: number, ours: number, limited: number): void {
  const allowed = Math.max(TOLERANCE * nsdV, 4 * Math.sqrt(2 * limited * 0.25), 3);
  t.true(Math.abs(ours - nsdV) <= allowed, `${what}: NSD ${nsdV}, appliance ${ours} (allowed ±${allowed.toFixed(0)})`);
}

function compare(t: Parameters<typeof within>[0] & { log: (m: string) => void }, names: string[], nsdT: Tally[], ours: Tally[], unlimited: Tally[]): void {
  names.forEach((name, g) => {
    t.log(`${name}: NSD ${show(nsdT[g]!)}`);
    t.log(`${name}: appliance ${show(ours[g]!)}; without RRL ${show(unlimited[g]!)}`);
    const limited = nsdT[g]!.truncated + nsdT[g]!.dropped;
    within(t, `${name} answered`, nsdT[g]!.answered, ours[g]!.answered, limited);
    within(t, `${name} truncated`, nsdT[g]!.truncated, ours[g]!.truncated, limited);
  });
}

/**
 * NSD's slipped answer without the two things the appliance leaves out on purpose: an
 * Extended DNS Error option in the OPT (README: no EDE options are added, in any answer),
 * and the question bytes NSD leaves after a header whose QDCOUNT is 0 (rrl_slip() sets the
 * end after the question whenever the query had one, even where the answer left it out:
 * REFUSED for a class other than IN and CH, NOTIFY, TSIG; the appliance sends the header
 * its count describes, and the OPT).
 */
function withoutKnown(msg: Buffer, q: Buffer): { msg: Buffer; ede: boolean; question: boolean } {
  let ede = false, question = false;
  if (msg.readUInt16BE(10) === 1) {
    for (let p = 12; p + 11 <= msg.length; p++) {
      if (msg[p] !== 0 || msg.readUInt16BE(p + 1) !== 41 || p + 11 + msg.readUInt16BE(p + 9) !== msg.length) continue;
      let o = p + 11, onlyEde = msg.length > p + 11;
      while (o + 4 <= msg.length) {
        if (msg.readUInt16BE(o) !== 15) onlyEde = false;
        o += 4 + msg.readUInt16BE(o + 2);
      }
      if (onlyEde) {
        msg = Buffer.concat([msg.subarray(0, p + 9), Buffer.of(0, 0)]);
        ede = true;
      }
      break;
    }
  }
  if (msg.readUInt16BE(4) === 0) {
    let e = 12;
    while (q[e] !== 0) e += q[e]! + 1;
    const qq = q.subarray(12, e + 5);
    if (msg.subarray(12, 12 + qq.length).equals(qq)) {
      msg = Buffer.concat([msg.subarray(0, 12), msg.subarray(12 + qq.length)]);
      question = true;
    }
  }
  return { msg, ede, question };
}

const query = (line: string, o: { edns?: boolean } = {}): Buffer => encodeQuery(parseCorpusLine(line)!, { edns: o.edns });

test.serial('1,000 queries in about a second from one source: NSD\'s default RRL and ours answer and truncate alike', async (t) => {
  if (skip(t)) return;
  const queries = Array.from({ length: 1000 }, () => query('www.example.com ANY', { edns: true }));
  const sources = ['127.0.11.1'];
  const run = await paced(queries, sources, () => 0, 1000);
  const { ours, unlimited } = replay(queries, sources, () => 0, run.sentAt, () => 0, 1);
  compare(t, ['one source'], nsdTally(queries, run, () => 0, 1), ours, unlimited);
});

test.serial('a mix of classes from one source (positive, NXDOMAIN, referral): each limited in its own buckets, as NSD', async (t) => {
  if (skip(t)) return;
  const n = 3000;
  const kinds = ['positive', 'nxdomain', 'referral'];
  const queries = Array.from({ length: n }, (_, i) => query(
    i % 3 === 0 ? 'www.example.com A' : i % 3 === 1 ? `nx${i}.example.com A` : `h${i}.partner.example.com A`, { edns: i % 2 === 0 },
  ));
  const sources = ['127.0.12.1'];
  const run = await paced(queries, sources, () => 0, 1000);
  const groupOf = (i: number): number => i % 3;
  const { ours, unlimited } = replay(queries, sources, () => 0, run.sentAt, groupOf, 3);
  compare(t, kinds, nsdTally(queries, run, groupOf, 3), ours, unlimited);
});

test.serial('three sources, two in one /24: the /24s are limited apart, the two in one /24 together, as NSD', async (t) => {
  if (skip(t)) return;
  const n = 1500;
  const queries = Array.from({ length: n }, () => query('www.example.com A'));
  const sources = ['127.0.21.1', '127.0.22.1', '127.0.21.9'];
  const sourceOf = (i: number): number => i % 3;
  const run = await paced(queries, sources, sourceOf, 1000);
  const { ours, unlimited } = replay(queries, sources, sourceOf, run.sentAt, sourceOf, 3);
  const nsdT = nsdTally(queries, run, sourceOf, 3);
  compare(t, sources, nsdT, ours, unlimited);
  // 127.0.22.1 alone sends 500 in the second: about 400 go out; 127.0.21.0/24 sends 1,000 between two addresses.
  t.true(ours[1]!.answered - ours[1]!.truncated > ours[0]!.answered - ours[0]!.truncated, 'the lone /24 keeps more of its answers');
});

test.serial('every corpus query, each from its own /24, to NSD with rrl-ratelimit 1, rrl-slip 1: the same class, the same name, the same slipped bytes', async (t) => {
  if (skip(t)) return;
  const corpus = fullCorpus(zoneFiles);
  const variants = [{ edns: false }, { edns: true }];
  const jobs: Array<{ line: string; q: Buffer; src: string }> = [];
  variants.forEach((v, vi) => corpus.forEach((c, i) => {
    const k = vi * corpus.length + i; // a /24 of its own: 127.(100 + k / 256).(k % 256).1
    jobs.push({ line: `${c.line}${v.edns ? ' +edns' : ''}`, q: encodeQuery(c, { edns: v.edns }), src: `127.${100 + (k >> 8)}.${k & 0xff}.1` });
  }));
  if (jobs.length > 150 * 256) throw new Error('too many queries for the source space');
  // Each job: the query three times in a row (the first answer goes out, the second in the
  // same second is limited; three in case the first two straddle a second).
  const slipped: Array<Buffer | null> = new Array(jobs.length).fill(null);
  const answered: boolean[] = new Array(jobs.length).fill(false);
  const deadline = Date.now() + 60_000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && Date.now() < deadline) {
      const j = next++;
      const s = await bindUdp(jobs[j]!.src);
      for (let k = 1; k <= 3 && slipped[j] === null; k++) {
        const q = Buffer.from(jobs[j]!.q);
        q.writeUInt16BE(k, 0);
        const m = await new Promise<Buffer | null>((resolve) => {
          const timer = setTimeout(() => { s.removeAllListeners('message'); resolve(null); }, 300);
          s.on('message', (msg) => {
            if (msg.readUInt16BE(0) !== k) return;
            clearTimeout(timer);
            s.removeAllListeners('message');
            resolve(msg);
          });
          s.send(q, logPort, '127.0.0.1');
        });
        if (m === null) break; // NSD does not answer this query at all
        if (k === 1) answered[j] = true;
        if (k > 1 && m.readUInt16BE(2) & 0x0200) slipped[j] = m;
      }
      s.close();
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  t.true(next >= jobs.length, 'every query sent in time');
  await sleep(300); // NSD's log
  const blocks = new Map(readRrlBlocks(logDir).map((b) => [b.target, b]));

  const r = new DnsResponder(tables);
  const buf = new Uint8Array(4096);
  const classDiff: string[] = [];
  const byteDiff: string[] = [];
  let compared = 0, slipsCompared = 0, edeOnly = 0, questionOnly = 0;
  const classes = new Map<string, number>();
  jobs.forEach((j, i) => {
    if (!answered[i]) return; // NSD drops it (so does the responder: the corpus differential test)
    const block = blocks.get(`${j.src.replace(/\.1$/, '.0')}/24`);
    const q = Buffer.from(j.q);
    q.writeUInt16BE(slipped[i] ? slipped[i]!.readUInt16BE(0) : 2, 0);
    buf.set(q, 0);
    const n = r.answer(buf, 0, q.length, buf.length, TRANSPORT_UDP);
    if (!block) {
      classDiff.push(`${j.line}: NSD logged no block`);
      return;
    }
    compared++;
    classes.set(block.type, (classes.get(block.type) ?? 0) + 1);
    const ours = `${rrlClassName(r.rrlClass)} ${r.rrlName.toString(16)}`;
    const theirs = `${block.type} ${rrlNameHash(block.name).toString(16)}`;
    if (ours !== theirs) classDiff.push(`${j.line}: NSD ${block.type} "${block.name}", appliance ${rrlClassName(r.rrlClass)}`);
    if (slipped[i] && n > 0) {
      slipsCompared++;
      const m = r.slip(buf, 0);
      const mine = Buffer.from(buf.subarray(0, m)).toString('hex');
      if (mine !== slipped[i]!.toString('hex')) {
        const k = withoutKnown(slipped[i]!, q);
        if (mine !== k.msg.toString('hex')) byteDiff.push(`${j.line}: NSD ${slipped[i]!.toString('hex')}, appliance ${mine}`);
        else if (k.ede) edeOnly++;
        else questionOnly++;
      }
    }
  });
  t.log(`${compared} queries classified by both (${[...classes].map(([k, v]) => `${k} ${v}`).join(', ')}); ${classDiff.length} differ`);
  t.log(`${slipsCompared} slipped answers compared byte for byte: ${slipsCompared - edeOnly - questionOnly - byteDiff.length} identical, ` +
    `${edeOnly} but for NSD's EDE option, ${questionOnly} but for the question NSD leaves after QDCOUNT 0, ${byteDiff.length} otherwise different`);
  t.true(compared > 0.95 * jobs.length, `NSD logged a block for ${compared} of ${jobs.length}`);
  t.deepEqual(classDiff.slice(0, 30), []);
  t.deepEqual(byteDiff.slice(0, 30), []);
});
