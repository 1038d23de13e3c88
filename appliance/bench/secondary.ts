// `appliance bench secondary`: how long a change at the primary takes to be served by the
// appliance as a secondary, on loopback (kernel sockets; NSD and Knot DNS as primaries).
//
// The zone is scripts/gen-zone.mjs's (100,000 names by default). Two cases, `rounds` each:
//   - the whole zone: NSD 4 as the primary (it has no IXFR to give: an IXFR is answered
//     with the zone in AXFR form); its zone file's serial bumped and NSD sent SIGHUP, which
//     reloads and NOTIFYs;
//   - one record by IXFR: Knot DNS as the primary, one record added with `knotc
//     zone-begin / zone-set / zone-commit` (Knot bumps the serial, keeps the change in its
//     journal and NOTIFYs).
// For each change: from the trigger to the new serial answered (polled every 5 ms over
// UDP), from the NOTIFY taken to the servers' switch (the appliance's own log lines),
// and the transfer and the compile inside serve (the log's transferMs and compileSeconds).
// The first transfer (AXFR at start) is reported too. Prints the figures; asserts nothing.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplianceError } from '../../basics/errors.js';
import { querySoa } from '../secondary/xfr.js';
import { generateZone } from './big-zone.js';
import { knotChange, knotPrimaryConf } from './knot.js';
import { nsdConf } from './nsd.js';
import { freePort, median, startServer, type Running } from './process.js';

export interface SecondaryBenchOptions {
  names: number;
  seed: number;
  rounds: number;
  dir: string;
  cli: string;
  log: (line: string) => void;
}

export interface ChangeFigures {
  /** Trigger (SIGHUP, knotc commit) → the new serial answered, ms. */
  triggerMs: number;
  /** NOTIFY taken → the new serial served (the appliance's log), ms. */
  notifyMs: number | null;
  transferMs: number | null;
  compileSeconds: number | null;
  kind: string;
}

export interface SecondaryFigures {
  names: number;
  initial: Array<{ primary: string; startToServedMs: number; transferMs: number | null; compileSeconds: number | null }>;
  axfr: ChangeFigures[];
  ixfr: ChangeFigures[];
}

/** The SOA serial of a zone file whose SOA is written on one line as "( SERIAL ..." set to `serial`; `addLines` appended. */
export function setZoneSerial(file: string, serial: number, addLines: string[] = []): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(/(SOA\s+\S+\s+\S+\s+\(\s*)(\d+)/, (_, a: string) => `${a}${serial}`);
  if (next === text) throw new ApplianceError('APPL_ERR_BENCH', `${file}: no SOA serial to change`);
  writeFileSync(file, next + addLines.map((l) => l + '\n').join(''));
}

/** `appliance serve` as a secondary of 127.0.0.1:primaryPort (JSON log lines on stderr), once it says it serves. */
async function startSecondary(o: SecondaryBenchOptions, zone: string, primaryPort: number, dnsPort: number, stateDir: string): Promise<Running> {
  rmSync(stateDir, { recursive: true, force: true });
  const app = startServer(process.execPath, [o.cli, 'serve', '--dns', `127.0.0.1:${dnsPort}`, '--log-format', 'json', '--rrl-exempt', '127.0.0.1',
    '--state-dir', stateDir, '--secondary', `${zone}=127.0.0.1:${primaryPort}`]);
  const deadline = Date.now() + 30_000;
  while (!app.output().includes('press Ctrl-C')) {
    if (app.proc.exitCode !== null || Date.now() > deadline) {
      await app.stop();
      throw new ApplianceError('APPL_ERR_BENCH', `serve did not start: ${app.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return app;
}

/** The JSON log lines serve printed so far. */
function logLines(app: Running): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const l of app.output().split('\n')) {
    if (!l.startsWith('{')) continue;
    try { out.push(JSON.parse(l) as Record<string, unknown>); } catch { /* not a log line */ }
  }
  return out;
}

/** Resolves with the ms since `from` (performance.now()) once 127.0.0.1:port answers `serial` for the zone. */
async function untilServed(port: number, zone: string, serial: number, from: number, timeoutMs: number): Promise<number> {
  for (;;) {
    const got = await querySoa(zone, { host: '127.0.0.1', port }, { timeoutMs: 500, tries: 1 }).then((r) => r.serial, () => -1);
    if (got === serial) return performance.now() - from;
    if (performance.now() - from > timeoutMs) throw new ApplianceError('APPL_ERR_BENCH', `${zone}: serial ${serial} not served within ${timeoutMs} ms (last ${got})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** From the appliance's log, for the change to `serial`: NOTIFY taken → the servers switched, the transfer and the compile. */
function fromLog(app: Running, zone: string, serial: number): Pick<ChangeFigures, 'notifyMs' | 'transferMs' | 'compileSeconds' | 'kind'> {
  const lines = logLines(app);
  const served = lines.find((l) => l.serial === serial && typeof l.kind === 'string');
  const switched = lines.find((l) => l.why === `${zone}. serial ${serial}`);
  const at = (switched?.time ?? served?.time) as number | undefined;
  const notified = at === undefined ? undefined : [...lines].reverse().find((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('NOTIFY taken') && (l.time as number) <= at);
  return {
    notifyMs: at !== undefined && notified ? at - (notified.time as number) : null,
    transferMs: typeof served?.transferMs === 'number' ? served.transferMs : null,
    compileSeconds: typeof served?.compileSeconds === 'number' ? served.compileSeconds : null,
    kind: typeof served?.kind === 'string' ? served.kind : '?',
  };
}

async function soaOf(port: number, zone: string): Promise<number> {
  return (await querySoa(zone, { host: '127.0.0.1', port }, { timeoutMs: 3000 })).serial;
}

async function untilUp(port: number, zone: string, srv: Running, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (srv.proc.exitCode !== null) throw new ApplianceError('APPL_ERR_BENCH', `the primary exited: ${srv.output()}`);
    if (await soaOf(port, zone).then(() => true, () => false)) return;
    if (Date.now() > deadline) throw new ApplianceError('APPL_ERR_BENCH', `the primary does not answer for ${zone}: ${srv.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface PrimaryRun { name: string; trigger: string; server: Running; port: number; dnsPort: number; dir: string; zone: string; timeoutMs: number }

/**
 * With the primary started: the appliance started as its secondary (the first transfer
 * timed), then `rounds` changes, each made by `change(round)` (which returns the new
 * serial) and timed until served. Stops both, whatever happens.
 */
async function measure(o: SecondaryBenchOptions, p: PrimaryRun, figures: SecondaryFigures, into: ChangeFigures[],
  change: (round: number) => number | Promise<number>, started: (serial: number) => void = () => undefined): Promise<void> {
  let app: Running | undefined;
  try {
    await untilUp(p.port, p.zone, p.server, p.timeoutMs);
    const serial = await soaOf(p.port, p.zone);
    started(serial);
    const t0 = performance.now();
    app = await startSecondary(o, p.zone, p.port, p.dnsPort, join(p.dir, 'state'));
    const startMs = await untilServed(p.dnsPort, p.zone, serial, t0, p.timeoutMs);
    // The log line with the figures comes once the kept copy is written, after the switch.
    await new Promise((res) => setTimeout(res, 800));
    const first = fromLog(app, p.zone, serial);
    figures.initial.push({ primary: p.name, startToServedMs: startMs, transferMs: first.transferMs, compileSeconds: first.compileSeconds });
    o.log(`${p.name}: serve started → serial ${serial} served in ${startMs.toFixed(0)} ms (AXFR ${first.transferMs} ms, compile ${first.compileSeconds?.toFixed(2)} s)`);
    for (let r = 0; r < o.rounds; r++) {
      const t = performance.now();
      const next = await change(r);
      const triggerMs = await untilServed(p.dnsPort, p.zone, next, t, p.timeoutMs);
      await new Promise((res) => setTimeout(res, 800));
      const f = { triggerMs, ...fromLog(app, p.zone, next) };
      into.push(f);
      o.log(`  round ${r + 1}: ${f.kind}, ${p.trigger} → served ${triggerMs.toFixed(0)} ms, NOTIFY → served ${f.notifyMs} ms (transfer ${f.transferMs} ms, compile ${f.compileSeconds?.toFixed(2)} s)`);
    }
  } finally {
    await app?.stop();
    await p.server.stop();
  }
}

export async function runSecondaryBench(o: SecondaryBenchOptions): Promise<SecondaryFigures> {
  for (const c of ['nsd', 'knotd', 'knotc']) {
    if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) throw new ApplianceError('APPL_ERR_BENCH', `${c} is not installed (apt-get install nsd knot)`);
  }
  mkdirSync(o.dir, { recursive: true });
  const zone = 'sec.example';
  const master = join(o.dir, `sec-${o.names}-seed${o.seed}.zone`);
  if (!existsSync(master)) {
    o.log(`generating ${master} ...`);
    await generateZone({ names: o.names, seed: o.seed, origin: zone, out: master });
  }
  const figures: SecondaryFigures = { names: o.names, initial: [], axfr: [], ixfr: [] };
  const timeoutMs = 60_000 + o.names * 0.5;

  // The whole zone, from NSD: its file's serial bumped, then SIGHUP.
  {
    const dir = freshDir(join(o.dir, 'nsd'));
    const file = join(dir, 'sec.zone');
    writeFileSync(file, readFileSync(master));
    const port = await freePort();
    const dnsPort = await freePort();
    writeFileSync(join(dir, 'nsd.conf'), nsdConf({
      dir, addresses: ['127.0.0.1'], port,
      zones: [{ origin: `${zone}.`, file, extra: ['provide-xfr: 127.0.0.1 NOKEY', `notify: 127.0.0.1@${dnsPort} NOKEY`] }],
    }));
    const nsd = startServer('nsd', ['-d', '-c', join(dir, 'nsd.conf')]);
    let serial = 0;
    await measure(o, { name: 'NSD', trigger: 'SIGHUP', server: nsd, port, dnsPort, dir, zone, timeoutMs }, figures, figures.axfr, (r) => {
      serial++;
      setZoneSerial(file, serial, [`bench-${r} IN A 198.18.9.${r & 0xff}`]);
      nsd.proc.kill('SIGHUP');
      return serial;
    }, (s) => { serial = s; });
  }

  // One record by IXFR, from Knot: knotc zone-begin / zone-set / zone-commit.
  {
    const dir = freshDir(join(o.dir, 'knot'));
    mkdirSync(join(dir, 'db'));
    const file = join(dir, 'sec.zone');
    writeFileSync(file, readFileSync(master));
    const port = await freePort();
    const dnsPort = await freePort();
    const conf = join(dir, 'knot.conf');
    writeFileSync(conf, knotPrimaryConf({ dir, listen: [`127.0.0.1@${port}`], zones: [{ domain: zone, file, transferFrom: ['127.0.0.1'], notify: [`127.0.0.1@${dnsPort}`] }] }));
    const knot = startServer('knotd', ['-c', conf]);
    await measure(o, { name: 'Knot', trigger: 'knotc zone-commit', server: knot, port, dnsPort, dir, zone, timeoutMs }, figures, figures.ixfr, async (r) => {
      knotChange(conf, zone, ['zone-set', `ixfr-${r}`, '300', 'A', `198.18.9.${r & 0xff}`]);
      return soaOf(port, zone);
    });
  }
  const med = (l: ChangeFigures[], k: 'triggerMs' | 'notifyMs' | 'transferMs'): string => {
    const v = l.map((x) => x[k]).filter((x): x is number => x !== null);
    return v.length ? `${median(v).toFixed(0)} ms` : '-';
  };
  const medC = (l: ChangeFigures[]): string => {
    const v = l.map((x) => x.compileSeconds).filter((x): x is number => x !== null);
    return v.length ? `${median(v).toFixed(2)} s` : '-';
  };
  o.log(`medians over ${o.rounds} rounds, ${o.names} names:`);
  o.log(`  whole zone (NSD, AXFR): trigger → served ${med(figures.axfr, 'triggerMs')}, NOTIFY → served ${med(figures.axfr, 'notifyMs')}, transfer ${med(figures.axfr, 'transferMs')}, compile ${medC(figures.axfr)}`);
  o.log(`  one record (Knot, IXFR): trigger → served ${med(figures.ixfr, 'triggerMs')}, NOTIFY → served ${med(figures.ixfr, 'notifyMs')}, transfer ${med(figures.ixfr, 'transferMs')}, compile ${medC(figures.ixfr)}`);
  return figures;
}
