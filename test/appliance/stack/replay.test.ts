// Capture replay without root: frames written to a pcap file (PcapWriter), read back
// (readPcap), replayed into the pipe (replay) and answered by the stack through runBatch,
// with the loop's device wrapped in a CaptureDevice; the capture it writes holds the frames
// as received and the answers as sent.

import test from 'ava';
import { join } from 'node:path';
import { receiveFrames } from '../../../netmap-binding/device-util.js';
import { CaptureDevice, PcapWriter, readPcap, replay } from '../../../netmap-binding/pcap.js';
import { BatchRunner } from '../../../appliance/worker/serve-worker.js';
import { encodeQuery, parseCorpusLine } from '../../helpers/dns.js';
import { arpRequestFrame, echo4Frame, echo6Frame, nsFrame, pingData, toHex, udp4Frame, udp6Frame, US6 } from '../../helpers/packets.js';
import { tempDir } from '../../helpers/fixtures.js';
import { buildZonesImage, Rig, type ZonesImage } from './helpers/rig.js';

let image: ZonesImage;
const tmp = tempDir('replay');
test.before(async () => {
  image = await buildZonesImage();
});
test.after.always(() => {
  image?.cleanup();
  tmp.cleanup();
});

function corpus(): Uint8Array[] {
  const q = (line: string): Uint8Array => encodeQuery(parseCorpusLine(line)!, { edns: true });
  return [
    arpRequestFrame(), nsFrame(US6), echo4Frame(1, 1, pingData()), echo6Frame(1, 2, pingData()),
    udp4Frame(q('www.example.com A')), udp6Frame(q('www.example.com AAAA')), udp4Frame(q('nope.example.com A')),
    new Uint8Array(20), udp4Frame(q('many.example.org A'), { vlan: [5] }),
  ];
}

test('a capture replayed through the pipe gets the answers a live exchange gets, and they are captured', (t) => {
  const frames = corpus();
  const inFile = join(tmp.dir, 'queries.pcap');
  const w = new PcapWriter(inFile);
  frames.forEach((f, i) => w.write(f, 0, f.length, 1_700_000_000_000 + i));
  w.close();

  const live = new Rig(image);
  t.teardown(() => live.close());
  const expected = live.exchange(frames);
  t.is(expected.length, frames.length - 1, 'all but the runt are answered');

  const r = new Rig(image);
  t.teardown(() => r.close());
  const pcap = readPcap(inFile);
  t.is(pcap.records.length, frames.length);
  t.is(replay(pcap.records, r.dev), frames.length);
  const outFile = join(tmp.dir, 'served.pcap');
  const cw = new PcapWriter(outFile);
  const cap = new CaptureDevice(r.dev, cw, { now: () => 1_700_000_000_000 });
  const runner = new BatchRunner(cap, r.stack);
  while (runner.run(0) > 0);
  cw.close();
  t.is(r.dev.freeFrames, r.dev.frameCount);
  const got = receiveFrames(r.client);
  t.deepEqual(got.map(toHex), expected.map(toHex));

  const served = readPcap(outFile).records.map((x) => toHex(x.data));
  t.deepEqual(served, [...frames.map(toHex), ...expected.map(toHex)], 'received frames, then the answers of the batch');
});
