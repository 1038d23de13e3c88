// serve's config file (TOML): check-config accepts a good file and prints what it would
// serve; every problem of a bad one is named with its file, line and key (syntax, unknown
// keys, wrong types, values the flags would refuse, a missing image, an unwritable log);
// serve reads the file, and a flag given on the command line wins over it.

import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { buildTestImage, FIXTURE_SITE, FIXTURE_ZONES, runCli, tempDir } from '../../helpers/fixtures.js';
import { udpExchange } from '../../helpers/dns.js';
import { start } from '../../helpers/serve.js';

const tmp = tempDir('config');
let image = '';
test.before(async () => {
  image = await buildTestImage(join(tmp.dir, 's.apl'), [{ host: null, dir: FIXTURE_SITE }], [{ origin: null, file: join(FIXTURE_ZONES, 'example.com.zone') }]);
});
test.after.always(() => tmp.cleanup());

const cli = runCli;

function file(name: string, text: string): string {
  const f = join(tmp.dir, name);
  writeFileSync(f, text);
  return f;
}

test('check-config: a good file is ok, with the image described and every value as serve takes it', async (t) => {
  const f = file('good.toml', [
    '# a comment', `image = "${image}"`, 'http = ["127.0.0.1:0", "[::1]:0"]', 'dns = "127.0.0.1:0"',
    'rrl_rate = 100', 'rrl-exempt = ["198.18.0.0/15", "2001:db8::/32"]', 'max-connections = 500', 'hide-version = true',
    `access-log = "${join(tmp.dir, 'access.log')}"`, 'log-format = "json"', '',
  ].join('\n'));
  const r = await cli(['check-config', f]);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /good\.toml: ok/);
  t.regex(r.out, /zone example\.com\. serial \d+/);
  t.regex(r.out, /max-connections = 500/);
  t.regex(r.out, /rrl-exempt = \["198\.18\.0\.0\/15","2001:db8::\/32"\]/);
});

test('check-config: every problem, each with its line and key, in line order; exit status 1', async (t) => {
  const f = file('bad.toml', [
    `image = "${join(tmp.dir, 'missing.apl')}"`, // 1
    'http = "127.0.0.1:99999"', // 2
    'rrl-rate = "lots"', // 3
    'max-connections = 0', // 4
    'colour = "blue"', // 5
    'hide-version = "yes"', // 6
    'query-log = "/nonexistent-dir/q.log"', // 7
    'metrics = ["127.0.0.1:1", "127.0.0.1:2"]', // 8
    'backend = "dpdk"', // 9
    'fault = "drop=0.5"', // 10
    '',
  ].join('\n'));
  const r = await cli(['check-config', f]);
  t.is(r.code, 1);
  const lines = r.out.replace(/^appliance: APPL_ERR_CONFIG: /, '').trim().split('\n');
  t.log(lines.join('\n'));
  const at = (n: number, key: string, what: RegExp): void => {
    t.truthy(lines.find((l) => l.startsWith(`${f}:${n}: ${key}: `) && what.test(l)), `line ${n} ${key}`);
  };
  at(1, 'image', /no such file/);
  at(2, 'http', /99999 is not a port number/);
  at(3, 'rrl-rate', /lots/);
  at(4, 'max-connections', /from 1 to/);
  at(5, 'colour', /unknown key/);
  at(6, 'hide-version', /true or false/);
  at(7, 'query-log', /cannot be created/);
  at(8, 'metrics', /not a list/);
  at(9, 'backend', /not one of socket, xdp/);
  at(10, 'fault', /not an option a config file can set/);
  t.is(lines.length, 10);
});

test('check-config: a file that is not TOML is said with its line', async (t) => {
  const r = await cli(['check-config', file('syntax.toml', `image = "${image}"\nrrl-slip = 2\n[oops\n`)]);
  t.is(r.code, 1);
  t.regex(r.out, /syntax\.toml:3: not TOML/);
});

test('serve --config: the file\'s options are served; a flag on the command line wins over the file', async (t) => {
  const f = file('serve.toml', [`image = "${image}"`, 'http = "127.0.0.1:1"', 'dns = "127.0.0.1:0"', 'metrics = "127.0.0.1:0"', 'hide-version = true', 'identity = "from-the-file"', ''].join('\n'));
  // --http on the command line replaces the file's (port 1 would need root).
  const s = await start(['serve', '--config', f, '--http', '127.0.0.1:0', '--identity', 'from-the-flag']);
  try {
    t.regex(s.output(), /HTTP {2}http:\/\/127\.0\.0\.1:\d+\//);
    t.notRegex(s.output(), /127\.0\.0\.1:1\//);
    const dnsPort = Number(/DNS\s+127\.0\.0\.1:(\d+)/.exec(s.output())![1]);
    const q = (name: string): Buffer => dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'TXT', class: 'CH', name }] });
    const [version, id] = await udpExchange(dnsPort, [q('version.bind'), q('id.server')]);
    t.is((dnsPacket.decode(version!).flags ?? 0) & 0xf, 5, 'REFUSED');
    const txt = dnsPacket.decode(id!).answers?.[0];
    t.deepEqual((txt as { data: Buffer[] }).data.map(String), ['from-the-flag']);
  } finally {
    await s.stop();
  }
});

test('serve --config: a bad value in the file stops serve with the file\'s line, before anything listens', async (t) => {
  const r = await cli(['serve', '--config', file('slip.toml', `image = "${image}"\nhttp = "127.0.0.1:0"\n\nrrl-slip = 300\n`)]);
  t.is(r.code, 1);
  t.regex(r.out, /APPL_ERR_CONFIG: .*slip\.toml:4: rrl-slip: --rrl-slip 300/);
});
