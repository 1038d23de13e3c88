// DNS end to end, from the command line: `appliance build --zone` (FILE and ORIGIN=FILE,
// several zones; signed and broken zones refused with file:line and no image written), then
// `appliance serve IMAGE --backend socket --dns 127.0.0.1:0` asked by real clients: dig and
// kdig over UDP and TCP, pipelined queries on one TCP connection, a 60 KB answer over TCP
// (TC over UDP), idle TCP connections closed after --idle-timeout, and SIGTERM → exit 0.

import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { CLI, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { hasCommand } from '../../helpers/processes.js';
import { tcpExchange } from '../../helpers/dns.js';
import { header, question } from '../../helpers/dns-wire.js';

const tmp = tempDir('dnscli');
const image = join(tmp.dir, 'zones.apl');
const bigZone = join(tmp.dir, 'big.test.zone');
/** 230 TXT records of 250 octets: a 60 KB answer. */
const BIG_RECORDS = 230;
let server: ChildProcess | undefined;
let port = 0;
let serverOut = '';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: tmp.dir, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeBigZone(): void {
  const lines = ['$ORIGIN big.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 2h 30m 2w 5m', '  IN NS ns1', 'ns1 IN A 198.18.0.1'];
  for (let i = 0; i < BIG_RECORDS; i++) lines.push(`big IN TXT "${String(i).padStart(4, '0')}${'x'.repeat(246)}"`);
  writeFileSync(bigZone, lines.join('\n') + '\n');
}

test.before(async () => {
  writeBigZone();
  const r = cli(['build', '--zone', join(FIXTURE_ZONES, 'example.com.zone'), '--zone', `example.net=${join(FIXTURE_ZONES, 'example.net.zone')}`,
    '--zone', join(FIXTURE_ZONES, 'sub.example.com.zone'), '--zone', `big.test.=${bigZone}`, '-o', image]);
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  server = spawn(process.execPath, [CLI, 'serve', image, '--backend', 'socket', '--dns', '127.0.0.1:0', '--idle-timeout', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (c) => { serverOut += c; });
  server.stderr!.on('data', (c) => { serverOut += c; });
  port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no DNS address printed: ${serverOut}`)), 10_000);
    server!.stdout!.on('data', () => {
      const m = /DNS\s+127\.0\.0\.1:(\d+) UDP and TCP/.exec(serverOut);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server!.on('exit', (code) => reject(new Error(`serve exited (${code}): ${serverOut}`)));
  });
});

test.after.always(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
  }
  tmp.cleanup();
});

test('build: --zone FILE and --zone ORIGIN=FILE, several zones, each listed with its records and names', (t) => {
  const out = join(tmp.dir, 'list.apl');
  const r = cli(['build', '--zone', join(FIXTURE_ZONES, 'example.com.zone'), '--zone', `example.net=${join(FIXTURE_ZONES, 'example.net.zone')}`,
    '--zone', join(FIXTURE_ZONES, '18.198.in-addr.arpa.zone'), '-o', out]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /zone example\.com\.: .*example\.com\.zone: \d+ records, \d+ names/);
  t.regex(r.stdout, /zone example\.net\.: .*example\.net\.zone: \d+ records, \d+ names/);
  t.regex(r.stdout, /zone 18\.198\.in-addr\.arpa\.: /);
  t.true(existsSync(out));
});

function refused(t: { is: (a: unknown, b: unknown, m?: string) => void; regex: (s: string, r: RegExp, m?: string) => void; false: (v: boolean, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void }, args: string[], code: string, where: RegExp): void {
  const out = join(tmp.dir, `refused-${code}.apl`);
  const r = cli(['build', ...args, '-o', out]);
  t.is(r.status, 1, `exit status for ${code}`);
  t.regex(r.stderr, new RegExp(`^appliance: ${code}: `), 'the stable code first');
  t.regex(r.stderr, where, 'file:line of the problem');
  t.false(existsSync(out), 'no image written');
  t.deepEqual(readdirSync(tmp.dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left behind');
}

test('build: a signed zone whose NSEC3 records do not match its NSEC3PARAM is refused with file:line, and no image is written', (t) => {
  refused(t, ['--zone', join(FIXTURE_ZONES, 'example.com.zone'), '--zone', join(FIXTURE_ZONES, 'signed', 'example.org.zone')],
    'APPL_ERR_ZONE_DNSSEC', /signed\/example\.org\.zone:25: the NSEC3 at 2t7b4g4vsa5smi47k61mv5bv1a22bojr\.example\.org\. has hash parameters \(1 12 aabbccdd\) other than the zone's NSEC3PARAM \(1 0 -\)/);
});

test('build: broken zones are refused with file:line for every problem, and no image is written', (t) => {
  refused(t, ['--zone', join(FIXTURE_ZONES, 'bad', 'syntax.zone')], 'APPL_ERR_ZONE_PARSE', /bad\/syntax\.zone:7: invalid IPv4 address[^]*bad\/syntax\.zone:8: /);
  refused(t, ['--zone', `example.com=${join(FIXTURE_ZONES, 'bad', 'cname.zone')}`], 'APPL_ERR_ZONE_CHECK', /bad\/cname\.zone:\d+: CNAME and other data/);
  refused(t, ['--zone', join(tmp.dir, 'no-such.zone')], 'APPL_ERR_ZONE_READ', /no-such\.zone: cannot read the zone file/);
});

function dig(tool: 'dig' | 'kdig', args: string[]): string {
  const r = spawnSync(tool, [`@127.0.0.1`, '-p', String(port), ...(tool === 'dig' ? ['+time=2', '+tries=1'] : ['+time=2', '+retry=0']), ...args], { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

for (const tool of ['dig', 'kdig'] as const) {
  for (const tcp of [false, true]) {
    test.serial(`serve: ${tool} over ${tcp ? 'TCP' : 'UDP'} gets the zone's answers`, (t) => {
      if (!hasCommand(tool)) {
        t.log(`SKIPPED: ${tool} is not installed (apt-get install ${tool === 'dig' ? 'bind9-dnsutils' : 'knot-dnsutils'})`);
        t.pass();
        return;
      }
      const v = tcp ? ['+tcp'] : ['+notcp'];
      t.is(dig(tool, [...v, '+short', 'www.example.com', 'A']).trim(), '198.18.0.10');
      t.is(dig(tool, [...v, '+short', 'WwW.ExAmPlE.NeT', 'AAAA']).trim(), '2001:db8:2::10');
      t.deepEqual(dig(tool, [...v, '+short', 'alias.example.com', 'A']).trim().split('\n'), ['www2.example.com.', 'www.example.com.', '198.18.0.10']);
      t.is(dig(tool, [...v, '+short', 'foo.wild.example.com', 'TXT']).trim(), '"wildcard"');
      const nx = dig(tool, [...v, 'nope.example.com', 'A']);
      t.regex(nx, /status: NXDOMAIN/);
      t.regex(nx, /example\.com\.\s+300\s+IN\s+SOA\s+ns1\.example\.com\./, 'the SOA with the negative TTL');
      const ref = dig(tool, [...v, 'www.sub.example.net', 'A']);
      t.regex(ref, /status: NOERROR/);
      t.notRegex(ref, /[Ff]lags: qr aa|flags: qr aa/, 'a referral is not authoritative');
      t.regex(dig(tool, [...v, 'www.example.invalid', 'A']), /status: REFUSED/);
    });
  }
}

test.serial('serve: a 60 KB answer comes whole over TCP; over UDP it is truncated', (t) => {
  if (!hasCommand('dig') || !hasCommand('kdig')) {
    t.log('SKIPPED: dig or kdig is not installed');
    t.pass();
    return;
  }
  const viaTcp = dig('dig', ['+tcp', 'big.big.test', 'TXT']);
  const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(viaTcp)![1]);
  t.true(size > 60_000 && size <= 65535, `message of ${size} bytes`);
  t.is(dig('dig', ['+tcp', '+short', 'big.big.test', 'TXT']).trim().split('\n').length, BIG_RECORDS);
  t.is(dig('kdig', ['+tcp', '+short', 'big.big.test', 'TXT']).trim().split('\n').length, BIG_RECORDS);
  const viaUdp = dig('dig', ['+notcp', '+ignore', '+bufsize=1232', 'big.big.test', 'TXT']);
  t.regex(viaUdp, /flags: qr aa tc rd;|flags: qr tc aa rd;|flags:[^;]*\btc\b/);
  t.regex(viaUdp, /ANSWER: 0,/);
  // dig without +ignore retries over TCP by itself and gets everything.
  t.is(dig('dig', ['+short', 'big.big.test', 'TXT']).trim().split('\n').length, BIG_RECORDS);
});

test.serial('serve: several queries pipelined on one TCP connection are answered in order', async (t) => {
  const names = ['www.example.com', 'nope.example.com', 'www.example.net', 'big.big.test', 'foo.wild.example.com', 'www.sub.example.net', 'www.example.com'];
  const queries = names.map((n) => Buffer.concat([header(), question(n, n === 'big.big.test' ? 16 : 1)]));
  const answers = await tcpExchange(port, queries);
  t.is(answers.filter((a) => a !== null).length, names.length);
  answers.forEach((a, i) => {
    const p = dnsPacket.decode(a!);
    t.is(a!.readUInt16BE(0), i, 'IDs in order');
    t.is(p.questions![0]!.name, names[i]);
  });
  t.is(dnsPacket.decode(answers[3]!).answers!.length, BIG_RECORDS);
});

test.serial('serve: idle TCP connections are closed after --idle-timeout (1 s here)', async (t) => {
  const started = Date.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      // one query, then silence
      const q = Buffer.concat([header(), question('www.example.com', 1)]);
      s.write(Buffer.concat([Buffer.of(0, q.length), q]));
    });
    s.on('data', () => {});
    s.on('close', () => resolve(Date.now() - started));
    s.on('error', reject);
    setTimeout(() => { s.destroy(); reject(new Error('not closed after 5 s')); }, 5000);
  });
  t.true(closedAfter >= 900 && closedAfter < 3500, `closed after ${closedAfter} ms`);
});

test.serial('serve: SIGTERM stops the server, exit status 0', async (t) => {
  const code = await new Promise<number | null>((resolve) => {
    server!.once('exit', (c) => resolve(c));
    server!.kill('SIGTERM');
  });
  t.is(code, 0, serverOut);
  t.regex(serverOut, /SIGTERM: stopping/);
});
