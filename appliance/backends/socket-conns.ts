// The connections of a socket server (HTTP, DNS over TCP): each is a slot of the connection
// table (the caps, eviction of the longest idle: conn-table.ts), its socket, the input held
// while it is paused, and when its peer last took bytes of what we sent. The session code
// behind it (ConnSession: HTTP's or the DNS stream's) frames and answers the requests; this
// moves the bytes and owns what both servers need alike:
//
// - backpressure: when the session takes less than it was given (its sink is full), the
//   rest is held and the socket paused until it drains, so a peer that does not read holds
//   a bounded amount of memory;
// - deadlines: a sweep closes connections whose peer has taken nothing of a response for
//   the idle timeout (send_timeouts), and those past the session's own deadline (head,
//   message, idle: the session counts which);
// - containment: every socket has an error listener (socket_errors), and an exception in a
//   handler goes to the server's fault(), which costs that connection only.

import type net from 'node:net';
import { ConnTable, sourceKey, type ConnLimits } from './conn-table.js';

/** ConnSession.data(): end the connection after what is owed. */
export const CONN_CLOSE = -1;

export interface ConnSession {
  /** A new connection on `slot`. */
  open(slot: number, socket: net.Socket, now: number): void;
  /** Input: how many bytes were taken (fewer when the sink is full: the rest waits for a drain), or CONN_CLOSE. */
  data(slot: number, chunk: Buffer, now: number): number;
  /** The connection on `slot` is gone. */
  free(slot: number): void;
  /** When the connection's deadline passes (ms); asked while nothing waits to be sent. */
  deadline(slot: number): number;
  /** The sweep closes `slot`, past deadline(): count why. */
  expired(slot: number): void;
}

export const SC_SEND_TIMEOUTS = 0;
export const SC_SOCKET_ERRORS = 1;
export const SC_READ_PAUSES = 2;
export const SOCKET_CONN_COUNTER_NAMES = ['send_timeouts', 'socket_errors', 'read_pauses'];

export class SocketConns {
  readonly table: ConnTable;
  readonly counters = new Float64Array(SOCKET_CONN_COUNTER_NAMES.length);
  private readonly sockets: Array<net.Socket | undefined>;
  /** Input not yet taken while the socket is paused. */
  private readonly pending: Array<Buffer | undefined>;
  /** When the peer last took bytes of a response (or the write began). */
  private readonly progress: Float64Array;
  private accepting = true;

  /** `fault(e, slot, where)`: the server's containment (count, log, drop(slot) when slot ≥ 0). */
  constructor(
    limits: ConnLimits,
    private readonly session: ConnSession,
    private readonly idleTimeoutMs: number,
    private readonly fault: (e: unknown, slot: number, where: string) => void,
  ) {
    this.table = new ConnTable(limits, (slot) => (this.sockets[slot]?.writableLength ?? 0) > 0, (slot) => this.drop(slot));
    this.sockets = new Array<net.Socket | undefined>(limits.maxConnections);
    this.pending = new Array<Buffer | undefined>(limits.maxConnections);
    this.progress = new Float64Array(limits.maxConnections);
  }

  get size(): number {
    return this.table.size;
  }

  accept(s: net.Socket): void {
    s.on('error', () => {
      this.counters[SC_SOCKET_ERRORS]!++;
      s.destroy();
    });
    try {
      if (!this.accepting) {
        s.destroy();
        return;
      }
      const slot = this.table.acquire(sourceKey(s.remoteAddress));
      if (slot < 0) {
        s.destroy();
        return;
      }
      this.sockets[slot] = s;
      this.pending[slot] = undefined;
      this.session.open(slot, s, Date.now());
      s.on('data', (chunk: Buffer) => this.onData(slot, s, chunk));
      s.on('drain', () => this.onDrain(slot, s));
      s.on('close', () => this.onClose(slot, s));
    } catch (e) {
      this.fault(e, -1, 'accept');
      s.destroy();
    }
  }

  /** The socket of `slot` as a write to it begins: the send clock starts now if nothing was waiting, and the slot counts as active. */
  /** The socket of a slot, or undefined. */
  socketOf(slot: number): net.Socket | undefined {
    return this.sockets[slot];
  }

  beginWrite(slot: number, now: number): net.Socket {
    const s = this.sockets[slot]!;
    if (s.writableLength === 0) this.progress[slot] = now;
    this.table.touch(slot);
    return s;
  }

  /** The peer of `s` (if still on `slot`) took bytes: its send clock starts again. */
  progressed(slot: number, s: net.Socket): void {
    if (this.sockets[slot] === s) this.progress[slot] = Date.now();
  }

  /** Closes the connection on `slot` now (evicted, timed out, or its handler failed). */
  drop(slot: number): void {
    const s = this.sockets[slot];
    if (s === undefined) return;
    this.forget(slot);
    s.destroy();
  }

  /** Closes connections past their deadlines. */
  sweep(): void {
    const now = Date.now();
    const socks = this.sockets;
    for (let slot = 0; slot < socks.length; slot++) {
      const s = socks[slot];
      if (s === undefined) continue;
      try {
        if (s.writableLength > 0) {
          if (now - this.progress[slot]! >= this.idleTimeoutMs) {
            this.counters[SC_SEND_TIMEOUTS]!++;
            this.drop(slot);
          }
          continue;
        }
        if (now < this.session.deadline(slot)) continue;
        this.session.expired(slot);
        this.drop(slot);
      } catch (e) {
        this.fault(e, slot, 'sweep');
      }
    }
  }

  /** No new connections; each open one is ended (`graceful`: after what it was sent) or destroyed. */
  closeAll(graceful: boolean): void {
    this.accepting = false;
    for (const s of this.sockets) {
      if (graceful) s?.end();
      else s?.destroy();
    }
  }

  private onData(slot: number, s: net.Socket, chunk: Buffer): void {
    if (this.sockets[slot] !== s) return;
    try {
      const held = this.pending[slot];
      if (held !== undefined) {
        // Paused, but a read was already under way: keep it behind what is held.
        this.pending[slot] = Buffer.concat([held, chunk]);
        return;
      }
      this.feed(slot, s, chunk);
    } catch (e) {
      this.fault(e, slot, 'data');
    }
  }

  private feed(slot: number, s: net.Socket, chunk: Buffer): void {
    const n = this.session.data(slot, chunk, Date.now());
    if (n === CONN_CLOSE) {
      s.end();
      return;
    }
    if (n < chunk.length) {
      this.counters[SC_READ_PAUSES]!++;
      this.pending[slot] = chunk.subarray(n);
      s.pause();
    }
  }

  private onDrain(slot: number, s: net.Socket): void {
    if (this.sockets[slot] !== s) return;
    try {
      this.progress[slot] = Date.now();
      const held = this.pending[slot];
      if (held === undefined) return;
      this.pending[slot] = undefined;
      s.resume();
      this.feed(slot, s, held);
    } catch (e) {
      this.fault(e, slot, 'drain');
    }
  }

  private onClose(slot: number, s: net.Socket): void {
    if (this.sockets[slot] !== s) return;
    this.forget(slot);
  }

  private forget(slot: number): void {
    this.sockets[slot] = undefined;
    this.pending[slot] = undefined;
    this.session.free(slot);
    this.table.release(slot);
  }
}
