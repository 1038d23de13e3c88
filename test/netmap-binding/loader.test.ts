import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { nativeCandidates, packageRoot } from '../../netmap-binding/loader.js';

const run = promisify(execFile);
const ROOT = packageRoot();
const ENTRY = `import { loadNative } from ${JSON.stringify(join(ROOT, 'netmap-binding', 'loader.ts'))};
try { const n = loadNative(); console.log(JSON.stringify({ ok: typeof n.xskOpen === 'function' })); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;

async function bundleTo(dir: string): Promise<string> {
  const out = join(dir, 'dist', 'probe.js');
  await build({ stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'silent' });
  return out;
}

test('the loader finds the package root from the transpiled tree', (t) => {
  t.is(packageRoot(fileURLToPath(import.meta.url)), ROOT);
  t.true(nativeCandidates().some((p) => p.endsWith(join('netmap-binding', 'build', 'Release', 'netmap_binding.node'))));
});

test('a bundle (like dist/cli.js) loads the native module from the package root', async (t) => {
  // Placed under build/ (git-ignored), one level below the root, as dist/ is.
  const dir = mkdtempSync(join(ROOT, 'build', 'loader-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = await bundleTo(dir);
  // build/loader-probe-*/dist/probe.js: the first package.json above it is the root's.
  const { stdout } = await run(process.execPath, [out], { timeout: 20_000 });
  t.deepEqual(JSON.parse(stdout), { ok: true });
});

test('when the module is missing, the error lists every path tried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apl-loader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'appliance', type: 'module' }));
  mkdirSync(join(dir, 'dist'));
  const out = await bundleTo(dir);
  const { stdout } = await run(process.execPath, [out], { timeout: 20_000, env: { ...process.env, APPLIANCE_NATIVE_PATH: join(dir, 'custom.node') } });
  const r = JSON.parse(stdout) as { code: string; message: string };
  t.is(r.code, 'APPL_ERR_XDP_LOAD');
  t.true(r.message.includes(join(dir, 'custom.node')));
  t.true(r.message.includes(join(dir, 'netmap-binding', 'build', 'Release', 'netmap_binding.node')));
  t.true(r.message.includes(join(dir, 'netmap-binding', 'build', 'Debug', 'netmap_binding.node')));
  t.regex(r.message, /npm run build:native/);
});
