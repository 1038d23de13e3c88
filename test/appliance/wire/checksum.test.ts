// The Internet checksum (appliance/wire/checksum.ts) against the RFCs' own examples and a
// reference loop written the plain way (test/helpers/packets.ts).

import test from 'ava';
import fc from 'fast-check';
import { addSums, finish, fold, partialSum, swapSum, updateSum } from '../../../basics/checksum.js';
import { hex, refSum } from '../../helpers/packets.js';

const SEED = 0x1071;

test('RFC 1071 §3: the worked example sums to ddf2, checksum 220d', (t) => {
  const b = hex('0001 f203 f4f5 f6f7');
  t.is(partialSum(b, 0, b.length), 0xddf2);
  t.is(finish(partialSum(b, 0, b.length)), 0x220d);
});

test('a well-known IPv4 header (c0a8 example) has checksum b861', (t) => {
  const h = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
  t.is(finish(partialSum(h, 0, h.length)), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  t.is(partialSum(h, 0, h.length), 0xffff, 'a header with its checksum in place sums to all ones');
});

test('RFC 1624 §4: changing 5555 to 3285 under checksum dd2f gives 0000 (eqn. 3, no -0 trap)', (t) => {
  const partial = ~0xdd2f & 0xffff;
  t.is(finish(updateSum(partial, 0x5555, 0x3285)), 0x0000);
});

test('odd lengths pad with a zero byte; offsets are honoured; initial sums add', (t) => {
  const b = hex('ee ee 01 02 03');
  t.is(partialSum(b, 2, 3), 0x0402);
  t.is(partialSum(b, 2, 0), 0);
  t.is(partialSum(b, 2, 3, 0xfbfd), 0xffff);
  t.is(partialSum(b, 2, 3, 0xfbfe), 0x0001, 'the carry goes around');
});

test('a long run of 0xff never overflows the accumulator', (t) => {
  const b = new Uint8Array(65535).fill(0xff);
  t.is(partialSum(b, 0, b.length), refSum(b));
  t.is(partialSum(b, 1, b.length - 1), refSum(b.subarray(1)));
});

test('fold, finish, addSums', (t) => {
  t.is(fold(0x1fffe), 0xffff);
  t.is(fold(0xffff_ffff), 0xffff);
  t.is(finish(0xffff), 0);
  t.is(finish(0), 0xffff);
  t.is(addSums(0x8000, 0x8000), 0x0001);
});

test('partialSum agrees with the reference loop at any offset and length', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (b, x, y) => {
    const off = b.length ? x % b.length : 0;
    const len = b.length - off ? y % (b.length - off + 1) : 0;
    return partialSum(b, off, len) === refSum(b.subarray(off, off + len));
  }), { seed: SEED, numRuns: 500 });
  t.pass();
});

test('swapSum: a span summed from an odd offset, swapped, adds into the whole', (t) => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), (b) => {
    return partialSum(b, 0, b.length) === addSums(partialSum(b, 0, 1), swapSum(partialSum(b, 1, b.length - 1)));
  }), { seed: SEED, numRuns: 300 });
  t.pass();
});

test('updateSum matches a full recomputation after changing any word', (t) => {
  const same = (a: number, b: number): boolean => a === b || (a === 0 && b === 0xffff) || (a === 0xffff && b === 0);
  fc.assert(fc.property(fc.uint8Array({ minLength: 2, maxLength: 64 }).filter((b) => b.length % 2 === 0), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (b, k, w) => {
    const at = (k % (b.length / 2)) * 2;
    const before = partialSum(b, 0, b.length);
    const old = (b[at]! << 8) | b[at + 1]!;
    const c = Uint8Array.from(b);
    c[at] = w >> 8;
    c[at + 1] = w & 0xff;
    return same(updateSum(before, old, w), partialSum(c, 0, c.length));
  }), { seed: SEED, numRuns: 500 });
  t.pass();
});
