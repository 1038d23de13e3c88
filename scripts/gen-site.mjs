// Writes a deterministic synthetic site for build benchmarks:
//   node scripts/gen-site.mjs DIR [FILES=10000] [TOTAL_MB=200]
// About 70% of the bytes are text (HTML, CSS, JS, JSON: compressible, like real sites),
// the rest binary (images, fonts: incompressible), in nested directories.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, filesArg = '10000', mbArg = '200'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/gen-site.mjs DIR [FILES] [TOTAL_MB]');
  process.exit(2);
}
const files = Number(filesArg);
const total = Number(mbArg) * 1024 * 1024;
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
const words = 'the quick brown fox jumps over lazy dog static site server image packet response header template answer zone record cache memory kernel socket queue ring frame core worker'.split(' ');
function text(n) {
  const parts = [];
  let len = 0;
  while (len < n) {
    const w = words[(rand() * words.length) | 0] + (rand() < 0.1 ? String((rand() * 10000) | 0) : '');
    parts.push(w);
    len += w.length + 1;
  }
  return parts.join(' ').slice(0, n);
}
function binary(n) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}
const kinds = [['html', 0.45, true], ['css', 0.1, true], ['js', 0.1, true], ['json', 0.05, true], ['png', 0.2, false], ['woff2', 0.1, false]];
const avg = total / files;
let written = 0;
for (let i = 0; i < files; i++) {
  const sub = join(dir, `section${i % 20}`, `part${(i >> 5) % 16}`);
  mkdirSync(sub, { recursive: true });
  let r = rand();
  let kind = kinds[0];
  for (const k of kinds) { if ((r -= k[1]) <= 0) { kind = k; break; } }
  // sizes spread from a tenth to about twice the average
  const size = Math.max(16, Math.round(avg * (0.1 + 1.8 * rand())));
  const name = i % 50 === 0 ? 'index.html' : `file-${i}.${kind[0]}`;
  const data = kind[2] || name.endsWith('.html') ? text(size) : binary(size);
  writeFileSync(join(sub, name), data);
  written += size;
}
console.log(`wrote ${files} files, ${(written / 1048576).toFixed(1)} MiB under ${dir}`);
