import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { MinimizeReport } from '../minimize/report.js';
import { lineRange } from './positions.js';

/**
 * Places the analysis could not resolve (a syscall number or socket family it cannot compute):
 * the trimmed kernel may lack what they need, so the editor says so where the user can act, on
 * the project file and on the app function that holds the place.
 */
export type Unresolved = MinimizeReport['unresolved'][number];

const ACTION = 'the kernel may lack what it needs: name the syscalls in "assumeSyscalls" or the options in "enable" of ukl-trim.json';

function describe(u: Unresolved): string {
  const where = `${u.function ?? 'code'} at 0x${u.address.toString(16)}`;
  return u.kind === 'socket-family' ? `socket family unresolved in ${where}: ${u.reason}` : `syscall unresolved in ${where}: ${u.reason}`;
}

function warning(line: number, message: string): Diagnostic {
  return { range: lineRange(line), severity: DiagnosticSeverity.Warning, source: 'ukl-trim', message };
}

/** one warning per place on the project file's first line */
export function unresolvedOnProject(unresolved: readonly Unresolved[]): Diagnostic[] {
  return unresolved.map((u) => warning(0, `${describe(u)}; ${ACTION}`));
}

/** a warning on the definition line of each app function that holds an unresolved place */
export function unresolvedInSource(source: string, unresolved: readonly Unresolved[]): Diagnostic[] {
  const byFunction = new Map<string, Unresolved[]>();
  for (const u of unresolved) if (u.function !== null) byFunction.set(u.function, [...(byFunction.get(u.function) ?? []), u]);
  const out: Diagnostic[] = [];
  source.split('\n').forEach((text, line) => {
    const name = definedOn(text);
    for (const u of (name && byFunction.get(name)) || []) out.push(warning(line, `${describe(u)}; ${ACTION}`));
  });
  return out;
}

/** the function a C definition line starts (`int main(int argc, …)` / `static void f(void) {`), if any */
function definedOn(text: string): string | undefined {
  const code = text.replace(/\/\/.*$/, '');
  if (code.includes(';') || /^\s/.test(code)) return undefined;
  return /\b([A-Za-z_]\w*)\s*\([^)]*\)?\s*\{?\s*$/.exec(code)?.[1];
}
