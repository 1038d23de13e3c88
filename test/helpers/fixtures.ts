// Shared test helpers: temporary directories, images built from the fixtures, free ports.

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from '../../specializers/build.js';
import { DEFAULT_HTTP_OPTIONS } from '../../specializers/http/compile.js';
import type { SiteSpec } from '../../specializers/http/compile.js';
import type { ZoneSpec } from '../../specializers/dns/compile.js';
import { loadImage } from '../../specializers/image/format.js';
import { DnsTables } from '../../appliance/dns/tables.js';

/** The repository root (tests run from build/test/..., sources sit at the root). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (dir.endsWith('/build')) return dirname(dir);
    dir = dirname(dir);
  }
  return process.cwd();
})();

export const FIXTURE_SITE = join(ROOT, 'fixtures', 'site');
export const FIXTURE_ZONES = join(ROOT, 'fixtures', 'zones');
export const CLI = join(ROOT, 'dist', 'cli.js');

/** The fixture site's files (dotfiles left out, as the build leaves them), relative paths, sorted. */
export function siteFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(FIXTURE_SITE, p));
    }
  };
  walk(FIXTURE_SITE);
  return out.sort();
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `appliance-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function buildTestImage(out: string, sites: SiteSpec[], zones: ZoneSpec[] = [], brotliQuality: number | null = 5): Promise<string> {
  await buildImage({ sites, zones, output: out, http: { ...DEFAULT_HTTP_OPTIONS, brotliQuality } });
  return out;
}

export { freePort } from '../../appliance/bench/process.js';

/** `appliance ARGS` to its end: the exit status and everything it printed. */
export async function runCli(args: string[]): Promise<{ code: number; out: string }> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  try {
    const r = await promisify(execFile)(process.execPath, [CLI, ...args]);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? 1, out: (x.stdout ?? '') + (x.stderr ?? '') };
  }
}

/** The DNS tables of the fixture zones, built into `dir`. */
export async function fixtureZoneTables(dir: string): Promise<DnsTables> {
  const zones = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => ({ origin: null, file: join(FIXTURE_ZONES, f) }));
  return new DnsTables(loadImage(await buildTestImage(join(dir, 'zones.apl'), [], zones)));
}
