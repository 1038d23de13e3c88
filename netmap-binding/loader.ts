// Loads the native module, once per thread, from wherever this file was bundled or
// transpiled to: the .node file is found from the package root (the nearest directory
// above this module holding package.json), so build/netmap-binding/loader.js, dist/cli.js
// and dist/worker.js all find netmap-binding/build/Release/netmap_binding.node.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BindingError, type BindingErrorCode } from './errors.js';
import type { NativeBinding } from './native.js';

export const NATIVE_FILE = 'netmap_binding.node';
/** Overrides the search (a path to the .node file). */
export const NATIVE_PATH_ENV = 'APPLIANCE_NATIVE_PATH';

/** An error from the binding: a failed system call, named with its errno. */
export class XdpError extends BindingError {
  constructor(
    code: BindingErrorCode,
    message: string,
    readonly syscall?: string,
    readonly errno?: number,
    readonly errnoName?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'XdpError';
  }
}

let cached: NativeBinding | undefined;

/** The directory holding the package's package.json, walking up from `from`. */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'appliance') return dir;
      } catch {
        // an unreadable package.json is not ours: keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new XdpError('APPL_ERR_XDP_LOAD', `no package.json of "appliance" above ${from}`);
    dir = up;
  }
}

/** Every path the loader tries, in order. */
export function nativeCandidates(): string[] {
  const out: string[] = [];
  const env = process.env[NATIVE_PATH_ENV];
  if (env) out.push(env);
  let root: string | undefined;
  try {
    root = packageRoot();
  } catch {
    root = undefined;
  }
  if (root) {
    for (const kind of ['Release', 'Debug']) out.push(join(root, 'netmap-binding', 'build', kind, NATIVE_FILE));
  }
  return out;
}

/** The native module; throws APPL_ERR_XDP_LOAD listing every path tried. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  let lastError: unknown;
  for (const p of nativeCandidates()) {
    if (!existsSync(p)) {
      tried.push(`${p} (missing)`);
      continue;
    }
    try {
      cached = require(p) as NativeBinding;
      return cached;
    } catch (e) {
      lastError = e;
      tried.push(`${p} (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  throw new XdpError(
    'APPL_ERR_XDP_LOAD',
    `cannot load the native module ${NATIVE_FILE}; tried:\n  ${tried.join('\n  ')}\n` +
      `Build it with "npm run build:native" (npm ci does it), or set ${NATIVE_PATH_ENV}.`,
    undefined,
    undefined,
    undefined,
    { cause: lastError },
  );
}

interface NativeErrorShape {
  code?: unknown;
  message?: unknown;
  syscall?: unknown;
  errno?: unknown;
  errnoName?: unknown;
}

/** Turns an error thrown by the native module into an XdpError; passes others through. */
export function fromNative(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const n = e as Error & NativeErrorShape;
  if (typeof n.code !== 'string' || !n.code.startsWith('APPL_ERR_')) return e;
  return new XdpError(
    n.code as BindingErrorCode,
    e.message,
    typeof n.syscall === 'string' ? n.syscall : undefined,
    typeof n.errno === 'number' ? n.errno : undefined,
    typeof n.errnoName === 'string' ? n.errnoName : undefined,
    { cause: e },
  );
}

/** Runs a native call, rethrowing its errors as XdpError. Not for the per-packet path. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}
