// DNS over TCP through the fused stack, end to end (root, namespaces, defaults as a user
// runs them): the appliance serves fixtures/zones through AF_XDP on 198.18.0.10 and
// 2001:db8::10 (addresses the server namespace's kernel does not have), NSD serves the same
// zones from that kernel on 198.18.0.1 and 2001:db8::1. Real clients in the client
// namespace: dig +tcp and +keepopen, kdig +tcp, the whole differential corpus over TCP
// against NSD, kxdpgun -T with a sample of the answers checked, a bounded SYN flood
// (hping3) while kdig keeps being answered, a port we do not serve (RST), and — on an
// address the kernel shares, with a queue left without a socket — no RST from the kernel.

import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { createTopology, isRoot, stopProcess, type Topology } from '../../../appliance/bench/netns.js';
import { parseMetrics } from '../../../appliance/worker/metrics.js';
import { loadZones } from '../../../specializers/dns/model.js';
import { nameToText } from '../../../specializers/dns/zone.js';
import { readPcap } from '../../../netmap-binding/pcap.js';
import { addSums, partialSum } from '../../../basics/checksum.js';
import { buildTestImage, CLI, FIXTURE_ZONES, ROOT, tempDir } from '../../helpers/fixtures.js';
import { compareAnswers, encodeQuery, fullCorpus } from '../../helpers/dns.js';
import { hasCommand } from '../../helpers/processes.js';
import { nsdConfig } from '../../helpers/nsd.js';

const APP4 = '198.18.0.10';
const APP6 = '2001:db8::10';
const root = isRoot();
const tools = ['nsd', 'dig', 'kdig', 'kxdpgun', 'hping3'].filter((c) => !hasCommand(c));
const skip = !root ? 'not root (these tests need network namespaces and AF_XDP; CI runs them as root)' :
  tools.length ? `missing ${tools.join(', ')} (.ci/run installs them)` : '';

const tmp = tempDir('xdptcp');
let topo: Topology | undefined;
let app: ChildProcess | undefined;
let appOut = '';
let nsd: ChildProcess | undefined;
let image = '';
const zoneFiles = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => join(FIXTURE_ZONES, f));
const capturePrefix = join(tmp.dir, 'cap');

async function untilOk(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startAppliance(t: Topology, args: string[]): { proc: ChildProcess; out: () => string } {
  let out = '';
  const proc = spawn(process.execPath, [CLI, 'serve', image, '--backend', 'xdp', '--iface', t.server.iface, '--netns', t.server.ns, '--metrics', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (c) => { out += c; });
  proc.stderr!.on('data', (c) => { out += c; });
  return { proc, out: () => out };
}

async function counters(out: string): Promise<Record<string, number>> {
  const port = /stats http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out)?.[1];
  return parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).totals;
}

test.before(async () => {
  if (skip) return;
  topo = await createTopology({ queues: 2, tag: 'xdptcp' });
  image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zoneFiles.map((file) => ({ origin: null, file })));
  const { parsed } = loadZones(zoneFiles.map((file) => ({ origin: null, file })));
  const conf = join(tmp.dir, 'nsd.conf');
  writeFileSync(conf, nsdConfig(tmp.dir, `${topo.server.ipv4},${topo.server.ipv6}`, 53, parsed.map((z) => ({ origin: nameToText(z.origin), file: z.file })), FIXTURE_ZONES));
  nsd = topo.spawn(topo.server.ns, 'nsd', ['-d', '-c', conf]);
  const a = startAppliance(topo, ['--addr', APP4, '--addr', APP6, '--capture', capturePrefix, '--capture-every', '16', '--capture-limit', '4000']);
  app = a.proc;
  await untilOk('the appliance', async () => {
    appOut = a.out();
    if (app!.exitCode !== null) throw new Error(`the appliance exited: ${appOut}`);
    return appOut.includes('press Ctrl-C');
  });
  await untilOk('NSD', async () => (await topo!.run(topo!.client.ns, 'dig', ['+short', '+tries=1', '+time=1', '+tcp', `@${topo!.server.ipv4}`, 'example.com', 'SOA'])).includes('hostmaster'));
  appOut = a.out();
  setInterval(() => { appOut = a.out(); }, 200).unref();
});

test.after.always(async () => {
  if (app && app.exitCode === null) await stopProcess(app, 5000);
  if (nsd) await stopProcess(nsd, 5000);
  await topo?.close();
  tmp.cleanup();
});

function guard(t: { log: (s: string) => void; pass: () => void }): boolean {
  if (!skip) return false;
  t.log(`SKIPPED: ${skip}`);
  t.pass();
  return true;
}

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
  const m = await counters(appOut);
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
    const mismatches: string[] = [];
    for (let i = 0; i < corpus.length; i++) {
      const d = compareAnswers(ref[i]!, ours[i]!, corpus[i]!.qtype);
      if (d.length) mismatches.push(`${corpus[i]!.line}: ${d.join('; ')}`);
    }
    t.log(`${corpus.length} queries compared`);
    t.deepEqual(mismatches.slice(0, 20), []);
    t.is(mismatches.length, 0);
  });
}

test.serial('(root) TCP to a port we do not serve, on our address, gets a RST (from the stack)', async (t) => {
  if (guard(t)) return;
  const before = await counters(appOut);
  const script = `const s=require('net').connect(8053,'${APP4}');s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('connect',()=>{console.log('connected');process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},3000)`;
  t.is((await topo!.run(topo!.client.ns, process.execPath, ['-e', script])).trim(), 'ECONNREFUSED');
  const after = await counters(appOut);
  t.is(after.tcp_drop_no_listener! - (before.tcp_drop_no_listener ?? 0), 1);
});

test.serial('(root) kxdpgun -T (a connection per query): answered, closed, and a sample of the answers right, checksums complete', async (t) => {
  if (guard(t)) return;
  const qfile = join(tmp.dir, 'kx.txt');
  writeFileSync(qfile, 'www.example.com A\nexample.com MX\nnope.example.com A\nmail.example.com AAAA\n');
  const args = ['-t', '2', '-Q', '3000', '-T', '-F', '1', '-i', qfile, '-I', topo!.client.iface, '-l', topo!.client.ipv4, '-L', topo!.client.mac, '-R', topo!.server.mac, APP4];
  let out: string;
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
  const before = await counters(appOut);
  // 40,000 SYNs, 25 µs apart (about a second), bounded by count, from a host that does not
  // exist in the test range (198.18.7.7: nobody completes a handshake), source ports counting up.
  const flood = topo!.run(topo!.client.ns, 'hping3', ['-q', '-S', '-p', '53', '-c', '40000', '-i', 'u25', '-a', '198.18.7.7', APP4], 60_000).catch((e) => String(e));
  const answers: string[] = [];
  for (let i = 0; i < 5; i++) {
    answers.push((await topo!.run(topo!.client.ns, 'kdig', ['+tcp', '+short', '+retry=2', '+time=2', `@${APP4}`, 'www.example.com', 'A'])).trim());
    await new Promise((r) => setTimeout(r, 150));
  }
  await flood;
  const after = await counters(appOut);
  t.log(`SYNs received ${after.tcp_syn_received! - (before.tcp_syn_received ?? 0)}, cookies ${after.tcp_cookies_sent! - (before.tcp_cookies_sent ?? 0)}, half-open now ${after.tcp_half_open}`);
  t.deepEqual(answers, new Array(5).fill('198.18.0.10'));
  t.true(after.tcp_cookies_sent! - (before.tcp_cookies_sent ?? 0) > 0, 'cookies once the half-open bound was passed');
});

test.serial('(root) SIGTERM: exit 0, no XDP program left', async (t) => {
  if (guard(t)) return;
  const code = await new Promise<number | null>((resolve) => {
    app!.once('exit', (c) => resolve(c));
    app!.kill('SIGTERM');
  });
  t.is(code, 0, appOut);
});

test.serial('(root) on an address the kernel has, with a queue left without a socket: TCP to the DNS port is never answered by the kernel (no RST)', async (t) => {
  if (guard(t)) return;
  if (nsd) {
    await stopProcess(nsd, 5000);
    nsd = undefined;
  }
  // The server namespace's own address, served on queue 0 only: flows that land on queue 1 are dropped in XDP.
  const a = startAppliance(topo!, ['--addr', topo!.server.ipv4, '--queues', '1']);
  try {
    await untilOk('the appliance', async () => a.out().includes('press Ctrl-C'));
    const script = `const net=require('net');let n=0,res={};for(let i=0;i<40;i++){const s=net.connect({port:53,host:'${topo!.server.ipv4}',localPort:42000+i});const done=(k)=>{res[k]=(res[k]||0)+1;s.destroy();if(++n===40){console.log(JSON.stringify(res));process.exit(0)}};s.setTimeout(1500,()=>done('timeout'));s.on('connect',()=>done('connected'));s.on('error',e=>done(e.code))}`;
    const res = JSON.parse(await topo!.run(topo!.client.ns, process.execPath, ['-e', script], 30_000)) as Record<string, number>;
    t.log(JSON.stringify(res));
    t.is(res.ECONNREFUSED ?? 0, 0, 'a RST came back: the kernel answered for the DNS port');
    t.true((res.connected ?? 0) > 0, 'queue 0 serves');
  } finally {
    await stopProcess(a.proc, 5000);
  }
});
