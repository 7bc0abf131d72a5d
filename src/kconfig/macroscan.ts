import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { DiagnosticSink } from './errors.js';
import { Lexer, type Token } from './lexer.js';
import { Preprocessor } from './preprocess.js';
import type { ShellProvider } from './shell.js';

/** a `source "file"` line, or a macro assignment (help text can look like one: harmless here) */
const SOURCE_OR_ASSIGNMENT = /^[ \t]*(source[ \t]+"[^"]*"[ \t]*$|[A-Za-z0-9_-]+[ \t]*(:=|\+=|=))/;

/**
 * What the scan needs of a file: all of it when it references a macro; otherwise only its
 * `source` statements and assignments (32 of 1,704 Kconfig files in 6.1 reference one, and
 * lexing the others whole was most of the scan's time).
 */
function macroRelevantLines(text: string): string {
  if (text.includes('$(')) return text;
  return `${text
    .split('\n')
    .filter((line) => SOURCE_OR_ASSIGNMENT.test(line))
    .join('\n')}\n`;
}

/** what `macroScan` reads of each file, reduced once however many scans ask for it */
export function scanTextReader(readFile: (path: string) => string): (path: string) => string {
  const reduced = new Map<string, string>();
  return (path) => {
    let text = reduced.get(path);
    if (text === undefined) reduced.set(path, (text = macroRelevantLines(readFile(path))));
    return text;
  };
}

/**
 * A macro-only pass over a Kconfig tree: it follows `source`, records macro assignments and
 * expands every reference in file order, exactly as the real lexer does, but builds no symbols
 * or menus. Used to discover `$(shell)` probes cheaply before the real parse. Errors end the
 * pass quietly: the real parse reports them.
 */
export function macroScan(
  srctree: string,
  env: Readonly<Record<string, string | undefined>>,
  shell: ShellProvider,
  readScanText: (path: string) => string = scanTextReader((path) => readFileSync(path, 'utf8')),
  top = 'Kconfig',
): void {
  const diag = new DiagnosticSink();
  let lexer: Lexer | null = null;
  const pp = new Preprocessor(env, shell, { file: () => lexer?.currentFile() ?? '', line: () => lexer?.currentLine() ?? 0 }, diag, () => {});
  lexer = new Lexer(
    {
      read(name) {
        return readScanText(isAbsolute(name) ? name : join(srctree, name));
      },
    },
    pp,
    diag,
  );
  try {
    lexer.open(top, null);
    let prev: Token['type'] = 'EOL';
    let pending: Token | null = null;
    const next = (): Token => {
      if (pending) {
        const t = pending;
        pending = null;
        return t;
      }
      return (lexer as Lexer).next();
    };
    for (;;) {
      const t = next();
      if (t.type === 'EOF') break;
      if (t.type === 'SOURCE' && prev === 'EOL') {
        const name = next();
        const end = next();
        if (name.type === 'WORD_QUOTE' && end.type === 'EOL') lexer.open(name.value, { file: name.file, line: name.line });
        prev = 'EOL';
        continue;
      }
      if (t.type === 'HELP' && prev === 'EOL') {
        const end = next();
        if (end.type === 'EOL') lexer.readHelp();
        prev = 'EOL';
        continue;
      }
      if (t.type === 'WORD' && prev === 'EOL') {
        const op = next();
        if (op.type === 'EQUAL' || op.type === 'COLON_EQUAL' || op.type === 'PLUS_EQUAL') {
          let value = '';
          let v = next();
          if (v.type === 'ASSIGN_VAL') {
            value = v.value;
            v = next();
          }
          const flavor = op.type === 'EQUAL' ? '=' : op.type === 'COLON_EQUAL' ? ':=' : '+=';
          const assign = (): void => pp.addVariable(t.value, value, flavor);
          // an immediate assignment keeps its probes' answers for the commands built later
          if (flavor === ':=' && shell.answering) shell.answering(assign);
          else assign();
          prev = 'EOL';
          continue;
        }
        pending = op;
      }
      prev = t.type;
    }
  } catch {
    // speculative: stop here
  }
}
