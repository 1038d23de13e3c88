// HalfSipHash-2-4 against the reference test vectors (veorq/SipHash vectors_hsip32: key
// 00..07, messages 00..n-1), for the lengths the appliance hashes: whole 32-bit words.

import test from 'ava';
import { HalfSipHash } from '../../basics/siphash.js';

test('HalfSipHash-2-4: the reference vectors for 0, 4 and 8 bytes', (t) => {
  const h = new HalfSipHash(0x03020100, 0x07060504);
  t.is(h.begin().end(), 0x5b9f35a9);
  t.is(h.begin().word(0x03020100).end(), 0x89466e2a);
  t.is(h.begin().word(0x03020100).word(0x07060504).end(), 0x8f84b8d0);
});
