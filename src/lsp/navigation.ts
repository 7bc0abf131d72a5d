import { pathToFileURL } from 'node:url';
import type { Location as LspLocation, Position } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { lineRange, wordAt } from './positions.js';
import type { Snapshot } from './snapshot.js';
import type { Location } from './workspace.js';

const toLsp = (l: Location): LspLocation => ({ uri: pathToFileURL(l.file).href, range: lineRange(l.line, 0, 0) });

/** Where the option under the cursor is defined (every `config` entry of it). */
export function definitionsAt(doc: TextDocument, position: Position, s: Snapshot): LspLocation[] | null {
  const name = wordAt(doc, position);
  return s.workspace && name ? s.workspace.definitions(name).map(toLsp) : null;
}

/** The Kconfig lines across the tree that use the option under the cursor. */
export function referencesAt(doc: TextDocument, position: Position, includeDeclaration: boolean, s: Snapshot): LspLocation[] | null {
  const name = wordAt(doc, position);
  if (!s.workspace || !name || !s.workspace.kc.symbol(name)) return null;
  return s.workspace.references(name, includeDeclaration).map(toLsp);
}
