import { dirname } from 'node:path';
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic, type Range } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { fileKind, isAppSource } from './file-kind.js';
import { lineRange, pathOf, wholeDocument } from './positions.js';
import { audience, type Snapshot } from './snapshot.js';
import { unresolvedInSource, unresolvedOnProject } from './unresolved.js';
import type { KernelWorkspace } from './workspace.js';

/**
 * A document's diagnostics under the snapshot: unused options of Kconfig files, notes on
 * `.config` lines, kernel sources and Makefiles the configuration does not build, the project
 * file's problems, and the places of the app the analysis could not resolve.
 */
export function diagnosticsFor(doc: TextDocument, s: Snapshot): Diagnostic[] {
  const ws = s.workspace;
  const path = pathOf(doc.uri);
  if (!ws || !path) return [];
  const unresolved = ws.current.result?.report.unresolved ?? [];
  if (path === s.projectFile) return [...s.projectDiagnostics, ...unresolvedOnProject(unresolved)];
  if (isAppSource(s.project, path)) return unresolvedInSource(doc.getText(), unresolved);
  const who = audience(ws, s.project);
  const rel = ws.rel(path);
  if (rel && ws.isKconfigFile(rel)) return kconfigHints(ws, rel, who);
  const kind = fileKind(path);
  if (kind === 'dotConfig') return dotConfigNotes(ws, doc, who);
  if (rel && kind === 'source') return sourceHints(ws, rel, doc, who);
  if (rel && kind === 'makefile') return makefileHints(ws, rel, doc, who);
  return [];
}

/** faded: the editor shows the range as unneeded code */
const unused = (range: Range, message: string, data?: unknown): Diagnostic => ({
  range,
  severity: DiagnosticSeverity.Hint,
  tags: [DiagnosticTag.Unnecessary],
  source: 'ukl-trim',
  message,
  ...(data === undefined ? {} : { data }),
});

/** bool and tristate entries that are off */
function kconfigHints(ws: KernelWorkspace, rel: string, who: string): Diagnostic[] {
  return ws
    .entries(rel)
    .filter((e) => !ws.isOn(e.name) && ['bool', 'tristate'].includes(ws.kc.symbol(e.name)?.type ?? ''))
    .map((e) => unused(lineRange(e.line), `${e.name} is not needed by ${who}: off in the trimmed configuration`));
}

/** `=y`/`=m` lines: unused under a project (with `data` for the quick fix), else why they are on */
function dotConfigNotes(ws: KernelWorkspace, doc: TextDocument, who: string): Diagnostic[] {
  const view = ws.current;
  const out: Diagnostic[] = [];
  doc
    .getText()
    .split('\n')
    .forEach((text, i) => {
      const name = /^CONFIG_(\w+)=(y|m)$/.exec(text)?.[1];
      if (name === undefined) return;
      if (view.source === 'project' && !ws.isOn(name)) {
        out.push(unused(lineRange(i), `${name}: unused by ${who}`, { symbol: name }));
        return;
      }
      const chain = ws.reasonLines(name);
      if (chain?.length) out.push({ range: lineRange(i), severity: DiagnosticSeverity.Information, source: 'ukl-trim', message: chain.join('\n'), data: { symbol: name, needed: true } });
    });
  return out;
}

/** a source no Makefile builds is faded whole; in a built one, the `#if` branches compiled out */
function sourceHints(ws: KernelWorkspace, rel: string, doc: TextDocument, who: string): Diagnostic[] {
  const built = ws.fileBuilt(rel);
  if (built && !built.built) return [unused(wholeDocument(doc), `not built under ${who}: needs ${built.condition}`)];
  return ws.inactiveRegions(doc.getText()).map((r) => unused({ start: { line: r.startLine, character: 0 }, end: { line: r.endLine, character: 1000 } }, `compiled out under ${who}: ${r.condition}`));
}

function makefileHints(ws: KernelWorkspace, rel: string, doc: TextDocument, who: string): Diagnostic[] {
  const dir = dirname(rel) === '.' ? '' : dirname(rel);
  const built = ws.dirBuilt(dir);
  return built && !built.built ? [unused(wholeDocument(doc), `directory not built under ${who}: needs ${built.condition}`)] : [];
}
