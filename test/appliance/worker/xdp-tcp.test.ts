// DNS over TCP through the fused stack, end to end (root, namespaces, defaults as a user
// runs them): the appliance serves fixtures/zones through AF_XDP on 198.18.0.10 and
// 2001:db8::10 (addresses the server namespace's kernel does not have), NSD serves the same
// zones from that kernel on 198.18.0.1 and 2001:db8::1. Real clients in the client
// namespace: dig +tcp and +keepopen, kdig +tcp, the whole differential corpus over TCP
// against NSD, kxdpgun -T with a sample of the answers checked, a bounded SYN flood
// (hping3) while kdig keeps being answered, a port we do not serve (RST), and — on an
// address the kernel shares, with a queue left without a socket — no RST from the kernel.

import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { createTopology, stopProcess, type Topology } from '../../../appliance/bench/netns.js';
import { readPcap } from '../../../netmap-binding/pcap.js';
import { addSums, partialSum } from '../../../basics/checksum.js';
import { buildTestImage, FIXTURE_ZONES, ROOT, tempDir } from '../../helpers/fixtures.js';
import { corpusMismatches, encodeQuery, fullCorpus } from '../../helpers/dns.js';
import { startNsdInNamespace } from '../../helpers/nsd.js';
import { rootSkip, skipped } from '../../helpers/root.js';
import { serveXdp, type Served } from '../../helpers/serve.js';

const APP4 = '198.18.0.10';
const APP6 = '2001:db8::10';
const skip = rootSkip(['nsd', 'dig', 'kdig', 'kxdpgun', 'hping3']);

const tmp = tempDir('xdptcp');
let topo: Topology | undefined;
let app: Served | undefined;
let nsd: ChildProcess | undefined;
let image = '';
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));
const capturePrefix = join(tmp.dir, 'cap');

test.before(async () => {
  if (skip) return;
  topo = await createTopology({ queues: 2, tag: 'xdptcp' });
  image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zoneFiles.map((file) => ({ origin: null, file })));
  nsd = await startNsdInNamespace(topo, tmp.dir, zoneFiles, FIXTURE_ZONES);
  // NSD here hides its identity and version (test/helpers/nsd.ts): the appliance is told the same.
  app = await serveXdp(topo, image, ['--addr', APP4, '--addr', APP6, '--capture', capturePrefix, '--capture-every', '16', '--capture-limit', '4000',
    '--hide-identity', '--hide-version']);
});

test.after.always(async () => {
  await app?.stop();
  if (nsd) await stopProcess(nsd, 5000);
  await topo?.close();
  tmp.cleanup();
});

const guard = (t: { log: (s: string) => void; pass: () => void }): boolean => skipped(skip, t);
const counters = (): Promise<Record<string, number>> => app!.counters();

test.serial('(root) dig +tcp, dig +tcp +keepopen and kdig +tcp over IPv4 and IPv6', async (t) => {
  if (guard(t)) return;
  const c = topo!.client.ns;
  const dig = (args: string[]): Promise<string> => topo!.run(c, 'dig', ['+short', '+tries=2', '+time=2', '+tcp', ...args]);
  t.is((await dig([`@${APP4}`, 'www.example.com', 'A'])).trim(), '198.18.0.10');
  t.is((await dig([`@${APP6}`, 'www.example.com', 'AAAA'])).trim(), '2001:db8::10');
  const kept = await dig(['+keepopen', `@${APP4}`, 'www.example.com', 'A', 'example.com', 'MX', 'mail.example.com', 'AAAA']);
  t.deepEqual(kept.trim().split('\n'), ['198.18.0.10', '10 mail.example.com.', '20 mail2.example.net.', '2001:db8::3']);
  t.is((await topo!.run(c, 'kdig', ['+tcp', '+short', '+retry=1', '+time=2', `@${APP4}`, 'mail.example.com', 'AAAA'])).trim(), '2001:db8::3');
  t.is((await topo!.run(c, 'kdig', ['+tcp', '+short', '+retry=1', '+time=2', `@${APP6}`, 'alias.example.com', 'A'])).trim().split('\n').pop(), '198.18.0.10');
  const m = await counters();
  t.true(m.tcp_established! >= 5, `established ${m.tcp_established}`); // +keepopen is one connection for its three queries
  t.is(m.tcp_drop_out_of_window ?? 0, 0);
  t.true(m.tcp_csum_offload! > 0, 'the veth peer\'s offload form, accepted by default');
});

/** Runs the DNS client inside the client namespace over TCP (one connection, pipelined); answers as buffers. */
async function tcpInClient(host: string, queries: Buffer[]): Promise<Array<Buffer | null>> {
  const tag = host.replace(/[:.]/g, '_');
  const inFile = join(tmp.dir, `tq-${tag}.json`);
  const outFile = join(tmp.dir, `ta-${tag}.json`);
  writeFileSync(inFile, JSON.stringify({ host, port: 53, tcp: true, queries: queries.map((q) => q.toString('hex')) }));
  await topo!.run(topo!.client.ns, process.execPath, [join(ROOT, 'build', 'test', 'helpers', 'dns-client.js'), inFile, outFile], 120_000);
  const out = JSON.parse(readFileSync(outFile, 'utf8')) as { responses: Array<string | null> };
  return out.responses.map((h) => (h === null ? null : Buffer.from(h, 'hex')));
}

for (const [family, appAddr] of [['IPv4', APP4], ['IPv6', APP6]] as const) {
  test.serial(`(root) the corpus over TCP through the fused stack matches NSD over TCP: ${family}`, async (t) => {
    if (guard(t)) return;
    const corpus = fullCorpus(zoneFiles);
    const queries = corpus.map((q) => encodeQuery(q, { edns: true }));
    const ref = await tcpInClient(family === 'IPv4' ? topo!.server.ipv4 : topo!.server.ipv6, queries);
    const ours = await tcpInClient(appAddr, queries);
    const mismatches = corpusMismatches(corpus, ref, ours);
    t.log(`${corpus.length} queries compared`);
    t.deepEqual(mismatches.slice(0, 20), []);
    t.is(mismatches.length, 0);
  });
}

test.serial('(root) TCP to a port we do not serve, on our address, gets a RST (from the stack)', async (t) => {
  if (guard(t)) return;
  const before = await counters();
  const script = `const s=require('net').connect(8053,'${APP4}');s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('connect',()=>{console.log('connected');process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},3000)`;
  t.is((await topo!.run(topo!.client.ns, process.execPath, ['-e', script])).trim(), 'ECONNREFUSED');
  const after = await counters();
  t.is(after.tcp_drop_no_listener! - (before.tcp_drop_no_listener ?? 0), 1);
});

test.serial('(root) kxdpgun -T (a connection per query): answered, closed, and a sample of the answers right, checksums complete', async (t) => {
  if (guard(t)) return;
  const qfile = join(tmp.dir, 'kx.txt');
  writeFileSync(qfile, 'www.example.com A\nexample.com MX\nnope.example.com A\nmail.example.com AAAA\n');
  const args = ['-t', '2', '-Q', '3000', '-T', '-F', '1', '-i', qfile, '-I', topo!.client.iface, '-l', topo!.client.ipv4, '-L', topo!.client.mac, '-R', topo!.server.mac, APP4];
  let out: string;
  const started = Date.now(); // the capture holds earlier tests' frames too: only those from now are this test's
  try {
    out = await topo!.run(topo!.client.ns, 'kxdpgun', args, 30_000);
  } finally {
    await topo!.detachXdp(topo!.client);
  }
  t.log(out.trim().split('\n').filter((l) => /total|responded/.test(l)).join('; '));
  const syns = Number(/total SYNs:\s+(\d+)/.exec(out)?.[1]);
  const replies = Number(/total replies:\s+(\d+)/.exec(out)?.[1]);
  t.true(syns > 1000);
  t.true(replies / syns > 0.95, `${replies} replies to ${syns} SYNs`);
  // The sampled frames the appliance sent: TCP segments with answers, each checked.
  const expect = new Map<string, string>();
  for (const line of readFileSync(qfile, 'utf8').trim().split('\n')) {
    const [name, type] = line.split(' ');
    const r = await topo!.run(topo!.client.ns, 'dig', ['+tcp', '+noall', '+answer', '+nottlid', `@${topo!.server.ipv4}`, name!, type!]);
    expect.set(`${name!.toLowerCase()}. ${type}`, r.trim().split('\n').filter(Boolean).sort().join('|'));
  }
  let sampled = 0;
  const wrong: string[] = [];
  for (const f of [0, 1].map((q) => `${capturePrefix}.q${q}.pcap`).filter(existsSync)) {
    for (const rec of readPcap(f).records) {
      if (rec.timeMs < started) continue;
      const fr = Buffer.from(rec.data);
      if (fr.length < 54 || fr.readUInt16BE(12) !== 0x0800 || fr[23] !== 6 || fr.readUInt16BE(34) !== 53) continue;
      const total = fr.readUInt16BE(16);
      if (partialSum(fr, 14, 20) !== 0xffff) wrong.push('IPv4 header checksum');
      if (addSums(partialSum(fr, 26, 8, 6 + total - 20), partialSum(fr, 34, total - 20)) !== 0xffff) wrong.push('TCP checksum');
      const data = fr.subarray(34 + (fr[46]! >> 4) * 4, 14 + total);
      if (data.length < 14 || data.readUInt16BE(0) !== data.length - 2) continue; // a segment without one whole answer
      sampled++;
      const m = dnsPacket.decode(Buffer.from(data.subarray(2)));
      const q = m.questions![0]!;
      const key = `${q.name.toLowerCase()}. ${q.type}`;
      const n = (m.answers ?? []).length;
      if (!expect.has(key)) wrong.push(`an answer to ${key}, not asked`);
      else if (n !== (expect.get(key) === '' ? 0 : expect.get(key)!.split('|').length)) wrong.push(`${key}: ${n} records, NSD ${expect.get(key)}`);
    }
  }
  t.log(`${sampled} sampled answers checked`);
  t.true(sampled > 20);
  t.deepEqual(wrong.slice(0, 10), []);
});

test.serial('(root) a bounded SYN flood (hping3) gets cookies past the half-open bound; kdig +tcp keeps being answered', async (t) => {
  if (guard(t)) return;
  const before = await counters();
  // 40,000 SYNs, 25 µs apart (about a second), bounded by count, from a host that does not
  // exist in the test range (198.18.7.7: nobody completes a handshake), source ports counting up.
  const flood = topo!.run(topo!.client.ns, 'hping3', ['-q', '-S', '-p', '53', '-c', '40000', '-i', 'u25', '-a', '198.18.7.7', APP4], 60_000).catch((e) => String(e));
  const answers: string[] = [];
  for (let i = 0; i < 5; i++) {
    answers.push((await topo!.run(topo!.client.ns, 'kdig', ['+tcp', '+short', '+retry=2', '+time=2', `@${APP4}`, 'www.example.com', 'A'])).trim());
    await new Promise((r) => setTimeout(r, 150));
  }
  await flood;
  const after = await counters();
  t.log(`SYNs received ${after.tcp_syn_received! - (before.tcp_syn_received ?? 0)}, cookies ${after.tcp_cookies_sent! - (before.tcp_cookies_sent ?? 0)}, half-open now ${after.tcp_half_open}`);
  t.deepEqual(answers, new Array(5).fill('198.18.0.10'));
  t.true(after.tcp_cookies_sent! - (before.tcp_cookies_sent ?? 0) > 0, 'cookies once the half-open bound was passed');
});

test.serial('(root) SIGTERM: exit 0, no XDP program left', async (t) => {
  if (guard(t)) return;
  const code = await app!.stop();
  t.is(code, 0, app!.output());
});

test.serial('(root) on an address the kernel has, with a queue left without a socket: TCP to the DNS port is never answered by the kernel (no RST)', async (t) => {
  if (guard(t)) return;
  if (nsd) {
    await stopProcess(nsd, 5000);
    nsd = undefined;
  }
  // The server namespace's own address, served on queue 0 only: flows that land on queue 1 are dropped in XDP.
  const a = await serveXdp(topo!, image, ['--addr', topo!.server.ipv4, '--queues', '1']);
  try {
    const script = `const net=require('net');let n=0,res={};for(let i=0;i<40;i++){const s=net.connect({port:53,host:'${topo!.server.ipv4}',localPort:42000+i});const done=(k)=>{res[k]=(res[k]||0)+1;s.destroy();if(++n===40){console.log(JSON.stringify(res));process.exit(0)}};s.setTimeout(1500,()=>done('timeout'));s.on('connect',()=>done('connected'));s.on('error',e=>done(e.code))}`;
    const res = JSON.parse(await topo!.run(topo!.client.ns, process.execPath, ['-e', script], 30_000)) as Record<string, number>;
    t.log(JSON.stringify(res));
    t.is(res.ECONNREFUSED ?? 0, 0, 'a RST came back: the kernel answered for the DNS port');
    t.true((res.connected ?? 0) > 0, 'queue 0 serves');
  } finally {
    await a.stop();
  }
});
