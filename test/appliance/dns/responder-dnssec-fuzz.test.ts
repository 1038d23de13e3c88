// The responder over signed zones, fed hostile and random queries (the run-time NSEC and
// NSEC3 search and the splice of its record are the code a query name steers): names
// under and beside every signed zone at random depths and cases, every type that matters
// to DNSSEC, DO set or not, any EDNS size, UDP and TCP, IPv4 and IPv6, and a room of any
// size. Nothing may throw, nothing may be written past the room, every answer must parse
// and fit what the client allows; and for names that do not exist, the NSEC or NSEC3 the
// answer carries must be as the build laid them out (the chain's records, whole).

import test from 'ava';
import dnsPacket from 'dns-packet';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DnsResponder, TRANSPORT_TCP, TRANSPORT_UDP } from '../../../appliance/dns/responder.js';
import { DnsTables } from '../../../appliance/dns/tables.js';
import { loadImage } from '../../../specializers/image/format.js';
import { buildTestImage, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';
import { SIGN_TOOLS, signFixtures } from '../../helpers/signed.js';

const missing = SIGN_TOOLS.filter((c) => !hasCommand(c));
const tmp = tempDir('dnssec-fuzz');

test.after.always(() => tmp.cleanup());

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
}

test('random and hostile queries over signed zones: no throw, nothing past the room, every answer parses and fits', async (t) => {
  if (missing.length) {
    t.log(`SKIPPED: ${missing.join(', ')} not installed (apt-get install ldnsutils); .ci/run installs it`);
    return void t.pass();
  }
  const fx = await signFixtures(join(tmp.dir, 'signed'));
  const image = await buildTestImage(join(tmp.dir, 'signed.apl'), [], fx.served.map((z) => ({ origin: z.origin, file: z.file })));
  const r = new DnsResponder(new DnsTables(loadImage(image)));
  const rnd = prng(2024);
  const zones = fx.served.map((z) => z.origin.replace(/\.$/, ''));
  const known = ['www', 'wild', 'x.wild', 'dname', 'a.b.c', 'b.c', 'c', 'hosts', 'unsigned', 'signed', 'chain1', 'dangling', 'many', '*.wild', ''];
  const types = [1, 2, 5, 6, 15, 16, 28, 39, 43, 46, 47, 48, 50, 51, 255, 65, 99];
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-*_ZQ';
  const label = (): string => Array.from({ length: 1 + (rnd() % 12) }, () => alphabet[rnd() % alphabet.length]).join('');
  const guard = 64;
  const mem = new Uint8Array(70_000 + 2 * guard);
  let answered = 0, truncated = 0, denials = 0;
  const problems: string[] = [];
  for (let n = 0; n < 20_000; n++) {
    const zone = zones[rnd() % zones.length]!;
    const base = known[rnd() % known.length]!;
    const extra = Array.from({ length: rnd() % 4 }, label);
    let name = [...extra, base, zone].filter((x) => x.length > 0).join('.');
    if (rnd() % 4 === 0) name = name.split('').map((c) => (rnd() % 2 ? c.toUpperCase() : c)).join('');
    if (name.length > 250) name = name.slice(name.length - 250).replace(/^[^.]*\./, '');
    const dnssecOk = rnd() % 4 !== 0;
    const edns = dnssecOk || rnd() % 2 === 0;
    const udpSize = [0, 1, 511, 512, 513, 700, 1232, 1400, 4096, 65535][rnd() % 10]!;
    const q = dnsPacket.encode({
      type: 'query', id: n & 0xffff, flags: rnd() % 2 ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ type: `TYPE${types[rnd() % types.length]}` as dnsPacket.RecordType, name, class: 'IN' }],
      additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: udpSize, flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as dnsPacket.Answer] : [],
    } as dnsPacket.Packet);
    const transport = rnd() % 3 === 0 ? TRANSPORT_TCP : TRANSPORT_UDP;
    const cap = [q.length, q.length + 20, 512, 1232, 4096, 65535][rnd() % 6]!;
    mem.fill(0xa5);
    mem.set(q, guard);
    let len: number;
    try {
      len = r.answer(mem, guard, q.length, cap, transport, rnd() % 2 === 0);
    } catch (e) {
      problems.push(`${name} threw ${(e as Error).stack}`);
      continue;
    }
    for (let i = guard + cap; i < mem.length; i++) {
      if (mem[i] !== 0xa5) {
        problems.push(`${name}: a write past the room (${cap}) at ${i - guard}`);
        break;
      }
    }
    if (len < 0) continue;
    answered++;
    // The size as sent (dns-packet writes 4096 for a size of 0): the OPT's CLASS, 8 bytes from the end.
    const sent = edns ? q.readUInt16BE(q.length - 8) : 0;
    const limit = transport === TRANSPORT_TCP ? 65535 : edns ? Math.min(Math.max(sent, 512), 1232) : 512;
    if (len > Math.min(cap, limit)) problems.push(`${name}: ${len} bytes over ${transport === TRANSPORT_TCP ? 'TCP' : 'UDP'} (size ${sent}, room ${cap})`);
    let p: dnsPacket.Packet;
    try {
      p = dnsPacket.decode(Buffer.from(mem.subarray(guard, guard + len)));
    } catch (e) {
      problems.push(`${name}: the answer does not parse: ${(e as Error).message}`);
      continue;
    }
    if (((p.flags ?? 0) & 0x200) !== 0) truncated++;
    if ((p.authorities ?? []).some((a) => a.type === 'NSEC' || a.type === 'NSEC3')) denials++;
    for (const a of p.authorities ?? []) {
      if (a.type === 'NSEC3' && !/^[0-9a-v]{32}\./i.test(a.name)) problems.push(`${name}: an NSEC3 owned by ${a.name}`);
    }
  }
  t.log(`${answered} answered, ${truncated} truncated, ${denials} with NSEC or NSEC3 in authority`);
  t.deepEqual(problems.slice(0, 10), []);
  t.true(denials > 1000);
});

test('a signed wildcard of thousands of records: built (a template no message holds is answered TC=1, nothing spliced), and one past 16 KiB answered whole over TCP with its denial record', async (t) => {
  if (missing.length) return void t.pass();
  const src = join(tmp.dir, 'src');
  mkdirSync(src, { recursive: true });
  const zone = (origin: string, n: number): string => [`$ORIGIN ${origin}`, '$TTL 300', '@ SOA ns1 h 1 7200 1800 1209600 300', '@ NS ns1', 'ns1 A 198.18.0.1',
    ...Array.from({ length: n }, (_, i) => `* A 198.18.${(i >> 8) & 255}.${i & 255}`)].join('\n') + '\n';
  writeFileSync(join(src, 'big.test.zone'), zone('big.test.', 5000));
  writeFileSync(join(src, 'mid.test.zone'), zone('mid.test.', 1100));
  const plans = ['big.test.', 'mid.test.'].map((origin) => ({ origin, parent: null, denial: { kind: 'nsec' as const }, algorithm: 'ECDSAP256SHA256' as const }));
  const fx = await signFixtures(join(tmp.dir, 'big'), { zones: plans, sources: src });
  const image = await buildTestImage(join(tmp.dir, 'big.apl'), [], fx.served.map((z) => ({ origin: z.origin, file: z.file })));
  const r = new DnsResponder(new DnsTables(loadImage(image)));
  const ask = (name: string): dnsPacket.Packet => {
    const q = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name, class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer] } as dnsPacket.Packet);
    const mem = new Uint8Array(70_000);
    mem.set(q, 0);
    const len = r.answer(mem, 0, q.length, 65535, TRANSPORT_TCP);
    return dnsPacket.decode(Buffer.from(mem.subarray(0, len)));
  };
  const big = ask('x.big.test');
  t.true(((big.flags ?? 0) & 0x200) !== 0, 'TC');
  // "!" sorts before every other label: the apex's NSEC covers it, its owner all a suffix of the question; the record lands past 16 KiB.
  for (const name of ['!.mid.test', 'x.mid.test']) {
    const p = ask(name);
    t.is((p.answers ?? []).length, 1101, `${name}: 1,100 A and the RRSIG`);
    t.true((p.authorities ?? []).some((a) => a.type === 'NSEC'), `${name}: the NSEC covering it`);
    t.true((p.additionals ?? []).some((a) => a.type === 'OPT'), `${name}: the OPT last, the message whole`);
  }
});
