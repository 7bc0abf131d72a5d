import type { ReportData } from './data.js';
import { html, humanBytes, thousands, type Markup } from './html.js';
import { groupOptions, type ExplainedOption } from './options.js';
import type { KernelSizes } from './sizes.js';
import { hueOf, scaledHeights, treemapSvg } from './treemap.js';

/** The parts of the report page, each a pure function of the report data. */

const MAP_WIDTH = 600;
const MAP_MAX_HEIGHT = 560;

type Requirement = ReportData['minimize']['requirements'][number];

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a && b ? `${(a / b).toFixed(2)}x` : '';
}

function figure(label: string, trimmed: number | null, baseline: number | null | undefined, unit = ''): Markup {
  const value = trimmed === null ? '–' : `${thousands(trimmed)}${unit}`;
  const base = baseline === null || baseline === undefined ? null : `${thousands(baseline)}${unit}`;
  return html`<div class="figure"><div class="figure-label">${label}</div><div class="figure-value">${value}</div>${base !== null ? html`<div class="figure-base">baseline ${base} <b>${ratio(trimmed, baseline)}</b></div>` : ''}</div>`;
}

export function summarySection(d: ReportData): Markup {
  const m = d.minimize;
  const t = d.trimmed.sizes;
  const b = d.baseline?.sizes;
  const boot = d.boot;
  const bootValue = boot === null ? 'not booted' : boot.ok ? `${boot.markerSeconds ?? '–'} s` : `failed (${boot.failure ?? '?'})`;
  return html`<header>
<h1>${d.title}</h1>
<p class="meta">Linux ${m.kernelVersion} ${m.arch}, ${m.mode} mode, profile ${m.profile ?? 'none'}${m.app ? html`, app <code>${m.app}</code>` : ''}. Generated ${d.generatedAt}.</p>
<div class="figures" id="summary">
${figure('options =y', t.enabledOptions ?? m.counts.enabled, b?.enabledOptions)}
${figure('bzImage bytes', t.bzImageBytes, b?.bzImageBytes)}
${figure('bytes in named symbols', t.symbolBytes, b?.symbolBytes)}
<div class="figure"><div class="figure-label">boot: marker</div><div class="figure-value">${bootValue}</div>${boot?.echoSeconds !== null && boot?.echoSeconds !== undefined ? html`<div class="figure-base">echo after ${boot.echoSeconds} s (${boot.accel})</div>` : boot ? html`<div class="figure-base">${boot.accel}</div>` : ''}</div>
</div>
</header>`;
}

/** subsystem → bytes */
function tops(sizes: KernelSizes): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of sizes.groups) out.set(g.top, (out.get(g.top) ?? 0) + g.bytes);
  return out;
}

function subsystemTable(d: ReportData): Markup {
  const t = tops(d.trimmed.sizes);
  const b = d.baseline ? tops(d.baseline.sizes) : new Map<string, number>();
  const names = [...new Set([...t.keys(), ...b.keys()])].sort((x, y) => Math.max(b.get(y) ?? 0, t.get(y) ?? 0) - Math.max(b.get(x) ?? 0, t.get(x) ?? 0));
  const row = (name: string): Markup => {
    const tb = t.get(name) ?? 0;
    const bb = b.get(name);
    return html`<tr data-top="${name}"><td><span class="swatch" style="background:${name === 'other' ? 'hsl(0 0% 62%)' : `hsl(${hueOf(name)} 55% 50%)`}"></span>${name}</td><td class="num">${thousands(tb)}</td>${d.baseline ? html`<td class="num">${thousands(bb ?? 0)}</td><td class="num">${thousands(tb - (bb ?? 0))}</td>` : ''}</tr>`;
  };
  return html`<table class="subsystems"><thead><tr><th>subsystem</th><th>trimmed</th>${d.baseline ? html`<th>baseline</th><th>difference</th>` : ''}</tr></thead><tbody>${names.map(row)}</tbody></table>`;
}

function mapFigure(id: string, label: string, note: string, sizes: KernelSizes, height: number): Markup {
  return html`<figure class="map"><figcaption><b>${label}</b> ${humanBytes(sizes.symbolBytes)} in named symbols <span class="note">${note}</span></figcaption>${treemapSvg(id, sizes.groups, MAP_WIDTH, height)}</figure>`;
}

export function sizeSection(d: ReportData): Markup {
  const t = d.trimmed.sizes;
  const b = d.baseline?.sizes;
  const [th, bh] = scaledHeights([t.symbolBytes, b?.symbolBytes ?? 0], MAP_MAX_HEIGHT);
  const covered = (s: KernelSizes): string => `of ${thousands(s.sections.text + s.sections.data + s.sections.bss)} section bytes`;
  return html`<section id="sizes"><h2>vmlinux by subsystem</h2>
<p class="explain">Each box is a source folder; its area is the bytes of vmlinux's sized symbols (code, read-only data, data, bss) whose object is built from it, both maps at one scale. The rest of vmlinux's sections (alignment padding, string literals, tables) has no sized symbol. Hover a box for its biggest symbols.</p>
<div class="maps">
${mapFigure('treemap-trimmed', d.trimmed.label, covered(t), t, th ?? MAP_MAX_HEIGHT)}
${d.baseline && b ? mapFigure('treemap-baseline', d.baseline.label, `${d.baseline.description}; ${covered(b)}`, b, bh ?? MAP_MAX_HEIGHT) : html`<p class="note">No baseline.</p>`}
</div>
${subsystemTable(d)}
</section>`;
}

/** a requirement in a few words (its row in the table has the rest) */
function requirementName(r: Requirement): string {
  return r.kind === 'profile' ? `the boot profile (${r.expression})` : `${r.kind} ${r.detail}`;
}

/** each step of the chain; the step that ends at a requirement links to its row */
function chainMarkup(o: ExplainedOption, requirements: readonly Requirement[]): Markup {
  const req = o.requirement === null ? undefined : requirements[o.requirement];
  return html`<ol class="chain">${o.chain.map((c, i) =>
    i === o.chain.length - 1 && req !== undefined
      ? html`<li><code>${c.symbol}</code> required by <a href="#req-${o.requirement}">${requirementName(req)}</a></li>`
      : html`<li><code>${c.symbol}</code> ${c.text}</li>`,
  )}</ol>`;
}

export function optionsSection(d: ReportData): Markup {
  const groups = groupOptions(d.minimize);
  const open = new Set(['syscall', 'socket-family', 'pseudo-file', 'profile', 'mode', 'enable']);
  return html`<section id="options"><h2>Options on, by reason (${d.minimize.options.length})</h2>
<p class="explain">Each option with its chain down to what needs it. <label>Filter <input id="option-filter" type="search" placeholder="EPOLL, epoll_wait, main…"></label></p>
${groups.map(
  (g) => html`<details class="option-group" data-group="${g.key}"${open.has(g.key) ? html` open` : ''}><summary>${g.title} <span class="count">${g.options.length}</span></summary><ul>${g.options.map((o) => html`<li class="option" data-symbol="${o.symbol}">${chainMarkup(o, d.minimize.requirements)}</li>`)}</ul></details>`,
)}
</section>`;
}

function witnessPath(path: readonly string[] | undefined): Markup {
  if (!path || path.length === 0) return html`<span class="note">–</span>`;
  return html`<span class="path">${path.map((f, i) => html`${i > 0 ? html`<span class="arrow"> → </span>` : ''}<code class="fn">${f}</code>`)}</span>`;
}

export function requirementsSection(d: ReportData): Markup {
  const turnsOn = new Map<number, string[]>();
  for (const o of d.minimize.options) if (o.reason.kind === 'required' && o.reason.requirement !== undefined) turnsOn.set(o.reason.requirement, [...(turnsOn.get(o.reason.requirement) ?? []), o.symbol]);
  const row = (r: Requirement, i: number): Markup =>
    html`<tr id="req-${i}" class="requirement" data-kind="${r.kind}"><td class="num">${i + 1}</td><td>${r.kind}</td><td>${r.detail}${r.assumed ? html` <span class="note">(assumed)</span>` : ''}</td><td><code>${r.expression}</code></td><td class="${r.holds ? 'ok' : 'bad'}">${r.holds ? 'holds' : 'FAILS'}</td><td>${(turnsOn.get(i) ?? []).map((s) => html`<code>${s}</code> `)}</td><td>${witnessPath(r.path)}</td></tr>`;
  return html`<section id="requirements"><h2>Requirements (${d.minimize.requirements.length})</h2>
<p class="explain">What the kernel must provide, each with the witness path from the app's entry to the call that needs it.</p>
<table class="requirements"><thead><tr><th>#</th><th>kind</th><th>what</th><th>expression</th><th>check</th><th>turns on</th><th>witness path</th></tr></thead><tbody>${d.minimize.requirements.map(row)}</tbody></table>
</section>`;
}

export function bootSection(d: ReportData): Markup {
  const boot = d.boot;
  const build = d.build ? html`<li>kernel build: ${d.build.reused ? 'reused (same config already built)' : `${d.build.seconds} s`}</li>` : '';
  const times = d.minimize.seconds;
  const minimize = html`<li>minimize: ${times.total} s (load ${times.load}, analysis ${times.analysis}, model ${times.model}, solve ${times.solve}, check ${times.check})</li>`;
  if (boot === null) return html`<section id="boot"><h2>Times</h2><ul>${minimize}${build}<li>not booted</li></ul></section>`;
  return html`<section id="boot"><h2>Times</h2><ul>${minimize}${build}
<li>boot (${boot.accel}): ${boot.ok ? 'ok' : html`<b class="bad">failed (${boot.failure ?? '?'})</b> ${boot.message ?? ''}`}; marker after <b id="boot-marker">${boot.markerSeconds ?? '–'}</b> s${boot.echoSeconds !== null ? html`, TCP echo after <b id="boot-echo">${boot.echoSeconds}</b> s` : ''}</li></ul>
<details><summary>console tail</summary><pre>${boot.consoleTail.join('\n')}</pre></details></section>`;
}

export function notesSection(d: ReportData): Markup {
  const m = d.minimize;
  const notes = [
    ...m.warnings,
    ...m.unresolved.map((u) => `unresolved ${u.kind} in ${u.function ?? '?'} at 0x${u.address.toString(16)}: ${u.reason}`),
    ...(d.baseline?.unmet ?? []).map((e) => `the baseline does not satisfy ${e}`),
    ...[d.trimmed, ...(d.baseline ? [d.baseline] : [])].filter((k) => k.sizes.sharedBytes > 0).map((k) => `${k.label}: ${thousands(k.sizes.sharedBytes)} bytes are copies of static inline functions defined in several folders, counted in their common folder`),
  ];
  if (notes.length === 0) return html``;
  return html`<section id="notes"><h2>Notes</h2><ul>${notes.map((n) => html`<li>${n}</li>`)}</ul></section>`;
}
