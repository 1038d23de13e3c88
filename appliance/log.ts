// Logs: structured (pino, JSON lines on stderr), levelled. Off the hot path: what a packet
// or a connection can make us log goes through a BoundedLog, which lets a few lines a
// second through and counts the rest, so a flood of bad input cannot flood the log.

import pino from 'pino';

export type Logger = pino.Logger;

let root: Logger | undefined;

/** The process's logger (level from APPLIANCE_LOG_LEVEL, default info). */
export function logger(): Logger {
  root ??= pino({ level: process.env.APPLIANCE_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
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
