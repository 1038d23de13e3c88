// NOTIFY from a secondary zone's primaries (RFC 1996): who may send one, judged where the
// query arrived (the socket servers, the UDP workers, the fused workers), and the news
// passed on to the supervisor's secondary manager, which checks the zone at once.
//
// The responder answers a NOTIFY for the apex of a secondary zone NOERROR with AA and
// marks it (DnsResponder.notified); the gate then compares the source with the zone's
// primaries, as NSD's allow-notify does by address: a match keeps the answer and calls
// onNotify; anything else turns it into REFUSED (notifyRefused). The check costs the hot
// path one field read per query (`notified >= 0`). A NOTIFY signed with TSIG is judged
// by its address alone: the answer is not signed (see the secondary manager's notes).

import { addressText } from '../log-ring.js';
import { FAMILY_IPV4, parseAddress } from './rrl.js';
import type { DnsResponder } from './responder.js';

/** A secondary zone ("example.org.", lower case) and the addresses its NOTIFY may come from. */
export interface NotifySource {
  zone: string;
  addrs: string[];
}

export class NotifyGate {
  private readonly allowed = new Map<string, Uint8Array[]>();
  private readonly scratch = new Uint8Array(16);

  constructor(sources: readonly NotifySource[], private readonly onNotify: (zone: string, from: string) => void) {
    for (const s of sources) {
      const list = this.allowed.get(s.zone) ?? [];
      for (const a of s.addrs) {
        const b = new Uint8Array(16);
        const family = parseAddress(a, b, 0);
        if (family !== 0) list.push(b.slice(0, family === FAMILY_IPV4 ? 4 : 16));
      }
      this.allowed.set(s.zone, list);
    }
  }

  /**
   * After r.answer() wrote the NOTIFY reply of n bytes at buf[off..] (r.notified >= 0),
   * from the address at addr[at..] (4 bytes for IPv4, 16 for IPv6): the reply's length,
   * n when the source is one of the zone's primaries (the manager is told), else the
   * REFUSED reply's.
   */
  judge(r: DnsResponder, buf: Uint8Array, off: number, n: number, addr: Uint8Array, at: number, family: number): number {
    const zone = r.zoneName(r.notified);
    const len = family === FAMILY_IPV4 ? 4 : 16;
    for (const a of this.allowed.get(zone) ?? []) {
      if (a.length !== len) continue;
      let i = 0;
      while (i < len && a[i] === addr[at + i]) i++;
      if (i === len) {
        this.onNotify(zone, addressText(addr, at, family));
        return n;
      }
    }
    return r.notifyRefused(buf, off);
  }

  /** judge() for a source given as text (a kernel socket's rinfo.address). */
  judgeText(r: DnsResponder, buf: Uint8Array, off: number, n: number, from: string): number {
    const family = parseAddress(from, this.scratch, 0);
    if (family === 0) return r.notifyRefused(buf, off);
    return this.judge(r, buf, off, n, this.scratch, 0, family);
  }
}
