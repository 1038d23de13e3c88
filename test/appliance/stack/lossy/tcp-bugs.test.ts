// Minimal reproductions of what the lossy tests (dns-tcp.test.ts) found in the fused TCP,
// one segment at a time through the real loop (the stack rig of ../helpers/rig.ts), with the
// peer's segments written by hand (the last two use the TCP peer of test/helpers/tcp-peer.ts).
// Each was test.failing until the TCP was fixed; the title names the bug and the RFC section;
// once fixed, ava reports it as passing unexpectedly: make it a plain test then.

import test from 'ava';
import { be16, be32, CLIENT4, concat, ETH_IPV4, ethernet, ipv4, layers, tcp, US4 } from '../../../helpers/packets.js';
import { encodeQuery, parseCorpusLine } from '../../../helpers/dns.js';
import { TCP_BASE } from '../../../../appliance/stack/counters.js';
import { TCP_COUNTER_NAMES } from '../../../../appliance/stack/tcp/counters.js';
import { Rig, type ZonesImage } from '../helpers/rig.js';
import { buildLossyImage, LossyRig } from './lossy-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildLossyImage(); });
test.after.always(() => image?.cleanup());

const FIN = 0x01, SYN = 0x02, PSH = 0x08, ACK = 0x10;
const SERVER_ISS = 0xffff0000;
const CLIENT_ISS = 0x10000000;

interface Seg {
  /** Relative to the server's ISS. */
  seq: number;
  /** Relative to the client's ISS. */
  ack: number;
  flags: number;
  window: number;
  len: number;
}

/** The peer, by hand: sequence numbers relative to the two ISNs, IPv4, no options but in the SYN. */
class Hand {
  readonly rig: Rig;
  readonly out: Seg[] = [];

  constructor() {
    this.rig = new Rig(image, { testIss: SERVER_ISS });
  }

  /** Sends one segment (seq relative to our ISS, ack to the server's) and returns what came back. */
  send(flags: number, seq: number, ack: number, data: Uint8Array = new Uint8Array(0), window = 65535, options?: Uint8Array): Seg[] {
    const seg = tcp(CLIENT4, US4, { sport: 40000, dport: 53, seq: (CLIENT_ISS + seq) >>> 0, ack: flags & ACK ? (SERVER_ISS + ack) >>> 0 : 0, flags, window, options }, data);
    return this.parse(this.rig.exchange([ethernet(ETH_IPV4, ipv4(6, seg))]));
  }

  advance(ms: number): Seg[] {
    this.rig.advance(ms);
    return this.parse(this.rig.exchange([]));
  }

  private parse(frames: Uint8Array[]): Seg[] {
    const got: Seg[] = [];
    for (const f of frames) {
      const { l3, type } = layers(f);
      if (type !== ETH_IPV4 || f[l3 + 9] !== 6) continue;
      const p = this.rig.problems(f);
      if (p.length) throw new Error(`emitted frame: ${p.join(', ')}`);
      const l4 = l3 + 20, end = l3 + be16(f, l3 + 2), hl = (f[l4 + 12]! >> 4) * 4;
      got.push({ seq: (be32(f, l4 + 4) - SERVER_ISS) >>> 0, ack: (be32(f, l4 + 8) - CLIENT_ISS) >>> 0, flags: f[l4 + 13]!, window: be16(f, l4 + 14), len: end - l4 - hl });
    }
    this.out.push(...got);
    return got;
  }

  /** SYN (MSS 1460, no window scale, no SACK), SYN-ACK, ACK: ESTABLISHED, our next byte at 1, theirs at 1. */
  establish(): void {
    const sa = this.send(SYN, 0, 0, undefined, 65535, Uint8Array.of(2, 4, 0x05, 0xb4));
    if (sa.length !== 1 || sa[0]!.flags !== (SYN | ACK)) throw new Error('no SYN-ACK');
    if (this.send(ACK, 1, 1).length !== 0) throw new Error('the handshake\'s ACK was answered');
  }

  counter(name: string): number {
    return this.rig.counters[TCP_BASE + TCP_COUNTER_NAMES.indexOf(name)]!;
  }
}

function framed(...msgs: Uint8Array[]): Uint8Array {
  return concat(...msgs.map((m) => concat(Uint8Array.of(m.length >> 8, m.length & 0xff), m)));
}

const small = (id: number): Uint8Array => new Uint8Array(encodeQuery(parseCorpusLine('example.com SOA')!, { id }));
const big = (id: number): Uint8Array => new Uint8Array(encodeQuery(parseCorpusLine('big.big.test TXT')!, { id }));

/**
 * A zero window reached the legitimate way: a 60 KB answer waits for the peer (which
 * acknowledges nothing), small queries follow until the connection's answers pass its byte
 * budget and the session stops; the queries after them are held until the window (65,535)
 * is full. Returns our next sequence number, the stream's rest, and the server's highest
 * sequence number sent.
 */
function zeroWindow(h: Hand): { next: number; rest: Uint8Array; sentMax: number } {
  let next = 1;
  const first = framed(big(1));
  const out = h.send(ACK | PSH, next, 1, first);
  next += first.length;
  const stream = framed(...Array.from({ length: 4000 }, (_, i) => small(i + 2)));
  let off = 0;
  let window = out[out.length - 1]!.window;
  for (let i = 0; i < 200 && window > 0; i++) {
    const n = Math.min(1460, window, stream.length - off);
    const r = h.send(ACK | PSH, next, 1, stream.subarray(off, off + n));
    off += n;
    next += n;
    if (r.length) window = r[r.length - 1]!.window;
  }
  if (window !== 0) throw new Error('the window never closed: the reproduction lost its point');
  const sentMax = Math.max(...h.out.filter((s) => !(s.flags & SYN)).map((s) => s.seq + s.len));
  return { next, rest: stream.subarray(off), sentMax };
}

test('FIXED zero window: a segment at RCV.NXT while RCV.WND is 0 is dropped before its ACK is looked at, so the ACK that frees the answers (and would reopen the window) is lost (RFC 9293 §3.10.7 Other States: "If the RCV.WND is zero, no segments will be acceptable, but special allowance should be made to accept valid ACKs")', (t) => {
  const h = new Hand();
  h.establish();
  const { next, rest, sentMax } = zeroWindow(h);
  // The peer acknowledges all it got, on its next byte (a zero-window probe, as a peer sends
  // on its persist timer; Linux's RTO retransmission into a shrunk window is the same). The
  // byte may be dropped (the window is 0); the ACK may not.
  const r = h.send(ACK | PSH, next, sentMax, rest.subarray(0, 1));
  // Processed, the ACK frees the acknowledged part of the answers: the held queries go to the
  // session, the window opens, and the data after sentMax may go (cwnd grew).
  t.true(r.some((s) => s.window > 0), `every reply still says window 0: ${JSON.stringify(r)}`);
  // And nothing the peer acknowledged is sent again on the RTO.
  const later = h.advance(1100);
  t.false(later.some((s) => s.len > 0 && s.seq < sentMax), 'acknowledged data was retransmitted on the RTO');
});

test('FIXED pure ACK sequence number after an RTO: it carries the rewound SND.NXT, behind data already sent, so a peer that takes the window only from newer segments (RFC 9293 §3.10.7 Other States, SND.WL1/SND.WL2) ignores the window it advertises', (t) => {
  const h = new Hand();
  h.establish();
  // A 60 KB answer: ten segments go (IW10); none is acknowledged; the RTO (1 s) goes back to SND.UNA.
  const first = h.send(ACK | PSH, 1, 1, framed(big(1)));
  const sentMax = Math.max(...first.map((s) => s.seq + s.len));
  t.true(sentMax > 1 + 9 * 1460, `IW10 went: up to ${sentMax}`);
  const rto = h.advance(1000);
  t.true(rto.some((s) => s.seq === 1 && s.len > 0), 'the RTO resent the first segment');
  // An old duplicate from the peer (its handshake ACK again) makes the server say where it is: a pure ACK.
  const r = h.send(ACK, 0, 1);
  const pure = r.find((s) => s.len === 0 && !(s.flags & (SYN | FIN)));
  t.truthy(pure, 'a pure ACK came back');
  // RFC 9293's SND.NXT is never rewound by a retransmission (§3.8.1: segments are resent from
  // the retransmission queue); BSD's tcp_output uses snd_max for ACKs for this reason.
  t.true(pure !== undefined && pure.seq >= sentMax, `pure ACK at seq ${pure?.seq}, behind ${sentMax} already sent: a peer's SND.WL1 test drops its window`);
});

test('FIXED idle timeout while an answer is in flight: the DNS session\'s idle deadline (10 s) closes a connection whose 60 KB answer is still being sent to a slow peer, and the query it sends meanwhile is acknowledged and never answered (RFC 7766 §6.2.3 is about idle connections; the socket backend skips the idle deadline while writes are pending)', (t) => {
  // No loss at all: a peer with a 1,460-byte window behind a 150 ms one-way delay takes one
  // segment per 300 ms round trip: about 13 s for the 42 segments of the answer.
  const r = new LossyRig(image, { seed: 1, client: { rx: { delayMs: 150 }, tx: { delayMs: 150 } } });
  const p = r.host.connect({ window: 1460, wscale: null });
  const q1 = big(1), q2 = small(2);
  p.sendDns(q1);
  const a1 = r.referenceAnswer(q1, false)!, a2 = r.referenceAnswer(q2, false)!;
  // The second query goes 11 s in, while the first answer is still on its way.
  r.runUntil(() => r.now - 1_000_000 >= 11_000, 1000);
  t.true(p.received().length < a1.length, 'the first answer was not still in flight at 11 s: the test lost its point');
  p.sendDns(q2);
  r.runUntil(() => p.messages().length >= 2 || p.peerFin, 5000);
  t.is(r.tcpCounter('idle_timeouts'), 0, 'the idle deadline fired while the answer was in flight');
  t.is(p.messages().length, 2, `answers: ${p.messages().map((m) => m.length).join(', ')}; the second query was acknowledged (${p.describe()}) and not answered`);
  t.deepEqual(p.messages()[1], a2);
  t.deepEqual(r.problems, []);
});

test('FIXED give-up too soon: a peer silent for less than 100 s (a link down, a route flapping) is reset — after 6 retransmissions from a 200 ms RTO (about 25 s), and in any case by the 60 s send deadline (RFC 1122 §4.2.3.5: R2 for data "SHOULD correspond to at least 100 seconds")', (t) => {
  const h = new Hand();
  h.establish();
  // One exchange gives an RTT sample: the RTO drops to its 200 ms floor.
  const a = h.send(ACK | PSH, 1, 1, framed(small(1)));
  const end = Math.max(...a.map((s) => s.seq + s.len));
  h.advance(5);
  h.send(ACK, 1 + framed(small(1)).length, end);
  // The next answer goes out, and the peer falls silent.
  h.send(ACK | PSH, 1 + framed(small(1)).length, end, framed(small(2)));
  let resetAt = -1;
  for (let ms = 0; ms < 100_000 && resetAt < 0; ms += 100) {
    if (h.advance(100).some((s) => s.flags & 0x04)) resetAt = ms + 100;
  }
  t.is(resetAt, -1, `reset after ${resetAt / 1000} s of silence (retry_limit ${h.counter('retry_limit')}, send_timeouts ${h.counter('send_timeouts')})`);
});

test('FIXED RST after retransmission timeouts: the reset that ends a connection carries the rewound SND.NXT, behind data the peer has, so the peer discards it (out of its window: RFC 9293 §3.10.7 Other States first check, RFC 5961 §3.2) and keeps a dead connection open; RFC 9293 §3.10.5 ABORT sends <SEQ=SND.NXT> of the RFC\'s model, the highest sent', (t) => {
  const h = new Hand();
  h.establish();
  // A 60 KB answer: ten segments arrive (IW10), the peer's ACKs are all lost.
  const first = h.send(ACK | PSH, 1, 1, framed(big(1)));
  const sentMax = Math.max(...first.map((s) => s.seq + s.len));
  let rst: Seg | undefined;
  for (let ms = 0; ms < 900_000 && !rst; ms += 500) rst = h.advance(500).find((s) => s.flags & 0x04);
  t.truthy(rst, 'the server never gave up');
  t.true(rst !== undefined && rst.seq >= sentMax, `RST at seq ${rst?.seq}; the peer's RCV.NXT is ${sentMax}`);
});
