// `appliance serve --secondary` against a primary that misbehaves (a fake one here, on
// 127.0.0.1: SOA over UDP, AXFR over TCP on the same port): a transfer cut in the middle
// and a zone the compiler refuses each leave the old zone serving, counted and logged with
// a code; the next good transfer is served. NOTIFY from the primary's address starts each
// check; the server answers it NOERROR with AA. A second serve on the same state directory
// is refused.

import test from 'ava';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { freePort, tempDir } from '../../helpers/fixtures.js';
import { start } from '../../helpers/serve.js';
import { encodeQuery, parseCorpusLine, udpExchange } from '../../helpers/dns.js';
import { servedSerial, untilSerial } from '../../helpers/secondary.js';
import { aRecord, axfrAnswer, fakePrimary, framed, MessageBuilder, QR_AA, queryInfo, soaRecord, wire } from './xfr-helpers.js';
import type { WireRecord } from '../../../appliance/secondary/wire-records.js';

const ZONE = 'fake.example';

function zoneAt(serial: number, extra: WireRecord[] = []): WireRecord[] {
  const records = [soaRecord(ZONE, serial), { owner: wire(ZONE), type: 2, cls: 1, ttl: 3600, rdata: wire(`ns.${ZONE}`) }, aRecord(`ns.${ZONE}`, [198, 18, 5, 1])];
  for (let i = 0; i < 400; i++) records.push(aRecord(`h${i}.${ZONE}`, [198, 18, 5, i & 0xff]));
  return [...records, ...extra];
}

test.serial('a transfer cut in the middle, or a zone the compiler refuses, leaves the old zone serving; the next good one is served', async (t) => {
  const d = tempDir('sec-fake');
  t.teardown(d.cleanup);
  let serial = 1;
  let mode: 'whole' | 'cut' | 'bad' = 'whole';
  const tcp = await fakePrimary((q: Uint8Array, sock: net.Socket) => {
    const { id, qtype } = queryInfo(q);
    if (qtype !== 252 && qtype !== 251) return void sock.destroy();
    // IXFR is answered in AXFR form (RFC 1995 §4), as NSD 4.6 does.
    const msgs = axfrAnswer(id, wire(ZONE), qtype, mode === 'bad'
      // A CNAME beside other data at one name: the compiler refuses it (RFC 1034 §3.6.2).
      ? zoneAt(serial, [{ owner: wire(`h1.${ZONE}`), type: 5, cls: 1, ttl: 60, rdata: wire(`h2.${ZONE}`) }])
      : zoneAt(serial), 50);
    if (mode === 'cut') {
      sock.write(framed(...msgs.slice(0, Math.floor(msgs.length / 2))), () => sock.destroy());
    } else {
      sock.end(framed(...msgs));
    }
  });
  t.teardown(() => tcp.close());
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(tcp.port, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());
  udp.on('message', (m, from) => {
    const { id } = queryInfo(m);
    const b = new MessageBuilder(id, QR_AA).question(wire(ZONE), 6).record(1, soaRecord(ZONE, serial));
    udp.send(b.bytes(), from.port, from.address);
  });

  const dnsPort = await freePort();
  const app = await start(['serve', '--dns', `127.0.0.1:${dnsPort}`, '--metrics', '127.0.0.1:0', '--state-dir', join(d.dir, 'state'),
    '--secondary', `${ZONE}=127.0.0.1:${tcp.port}`]);
  t.teardown(() => app.stop());
  await untilSerial(dnsPort, ZONE, 1, 15_000);
  const metric = async (re: RegExp): Promise<number> => {
    const m = re.exec(await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`).then((r) => r.text()));
    return m ? Number(m[1]) : 0;
  };
  const failures = (): Promise<number> => metric(/appliance_secondary_failures_total\{zone="fake\.example\."\} (\d+)/);
  const notify = async (): Promise<void> => {
    const [reply] = await udpExchange(dnsPort, [encodeQuery({ ...parseCorpusLine(`${ZONE}. SOA`)!, opcode: 4 })]);
    t.is(reply![3]! & 0xf, 0, 'NOTIFY from the primary\'s address: NOERROR');
    t.true((reply![2]! & 4) !== 0, 'with AA');
  };
  const untilFailures = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while ((await failures()) < n) {
      if (Date.now() > deadline) throw new Error(`failures did not reach ${n}: ${app.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  for (const [m, code] of [['cut', /APPL_ERR_XFR_CLOSED/], ['bad', /APPL_ERR_SECONDARY/]] as const) {
    const before = await failures();
    mode = m;
    serial++;
    await notify();
    await untilFailures(before + 1);
    t.regex(app.output(), code);
    t.is(await servedSerial(dnsPort, ZONE), 1, `${m}: the old zone still served`);
    const [a] = await udpExchange(dnsPort, [encodeQuery(parseCorpusLine(`h7.${ZONE}. A`)!)]);
    t.is(a!.readUInt16BE(6), 1, `${m}: and its records`);
    t.regex(readFileSync(join(d.dir, 'state', 'zones', `${ZONE}.json`), 'utf8'), /"serial":1,/);
  }
  mode = 'whole';
  serial++;
  await notify();
  await untilSerial(dnsPort, ZONE, serial, 10_000);
  // The state follows the servers' switch (it is committed once they took the new image).
  const deadline = Date.now() + 5000;
  while (await metric(/appliance_secondary_serial\{zone="fake\.example\."\} (\d+)/) !== serial && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.is(await metric(/appliance_secondary_serial\{zone="fake\.example\."\} (\d+)/), serial);

  // A second serve on the same state directory is refused, naming the first.
  await t.throwsAsync(start(['serve', '--dns', `127.0.0.1:${await freePort()}`, '--state-dir', join(d.dir, 'state'), '--secondary', `${ZONE}=127.0.0.1:${tcp.port}`]),
    { message: new RegExp(`kept by another serve \\(pid ${app.proc.pid}\\)`) });
});
