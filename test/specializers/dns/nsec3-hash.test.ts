// The NSEC3 hash (RFC 5155 §5) both ways: node:crypto's (the build) and the responder's own
// SHA-1 (no allocation per query), against RFC 5155 Appendix A's hashes and against each
// other on random names, salts and iteration counts; canonical order.

import test from 'ava';
import { createHash } from 'node:crypto';
import { canonicalCompare, nsec3Hash, Sha1 } from '../../../specializers/dns/nsec3-hash.js';
import { decodeBase32Hex } from '../../../specializers/dns/text-codec.js';
import { nameToWire } from '../../../specializers/dns/zone.js';

const b32 = (s: string): Buffer => {
  const out = Buffer.alloc(20);
  decodeBase32Hex(Buffer.from(s), 0, s.length, out, 0);
  return out;
};

test('RFC 5155 Appendix A: example, a.example, ns1.example with salt aabbccdd and 12 iterations, both implementations', (t) => {
  const salt = Buffer.from('aabbccdd', 'hex');
  const cases: Array<[string, string]> = [
    ['example.', '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom'],
    ['a.example.', '35mthgpgcu1qg68fab165klnsnk3dpvl'],
    ['ns1.example.', '2t7b4g4vsa5smi47k61mv5bv1a22bojr'],
    ['w.example.', 'k8udemvp1j2f7eg6jebps17vp3n8i58h'],
  ];
  const sha = new Sha1();
  for (const [name, hash] of cases) {
    const w = nameToWire(name);
    const a = new Uint8Array(20), b = new Uint8Array(20);
    nsec3Hash(w, 0, w.length, salt, 12, a);
    sha.nsec3(w, 0, w.length, salt, 0, salt.length, 12, b);
    t.deepEqual(Buffer.from(a), b32(hash), name);
    t.deepEqual(Buffer.from(b), b32(hash), name);
  }
});

test('the responder\'s SHA-1 equals node:crypto\'s for every length from 0 to 600 bytes, and on random NSEC3 inputs', (t) => {
  const sha = new Sha1();
  const out = new Uint8Array(20);
  let seed = 12345;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let len = 0; len <= 600; len++) {
    const m = Uint8Array.from({ length: len }, rnd);
    sha.digest(m, len, out);
    t.deepEqual(Buffer.from(out), createHash('sha1').update(m).digest(), `length ${len}`);
  }
  for (let k = 0; k < 300; k++) {
    const name = Uint8Array.from({ length: 1 + (rnd() % 255) }, rnd);
    const salt = Uint8Array.from({ length: rnd() % 32 }, rnd);
    const iterations = rnd() % 8;
    const a = new Uint8Array(20);
    nsec3Hash(name, 0, name.length, salt, iterations, a);
    sha.nsec3(name, 0, name.length, salt, 0, salt.length, iterations, out);
    t.deepEqual(out, a);
  }
});

test('canonical order (RFC 4034 §6.1): the example list sorts as the RFC lists it', (t) => {
  const list = ['example.', 'a.example.', 'yljkjljk.a.example.', 'z.a.example.', 'zabc.a.example.', 'z.example.', '\\001.z.example.', '*.z.example.', '\\200.z.example.'];
  const la = new Int32Array(128), lb = new Int32Array(128);
  const wire = list.map((n) => nameToWire(n));
  for (let i = 0; i + 1 < wire.length; i++) t.true(canonicalCompare(wire[i]!, 0, wire[i + 1]!, 0, la, lb) < 0, `${list[i]} before ${list[i + 1]}`);
  const shuffled = [...wire].reverse().sort((x, y) => canonicalCompare(x, 0, y, 0, la, lb));
  t.deepEqual(shuffled, wire);
});
