import type { Hover, Position } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { summaryEntry, type LibcSummary } from '../callgraph/libc-summary.js';
import { explainSymbol } from '../kconfig/explain.js';
import type { Requirement } from '../minimize/requirements.js';
import { isAppSource } from './file-kind.js';
import { pathOf, wordAt } from './positions.js';
import type { Snapshot } from './snapshot.js';
import type { KernelWorkspace } from './workspace.js';

const markdown = (parts: string[]): Hover => ({ contents: { kind: 'markdown', value: parts.join('\n\n') } });

/**
 * Hover on a word: in the app's own sources a libc function first (what it reaches on its own),
 * anywhere a Kconfig option (value, dependencies, defaults, and why it is on or off).
 */
export async function hoverAt(doc: TextDocument, position: Position, s: Snapshot, libcSummary: (libc: string) => Promise<LibcSummary | null>): Promise<Hover | null> {
  const ws = s.workspace;
  const name = wordAt(doc, position);
  if (!ws || !name) return null;
  const path = pathOf(doc.uri);
  if (s.project && path !== undefined && isAppSource(s.project, path)) {
    const libc = s.project.settings.libc ?? 'glibc';
    const summary = await libcSummary(libc);
    const hover = summary === null ? null : libcHover(summary, libc, name, ws.current.requirements);
    if (hover !== null) return hover;
  }
  return optionHover(ws, name);
}

/** the syscalls a libc function reaches on its own, with the option each one needs for the app */
export function libcHover(summary: LibcSummary, libc: string, name: string, requirements: readonly Requirement[]): Hover | null {
  const hit = summaryEntry(summary, name);
  if (hit === undefined) return null;
  const { entry } = hit;
  const nameOf = (nr: number): string => summary.syscallNames[String(nr)] ?? `syscall_${nr}`;
  const needs = new Map<string, string>();
  for (const r of requirements) if (r.kind === 'syscall' && r.expression !== 'y') needs.set(r.detail, r.expression);
  const parts = [
    `**${name}** (${libc}${hit.name !== name ? `, \`${hit.name}\`` : ''}): ${entry.syscalls.length} syscalls on its own`,
    entry.syscalls.map((nr) => (needs.has(nameOf(nr)) ? `${nameOf(nr)} → \`${needs.get(nameOf(nr))}\`` : nameOf(nr))).join(', '),
  ];
  if (entry.indirect) parts.push('an indirect call is reachable: whatever it calls comes on top');
  if (entry.unknown) parts.push('a syscall site with an unknown number is reachable (may be any syscall)');
  return markdown(parts);
}

/** a Kconfig option of the tree under the current view; null for a word that is none */
export function optionHover(ws: KernelWorkspace, name: string): Hover | null {
  if (!ws.kc.symbol(name)?.menus.length) return null;
  const x = explainSymbol(ws.kc, name);
  if (!x) return null;
  const parts = [`**${name}** (${x.type}) = \`${x.value}\`${x.prompts.length ? ` — ${x.prompts[0]}` : ''}`, `visible: ${x.visible}; depends on: \`${x.dependsOn.expression || 'nothing'}\` (${x.dependsOn.value})`];
  const d = x.defaults.find((q) => q.active) ?? x.defaults[0];
  if (d) parts.push(`default: \`${d.value}\`${d.condition && d.condition !== 'y' ? ` if \`${d.condition}\`` : ''}`);
  if (x.selectedBy.length) parts.push(`selected by: ${x.selectedBy.map((r) => `${r.by} (${r.value})`).join(', ')}`);
  if (x.impliedBy.length) parts.push(`implied by: ${x.impliedBy.map((r) => `${r.by} (${r.value})`).join(', ')}`);
  const chain = ws.reasonLines(name);
  if (chain?.length) parts.push(`**needed:**\n\n${chain.map((c, i) => `${'  '.repeat(i)}- ${c}`).join('\n')}`);
  else if (chain) parts.push(`**unused**: nothing the app or its boot needs depends on ${name}`);
  if (x.blockingDependencies.length) parts.push(`kept off by: ${x.blockingDependencies.map((b) => `\`${b}\``).join(', ')}`);
  parts.push(`defined at ${x.definedAt.join(', ')}`);
  return markdown(parts);
}
