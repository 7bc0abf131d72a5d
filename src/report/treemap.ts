import { hierarchy, treemap, treemapSquarify } from 'd3-hierarchy';
import { html, humanBytes, thousands, type Markup } from './html.js';
import type { SizeGroup } from './sizes.js';

/**
 * A squarified treemap of size groups (subsystems holding their folders), laid out with
 * d3-hierarchy and drawn as inline SVG. Two maps drawn at one scale compare by area.
 */

export interface TreemapCell {
  /** a subsystem box (holding its folders) or a folder */
  level: 'top' | 'dir';
  top: string;
  dir: string;
  bytes: number;
  x: number;
  y: number;
  width: number;
  height: number;
  group?: SizeGroup;
}

interface Datum {
  name: string;
  group?: SizeGroup;
  children?: Datum[];
}

/** the band above a subsystem's folders that holds its name */
export const TOP_LABEL_HEIGHT = 16;

function tree(groups: readonly SizeGroup[]): Datum {
  const tops = new Map<string, Datum[]>();
  for (const g of groups) if (g.bytes > 0) tops.set(g.top, [...(tops.get(g.top) ?? []), { name: g.dir, group: g }]);
  return { name: '', children: [...tops].map(([name, children]) => ({ name, children })) };
}

/** Cells for `groups` in a width × height box (the caller scales the box to the bytes). */
export function layoutTreemap(groups: readonly SizeGroup[], width: number, height: number): TreemapCell[] {
  const root = hierarchy(tree(groups))
    .sum((d) => d.group?.bytes ?? 0)
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  const laid = treemap<Datum>()
    .tile(treemapSquarify)
    .size([width, height])
    .paddingInner(1)
    .paddingOuter(1)
    .paddingTop((n) => (n.depth === 1 ? TOP_LABEL_HEIGHT : 1))
    .round(true)(root);
  return laid.descendants().flatMap((n): TreemapCell[] => {
    if (n.depth === 0) return [];
    const top = n.depth === 1 ? n.data.name : (n.parent?.data.name ?? '');
    const box = { x: n.x0, y: n.y0, width: n.x1 - n.x0, height: n.y1 - n.y0, bytes: n.value ?? 0 };
    if (n.depth === 1) return [{ level: 'top', top, dir: top, ...box }];
    return n.data.group ? [{ level: 'dir', top, dir: n.data.name, ...box, group: n.data.group }] : [];
  });
}

/** Box heights for maps of these totals at one scale: the biggest gets `maxHeight`. */
export function scaledHeights(totals: readonly number[], maxHeight: number, minHeight = 48): number[] {
  const biggest = Math.max(1, ...totals);
  return totals.map((t) => Math.max(minHeight, Math.round((maxHeight * t) / biggest)));
}

const HUES: Readonly<Record<string, number>> = {
  kernel: 210,
  'arch/x86': 28,
  net: 140,
  drivers: 280,
  fs: 48,
  mm: 0,
  lib: 180,
  init: 320,
  block: 95,
  security: 250,
  crypto: 300,
  ipc: 65,
  io_uring: 165,
  other: 0,
};

/** one hue per subsystem, the same on every map of the page */
export function hueOf(top: string): number {
  const known = HUES[top];
  if (known !== undefined) return known;
  let h = 0;
  for (const c of top) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

function fillOf(cell: TreemapCell, index: number): string {
  if (cell.top === 'other') return `hsl(0 0% ${62 + (index % 3) * 6}%)`;
  return `hsl(${hueOf(cell.top)} 55% ${cell.level === 'top' ? 38 : 58 + (index % 4) * 5}%)`;
}

/** the tooltip: the folder, its bytes by kind, its biggest symbols */
function titleOf(cell: TreemapCell): string {
  const g = cell.group;
  if (!g) return `${cell.top}: ${thousands(cell.bytes)} bytes`;
  const kinds = `code ${thousands(g.byKind.code)}, read-only ${thousands(g.byKind.rodata)}, data ${thousands(g.byKind.data)}, bss ${thousands(g.byKind.bss)}`;
  const largest = g.largest.map((s) => `${s.name} ${thousands(s.bytes)}`).join(', ');
  return `${cell.dir}: ${thousands(g.bytes)} bytes in ${thousands(g.symbols)} symbols (${kinds}); largest: ${largest}`;
}

/** the folder's name inside its subsystem (`net/ipv4` in net → `ipv4`; files directly in net → `net/`) */
export function shortLabel(cell: TreemapCell): string {
  if (cell.dir === cell.top) return `${cell.top}/`;
  return cell.dir.startsWith(`${cell.top}/`) ? cell.dir.slice(cell.top.length + 1) : cell.dir;
}

function drawCell(cell: TreemapCell, index: number): Markup {
  const fill = fillOf(cell, index);
  if (cell.level === 'top') {
    return html`<rect class="top" data-top="${cell.top}" x="${cell.x}" y="${cell.y}" width="${cell.width}" height="${cell.height}" fill="${fill}"><title>${titleOf(cell)}</title></rect><text class="top-label" data-top="${cell.top}" data-short="${cell.top}" x="${cell.x + 3}" y="${cell.y + 12}" data-w="${cell.width - 6}">${cell.top} ${humanBytes(cell.bytes)}</text>`;
  }
  return html`<rect class="cell" data-top="${cell.top}" data-dir="${cell.dir}" data-bytes="${cell.bytes}" x="${cell.x}" y="${cell.y}" width="${cell.width}" height="${cell.height}" fill="${fill}"><title>${titleOf(cell)}</title></rect><text class="cell-label" data-dir="${cell.dir}" x="${cell.x + 3}" y="${cell.y + 12}" data-w="${cell.width - 6}" data-h="${cell.height}">${shortLabel(cell)}</text>`;
}

/** The map as an SVG element; `id` names it for the page's script and for tests. */
export function treemapSvg(id: string, groups: readonly SizeGroup[], width: number, height: number): Markup {
  const cells = layoutTreemap(groups, width, height);
  return html`<svg id="${id}" class="treemap" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${id}">${cells.map(drawCell)}</svg>`;
}
