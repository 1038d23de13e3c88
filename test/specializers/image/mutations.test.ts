// A battery of damaged images, every one refused with an APPL_ERR_IMAGE_* code and never
// anything else (no raw exception, no hang): through loadImage and what serve and inspect
// build on it (the HTTP and DNS tables, inspect's description), fast; then a few through
// `appliance inspect` and `appliance serve` from the command line, which must print the
// coded error on stderr and exit 1. An image with a site and zones, so that every
// section id is present.
//
//   - every single-bit flip of every header byte (96 × 8);
//   - every single-bit flip of every section-table byte, with the content hash as it was
//     (the hash covers the table) and with the hash recomputed (a hand-made image: the
//     table's own checks must refuse it: ids, flags, reserved words, offsets, lengths);
//   - truncations at many lengths, trailing bytes;
//   - random bytes over the whole of each section, hash recomputed (the tables' index
//     checks, META's shape); random 16-byte windows may be harmless, but never throw
//     anything else.
//   - not a file: a directory, a FIFO, /dev/zero, a device node: APPL_ERR_IMAGE_OPEN.

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImage, HEADER_LEN, SECTION_ENTRY_LEN, SECTION_NAMES } from '../../../specializers/image/format.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { HttpTables } from '../../../appliance/http/tables.js';
import { describeImage } from '../../../appliance/commands/inspect.js';
import { buildTestImage, CLI, FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';

const tmp = tempDir('mutate');
test.after.always(tmp.cleanup);
const basePath = join(tmp.dir, 'base.apl');
const probe = join(tmp.dir, 'probe.apl');
let base: Buffer;

interface Section { id: number; offset: number; length: number }
let sections: Section[] = [];
let tableOff = 0;

test.before(async () => {
  const zones = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).map((f) => ({ origin: null, file: join(FIXTURE_ZONES, f) }));
  await buildTestImage(basePath, [{ host: null, dir: join(FIXTURE_SITE, 'docs') }, { host: 'b.example', dir: join(FIXTURE_SITE, 'img') }], zones, 1);
  base = readFileSync(basePath);
  tableOff = Number(base.readBigUInt64LE(24));
  const count = base.readUInt32LE(32);
  sections = Array.from({ length: count }, (_, k) => {
    const o = tableOff + k * SECTION_ENTRY_LEN;
    return { id: base.readUInt32LE(o), offset: Number(base.readBigUInt64LE(o + 8)), length: Number(base.readBigUInt64LE(o + 16)) };
  });
});

/** What the server and inspect do with an image file: the code it is refused with, 'accepted', or 'RAW: ...'. */
function judgeFile(path: string): string {
  try {
    const img = loadImage(path);
    new HttpTables(img);
    new DnsTables(img);
    describeImage(img, true);
    return 'accepted';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('APPL_ERR_IMAGE_')) return code;
    return `RAW: ${(e as Error).stack ?? String(e)}`;
  }
}

function judge(bytes: Uint8Array): string {
  writeFileSync(probe, bytes);
  return judgeFile(probe);
}

function rehash(b: Buffer): Buffer {
  createHash('sha256').update(b.subarray(HEADER_LEN)).digest().copy(b, 40);
  return b;
}

/** Runs a battery: every mutation must be refused with an image code; returns the count per code. */
function battery(t: import('ava').ExecutionContext, mutations: Iterable<[string, Buffer]>, mustRefuse = true): Record<string, number> {
  const codes: Record<string, number> = {};
  const bad: string[] = [];
  for (const [what, bytes] of mutations) {
    const r = judge(bytes);
    const key = r.startsWith('RAW') ? 'RAW' : r;
    codes[key] = (codes[key] ?? 0) + 1;
    if (r.startsWith('RAW') || (mustRefuse && r === 'accepted')) bad.push(`${what}: ${r.slice(0, 400)}`);
  }
  t.deepEqual(bad.slice(0, 20), [], `${bad.length} mutations not refused with an image code`);
  return codes;
}

test('the undamaged image is accepted (the battery judges the same way serve and inspect do)', (t) => {
  t.is(judge(base), 'accepted');
  t.true(sections.length >= 14, 'every section id is present');
});

test('every single-bit flip of every header byte is refused with an APPL_ERR_IMAGE_* code', (t) => {
  function* flips(): Generator<[string, Buffer]> {
    for (let i = 0; i < HEADER_LEN; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = Buffer.from(base);
        b[i]! ^= 1 << bit;
        yield [`header byte ${i} bit ${bit}`, b];
      }
    }
  }
  const codes = battery(t, flips());
  t.log(JSON.stringify(codes));
  t.is(Object.values(codes).reduce((a, b) => a + b, 0), HEADER_LEN * 8);
  for (const c of ['APPL_ERR_IMAGE_MAGIC', 'APPL_ERR_IMAGE_VERSION', 'APPL_ERR_IMAGE_CORRUPT', 'APPL_ERR_IMAGE_CHECKSUM']) t.true((codes[c] ?? 0) > 0, c);
});

test('the flags and reserved header bytes must be zero: named in the message', (t) => {
  const f = Buffer.from(base);
  f[36] = 1;
  writeFileSync(probe, f);
  t.throws(() => loadImage(probe), { code: 'APPL_ERR_IMAGE_CORRUPT', message: /unknown header flags 0x1/ } as never);
  const r = Buffer.from(base);
  r[95] = 0x80;
  writeFileSync(probe, r);
  t.throws(() => loadImage(probe), { code: 'APPL_ERR_IMAGE_CORRUPT', message: /reserved header byte 95 is not zero/ } as never);
});

function* tableFlips(recompute: boolean): Generator<[string, Buffer]> {
  for (let i = tableOff; i < base.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const b = Buffer.from(base);
      b[i]! ^= 1 << bit;
      if (recompute) rehash(b);
      const k = i - tableOff;
      const s = sections[Math.floor(k / SECTION_ENTRY_LEN)]!;
      yield [`${SECTION_NAMES[s.id]} entry byte ${k % SECTION_ENTRY_LEN} bit ${bit}${recompute ? ' (hash recomputed)' : ''}`, b];
    }
  }
}

test('every single-bit flip of the section table is refused by the hash', (t) => {
  const withHash = battery(t, tableFlips(false));
  t.deepEqual(Object.keys(withHash), ['APPL_ERR_IMAGE_CHECKSUM']);
});

test('with the hash recomputed (a hand-made image), the table checks refuse every flip but one harmless kind', (t) => {
  // The one kind accepted: the BLOB's length grown into the zero padding after it (a low
  // bit of its length set). No byte served changes: the BLOB is only read at the offsets
  // the tables give, and the loader's checks hold. Every other flip is refused.
  const blob = sections.find((s) => s.id === 2)!;
  const room = (8 - ((blob.offset + blob.length) % 8)) % 8;
  const harmless = new Set<string>();
  for (let bit = 0; bit < 3; bit++) {
    if ((blob.length & (1 << bit)) === 0 && 1 << bit <= room) harmless.add(`BLOB entry byte 16 bit ${bit} (hash recomputed)`);
  }
  const bad: string[] = [];
  let refused = 0;
  for (const [what, bytes] of tableFlips(true)) {
    const r = judge(bytes);
    if (r === 'APPL_ERR_IMAGE_CORRUPT') refused++;
    else if (!(r === 'accepted' && harmless.has(what))) bad.push(`${what}: ${r.slice(0, 300)}`);
  }
  t.deepEqual(bad.slice(0, 20), []);
  t.is(refused, (base.length - tableOff) * 8 - harmless.size);
  t.log(`${refused} refused, ${harmless.size} harmless (the BLOB grown into its padding)`);
});

test('section table entries: unknown ids, flags, reserved words, overlaps are named (hash recomputed)', (t) => {
  const entry = (k: number): number => tableOff + k * SECTION_ENTRY_LEN;
  const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
    ['unknown id', (b) => b.writeUInt32LE(99, entry(0)), /unknown section id 99/],
    ['flags', (b) => b.writeUInt32LE(4, entry(1) + 4), /unknown flags/],
    ['reserved', (b) => b.writeUInt32LE(1, entry(2) + 28), /reserved word is not zero/],
    ['overlap', (b) => b.writeBigUInt64LE(BigInt(sections[3]!.offset - 8), entry(3) + 8), /overlaps|a gap|padding/],
    ['duplicate', (b) => b.writeUInt32LE(sections[0]!.id, entry(1)), /appears twice/],
  ];
  for (const [what, mutate, why] of cases) {
    const b = Buffer.from(base);
    mutate(b);
    writeFileSync(probe, rehash(b));
    t.throws(() => loadImage(probe), { code: 'APPL_ERR_IMAGE_CORRUPT', message: why } as never, what);
  }
});

test('truncations at many lengths and trailing bytes are refused', (t) => {
  function* cuts(): Generator<[string, Buffer]> {
    const lengths = new Set<number>([0, 1, 7, 8, 9, 95, 96, 97, base.length - 1, base.length - SECTION_ENTRY_LEN, tableOff, tableOff - 1]);
    for (let n = 0; n < 200; n++) lengths.add(n);
    for (let k = 1; k < 300; k++) lengths.add(Math.floor((base.length * k) / 300));
    for (const n of lengths) if (n < base.length) yield [`cut to ${n} bytes`, base.subarray(0, n)];
    for (const extra of [1, 3, 7, 8, 32, 4096]) {
      yield [`${extra} zero bytes after`, Buffer.concat([base, Buffer.alloc(extra)])];
      yield [`${extra} bytes of 0xff after`, Buffer.concat([base, Buffer.alloc(extra, 0xff)])];
    }
  }
  const codes = battery(t, cuts());
  t.log(JSON.stringify(codes));
});

/** A small seeded generator (deterministic batteries). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 24;
  };
}

test('random bytes over each whole section (hash recomputed) are refused by the index checks; random windows never throw anything else', (t) => {
  const rnd = prng(7);
  function* whole(): Generator<[string, Buffer]> {
    for (const s of sections) {
      for (let k = 0; k < 8; k++) {
        const b = Buffer.from(base);
        for (let i = 0; i < s.length; i++) b[s.offset + i] = rnd();
        yield [`${SECTION_NAMES[s.id]} all random (${k})`, rehash(b)];
      }
    }
  }
  battery(t, whole());
  function* windows(): Generator<[string, Buffer]> {
    for (const s of sections) {
      for (let k = 0; k < 40; k++) {
        const b = Buffer.from(base);
        const at = s.offset + (s.length > 16 ? ((rnd() << 16) | (rnd() << 8) | rnd()) % (s.length - 16) : 0);
        for (let i = 0; i < Math.min(16, s.length); i++) b[at + i] = rnd();
        yield [`${SECTION_NAMES[s.id]} 16 random bytes at ${at}`, rehash(b)];
      }
    }
  }
  const codes = battery(t, windows(), false);
  t.log(JSON.stringify(codes));
});

test('not a regular file (a directory, a FIFO, /dev/zero, a device node): APPL_ERR_IMAGE_OPEN, never read', (t) => {
  const dir = join(tmp.dir, 'adir');
  mkdirSync(dir);
  const fifo = join(tmp.dir, 'afifo');
  t.is(spawnSync('mkfifo', [fifo]).status, 0);
  const nodes = [dir, fifo, '/dev/zero'];
  if (process.getuid?.() === 0) {
    const dev = join(tmp.dir, 'zero-like');
    if (spawnSync('mknod', [dev, 'c', '1', '5']).status === 0) nodes.push(dev);
  } else {
    t.log('not root: the mknod device node is left out (/dev/zero stands for it)');
  }
  for (const p of nodes) t.is(judgeFile(p), 'APPL_ERR_IMAGE_OPEN', p);
  t.throws(() => loadImage(fifo), { message: /not a regular file: a FIFO/ } as never);
});

// ───────────── through the command line ─────────────

function mutated(name: string, f: (b: Buffer) => Buffer): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, f(Buffer.from(base)));
  return p;
}

function cliCases(): Array<[string, string, RegExp]> {
  const fifo = join(tmp.dir, 'cli.fifo');
  spawnSync('mkfifo', [fifo]);
  const dir = join(tmp.dir, 'cli-dir');
  mkdirSync(dir, { recursive: true });
  return [
    [mutated('flags.apl', (b) => { b[37] = 0x10; return b; }), 'APPL_ERR_IMAGE_CORRUPT', /unknown header flags/],
    [mutated('reserved.apl', (b) => { b[80] = 1; return b; }), 'APPL_ERR_IMAGE_CORRUPT', /reserved header byte 80/],
    [mutated('hash.apl', (b) => { b[HEADER_LEN + 100]! ^= 1; return b; }), 'APPL_ERR_IMAGE_CHECKSUM', /content hash mismatch/],
    [mutated('cut.apl', (b) => b.subarray(0, 500)), 'APPL_ERR_IMAGE_TRUNCATED', /truncated/],
    [mutated('garbage.apl', (b) => { b.fill(0x5a, sections[4]!.offset, sections[4]!.offset + sections[4]!.length); return rehash(b); }), 'APPL_ERR_IMAGE_CORRUPT', /tables|section/],
    [dir, 'APPL_ERR_IMAGE_OPEN', /not a regular file: a directory/],
    [fifo, 'APPL_ERR_IMAGE_OPEN', /not a regular file: a FIFO/],
    ['/dev/zero', 'APPL_ERR_IMAGE_OPEN', /not a regular file: a character device/],
  ];
}

test('inspect: damaged images and non-files print the coded error and exit 1, no stack trace', (t) => {
  for (const [p, code, why] of cliCases()) {
    const r = spawnSync(process.execPath, [CLI, 'inspect', p], { encoding: 'utf8', timeout: 30_000 });
    t.is(r.status, 1, `${p}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`^appliance: ${code}: `), p);
    t.regex(r.stderr, why, p);
    t.notRegex(r.stderr, /\n\s+at /, `${p}: no stack trace`);
  }
});

test('serve: damaged images and non-files print the coded error and exit 1, no stack trace', async (t) => {
  for (const [p, code, why] of cliCases()) {
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'serve', p, '--backend', 'socket', '--http', '127.0.0.1:0', '--dns', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c) => { stderr += c; });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
    });
    t.is(r.status, 1, `${p}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`^appliance: ${code}: `), p);
    t.regex(r.stderr, why, p);
    t.notRegex(r.stderr, /\n\s+at /, `${p}: no stack trace`);
  }
});
