// Reloads in the fused stack, on the pipe (no root): Serving.swap() while the stack serves
// (appliance/worker/serve-worker.ts). A response under way when the image is swapped goes
// on, and is retransmitted, from the image it started on (its out-queue records carry their
// image's generation), byte for byte; every request after the swap, on the same connection
// or a new one, and every DNS query, is answered from the new image. imagesHeld() counts
// the images responses still send from. A swap is refused, with a message and nothing
// changed, when all GENERATIONS are held or when the new image serves other things (zones,
// sites) than the one served.
//
//   PeerHost (test/helpers/tcp-peer.ts) ─ ClientGate ─ pipe B ═══ pipe A ─ BatchRunner(Stack)
//   real TCP clients, SACK, dup-ACKs      │ every frame the stack emitted checked; the
//                                         └ server's segments a test picks are lost
//
// Time is the rig's clock: step() moves it on, then clients and server take turns until
// nothing moves. With the clock still, no timer fires: a response whose segments are lost
// stays under way (sent, not acknowledged) for as long as a test needs.

import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import dnsPacket from 'dns-packet';
import { BATCH, DeviceWrapper, type Device } from '../../../netmap-binding/device.js';
import { sendFrames } from '../../../netmap-binding/device-util.js';
import { HANDLER_ERRORS, TCP_BASE } from '../../../appliance/stack/counters.js';
import { TCP_COUNTER_NAMES } from '../../../appliance/stack/tcp/counters.js';
import { GENERATIONS } from '../../../appliance/stack/tcp/out-queue.js';
import { loadImage, type Image } from '../../../specializers/image/format.js';
import { buildTestImage, tempDir } from '../../helpers/fixtures.js';
import { parseResponses, type RawResponse } from '../../helpers/http.js';
import { be16, be32, CLIENT4, ETH_IPV4, ethernet, ipv4, layers, tcp, udp4Frame, udpPayload, US4, US_MAC } from '../../helpers/packets.js';
import type { HttpTcpApp } from '../../../appliance/stack/tcp/apps.js';
import { PeerHost, RST, type TcpPeer } from '../../helpers/tcp-peer.js';
import { Rig, type ZonesImage } from './helpers/rig.js';

const ZONE = 'reload.test';
/** big.bin: far more than the initial congestion window (ten segments), so its transfer spans many round trips. */
const BIG_BYTES = 300 * 1024;
/** Every connection's ISS (test only): the big transfer crosses the wrap of sequence numbers. */
const SERVER_ISS = 0xfffff000;

// A full collection on demand, to see whether an old image can be freed: this file runs in a
// process of its own (ava's workerThreads is off), so the flag touches no other test.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects everything unreachable; a WeakRef is let go only after the job that made or read it ends. */
async function collect(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
  await new Promise((r) => setTimeout(r, 0));
  gc();
}

interface Version {
  name: string;
  serial: number;
  /** version.txt's body ('' when the image has no site). */
  text: string;
  /** big.bin's bytes, when the version has it. */
  big: Buffer | null;
  /** The address of www.reload.test ('' when the image has no zone). */
  www: string;
  /** What a rig serves (Rig's first image). */
  served: ZonesImage;
  /** What swap() takes. */
  img: Image;
}

/**
 * An image of a small site and a zone that differ between versions: version.txt is
 * "v<serial>", only-v<serial>.txt is in this version alone, big.bin (when given) the bytes
 * given; the SOA serial is `serial` and www.reload.test's address 198.18.1.<serial mod 250>.
 */
async function buildVersion(dir: string, name: string, serial: number, o: { big?: Buffer; sites?: boolean; zones?: boolean } = {}): Promise<Version> {
  const sites = [], zones = [];
  const big = o.big ?? null;
  let text = '';
  let www = '';
  if (o.sites !== false) {
    const site = join(dir, `site-${name}`);
    mkdirSync(site, { recursive: true });
    text = `v${serial}\n`;
    writeFileSync(join(site, 'index.html'), `<!doctype html><title>v${serial}</title>\n`);
    writeFileSync(join(site, 'version.txt'), text);
    writeFileSync(join(site, `only-v${serial}.txt`), text);
    if (big !== null) writeFileSync(join(site, 'big.bin'), big);
    sites.push({ host: null, dir: site });
  }
  if (o.zones !== false) {
    const zone = join(dir, `${name}.zone`);
    www = `198.18.1.${serial % 250}`;
    writeFileSync(zone, [
      `$ORIGIN ${ZONE}.`, '$TTL 300', `@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`, '@ IN NS ns1', 'ns1 IN A 198.18.0.10', `www IN A ${www}`, '',
    ].join('\n'));
    zones.push({ origin: `${ZONE}.`, file: zone });
  }
  const file = await buildTestImage(join(dir, `${name}.apl`), sites, zones, 1);
  const img = loadImage(file);
  return { name, serial, text, big, www, served: { file, shared: img.shared, cleanup: () => undefined }, img };
}

let tmp: { dir: string; cleanup: () => void };
/** V[0] (A) and V[1] (B) have big.bin, B's every byte A's complemented (so that no byte of one is the other's); V[2..GENERATIONS] have none. Serials 1000 + k. */
let V: Version[];
let A: Version, B: Version;
/** Only the zone (serial 2000), only the site (2001); another zone only (2002). */
let zonesOnly: Version, sitesOnly: Version, zonesOnly2: Version;

test.before(async () => {
  tmp = tempDir('reload');
  const bigA = randomBytes(BIG_BYTES);
  const bigB = Buffer.from(bigA.map((b) => b ^ 0xff));
  V = await Promise.all(Array.from({ length: GENERATIONS + 1 }, (_, k) => buildVersion(tmp.dir, `v${k}`, 1000 + k, { big: [bigA, bigB][k] })));
  [A, B] = [V[0]!, V[1]!];
  zonesOnly = await buildVersion(tmp.dir, 'zones', 2000, { sites: false });
  sitesOnly = await buildVersion(tmp.dir, 'sites', 2001, { zones: false });
  zonesOnly2 = await buildVersion(tmp.dir, 'zones2', 2002, { sites: false });
});
test.after.always(() => tmp?.cleanup());

// ── The client's end: what reaches the clients, and what is lost ─────────────────────────

/** A segment from the server, as the gate sees it: `off` is its place in the stream (0: the first byte after the SYN). */
interface ServerSegment {
  /** The client's port. */
  port: number;
  off: number;
  len: number;
  flags: number;
  /** Its payload. */
  data: Uint8Array;
  lost: boolean;
  /** The rig's clock when it came (ms). */
  at: number;
}

/**
 * The client's end of the pipe, with a say over what reaches the clients: the server's
 * segments `lose` picks never arrive (a drop on the way). Every frame is first checked by
 * `check` (the invariant checker) as the stack emitted it, lost ones too; frames that are not
 * TCP (DNS over UDP answers) are kept aside in `other`.
 */
class ClientGate extends DeviceWrapper {
  lose: ((s: ServerSegment) => boolean) | null = null;
  /** Every TCP segment from the server, in the order it came. */
  readonly segments: ServerSegment[] = [];
  readonly other: Uint8Array[] = [];
  readonly problems: string[] = [];
  private readonly dropped = new Uint32Array(BATCH);

  constructor(inner: Device, private readonly check: (f: Uint8Array) => string[], private readonly now: () => number) {
    super(inner, 'gate');
  }

  override receive(addrs: Uint32Array, lens: Uint32Array, max: number): number {
    for (;;) {
      const n = this.inner.receive(addrs, lens, max);
      if (n === 0) return 0;
      let kept = 0, dropped = 0;
      for (let i = 0; i < n; i++) {
        const a = addrs[i]!, l = lens[i]!;
        const f = this.inner.mem.slice(a, a + l);
        for (const p of this.check(f)) this.problems.push(p);
        const s = serverSegment(f, this.now());
        if (s === null) {
          this.other.push(f);
          this.dropped[dropped++] = a;
          continue;
        }
        this.segments.push(s);
        if (this.lose?.(s)) {
          s.lost = true;
          this.dropped[dropped++] = a;
          continue;
        }
        addrs[kept] = a;
        lens[kept] = l;
        kept++;
      }
      if (dropped > 0) this.inner.release(this.dropped, dropped);
      if (kept > 0) return kept;
    }
  }

  /** The data segments that came for `port`. */
  data(port: number): ServerSegment[] {
    return this.segments.filter((s) => s.port === port && s.len > 0);
  }
}

/** The IPv4 TCP segment from the server in frame f, or null (not one). */
function serverSegment(f: Uint8Array, at: number): ServerSegment | null {
  const { l3, type } = layers(f);
  if (type !== ETH_IPV4 || f[l3 + 9] !== 6) return null;
  const l4 = l3 + (f[l3]! & 0x0f) * 4;
  const end = l3 + be16(f, l3 + 2);
  const hl = (f[l4 + 12]! >> 4) * 4;
  return { port: be16(f, l4 + 2), off: (be32(f, l4 + 4) - SERVER_ISS - 1) >>> 0, len: end - l4 - hl, flags: f[l4 + 13]! & 0x3f, data: f.subarray(l4 + hl, end), lost: false, at };
}

// ── The conversation ──────────────────────────────────────────────────────────────────

class Net {
  readonly rig: Rig;
  readonly gate: ClientGate;
  readonly host: PeerHost;

  constructor(v: Version) {
    this.rig = new Rig(v.served, { testIss: SERVER_ISS });
    this.gate = new ClientGate(this.rig.client, (f) => this.rig.problems(f), () => this.rig.now);
    this.host = new PeerHost(this.gate, { now: () => this.rig.now });
  }

  get serving() {
    return this.rig.serving;
  }

  get tcp() {
    return this.rig.stack.tcp!;
  }

  /** A new HTTP connection (its SYN goes at the next settle). */
  connect(): TcpPeer {
    return this.host.connect({ serverPort: 80 });
  }

  /** Queues GET requests for `paths` on `p`, pipelined. */
  get(p: TcpPeer, ...paths: string[]): void {
    p.send(Buffer.from(paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''), 'latin1'));
  }

  /** Clients and server take turns at this time until nothing moves (bounded). */
  settle(): void {
    for (let round = 0; round < 20_000; round++) {
      const a = this.host.poll();
      const b = this.rig.run();
      if (a === 0 && b === 0 && this.rig.client.rxAvailable() === 0 && this.rig.dev.rxAvailable() === 0) return;
    }
    throw new Error('clients and server never settled');
  }

  /** Moves the clock on by `ms` and settles. */
  step(ms = 20): void {
    this.rig.now += ms;
    this.settle();
  }

  /** Settles, then steps until `done()` (at most `maxSteps`); true if done. */
  until(done: () => boolean, maxSteps = 2000, ms = 20): boolean {
    this.settle();
    for (let i = 0; i < maxSteps && !done(); i++) this.step(ms);
    return done();
  }

  /** The server's slot of `p`'s connection, or -1. */
  slot(p: TcpPeer): number {
    return this.tcp.table.find4(((CLIENT4[0]! << 24) | (CLIENT4[1]! << 16) | (CLIENT4[2]! << 8) | CLIENT4[3]!) >>> 0, p.port, 80, 0);
  }

  /** A TCP counter by name. */
  counter(name: string): number {
    return this.rig.counters[TCP_BASE + TCP_COUNTER_NAMES.indexOf(name)]!;
  }

  /** The answer to one DNS question over UDP. */
  dns(name: string, type: 'SOA' | 'A'): dnsPacket.Packet {
    const q = dnsPacket.encode({ type: 'query', id: 0x4242, questions: [{ type, name }] });
    if (sendFrames(this.gate, [udp4Frame(q)]) !== 1) throw new Error('the pipe refused the query');
    this.settle();
    const replies = this.gate.other.splice(0);
    if (replies.length !== 1) throw new Error(`${replies.length} replies to a DNS query`);
    return dnsPacket.decode(Buffer.from(udpPayload(replies[0]!)));
  }

  serial(): number {
    return (this.dns(ZONE, 'SOA').answers![0] as dnsPacket.StringAnswer & { data: { serial: number } }).data.serial;
  }

  /** Everything that went wrong: emitted frames, the clients, TCP's table, the loop. */
  problems(): string[] {
    const out = [...this.gate.problems.map((p) => `emitted frame: ${p}`), ...this.host.problems.map((p) => `client host: ${p}`)];
    for (const peer of this.host.peers) out.push(...peer.problems.map((p) => `client ${peer.port}: ${p}`));
    out.push(...this.tcp.checkInvariants().map((p) => `TCP table: ${p}`));
    if (this.rig.counters[HANDLER_ERRORS]! > 0) out.push(`${this.rig.counters[HANDLER_ERRORS]} handler errors`);
    return out;
  }
}

function open(t: ExecutionContext, v: Version): Net {
  const net = new Net(v);
  t.teardown(() => net.rig.close());
  return net;
}

/** The complete responses (to GETs) in what `p` received so far. */
function responses(p: TcpPeer): RawResponse[] {
  return parseResponses(Buffer.from(p.received())).responses;
}

/** The bodies of `p`'s complete responses, as text. */
const texts = (p: TcpPeer): string[] => responses(p).map((r) => r.body.toString('latin1'));

/** One GET on a new connection, to its end; the response. */
function fetchNew(t: ExecutionContext, net: Net, path: string): RawResponse {
  const p = net.connect();
  net.get(p, path);
  t.true(net.until(() => responses(p).length === 1), `no response to ${path}`);
  return responses(p)[0]!;
}

// ── A response under way across a swap ────────────────────────────────────────────────

test('a response under way when the image is swapped goes on, retransmitted after a timeout and by fast retransmit, from the image it started on, byte for byte; the next requests on its connection and on a new one get the new image', (t) => {
  const net = open(t, A);
  const c1 = net.connect();
  // Before the swap, every segment of the body past LOST_FROM is lost: sent from A, not acknowledged.
  const LOST_FROM = 40_000;
  net.gate.lose = (s) => s.port === c1.port && s.len > 0 && s.off + s.len > LOST_FROM;
  net.get(c1, '/big.bin');
  net.settle();
  const before = net.gate.data(c1.port);
  const lostBefore = before.filter((s) => s.lost);
  const sentTop = Math.max(...before.map((s) => s.off + s.len));
  t.true(c1.received().length > 20_000 && c1.received().length <= LOST_FROM, `received ${c1.received().length}`);
  t.true(lostBefore.length >= 10, `${lostBefore.length} segments in flight, lost`);
  t.true(net.tcp.outq.Q_LEN[net.slot(c1)]! > BIG_BYTES - LOST_FROM, 'the response is queued, not acknowledged');
  t.is(net.serving.imagesHeld(), 1);

  t.is(net.serving.swap(B.img), null);
  t.is(net.serving.imagesHeld(), 2);

  // After it: the first copy of one segment never sent before is lost as well (the peer's
  // SACKs bring a fast retransmit); the clock moves, so the loss before the swap times out.
  let holeAt = -1;
  net.gate.lose = (s) => {
    if (s.port !== c1.port || s.len === 0 || holeAt >= 0 || s.off < sentTop + 30 * 1460) return false;
    holeAt = s.off;
    return true;
  };
  const rto = net.counter('rto_expiries'), fast = net.counter('fast_retransmits'), again = net.counter('retransmits');
  t.true(net.until(() => responses(c1).length === 1), 'the response never completed');
  t.true(holeAt > 0, 'no segment was lost after the swap');
  t.true(net.counter('rto_expiries') > rto, 'no retransmission timeout');
  t.true(net.counter('fast_retransmits') > fast, 'no fast retransmit');
  t.true(net.counter('retransmits') - again >= lostBefore.length);
  const after = net.gate.data(c1.port).slice(before.length);
  t.true(after.some((s) => !s.lost && s.off < sentTop), 'what was sent before the swap came again after it');
  t.true(after.some((s) => !s.lost && s.off === holeAt), 'the segment lost after the swap came again');

  const [res] = responses(c1);
  t.is(res!.status, 200);
  t.is(res!.body.length, BIG_BYTES);
  t.true(res!.body.equals(A.big!), 'the body is A\'s big.bin byte for byte');
  t.false(res!.body.equals(B.big!));
  t.is(net.serving.imagesHeld(), 1, 'A is let go once its response is acknowledged');

  // The same connection, afterwards: B.
  net.gate.lose = null;
  net.get(c1, '/big.bin', '/version.txt', `/only-v${B.serial}.txt`, `/only-v${A.serial}.txt`);
  t.true(net.until(() => responses(c1).length === 5));
  const rs = responses(c1);
  t.true(rs[1]!.body.equals(B.big!), 'the next big.bin on the connection is B\'s');
  t.is(rs[2]!.body.toString('latin1'), B.text);
  t.deepEqual(rs.slice(3).map((r) => r.status), [200, 404], 'B\'s files, not A\'s');
  // A new connection: B.
  t.true(fetchNew(t, net, '/big.bin').body.equals(B.big!));
  t.is(fetchNew(t, net, '/version.txt').body.toString('latin1'), B.text);
  t.is(net.serving.imagesHeld(), 1);
  t.deepEqual(net.problems(), []);
});

test('a range response under way (a head made here, then a span of the image) goes on from the image it started on across a swap', (t) => {
  const net = open(t, A);
  const c1 = net.connect();
  net.gate.lose = (s) => s.port === c1.port && s.len > 0 && s.off > 30_000;
  c1.send(Buffer.from('GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-250000\r\n\r\n', 'latin1'));
  net.settle();
  t.true(net.gate.data(c1.port).some((s) => s.lost));
  t.is(net.serving.swap(B.img), null);
  t.is(net.serving.imagesHeld(), 2);
  net.gate.lose = null;
  t.true(net.until(() => responses(c1).length === 1));
  const [res] = responses(c1);
  t.is(res!.status, 206);
  t.is(res!.headers['content-range'], `bytes 1000-250000/${BIG_BYTES}`);
  t.true(res!.body.equals(A.big!.subarray(1000, 250001)), 'the span is A\'s');
  t.is(net.serving.imagesHeld(), 1);
  net.get(c1, '/big.bin');
  t.true(net.until(() => responses(c1).length === 2));
  t.true(responses(c1)[1]!.body.equals(B.big!));
  t.deepEqual(net.problems(), []);
});

test('a peer that shuts its window with a response from the old image under way: the zero-window probes after the swap carry the old image\'s bytes, and once the window opens the rest comes from it', (t) => {
  const net = open(t, A);
  const c1 = net.connect();
  // The test peer's receive window, shut as the segments reaching 50,000 bytes come (it then
  // takes nothing, those of their batch included, and says so).
  const peer = c1 as unknown as { rcvWnd: number };
  const wide = peer.rcvWnd;
  net.gate.lose = (s) => {
    if (s.port === c1.port && s.len > 0 && s.off >= 50_000) peer.rcvWnd = 0;
    return false;
  };
  net.get(c1, '/big.bin');
  net.settle();
  const got = c1.received().length;
  t.true(got > 20_000 && got <= 50_000, `received ${got}`);
  t.is(net.tcp.table.SND_WND[net.slot(c1)], 0, 'the server saw the window shut');
  t.is(net.serving.swap(B.img), null);
  t.is(net.serving.imagesHeld(), 2);
  net.gate.lose = null;
  const mark = net.gate.segments.length;
  const probed = net.counter('zero_window_probes');
  for (let i = 0; i < 40; i++) net.step(100);
  t.true(net.counter('zero_window_probes') > probed, 'no probe');
  t.is(net.serving.imagesHeld(), 2);
  const headLen = Buffer.from(c1.received()).indexOf('\r\n\r\n') + 4;
  const probes = net.gate.segments.slice(mark).filter((s) => s.port === c1.port && s.len === 1);
  t.true(probes.length > 0);
  for (const p of probes) t.is(p.data[0], A.big![p.off - headLen], `the probe at ${p.off} carries A's byte`);

  peer.rcvWnd = wide;
  t.true(net.until(() => responses(c1).length === 1), 'the response never completed');
  t.true(responses(c1)[0]!.body.equals(A.big!));
  t.is(net.serving.imagesHeld(), 1);
  t.deepEqual(net.problems(), []);
});

// ── imagesHeld() ──────────────────────────────────────────────────────────────────────

test('imagesHeld(): 2 while a response from the old image is under way (new responses from the new one come and go meanwhile), 1 once the peer has acknowledged all of it', (t) => {
  const net = open(t, A);
  const c1 = net.connect();
  net.gate.lose = (s) => s.port === c1.port && s.len > 0 && s.off > 20_000;
  net.get(c1, '/big.bin');
  net.settle();
  t.is(net.serving.imagesHeld(), 1);
  t.is(net.serving.swap(B.img), null);
  t.is(net.serving.imagesHeld(), 2);
  // A response from B, whole and acknowledged, while A's is held.
  t.is(fetchNew(t, net, '/version.txt').body.toString('latin1'), B.text);
  t.is(net.serving.imagesHeld(), 2);
  // The loss ends; until the last byte is acknowledged, A is held.
  net.gate.lose = null;
  const seen = new Set<number>();
  let steps = 0;
  for (; steps < 2000 && responses(c1).length === 0; steps++) {
    seen.add(net.serving.imagesHeld());
    net.step(20);
  }
  t.is(responses(c1).length, 1);
  t.true(steps > 0);
  t.deepEqual([...seen], [2], 'held while under way');
  t.true(responses(c1)[0]!.body.equals(A.big!));
  t.is(net.serving.imagesHeld(), 1, 'let go once acknowledged');
  t.deepEqual(net.problems(), []);
});

test('imagesHeld(): back to 1 when the connection holding the old response goes before the response is acknowledged: reset by the peer, or given up by the server', (t) => {
  // The peer resets it.
  {
    const net = open(t, A);
    const c1 = net.connect();
    net.gate.lose = (s) => s.port === c1.port && s.len > 0;
    net.get(c1, '/big.bin');
    net.settle();
    t.is(net.serving.swap(B.img), null);
    t.is(net.serving.imagesHeld(), 2);
    const request = 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'.length;
    const seg = tcp(CLIENT4, US4, { sport: c1.port, dport: 80, seq: (c1.iss + 1 + request) >>> 0, ack: 0, flags: RST, window: 0 });
    t.is(sendFrames(net.gate, [ethernet(ETH_IPV4, ipv4(6, seg), { dst: US_MAC })]), 1);
    net.settle();
    t.is(net.counter('resets_received'), 1);
    t.is(net.slot(c1), -1);
    t.is(net.serving.imagesHeld(), 1);
    t.deepEqual(net.problems(), []);
  }
  // The peer hears nothing more: the server gives up after its retransmissions.
  {
    const net = open(t, A);
    const c1 = net.connect();
    net.gate.lose = (s) => s.port === c1.port && (s.len > 0 || (s.flags & RST) !== 0);
    net.get(c1, '/big.bin');
    net.settle();
    t.is(net.serving.swap(B.img), null);
    t.is(net.serving.imagesHeld(), 2);
    t.true(net.until(() => net.counter('retry_limit') > 0, 2000, 1000), 'the server never gave up');
    t.is(net.slot(c1), -1);
    t.is(net.serving.imagesHeld(), 1);
    t.deepEqual(net.problems().filter((p) => !p.startsWith(`client ${c1.port}:`)), []);
  }
});

test('the old image can be freed once no response refers to it: kept while its response is under way, let go once acknowledged (no table or config of the stack keeps it)', async (t) => {
  const net = open(t, A);
  // The Image the stack attached for itself (the rig and the test keep other objects over the same file).
  const http = net.tcp.app(net.tcp.appIndex(80)) as HttpTcpApp;
  const first = new WeakRef(http.sessions.responder.t.image);
  const c1 = net.connect();
  net.gate.lose = (s) => s.port === c1.port && s.len > 0 && s.off > 20_000;
  net.get(c1, '/big.bin');
  net.settle();
  t.is(net.serving.swap(B.img), null);
  t.is(net.serving.swap(V[2]!.img), null);
  await collect();
  t.not(first.deref(), undefined, 'kept while its response is under way');
  await collect();
  net.gate.lose = null;
  t.true(net.until(() => responses(c1).length === 1));
  t.true(responses(c1)[0]!.body.equals(A.big!));
  t.is(net.serving.imagesHeld(), 1);
  await collect();
  t.is(first.deref(), undefined, 'the first image is still referenced after its last response was acknowledged');
  t.deepEqual(net.problems(), []);
});

// ── GENERATIONS ───────────────────────────────────────────────────────────────────────

test(`one connection holding a response from the first image does not hold reloads back: ${3 * GENERATIONS} swaps are taken, imagesHeld() stays 2, and the response completes from the first image`, (t) => {
  const net = open(t, A);
  const c1 = net.connect();
  net.gate.lose = (s) => s.port === c1.port && s.len > 0 && s.off > 20_000;
  net.get(c1, '/big.bin');
  net.settle();
  for (let i = 0; i < 3 * GENERATIONS; i++) {
    const v = V[1 + (i % GENERATIONS)]!;
    t.is(net.serving.swap(v.img), null, `swap ${i + 1}`);
    t.is(net.serving.imagesHeld(), 2, `after swap ${i + 1}`);
    t.is(fetchNew(t, net, '/version.txt').body.toString('latin1'), v.text);
  }
  net.gate.lose = null;
  t.true(net.until(() => responses(c1).length === 1));
  t.true(responses(c1)[0]!.body.equals(A.big!));
  t.is(net.serving.imagesHeld(), 1);
  t.deepEqual(net.problems(), []);
});

test(`a swap is refused while responses from ${GENERATIONS} images are under way (every generation held): the message says why, nothing changes; once they are acknowledged, swaps are taken again`, (t) => {
  const net = open(t, V[0]!);
  const holder = net.connect();
  // The holder hears the server's ACKs, never its data: each response stays under way.
  net.gate.lose = (s) => s.port === holder.port && s.len > 0;
  for (let k = 0; k < GENERATIONS - 1; k++) {
    net.get(holder, '/version.txt');
    net.settle();
    t.is(net.serving.swap(V[k + 1]!.img), null, `swap ${k + 1}`);
    t.is(net.serving.imagesHeld(), k + 2, `after swap ${k + 1}`);
  }
  t.is(net.tcp.outq.records(net.slot(holder)), GENERATIONS - 1, 'one response from each of the images before the one served');
  // The image served holds none yet: a swap could take its slot. One response from it too:
  net.get(holder, '/version.txt');
  net.settle();
  t.is(net.tcp.outq.records(net.slot(holder)), GENERATIONS);

  // The next swap: every generation is held.
  const refused = net.serving.swap(V[GENERATIONS]!.img);
  t.regex(refused ?? '', /^responses under way still send from 16 images, the one served and 15 older; try again when they are done/);
  t.is(net.serving.imagesHeld(), GENERATIONS);
  // Nothing changed: requests and queries are answered from the last image taken.
  const last = V[GENERATIONS - 1]!;
  t.is(fetchNew(t, net, '/version.txt').body.toString('latin1'), last.text);
  t.is(net.serial(), last.serial);
  t.deepEqual((net.dns(`www.${ZONE}`, 'A').answers![0] as dnsPacket.StringAnswer).data, last.www);
  t.is(net.serving.swap(V[GENERATIONS]!.img), refused, 'refused again while they are held');

  // The holder hears again: each response comes whole, from the image it was queued from.
  net.gate.lose = null;
  t.true(net.until(() => responses(holder).length === GENERATIONS));
  t.deepEqual(texts(holder), V.slice(0, GENERATIONS).map((v) => v.text));
  t.is(net.serving.imagesHeld(), 1);

  // Swaps are taken again.
  const next = V[GENERATIONS]!;
  t.is(net.serving.swap(next.img), null);
  t.is(fetchNew(t, net, '/version.txt').body.toString('latin1'), next.text);
  t.is(net.serial(), next.serial);
  net.get(holder, '/version.txt');
  t.true(net.until(() => responses(holder).length === GENERATIONS + 1));
  t.is(texts(holder).at(-1), next.text);
  t.deepEqual(net.problems(), []);
});

// ── What is served ────────────────────────────────────────────────────────────────────

test('a swap to an image that serves other things (zones but no site, a site but no zones) is refused with the message; nothing changes, and a swap to a like image is taken after', (t) => {
  const net = open(t, A);
  t.is(net.serving.swap(zonesOnly.img), 'the new image has zones, the one served zones and sites: what is served (DNS, HTTP) changes only with a restart');
  t.is(net.serving.swap(sitesOnly.img), 'the new image has sites, the one served zones and sites: what is served (DNS, HTTP) changes only with a restart');
  t.is(net.serving.imagesHeld(), 1);
  t.is(fetchNew(t, net, '/version.txt').body.toString('latin1'), A.text);
  t.is(net.serial(), A.serial);
  t.is(net.serving.swap(B.img), null);
  t.is(fetchNew(t, net, '/version.txt').body.toString('latin1'), B.text);
  t.is(net.serial(), B.serial);
  t.deepEqual(net.problems(), []);
});

test('served a site only, or zones only: a swap to an image of zones and sites is refused, nothing changes; an image like the one served is taken', (t) => {
  const web = open(t, sitesOnly);
  t.is(web.serving.swap(A.img), 'the new image has zones and sites, the one served sites: what is served (DNS, HTTP) changes only with a restart');
  t.is(web.serving.swap(zonesOnly.img), 'the new image has zones, the one served sites: what is served (DNS, HTTP) changes only with a restart');
  t.is(fetchNew(t, web, '/version.txt').body.toString('latin1'), sitesOnly.text);
  t.deepEqual(web.problems(), []);

  const dns = open(t, zonesOnly);
  t.is(dns.serving.swap(A.img), 'the new image has zones and sites, the one served zones: what is served (DNS, HTTP) changes only with a restart');
  t.is(dns.serving.swap(sitesOnly.img), 'the new image has sites, the one served zones: what is served (DNS, HTTP) changes only with a restart');
  t.is(dns.serial(), zonesOnly.serial);
  t.is(dns.serving.swap(zonesOnly2.img), null);
  t.is(dns.serial(), zonesOnly2.serial);
  t.is(dns.serving.imagesHeld(), 1);
  t.deepEqual(dns.problems(), []);
});

// ── DNS ───────────────────────────────────────────────────────────────────────────────

test('after a swap, DNS over UDP and over TCP is answered from the new image\'s zone (its SOA serial, its A record)', (t) => {
  const net = open(t, A);
  const www = (): unknown => (net.dns(`www.${ZONE}`, 'A').answers![0] as dnsPacket.StringAnswer).data;
  t.is(net.serial(), A.serial);
  t.is(www(), A.www);
  t.is(net.serving.swap(B.img), null);
  t.is(net.serial(), B.serial);
  t.is(www(), B.www);
  const p = net.host.connect({ serverPort: 53 });
  p.sendDns(dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'SOA', name: ZONE }] }));
  t.true(net.until(() => p.messages().length === 1));
  const answer = dnsPacket.decode(Buffer.from(p.messages()[0]!));
  t.is((answer.answers![0] as dnsPacket.StringAnswer & { data: { serial: number } }).data.serial, B.serial);
  t.deepEqual(net.problems(), []);
});
