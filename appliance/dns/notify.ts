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
  /** Zone → its primaries' addresses (4 bytes for IPv4, 16 for IPv6). */
  private readonly allowed = new Map<string, Uint8Array[]>();
  /** Every primary's address, of any zone: a NOTIFY from elsewhere is refused before anything is made for it. */
  private readonly anyZone: Uint8Array[] = [];
  private readonly none: Uint8Array[] = [];
  private readonly scratch = new Uint8Array(16);

  constructor(sources: readonly NotifySource[], private readonly onNotify: (zone: string, from: string) => void) {
    for (const s of sources) {
      const list = this.allowed.get(s.zone) ?? [];
      for (const a of s.addrs) {
        const b = new Uint8Array(16);
        const family = parseAddress(a, b, 0);
        if (family === 0) continue;
        const addr = b.slice(0, family === FAMILY_IPV4 ? 4 : 16);
        list.push(addr);
        this.anyZone.push(addr);
      }
      this.allowed.set(s.zone, list);
    }
  }

  /**
   * After r.answer() wrote the NOTIFY reply of n bytes at buf[off..] (r.notified >= 0),
   * from the address at addr[at..] (4 bytes for IPv4, 16 for IPv6; an IPv4-mapped IPv6
   * address, as a dual-stack socket gives it, counts as the IPv4 one): the reply's length,
   * n when the source is one of the zone's primaries (the manager is told), else the
   * REFUSED reply's.
   */
  judge(r: DnsResponder, buf: Uint8Array, off: number, n: number, addr: Uint8Array, at: number, family: number): number {
    let len = family === FAMILY_IPV4 ? 4 : 16;
    if (len === 16 && isV4Mapped(addr, at)) {
      at += 12;
      len = 4;
    }
    if (!this.listed(this.anyZone, addr, at, len)) return r.notifyRefused(buf, off);
    const zone = r.zoneName(r.notified);
    if (!this.listed(this.allowed.get(zone) ?? this.none, addr, at, len)) return r.notifyRefused(buf, off);
    r.notifyTaken();
    // Every one passed on: dropping one could lose the news of a change that came after the
    // check under way began. The manager runs one check at a time and keeps at most one more
    // asked for, so a flood of them costs a message each, not a check each.
    this.onNotify(zone, addressText(addr, at, len === 4 ? FAMILY_IPV4 : 6));
    return n;
  }

  private listed(list: readonly Uint8Array[], addr: Uint8Array, at: number, len: number): boolean {
    for (const a of list) {
      if (a.length !== len) continue;
      let i = 0;
      while (i < len && a[i] === addr[at + i]) i++;
      if (i === len) return true;
    }
    return false;
  }

  /** judge() for a source given as text (a kernel socket's rinfo.address). */
  judgeText(r: DnsResponder, buf: Uint8Array, off: number, n: number, from: string): number {
    const family = parseAddress(from, this.scratch, 0);
    if (family === 0) return r.notifyRefused(buf, off);
    return this.judge(r, buf, off, n, this.scratch, 0, family);
  }
}

/** Is addr[at, at+16) ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)? */
function isV4Mapped(addr: Uint8Array, at: number): boolean {
  for (let i = 0; i < 10; i++) if (addr[at + i] !== 0) return false;
  return addr[at + 10] === 0xff && addr[at + 11] === 0xff;
}
