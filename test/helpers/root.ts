// For the tests that need root (network namespaces, AF_XDP): why one is skipped, and a
// wait for something to come up in a namespace.

import { isRoot } from '../../appliance/bench/netns.js';
import { hasCommand } from './processes.js';

/** Why the test file cannot run here ('' when it can): not root, or one of `tools` missing. */
export function rootSkip(tools: string[]): string {
  const missing = tools.filter((c) => !hasCommand(c));
  return !isRoot() ? 'not root (these tests need network namespaces and AF_XDP; CI runs them as root)' :
    missing.length ? `missing ${missing.join(', ')} (.ci/run installs them)` : '';
}

/** True (the test passed, the reason logged) when `skip` says the test cannot run. */
export function skipped(skip: string, t: { log: (s: string) => void; pass: () => void }): boolean {
  if (!skip) return false;
  t.log(`SKIPPED: ${skip}`);
  t.pass();
  return true;
}

/** Resolves once `fn` says true (an exception counts as not yet); throws after timeoutMs. */
export async function untilOk(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
