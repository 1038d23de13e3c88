// `appliance serve IMAGE`: the socket backend here; the xdp backend runs the fused stack.

import { ApplianceError, UsageError } from '../../basics/errors.js';
import { configureLogging, type LogFormat, type Logger } from '../log.js';
import { collectGarbage } from '../../basics/gc.js';
import { Reloads, dropPrivileges, giveTree, guardSignals, imageInfo, untilStopSignal, watchLimits } from './serve-ops.js';
import { LogDrain, LogFile, type AccessFormat, type LogTargets, type QueryFormat } from './log-files.js';
import { LogRing, QueryLog } from '../log-ring.js';
import { chaosStrings, type ChaosStrings } from '../dns/responder.js';
import { toolVersion } from '../../specializers/build.js';
import { availableParallelism, hostname } from 'node:os';
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { startDnsUdpPool, type DnsUdpPool } from '../backends/dns-udp-workers.js';
import { accessSync, constants as fsConstants } from 'node:fs';
import { dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseFaultSpec } from '../../netmap-binding/fault.js';
import { loadImage, type Image } from '../../specializers/image/format.js';
import { loadServedImage } from '../served-image.js';
import { HttpTables } from '../http/tables.js';
import { HttpSocketServer } from '../backends/socket-http.js';
import { DnsSocketServer } from '../backends/socket-dns.js';
import { DnsTables } from '../dns/tables.js';
import { CSUM_AUTO, CSUM_OFF, CSUM_STRICT } from '../wire/reasons.js';
import { RRL_DEFAULTS, parsePrefix, type RrlOptions } from '../dns/rrl.js';
import { NotifyGate } from '../dns/notify.js';
import { SecondaryManager } from '../secondary/manager.js';
import { compileInWorker, defaultStateDir, secondaryZones } from '../secondary/options.js';
import { checkDisjoint, zoneOrigins } from '../../specializers/image/link.js';
import type { ImageInfo, ServerInfo } from '../worker/metrics.js';

export interface ServeOptions {
  backend: 'socket' | 'xdp';
  /** Socket backend: where HTTP and DNS listen (each repeatable; default 127.0.0.1:8080, 127.0.0.1:5353). */
  http?: string[];
  dns?: string[];
  logLevel?: string;
  logFormat?: LogFormat;
  /** Socket backend: DNS-over-UDP worker threads (0: node:dgram in the main thread; default: one per CPU). */
  workers?: number;
  /** Socket backend: the user (USER or USER:GROUP) to become once the ports are bound. */
  user?: string;
  /** The HTTP access log and its format; the DNS query log, its format, and the share of queries it logs. */
  accessLog?: string;
  accessLogFormat?: AccessFormat;
  queryLog?: string;
  queryLogFormat?: QueryFormat;
  queryLogSample?: number;
  /** CHAOS TXT (NSD's identity, hide-identity, version, hide-version). */
  identity?: string;
  hideIdentity?: boolean;
  versionString?: string;
  hideVersion?: boolean;
  iface?: string;
  addr: string[];
  queues?: number;
  cpus?: string;
  dnsPort: number;
  httpPort: number;
  verifyChecksums: 'auto' | 'strict' | 'off';
  netns?: string;
  metrics?: string;
  capture?: string;
  captureEvery: number;
  /** Tests only: a fault-injection spec (netmap-binding/fault.ts) wrapped around each queue's device. */
  fault?: string;
  captureLimit?: number;
  idleTimeout: number;
  headerTimeout: number;
  dnsMessageTimeout: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** Response rate limiting, as given on the command line (checked by rrlOptions()). */
  rrlRate?: string;
  rrlSlip?: string;
  rrlIpv4Prefix?: string;
  rrlIpv6Prefix?: string;
  rrlSize?: string;
  rrlExempt?: string[];
  /** Secondary zones: ZONE=ADDR[:PORT][,key=NAME] (repeatable), the TSIG keys, where their copies are kept. */
  secondary?: string[];
  tsigKey?: string[];
  stateDir?: string;
}

/** The largest --rrl-size: the limiter's own cap (2^26 buckets, 2 GiB). */
const RRL_MAX_SIZE = 1 << 26;

/**
 * The RRL options of serve's flags, checked: NSD's defaults (RRL_DEFAULTS) where a flag is
 * not given. A bad value is APPL_ERR_USAGE naming the flag.
 */
export function rrlOptions(o: Pick<ServeOptions, 'rrlRate' | 'rrlSlip' | 'rrlIpv4Prefix' | 'rrlIpv6Prefix' | 'rrlSize' | 'rrlExempt'>): RrlOptions {
  const int = (v: string | undefined, def: number, min: number, max: number, flag: string, what: string): number => {
    if (v === undefined) return def;
    const n = /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${v}: expected ${what}, a whole number from ${min} to ${max}`);
    return n;
  };
  const exempt = o.rrlExempt ?? [];
  for (const p of exempt) {
    try {
      parsePrefix(p.trim());
    } catch {
      throw new UsageError(`--rrl-exempt ${p}: not an IPv4 or IPv6 prefix (write it as 198.18.0.0/15, 2001:db8::/32, or one address)`);
    }
  }
  return {
    rate: int(o.rrlRate, RRL_DEFAULTS.rate, 0, 100_000_000, '--rrl-rate', 'responses per second per bucket (0 turns RRL off)'),
    slip: int(o.rrlSlip, RRL_DEFAULTS.slip, 0, 255, '--rrl-slip', 'one limited answer in N sent truncated (0: none, 1: all)'),
    ipv4PrefixLen: int(o.rrlIpv4Prefix, RRL_DEFAULTS.ipv4PrefixLen, 0, 32, '--rrl-ipv4-prefix', 'an IPv4 prefix length'),
    ipv6PrefixLen: int(o.rrlIpv6Prefix, RRL_DEFAULTS.ipv6PrefixLen, 0, 64, '--rrl-ipv6-prefix', 'an IPv6 prefix length'),
    size: int(o.rrlSize, RRL_DEFAULTS.size, 1, RRL_MAX_SIZE, '--rrl-size', 'buckets in the table'),
    exempt: exempt.map((p) => p.trim()),
  };
}

/** One line for the banner: what RRL does with these options. */
function rrlLine(r: RrlOptions, perWorker: boolean): string {
  if (r.rate === 0) return 'RRL   off (--rrl-rate 0)';
  const exempt = r.exempt && r.exempt.length > 0 ? `; exempt ${r.exempt.join(' ')}` : '';
  return `RRL   ${r.rate} responses/s per bucket (IPv4 /${r.ipv4PrefixLen}, IPv6 /${r.ipv6PrefixLen}), slip ${r.slip}${perWorker ? ', per worker' : ''}${exempt}`;
}

/** "127.0.0.1:8080", "[::1]:8080", ":8080" (all addresses) → host and port. */
export function parseHostPort(s: string, what: string): { host: string; port: number } {
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') throw new UsageError(`${what} ${s}: expected [IPV6]:PORT`);
    host = s.slice(1, close);
    port = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new UsageError(`${what} ${s}: expected ADDR:PORT`);
    host = s.slice(0, colon) || '0.0.0.0';
    port = s.slice(colon + 1);
  }
  const p = Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new UsageError(`${what} ${s}: ${port} is not a port number`);
  return { host, port: p };
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The secondary zones' manager, started: kept copies compiled and linked with the image
 * into the state directory's served.img, which is what serve then serves (null: none).
 */
async function startSecondaries(file: string | undefined, o: ServeOptions, log: Logger, apply: (why: string) => Promise<void>): Promise<SecondaryManager | null> {
  if (!o.secondary || o.secondary.length === 0) return null;
  const zones = secondaryZones(o.secondary, o.tsigKey ?? []);
  if (file !== undefined) checkDisjoint(imageZones(file), zones.map((z) => z.zone), file);
  const m = new SecondaryManager({
    zones, stateDir: o.stateDir ?? defaultStateDir(), baseImage: file ?? null, compile: compileInWorker(), apply,
    log: log.child({ part: 'secondary' }),
  });
  await m.start();
  return m;
}

function imageZones(file: string): string[] {
  return zoneOrigins(loadImage(file));
}

export async function runServe(file: string | undefined, o: ServeOptions): Promise<void> {
  guardSignals();
  // Lines on a stdout nobody reads any more (a pipe closed) are dropped, not fatal.
  process.stdout.on('error', () => undefined);
  const log = configureLogging({ level: o.logLevel, format: o.logFormat });
  const rrl = rrlOptions(o);
  const chaos = chaosStrings(o, hostname(), toolVersion());
  const targets = openLogs(o);
  const closeLogs = (): void => { targets.access?.file.close(); targets.query?.file.close(); };
  // The servers' reload, once they are up (the manager's transfers call it).
  let applyServed: (why: string) => Promise<void> = async () => undefined;
  const secondaries = await startSecondaries(file, o, log, (why) => applyServed(why)).catch((e: unknown) => { closeLogs(); throw e; });
  if (file === undefined && secondaries === null) throw new UsageError('serve needs an IMAGE, --secondary zones, or both');
  const served = secondaries ? secondaries.servedFile : file!;
  if (o.backend === 'xdp') {
    return runServeXdp(served, o, rrl, chaos, targets, log, secondaries, (f) => { applyServed = f; })
      .catch((e: unknown) => { closeLogs(); throw e; }).finally(() => secondaries?.stop());
  }
  try {
    return await runServeSocket(served, o, rrl, chaos, targets, log, closeLogs, secondaries, (f) => { applyServed = f; });
  } finally {
    await secondaries?.stop();
  }
}

async function runServeSocket(file: string, o: ServeOptions, rrl: RrlOptions, chaos: ChaosStrings, targets: LogTargets, log: Logger, closeLogs: () => void,
  secondaries: SecondaryManager | null, setApply: (f: (why: string) => Promise<void>) => void): Promise<void> {
  const startedAt = Date.now();
  const img = loadServedImage(file);
  const http = new HttpTables(img);
  const dns = new DnsTables(img);
  if (!http.hasSites && !dns.hasZones) throw new UsageError(`${file}: the image has nothing to serve`);
  const stops: Array<() => Promise<void>> = [];
  const lines: string[] = [];
  const httpServers: HttpSocketServer[] = [];
  const dnsServers: DnsSocketServer[] = [];
  const udpPools: DnsUdpPool[] = [];
  const udpWorkers = o.workers ?? availableParallelism();
  const sources: Array<{ name: string; stats: () => Record<string, number> }> = [];
  // The socket servers put log records in one ring, drained like a fused worker's.
  const ring = targets.access || targets.query ? new LogRing() : null;
  const queryLog = ring !== null && targets.query ? new QueryLog(ring, o.queryLogSample ?? 1, 0) : null;
  if (ring !== null) {
    sources.push({ name: 'log', stats: () => {
      let records = ring.put, lost = ring.lost;
      for (const p of udpPools) {
        const c = p.logCounts();
        records += c.records;
        lost += c.lost;
      }
      return { records, records_lost: lost };
    } });
  }
  const limits = {
    idleTimeoutMs: o.idleTimeout * 1000, maxConnections: o.maxConnections, maxConnectionsPerSource: o.maxConnectionsPerSource,
  };
  // A reload swaps the tables of every server between two requests (or queries): what is
  // being written goes on from the image it started on.
  // (The closure keeps what is served, not the first image's tables: those must go once replaced.)
  const servesHttp = http.hasSites, servesDns = dns.hasZones;
  const reloads = new Reloads(log, async () => {
    const next = loadServedImage(file);
    const h = new HttpTables(next), d = new DnsTables(next);
    if (h.hasSites !== servesHttp || d.hasZones !== servesDns) {
      throw new ApplianceError('APPL_ERR_RELOAD', `${file}: the new image serves ${d.hasZones ? 'DNS' : 'no DNS'} and ${h.hasSites ? 'HTTP' : 'no HTTP'}, ` +
        `the one served ${servesDns ? 'DNS' : 'no DNS'} and ${servesHttp ? 'HTTP' : 'no HTTP'}: that changes only with a restart`);
    }
    // The UDP workers first: should one refuse, the other servers have not changed yet.
    try {
      await Promise.all(udpPools.map((p) => p.reload(next)));
      for (const s of httpServers) s.setTables(h);
      for (const s of dnsServers) s.setTables(d);
    } finally {
      collectSoon();
    }
    return next;
  }, imageInfo(img));
  // With secondaries, a reload asked for (SIGHUP, POST /reload) links the image file again with them first.
  const reloadAll = (why: string): Promise<ImageInfo> => (secondaries ? secondaries.relinkBase(why).then(() => reloads.image) : reloads.run(why));
  /**
   * DNS on host:port: TCP (and UDP through dgram, without workers) in this thread; with
   * workers, UDP in their batched sockets on the port TCP took. Port 0: should another
   * socket hold that port for UDP, both are tried again on another. The pool is null when
   * the native module cannot load (dgram serves UDP then).
   */
  // (The image and tables come in as arguments: a closure that named the first ones would
  // keep them for as long as the process serves.)
  const listenDns = async (host: string, port: number, workers: boolean, tables: DnsTables, image: Image): Promise<{ server: DnsSocketServer; pool: DnsUdpPool | null }> => {
    const make = async (udp: boolean): Promise<DnsSocketServer> => {
      const server = new DnsSocketServer(tables, { host, port, messageTimeoutMs: o.dnsMessageTimeout * 1000, rrl, udp, ...limits });
      server.responder.setChaos(chaos);
      if (secondaries) server.notifyGate = new NotifyGate(secondaries.notifySources(), (zone, from) => secondaries.notify(zone, from));
      server.queryLog = queryLog;
      try {
        await server.listen();
      } catch (e) {
        await server.close();
        throw e;
      }
      return server;
    };
    const keep = (server: DnsSocketServer, pool: DnsUdpPool | null): { server: DnsSocketServer; pool: DnsUdpPool | null } => {
      stops.push(() => server.close());
      if (pool !== null) stops.push(() => pool.close());
      return { server, pool };
    };
    if (!workers) return keep(await make(true), null);
    const { workerScript } = await import('../worker/supervisor.js');
    // The workers bind a numeric address: a name (localhost) is looked up here.
    const numeric = isIP(host) !== 0 ? host : (await lookup(host)).address;
    for (let attempt = 1; ; attempt++) {
      const server = await make(false);
      try {
        const pool = await startDnsUdpPool({
          workers: udpWorkers, host: numeric, port: server.port, image, rrl, chaos, queryRate: targets.query ? o.queryLogSample ?? 1 : null, script: workerScript(),
          ...(secondaries ? { notify: secondaries.notifySources(), onNotify: (zone: string, from: string) => secondaries.notify(zone, from) } : {}),
        });
        return keep(server, pool);
      } catch (e) {
        await server.close();
        const msg = (e as Error).message;
        if ((e as { code?: string }).code === 'APPL_ERR_XDP_LOAD' || /cannot load the native module/.test(msg)) return keep(await make(true), null);
        if (port !== 0 || !/EADDRINUSE/.test(msg) || attempt === 8) throw e;
      }
    }
  };
  let metrics: { close: () => Promise<void>; port: number } | undefined;
  // Either everything listens, or nothing stays up: a server that cannot bind one of its
  // ports exits non-zero instead of serving half of what it was asked to.
  try {
    if (http.hasSites) {
      for (const at of listOr(o.http, DEFAULT_HTTP)) {
        const { host, port } = parseHostPort(at, '--http');
        const server = new HttpSocketServer(http, { host, port, headerTimeoutMs: o.headerTimeout * 1000, ...limits });
        if (ring !== null && targets.access) server.logTo(ring);
        stops.push(() => server.close());
        const addr = await server.listen();
        httpServers.push(server);
        sources.push({ name: 'http', stats: () => server.stats() });
        const url = `http://${urlHost(addr.address)}:${addr.port}/`;
        lines.push(`HTTP  ${url}  (${img.meta.sites.length} site${img.meta.sites.length === 1 ? '' : 's'})`);
        if (httpServers.length === 1) lines.push(`      try: curl -i ${url}`);
      }
    }
    if (dns.hasZones) {
      const zones = img.meta.zones.map((z) => z.origin);
      let udpBy = udpWorkers > 0 ? `${udpWorkers} worker thread${udpWorkers === 1 ? '' : 's'}, a batch per system call` : 'node:dgram';
      for (const at of listOr(o.dns, DEFAULT_DNS)) {
        const { host, port } = parseHostPort(at, '--dns');
        // TCP here; UDP in the workers on the same port, or through dgram where they cannot run.
        const { server, pool } = await listenDns(host, port, udpBy !== 'node:dgram', dns, img);
        if (pool === null && udpBy !== 'node:dgram') {
          log.warn('DNS over UDP through node:dgram: the native module (batched sockets) cannot load here');
          udpBy = 'node:dgram';
        }
        dnsServers.push(server);
        sources.push({ name: 'dns', stats: () => server.stats() });
        if (pool !== null) {
          udpPools.push(pool);
          sources.push({ name: 'dns', stats: () => pool.stats() });
        }
        lines.push(`DNS   ${urlHost(host)}:${server.port} UDP and TCP  (${zones.length} zone${zones.length === 1 ? '' : 's'}: ${zones.slice(0, 4).join(' ')}${zones.length > 4 ? ' …' : ''})`);
        if (dnsServers.length === 1) lines.push(`      try: dig @${host} -p ${server.port} ${zones[0]} SOA`);
      }
      if (secondaries) lines.push(...secondaries.describe());
      lines.push(`      UDP through ${udpBy}`);
      lines.push(rrlLine(rrl, udpBy !== 'node:dgram'));
    }
    if (o.metrics) {
      const { serveMetrics } = await import('../worker/metrics.js');
      const { host, port } = parseHostPort(o.metrics, '--metrics');
      metrics = await serveMetrics({
        perQueue: () => [socketTotals(sources)], info: () => withSecondaries(reloads.info('socket', startedAt), secondaries), reload: () => reloadAll('POST /reload'),
      }, host, port);
      lines.push(`stats http://${urlHost(host)}:${metrics.port}/metrics   (or: appliance stats ${urlHost(host)}:${metrics.port})`);
    }
    if (o.user !== undefined) {
      // The secondary zones' state is written from now on as that user.
      if (secondaries) giveTree(secondaries.stateDir, o.user);
      dropPrivileges(o.user, log);
    }
  } catch (e) {
    await metrics?.close();
    await Promise.all(stops.map((s) => s()));
    closeLogs();
    throw e;
  }
  const drain = ring !== null ? new LogDrain(() => [ring, ...udpPools.flatMap((p) => p.rings)], targets, log) : null;
  setApply((why) => reloads.run(why).then(() => undefined));
  secondaries?.run();
  const unwatch = watchLimits(() => socketTotals(sources), log);
  process.stdout.write(`appliance: serving ${file} (sha256 ${img.hash.slice(0, 16)}…) through kernel sockets\n${lines.join('\n')}\n` +
    'press Ctrl-C to stop (SIGHUP reloads the image)\n');
  log.info({ backend: 'socket', image: img.hash, built: img.meta.builtAt, http: http.hasSites ? listOr(o.http, DEFAULT_HTTP) : [], dns: dns.hasZones ? listOr(o.dns, DEFAULT_DNS) : [] }, `serving ${file}`);
  // Until a signal, or until a UDP worker fails (then, as on the fused path, everything is
  // taken down and serve exits non-zero for its supervisor to restart it).
  let failure: ApplianceError | undefined;
  const sig = await untilStopSignal({
    reload: () => { reloadAll('SIGHUP').catch(() => undefined); },
    reopen: () => drain?.reopen(),
  }, udpPools.length > 0 ? Promise.race(udpPools.map((p) => p.failed)).then((e) => { failure = e; }) : undefined);
  if (failure) log.error({ err: failure, code: failure.code }, 'a worker failed; stopping');
  else {
    process.stdout.write(`appliance: ${sig}: stopping\n`);
    log.info({ signal: sig }, 'stopping');
  }
  // No transfer, compile or reload after this: the servers go next.
  await secondaries?.stop();
  await metrics?.close();
  unwatch();
  await Promise.all(stops.map((s) => s()));
  drain?.stop();
  log.info('stopped');
  if (failure) throw failure;
}

const DEFAULT_HTTP = '127.0.0.1:8080';
const DEFAULT_DNS = '127.0.0.1:5353';

/**
 * A collection now (the old image goes at once when nothing is being written from it), and
 * a second and ten seconds from now (responses being written may still hold it). Outside
 * runServe on purpose: a timer's closure made inside a reload would hold the reload's
 * context, and with it the image just loaded, for its ten seconds.
 */
function collectSoon(): void {
  setImmediate(collectGarbage);
  for (const ms of [1000, 10_000]) setTimeout(collectGarbage, ms).unref();
}

/** The log files asked for, opened (a path that cannot be opened is a usage error now, not later). */
function openLogs(o: ServeOptions): LogTargets {
  const t: LogTargets = {};
  if (o.accessLog !== undefined) t.access = { file: new LogFile(o.accessLog, '--access-log'), format: o.accessLogFormat ?? 'combined' };
  try {
    if (o.queryLog !== undefined) t.query = { file: new LogFile(o.queryLog, '--query-log'), format: o.queryLogFormat ?? 'text' };
  } catch (e) {
    t.access?.file.close();
    throw e;
  }
  return t;
}

/** A repeatable option's values, or its default when none was given. */
function listOr(v: string[] | string | undefined, def: string): string[] {
  const l = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return l.length > 0 ? l : [def];
}

/** The socket servers' counters under one name space: http_*, dns_*, summed over the listeners. */
function socketTotals(sources: Array<{ name: string; stats: () => Record<string, number> }>): Record<string, number> {
  const out: Record<string, number> = {};
  // Several listeners (repeated --http or --dns) and the UDP workers sum under one name.
  for (const src of sources) for (const [k, v] of Object.entries(src.stats())) out[`${src.name}_${k}`] = (out[`${src.name}_${k}`] ?? 0) + v;
  return out;
}

/** A --fault spec, checked now (a usage error names it) and passed on as text. */
function faultSpec(spec: string): string {
  try {
    parseFaultSpec(spec);
  } catch (e) {
    throw new UsageError(`--fault ${spec}: ${(e as Error).message}`);
  }
  return spec;
}

/**
 * Every check serve makes before it binds anything, each problem once (for check-config, as
 * `nginx -t` or nsd-checkconf): the options' values, what the backend needs, the image
 * (read and verified), the log files' directories, the user. Returns the problems, and what
 * the image holds when it could be read.
 */
export function checkServeOptions(file: string | undefined, o: ServeOptions): { problems: ServeProblem[]; image?: { sha256: string; sites: number; zones: Array<{ origin: string; serial: number }> } } {
  const problems: ServeProblem[] = [];
  // `key`: the option a problem is about, when known here ('' when the message names its flag).
  const check = (key: string, fn: () => void): void => {
    try { fn(); } catch (e) { problems.push({ key, error: e instanceof Error ? e : new Error(String(e)) }); }
  };
  check('', () => rrlOptions(o));
  check('', () => chaosStrings(o, hostname(), toolVersion()));
  for (const at of listOr(o.http, DEFAULT_HTTP)) check('http', () => parseHostPort(at, '--http'));
  for (const at of listOr(o.dns, DEFAULT_DNS)) check('dns', () => parseHostPort(at, '--dns'));
  if (o.metrics !== undefined) check('metrics', () => parseHostPort(o.metrics!, '--metrics'));
  check('cpus', () => parseCpus(o.cpus));
  const problem = (key: string, message: string): void => { problems.push({ key, error: new UsageError(message) }); };
  if (o.backend === 'xdp') {
    if (!o.iface) problem('iface', '--iface: the xdp backend needs the interface');
    if (o.addr.length === 0) problem('addr', '--addr: the xdp backend needs at least one address the appliance owns');
    if (o.user !== undefined) problem('user', '--user is for the socket backend (the xdp backend keeps the capabilities it detaches its program with)');
  } else if (o.user !== undefined) {
    check('user', () => userExists(o.user!));
  }
  if (o.accessLog !== undefined) check('access-log', () => writableLog('--access-log', o.accessLog!));
  if (o.queryLog !== undefined) check('query-log', () => writableLog('--query-log', o.queryLog!));
  let image: ReturnType<typeof checkServeOptions>['image'];
  const secondary = o.secondary ?? [];
  if (secondary.length > 0) {
    check('secondary', () => {
      const zones = secondaryZones(secondary, o.tsigKey ?? []);
      if (file !== undefined) checkDisjoint(imageZones(file), zones.map((z) => z.zone), file);
    });
  }
  if (file === undefined) {
    if (secondary.length === 0) problem('image', 'no image to serve (give IMAGE, or image = "..." in the config file, or secondary zones)');
  } else {
    check('image', () => {
      const img = loadImage(file);
      const info = imageInfo(img);
      image = { sha256: img.hash, sites: img.meta.sites.length, zones: info.zones };
      if (img.meta.sites.length === 0 && img.meta.zones.length === 0) throw new UsageError(`${file}: the image has nothing to serve`);
    });
  }
  return { problems, image };
}

export interface ServeProblem {
  key: string;
  error: Error;
}

/** A log path serve could append to: an existing file it may write, or a new one in a directory it may write. */
function writableLog(flag: string, path: string): void {
  try {
    accessSync(path, fsConstants.W_OK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${flag} ${path}: not writable (${(e as NodeJS.ErrnoException).code})`);
    try {
      accessSync(dirname(path), fsConstants.W_OK);
    } catch (d) {
      throw new UsageError(`${flag} ${path}: cannot be created (${(d as NodeJS.ErrnoException).code} on ${dirname(path)})`);
    }
  }
}

function userExists(spec: string): void {
  const user = spec.split(':')[0] ?? '';
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
  } catch {
    throw new UsageError(`--user ${spec}: no such user`);
  }
}

function parseCpus(list: string | undefined): number[] {
  if (list === undefined || list === '') return [];
  return list.split(',').map((c) => {
    const n = Number(c.trim());
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--cpus ${list}: "${c}" is not a CPU number`);
    return n;
  });
}

/** The server's figures with the secondary zones' state added. */
function withSecondaries(info: ServerInfo, secondaries: SecondaryManager | null): ServerInfo {
  return secondaries ? { ...info, secondaries: secondaries.status() } : info;
}

async function runServeXdp(file: string, o: ServeOptions, rrl: RrlOptions, chaos: ChaosStrings, targets: LogTargets, log: Logger,
  secondaries: SecondaryManager | null, setApply: (f: (why: string) => Promise<void>) => void): Promise<void> {
  if (!o.iface) throw new UsageError('--backend xdp needs --iface IFACE');
  if (o.user !== undefined) {
    throw new UsageError('--user is for the socket backend: the xdp backend keeps CAP_NET_ADMIN, CAP_BPF and CAP_SYS_ADMIN to detach its XDP program at stop (see the service unit)');
  }
  const startedAt = Date.now();
  const { startXdpServer } = await import('../worker/supervisor.js');
  const { serveMetrics } = await import('../worker/metrics.js');
  const server = await startXdpServer({
    image: file, iface: o.iface, netns: o.netns, addrs: o.addr, queues: o.queues, cpus: parseCpus(o.cpus),
    dnsPort: o.dnsPort, checksums: o.verifyChecksums === 'strict' ? CSUM_STRICT : o.verifyChecksums === 'off' ? CSUM_OFF : CSUM_AUTO,
    tcpConnections: Math.max(64, Math.ceil(o.maxConnections / Math.max(1, o.queues ?? 1))),
    idleTimeoutMs: o.idleTimeout * 1000, messageTimeoutMs: o.dnsMessageTimeout * 1000,
    httpPort: o.httpPort, headerTimeoutMs: o.headerTimeout * 1000,
    capture: o.capture ? { prefix: o.capture, every: o.captureEvery, limit: o.captureLimit } : undefined,
    fault: o.fault !== undefined ? faultSpec(o.fault) : undefined,
    rrl, chaos,
    ...(secondaries ? { notify: secondaries.notifySources(), onNotify: (zone: string, from: string) => secondaries.notify(zone, from) } : {}),
    log: targets.access || targets.query ? { access: targets.access !== undefined, queryRate: targets.query ? o.queryLogSample ?? 1 : null } : undefined,
  });
  const drain = targets.access || targets.query ? new LogDrain(() => server.logRings, targets, log) : null;
  const reloads = new Reloads(log, () => server.reload(), imageInfo(server.image()));
  const reloadAll = (why: string): Promise<ImageInfo> => (secondaries ? secondaries.relinkBase(why).then(() => reloads.image) : reloads.run(why));
  let metrics: { close: () => Promise<void>; port: number } | undefined;
  try {
    if (o.metrics) {
      const { host, port } = parseHostPort(o.metrics, '--metrics');
      metrics = await serveMetrics({
        perQueue: () => server.perQueue(), info: () => withSecondaries(reloads.info('xdp', startedAt), secondaries), reload: () => reloadAll('POST /reload'),
      }, host, port);
    }
  } catch (e) {
    await server.stop();
    drain?.stop();
    throw e;
  }
  const where = o.addr.map((a) => (a.includes(':') ? `[${a}]` : a) + `:${o.dnsPort}`).join(', ');
  const lines = [
    `appliance: serving ${file} through AF_XDP on ${o.iface}${o.netns ? ` (namespace ${o.netns})` : ''}: ${server.xdpMode} XDP, AF_XDP ${server.mode.split('/').pop()} mode`,
    ...(server.serves.dns ? [`DNS   ${where} over UDP and TCP`] : []),
    ...(server.serves.http ? [`HTTP  ${o.addr.map((a) => `http://${a.includes(':') ? `[${a}]` : a}${o.httpPort === 80 ? '' : `:${o.httpPort}`}/`).join(', ')}`] : []),
    `      ARP/NDP and ICMP echo answered for those addresses`,
    ...(secondaries ? secondaries.describe() : []),
    rrlLine(rrl, true),
    ...server.workers.map((w) => `      queue ${w.queue}: worker on CPU ${w.cpu}${parseCpus(o.cpus).length ? ' (pinned)' : ''}`),
  ];
  if (metrics) lines.push(`stats http://${o.metrics!.replace(/:\d+$/, '')}:${metrics.port}/metrics   (or: appliance stats ${o.metrics!.replace(/:\d+$/, '')}:${metrics.port})`);
  process.stdout.write(lines.join('\n') + '\npress Ctrl-C to stop (SIGHUP reloads the image)\n');
  const unwatch = watchLimits(() => server.totals(), log);
  setApply((why) => reloads.run(why).then(() => undefined));
  secondaries?.run();
  log.info({ backend: 'xdp', iface: o.iface, queues: server.queues, mode: server.mode, xdp: server.xdpMode, image: server.image().hash }, `serving ${file}`);
  // Until a signal, or until a worker fails: then the error is logged, everything is taken
  // down, and serve exits non-zero (a supervisor such as systemd restarts it).
  let failure: ApplianceError | undefined;
  const sig = await untilStopSignal({
    reload: () => { reloadAll('SIGHUP').catch(() => undefined); },
    reopen: () => drain?.reopen(),
  }, server.failed.then((e) => { failure = e; }));
  if (failure) log.error({ err: failure, code: failure.code }, 'a worker failed; stopping');
  else {
    process.stdout.write(`appliance: ${sig}: stopping\n`);
    log.info({ signal: sig }, 'stopping');
  }
  await secondaries?.stop();
  unwatch();
  await metrics?.close();
  await server.stop();
  drain?.stop();
  const t = server.totals();
  process.stdout.write(`appliance: stopped; ${t.rx_frames} frames in, ${t.tx_frames} out, ${t.dns_answers} DNS answers; the XDP program is detached\n`);
  log.info({ rx_frames: t.rx_frames, tx_frames: t.tx_frames }, 'stopped');
  if (failure) throw failure;
}
