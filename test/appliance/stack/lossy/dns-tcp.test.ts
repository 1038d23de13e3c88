// DNS over TCP through the fused stack under loss (docs/TCP-DESIGN.md "Tests": loss): a real TCP
// client (test/helpers/tcp-peer.ts) on one end of the pipe, the appliance on the other, a
// seeded fault injector dropping, duplicating, reordering and delaying frames in both
// directions. Every answer must arrive byte for byte as the responder gives it without the
// stack (TRANSPORT_TCP), every connection must end cleanly on both sides (no RST, the
// server's table empty), and under loss the server must have retransmitted whenever a
// segment of its sequence space was lost. The rig checks the TCP's invariants and every
// frame the appliance emits after each step of the clock (lossy-rig.ts).

import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeQuery, loadCorpus, parseCorpusLine, type CorpusQuery } from '../../../helpers/dns.js';
import type { FaultRates } from '../../../../netmap-binding/fault.js';
import type { TcpPeer } from '../../../helpers/tcp-peer.js';
import type { ZonesImage } from '../helpers/rig.js';
import { buildLossyImage, LossyRig, type LossyOptions } from './lossy-rig.js';

let image: ZonesImage;
test.before(async () => { image = await buildLossyImage(); });
test.after.always(() => image?.cleanup());

const BIG = parseCorpusLine('big.big.test TXT')!;
/** Steps of the clock (20 ms each) a test may take at most: 600 s of simulated time. */
const MAX_STEPS = 30_000;

/** The faults at a loss rate: drops at that rate, with duplication and reordering at every rate (0 included). */
function faultsAt(loss: number): FaultRates {
  return { drop: loss, duplicate: loss >= 0.2 ? 0.05 : 0.02, reorder: loss >= 0.2 ? 0.1 : 0.05, delayMs: 1, reorderMs: 10 };
}

interface Work {
  queries: Uint8Array[];
  answers: Uint8Array[];
}

/**
 * `n` queries from the corpus (chosen by `seed`), with the 60 KB answer's query at a third
 * and two thirds of the way when `big`; ids from `idBase`; each with its reference answer.
 */
function workload(r: LossyRig, n: number, seed: number, v6: boolean, idBase: number, big = true): Work {
  const corpus = loadCorpus();
  const out: Work = { queries: [], answers: [] };
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; out.queries.length < n && i < 10 * n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const at = out.queries.length;
    const q: CorpusQuery = big && (at === Math.floor(n / 3) || at === Math.floor((2 * n) / 3)) ? BIG : corpus[x % corpus.length]!;
    const m = new Uint8Array(encodeQuery(q, { id: (idBase + at) & 0xffff, edns: at % 3 === 1 }));
    const a = r.referenceAnswer(m, v6);
    if (a === null) continue; // no answer at all (dropped): not for a stream
    out.queries.push(m);
    out.answers.push(a);
  }
  return out;
}

/** Answers received so far, against the reference: their count, or the first difference. */
function compare(p: TcpPeer, w: Work): string | null {
  const got = p.messages();
  for (let i = 0; i < got.length; i++) {
    const want = w.answers[i];
    if (!want) return `answer ${i} is one too many`;
    const g = got[i]!;
    if (g.length !== want.length || g.some((b, k) => b !== want[k])) {
      const k = g.findIndex((b, j) => b !== want[j]);
      return `answer ${i} (id ${w.queries[i]![0]! << 8 | w.queries[i]![1]!}): ${g.length} bytes where ${want.length} were expected, first difference at ${k}`;
    }
  }
  return null;
}

/** LOSSY_TRACE=DIR: every segment the client sent and got, and every fault, into DIR/LABEL.txt. */
function saveTrace(r: LossyRig, label: string): void {
  const dir = process.env.LOSSY_TRACE;
  if (dir) writeFileSync(join(dir, `${label.replace(/[^\w.%-]+/g, '_')}.txt`), r.trace.join('\n') + '\n');
}

/** What every run must end with: nothing wrong on either side, every connection ended cleanly. */
function finish(t: ExecutionContext, r: LossyRig, peers: TcpPeer[], works: Work[], label: string): void {
  r.drain();
  saveTrace(r, label);
  const counters = r.tcpCounters();
  const f = (d: { frames: number; dropped: number; duplicated: number; reordered: number } | undefined): string =>
    d ? `${d.frames} frames, ${d.dropped} dropped, ${d.duplicated} duplicated, ${d.reordered} reordered` : '-';
  const fs = r.serverFault?.faultStats(), cs = r.clientFault?.faultStats();
  t.log(`${label}: ${((r.steps * 20) / 1000).toFixed(1)} s simulated; to the server ${f(fs?.rx ?? cs?.tx)}; from it ${f(fs?.tx ?? cs?.rx)}; ` +
    `${r.serverSeqLost} of its segments with data lost, ${counters.retransmits ?? 0} retransmitted, ${counters.rto_expiries ?? 0} RTOs, ${counters.fast_retransmits ?? 0} fast retransmits`);
  if (process.env.LOSSY_VERBOSE) t.log(`${label}: TCP ${JSON.stringify(counters)}; segments for closed connections ${r.host.strays}`);
  peers.forEach((p, i) => {
    const diff = compare(p, works[i]!);
    t.is(diff, null, `${label}: connection ${p.port}: ${diff}`);
    t.is(p.messages().length, works[i]!.answers.length, `${label}: connection ${p.port}: ${p.describe()}`);
    t.false(p.reset, `${label}: connection ${p.port} was reset`);
    t.false(p.gaveUp, `${label}: connection ${p.port} gave up`);
    t.true(p.done, `${label}: connection ${p.port} did not end: ${p.describe()}`);
  });
  t.deepEqual(r.problems, [], label);
  // A late duplicate of our last ACK gets a RST from the server (its slot is gone), which ends
  // our TIME-WAIT, and what comes after is for no connection: only data there would be wrong.
  t.is(r.host.straysWithData, 0, `${label}: data for a connection the client had closed`);
  t.is(r.tcp.table.used, 0, `${label}: the server still holds connections`);
  // No connection was given up or refused. (The server closing an idle connection first is
  // its right, once every answer is out; a query it dropped would show above.) A RST answering
  // a late duplicate of a segment for a connection already gone (a closed slot: it fails the
  // cookie check) is right too (RFC 9293 §3.10.7 CLOSED), and is all the RSTs there may be.
  for (const k of ['retry_limit', 'send_timeouts', 'buffer_exhausted', 'evicted', 'table_full', 'syn_ack_timeouts', 'message_timeouts']) {
    t.is(counters[k] ?? 0, 0, `${label}: ${k}`);
  }
  t.true((counters.resets_sent ?? 0) <= (counters.drop_bad_cookie ?? 0) + (counters.drop_no_connection ?? 0),
    `${label}: the server sent RSTs for live connections`);
  t.is(counters.resets_received ?? 0, 0, `${label}: the server received RSTs`);
  if (r.serverSeqLost > 0) t.true((counters.retransmits ?? 0) > 0, `${label}: ${r.serverSeqLost} server segments lost, none retransmitted`);
}

/** One connection, `n` pipelined queries (two of them for the 60 KB answer), then the client closes. */
function pipelined(t: ExecutionContext, o: LossyOptions, label: string, peerOptions: Parameters<LossyRig['host']['connect']>[0] = {}): LossyRig {
  const r = new LossyRig(image, { trace: !!process.env.LOSSY_TRACE, ...o });
  const p = r.host.connect(peerOptions);
  const w = workload(r, 60, o.seed, peerOptions.v6 ?? false, o.seed * 1000);
  p.sendDns(...w.queries);
  const answered = r.runUntil(() => p.messages().length >= w.answers.length || p.done, MAX_STEPS);
  if (!answered) saveTrace(r, label);
  t.true(answered, `${label}: ${p.messages().length} of ${w.answers.length} answers after ${r.steps} steps: ${p.describe()}; TCP ${JSON.stringify(r.tcpCounters())}`);
  p.close();
  r.runUntil(() => p.done && r.tcp.table.used === 0, MAX_STEPS);
  finish(t, r, [p], [w], label);
  return r;
}

/**
 * Runs that fail today because of a TCP bug reproduced in tcp-bugs.test.ts: test.failing, with
 * the bug in the title, until it is fixed (ava then reports the run as passing unexpectedly:
 * take it out of this list).
 */
const KNOWN_FAILING: Record<string, string> = {
};

function lossTest(key: string, title: string, fn: (t: ExecutionContext) => void): void {
  const bug = KNOWN_FAILING[key];
  if (bug) test.failing(`${title} — fails: ${bug}`, fn);
  else test(title, fn);
}

for (const loss of [0, 0.01, 0.05, 0.2]) {
  for (const seed of [1, 2, 3]) {
    const pct = `${loss * 100}%`;
    const v6 = seed === 2;
    lossTest(`${pct} seed ${seed}`, `pipelined: 60 queries (two with a 60 KB answer) on one ${v6 ? 'IPv6' : 'IPv4'} connection, ${pct} loss with reordering and duplication both ways at the appliance, seed ${seed}: byte-exact`, (t) => {
      const r = pipelined(t, { seed, server: { rx: faultsAt(loss), tx: faultsAt(loss) }, testIss: seed === 1 ? 0xffffc000 : undefined },
        `${pct} seed ${seed}`, { v6, ackEvery: seed === 3 ? 2 : 1 });
      if (loss >= 0.05) t.true(r.serverSeqLost > 0, 'the injector lost none of the server\'s segments');
    });
  }
}

lossTest('client end 20% seed 4', 'pipelined: the faults at the client\'s end instead (20% loss both ways, 5 ms delay), seed 4: byte-exact', (t) => {
  const r = pipelined(t, { seed: 4, client: { rx: { ...faultsAt(0.2), delayMs: 5 }, tx: { ...faultsAt(0.2), delayMs: 5 } } }, 'client end 20% seed 4');
  t.true(r.serverSeqLost > 0);
});

lossTest('both ends 5% seed 5', 'pipelined: loss at both ends at once (5% each way at each end), no window scale, no SACK, seed 5: byte-exact', (t) => {
  pipelined(t, { seed: 5, server: { rx: faultsAt(0.05), tx: faultsAt(0.05) }, client: { rx: faultsAt(0.05), tx: faultsAt(0.05) } },
    'both ends 5% seed 5', { wscale: null, sack: false, window: 65535 });
});

for (const [loss, seed] of [[0.05, 6], [0.2, 7]] as const) {
  lossTest(`parallel ${loss * 100}% seed ${seed}`, `parallel: 6 connections at once (IPv4 and IPv6), 30 pipelined queries each with a 60 KB answer, ${loss * 100}% loss, seed ${seed}: byte-exact`, (t) => {
    const r = new LossyRig(image, { seed, server: { rx: faultsAt(loss), tx: faultsAt(loss) }, trace: !!process.env.LOSSY_TRACE });
    const peers: TcpPeer[] = [];
    const works: Work[] = [];
    for (let i = 0; i < 6; i++) {
      const v6 = i % 2 === 1;
      const p = r.host.connect({ v6, ackEvery: i % 3 === 2 ? 2 : 1 });
      const w = workload(r, 30, seed * 10 + i, v6, i * 1000);
      p.sendDns(...w.queries);
      peers.push(p);
      works.push(w);
    }
    // Each closes once it has its answers (a client that waited for the others would meet the
    // server's FIN-WAIT-2 timeout when the server closed an idle one first).
    const all = (): boolean => {
      peers.forEach((p, i) => { if (p.messages().length >= works[i]!.answers.length) p.close(); });
      return peers.every((p) => p.done) && r.tcp.table.used === 0;
    };
    const ok = r.runUntil(all, MAX_STEPS);
    if (!ok) saveTrace(r, `parallel ${loss * 100}% seed ${seed}`);
    t.true(ok, peers.map((p) => p.describe()).join('\n'));
    finish(t, r, peers, works, `parallel ${loss * 100}% seed ${seed}`);
  });
}

for (const [loss, seed, halfClose] of [[0.05, 8, false], [0.2, 9, false], [0.05, 10, true], [0.2, 11, true]] as const) {
  const how = halfClose ? 'the query and the FIN together, the server closing after its answer' : 'the client closing after the answer';
  lossTest(`per query ${loss * 100}% seed ${seed}${halfClose ? ' half-close' : ''}`, `connection per query: 40 connections, 4 at a time, one query each (${how}), ${loss * 100}% loss, seed ${seed}: byte-exact`, (t) => {
    const r = new LossyRig(image, { seed, server: { rx: faultsAt(loss), tx: faultsAt(loss) }, trace: !!process.env.LOSSY_TRACE });
    const peers: TcpPeer[] = [];
    const works: Work[] = [];
    const pool = workload(r, 40, seed, false, seed * 100, false);
    const poolV6 = workload(r, 40, seed, true, seed * 100, false);
    let next = 0;
    const open = (): void => {
      const i = next++;
      const v6 = i % 4 === 3;
      const src = v6 ? poolV6 : pool;
      // Every tenth connection asks for the 60 KB answer.
      const w: Work = i % 10 === 5 ? { queries: [], answers: [] } : { queries: [src.queries[i]!], answers: [src.answers[i]!] };
      if (w.queries.length === 0) {
        const q = new Uint8Array(encodeQuery(BIG, { id: i }));
        w.queries.push(q);
        w.answers.push(r.referenceAnswer(q, v6)!);
      }
      const p = r.host.connect({ v6 });
      p.sendDns(...w.queries);
      if (halfClose) p.close();
      peers.push(p);
      works.push(w);
    };
    const step = (): boolean => {
      for (const [i, p] of peers.entries()) if (!halfClose && !p.done && p.messages().length >= works[i]!.answers.length) p.close();
      while (next < 40 && peers.filter((p) => !p.done).length < 4) open();
      return next === 40 && peers.every((p) => p.done) && r.tcp.table.used === 0;
    };
    const ok = r.runUntil(step, MAX_STEPS);
    if (!ok) saveTrace(r, `per query ${loss * 100}% seed ${seed}`);
    t.true(ok, peers.filter((p) => !p.done).map((p) => p.describe()).join('\n'));
    finish(t, r, peers, works, `per query ${loss * 100}% seed ${seed}${halfClose ? ' half-close' : ''}`);
    t.is(r.tcpCounter('established'), 40);
  });
}
