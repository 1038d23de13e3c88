// Reproducible images: the same inputs give the same image, byte for byte, whatever the
// file system's directory order and whichever compression finishes first; the build time
// it records is SOURCE_DATE_EPOCH when set (reproducible-builds.org), and a malformed one
// is refused. Serial: the tests set process.env.

import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isApplianceError } from '../../basics/errors.js';
import { buildImage, sourceDateEpoch, type BuildResult } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS, type HttpBuildOptions } from '../../specializers/http/compile.js';
import { formatHttpDate } from '../../specializers/http/date.js';
import * as L from '../../specializers/http/layout.js';
import { loadImage, sectionWords, SectionId, type Image } from '../../specializers/image/format.js';
import { FIXTURE_SITE, FIXTURE_ZONES, tempDir } from '../helpers/fixtures.js';

const tmp = tempDir('repro');
test.after.always(tmp.cleanup);

const zones = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => ({ origin: null, file: join(FIXTURE_ZONES, f) }));
const sites = [{ host: null, dir: FIXTURE_SITE }];
/** Later than any fixture's mtime (so Last-Modified is the file's), same ISO length. */
const EPOCH_A = 4_000_000_000;
const EPOCH_B = 4_100_000_000;

async function withEpoch<T>(value: string | undefined, f: () => Promise<T>): Promise<T> {
  const saved = process.env.SOURCE_DATE_EPOCH;
  if (value === undefined) delete process.env.SOURCE_DATE_EPOCH;
  else process.env.SOURCE_DATE_EPOCH = value;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
}

let n = 0;
async function build(epoch: string | undefined, http: Partial<HttpBuildOptions> = {}, s = sites, z = zones): Promise<{ file: string; bytes: Buffer; result: BuildResult }> {
  const file = join(tmp.dir, `image-${n++}.apl`);
  const result = await withEpoch(epoch, () => buildImage({ sites: s, zones: z, output: file, http: { ...DEFAULT_HTTP_OPTIONS, brotliQuality: 5, ...http } }));
  return { file, bytes: readFileSync(file), result };
}

test.serial('SOURCE_DATE_EPOCH set: the fixtures built twice are the same bytes', async (t) => {
  const a = await build(String(EPOCH_A));
  const b = await build(String(EPOCH_A));
  t.true(a.bytes.equals(b.bytes), `${a.result.hash} vs ${b.result.hash}`);
  t.is(loadImage(a.file).meta.builtAt, new Date(EPOCH_A * 1000).toISOString());
});

test.serial('files are emitted in scan order: as many compressions at once as asked give the same bytes as one at a time', async (t) => {
  // Compression runs on the thread pool; the small files after downloads/large.txt finish
  // before it. Were they emitted as they finished, their offsets would move.
  const one = await build(String(EPOCH_A), { concurrency: 1 });
  const eight = await build(String(EPOCH_A), { concurrency: 8 });
  t.true(one.bytes.equals(eight.bytes));
  t.is(one.result.http!.files, eight.result.http!.files);
});

/**
 * A's image turned into B's by changing only the times: the Date placeholder of every
 * response (BLOB), the partial sums of the segments that carry it, builtAt (META), and so
 * the content hash. Anything else that differs fails.
 */
function onlyTimesDiffer(t: ExecutionContext, a: Image, b: Image, epochA: number, epochB: number): void {
  t.is(a.bytes.length, b.bytes.length);
  const x = Buffer.from(a.bytes);
  const blob = a.sections.get(SectionId.BLOB)!;
  const dateA = Buffer.from(formatHttpDate(epochA), 'latin1');
  const dateB = Buffer.from(formatHttpDate(epochB), 'latin1');
  let dates = 0;
  for (let i = x.indexOf(dateA, blob.offset); i >= 0 && i < blob.offset + blob.length; i = x.indexOf(dateA, i + 1)) {
    dateB.copy(x, i);
    dates++;
  }
  t.true(dates > 100, `${dates} Date placeholders`);
  const meta = a.sections.get(SectionId.META)!;
  const isoA = Buffer.from(`"builtAt":"${new Date(epochA * 1000).toISOString()}"`);
  const at = x.indexOf(isoA, meta.offset);
  t.true(at >= 0 && at < meta.offset + meta.length, 'META holds builtAt');
  Buffer.from(`"builtAt":"${new Date(epochB * 1000).toISOString()}"`).copy(x, at);
  const segA = sectionWords(a, SectionId.HTTP_SEGMENTS), segB = sectionWords(b, SectionId.HTTP_SEGMENTS);
  const seg = a.sections.get(SectionId.HTTP_SEGMENTS)!;
  for (let i = 0; i < segA.length; i += L.SEGMENT_WORDS) {
    if (segA[i + L.SEG_OFF] !== segB[i + L.SEG_OFF] || segA[i + L.SEG_LEN_SUM]! >>> 16 !== segB[i + L.SEG_LEN_SUM]! >>> 16) {
      t.fail(`segment ${i / L.SEGMENT_WORDS}: offset or length differs`);
      return;
    }
    x.writeUInt32LE(segB[i + L.SEG_LEN_SUM]!, seg.offset + (i + L.SEG_LEN_SUM) * 4);
  }
  Buffer.from(b.bytes.subarray(40, 72)).copy(x, 40); // the content hash
  t.true(x.equals(b.bytes), 'nothing but the times differs');
}

test.serial('another SOURCE_DATE_EPOCH: builtAt follows it, and only the times differ', async (t) => {
  const a = await build(String(EPOCH_A));
  const b = await build(String(EPOCH_B));
  t.false(a.bytes.equals(b.bytes));
  const ia = loadImage(a.file), ib = loadImage(b.file);
  t.is(ib.meta.builtAt, '2099-12-03T16:53:20.000Z');
  onlyTimesDiffer(t, ia, ib, EPOCH_A, EPOCH_B);
});

test.serial('SOURCE_DATE_EPOCH unset: the build records the current time', async (t) => {
  const before = Date.now();
  const c = await build(undefined);
  const after = Date.now();
  const builtAt = Date.parse(loadImage(c.file).meta.builtAt);
  t.true(builtAt >= before && builtAt <= after, `${new Date(builtAt).toISOString()} within the build`);
});

test.serial('a malformed SOURCE_DATE_EPOCH is refused, naming the variable and the value, before anything is written', async (t) => {
  for (const v of ['', 'now', '1.5', '-1', ' 1700000000', '1700000000\n', '1e9', '0x10', '4294967296']) {
    const e = t.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: v }));
    t.true(isApplianceError(e) && e.code === 'APPL_ERR_USAGE', JSON.stringify(v));
    t.true(e!.message.startsWith(`SOURCE_DATE_EPOCH=${JSON.stringify(v)} is not a build time`), e!.message);
  }
  t.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '0' }), 0);
  t.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '4294967295' }), 4294967295);
  t.is(sourceDateEpoch({}), null);
  const out = join(tmp.dir, 'refused.apl');
  const e = await withEpoch('yesterday', () => t.throwsAsync(buildImage({ sites, zones, output: out, http: DEFAULT_HTTP_OPTIONS })));
  t.is((e as Error & { code?: string }).code, 'APPL_ERR_USAGE');
  t.regex(e!.message, /^SOURCE_DATE_EPOCH="yesterday" is not a build time/);
  t.false(existsSync(out));
  t.deepEqual(readdirSync(tmp.dir).filter((f) => f.startsWith('.refused')), [], 'no temporary file left');
});

test.serial('a file newer than SOURCE_DATE_EPOCH gets it as Last-Modified (RFC 9110 §8.8.2.1: never later than the response)', async (t) => {
  const dir = join(tmp.dir, 'newer');
  mkdirSync(dir);
  writeFileSync(join(dir, 'old.txt'), 'old\n');
  writeFileSync(join(dir, 'new.txt'), 'new\n');
  utimesSync(join(dir, 'old.txt'), 1_600_000_000, 1_600_000_000);
  utimesSync(join(dir, 'new.txt'), 1_800_000_000, 1_800_000_000);
  const b = await build('1700000000', {}, [{ host: null, dir }], []);
  const v = sectionWords(loadImage(b.file), SectionId.HTTP_VARIANTS);
  const mtimes = [];
  for (let i = 0; i < v.length; i += L.VARIANT_WORDS) mtimes.push(v[i + L.VAR_MTIME]);
  t.deepEqual(mtimes, [1_700_000_000, 1_600_000_000], 'new.txt, old.txt: in scan order');
});

// Files written in two orders. The file system keeps an order of its own (hash order on
// ext4, newest first on tmpfs); Node's readdir sorts by bytes on Unix (libuv's scandir),
// but fs.opendir, Windows and a UTF-16 sort do not agree with it: the scan sorts for
// itself, and this holds it to that. Three names are not UTF-8 (skipped, with a warning each).
const WALK_FILES = ['index.html', 'b.html', 'a.txt', 'Z.js', 'é.txt', 'e.txt', 'sub/z.css', 'sub/a.css', 'sub/index.html', 'a b/c.txt', 'A/x', '_/y', '0.txt', '~.txt'];
const NOT_UTF8 = [Buffer.from([0x6e, 0xff]), Buffer.from([0x6e, 0xfe]), Buffer.from([0x6e, 0xc3])];

function makeSite(dir: string, reverse: boolean): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const files = reverse ? [...WALK_FILES].reverse() : WALK_FILES;
  for (const f of files) {
    const p = join(dir, f);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, `${f}\n`.repeat(200));
    utimesSync(p, 1_600_000_000, 1_600_000_000);
  }
  for (const b of reverse ? [...NOT_UTF8].reverse() : NOT_UTF8) writeFileSync(Buffer.concat([Buffer.from(dir + '/'), b]), 'x');
}

/** The paths of the file routes, in the order of the route table. */
function fileRoutes(img: Image): string[] {
  const r = sectionWords(img, SectionId.HTTP_ROUTES);
  const blob = img.sections.get(SectionId.BLOB)!;
  const out: string[] = [];
  for (let i = 0; i < r.length; i += L.ROUTE_WORDS) {
    if (r[i + L.ROUTE_KIND] !== L.KIND_FILE) continue;
    const off = blob.offset + r[i + L.ROUTE_KEY_OFF]!;
    out.push(Buffer.from(img.bytes.subarray(off, off + r[i + L.ROUTE_KEY_LEN]!)).toString('utf8'));
  }
  return out;
}

test.serial('directory order: a site written in two orders builds into the same bytes, files in sorted order', async (t) => {
  const dir = join(tmp.dir, 'walk');
  const spec = [{ host: null, dir }];
  makeSite(dir, false);
  const one = await build(String(EPOCH_A), {}, spec, []);
  makeSite(dir, true);
  const two = await build(String(EPOCH_A), {}, spec, []);
  t.true(one.bytes.equals(two.bytes));
  t.deepEqual(one.result.warnings, two.result.warnings, 'the same warnings, in the same order');
  t.is(one.result.warnings.filter((w) => w.includes('not UTF-8')).length, NOT_UTF8.length);
  const routes = fileRoutes(loadImage(one.file));
  const sorted = WALK_FILES.map((f) => '/' + f).sort();
  t.deepEqual(routes.filter((r) => !r.endsWith('/')), sorted, 'the files in sorted order, whatever readdir gave');
});
