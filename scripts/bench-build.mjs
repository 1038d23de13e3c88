// Build benchmark: `appliance build` of a real site and of a generated one, with the
// build cache, as a deploy pipeline runs it. Prints figures; asserts nothing.
//
//   node build.mjs && node scripts/bench-build.mjs [--site DIR] [--generated N] [--runs N] [--no-q11] [--no-verify]
//
// Sites (each copied to a temporary directory first, so that it can be changed; a link
// that leaves the site keeps pointing where it pointed):
//   --site DIR      default /usr/share/doc/python3.11/html (apt-get install python3.11-doc),
//                   built with --follow-symlinks: its _static/*.js link to /usr/share/javascript
//   --generated N   also the generated site of scripts/gen-site.mjs, N files (10000), 200 MB
// For each: `--runs` (2) full builds from an empty cache, then as many rebuilds after one
// change (a comment appended to one page), and one rebuild with nothing changed; wall
// time, peak resident memory (the build's process, its threads included), the image
// size. Then, unless --no-verify, the last rebuild against a clean build (--no-cache) of
// the same files, byte for byte, and unless --no-q11, the brotli bytes and the image
// size against a build at --brotli-quality 11 for every file.

import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, appendFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const runs = Number(opt('--runs', '2'));
const q11 = !args.includes('--no-q11');
const verify = !args.includes('--no-verify');
const siteArg = opt('--site', '/usr/share/doc/python3.11/html');
const generated = args.includes('--generated') ? Number(opt('--generated', '10000')) || 10000 : 0;

// The child prints its peak resident size (getrusage ru_maxrss: the process with its
// threads) and the CPU time it took on stderr as it exits. The CPU time is the figure
// that other work on the machine does not move (wall time is, when cores are shared).
const RSS_HOOK = 'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();' +
  'process.stderr.write("\\nBENCH_MAXRSS "+u.maxRSS+" "+(u.userCPUTime+u.systemCPUTime)+"\\n")})';
const EPOCH = '1700000000';

function build(site, out, flags) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', RSS_HOOK, CLI, 'build', '--site', site, '-o', out, ...flags], {
    encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH }, maxBuffer: 64 << 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`build failed (${r.status}):\n${r.stderr}`);
  const m = /BENCH_MAXRSS (\d+) (\d+)/.exec(r.stderr);
  const rss = Number(m?.[1] ?? 0) * 1024;
  const cpu = Number(m?.[2] ?? 0) / 1e6;
  const compression = /compression: (.*)/.exec(r.stdout);
  return { seconds, cpu, rss, size: statSync(out).size, compressed: compression?.[1] ?? '' };
}

/** Brotli and gzip bytes of the files' variants (directory routes, which repeat an index, left out). */
function variantBytes(image) {
  const r = spawnSync(process.execPath, [CLI, 'inspect', '--json', '--all', image], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const j = JSON.parse(r.stdout);
  const sum = { br: 0, gzip: 0, identity: 0 };
  for (const route of j.http.routeList) {
    if (route.kind !== 'file' || route.path.endsWith('/')) continue;
    for (const v of route.variants) sum[v.encoding] += v.bytes;
  }
  return sum;
}

/** A copy of the site; a link that leaves it is made absolute, to where it led. */
function copySite(src, dst) {
  cpSync(src, dst, { recursive: true, verbatimSymlinks: true });
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        const target = readlinkSync(p);
        if (isAbsolute(target)) continue;
        const was = resolve(dirname(join(src, relative(dst, p))), target);
        const r = relative(src, was);
        if (r.startsWith('..') || isAbsolute(r)) {
          unlinkSync(p);
          symlinkSync(was, p);
        }
      } else if (st.isDirectory()) {
        walk(p);
      }
    }
  };
  walk(dst);
}

/** The page a rebuild changes: the first HTML file in name order between 16 and 128 KiB (else any file). */
function pageToChange(dir) {
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) found.push([p, st.size]);
    }
  };
  walk(dir);
  return (found.find(([p, s]) => p.endsWith('.html') && s >= 16 << 10 && s <= 128 << 10) ?? found[0])[0];
}

/**
 * How fast this machine is now: one thread, brotli quality 10 on 1 MiB of fixed text.
 * Cores shared with other work (a VM's neighbours, another build) move every figure;
 * this one moves with them, so runs can be compared.
 */
function probe() {
  const words = 'the quick brown fox jumps over the lazy dog while packets segments and zones fly by'.split(' ');
  let seed = 7;
  const parts = [];
  for (let len = 0; len < 1 << 20;) {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    const w = words[seed % words.length] + (seed % 13 === 0 ? String(seed % 997) : '');
    parts.push(w);
    len += w.length + 1;
  }
  const text = Buffer.from(parts.join(' '));
  const t0 = performance.now();
  brotliCompressSync(text, { params: { [constants.BROTLI_PARAM_QUALITY]: 10 } });
  return `${(performance.now() - t0).toFixed(0)} ms for brotli 10 of 1 MiB on one thread`;
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const line = (what, r) => console.log(`  ${what.padEnd(26)} ${r.seconds.toFixed(2).padStart(6)} s (CPU ${r.cpu.toFixed(1).padStart(5)} s)   peak ${mib(r.rss).padStart(9)}   image ${mib(r.size).padStart(9)}   ${r.compressed}`);

function bench(name, src, flags) {
  const work = mkdtempSync(join(tmpdir(), 'appliance-bench-build-'));
  try {
    const site = join(work, 'site');
    copySite(src, site);
    const cache = join(work, 'cache');
    const out = join(work, 'site.apl');
    const files = spawnSync('find', [site, '-type', 'f', '-o', '-type', 'l'], { encoding: 'utf8' }).stdout.trim().split('\n').length;
    const bytes = Number(spawnSync('du', ['-sbL', site], { encoding: 'utf8' }).stdout.split('\t')[0]);
    console.log(`\n${name}: ${src}, ${files} files, ${mib(bytes)}; flags: ${flags.join(' ') || '(none)'}`);
    console.log(`  machine: ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; speed: ${probe()}`);
    for (let i = 1; i <= runs; i++) {
      rmSync(cache, { recursive: true, force: true });
      line(`full build, run ${i}`, build(site, out, [...flags, '--cache', cache]));
    }
    const page = pageToChange(site);
    for (let i = 1; i <= runs; i++) {
      appendFileSync(page, `\n<!-- bench change ${i} -->\n`);
      line(`rebuild, one change, run ${i}`, build(site, out, [...flags, '--cache', cache]));
    }
    line('rebuild, nothing changed', build(site, out, [...flags, '--cache', cache]));
    console.log(`  machine after: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; speed: ${probe()}`);
    console.log(`  (the change: ${relative(site, page)}; cache ${mib(Number(spawnSync('du', ['-sb', cache], { encoding: 'utf8' }).stdout.split('\t')[0]))})`);
    const ours = variantBytes(out);
    if (verify) {
      const clean = join(work, 'clean.apl');
      build(site, clean, [...flags, '--no-cache']);
      console.log(`  the rebuild is a clean build (--no-cache) byte for byte: ${readFileSync(out).equals(readFileSync(clean)) ? 'yes' : 'NO'}`);
    }
    console.log(`  variants: brotli ${mib(ours.br)}, gzip ${mib(ours.gzip)} (identity ${mib(ours.identity)})`);
    if (q11) {
      const best = join(work, 'q11.apl');
      const r = build(site, best, [...flags, '--no-cache', '--brotli-quality', '11']);
      line('full build, brotli 11', r);
      const ref = variantBytes(best);
      const d = ours.br - ref.br;
      console.log(`  size cost against brotli 11 everywhere: brotli ${d >= 0 ? '+' : ''}${d} bytes (${(100 * d / ref.br).toFixed(1)}%: ${mib(ours.br)} against ${mib(ref.br)}); ` +
        `image ${r.size <= statSync(out).size ? '+' : ''}${statSync(out).size - r.size} bytes (${(100 * (statSync(out).size - r.size) / r.size).toFixed(2)}%)`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (siteArg !== 'none') bench('site', siteArg, ['--follow-symlinks']);
if (generated > 0) {
  const gen = mkdtempSync(join(tmpdir(), 'appliance-gen-site-'));
  try {
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-site.mjs'), gen, String(generated), '200'], { stdio: 'inherit' });
    bench(`generated site (scripts/gen-site.mjs ${generated} 200)`, gen, []);
  } finally {
    rmSync(gen, { recursive: true, force: true });
  }
}
