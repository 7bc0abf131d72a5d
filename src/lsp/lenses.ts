import type { CodeLens } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Requirement } from '../minimize/requirements.js';
import { isAppSource } from './file-kind.js';
import { lineRange, pathOf } from './positions.js';
import type { Snapshot } from './snapshot.js';

/** Kconfig menus: how many of their options are needed; the app's sources: calls that pull options in. */
export function codeLenses(doc: TextDocument, s: Snapshot): CodeLens[] {
  const ws = s.workspace;
  const path = pathOf(doc.uri);
  if (!ws || !path) return [];
  const rel = ws.rel(path);
  if (rel && ws.isKconfigFile(rel)) {
    return ws.menus(rel).map((m) => ({ range: lineRange(m.line, 0, 0), command: { title: `${m.needed} of ${m.total} options needed`, command: '' } }));
  }
  if (ws.current.source !== 'project' || !isAppSource(s.project, path)) return [];
  return callLenses(doc.getText(), ws.current.requirements);
}

/** A lens on each call of a function on a syscall's witness path, naming what the syscall needs (up to 3). */
export function callLenses(source: string, requirements: readonly Requirement[]): CodeLens[] {
  const pulls = pullsByFunction(requirements);
  const lenses: CodeLens[] = [];
  source.split('\n').forEach((text, line) => {
    const code = text.replace(/\/\/.*$/, '');
    // a definition's own line is not a call
    if (/^\s*(static\s+)?[\w\s*]+\b\w+\s*\([^;]*\)\s*\{?\s*$/.test(code) && !code.includes(';')) return;
    for (const m of code.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)) {
      const name = m[1] as string;
      const what = pulls.get(name);
      if (!what) continue;
      const at = m.index ?? 0;
      lenses.push({ range: { start: { line, character: at }, end: { line, character: at + name.length } }, command: { title: `pulls in ${[...what].slice(0, 3).join(', ')}`, command: '' } });
    }
  });
  return lenses;
}

/** function → "EPOLL (syscall epoll_wait)" for every syscall requirement whose path goes through it */
function pullsByFunction(requirements: readonly Requirement[]): Map<string, Set<string>> {
  const byFunction = new Map<string, Set<string>>();
  for (const r of requirements) {
    if (r.kind !== 'syscall' || !r.path) continue;
    for (const fn of r.path.slice(1)) {
      const set = byFunction.get(fn) ?? new Set();
      set.add(`${r.expression} (syscall ${r.detail})`);
      byFunction.set(fn, set);
    }
  }
  return byFunction;
}
