// serve's secondary-zone options: --secondary, --tsig-key, --state-dir (and the config
// file's secondary = [...], tsig-key = [...], state-dir = "..."), checked into what the
// manager takes; and the compiler serve runs for it (build's, in a worker thread).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApplianceError, UsageError } from '../../basics/errors.js';
import { lowerName, nameToText, nameToWire } from '../../specializers/dns/dns-name.js';
import { isIP } from 'node:net';
import type { SecondaryZone, CompileResult } from './manager.js';
import { parseTsigKey, type TsigKey } from './tsig.js';
import type { CompileFailure, CompileJob, CompileReply } from './compile-worker.js';

/** The DNS port a primary is asked on when --secondary gives none. */
const DNS_PORT = 53;

/** A zone name as the manager and the image key it: lower case, absolute, escaped as presentation text. */
export function canonicalZone(text: string, flag: string): string {
  try {
    const t = text.trim();
    return nameToText(lowerName(nameToWire(t === '.' || t.endsWith('.') ? t : t + '.')));
  } catch (e) {
    throw new UsageError(`${flag} ${text}: not a domain name (${(e as Error).message})`);
  }
}

/** "198.18.0.1", "198.18.0.1:5300", "[2001:db8::1]:53", "2001:db8::1", and NSD's and Knot's ADDR@PORT → host and port. */
function parsePrimary(s: string, spec: string): { host: string; port: number } {
  let host = s, port = DNS_PORT;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const at = s.lastIndexOf('@');
  if (v6) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (at > 0) {
    host = s.slice(0, at);
    port = /^\d+$/.test(s.slice(at + 1)) ? Number(s.slice(at + 1)) : NaN;
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const [h, p] = s.split(':');
    host = h!;
    port = /^\d+$/.test(p!) ? Number(p) : NaN;
  }
  if (isIP(host) === 0) {
    throw new UsageError(`--secondary ${spec}: "${host}" is not an IP address (the primary is named by its address, as NSD's request-xfr: ADDR, ADDR:PORT, ADDR@PORT or [IPV6]:PORT)`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--secondary ${spec}: "${s}" has no valid port`);
  return { host, port };
}

/**
 * --secondary ZONE=ADDR[:PORT][,key=NAME] (repeatable: a zone given twice has two primaries,
 * asked in order) with the keys of --tsig-key NAME:ALGORITHM:BASE64.
 */
export function secondaryZones(specs: readonly string[], keys: readonly string[]): SecondaryZone[] {
  const byName = new Map<string, TsigKey>();
  for (const k of keys) {
    let key: TsigKey;
    try {
      key = parseTsigKey(k);
    } catch (e) {
      throw new UsageError(`--tsig-key ${k.replace(/:[^:]*$/, ':…')}: ${(e as Error).message}`);
    }
    if (byName.has(key.name.toLowerCase())) throw new UsageError(`--tsig-key ${key.name}: given twice`);
    byName.set(key.name.toLowerCase(), key);
  }
  const zones = new Map<string, SecondaryZone>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new UsageError(`--secondary ${spec}: expected ZONE=ADDR[:PORT][,key=NAME]`);
    const zone = canonicalZone(spec.slice(0, eq), '--secondary');
    const [where, ...opts] = spec.slice(eq + 1).split(',');
    const p = parsePrimary(where!.trim(), spec);
    let key: TsigKey | undefined;
    for (const opt of opts) {
      const m = /^\s*key=(.+?)\s*$/.exec(opt);
      if (!m) throw new UsageError(`--secondary ${spec}: "${opt}" is not key=NAME`);
      key = byName.get(m[1]!.toLowerCase());
      if (!key) throw new UsageError(`--secondary ${spec}: no --tsig-key named ${m[1]}`);
    }
    const z = zones.get(zone) ?? { zone, primaries: [] };
    z.primaries.push({ ...p, ...(key ? { key } : {}) });
    zones.set(zone, z);
  }
  return [...zones.values()];
}

/** --state-dir's default: NSD keeps its zones under /var/lib/nsd; ours under /var/lib/appliance as root, else the user's state directory. */
export function defaultStateDir(): string {
  // systemd's StateDirectory= says where (deploy/*.service).
  if (process.env.STATE_DIRECTORY) return process.env.STATE_DIRECTORY.split(':')[0]!;
  if (process.getuid?.() === 0) return '/var/lib/appliance';
  return join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'appliance');
}

/** dist/compile-worker.js next to the bundled CLI, or the transpiled module beside this one. */
function compileScript(): string {
  const p = fileURLToPath(new URL('./compile-worker.js', import.meta.url));
  if (!existsSync(p)) throw new ApplianceError('APPL_ERR_SECONDARY', `the compile worker script is missing (looked for ${p}); run "npm run build"`);
  return p;
}

/**
 * The compile worker (compile-worker.ts) for one job: resolves once the image is compiled,
 * with `written`, which settles once the changed zone's copy is on disk. A zone it refuses
 * is an APPL_ERR_SECONDARY with the build's message (file:line and what is wrong); an IXFR
 * that does not apply to the kept copy carries ixfrMismatch.
 */
export function compileInWorker(): (job: CompileJob, signal: AbortSignal) => Promise<CompileResult> {
  const script = compileScript();
  const refused = (f: CompileFailure): ApplianceError =>
    Object.assign(new ApplianceError('APPL_ERR_SECONDARY', `the compiler refused the zones (${f.code}): ${f.message.slice(0, 2000)}`), { ixfrMismatch: f.ixfrMismatch });
  return (job, signal) => new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ApplianceError('APPL_ERR_XFR_ABORTED', 'serve is stopping'));
    const transfer = job.write ? [job.write.records, job.write.ixfr?.soa, ...(job.write.ixfr?.diffs ?? []).flatMap((d) => [d.deleted, d.added])]
      .filter((b): b is Uint8Array => b !== undefined).map((b) => b.buffer as ArrayBuffer) : [];
    const w = new Worker(script, { workerData: job, transferList: transfer });
    // serve stopping: the compile is dropped (its outputs are temporary files, removed or replaced later).
    const onAbort = (): void => { void w.terminate(); };
    signal.addEventListener('abort', onAbort, { once: true });
    let compiled = false;
    let wrote: (ms: number) => void = () => undefined;
    let notWritten: (e: Error) => void = () => undefined;
    const written = new Promise<number>((res, rej) => { wrote = res; notWritten = rej; });
    written.catch(() => undefined); // read by the caller after it swapped the image in
    if (!job.write) wrote(0);
    w.on('message', (m: CompileReply) => {
      if ('compiled' in m) {
        compiled = true;
        resolve({ seconds: m.compiled.seconds, written });
      } else if ('written' in m) {
        wrote(m.written.ms);
      } else if (m.stage === 'compile') {
        reject(refused(m.failed));
      } else {
        notWritten(new ApplianceError('APPL_ERR_SECONDARY', `the new copy could not be written (${m.failed.code}): ${m.failed.message}`));
      }
    });
    w.once('error', (e) => {
      const err = new ApplianceError('APPL_ERR_SECONDARY', `the compile worker failed: ${e.message}`);
      if (compiled) notWritten(err);
      else reject(err);
    });
    w.once('exit', (code) => {
      signal.removeEventListener('abort', onAbort);
      const err = new ApplianceError('APPL_ERR_SECONDARY', `the compile worker exited (${code}) before it answered`);
      if (!compiled) reject(err);
      notWritten(err); // no effect once written
    });
  });
}
