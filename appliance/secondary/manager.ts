// Secondary zones: kept current from their primaries (RFC 1996 NOTIFY, RFC 1035 §4.3.5
// SOA timers, RFC 1995 IXFR, RFC 5936 AXFR), compiled by the build's compiler, linked into
// the served image and swapped in by the zero-loss reload. Runs in serve's main thread,
// over kernel sockets: the fused workers never transfer anything.
//
// The state directory (--state-dir) holds, per zone, the zone as transferred (a zone file
// NSD or the appliance's build could read) and what the timers need across a restart:
//
//   DIR/zones/example.org.zone    the records, one per line ($ORIGIN, absolute owners)
//   DIR/zones/example.org.json    { serial, lastOk } (when the primary last confirmed it)
//   DIR/secondary.img             the secondaries compiled (`build --zone ...`)
//   DIR/served.img                the image served: the operator's linked with it
//
// A restart serves the kept copies at once, before any primary answers; a zone past its
// SOA expire since lastOk, or never transferred, answers SERVFAIL (a stub compiled with
// the zone flag, specializers/image/link.ts), as NSD's does.
//
// Per zone, one check at a time (a NOTIFY during one asks for one more afterwards):
//   SOA query to each primary in turn → newer serial (RFC 1982) or no copy → IXFR when a
//   copy is kept (AXFR when refused, or when the primary answers in AXFR form) → in the
//   compile worker, the new zone text beside the old (an IXFR applied to the kept copy
//   there: zone-diff.ts) and every secondary compiled → link → reload. Only when all of
//   that succeeded does the new text replace the old; any failure (a primary down, a bad
//   TSIG, a transfer cut halfway, a zone the compiler refuses) is logged with its code,
//   counted, retried after the SOA's RETRY, and the old zone goes on being served.

import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ApplianceError, isApplianceError } from '../../basics/errors.js';
import { errorFields, type Logger } from '../log.js';
import { loadImage } from '../../specializers/image/format.js';
import { linkImages } from '../../specializers/image/link.js';
import { querySoa, serialGreater, transfer, type Primary, type Transfer } from './xfr.js';
import type { WireRecord } from './wire-records.js';
import { packRecords, readKept, soaOf, type Soa, type ZoneWrite } from './zone-diff.js';
import type { CompileJob } from './compile-worker.js';
import type { SecondaryInfo } from '../worker/metrics.js';

export interface SecondaryZone {
  /** The zone, lower case, absolute ("example.org."). */
  zone: string;
  /** Asked in this order; NOTIFY is taken from any of them. */
  primaries: Primary[];
}

export interface CompileResult {
  seconds: number;
  /** Settles once the changed zone's new copy is on disk (the ms its text took), or with why it is not. */
  written: Promise<number>;
}

export interface SecondaryOptions {
  zones: SecondaryZone[];
  stateDir: string;
  /** The operator's image, linked with the secondaries; null: secondaries only. */
  baseImage: string | null;
  /** Writes the job's zone copy, then builds its zones into an image at its output with the build's compiler (serve: options.ts compileInWorker). */
  compile: (job: CompileJob, signal: AbortSignal) => Promise<CompileResult>;
  /** Has the servers take DIR/served.img (the zero-loss reload); rejects when they refused it. */
  apply: (why: string) => Promise<void>;
  log: Logger;
  /** Wall clock, ms (tests). */
  now?: () => number;
  /** SOA query and transfer limits (tests shorten them). */
  soaTimeoutMs?: number;
  transferTimeoutMs?: number;
}

/** What `appliance stats` and the metrics show per zone (metrics.ts), and the transfers in all. */
export type SecondaryStatus = Required<SecondaryInfo> & { transfers: number };

interface ZoneState {
  cfg: SecondaryZone;
  /**
   * The kept copy's SOA record, null when there is no copy. The records themselves stay on
   * disk: read back only to apply an IXFR (a million names as objects would be some 300 MB
   * of serve's heap for good).
   */
  soaRecord: WireRecord | null;
  soa: Soa | null;
  lastOk: number | null;
  expired: boolean;
  status: SecondaryStatus;
  timer: NodeJS.Timeout | null;
  expireTimer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  again: boolean;
  /** When a NOTIFY was last logged (performance.now()). */
  notifyLoggedAt: number;
  /** The lastOk the timers' file holds. */
  metaWrittenAt: number;
}

/** Timers are at least a second and at most what setTimeout holds (24.8 days). */
const MIN_TIMER_S = 1;
const MAX_TIMER_S = 2_147_483;

/** A file name for a zone in the state directory: its name without the final dot, bytes outside [a-z0-9._-] as %XX. */
export function zoneFileBase(zone: string): string {
  if (zone === '.') return '@root'; // '@' is escaped in every other name: no zone's file is called so
  return zone.replace(/\.$/, '').replace(/[^a-z0-9._-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export class SecondaryManager {
  readonly servedFile: string;
  readonly stateDir: string;
  private readonly secondaryFile: string;
  private readonly zonesDir: string;
  private readonly zones = new Map<string, ZoneState>();
  private readonly now: () => number;
  /** Links and reloads, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** run() was called: the servers are up and apply() reaches them. */
  private running = false;
  /** Aborts transfers and compiles under way at stop(). */
  private readonly abort = new AbortController();
  /** DIR/serve.pid, once taken (lock()). */
  private locked: string | null = null;

  constructor(private readonly o: SecondaryOptions) {
    this.now = o.now ?? Date.now;
    this.stateDir = o.stateDir;
    this.zonesDir = join(o.stateDir, 'zones');
    this.servedFile = join(o.stateDir, 'served.img');
    this.secondaryFile = join(o.stateDir, 'secondary.img');
    for (const cfg of o.zones) {
      this.zones.set(cfg.zone, {
        cfg, soaRecord: null, soa: null, lastOk: null, expired: false, timer: null, expireTimer: null, running: null, again: false, notifyLoggedAt: -Infinity, metaWrittenAt: 0,
        status: {
          zone: cfg.zone, serial: null, state: 'pending', lastCheck: null, lastTransfer: null, lastOk: null, lastError: null,
          checks: 0, transfers: 0, ixfr: 0, axfr: 0, failures: 0, notifies: 0, compileSeconds: null,
        },
      });
    }
  }

  /** The zones and the addresses NOTIFY is taken from (for the servers' gates). */
  notifySources(): Array<{ zone: string; addrs: string[] }> {
    return [...this.zones.values()].map((z) => ({ zone: z.cfg.zone, addrs: z.cfg.primaries.map((p) => p.host) }));
  }

  /**
   * Reads the kept copies, compiles them (stubs for zones without one) and links DIR/served.img.
   * Serve then loads that file; start() does not wait for any primary. Call run() after the
   * servers are up: it starts the first checks.
   */
  async start(): Promise<void> {
    try {
      mkdirSync(this.zonesDir, { recursive: true, mode: 0o750 });
    } catch (e) {
      throw new ApplianceError('APPL_ERR_SECONDARY', `--state-dir ${this.o.stateDir}: cannot create ${this.zonesDir} ` +
        `(${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a directory serve may write with --state-dir`);
    }
    this.lock();
    this.snapshotBase();
    for (const z of this.zones.values()) this.loadKept(z);
    try {
      await this.rebuild(null, null);
    } catch (e) {
      if (!isApplianceError(e) || e.code !== 'APPL_ERR_SECONDARY') throw e;
      // Kept copies the compiler refuses (a newer build's checks, an edited file): each is
      // tried alone, and those refused are served as never transferred (SERVFAIL) until
      // their primaries send them again.
      for (const z of this.zones.values()) {
        if (z.soaRecord === null) continue;
        const alone = join(this.o.stateDir, 'check.img');
        try {
          await this.o.compile({ zones: [{ origin: z.cfg.zone, file: this.zoneFile(z) }], output: alone }, this.abort.signal);
        } catch (why) {
          this.o.log.error({ zone: z.cfg.zone, ...errorFields(why) }, `the kept copy of ${z.cfg.zone} does not compile; it will be transferred again`);
          z.soaRecord = null;
          z.soa = null;
          z.status.serial = null;
          z.status.state = 'pending';
        } finally {
          rmSync(alone, { force: true });
        }
      }
      await this.rebuild(null, null);
    }
  }

  /**
   * DIR/serve.pid names the serve that keeps DIR: a second one would write the same
   * served.img and zone copies under the first. One whose process is gone (a crash) is
   * replaced; stop() removes ours.
   */
  private lock(): void {
    const file = join(this.o.stateDir, 'serve.pid');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o640);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.locked = file;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number(readFileSync(file, 'utf8').trim());
      let alive = false;
      try {
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) alive = process.kill(pid, 0);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw new ApplianceError('APPL_ERR_SECONDARY', `--state-dir ${this.o.stateDir} is kept by another serve (pid ${pid}); give each its own`);
      rmSync(file, { force: true });
    }
    throw new ApplianceError('APPL_ERR_SECONDARY', `--state-dir ${this.o.stateDir}: cannot take ${file}`);
  }

  /**
   * The operator's image as it is now, copied into the state directory: every link reads
   * the copy, so that an image rebuilt in place is taken only when SIGHUP (or POST /reload)
   * says so, as without secondaries.
   */
  private snapshotBase(): void {
    if (this.o.baseImage === null) return;
    const tmp = this.baseCopy + '.tmp';
    copyFileSync(this.o.baseImage, tmp);
    renameSync(tmp, this.baseCopy);
  }

  /** Starts every zone's first check (now) and its timers. */
  run(): void {
    this.running = true;
    for (const z of this.zones.values()) {
      this.armExpiry(z);
      this.schedule(z, 0);
    }
  }

  /** A NOTIFY from one of the zone's primaries (the gate checked the source): check now. */
  notify(zone: string, from: string): void {
    const z = this.zones.get(zone);
    // Before run(): the first check, at run(), is soon enough.
    if (!z || this.stopped || !this.running) return;
    z.status.notifies++;
    // At most one line a second per zone: NOTIFY is UDP, and a flood of it from a primary's address costs no more than a check at a time.
    const now = performance.now();
    if (now - z.notifyLoggedAt >= 1000) {
      z.notifyLoggedAt = now;
      this.o.log.info({ zone, from }, 'NOTIFY taken: checking the zone now');
    }
    if (z.running) z.again = true;
    else this.schedule(z, 0);
  }

  /** The operator's image changed (SIGHUP): link it again with the secondaries as they are, then reload. */
  relinkBase(why: string): Promise<void> {
    return this.serialize(async () => {
      this.snapshotBase();
      this.link();
      await this.o.apply(why);
    }).catch((e: unknown) => {
      this.o.log.error({ why, ...errorFields(e), code: isApplianceError(e) ? e.code : undefined }, 'the image was not linked with the secondary zones; still serving the last one');
      throw e;
    });
  }

  /** A line per zone for serve's banner. */
  describe(): string[] {
    const lines = [...this.zones.values()].map((z) => `      secondary ${z.cfg.zone} from ${z.cfg.primaries.map((p) => `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}${p.key ? ` (TSIG ${p.key.name})` : ''}`).join(', ')}: ` +
      (z.soaRecord ? `serial ${z.soa!.serial} kept${z.expired ? ', expired (SERVFAIL until the primary answers)' : ''}` : 'not transferred yet (SERVFAIL until it is)'));
    return [...lines, `      secondary zones kept in ${this.o.stateDir}`];
  }

  status(): SecondaryStatus[] {
    return [...this.zones.values()].map((z) => ({ ...z.status }));
  }

  /** Stops the timers, aborts the transfers and compiles under way, and waits for what links or reloads to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    for (const z of this.zones.values()) {
      if (z.timer) clearTimeout(z.timer);
      if (z.expireTimer) clearTimeout(z.expireTimer);
    }
    await this.chain.catch(() => undefined);
    if (this.locked !== null) rmSync(this.locked, { force: true });
    this.locked = null;
  }

  // ───────────────────────── the kept copies ─────────────────────────

  private zoneFile(z: ZoneState): string { return join(this.zonesDir, zoneFileBase(z.cfg.zone) + '.zone'); }
  private metaFile(z: ZoneState): string { return join(this.zonesDir, zoneFileBase(z.cfg.zone) + '.json'); }
  private stubFile(z: ZoneState): string { return join(this.zonesDir, zoneFileBase(z.cfg.zone) + '.stub'); }
  private get baseCopy(): string { return join(this.o.stateDir, 'base.img'); }

  private loadKept(z: ZoneState): void {
    const file = this.zoneFile(z);
    if (!existsSync(file)) return;
    try {
      const soaRec = readKept(file, z.cfg.zone)[0]!;
      z.soaRecord = soaRec;
      z.soa = soaOf(soaRec.rdata);
      let lastOk: number | null = null;
      try {
        const m = JSON.parse(readFileSync(this.metaFile(z), 'utf8')) as { lastOk?: unknown };
        if (typeof m.lastOk === 'number' && Number.isFinite(m.lastOk)) lastOk = m.lastOk;
      } catch {
        // No timers kept: the copy is as old as its file's last check can say; treat as just confirmed never.
      }
      // A time ahead of the clock (skew, an edited file) would never expire: now at most.
      if (lastOk !== null) lastOk = Math.min(lastOk, this.now());
      z.lastOk = lastOk;
      z.expired = lastOk === null || this.now() - lastOk > z.soa.expire * 1000;
      z.status.serial = z.soa.serial;
      z.status.lastOk = lastOk;
      z.status.state = z.expired ? 'expired' : 'ok';
      this.o.log.info({ zone: z.cfg.zone, serial: z.soa.serial, expired: z.expired }, `kept copy of ${z.cfg.zone} read from ${file}`);
    } catch (e) {
      this.o.log.error({ zone: z.cfg.zone, ...errorFields(e), code: isApplianceError(e) ? e.code : undefined }, `kept copy of ${z.cfg.zone} unreadable; it will be transferred again`);
      z.soaRecord = null;
      z.soa = null;
    }
  }

  /** The timers' state, written whole (a temporary file, synced, renamed): a power cut leaves the old or the new. */
  private writeMeta(z: ZoneState): void {
    const tmp = this.metaFile(z) + '.tmp';
    const fd = openSync(tmp, 'w', 0o640);
    try {
      writeSync(fd, JSON.stringify({ zone: z.cfg.zone, serial: z.soa?.serial ?? null, lastOk: z.lastOk }) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.metaFile(z));
    z.metaWrittenAt = z.lastOk ?? 0;
  }

  // ───────────────────────── checks and timers ─────────────────────────

  private schedule(z: ZoneState, seconds: number): void {
    if (this.stopped) return;
    if (z.timer) clearTimeout(z.timer);
    const s = Math.min(MAX_TIMER_S, Math.max(seconds === 0 ? 0 : MIN_TIMER_S, seconds));
    z.timer = setTimeout(() => { z.timer = null; void this.check(z); }, s * 1000);
    z.timer.unref();
  }

  private armExpiry(z: ZoneState): void {
    if (z.expireTimer) clearTimeout(z.expireTimer);
    z.expireTimer = null;
    if (this.stopped || z.soa === null || z.lastOk === null || z.expired) return;
    const left = z.lastOk + z.soa.expire * 1000 - this.now();
    z.expireTimer = setTimeout(() => { z.expireTimer = null; void this.expire(z); }, Math.min(MAX_TIMER_S * 1000, Math.max(0, left)));
    z.expireTimer.unref();
  }

  private async expire(z: ZoneState): Promise<void> {
    if (z.lastOk === null || z.soa === null || this.now() - z.lastOk < z.soa.expire * 1000) return this.armExpiry(z);
    z.expired = true;
    this.o.log.error({ zone: z.cfg.zone, serial: z.soa.serial, expire: z.soa.expire }, `${z.cfg.zone}: no primary has answered for its SOA expire; answering SERVFAIL`);
    await this.serialize(async () => {
      this.link();
      await this.o.apply(`${z.cfg.zone} expired`);
      z.status.state = 'expired';
    }).catch((e: unknown) => {
      // Not served SERVFAIL after all: said as it is, and tried again after the SOA's RETRY.
      z.expired = false;
      this.failed(z, e, 'link after expiry');
      if (!this.stopped) {
        z.expireTimer = setTimeout(() => { z.expireTimer = null; void this.expire(z); }, Math.max(MIN_TIMER_S, z.soa?.retry ?? 60) * 1000);
        z.expireTimer.unref();
      }
    });
  }

  /** One check of the zone; a second asked for meanwhile runs after it. */
  private check(z: ZoneState): Promise<void> {
    if (z.running) {
      z.again = true;
      return z.running;
    }
    const run = this.checkOnce(z).finally(() => {
      z.running = null;
      if (z.again && !this.stopped) {
        z.again = false;
        this.schedule(z, 0);
      }
    });
    z.running = run;
    return run;
  }

  private async checkOnce(z: ZoneState): Promise<void> {
    if (this.stopped) return;
    z.status.checks++;
    z.status.lastCheck = this.now();
    let lastError: unknown = null;
    for (const p of z.cfg.primaries) {
      try {
        const { serial } = await querySoa(z.cfg.zone, p, { timeoutMs: this.o.soaTimeoutMs ?? 5000 });
        if (this.stopped) return;
        if (z.soa !== null && z.soaRecord !== null && serial === z.soa.serial) {
          this.confirmed(z, 'serial unchanged');
        } else if (z.soa !== null && z.soaRecord !== null && !serialGreater(serial, z.soa.serial) && !z.expired) {
          // Older than ours (a primary restored from a backup, a stale node): no lease, as NSD's xfrd; an expired zone takes what there is.
          throw new ApplianceError('APPL_ERR_SECONDARY', `the primary's serial ${serial} is older than ours, ${z.soa.serial}`);
        } else {
          await this.fetch(z, p);
        }
        this.schedule(z, z.soa!.refresh);
        return;
      } catch (e) {
        lastError = e;
        this.failed(z, e, `${p.host}:${p.port}`);
      }
    }
    this.schedule(z, z.soa?.retry ?? 60);
    void lastError;
  }

  /** The primary confirmed our serial: the expire clock starts again; an expired zone serves again. */
  private confirmed(z: ZoneState, why: string, force = false): void {
    z.lastOk = this.now();
    z.status.lastOk = z.lastOk;
    z.status.lastError = null;
    // Written when it moved on by a minute or more (or the copy changed): a NOTIFY flood is not a write each.
    if (force || z.lastOk - z.metaWrittenAt >= 60_000) this.writeMeta(z);
    if (z.expired) {
      z.expired = false;
      this.o.log.info({ zone: z.cfg.zone, why }, `${z.cfg.zone}: the primary answers again; serving the kept copy`);
      void this.serialize(async () => { this.link(); await this.o.apply(`${z.cfg.zone} current again`); z.status.state = 'ok'; })
        .catch((e: unknown) => { z.expired = true; this.failed(z, e, 'link'); });
    }
    this.armExpiry(z);
  }

  private async fetch(z: ZoneState, p: Primary): Promise<void> {
    const have = z.soa !== null && z.soaRecord !== null ? { serial: z.soa.serial, soa: z.soaRecord } : undefined;
    const timeoutMs = this.o.transferTimeoutMs;
    const started = performance.now();
    const t = await transfer(z.cfg.zone, p, have, { signal: this.abort.signal, ...(timeoutMs ? { timeoutMs } : {}) });
    if (this.stopped) return;
    if (t.kind === 'uptodate') {
      this.confirmed(z, 'IXFR: up to date');
      return;
    }
    const xferMs = performance.now() - started;
    try {
      await this.install(z, p, t, xferMs);
    } catch (e) {
      if (t.kind !== 'ixfr' || (e as { ixfrMismatch?: boolean }).ixfrMismatch !== true) throw e;
      this.o.log.warn({ zone: z.cfg.zone, ...errorFields(e) }, 'IXFR does not apply to the kept copy; asking for the whole zone');
      const again = performance.now();
      const whole = await transfer(z.cfg.zone, p, undefined, { signal: this.abort.signal, ...(timeoutMs ? { timeoutMs } : {}) });
      if (whole.kind !== 'axfr') throw new ApplianceError('APPL_ERR_SECONDARY', `${z.cfg.zone}: AXFR answered as ${whole.kind}`);
      await this.install(z, p, whole, performance.now() - again);
    }
  }

  /**
   * A transfer made the zone's new copy (written by the compile worker beside the old),
   * compiled with the others, linked and served; the copy replaces the old one only then.
   */
  private async install(z: ZoneState, p: Primary, t: Extract<Transfer, { kind: 'axfr' | 'ixfr' }>, xferMs: number): Promise<void> {
    const soaRec = t.kind === 'axfr' ? t.records[0] : t.soa;
    if (!soaRec || soaRec.type !== 6) throw new ApplianceError('APPL_ERR_SECONDARY', `${z.cfg.zone}: the transfer does not start with the SOA`);
    const soa = soaOf(soaRec.rdata);
    if (z.soa !== null && z.soaRecord !== null && !z.expired && !serialGreater(soa.serial, z.soa.serial)) {
      // The primary changed between its SOA answer and the transfer: never older data over newer.
      throw new ApplianceError('APPL_ERR_SECONDARY', `the transfer gave serial ${soa.serial}, not newer than ours, ${z.soa.serial}`);
    }
    const next = this.zoneFile(z) + '.new';
    const write: ZoneWrite = t.kind === 'axfr'
      ? { origin: z.cfg.zone, file: next, records: packRecords(t.records) }
      : {
        origin: z.cfg.zone, file: next,
        ixfr: { kept: this.zoneFile(z), soa: packRecords([t.soa]), diffs: t.diffs.map((d) => ({ from: d.from, to: d.to, deleted: packRecords(d.deleted), added: packRecords(d.added) })) },
      };
    const records = t.kind === 'axfr' ? t.records.length : null;
    await this.serialize(async () => {
      if (this.stopped) return;
      const t0 = performance.now();
      const r = await this.rebuild(z, next, write);
      const t1 = performance.now();
      try {
        await this.o.apply(`${z.cfg.zone} serial ${soa.serial}`);
      } catch (e) {
        // The servers kept the old image: so do the state and the files (secondary.img and served.img again from the kept copies).
        rmSync(next, { force: true });
        void r.written.catch(() => undefined);
        await this.rebuild(null, null).catch(() => undefined);
        throw e;
      }
      const t2 = performance.now();
      // The copy was written while the servers switched. Served but not kept: the state stays
      // at the old serial, so the next check transfers the zone again (and a restart serves the old copy).
      const writeMs = await r.written.catch((e: unknown) => {
        rmSync(next, { force: true });
        throw e;
      });
      renameSync(next, this.zoneFile(z));
      z.soaRecord = soaRec;
      z.soa = soa;
      z.status.serial = soa.serial;
      z.status.lastTransfer = this.now();
      z.status.transfers++;
      if (t.kind === 'ixfr') z.status.ixfr++;
      else z.status.axfr++;
      z.expired = false;
      z.status.state = 'ok';
      this.confirmed(z, 'transferred', true);
      // Where the time went, from the transfer's start to the servers' switch.
      this.o.log.info({
        zone: z.cfg.zone, serial: soa.serial, kind: t.kind, records, transferMs: Math.round(xferMs), compileSeconds: z.status.compileSeconds,
        linkMs: Math.round(t1 - t0 - r.seconds * 1000), reloadMs: Math.round(t2 - t1), writeMs: Math.round(writeMs), keptAfterMs: Math.round(performance.now() - t2),
        from: `${p.host}:${p.port}`,
      }, `${z.cfg.zone}: serial ${soa.serial} served (${t.kind})`);
    });
  }

  private failed(z: ZoneState, e: unknown, where: string): void {
    z.status.failures++;
    z.status.lastError = `${isApplianceError(e) ? e.code + ': ' : ''}${(e as Error).message ?? String(e)}`;
    this.o.log.error({ zone: z.cfg.zone, where, ...errorFields(e), code: isApplianceError(e) ? e.code : undefined },
      `${z.cfg.zone}: check failed; ${z.soaRecord ? `still serving serial ${z.soa?.serial}` : 'nothing to serve yet (SERVFAIL)'}`);
  }

  // ───────────────────────── compile and link ─────────────────────────

  private serialize<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.catch(() => undefined).then(f);
    this.chain = run;
    return run;
  }

  /**
   * Compiles every secondary (`candidate`'s new text for zone `changed`; stubs for zones
   * without a copy) into DIR/secondary.img, then links DIR/served.img. Throws (nothing
   * served changes) when the compiler refuses.
   */
  private async rebuild(changed: ZoneState | null, candidate: string | null, write?: ZoneWrite): Promise<CompileResult> {
    const specs: Array<{ origin: string; file: string }> = [];
    for (const z of this.zones.values()) {
      let file: string;
      if (z === changed && candidate !== null) file = candidate;
      else if (z.soaRecord !== null) file = this.zoneFile(z);
      else file = this.writeStub(z);
      specs.push({ origin: z.cfg.zone, file });
    }
    const tmp = this.secondaryFile + '.next';
    rmSync(tmp, { force: true });
    let r: CompileResult;
    try {
      r = await this.o.compile({ zones: specs, output: tmp, ...(write ? { write } : {}) }, this.abort.signal);
    } catch (e) {
      rmSync(tmp, { force: true });
      if (candidate !== null) rmSync(candidate, { force: true });
      throw e;
    }
    renameSync(tmp, this.secondaryFile);
    if (changed) changed.status.compileSeconds = r.seconds;
    this.link(changed && candidate ? changed : null);
    return r;
  }

  /** Links the operator's image with DIR/secondary.img into DIR/served.img (zones without data flagged SERVFAIL). */
  private link(fresh: ZoneState | null = null): void {
    const servfail = new Set<string>();
    for (const z of this.zones.values()) if (z !== fresh && (z.soaRecord === null || z.expired)) servfail.add(z.cfg.zone);
    const base = this.o.baseImage !== null ? loadImage(this.baseCopy) : null;
    linkImages({ base, add: loadImage(this.secondaryFile), output: this.servedFile, servfail });
  }

  /** A zone with nothing but its SOA and NS, for a secondary not transferred yet: compiled, flagged SERVFAIL. */
  private writeStub(z: ZoneState): string {
    const file = this.stubFile(z);
    writeFileSync(file, `$ORIGIN ${z.cfg.zone}\n@ 0 IN SOA invalid. invalid. 0 3600 600 86400 0\n@ 0 IN NS invalid.\n`);
    return file;
  }
}
