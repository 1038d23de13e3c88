// Tables made through a spill file (SpillingU32Builder, ImageWriter.addSpilledSection):
// the section holds the same words a table kept whole would, however many windows went
// to the file, and no file is left in the image's directory, whether the build finishes
// or is aborted.

import test from 'ava';
import { fstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ImageWriter, loadImage, sectionWords } from '../../../specializers/image/format.js';
import { SpillingU32Builder, U32Builder } from '../../../specializers/image/u32-builder.js';
import { tempDir } from '../../helpers/fixtures.js';

const META = Buffer.from(JSON.stringify({ tool: 'appliance', toolVersion: 't', builtAt: 'now', options: {}, sites: [], zones: [] }));

/** Records of 1 to 7 words, each word its table index plus a tag: the same in both builders. */
function fill(b: { record(n: number): number; readonly array: Uint32Array; readonly length: number }, records: number, tag: number): void {
  for (let r = 0; r < records; r++) {
    const n = 1 + (r % 7);
    const index = b.length;
    const at = b.record(n);
    for (let i = 0; i < n; i++) b.array[at + i] = (index + i) ^ tag;
  }
}

test('a spilled table comes back as a whole one, windows straddled by records and all', (t) => {
  const tmp = tempDir('spill');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'a.apl');
  const w = new ImageWriter(p);
  w.beginBlob();
  w.append(Buffer.from('x'));
  const whole = new U32Builder();
  fill(whole, 5000, 0x5a5a);
  let opened = 0;
  // A window of 64 words: records of up to 7 words do not divide it, so windows end short.
  const spilled = new SpillingU32Builder(() => { opened++; return w.spillFile(); }, 64);
  fill(spilled, 5000, 0x5a5a);
  const small = new SpillingU32Builder(() => { opened++; return w.spillFile(); }, 64);
  fill(small, 3, 7);
  w.endBlob();
  t.is(spilled.length, whole.length);
  w.addSpilledSection(35, spilled);
  w.addSpilledSection(36, small);
  w.addSection(1, META);
  t.deepEqual(readdirSync(tmp.dir).filter((f) => f.includes('spill')), [], 'the spill file is unlinked as soon as it is open');
  w.finish();
  t.is(opened, 1, 'one file, for the table that outgrew its window; none for the small one');
  const img = loadImage(p);
  t.deepEqual([...sectionWords(img, 35)], [...whole.view()]);
  t.deepEqual([...sectionWords(img, 36)], [0 ^ 7, 1 ^ 7, 2 ^ 7, 3 ^ 7, 4 ^ 7, 5 ^ 7]);
  t.deepEqual(readdirSync(tmp.dir), ['a.apl']);
});

test('an aborted build closes its spill files and leaves nothing behind', (t) => {
  const tmp = tempDir('spill');
  t.teardown(tmp.cleanup);
  const w = new ImageWriter(join(tmp.dir, 'b.apl'));
  w.beginBlob();
  const s = new SpillingU32Builder(() => w.spillFile(), 16);
  fill(s, 100, 1);
  const fd = s.spilledFile.file!.fd;
  w.abort();
  t.deepEqual(readdirSync(tmp.dir), []);
  t.throws(() => fstatSync(fd), { code: 'EBADF' }, 'the spill file is closed');
});

test('a record larger than the window gets a larger window, whole; no file for a table that fits it', (t) => {
  const tmp = tempDir('spill');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'c.apl');
  const w = new ImageWriter(p);
  w.beginBlob();
  let opened = 0;
  const s = new SpillingU32Builder(() => { opened++; return w.spillFile(); }, 8);
  const big = s.record(20);
  for (let i = 0; i < 20; i++) s.array[big + i] = 100 + i;
  t.is(opened, 0, 'the first record, however large, needs no file');
  const at = s.record(3);
  for (let i = 0; i < 3; i++) s.array[at + i] = 200 + i;
  w.endBlob();
  w.addSpilledSection(35, s);
  w.addSection(1, META);
  w.finish();
  t.deepEqual([...sectionWords(loadImage(p), 35)], [...Array.from({ length: 20 }, (_, i) => 100 + i), 200, 201, 202]);
});
