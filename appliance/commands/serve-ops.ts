// What `appliance serve` does around the serving itself, on both backends: the signals an
// operator sends (SIGHUP reloads the image, SIGUSR1 reopens the log files, SIGINT and
// SIGTERM stop), the reload's bookkeeping and log lines, the image's description for the
// metrics, and dropping root after the ports are bound (--user).

import { execFileSync } from 'node:child_process';
import { lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApplianceError, UsageError, isApplianceError } from '../../basics/errors.js';
import type { Image } from '../../specializers/image/format.js';
import { errorFields, type Logger } from '../log.js';
import { zoneSerials } from '../dns/serials.js';
import type { ImageInfo, ServerInfo } from '../worker/metrics.js';

export function imageInfo(img: Image): ImageInfo {
  return { file: img.file, sha256: img.hash, builtAt: img.meta.builtAt, zones: zoneSerials(img) };
}

/**
 * Reloads, one at a time, counted and logged: a refused image is logged with why, and the
 * image served before goes on.
 */
export class Reloads {
  ok = 0;
  failed = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: Logger, private readonly swap: () => Promise<Image>, private current: ImageInfo) {}

  get image(): ImageInfo {
    return this.current;
  }

  /** The reload waiting behind the one running, which later asks join (at most one waits). */
  private waiting: Promise<ImageInfo> | null = null;

  run(why: string): Promise<ImageInfo> {
    if (this.waiting !== null) return this.waiting;
    const next = this.chain.catch(() => undefined).then(async () => {
      this.waiting = null;
      const started = performance.now();
      try {
        const img = await this.swap();
        this.current = imageInfo(img);
        this.ok++;
        this.log.info({ why, image: this.current.sha256, built: this.current.builtAt, zones: this.current.zones, ms: Math.round(performance.now() - started) },
          `reloaded ${img.file}`);
        return this.current;
      } catch (e) {
        this.failed++;
        this.log.error({ why, ...errorFields(e), code: isApplianceError(e) ? e.code : undefined },
          `reload refused; still serving ${this.current.sha256.slice(0, 16)}…`);
        throw e;
      }
    });
    this.chain = next;
    this.waiting = next;
    return next;
  }

  info(backend: ServerInfo['backend'], startedAt: number): ServerInfo {
    return { backend, startedAt, image: this.current, reloads: { ok: this.ok, failed: this.failed } };
  }
}

export interface Signals {
  /** SIGHUP. */
  reload: () => void;
  /** SIGUSR1. */
  reopen: () => void;
}

const IGNORED: Signals = { reload: () => undefined, reopen: () => undefined };
let targets: Signals = IGNORED;
let guarded = false;

/**
 * SIGHUP and SIGUSR1 handled from the first moment of serve to its last, doing nothing
 * outside untilStopSignal(): without a handler, SIGHUP ends the process, and SIGUSR1 starts
 * Node's inspector on 127.0.0.1:9229 (code run with the xdp backend's capabilities) — and
 * logrotate or systemctl reload may send one while serve starts or stops.
 */
export function guardSignals(): void {
  if (guarded) return;
  guarded = true;
  process.on('SIGHUP', () => targets.reload());
  process.on('SIGUSR1', () => targets.reopen());
}

/**
 * Until SIGINT or SIGTERM (resolves with its name), SIGHUP and SIGUSR1 call their handlers;
 * then they are ignored again (guardSignals). `stopEarly` settling ends the wait too ('failure').
 */
export function untilStopSignal(on: Signals, stopEarly?: Promise<unknown>): Promise<string> {
  guardSignals();
  targets = on;
  return new Promise((resolve) => {
    const done = (sig: string): void => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
      targets = IGNORED;
      resolve(sig);
    };
    const int = (): void => done('SIGINT');
    const term = (): void => done('SIGTERM');
    process.on('SIGINT', int);
    process.on('SIGTERM', term);
    stopEarly?.then(() => done('failure'), () => done('failure'));
  });
}

/**
 * Counters that say a limit bit (a connection refused or evicted at a cap, SYNs shed, a
 * buffer spent, a full ring, log records lost, answers rate-limited): by the end of a name,
 * and what to tell the operator.
 */
const LIMITS: ReadonlyArray<[RegExp, string]> = [
  [/(^|_)(refused_at_cap|evicted_at_cap|table_full)$/, 'connections at --max-connections: some refused or the idlest closed'],
  [/(^|_)(refused_per_source|evicted_per_source)$/, 'connections at --max-connections-per-source for some sources'],
  [/(^|_)half_open_limit$/, 'half-open TCP connections at their limit (a SYN flood?): SYN cookies answer'],
  [/(^|_)syns_shed$/, 'the worker fell behind: new connections were shed'],
  [/(^|_)(buffer_exhausted|blocks_exhausted|head_blocks_exhausted)$/, 'buffers spent: connections reset'],
  [/^(tx_ring_full|dev_rx_ring_full)$/, 'a NIC ring was full: frames dropped'],
  [/^log_records_lost$/, 'log records lost: the log ring was full (the logs cannot keep up; sample the query log)'],
  [/^rrl_dropped$/, 'response rate limiting dropped answers'],
];

/**
 * Every `everyMs`, logs once per counter family that moved since the last look: a limit
 * that bites is said in the log (at most one line per limit per period), not only counted.
 */
export function watchLimits(totals: () => Record<string, number>, log: Logger, everyMs = 10_000): () => void {
  let last = totals();
  const timer = setInterval(() => {
    const now = totals();
    const moved = new Map<string, Record<string, number>>();
    for (const [name, v] of Object.entries(now)) {
      const d = v - (last[name] ?? 0);
      if (d <= 0) continue;
      const limit = LIMITS.find(([re]) => re.test(name));
      if (!limit) continue;
      const m = moved.get(limit[1]) ?? {};
      m[name] = d;
      moved.set(limit[1], m);
    }
    for (const [what, counts] of moved) log.warn({ counts, seconds: everyMs / 1000 }, what);
    last = now;
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * --user NAME[:GROUP]: once the ports are bound, the process becomes that user (its group,
 * or GROUP, and the user's supplementary groups). Needs root (or CAP_SETUID and CAP_SETGID).
 */
export function dropPrivileges(spec: string, log: Logger): void {
  const [user, group] = spec.split(':');
  if (!user) throw new UsageError(`--user ${spec}: expected USER or USER:GROUP`);
  if (typeof process.setuid !== 'function') throw new UsageError('--user: this platform cannot change user');
  try {
    const gid = group ?? groupOf(user);
    // (Node has initgroups on POSIX; @types/node 20 does not declare it.)
    (process as unknown as { initgroups: (user: string, group: number | string) => void }).initgroups(user, gid);
    process.setgid!(gid);
    process.setuid!(user);
  } catch (e) {
    throw new ApplianceError('APPL_ERR_USAGE', `--user ${spec}: cannot become that user (${(e as Error).message}); ` +
      'start as root, or with CAP_SETUID and CAP_SETGID', { cause: e });
  }
  log.info({ uid: process.getuid!(), gid: process.getgid!() }, `running as ${spec} from now on`);
}

/**
 * Gives DIR and everything in it to USER (its primary group, or GROUP), before serve drops
 * to that user: what serve keeps there (the secondary zones) is written as that user later.
 */
export function giveTree(dir: string, spec: string): void {
  const [user, group] = spec.split(':');
  if (!user) throw new UsageError(`--user ${spec}: expected USER or USER:GROUP`);
  let uid: number, gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = group !== undefined ? (/^\d+$/.test(group) ? Number(group) : Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2])) : groupOf(user);
  } catch {
    throw new UsageError(`--user ${spec}: no such user or group`);
  }
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    lchownSync(p, uid, gid);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
}

/** A user's primary group, by name or number (`id -g`). */
function groupOf(user: string): number {
  try {
    return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  } catch {
    throw new UsageError(`--user ${user}: no such user`);
  }
}

