// Starting and stopping the peer servers tests compare against (nginx, NSD, ...): each is
// started by the test, on loopback or in the test's own namespace, and stopped by its pid.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export interface Started {
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts a process in the foreground; stop() sends SIGTERM to that pid (SIGKILL after 3 s). */
export function startProcess(cmd: string, args: string[], opts: { cwd?: string } = {}): Started {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
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

/** Resolves when something accepts TCP connections on host:port (or rejects after timeoutMs). */
export async function waitForTcp(host: string, port: number, timeoutMs = 10_000, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`the server exited with status ${proc.exitCode}`);
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
