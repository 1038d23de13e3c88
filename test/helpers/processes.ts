// Starting and stopping the peer servers tests compare against (nginx, NSD, ...): each is
// started by the test, on loopback or in the test's own namespace, and stopped by its pid.
// The runners are the benchmarks' own (appliance/bench/process.ts).

import { spawnSync } from 'node:child_process';
import { startServer, waitForPort, type Running } from '../../appliance/bench/process.js';

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export type Started = Running;
export const startProcess = startServer;

/** Resolves when something accepts TCP connections on host:port (or rejects after timeoutMs). */
export function waitForTcp(host: string, port: number, timeoutMs: number, started?: Started): Promise<void> {
  return waitForPort(host, port, timeoutMs, started);
}
