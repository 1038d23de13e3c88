// adviseHugePages (sys.c sys_advise_huge) and the image loader that uses it: the 2 MiB
// pages inside a big image's memory are asked for before the file is read, so that the
// pages the kernel gives are huge ones where transparent huge pages are "madvise" (as on
// Debian) or "always". Checked through the process's own smaps; skipped where the kernel
// has THP off.

import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adviseHugePages } from '../../netmap-binding/afxdp.js';
import { loadServedImage } from '../../appliance/served-image.js';
import { ImageWriter } from '../../specializers/image/format.js';
import { tempDir } from '../helpers/fixtures.js';

const THP = (() => {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'never';
  } catch {
    return 'never';
  }
})();

/** Bytes of anonymous huge pages of this process (smaps_rollup). */
function anonHugeBytes(): number {
  const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

test('only 2 MiB-aligned whole pages inside the bytes are advised; a non-Uint8Array is refused', (t) => {
  const small = new Uint8Array(new SharedArrayBuffer(1 << 20));
  t.is(adviseHugePages(small), 0, 'less than one aligned huge page');
  const big = new Uint8Array(new SharedArrayBuffer(9 << 20));
  const n = adviseHugePages(big);
  if (THP === 'never') t.is(n, 0);
  else {
    t.true(n >= 6 << 20 && n <= 9 << 20, `${n} bytes advised of 9 MiB`);
    t.is(n % (2 << 20), 0);
  }
  t.throws(() => adviseHugePages(new Uint16Array(4) as unknown as Uint8Array), { message: /Uint8Array/ });
});

test('a big image is loaded into huge pages', (t) => {
  if (THP === 'never') {
    t.log('SKIPPED: transparent huge pages are off in this kernel');
    t.pass();
    return;
  }
  const tmp = tempDir('thp');
  t.teardown(tmp.cleanup);
  const p = join(tmp.dir, 'big.apl');
  const w = new ImageWriter(p);
  w.beginBlob();
  w.append(new Uint8Array(40 << 20).fill(7));
  w.endBlob();
  w.addSection(1, Buffer.from(JSON.stringify({ tool: 'appliance', toolVersion: 't', builtAt: 'now', options: {}, sites: [], zones: [] })));
  w.finish();
  const before = anonHugeBytes();
  const img = loadServedImage(p);
  const after = anonHugeBytes();
  t.is(img.bytes[100 << 10], 7);
  // Compaction may not find every 2 MiB page; most of 40 MiB must come as huge pages.
  t.true(after - before >= 16 << 20, `${(after - before) >> 20} MiB more in huge pages`);
  writeFileSync(join(tmp.dir, 'keep'), String(img.bytes.length)); // the image stays alive to here
});
