// Debian's Unbound as a validating resolver inside one of a test topology's namespaces
// (appliance/bench/netns.ts), anchored at the signed fixture zones (test/helpers/signed.ts)
// and sent to the authoritative server under test by stub zones; and the validation cases
// that prove an authoritative server's signed answers validate: validationCases(). Read
// first: RFC 4035 §5 (validation), RFC 5155 §8 (NSEC3 proofs), RFC 8914 (Extended DNS
// Errors), unbound.conf(5).
//
//   server namespace                          client namespace
//   ┌──────────────────────────────┐          ┌──────────────────────────────────┐
//   │ authoritative (NSD, the      │◄─ stub ──│ unbound 198.18.0.2:53            │
//   │ appliance) serving           │  zones   │   trust-anchor: the top zones' DS│
//   │ fixtures.served              │          │   ▲                              │
//   └──────────────────────────────┘          │   │ RD, DO: dns-client.js        │
//                                             └──────────────────────────────────┘
//
// The resolver must never reach beyond the test's addresses: the namespace has no route
// but its veth's /24 and /64 and loopback; every name it is asked is under a stub zone;
// its root hints name a fake root at 198.19.255.254 (no route there, so a stray query
// fails at once); and every address outside 198.18.0.0/15, 2001:db8::/32 and loopback is
// a do-not-query-address. No remote control, no auto-trust-anchor-file, no privileges
// dropped, no chroot: config, log and pid file live in the test's directory.

import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { stopProcess, type Topology } from '../../appliance/bench/netns.js';
import { encodeQuery, exchangeInNamespace, parseCorpusLine } from './dns.js';
import type { SignedFixtures } from './signed.js';
import { nsec3HashText } from './dnssec-diff.js';

/** What startUnbound runs (dig: its readiness probe). */
export const UNBOUND_TOOLS = ['unbound', 'unbound-checkconf', 'dig'];

/** The fake root of the root hints: inside the test range, never routed in a test namespace. */
export const FAKE_ROOT = '198.19.255.254';

/** The only addresses the resolver may send to. */
const ALLOWED: ReadonlyArray<{ family: 4 | 6; net: string; len: number }> = [
  { family: 4, net: '198.18.0.0', len: 15 },
  { family: 4, net: '127.0.0.0', len: 8 },
  { family: 6, net: '2001:db8::', len: 32 },
  { family: 6, net: '::1', len: 128 },
];

const allowed = new net.BlockList();
for (const a of ALLOWED) allowed.addSubnet(a.net, a.len, a.family === 4 ? 'ipv4' : 'ipv6');

/** True for an address the tests may send to (198.18.0.0/15, 2001:db8::/32, loopback). */
export function inTestRange(addr: string): boolean {
  const family = net.isIP(addr);
  return family !== 0 && allowed.check(addr, family === 4 ? 'ipv4' : 'ipv6');
}

export interface UnboundOptions {
  /** Config, root hints, log and pid file go here. */
  dir: string;
  /** The address it listens on, in its namespace. */
  address: string;
  /** Default 53. */
  port?: number;
  /** trust-anchor records (DS or DNSKEY, presentation form). */
  trustAnchors: readonly string[];
  /** Each zone it may ask, and where: ADDR or ADDR@PORT (in the test range). */
  stubs: ReadonlyArray<{ zone: string; addrs: readonly string[] }>;
  /** More lines for the server: clause. */
  extra?: readonly string[];
}

/** The netblocks outside ALLOWED, as CIDR text, for do-not-query-address. */
export function outsideTestRange(): string[] {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const bits = family === 4 ? 32 : 128;
    const nets = ALLOWED.filter((a) => a.family === family).map((a) => ({ net: toBig(a.net, family), len: a.len }));
    const prefix = (v: bigint, len: number): bigint => v >> BigInt(bits - len);
    // Split the space in halves until each half is inside an allowed net (dropped), or
    // holds none of them (listed): at most `bits` levels for each allowed net.
    const walk = (v: bigint, len: number): void => {
      if (nets.some((a) => a.len <= len && prefix(v, a.len) === prefix(a.net, a.len))) return;
      if (!nets.some((a) => a.len > len && prefix(a.net, len) === prefix(v, len))) {
        out.push(`${fromBig(v, family)}/${len}`);
        return;
      }
      walk(v, len + 1);
      walk(v | (1n << BigInt(bits - len - 1)), len + 1);
    };
    walk(0n, 0);
  }
  return out;
}

function toBig(addr: string, family: 4 | 6): bigint {
  if (family === 4) return addr.split('.').reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = addr.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBig(v: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  return Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

function checkAddr(a: string): void {
  const host = /^(.*?)(?:@(\d+))?$/.exec(a)![1]!;
  if (!inTestRange(host)) throw new Error(`unbound: ${a} is outside 198.18.0.0/15, 2001:db8::/32 and loopback`);
}

/** unbound.conf for a validating resolver that only ever asks its stub zones (see the header). */
export function unboundConf(o: UnboundOptions): string {
  checkAddr(o.address);
  for (const s of o.stubs) s.addrs.forEach(checkAddr);
  const q = (v: string): string => {
    if (/["\n]/.test(v)) throw new Error(`unbound.conf cannot hold ${JSON.stringify(v)}`);
    return `"${v}"`;
  };
  return [
    'server:',
    `    interface: ${o.address}@${o.port ?? 53}`,
    `    port: ${o.port ?? 53}`,
    '    do-daemonize: no',
    '    chroot: ""',
    '    username: ""',
    `    directory: ${q(o.dir)}`,
    `    pidfile: ${q(join(o.dir, 'unbound.pid'))}`,
    '    use-syslog: no',
    `    logfile: ${q(join(o.dir, 'unbound.log'))}`,
    '    log-time-ascii: yes',
    '    verbosity: 1',
    // Why an answer was bogus, one line each; and every SERVFAIL with its reason.
    '    val-log-level: 2',
    '    log-servfail: yes',
    '    num-threads: 1',
    '    module-config: "validator iterator"',
    ...ALLOWED.map((a) => `    access-control: ${a.net}/${a.len} allow`),
    `    root-hints: ${q(join(o.dir, 'root.hints'))}`,
    '    do-not-query-localhost: no',
    ...outsideTestRange().map((n) => `    do-not-query-address: ${n}`),
    // Each answer asked of the authoritative server, as the case sends it: no shortcuts
    // from the cache (aggressive NSEC, RFC 8198), no prefetch, no name-server address
    // look-ups beyond the stubs, no key-tag or sentinel queries (RFC 8145, RFC 8509).
    '    qname-minimisation: no',
    '    harden-referral-path: no',
    '    aggressive-nsec: no',
    '    prefetch: no',
    '    prefetch-key: no',
    '    target-fetch-policy: "0 0 0 0 0"',
    '    trust-anchor-signaling: no',
    '    root-key-sentinel: no',
    // 1232 towards the authoritative server (large signed answers come truncated, then
    // over TCP); answers to the test's client whole over UDP.
    '    edns-buffer-size: 1232',
    '    max-udp-size: 4096',
    // Extended DNS Errors (RFC 8914) on SERVFAIL: tells a bogus answer (6) from a server that did not answer.
    '    ede: yes',
    ...o.trustAnchors.map((t) => `    trust-anchor: ${q(t.trim().split(/\s+/).join(' '))}`),
    // Unbound answers the RFC 6761 names (test., invalid., ...) itself, NXDOMAIN, unless
    // a nearer local zone lets the query through to the stubs.
    ...o.stubs.map((s) => `    local-zone: ${q(s.zone)} transparent`),
    ...(o.extra ?? []).map((l) => `    ${l}`),
    'remote-control:',
    '    control-enable: no',
    ...o.stubs.flatMap((s) => ['stub-zone:', `    name: ${q(s.zone)}`, ...s.addrs.map((a) => `    stub-addr: ${a}`)]),
    '',
  ].join('\n');
}

export interface Unbound {
  ns: string;
  address: string;
  port: number;
  proc: ChildProcess;
  conf: string;
  /** Its log file (verbosity 1, validation failures at val-log-level 2). */
  log(): string;
  /** What it printed on stdout and stderr (before its log file was open). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Unbound in namespace `ns` of the topology, started in the foreground; resolves once it
 * answers (a CHAOS query, which it answers itself). Stop it with stop().
 */
export async function startUnbound(topo: Topology, ns: string, o: UnboundOptions): Promise<Unbound> {
  const port = o.port ?? 53;
  const conf = join(o.dir, 'unbound.conf');
  writeFileSync(join(o.dir, 'root.hints'), `.\t3600000\tNS\tfake-root.invalid.\nfake-root.invalid.\t3600000\tA\t${FAKE_ROOT}\n`);
  writeFileSync(conf, unboundConf(o));
  await topo.run(ns, 'unbound-checkconf', [conf]);
  const proc = topo.spawn(ns, 'unbound', ['-d', '-c', conf]);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => { out += c; });
  proc.stderr?.on('data', (c: Buffer) => { out += c; });
  const logFile = join(o.dir, 'unbound.log');
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const u: Unbound = { ns, address: o.address, port, proc, conf, log, output: () => out, stop: () => stopProcess(proc, 3000) };
  try {
    await whileRunning(proc, `unbound in ${ns}`, async () => {
      await topo.run(ns, 'dig', ['+tries=1', '+time=1', '-p', String(port), `@${o.address}`, 'version.server', 'CH', 'TXT'], 5000);
      return true;
    }, 10_000);
  } catch (e) {
    await u.stop();
    throw new Error(`${(e as Error).message}; unbound: ${out}${log()}`, { cause: e });
  }
  return u;
}

/**
 * Resolves once `ready` says true (an exception counts as not yet), as root.ts's untilOk,
 * but fails at once when the process exits meanwhile; throws after timeoutMs.
 */
export async function whileRunning(proc: ChildProcess, what: string, ready: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what}: exited (${proc.exitCode ?? proc.signalCode})`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const RCODES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';

export interface ValidationCase {
  /** The top zone it belongs to (nsec.test., nsec3.test., optout.test., bogus.test.). */
  zone: string;
  /** What it shows, in a few words. */
  what: string;
  qname: string;
  qtype: string;
  expect: {
    rcode: Rcode;
    /** The validator's verdict: AD set (secure) or not (insecure, bogus). */
    ad: boolean;
    /** The answer section's RRsets as 'OWNER TYPE', RRSIGs left out; [] for none. */
    answer: string[];
    /** An Extended DNS Error the answer must carry (RFC 8914 §4: 6, DNSSEC Bogus). */
    ede?: number;
  };
  /** Where NSD 4.6 is known to answer otherwise (its proof is not one), why: unbound-nsd.test.ts reports these cases instead of failing them. */
  nsdWrong?: string;
}

export interface Answer {
  rcode: string;
  ad: boolean;
  tc: boolean;
  /** RRsets of the answer section as 'OWNER TYPE', RRSIGs left out, sorted. */
  answer: string[];
  /** RRSIG records in the answer section. */
  rrsigs: number;
  /** Extended DNS Error codes. */
  ede: number[];
}

export interface CaseResult {
  case: ValidationCase;
  /** null: no answer in time. */
  got: Answer | null;
  ok: boolean;
  problems: string[];
}

export interface Validation {
  results: CaseResult[];
  failed: CaseResult[];
  /** Unbound's log of the run (validation failures are explained there). */
  log: string;
  /** One line a case: zone, what, query, expected, got. */
  table(): string[];
}

/**
 * The cases for signFixtures' zones, per top zone: positive, NXDOMAIN, NODATA, wildcard
 * (expanded and NODATA), empty non-terminal, CNAME chain, dangling CNAME, DNAME, the
 * signed delegation (its DS, and answers from the child through it), the unsigned
 * delegation (its DS proven absent), a large RRset, the DNSKEY RRset; and in bogus.test
 * the tampered RRset (SERVFAIL, EDE 6) beside a good one.
 *
 * Opt-out (RFC 5155 §6, §9.2): where the proof rests on an NSEC3 covering the next closer
 * name and that NSEC3 has the opt-out flag (every one in optout.test does), an unsigned
 * delegation might exist at that name, so the denial is insecure: Unbound answers
 * NXDOMAIN, wildcard expansions and a DS query at an opted-out delegation without AD
 * (val_nsec3.c: "nc has optout"). Names with an NSEC3 of their own (NODATA, the
 * empty non-terminal, the signed delegation) remain secure.
 */
export function validationCaseList(fx: SignedFixtures): ValidationCase[] {
  const out: ValidationCase[] = [];
  for (const zone of fx.zones.filter((z) => z.plan.parent === null && !z.tampered)) {
    const z = zone.origin;
    const optOut = zone.plan.denial.kind === 'nsec3' && zone.plan.denial.optOut;
    const add = (what: string, qname: string, qtype: string, rcode: Rcode, ad: boolean, answer: string[], nsdWrong?: string): void => {
      out.push({ zone: z, what, qname: `${qname}${z}`, qtype, expect: { rcode, ad, answer: answer.map((a) => a.replace('$', z)) }, ...(nsdWrong ? { nsdWrong } : {}) });
    };
    add('positive', 'www.', 'A', 'NOERROR', true, ['www.$ A']);
    if (zone.plan.shape === 'apex-wildcard') {
      // NSEC3 owners are not names for queries (RFC 5155 §7.2.8): the apex wildcard answers them, and names below them.
      const hash = firstNsec3Owner(zone.file).slice(0, -z.length);
      add('apex wildcard', 'nope.', 'A', 'NOERROR', true, ['nope.$ A']);
      add('apex wildcard NODATA', 'nope.', 'MX', 'NOERROR', true, []);
      add('NSEC3 owner name', hash, 'A', 'NOERROR', true, [`${hash}$ A`]);
      add('below an NSEC3 owner', `x.${hash}`, 'A', 'NOERROR', true, [`x.${hash}$ A`], 'NSD takes the NSEC3 owner for the closest encloser: NXDOMAIN, without a proof that it exists');
      const www = `${nsec3HashText(`www.${z}`, Buffer.alloc(0), 0)}.`;
      add('CNAME to an NSEC3 owner', 'tohash.', 'A', 'NOERROR', true, ['tohash.$ CNAME', `${www}$ A`]);
      continue;
    }
    add('NXDOMAIN', 'nope.', 'A', 'NXDOMAIN', !optOut, []);
    add('NODATA', 'www.', 'TXT', 'NOERROR', true, []);
    add('wildcard', 'x.wild.', 'A', 'NOERROR', !optOut, ['x.wild.$ A']);
    add('wildcard NODATA', 'x.wild.', 'MX', 'NOERROR', !optOut, []);
    add('empty non-terminal', 'b.c.', 'A', 'NOERROR', true, []);
    add('CNAME chain', 'chain1.', 'A', 'NOERROR', true, ['chain1.$ CNAME', 'chain2.$ CNAME', 'www.$ A']);
    add('CNAME to a wildcard', 'towild.', 'A', 'NOERROR', !optOut, ['towild.$ CNAME', 'x.wild.$ A']);
    if (z === 'nsec3.test.') add('CNAME to an NSEC3 owner', 'tohash.', 'A', 'NXDOMAIN', true, ['tohash.$ CNAME']);
    add('wildcard CNAME to a wildcard', 'y.wcname.', 'A', 'NOERROR', !optOut, ['y.wcname.$ CNAME', 'x.wild.$ A']);
    add('dangling CNAME', 'dangling.', 'A', 'NXDOMAIN', !optOut, ['dangling.$ CNAME']);
    if (!optOut) add('DNAME', 'www.dname.', 'A', 'NOERROR', true, ['dname.$ DNAME', 'www.dname.$ CNAME', 'www.hosts.$ A']);
    if (!optOut) add('many records', 'many.', 'TXT', 'NOERROR', true, ['many.$ TXT']);
    add('DNSKEY', '', 'DNSKEY', 'NOERROR', true, ['$ DNSKEY']);
    if (fx.zones.some((c) => c.plan.parent === z)) {
      add('signed delegation DS', 'signed.', 'DS', 'NOERROR', true, ['signed.$ DS']);
      add('signed child, positive', 'www.signed.', 'A', 'NOERROR', true, ['www.signed.$ A']);
      add('signed child, NXDOMAIN', 'nope.signed.', 'A', 'NXDOMAIN', true, []);
    }
    if (zone.plan.signer === 'bind') {
      // Empty non-terminals without an NSEC3 (dnssec-signzone -A): proven from the apex, insecure (the next closer name is opted out).
      const why = 'NSD takes the empty non-terminal for the closest encloser and has no NSEC3 to prove it exists';
      add('below an ENT without NSEC3', 'x.ent.', 'A', 'NXDOMAIN', false, [], why);
      add('two below an ENT without NSEC3', 'x.b.deep.', 'A', 'NXDOMAIN', false, [], why);
      add('ENT without NSEC3', 'ent.', 'A', 'NOERROR', false, []);
    }
    if (optOut) {
      for (const d of zone.optedOut) add('opted-out delegation DS', d.slice(0, -z.length), 'DS', 'NOERROR', false, []);
    } else {
      add('unsigned delegation DS', 'unsigned.', 'DS', 'NOERROR', true, []);
    }
  }
  for (const zone of fx.zones.filter((x) => x.tampered)) {
    const t = zone.tampered!;
    out.push({ zone: zone.origin, what: 'tampered RRSIG', qname: t.owner, qtype: t.type, expect: { rcode: 'SERVFAIL', ad: false, answer: [], ede: 6 } });
    out.push({ zone: zone.origin, what: 'untouched RRset beside it', qname: zone.origin, qtype: 'SOA', expect: { rcode: 'NOERROR', ad: true, answer: [`${zone.origin} SOA`] } });
  }
  return out;
}

/** The owner of the first NSEC3 record in a signed zone file (one record a line), lower case. */
function firstNsec3Owner(file: string): string {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(/\s+/);
    if (f[3] === 'NSEC3') return f[0]!.toLowerCase();
  }
  throw new Error(`no NSEC3 record in ${file}`);
}

/** The parts of an answer the cases judge. */
export function readAnswer(m: Buffer): Answer {
  const flags = m.readUInt16BE(2);
  const p = dnsPacket.decode(m);
  const opt = (p.additionals ?? []).find((r) => r.type === 'OPT') as { extendedRcode?: number; options?: Array<{ code: number; data?: Buffer }> } | undefined;
  const sets = new Set<string>();
  let rrsigs = 0;
  for (const r of p.answers ?? []) {
    if (r.type === 'RRSIG') rrsigs++;
    else sets.add(`${r.name.toLowerCase().replace(/\.?$/, '.')} ${r.type}`);
  }
  return {
    rcode: RCODES[((opt?.extendedRcode ?? 0) << 4) | (flags & 0xf)] ?? `RCODE${flags & 0xf}`,
    ad: (flags & 0x0020) !== 0,
    tc: (flags & 0x0200) !== 0,
    answer: [...sets].sort(),
    rrsigs,
    // RFC 8914 §2: option 15, INFO-CODE in its first two octets.
    ede: (opt?.options ?? []).filter((o) => o.code === 15 && o.data && o.data.length >= 2).map((o) => o.data!.readUInt16BE(0)),
  };
}

function judge(c: ValidationCase, got: Answer | null): CaseResult {
  const problems: string[] = [];
  if (!got) problems.push('no answer');
  else {
    if (got.rcode !== c.expect.rcode) problems.push(`rcode ${got.rcode}, expected ${c.expect.rcode}`);
    if (got.ad !== c.expect.ad) problems.push(`AD ${got.ad ? 1 : 0}, expected ${c.expect.ad ? 1 : 0}`);
    if (got.tc) problems.push('TC');
    const want = [...c.expect.answer].sort();
    if (want.join(',') !== got.answer.join(',')) problems.push(`answer [${got.answer.join(', ')}], expected [${want.join(', ')}]`);
    if (c.expect.ad && want.length > 0 && got.rrsigs === 0) problems.push('a secure answer without its RRSIGs');
    if (c.expect.ede !== undefined && !got.ede.includes(c.expect.ede)) problems.push(`EDE [${got.ede.join(', ')}], expected ${c.expect.ede}`);
  }
  return { case: c, got, ok: problems.length === 0, problems };
}

export interface ValidationOptions {
  topo: Topology;
  /** For Unbound's files and the client's; a directory of its own. */
  dir: string;
  fixtures: SignedFixtures;
  /** Where the authoritative server serves every zone of fixtures.served: ADDR or ADDR@PORT each. */
  authoritative: readonly string[];
  /** The namespace and address Unbound runs on: default the topology's client side. */
  ns?: string;
  address?: string;
}

/**
 * Unbound started with a stub zone for every zone of the fixtures pointing at the
 * authoritative server, asked every case of validationCaseList (RD, EDNS with DO; the
 * tampered zone's last, in a second round, so that a bogus answer's retries cannot slow
 * the others), then stopped. The result says, per case, what came back and what is wrong with it.
 */
export async function validationCases(o: ValidationOptions): Promise<Validation> {
  const ns = o.ns ?? o.topo.client.ns;
  const address = o.address ?? o.topo.client.ipv4;
  const unbound = await startUnbound(o.topo, ns, {
    dir: o.dir, address, trustAnchors: o.fixtures.trustAnchors,
    stubs: o.fixtures.zones.map((z) => ({ zone: z.origin, addrs: o.authoritative })),
  });
  const results: CaseResult[] = [];
  try {
    const cases = validationCaseList(o.fixtures);
    const bogus = new Set(o.fixtures.zones.filter((z) => z.tampered).map((z) => z.origin));
    for (const round of [cases.filter((c) => !bogus.has(c.zone)), cases.filter((c) => bogus.has(c.zone))]) {
      const queries = round.map((c) => encodeQuery(parseCorpusLine(`${c.qname} ${c.qtype}`)!, { edns: true, dnssecOk: true, udpSize: 4096 }));
      const answers = await exchangeInNamespace(o.topo, ns, o.dir, address, queries, unbound.port);
      round.forEach((c, i) => results.push(judge(c, answers[i] ? readAnswer(answers[i]!) : null)));
    }
  } finally {
    await unbound.stop();
  }
  return {
    results,
    failed: results.filter((r) => !r.ok),
    log: unbound.log(),
    table: () => results.map((r) => {
      const e = r.case.expect;
      const g = r.got;
      const verdict = (rcode: string, ad: boolean, ede: number[] = []): string => `${rcode}${ad ? ' AD' : ''}${ede.length ? ` EDE ${ede.join(',')}` : ''}`;
      return `${r.ok ? 'ok  ' : 'FAIL'} ${r.case.zone.padEnd(12)} ${r.case.what.padEnd(26)} ${`${r.case.qname} ${r.case.qtype}`.padEnd(36)} ` +
        `${verdict(e.rcode, e.ad, e.ede === undefined ? [] : [e.ede]).padEnd(16)} ${g ? verdict(g.rcode, g.ad, g.ede) : 'no answer'}${r.ok ? '' : `  (${r.problems.join('; ')})`}`;
    }),
  };
}
