// The image's writes through their own thread (WriteThread, ImageWriter's threadAbove): the
// same file byte for byte as written by the build's thread, spill files copied in and
// closed, nothing left behind on abort, and a full disk reported as the system call's
// failure, with nothing left behind either.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageWriter, loadImage, sectionWords } from '../../../specializers/image/format.js';
import { SpillingU32Builder } from '../../../specializers/image/u32-builder.js';
import { SLOT_BYTES, writeThreadStats } from '../../../specializers/image/write-thread.js';
import { tempDir } from '../../helpers/fixtures.js';

const META = Buffer.from(JSON.stringify({ tool: 'appliance', toolVersion: 't', builtAt: 'now', options: {}, sites: [], zones: [] }));

/** Short and long appends to the BLOB, a spilled table and a whole one: the same calls for each writer. */
function writeImage(w: ImageWriter, seed: number): number[] {
  let x = seed;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  w.beginBlob();
  const table = new SpillingU32Builder(() => w.spillFile(), 4096);
  const words: number[] = [];
  for (let i = 0; i < 3000; i++) {
    // Appends from a byte to past a slot: straddling the write buffer and the slots.
    const len = i % 500 === 0 ? SLOT_BYTES + 3 + (rnd() & 0xffff) : 1 + (rnd() & 0x1ff);
    const b = Buffer.alloc(len, rnd() & 0xff);
    b[0] = i & 0xff;
    w.append(b);
    const n = 1 + (i % 5);
    const at = table.record(n);
    for (let k = 0; k < n; k++) {
      table.array[at + k] = rnd();
      words.push(table.array[at + k]!);
    }
  }
  w.endBlob();
  w.addSpilledSection(35, table);
  w.addU32Section(36, Uint32Array.of(1, 2, 3));
  w.addSection(1, META);
  return words;
}

test('through the thread, the image is the one the build\'s thread writes, byte for byte (its hash too)', (t) => {
  const tmp = tempDir('wthread');
  t.teardown(tmp.cleanup);
  const results = [0, 5 << 20, Infinity].map((threadAbove) => {
    const p = join(tmp.dir, `img-${threadAbove}.apl`);
    const before = writeThreadStats.started;
    const w = new ImageWriter(p, { threadAbove });
    const words = writeImage(w, 7);
    const { hash } = w.finish();
    t.is(writeThreadStats.started - before, threadAbove === Infinity ? 0 : 1, `a thread for threadAbove ${threadAbove}`);
    return { p, hash, words };
  });
  const [early, late, never] = results as [typeof results[0], typeof results[0], typeof results[0]];
  t.true(readFileSync(never.p).length > 5 * SLOT_BYTES, 'large enough for the late start to hash back part of it');
  t.is(early.hash, never.hash);
  t.is(late.hash, never.hash, 'started half way: what was written before is read back into the hash');
  t.true(readFileSync(early.p).equals(readFileSync(never.p)));
  t.true(readFileSync(late.p).equals(readFileSync(never.p)));
  t.deepEqual([...sectionWords(loadImage(early.p), 35)], early.words, 'the spilled table, copied in by the thread');
  t.deepEqual(readdirSync(tmp.dir).sort(), ['img-0.apl', 'img-5242880.apl', 'img-Infinity.apl'], 'no temporary or spill file');
});

test('an aborted build with its writes on the thread closes its spill files and leaves nothing', (t) => {
  const tmp = tempDir('wthread');
  t.teardown(tmp.cleanup);
  const w = new ImageWriter(join(tmp.dir, 'b.apl'), { threadAbove: 0 });
  w.beginBlob();
  w.append(Buffer.alloc(3 * SLOT_BYTES, 1));
  const s = new SpillingU32Builder(() => w.spillFile(), 16);
  for (let i = 0; i < 1000; i++) s.array[s.record(3)] = i;
  const fd = s.spilledFile.file!.fd;
  w.abort();
  t.deepEqual(readdirSync(tmp.dir), []);
  t.throws(() => fstatSync(fd), { code: 'EBADF' }, 'the spill file is closed');
});

test('a full disk under the thread (root: a 256 KiB tmpfs): APPL_ERR_IMAGE_WRITE, write failed: ENOSPC, nothing left', (t) => {
  const tmp = tempDir('wthread');
  t.teardown(tmp.cleanup);
  const mnt = join(tmp.dir, 'full');
  mkdirSync(mnt);
  if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status !== 0) {
    t.log('SKIPPED: needs root and mount (a small tmpfs to fill)');
    t.pass();
    return;
  }
  try {
    const before = writeThreadStats.started;
    const w = new ImageWriter(join(mnt, 'c.apl'), { threadAbove: 0 });
    const err = t.throws(() => {
      try {
        w.beginBlob();
        // More than the disk holds, a slot at a time: the failure comes back at a later handover or at the digest.
        for (let i = 0; i < 8; i++) w.append(Buffer.alloc(SLOT_BYTES, i));
        w.endBlob();
        w.addSection(1, META);
        w.finish();
      } catch (e) {
        w.abort();
        throw e;
      }
    });
    t.is(writeThreadStats.started - before, 1, 'the writes went through the thread');
    t.regex(String(err?.message), /c\.apl: write failed: ENOSPC/);
    t.is((err as { code?: string }).code, 'APPL_ERR_IMAGE_WRITE');
    t.deepEqual(readdirSync(mnt), [], 'neither the image nor its temporary file');
  } finally {
    spawnSync('umount', [mnt]);
  }
});
