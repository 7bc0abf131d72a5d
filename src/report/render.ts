import type { ReportData } from './data.js';
import { html, trusted } from './html.js';
import { bootSection, notesSection, optionsSection, requirementsSection, sizeSection, summarySection } from './sections.js';

/**
 * The report as one self-contained HTML page: styles, maps (inline SVG) and a small script, no
 * request to anything outside it, so it opens from a file or an e-mail attachment.
 */

const STYLE = `
:root { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; background: #f6f7f9; }
body { margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d5d9e0; padding-bottom: 4px; }
code { font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; }
.meta, .explain, .note { color: #5b6475; } .note { font-size: 12.5px; }
.figures { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.figure { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; padding: 8px 14px; min-width: 200px; }
.figure-label { color: #5b6475; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.figure-value { font-size: 22px; font-weight: 600; } .figure-base { color: #5b6475; font-size: 12.5px; }
.maps { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
figure.map { margin: 0; } figcaption { margin-bottom: 4px; max-width: 600px; min-height: 2.9em; }
svg.treemap { display: block; background: #fff; border: 1px solid #d5d9e0; }
svg.treemap rect { stroke: #fff; stroke-width: .5; } svg.treemap rect.cell:hover, svg.treemap rect.hl { stroke: #111; stroke-width: 2; }
svg.treemap text { font: 11px system-ui, sans-serif; pointer-events: none; visibility: hidden; }
svg.treemap text.fits { visibility: visible; } svg.treemap .top-label { fill: #fff; font-weight: 600; } svg.treemap .cell-label { fill: #10141c; }
table { border-collapse: collapse; background: #fff; margin-top: 12px; } th, td { border: 1px solid #e1e4ea; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef0f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
details.option-group { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; margin: 6px 0; padding: 4px 10px; }
details.option-group > summary { cursor: pointer; font-weight: 600; } .count { color: #5b6475; font-weight: 400; }
details.option-group ul { list-style: none; padding-left: 8px; margin: 4px 0; }
li.option { margin: 3px 0; } li.option.hidden { display: none; }
ol.chain { list-style: none; padding: 0; margin: 0; display: inline; } ol.chain li { display: inline; }
ol.chain li + li::before { content: " ← "; color: #8a93a5; }
ol.chain li:first-child > code { font-weight: 700; }
.path code.fn { background: #eef0f4; border-radius: 3px; padding: 0 3px; } .arrow { color: #8a93a5; }
.ok { color: #18794e; } .bad { color: #c62828; }
tr.requirement:target { background: #fff6d6; }
pre { background: #10141c; color: #d7dde8; padding: 8px; overflow-x: auto; font-size: 12px; }
`;

/**
 * Labels only where they fit (measured by the browser, which knows the font; a subsystem falls
 * back to its bare name); the same folder lit on both maps; the option filter. `data-ready` says
 * the script ran to its end.
 */
const SCRIPT = `
(function () {
  for (const t of document.querySelectorAll('svg.treemap text')) {
    const height = t.dataset.h === undefined ? Infinity : Number(t.dataset.h);
    const fits = () => t.getComputedTextLength() <= Number(t.dataset.w) && height >= 15;
    // a subsystem's name without its size where both do not fit
    if (!fits() && t.dataset.short) t.textContent = t.dataset.short;
    t.classList.toggle('fits', fits());
  }
  const light = (dir, on) => {
    for (const r of document.querySelectorAll('svg.treemap rect.cell')) if (r.dataset.dir === dir) r.classList.toggle('hl', on);
  };
  for (const r of document.querySelectorAll('svg.treemap rect.cell')) {
    r.addEventListener('mouseenter', () => light(r.dataset.dir, true));
    r.addEventListener('mouseleave', () => light(r.dataset.dir, false));
  }
  const filter = document.getElementById('option-filter');
  if (filter) filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const li of document.querySelectorAll('li.option')) li.classList.toggle('hidden', q !== '' && !li.textContent.toLowerCase().includes(q));
  });
  document.body.dataset.ready = 'yes';
})();
`;

export function renderReportHtml(d: ReportData): string {
  const page = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${d.title}</title><style>${trusted(STYLE)}</style></head>
<body>
${summarySection(d)}
${sizeSection(d)}
${requirementsSection(d)}
${optionsSection(d)}
${bootSection(d)}
${notesSection(d)}
<script>${trusted(SCRIPT)}</script>
</body></html>
`;
  return page.text;
}
