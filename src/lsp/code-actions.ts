import { CodeActionKind, type CodeAction, type Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { fileKind } from './file-kind.js';
import { lineRange, pathOf } from './positions.js';
import type { Snapshot } from './snapshot.js';

/**
 * In a `.config`: a quick fix per "unused" diagnostic that turns the option off, and a source
 * action that replaces the file with the minimal configuration (when there is one).
 */
export function codeActions(doc: TextDocument, diagnostics: readonly Diagnostic[], s: Snapshot): CodeAction[] {
  const path = pathOf(doc.uri);
  if (!s.workspace || !path || fileKind(path) !== 'dotConfig') return [];
  const actions = diagnostics.flatMap((d) => disableUnused(doc, d));
  const result = s.workspace.current.result;
  if (result) {
    actions.push({
      title: 'Write the minimal configuration (ukl-trim)',
      kind: CodeActionKind.Source,
      edit: { changes: { [doc.uri]: [{ range: { start: { line: 0, character: 0 }, end: { line: doc.lineCount, character: 0 } }, newText: result.config }] } },
    });
  }
  return actions;
}

function disableUnused(doc: TextDocument, d: Diagnostic): CodeAction[] {
  const data = d.data as { symbol?: string; needed?: boolean } | undefined;
  if (!data?.symbol || data.needed) return [];
  const line = d.range.start.line;
  return [
    {
      title: `Disable ${data.symbol} (unused)`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      edit: { changes: { [doc.uri]: [{ range: lineRange(line, 0, doc.getText(lineRange(line)).length), newText: `# CONFIG_${data.symbol} is not set` }] } },
    },
  ];
}
