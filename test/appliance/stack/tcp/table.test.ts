// The connection table and its companions alone: the keyed 4-tuple index under random
// inserts and deletes (every key found, none twice, no tombstones), the eviction order, the
// TIME-WAIT ring, the timing wheel; and sequence arithmetic over the whole 2^32 circle.

import test from 'ava';
import fc from 'fast-check';
import { TcpTable, ESTABLISHED, SYN_RECEIVED } from '../../../../appliance/stack/tcp/table.js';
import { TimeWaitTable } from '../../../../appliance/stack/tcp/time-wait.js';
import { TimerWheel } from '../../../../appliance/stack/tcp/timers.js';
import { seqAdd, seqDiff, seqGeq, seqGt, seqInRange, seqLeq, seqLt } from '../../../../appliance/stack/tcp/seq.js';

const KEY = Uint32Array.of(11, 22);
const none = new Uint8Array(16);

test('property: random allocs and releases keep every invariant (index, free list, half-open count, eviction order)', (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.boolean()), { maxLength: 400 }), (ops) => {
    const tab = new TcpTable(32, KEY);
    const live = new Map<number, number>(); // port → slot
    for (const [add, port, half] of ops) {
      if (add && !live.has(port)) {
        const s = tab.alloc(4, 0xc6120001, none, 0, 1000 + port, 53, 0);
        if (s < 0) {
          if (tab.free !== 0) return false;
          continue;
        }
        tab.setState(s, half ? SYN_RECEIVED : ESTABLISHED);
        live.set(port, s);
      } else if (!add && live.has(port)) {
        tab.release(live.get(port)!);
        live.delete(port);
      }
      if (tab.checkInvariants().length) return false;
      for (const [p, s] of live) if (tab.find4(0xc6120001, 1000 + p, 53, 0) !== s) return false;
    }
    return true;
  }), { numRuns: 200, seed: 3 });
  t.pass();
});

test('IPv6 keys: found by the 16 bytes, never confused with another address or family', (t) => {
  const tab = new TcpTable(8, KEY);
  const a = Uint8Array.from({ length: 16 }, (_, i) => i);
  const b = Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 99 : i));
  const s = tab.alloc(6, 0, a, 0, 5000, 53, 0);
  tab.setState(s, ESTABLISHED);
  t.is(tab.find6(a, 0, 5000, 53, 0), s);
  t.is(tab.find6(b, 0, 5000, 53, 0), -1);
  t.is(tab.find4(0, 5000, 53, 0), -1);
  t.deepEqual(tab.checkInvariants(), []);
});

test('the eviction order: the slot answered longest ago comes first; busy ones are passed over', (t) => {
  const tab = new TcpTable(4, KEY);
  const s = [0, 1, 2].map((i) => {
    const x = tab.alloc(4, 1, none, 0, 100 + i, 53, 0);
    tab.setState(x, ESTABLISHED);
    return x;
  });
  tab.touch(s[0]!);
  t.is(tab.victim(() => true), s[1]);
  t.is(tab.victim((x) => x !== s[1]), s[2]);
});

test('TIME-WAIT: FIFO expiry, early removal (its place given up at the head), recycling of the oldest when full', (t) => {
  const src = new TcpTable(8, KEY);
  const tw = new TimeWaitTable(3, 5, 6, 1000);
  const mac = new Uint8Array(6);
  const rows: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = src.alloc(4, 7, none, 0, 200 + i, 53, 0);
    rows.push(tw.add(src.keys, s, 1, 2, mac, 0, -1, i * 10));
  }
  t.is(tw.live, 3);
  t.is(tw.find4(7, 201, 53, 0), rows[1]);
  tw.remove(rows[1]!);
  t.is(tw.find4(7, 201, 53, 0), -1);
  // The ring still holds the removed row's place: a new row recycles the oldest live one (port 200).
  const s = src.alloc(4, 7, none, 0, 300, 53, 0);
  tw.add(src.keys, s, 1, 2, mac, 0, -1, 50);
  t.is(tw.recycled, 1);
  t.is(tw.find4(7, 200, 53, 0), -1);
  t.is(tw.live, 2);
  // Now the removed row is at the head: its place is reused, nothing live is recycled.
  const s2 = src.alloc(4, 7, none, 0, 301, 53, 0);
  tw.add(src.keys, s2, 1, 2, mac, 0, -1, 60);
  t.is(tw.recycled, 1);
  t.is(tw.live, 3);
  t.is(tw.expire(1025), 1);
  t.is(tw.find4(7, 202, 53, 0), -1);
  t.is(tw.nextDeadline(), 1050);
  t.is(tw.expire(2000), 2);
  t.is(tw.live, 0);
  t.is(tw.keys.size, 0);
});

test('property: the timing wheel gives out every slot at or after its deadline, once, never early', (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 30_000 })), { maxLength: 200 }), (arms) => {
    const w = new TimerWheel(32, 0);
    const due = new Map<number, number>();
    for (const [s, at] of arms) {
      w.arm(s, at);
      due.set(s, at);
    }
    const out = new Int32Array(32);
    const got = new Map<number, number>();
    for (let now = 0; now <= 31_000; now += 7) {
      const n = w.expire(now, out);
      for (let i = 0; i < n; i++) {
        const s = out[i]!;
        if (got.has(s) || due.get(s)! > now || now - due.get(s)! > 20) return false;
        got.set(s, now);
      }
      if (w.count > 0 && w.nextDeadline() < now - 20) return false;
    }
    return got.size === due.size && w.count === 0;
  }), { numRuns: 100, seed: 5 });
  t.pass();
});

test('property: sequence comparisons over the whole 2^32 circle (RFC 9293 §3.4)', (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), (a, d) => {
    const b = seqAdd(a, d);
    if (seqDiff(b, a) !== d) return false;
    if (seqLt(a, b) !== d > 0 || seqGt(a, b) !== d < 0 || seqLeq(a, b) !== d >= 0 || seqGeq(a, b) !== d <= 0) return false;
    if (d > 0 && (!seqInRange(a, a, b) || seqInRange(b, a, b))) return false;
    return true;
  }), { numRuns: 20_000, seed: 9 });
  t.true(seqLt(0xffffffff, 0));
  t.true(seqInRange(0, 0xfffffff0, 0x10));
  t.false(seqInRange(5, 5, 5));
});
