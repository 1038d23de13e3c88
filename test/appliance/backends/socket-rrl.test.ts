// Response rate limiting on the socket backend, as a user runs it: `appliance serve IMAGE
// --backend socket` in a child process (test/helpers/serve.ts), asked over loopback.
//
//   - NSD's defaults (no --rrl-* flag): 1,000 queries for one name in about a second from one
//     source are answered, truncated and dropped in the proportions NSD 4.6 gives the same
//     burst (test/appliance/dns/rrl-nsd.test.ts: about 400 whole answers, about 300
//     truncated, about 300 dropped), and the counters say so through --metrics (dns_rrl_*);
//   - --rrl-rate 0 answers every query, --rrl-exempt 127.0.0.0/8 too (counted as exempt);
//   - over TCP nothing is limited, with the defaults;
//   - bad --rrl-* values are APPL_ERR_USAGE naming the flag.
//
// Traffic goes to 127.0.0.1 only, from loopback sources 127.0.X.1; every sender is bounded
// in count and time.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { buildTestImage, CLI, FIXTURE_ZONES, tempDir } from '../../helpers/fixtures.js';
import { encodeQuery, parseCorpusLine, tcpExchange } from '../../helpers/dns.js';
import { serveSocket } from '../../helpers/serve.js';
import { udpBurst, type BurstResult } from '../../helpers/dns-burst.js';

const tmp = tempDir('socket-rrl');
let image = '';

test.before(async () => {
  const zones = readdirSync(FIXTURE_ZONES).filter((f) => f.endsWith('.zone')).sort().map((f) => ({ origin: null, file: join(FIXTURE_ZONES, f) }));
  image = await buildTestImage(join(tmp.dir, 'zones.apl'), [], zones);
});
test.after.always(() => tmp.cleanup());

const QUERY = encodeQuery(parseCorpusLine('www.example.com A')!, { edns: true });

type Outcome = Pick<BurstResult, 'whole' | 'truncated' | 'dropped'>;

/** `n` copies of QUERY from `source`, spread over `spanMs`; every query sent, or the test fails. */
async function burst(port: number, source: string, n: number, spanMs: number): Promise<Outcome> {
  const r = await udpBurst('127.0.0.1', port, QUERY, n, spanMs, source);
  if (r.sent < n) throw new Error(`sent only ${r.sent} of ${n} queries in time`);
  return { whole: r.whole, truncated: r.truncated, dropped: r.dropped };
}

/**
 * What NSD's arithmetic gives a burst of 1,000 in one second: a new bucket passes 399 in its
 * first second (the limit is 2 x 200 in NSD's units); when the burst straddles a second
 * boundary with k < 399 queries before it, the next second passes 399 - k/2 more (the rate
 * is then k), so 399 to 599 whole answers, whatever the phase of the server's clock. The
 * rest is limited, one in two slipped at random: about 700-800 answered in all, as NSD
 * (test/appliance/dns/rrl-nsd.test.ts compares the two at the same times).
 */
function nsdLike(t: { true: (v: boolean, m?: string) => void }, o: Outcome): void {
  const limited = o.truncated + o.dropped;
  t.true(o.whole >= 399 && o.whole <= 600, `whole answers: ${o.whole}`);
  t.true(o.whole + limited === 1000, 'every query is answered, truncated or dropped');
  const slack = Math.max(10, 4 * Math.sqrt(limited / 4));
  t.true(Math.abs(o.truncated - limited / 2) <= slack, `truncated ${o.truncated} of ${limited} limited (one in two expected, ±${slack.toFixed(0)})`);
}

test.serial('NSD\'s defaults: 1,000 queries in about a second from one source are answered, truncated and dropped as NSD does, and counted in --metrics', async (t) => {
  const srv = await serveSocket(image);
  try {
    t.regex(srv.output(), /RRL\s+200 responses\/s per bucket \(IPv4 \/24, IPv6 \/56\), slip 2/);
    const o = await burst(srv.dnsPort, '127.0.41.1', 1000, 1000);
    const c = await srv.counters();
    t.log(`whole ${o.whole}, truncated ${o.truncated}, dropped ${o.dropped}; dns_rrl_checked ${c.dns_rrl_checked}, ` +
      `dns_rrl_slipped ${c.dns_rrl_slipped}, dns_rrl_dropped ${c.dns_rrl_dropped}`);
    nsdLike(t, o);
    t.is(c.dns_rrl_checked, 1000);
    t.is(c.dns_rrl_slipped, o.truncated);
    t.is(c.dns_rrl_dropped, o.dropped);
    t.is(c.dns_rrl_exempt, 0);
    t.is(c.dns_answered, 1000, 'the responder answered all; RRL decided what went out');
  } finally {
    t.is(await srv.stop(), 0);
  }
});

test.serial('--rrl-rate 0 turns RRL off: the same burst is answered whole', async (t) => {
  const srv = await serveSocket(image, ['--rrl-rate', '0']);
  try {
    t.regex(srv.output(), /RRL\s+off \(--rrl-rate 0\)/);
    const o = await burst(srv.dnsPort, '127.0.42.1', 1000, 1000);
    const c = await srv.counters();
    t.deepEqual(o, { whole: 1000, truncated: 0, dropped: 0 });
    t.is(c.dns_rrl_checked, 0);
    t.is(c.dns_rrl_dropped, 0);
  } finally {
    t.is(await srv.stop(), 0);
  }
});

test.serial('--rrl-exempt 127.0.0.0/8: the same burst is answered whole, every answer counted as exempt; another prefix is still limited', async (t) => {
  const srv = await serveSocket(image, ['--rrl-exempt', '127.0.0.0/8', '--rrl-exempt', '2001:db8::/32']);
  try {
    t.regex(srv.output(), /exempt 127\.0\.0\.0\/8 2001:db8::\/32/);
    const o = await burst(srv.dnsPort, '127.0.43.1', 1000, 1000);
    const c = await srv.counters();
    t.deepEqual(o, { whole: 1000, truncated: 0, dropped: 0 });
    t.is(c.dns_rrl_checked, 1000);
    t.is(c.dns_rrl_exempt, 1000);
  } finally {
    t.is(await srv.stop(), 0);
  }
  // The allow-list is what it says: with 127.0.44.0/24 exempt, 127.0.45.1 is limited.
  const other = await serveSocket(image, ['--rrl-exempt', '127.0.44.0/24']);
  try {
    const o = await burst(other.dnsPort, '127.0.45.1', 1000, 1000);
    t.true(o.dropped > 100, `dropped ${o.dropped}`);
  } finally {
    t.is(await other.stop(), 0);
  }
});

test.serial('TCP answers are never rate-limited: 1,000 pipelined queries for one name, all answered whole with the defaults', async (t) => {
  const srv = await serveSocket(image);
  try {
    const answers = await tcpExchange(srv.dnsPort, new Array<Buffer>(1000).fill(QUERY), '127.0.0.1', 15_000);
    t.is(answers.filter((a) => a !== null && (a.readUInt16BE(2) & 0x0200) === 0).length, 1000);
    const c = await srv.counters();
    t.is(c.dns_rrl_checked, 0);
    // And UDP is still limited after it (the TCP answers took nothing from the bucket).
    nsdLike(t, await burst(srv.dnsPort, '127.0.46.1', 1000, 1000));
  } finally {
    t.is(await srv.stop(), 0);
  }
});

test('bad --rrl-* values are APPL_ERR_USAGE naming the flag, before anything listens (both backends)', (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--rrl-rate', '-1'], /--rrl-rate -1: expected .* from 0 to 100000000/],
    [['--rrl-rate', '2e2'], /--rrl-rate 2e2: /],
    [['--rrl-rate', '100000001'], /--rrl-rate 100000001: /],
    [['--rrl-slip', '1.5'], /--rrl-slip 1\.5: expected .* from 0 to 255/],
    [['--rrl-ipv4-prefix', '33'], /--rrl-ipv4-prefix 33: expected an IPv4 prefix length, a whole number from 0 to 32/],
    [['--rrl-ipv6-prefix', '65'], /--rrl-ipv6-prefix 65: .*from 0 to 64/],
    [['--rrl-size', '0'], /--rrl-size 0: /],
    [['--rrl-exempt', '198.18.0.0/33'], /--rrl-exempt 198\.18\.0\.0\/33: not an IPv4 or IPv6 prefix/],
    [['--rrl-exempt', 'example.com'], /--rrl-exempt example\.com: not an IPv4 or IPv6 prefix/],
    [['--rrl-exempt', '2001:db8::/129'], /--rrl-exempt 2001:db8::\/129: /],
  ];
  for (const backend of ['socket', 'xdp']) {
    for (const [args, re] of backend === 'socket' ? cases : [cases[0]!, cases[4]!, cases[7]!]) {
      const r = spawnSync(process.execPath, [CLI, 'serve', image, '--backend', backend, '--iface', 'lo', '--dns', '127.0.0.1:0', '--http', '127.0.0.1:0', ...args],
        { encoding: 'utf8', timeout: 15_000 });
      t.is(r.status, 2, `${backend} ${args.join(' ')}: ${r.stderr}`);
      t.regex(r.stderr, /^appliance: APPL_ERR_USAGE: /, `${backend} ${args.join(' ')}`);
      t.regex(r.stderr, re, `${backend} ${args.join(' ')}`);
      t.notRegex(r.stdout, /press Ctrl-C/);
    }
  }
});
