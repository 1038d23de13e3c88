// Logs: structured (pino), levelled, on stderr: JSON lines when stderr is not a terminal
// (a journal, a file, a collector), readable text on a terminal. Off the hot path: what a
// packet or a connection can make us log goes through a BoundedLog, which lets a few lines
// a second through and counts the rest, so a flood of bad input cannot flood the log.

import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;
export type LogFormat = 'auto' | 'json' | 'text';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

let root: Logger | undefined;

function make(level: string, format: LogFormat): Logger {
  const text = format === 'text' || (format === 'auto' && process.stderr.isTTY === true);
  const opts: pino.LoggerOptions = { level, base: { pid: process.pid } };
  if (!text) return pino(opts, pino.destination({ fd: 2, sync: true }));
  return pino(opts, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, ignore: 'pid,hostname', translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l' }));
}

/** The process's logger (until configured: level from APPLIANCE_LOG_LEVEL, default info). */
export function logger(): Logger {
  root ??= make(process.env.APPLIANCE_LOG_LEVEL ?? 'info', 'auto');
  return root;
}

/** Sets the level and form of every logger made from here on (serve's --log-level, --log-format). */
export function configureLogging(o: { level?: string; format?: LogFormat }): Logger {
  root = make(o.level ?? process.env.APPLIANCE_LOG_LEVEL ?? 'info', o.format ?? 'auto');
  return root;
}

/** At most `perSecond` lines a second; the lines held back are counted and reported with the next one let through. */
export class BoundedLog {
  private windowStart = 0;
  private inWindow = 0;
  private held = 0;
  /** Lines held back since the start. */
  suppressed = 0;

  constructor(private readonly log: Logger, private readonly perSecond = 5) {}

  error(fields: Record<string, unknown>, msg: string, now = Date.now()): void {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perSecond) {
      this.held++;
      this.suppressed++;
      return;
    }
    this.inWindow++;
    if (this.held > 0) {
      this.log.error({ ...fields, suppressed: this.held }, `${msg} (and ${this.held} like it not logged)`);
      this.held = 0;
    } else {
      this.log.error(fields, msg);
    }
  }
}

/** The fields of an error worth logging (pino's err serializer gives its type, code, message and stack). */
export function errorFields(e: unknown): Record<string, unknown> {
  return { err: e instanceof Error ? e : new Error(String(e)) };
}
