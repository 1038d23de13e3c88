import test from 'ava';
import { readFileSync, writeFileSync, truncateSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError } from '../../../basics/errors.js';
import { ImageWriter, loadImage, sectionBytes, sectionWords, HEADER_LEN, FORMAT_VERSION } from '../../../specializers/image/format.js';
import { tempDir } from '../../helpers/fixtures.js';

function writeSample(path: string): void {
  const w = new ImageWriter(path);
  w.beginBlob();
  const a = w.append(Buffer.from('hello '));
  const b = w.append(Buffer.from('world'));
  w.endBlob();
  w.addU32Section(17, Uint32Array.of(a, b, 0xdeadbeef));
  w.addSection(1, Buffer.from(JSON.stringify({ tool: 'appliance', toolVersion: 't', builtAt: 'now', options: {}, sites: [], zones: [] })));
  w.finish();
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof ImageError ? e.code : `not an ImageError: ${String(e)}`;
  }
  return undefined;
}

test('round trip: sections come back as written, in shared memory', (t) => {
  const tmp = tempDir('img');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'a.apl');
  writeSample(p);
  const img = loadImage(p);
  t.is(img.version, FORMAT_VERSION);
  t.true(img.shared instanceof SharedArrayBuffer);
  t.is(Buffer.from(sectionBytes(img, 2)).toString(), 'hello world');
  t.deepEqual([...sectionWords(img, 17)], [0, 6, 0xdeadbeef]);
  t.is(img.meta.tool, 'appliance');
  t.regex(img.hash, /^[0-9a-f]{64}$/);
});

test('a corrupted byte is detected by the content hash', (t) => {
  const tmp = tempDir('img');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'a.apl');
  writeSample(p);
  const bytes = readFileSync(p);
  bytes[HEADER_LEN + 3]! ^= 0x40;
  writeFileSync(p, bytes);
  t.is(code(() => loadImage(p)), 'APPL_ERR_IMAGE_CHECKSUM');
});

test('a truncated image says so', (t) => {
  const tmp = tempDir('img');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'a.apl');
  writeSample(p);
  truncateSync(p, 150);
  t.is(code(() => loadImage(p)), 'APPL_ERR_IMAGE_TRUNCATED');
  truncateSync(p, 40);
  t.is(code(() => loadImage(p)), 'APPL_ERR_IMAGE_TRUNCATED');
  truncateSync(p, 0);
  t.is(code(() => loadImage(p)), 'APPL_ERR_IMAGE_TRUNCATED');
});

test('trailing garbage, foreign files, other versions, missing files', (t) => {
  const tmp = tempDir('img');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'a.apl');
  writeSample(p);
  appendFileSync(p, 'junk');
  t.is(code(() => loadImage(p)), 'APPL_ERR_IMAGE_CORRUPT');
  const foreign = join(tmp.dir, 'f.apl');
  writeFileSync(foreign, Buffer.alloc(4096, 0x7f));
  t.is(code(() => loadImage(foreign)), 'APPL_ERR_IMAGE_MAGIC');
  writeFileSync(foreign, 'GIF89a');
  t.is(code(() => loadImage(foreign)), 'APPL_ERR_IMAGE_MAGIC');
  writeSample(p);
  const bytes = readFileSync(p);
  bytes.writeUInt32LE(FORMAT_VERSION + 1, 8);
  writeFileSync(p, bytes);
  const err = t.throws(() => loadImage(p), { instanceOf: ImageError });
  t.is(err?.code, 'APPL_ERR_IMAGE_VERSION');
  t.regex(err?.message ?? '', /rebuild/);
  t.is(code(() => loadImage(join(tmp.dir, 'missing.apl'))), 'APPL_ERR_IMAGE_OPEN');
});

test('a failed build leaves no file behind', (t) => {
  const tmp = tempDir('img');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'a.apl');
  const w = new ImageWriter(p);
  w.beginBlob();
  w.append(Buffer.from('partial'));
  w.abort();
  t.is(code(() => loadImage(p)), 'APPL_ERR_IMAGE_OPEN');
});
