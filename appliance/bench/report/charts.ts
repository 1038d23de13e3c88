// The report's charts, as vega-lite specifications made from the figures (results.ts):
// the Sandstorm and Namestorm paper's figures redone on this machine. Each chart is
// titled with what was measured and how; the numbers behind it are the rounds' medians,
// with the min–max range drawn where there are rounds.

import type { DnsSocketFigures, DnsTcpFigures, DnsUdpFigures, Figures, HttpFigures, HttpSocketFigures, ReflectorFigures, Results, ZoneBuildFigures } from './results.js';

/** A vega-lite top-level spec (kept loose: the library's own types are vast). */
export type Spec = Record<string, unknown>;

export interface Chart {
  /** File name stem: dns-udp.svg. */
  id: string;
  title: string;
  /** How it was measured, one line. */
  how: string;
  spec: Spec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 560;
const HEIGHT = 260;

/** A subtitle in lines of at most ~96 characters (a title's width is its longest line's). */
function wrap(text: string, width = 96): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') out.push(line);
  return out;
}

/** One color per server across every chart: the appliance's variants warm, the peers cool. */
const PALETTE: ReadonlyArray<[RegExp, string]> = [
  [/fused|AF_XDP|fused TCP/i, '#e4572e'],
  [/socket backend|worker|dgram/i, '#f3a712'],
  [/reflector/i, '#8c8c8c'],
  [/^appliance/i, '#e4572e'],
  [/^nginx/i, '#29a329'],
  [/^NSD/i, '#2e6fba'],
  [/^Knot/i, '#7b4fbf'],
];
const OTHER = ['#17becf', '#bcbd22', '#9467bd', '#8c564b'];

/** A color scale for these names (in the order given). */
function colors(names: string[]): { domain: string[]; range: string[] } {
  const domain = [...new Set(names)];
  let k = 0;
  return { domain, range: domain.map((n) => PALETTE.find(([re]) => re.test(n))?.[1] ?? OTHER[k++ % OTHER.length]!) };
}

function median(v: number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const min = (v: number[]): number => Math.min(...v);
const max = (v: number[]): number => Math.max(...v);

function pinned(f: { serverCpu: number; loadCpu: number }): string {
  return `server on CPU ${f.serverCpu}, generator on CPU ${f.loadCpu}`;
}

function rounds(n: number, seconds: number): string {
  return `${n} round${n === 1 ? '' : 's'} of ${seconds} s, medians, min–max bars`;
}

/** Category labels on lines of their own at ", " and " (": long server names stay whole. */
const LABELS = { labelAngle: 0, labelLimit: 400, labelExpr: "split(replace(datum.label, ' (', ', ('), ', ')" };

/** What every chart has: the schema, its title and how it was measured, its size, its data. */
function frame(title: string, subtitle: string, values: Array<Record<string, unknown>>): Spec {
  return { $schema: SCHEMA, title: { text: title, subtitle: wrap(subtitle), anchor: 'start' }, width: WIDTH, height: HEIGHT, data: { values } };
}

/** Bars of a median per category with min–max rules and a label per bar. */
function barsWithRange(title: string, subtitle: string, values: Array<Record<string, unknown>>, o: { x: string; y: string; yTitle: string; color?: string; label: string }): Spec {
  const x = { field: o.x, type: 'nominal', title: null, axis: LABELS, sort: null };
  return {
    ...frame(title, subtitle, values),
    layer: [
      { mark: { type: 'bar', tooltip: true }, encoding: { x, y: { field: o.y, type: 'quantitative', title: o.yTitle }, color: { field: o.color ?? o.x, type: 'nominal', legend: null, scale: colors(values.map((v) => String(v[o.color ?? o.x]))) } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
      { mark: { type: 'text', dy: -8, fontSize: 11 }, encoding: { x, y: { field: 'max', type: 'quantitative' }, text: { field: o.label, type: 'nominal' } } },
    ],
  };
}

/** Grouped bars: a category on x, a group per color, with min–max rules. */
function groupedBars(title: string, subtitle: string, values: Array<Record<string, unknown>>, o: { x: string; group: string; y: string; yTitle: string; yScale?: Record<string, unknown> }): Spec {
  const enc = {
    x: { field: o.x, type: 'nominal', title: null, axis: LABELS, sort: null },
    xOffset: { field: o.group, sort: null },
    color: { field: o.group, type: 'nominal', title: null, sort: null, legend: { orient: 'bottom', labelLimit: 300 }, scale: colors(values.map((v) => String(v[o.group]))) },
  };
  return {
    ...frame(title, subtitle, values),
    encoding: enc,
    layer: [
      { mark: { type: 'bar', tooltip: true }, encoding: { y: { field: o.y, type: 'quantitative', title: o.yTitle, ...(o.yScale ? { scale: o.yScale } : {}) } } },
      { mark: { type: 'rule', strokeWidth: 1.5, color: '#333' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    ],
  };
}

/** Lines: x quantitative (log), one line per series, points at the medians, min–max rules. */
function lines(title: string, subtitle: string, values: Array<Record<string, unknown>>, o: { x: string; xTitle: string; series: string; y: string; yTitle: string }): Spec {
  const x = { field: o.x, type: 'quantitative', title: o.xTitle, scale: { type: 'log', base: 2 }, axis: { labelExpr: "datum.value >= 1048576 ? datum.value / 1048576 + ' MiB' : datum.value / 1024 + ' KiB'" } };
  const color = { field: o.series, type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 300 }, scale: colors(values.map((v) => String(v[o.series]))) };
  return {
    ...frame(title, subtitle, values),
    layer: [
      { mark: { type: 'line', point: true, tooltip: true }, encoding: { x, y: { field: o.y, type: 'quantitative', title: o.yTitle }, color } },
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color } },
    ],
  };
}

function dnsUdp(f: DnsUdpFigures): Chart[] {
  // Against the NSD row on the same zone (a run with --names has rows on two zones; files from before it record none).
  const refOf = (r: DnsUdpFigures['rows'][number]): DnsUdpFigures['rows'][number] | undefined => f.rows.find((x) => /^NSD/i.test(x.server) && x.names === r.names);
  const values = f.rows.map((r) => {
    const m = median(r.answers);
    const ref = refOf(r);
    return { server: r.server, answers: m, min: min(r.answers), max: max(r.answers), label: ref && r !== ref ? `${(m / median(ref.answers)).toFixed(2)}× NSD` : `${(m / 1000).toFixed(0)}k` };
  });
  const perCpu = f.rows.map((r) => {
    const v = r.answers.map((a, i) => a / Math.max(1e-9, r.busy[i] ?? 1));
    return { server: r.server, perCpu: median(v), min: min(v), max: max(v), label: `${(median(v) / 1000).toFixed(0)}k` };
  });
  const zone = f.names === undefined ? '' : `; a generated zone of ${f.names.toLocaleString('en')} names (scripts/gen-zone.mjs --seed ${f.seed ?? 1}, ` +
    `${(f.queryLines ?? 0).toLocaleString('en')} query lines over it), the rows marked "small zone" on the small bench zone`;
  const how = `kxdpgun -Q ${f.qps.toLocaleString('en')} over one veth pair, ${pinned(f)}; ${rounds(f.rows[0]?.answers.length ?? 0, f.seconds)}${zone}; ${f.wrong} wrong answers`;
  return [
    { id: 'dns-udp', title: 'DNS over UDP: answers per second, by server', how, spec: barsWithRange('DNS over UDP: answers per second, by server', how, values, { x: 'server', y: 'answers', yTitle: 'answers/s', label: 'label' }) },
    {
      id: 'dns-udp-cpu', title: 'DNS over UDP: answers per busy CPU-second', how: `the same runs; answers divided by the server CPU's busy share (${pinned(f)})`,
      spec: barsWithRange('DNS over UDP: answers per busy CPU-second', 'the same runs: answers/s ÷ the busy share of the server\'s CPU', perCpu, { x: 'server', y: 'perCpu', yTitle: 'answers per busy CPU-second', label: 'label' }),
    },
  ];
}

function dnsSocket(f: DnsSocketFigures): Chart[] {
  const ref = f.rows.find((r) => /^NSD/i.test(r.server));
  const values = f.rows.map((r) => ({
    server: r.server, answers: median(r.answers), min: min(r.answers), max: max(r.answers),
    label: ref && r !== ref ? `${(median(r.answers) / median(ref.answers)).toFixed(2)}× NSD` : `${(median(r.answers) / 1000).toFixed(0)}k`,
  }));
  const how = `dnsperf on loopback, ${pinned(f)}; ${rounds(f.rows[0]?.answers.length ?? 0, f.seconds)}; ${f.mismatches} answers differ from NSD's`;
  return [{ id: 'dns-socket', title: 'DNS over kernel sockets: answers per second', how, spec: barsWithRange('DNS over kernel sockets: answers per second', how, values, { x: 'server', y: 'answers', yTitle: 'answers/s', label: 'label' }) }];
}

function dnsTcp(f: DnsTcpFigures): Chart[] {
  const values = f.rows.map((r) => ({ mode: r.mode, server: r.server, answers: median(r.answers), min: min(r.answers), max: max(r.answers) }));
  const how = `kxdpgun -T (a connection per query) and dnsperf -m tcp (connections reused), ${pinned(f)}; ${rounds(f.rows[0]?.answers.length ?? 0, f.seconds)}; ${f.wrong} wrong`;
  return [{ id: 'dns-tcp', title: 'DNS over TCP: answers per second, by connection mode', how, spec: groupedBars('DNS over TCP: answers per second, by connection mode', how, values, { x: 'mode', group: 'server', y: 'answers', yTitle: 'answers/s' }) }];
}

function http(f: HttpFigures): Chart[] {
  const how = `wrk -t1 -c${f.connections}, ${pinned(f)}; ${rounds(f.rows[0]?.rounds.length ?? 0, f.seconds)}`;
  const ka = f.rows.filter((r) => r.mode === 'keep-alive');
  const at = (r: HttpFigures['rows'][number], k: keyof HttpFigures['rows'][number]['rounds'][number]): { v: number; min: number; max: number } => {
    const v = r.rounds.map((x) => x[k]);
    return { v: median(v), min: min(v), max: max(v) };
  };
  const series = (k: 'rps' | 'gbps'): Array<Record<string, unknown>> => ka.map((r) => {
    const m = at(r, k);
    return { size: r.fileBytes, server: r.server, value: m.v, min: m.min, max: m.max };
  });
  const charts: Chart[] = [];
  if (ka.length > 0) {
    charts.push({ id: 'http-rps', title: 'HTTP: requests per second by file size (keep-alive)', how, spec: lines('HTTP: requests per second by file size (keep-alive)', how, series('rps'), { x: 'size', xTitle: 'file size', series: 'server', y: 'value', yTitle: 'requests/s' }) });
    charts.push({ id: 'http-gbps', title: 'HTTP: throughput by file size (keep-alive)', how, spec: lines('HTTP: throughput by file size (keep-alive)', how, series('gbps'), { x: 'size', xTitle: 'file size', series: 'server', y: 'value', yTitle: 'Gbit/s' }) });
  }
  const cpu = f.rows.map((r) => {
    const m = at(r, 'procUs');
    return { load: r.what, server: r.server, us: m.v, min: m.min, max: m.max };
  });
  if (cpu.length > 0) {
    charts.push({
      id: 'http-cpu', title: 'HTTP: server CPU time per request', how: `${how}; the server process's user + system time over the requests answered`,
      spec: groupedBars('HTTP: server CPU time per request', 'the server process\'s user + system CPU time ÷ requests answered; lower is better', cpu, { x: 'load', group: 'server', y: 'us', yTitle: 'CPU µs per request (symlog scale)', yScale: { type: 'symlog' } }),
    });
  }
  const close = f.rows.filter((r) => r.mode === 'close').map((r) => {
    const m = at(r, 'rps');
    return { server: r.server, cps: m.v, min: m.min, max: m.max, label: `${(m.v / 1000).toFixed(1)}k` };
  });
  if (close.length > 0) {
    charts.push({ id: 'http-conn', title: 'HTTP: connections per second (a new connection per request)', how: `${how}; Connection: close on every request`, spec: barsWithRange('HTTP: connections per second', `a new connection per 1 KiB request (Connection: close); ${how}`, close, { x: 'server', y: 'cps', yTitle: 'connections/s', label: 'label' }) });
  }
  const first = ka.length > 0 ? ka.filter((r) => r.fileBytes === Math.min(...ka.map((x) => x.fileBytes))) : [];
  const lat = first.flatMap((r) => (['p50Ms', 'p99Ms'] as const).map((k) => {
    const m = at(r, k);
    return { percentile: k === 'p50Ms' ? 'p50' : 'p99', server: r.server, ms: m.v, min: m.min, max: m.max };
  }));
  if (lat.length > 0) {
    charts.push({ id: 'http-latency', title: `HTTP: latency, ${first[0]!.what}`, how, spec: groupedBars(`HTTP: latency (${first[0]!.what})`, `wrk's latency percentiles; ${how}`, lat, { x: 'percentile', group: 'server', y: 'ms', yTitle: 'ms' }) });
  }
  return charts;
}

function zoneBuild(f: ZoneBuildFigures): Chart[] {
  const how = `${f.names.toLocaleString('en')} names (${(f.zoneBytes / 1048576).toFixed(0)} MiB of zone file), each tool in a fresh process under GNU time; ${f.rows[0]?.seconds.length ?? 0} runs`;
  const of = (k: 'seconds' | 'rssMB'): Array<Record<string, unknown>> => f.rows.map((r) => ({ tool: r.tool, value: median(r[k]), min: min(r[k]), max: max(r[k]), label: k === 'seconds' ? `${median(r[k]).toFixed(1)} s` : `${median(r[k]).toFixed(0)} MB` }));
  return [
    { id: 'zone-build-time', title: 'Building a big zone: wall time', how, spec: barsWithRange('Building a big zone: wall time', how, of('seconds'), { x: 'tool', y: 'value', yTitle: 'seconds', label: 'label' }) },
    { id: 'zone-build-memory', title: 'Building a big zone: peak memory', how, spec: barsWithRange('Building a big zone: peak resident memory', how, of('rssMB'), { x: 'tool', y: 'value', yTitle: 'MB', label: 'label' }) },
  ];
}

/** Bars of median per server, labelled with the ratio to the server whose name matches `ref`. */
function versus(rows: Array<{ server: string; v: number[] }>, ref: RegExp, refName: string): Array<Record<string, unknown>> {
  const base = rows.find((r) => ref.test(r.server));
  return rows.map((r) => ({
    server: r.server, value: median(r.v), min: min(r.v), max: max(r.v),
    label: base && r !== base ? `${(median(r.v) / median(base.v)).toFixed(2)}× ${refName}` : `${(median(r.v) / 1000).toFixed(0)}k`,
  }));
}

function httpSocket(f: HttpSocketFigures): Chart[] {
  const how = `wrk -t1 -c${f.connections} on loopback for a ${f.fileBytes.toLocaleString('en')}-byte file, keep-alive, ${pinned(f)}; ${rounds(f.rows[0]?.rps.length ?? 0, f.seconds)}`;
  const values = versus(f.rows.map((r) => ({ server: r.server, v: r.rps })), /^nginx/i, 'nginx');
  return [{ id: 'http-socket', title: 'HTTP over kernel sockets: requests per second', how, spec: barsWithRange('HTTP over kernel sockets: requests per second', how, values, { x: 'server', y: 'value', yTitle: 'requests/s', label: 'label' }) }];
}

function reflector(f: ReflectorFigures): Chart[] {
  const how = `kxdpgun -Q ${f.qps.toLocaleString('en')}: a fixed answer from a bare JS loop over the AF_XDP binding (the path's ceiling) against Knot DNS (XDP) and NSD; ${pinned(f)}; ${rounds(f.rows[0]?.answers.length ?? 0, f.seconds)}`;
  const values = versus(f.rows.map((r) => ({ server: r.server, v: r.answers })), /^NSD/i, 'NSD');
  return [{ id: 'reflector', title: 'The ceiling: the bare reflector, answers per second', how, spec: barsWithRange('The ceiling: the bare reflector, answers per second', how, values, { x: 'server', y: 'value', yTitle: 'answers/s', label: 'label' }) }];
}

/** Every chart the results give, in the page's order (the order of SECTIONS). */
export function chartsOf(r: Results): Chart[] {
  const draw: { [K in Figures['kind']]: (f: Extract<Figures, { kind: K }>) => Chart[] } = {
    'dns-udp': dnsUdp, 'dns-socket': dnsSocket, 'dns-tcp': dnsTcp, reflector, http, 'http-socket': httpSocket, 'zone-build': zoneBuild,
  };
  const out: Chart[] = [];
  for (const s of SECTIONS) {
    const f = r.figures.find((x) => x.kind === s.kind);
    if (f) out.push(...(draw[s.kind] as (f: Figures) => Chart[])(f));
  }
  return out;
}

/** What the page lists as not measured: a section per kind the results lack. */
export const SECTIONS: ReadonlyArray<{ kind: Figures['kind']; title: string; bench: string }> = [
  { kind: 'dns-udp', title: 'DNS over UDP through the fused path', bench: 'appliance bench dns (root)' },
  { kind: 'dns-socket', title: 'DNS over kernel sockets', bench: 'appliance bench dns-socket' },
  { kind: 'dns-tcp', title: 'DNS over TCP', bench: 'appliance bench dns --transport tcp (root)' },
  { kind: 'reflector', title: 'The ceiling: the bare reflector', bench: 'appliance bench reflector (root)' },
  { kind: 'http', title: 'HTTP by file size and connection mode', bench: 'appliance bench http (root)' },
  { kind: 'http-socket', title: 'HTTP over kernel sockets', bench: 'appliance bench http-socket' },
  { kind: 'zone-build', title: 'Building a big zone', bench: 'appliance bench zone-build' },
];
