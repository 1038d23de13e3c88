// Draws the results: one SVG per chart (vega-lite compiled to vega, rendered in Node with
// no browser and no canvas) and one page, index.html, that holds them all and opens
// offline (the SVGs inline, no script, no font or style from elsewhere).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { chartsOf, SECTIONS, type Chart } from './charts.js';
import type { Results } from './results.js';

export async function renderSvg(c: Chart): Promise<string> {
  const compiled = vl.compile(c.spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Writes DIR/<chart>.svg for each chart and DIR/index.html; returns the files written. */
export async function renderReport(r: Results, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const charts = chartsOf(r);
  const written: string[] = [];
  const figures: string[] = [];
  for (const c of charts) {
    const svg = await renderSvg(c);
    const file = `${c.id}.svg`;
    writeFileSync(join(dir, file), svg);
    written.push(join(dir, file));
    figures.push(`<figure id="${c.id}"><a href="${file}" title="the chart alone">${svg.replace(/^<\?xml[^>]*>/, '')}</a>` +
      `<figcaption><b>${esc(c.title)}</b> — ${esc(c.how)} · <a href="${file}">${file}</a></figcaption></figure>`);
  }
  const kinds = new Set(r.figures.map((f) => f.kind));
  const missing = SECTIONS.filter((s) => !kinds.has(s.kind));
  const m = r.machine;
  const tools = Object.entries(m.tools).map(([k, v]) => `<li>${esc(k)}: ${v === null ? '<i>not installed</i>' : esc(v)}</li>`).join('');
  const commands = r.figures.map((f) => `<li><code>${esc(f.command)}</code></li>`).join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>appliance: benchmarks on ${esc(m.cpu)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
figure { margin: 1.5em 0; padding: 1em; border: 1px solid #ddd; border-radius: 6px; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.5em; }
.missing { color: #8a4b00; } code { font-size: 0.9em; }
nav a { margin-right: 1em; }
</style></head><body>
<h1>The appliance against nginx, NSD and Knot DNS, measured here</h1>
<p>Run ${esc(r.generatedAt)} (${esc(r.mode)}), on ${esc(m.cpu)} × ${m.cores}, Linux ${esc(m.kernel)}, Node ${esc(m.node)}.
The Sandstorm and Namestorm figures (Marinos, Watson, Handley, SIGCOMM 2014) redone on this machine: every server alone on its CPU,
the generator on another, back to back in each round. Figures are the rounds' medians; bars show the range.</p>
<nav>${charts.map((c) => `<a href="#${c.id}">${esc(c.title)}</a>`).join(' ')}</nav>
${missing.length > 0 ? `<h2>Not measured in this run</h2><ul class="missing">${missing.map((s) => `<li>${esc(s.title)}: no figures (<code>${esc(s.bench)}</code>)</li>`).join('')}${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : r.notes.length > 0 ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h2>Charts</h2>
${figures.join('\n')}
<h2>How</h2>
<p>The commands that measured these figures:</p><ul>${commands}</ul>
<p>Versions:</p><ul>${tools}</ul>
<p>Every figure of every round is in <a href="results.json">results.json</a>; <code>appliance bench report --from results.json -o DIR</code> draws this page again.</p>
</body></html>
`;
  writeFileSync(join(dir, 'index.html'), html);
  written.push(join(dir, 'index.html'));
  return written;
}
