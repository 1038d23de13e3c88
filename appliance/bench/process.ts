// Processes a benchmark starts: spawned in the foreground, stopped by their own pid.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface Running {
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function startServer(cmd: string, args: string[]): Running {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c) => { out += c; });
  proc.stderr!.on('data', (c) => { out += c; });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Resolves when something accepts TCP connections on host:port; rejects after timeoutMs or if `srv` exits. */
export async function waitForPort(host: string, port: number, timeoutMs: number, srv?: Running): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (srv && srv.proc.exitCode !== null) throw new Error(`the server exited (status ${srv.proc.exitCode}): ${srv.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * A text table: the first row is the header, ruled below; the columns `left` names are
 * aligned left, the others right. With `group`, a first cell equal to the one above it is
 * left blank.
 */
export function formatTable(rows: string[][], left: (col: number) => boolean, group = false): string[] {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const out: string[] = [];
  let last = '';
  rows.forEach((r, i) => {
    const cells = r.map((cell, c) => (left(c) ? cell.padEnd(w[c]!) : cell.padStart(w[c]!)));
    if (group && i > 0 && r[0] === last) cells[0] = ' '.repeat(w[0]!);
    last = r[0]!;
    out.push(cells.join('  '));
    if (i === 0) out.push(w.map((n) => '-'.repeat(n)).join('  '));
  });
  return out;
}
