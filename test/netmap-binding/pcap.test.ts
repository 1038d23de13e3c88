import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CaptureDevice, PcapWriter, readPcap, replay } from '../../netmap-binding/pcap.js';
import { createPipe } from '../../netmap-binding/pipe.js';
import { receiveFrames, sendFrames } from '../../netmap-binding/device-util.js';
import { parseIPv6 } from '../../netmap-binding/afxdp.js';
import { frameTo } from './helpers/contract.js';

const run = promisify(execFile);

function tmp(t: { teardown: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'apl-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a capture wrapper records what a device receives and transmits; the reader reads it back', async (t) => {
  const file = join(tmp(t), 'cap.pcap');
  const [a, b] = createPipe();
  let clock = 1_700_000_000_000;
  const cap = new CaptureDevice(a, new PcapWriter(file), { now: () => (clock += 1.5) });
  const inbound = [frameTo(b, a, '198.18.0.2', '198.18.0.1', 53, 1, 40), frameTo(b, a, '198.18.0.2', '198.18.0.1', 53, 2, 50)];
  sendFrames(b, inbound);
  const got = receiveFrames(cap);
  t.deepEqual(got, inbound);
  const outbound = frameTo(a, b, '198.18.0.1', '198.18.0.2', 53, 3, 60);
  sendFrames(cap, [outbound]);
  await cap.close();
  const p = readPcap(file);
  t.is(p.linktype, 1);
  t.deepEqual(p.records.map((r) => r.data), [...inbound, outbound]);
  t.true(p.records[2]!.timeMs > p.records[0]!.timeMs);
  t.deepEqual(receiveFrames(b), [outbound]);
});

test('tcpdump reads the capture', async (t) => {
  if (!existsSync('/usr/bin/tcpdump') && !existsSync('/usr/sbin/tcpdump')) {
    t.log('SKIPPED: tcpdump is not installed');
    return t.pass();
  }
  const file = join(tmp(t), 'cap.pcap');
  const [a, b] = createPipe();
  const w = new PcapWriter(file);
  const f = frameTo(b, a, '198.18.0.2', '198.18.0.1', 7777, 1, 12);
  w.write(f, 0, f.length, Date.now());
  w.close();
  const { stdout } = await run('tcpdump', ['-nr', file], { timeout: 10_000 });
  t.regex(stdout, /198\.18\.0\.2\.7777 > 198\.18\.0\.1\.7777: UDP, length 12/);
});

test('replay: a capture goes into a pipe end\'s receive side, frame for frame', (t) => {
  const file = join(tmp(t), 'cap.pcap');
  const [a, b] = createPipe();
  const w = new PcapWriter(file, { snaplen: 1500 });
  const frames = [1, 2, 3].map((i) => frameTo(b, a, '198.18.0.2', '198.18.0.1', 53, i, 20 * i));
  for (const f of frames) w.write(f, 0, f.length, 1000);
  w.close();
  t.is(replay(readPcap(readFileSync(file)).records, a), 3);
  t.deepEqual(receiveFrames(a), frames);
});

test('the reader refuses what is not a pcap, saying why', (t) => {
  t.throws(() => readPcap(new Uint8Array(10)), { message: /shorter than the 24-byte header/ });
  t.throws(() => readPcap(new Uint8Array(24)), { message: /magic 0x0/ });
});

test('IPv6 addresses parse to wire bytes', (t) => {
  t.deepEqual([...parseIPv6('2001:db8::1')], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  t.deepEqual([...parseIPv6('::')], new Array(16).fill(0));
  t.deepEqual([...parseIPv6('::ffff:198.18.0.1')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1]);
  t.deepEqual([...parseIPv6('2001:db8:1:2:3:4:5:6')], [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6]);
  t.throws(() => parseIPv6('198.18.0.1'));
});
