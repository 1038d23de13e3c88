// DNSSEC-signed zones for the validation tests, made at test time from the unsigned
// sources in fixtures/zones/dnssec/ (signatures expire, so signed files are never kept in
// git). Read first: RFC 4033–4035 (DNSSEC), RFC 5155 (NSEC3 and opt-out), RFC 9276 (NSEC3
// parameters), and ldns-keygen(1), ldns-signzone(1), ldns-key2ds(1).
//
//   fixtures/zones/dnssec/signed.nsec.test.zone ─ sign ─► DIR/signed.nsec.test.signed
//                                                             │ ldns-key2ds: DS of its KSK
//   fixtures/zones/dnssec/nsec.test.zone + that DS ──► DIR/src/nsec.test.zone ─ sign ─► DIR/nsec.test.signed
//                                                             │ ldns-key2ds: DS of its KSK
//                                                             ▼
//                                                     trustAnchors (a validator's)
//
// Each zone gets a KSK (flags 257) and a ZSK (256), generated per run in DIR/keys with
// ldns-keygen: ECDSAP256SHA256, but RSASHA256 of 2048 bits for nsec3.test, whose answers
// are then too large for small EDNS buffers. ldns-signzone signs the DNSKEY RRset with the
// KSK and every other RRset with the ZSK; signatures are valid from an hour before `now`
// to 30 days after it. Children are signed before their parents, so that a parent's
// source gets its child's DS before the parent is signed.
//
// Opt-out (RFC 5155 §6): ldns-signzone -p sets the flag on every NSEC3 but still gives
// each unsigned delegation an NSEC3 of its own, through which a validator proves its DS
// absent securely, as without opt-out. To have the delegations really opted out, their
// records (the NS RRset and everything below it, the glue) are held back from the signer
// and added to the signed file afterwards, unsigned as delegation records always are: the
// chain then skips them, and an opt-out NSEC3 covers each one's name.
//
// bind.test is signed by BIND's dnssec-signzone instead (signer 'bind', with the same
// ldns-made keys), with opt-out as BIND makes it (-3 - -A): no NSEC3 for the unsigned
// delegations, nor for the empty non-terminals that have only such delegations below
// them. Knot's signer does the same. Names below such an empty non-terminal are proven
// absent from the closest ancestor that has an NSEC3 (RFC 5155 §7.2.1's closest provable
// encloser), which NSD 4.6 does not do (it takes the empty non-terminal as the closest
// encloser and has no NSEC3 to prove it exists).

import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './fixtures.js';

const execFileP = promisify(execFile);

/** The unsigned sources. */
export const DNSSEC_SOURCES = join(ROOT, 'fixtures', 'zones', 'dnssec');
/** What signFixtures runs. */
export const SIGN_TOOLS = ['ldns-keygen', 'ldns-signzone', 'ldns-key2ds', 'ldns-read-zone', 'dnssec-signzone'];
/** What checkSigned runs. */
export const CHECK_TOOLS = ['ldns-verify-zone', 'nsd-checkzone'];

export type Denial =
  | { kind: 'nsec' }
  /** `salt` in hex, '' for none (RFC 9276 §3.1: none, and 0 extra iterations). */
  | { kind: 'nsec3'; salt: string; iterations: number; optOut: boolean };

export type Algorithm = 'ECDSAP256SHA256' | 'RSASHA256';

/** Which zones' validation cases (test/helpers/unbound.ts) a zone gets: nsec.test.zone's shape, or a wildcard at the apex. */
export type Shape = 'full' | 'apex-wildcard';

/** How one zone of fixtures/zones/dnssec is signed. */
export interface ZonePlan {
  origin: string;
  /** The zone its DS goes into; null: a top zone, whose DS is a trust anchor. */
  parent: string | null;
  denial: Denial;
  algorithm: Algorithm;
  /** RSA only: key length. */
  bits?: number;
  /** Who signs it: ldns-signzone (default) or BIND's dnssec-signzone. */
  signer?: 'ldns' | 'bind';
  /** Default 'full'. */
  shape?: Shape;
  /** Serve a copy of the signed zone with this RRset's signature broken (tamper()). */
  tamper?: { owner: string; type: string };
}

const NSEC: Denial = { kind: 'nsec' };
const NSEC3_NO_SALT: Denial = { kind: 'nsec3', salt: '', iterations: 0, optOut: false };
const NSEC3_SALTED: Denial = { kind: 'nsec3', salt: 'c0ffee01', iterations: 5, optOut: false };

/** Every zone of fixtures/zones/dnssec; each file there is ORIGINzone. */
export const DNSSEC_ZONES: readonly ZonePlan[] = [
  { origin: 'nsec.test.', parent: null, denial: NSEC, algorithm: 'ECDSAP256SHA256' },
  { origin: 'signed.nsec.test.', parent: 'nsec.test.', denial: NSEC, algorithm: 'ECDSAP256SHA256' },
  { origin: 'nsec3.test.', parent: null, denial: NSEC3_NO_SALT, algorithm: 'RSASHA256', bits: 2048 },
  { origin: 'signed.nsec3.test.', parent: 'nsec3.test.', denial: NSEC3_NO_SALT, algorithm: 'ECDSAP256SHA256' },
  { origin: 'optout.test.', parent: null, denial: { ...NSEC3_SALTED, optOut: true }, algorithm: 'ECDSAP256SHA256' },
  { origin: 'signed.optout.test.', parent: 'optout.test.', denial: NSEC3_SALTED, algorithm: 'ECDSAP256SHA256' },
  { origin: 'bind.test.', parent: null, denial: { ...NSEC3_NO_SALT, optOut: true }, algorithm: 'ECDSAP256SHA256', signer: 'bind' },
  { origin: 'apexwild.test.', parent: null, denial: NSEC3_NO_SALT, algorithm: 'ECDSAP256SHA256', shape: 'apex-wildcard' },
  { origin: 'bogus.test.', parent: null, denial: NSEC, algorithm: 'ECDSAP256SHA256', tamper: { owner: 'www.bogus.test.', type: 'A' } },
];

export interface SignedZone {
  origin: string;
  plan: ZonePlan;
  /** The signed zone file. */
  file: string;
  /** What an authoritative server loads for the validation tests: `file`, or its tampered copy. */
  serve: string;
  /** The tampering, when `serve` is a tampered copy. */
  tampered: Tampered | null;
  /** The unsigned zone (the source, with the children's DS added). */
  source: string;
  /** The unsigned delegations left out of the NSEC3 chain (opt-out zones), e.g. 'unsigned1.optout.test.'. */
  optedOut: string[];
  /** Key files' base names (DIR/keys/ksk/K<origin>+<alg>+<tag>, keys/zsk/..., without .key or .private). */
  ksk: string;
  zsk: string;
  /** The DS (SHA-256) of the KSK: in the parent's zone, or a trust anchor for a top zone. */
  ds: string[];
}

export interface SignedFixtures {
  dir: string;
  /** Children before parents. */
  zones: SignedZone[];
  /** The DS records of the top zones (parent null), one per line, for a validator's trust-anchor. */
  trustAnchors: string[];
  /** Every zone as an authoritative server should load it: origin and file (`serve`). */
  served: Array<{ origin: string; file: string }>;
  /** The zone of an origin (throws when there is none). */
  zone(origin: string): SignedZone;
}

export interface SignOptions {
  /** Milliseconds since the epoch that the signatures' validity is centred on; default now. */
  now?: number;
  /** Days the signatures stay valid after `now`; default 30. */
  validDays?: number;
  /** The zones to sign; default DNSSEC_ZONES (a parent needs its children listed too). */
  zones?: readonly ZonePlan[];
  /** Where the unsigned ORIGINzone files are; default fixtures/zones/dnssec. */
  sources?: string;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { cwd, timeout: 60_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const x = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(x.stderr || x.stdout || x.message).trim()}`, { cause: e });
  }
}

/** A key in DIR/keys/ksk or DIR/keys/zsk: apart, since a KSK and a ZSK of one zone may share a key tag, and so a file name. */
async function keygen(keys: string, plan: ZonePlan, ksk: boolean): Promise<string> {
  const args = ['-a', plan.algorithm, ...(plan.bits ? ['-b', String(plan.bits)] : []), ...(ksk ? ['-k'] : []), plan.origin];
  const cwd = join(keys, ksk ? 'ksk' : 'zsk');
  const base = (await run('ldns-keygen', args, cwd)).trim();
  if (!/^K\S+\+\d{3}\+\d{5}$/.test(base)) throw new Error(`ldns-keygen ${args.join(' ')} printed ${JSON.stringify(base)}, not a key's base name`);
  return join(cwd, base);
}

/** The DS (SHA-256) of every SEP key (the KSK) in a signed zone file. */
async function dsOf(signedFile: string): Promise<string[]> {
  const out = await run('ldns-key2ds', ['-n', '-2', signedFile]);
  const ds = out.split('\n').map((l) => l.trim()).filter((l) => /\sDS\s/.test(l));
  if (ds.length === 0) throw new Error(`ldns-key2ds found no KSK in ${signedFile}`);
  return ds;
}

function signArgs(plan: ZonePlan, source: string, out: string, inception: number, expiration: number, keys: string[]): string[] {
  const d = plan.denial;
  const nsec3 = d.kind === 'nsec3'
    // -a 1: SHA-1, the only NSEC3 hash (RFC 5155 §11); -p: the opt-out flag on every NSEC3.
    ? ['-n', '-a', '1', '-t', String(d.iterations), ...(d.salt ? ['-s', d.salt] : []), ...(d.optOut ? ['-p'] : [])]
    : [];
  return [...nsec3, '-i', String(inception), '-e', String(expiration), '-o', plan.origin, '-f', out, source, ...keys];
}

/** dnssec-signzone's: -O full (one record a line, names absolute), -A with opt-out (no NSEC3 for insecure delegations and the empty non-terminals above only them). */
function bindArgs(plan: ZonePlan, source: string, out: string, inception: number, expiration: number, keys: string[]): string[] {
  const d = plan.denial;
  const nsec3 = d.kind === 'nsec3' ? ['-3', d.salt || '-', '-H', String(d.iterations), ...(d.optOut ? ['-A'] : [])] : [];
  // -P: no check of the result (it fails on signatures made to be expired, for the build's expiry warnings).
  return ['-q', '-P', '-O', 'full', ...nsec3, '-s', String(inception), '-e', String(expiration), '-o', plan.origin, '-f', out, source, ...keys];
}

/**
 * Keys generated, every zone signed (children first, each parent with its children's DS
 * added), the tampered copies made. Takes well under a second for ECDSA keys; each RSA
 * key of 2048 bits costs some 0.1–1 s more.
 */
export async function signFixtures(dir: string, opts: SignOptions = {}): Promise<SignedFixtures> {
  const plans = opts.zones ?? DNSSEC_ZONES;
  const sources = opts.sources ?? DNSSEC_SOURCES;
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const inception = now - 3600;
  const expiration = now + (opts.validDays ?? 30) * 86_400;
  const keys = join(dir, 'keys');
  const src = join(dir, 'src');
  mkdirSync(join(keys, 'ksk'), { recursive: true });
  mkdirSync(join(keys, 'zsk'), { recursive: true });
  mkdirSync(src, { recursive: true });
  for (const p of plans) {
    if (p.parent !== null && !plans.some((q) => q.origin === p.parent)) throw new Error(`${p.origin}: its parent ${p.parent} is not among the zones to sign`);
  }

  const pairs = await Promise.all(plans.map(async (p) => ({ ksk: await keygen(keys, p, true), zsk: await keygen(keys, p, false) })));
  const done = new Map<string, SignedZone>();
  // Deepest first: a zone is signed once every zone below it is.
  const order = plans.map((p, i) => ({ p, i })).sort((a, b) => labels(b.p.origin) - labels(a.p.origin));
  for (const depth of [...new Set(order.map((o) => labels(o.p.origin)))]) {
    await Promise.all(order.filter((o) => labels(o.p.origin) === depth).map(async ({ p, i }) => {
      const source = join(src, `${p.origin}zone`);
      copyFileSync(join(sources, `${p.origin}zone`), source);
      const children = [...done.values()].filter((z) => z.plan.parent === p.origin);
      if (children.length) {
        appendFileSync(source, ['', '; The DS of each signed child, added by test/helpers/signed.ts before signing', ...children.flatMap((c) => c.ds), ''].join('\n'));
      }
      const file = join(dir, `${p.origin}signed`);
      const { ksk, zsk } = pairs[i]!;
      let toSign = source;
      let held: Held = { records: [], delegations: [] };
      if (p.signer === 'bind') {
        // The delegations dnssec-signzone -A leaves out of the chain, for the cases; nothing held back.
        if (p.denial.kind === 'nsec3' && p.denial.optOut) held.delegations = holdInsecureDelegations(await run('ldns-read-zone', [source]), p.origin).delegations;
        // It signs with the keys given only when their DNSKEY records are in the zone (ldns-signzone adds them).
        toSign = join(src, `${p.origin}bind`);
        writeFileSync(toSign, [readFileSync(source, 'utf8'), ...[ksk, zsk].map((k) => readFileSync(`${k}.key`, 'utf8'))].join('\n'));
        await run('dnssec-signzone', bindArgs(p, toSign, file, inception, expiration, [ksk, zsk]), src);
      } else {
        if (p.denial.kind === 'nsec3' && p.denial.optOut) {
          held = holdInsecureDelegations(await run('ldns-read-zone', [source]), p.origin);
          toSign = join(src, `${p.origin}opt-out`);
          writeFileSync(toSign, held.kept!);
        }
        await run('ldns-signzone', signArgs(p, toSign, file, inception, expiration, [ksk, zsk]));
      }
      if (held.records.length) {
        appendFileSync(file, ['; The opted-out delegations (not in the NSEC3 chain), added by test/helpers/signed.ts after signing', ...held.records, ''].join('\n'));
      }
      const tampered = p.tamper ? tamper(file, p.tamper) : null;
      done.set(p.origin, {
        origin: p.origin, plan: p, file, serve: tampered?.file ?? file, tampered, source, optedOut: held.delegations, ksk, zsk, ds: await dsOf(file),
      });
    }));
  }
  const zones = order.map((o) => done.get(o.p.origin)!);
  return {
    dir,
    zones,
    trustAnchors: zones.filter((z) => z.plan.parent === null).flatMap((z) => z.ds),
    served: zones.map((z) => ({ origin: z.origin, file: z.serve })),
    zone: (origin) => {
      const z = done.get(origin.endsWith('.') ? origin : `${origin}.`);
      if (!z) throw new Error(`no signed zone ${origin}`);
      return z;
    },
  };
}

function labels(origin: string): number {
  return origin.split('.').filter(Boolean).length;
}

interface Held {
  /** The zone without them, one record a line. */
  kept?: string;
  /** The records held back. */
  records: string[];
  /** The delegations they belong to. */
  delegations: string[];
}

/**
 * Splits a zone as ldns-read-zone prints it (one record a line, names absolute) into the
 * records of its insecure delegations (an NS RRset below the apex with no DS beside it,
 * and every record at or below that name) and the rest.
 */
function holdInsecureDelegations(text: string, origin: string): Held {
  const apex = origin.toLowerCase();
  const rows = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';')).map((l) => ({ line: l, f: l.split(/\s+/) }));
  const owner = (r: { f: string[] }): string => r.f[0]!.toLowerCase();
  const cuts = new Set(rows.filter((r) => r.f[3] === 'NS' && owner(r) !== apex).map(owner));
  for (const r of rows) if (r.f[3] === 'DS') cuts.delete(owner(r));
  const delegations = [...cuts].sort();
  const under = (name: string): boolean => delegations.some((d) => name === d || name.endsWith(`.${d}`));
  return {
    kept: rows.filter((r) => !under(owner(r))).map((r) => r.line).join('\n') + '\n',
    records: rows.filter((r) => under(owner(r))).map((r) => r.line),
    delegations,
  };
}

export interface Tampered {
  /** The copy, with one signature broken. */
  file: string;
  /** The signed file it was copied from. */
  from: string;
  owner: string;
  /** The type the broken RRSIG covers. */
  type: string;
}

/**
 * A copy of a signed zone file (as ldns-signzone writes it: one record a line, an RRSIG's
 * signature one base64 field at the end) in which the RRSIG over `owner` `type` has one
 * byte of its signature inverted: any validator must then find that RRset bogus
 * (RFC 4035 §5.3.3), and nothing else. `out` defaults to FILE with .signed replaced by .tampered.
 */
export function tamper(file: string, what: { owner: string; type: string; out?: string }): Tampered {
  const owner = what.owner.toLowerCase().replace(/\.?$/, '.');
  const type = what.type.toUpperCase();
  const lines = readFileSync(file, 'utf8').split('\n');
  let hit = -1;
  for (let i = 0; i < lines.length && hit < 0; i++) {
    // owner TTL CLASS RRSIG covered algorithm labels original-TTL expiration inception key-tag signer signature
    const f = lines[i]!.split(/\s+/);
    if (f.length >= 13 && f[3] === 'RRSIG' && f[0]!.toLowerCase() === owner && f[4]!.toUpperCase() === type) hit = i;
  }
  if (hit < 0) throw new Error(`tamper: no RRSIG over ${owner} ${type} in ${file}`);
  const f = lines[hit]!.split(/\s+/);
  const sig = Buffer.from(f.slice(12).join(''), 'base64');
  sig[sig.length >> 1] ^= 0xff;
  lines[hit] = [...f.slice(0, 12), sig.toString('base64')].join('\t');
  const out = what.out ?? file.replace(/(\.signed)?$/, '.tampered');
  writeFileSync(out, lines.join('\n'));
  return { file: out, from: file, owner, type };
}

/**
 * What ldns-verify-zone (every signature, the NSEC or NSEC3 chain) and nsd-checkzone say
 * against a signed file: '' when both accept it, else their complaints.
 */
export async function checkSigned(origin: string, file: string): Promise<string> {
  const problems: string[] = [];
  // -V 1: errors only. Never -S (it would go to the network to chase keys).
  await run('ldns-verify-zone', ['-V', '1', file]).catch((e: Error) => problems.push(e.message));
  await run('nsd-checkzone', [origin, file]).catch((e: Error) => problems.push(e.message));
  return problems.join('\n');
}
