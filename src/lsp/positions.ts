import { fileURLToPath } from 'node:url';
import type { Position, Range } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';

/** A range on one line (the whole line by default: editors clamp the end). */
export function lineRange(line: number, start = 0, end = 1000): Range {
  return { start: { line, character: start }, end: { line, character: end } };
}

export function wholeDocument(doc: TextDocument): Range {
  return { start: { line: 0, character: 0 }, end: { line: doc.lineCount - 1, character: 1000 } };
}

/** The file of a `file:` URI; undefined for other schemes (unsaved buffers, remote files). */
export function pathOf(uri: string): string | undefined {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
  } catch {
    return undefined;
  }
}

/** The word under the cursor, without a `CONFIG_` prefix (so `.config` and C lines name the option). */
export function wordAt(doc: TextDocument, position: Position): string | undefined {
  const { line, character } = position;
  const text = doc.getText({ start: { line, character: 0 }, end: { line, character: 10_000 } });
  const re = /[A-Za-z0-9_]+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index <= character && character <= m.index + m[0].length) return m[0].replace(/^CONFIG_/, '');
  }
  return undefined;
}
