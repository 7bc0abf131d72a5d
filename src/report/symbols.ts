import { runTool } from '../util/tool.js';
import { ReportError } from './errors.js';

/**
 * Sized symbols from `nm -S`: those of vmlinux, and those of the objects it was linked from
 * (with the object each comes from), the raw material of the size map.
 */

/** what a symbol's bytes are, by nm's type letter (the bss takes memory, not file space) */
export type SymbolKind = 'code' | 'rodata' | 'data' | 'bss';

export interface SizedSymbol {
  name: string;
  bytes: number;
  kind: SymbolKind;
}

export interface ObjectSymbol extends SizedSymbol {
  /** the object file, relative to the build folder (`net/ipv4/tcp.o`) */
  object: string;
}

/** nm's letter → kind; absolute, undefined and debugging symbols have no bytes of their own */
function kindOf(letter: string): SymbolKind | null {
  switch (letter.toLowerCase()) {
    case 't':
    case 'w':
    case 'i':
      return 'code';
    case 'r':
      return 'rodata';
    case 'd':
    case 'g':
    case 'v':
      return 'data';
    case 'b':
    case 's':
      return 'bss';
    default:
      return null;
  }
}

/** one `ADDR SIZE TYPE NAME` line (no size: not a sized symbol) */
function sizedFields(fields: readonly string[]): SizedSymbol | null {
  if (fields.length !== 4) return null;
  const [, size, letter, name] = fields as [string, string, string, string];
  const kind = kindOf(letter);
  const bytes = Number.parseInt(size, 16);
  if (kind === null || !(bytes > 0)) return null;
  return { name, bytes, kind };
}

/** `nm -S --defined-only FILE` output → its sized symbols */
export function parseNmSizes(text: string): SizedSymbol[] {
  const out: SizedSymbol[] = [];
  for (const line of text.split('\n')) {
    const s = sizedFields(line.trim().split(/\s+/));
    if (s !== null) out.push(s);
  }
  return out;
}

/** `nm -A -S --defined-only ARCHIVE...` output (`archive:member:ADDR SIZE TYPE NAME`) → symbols with their object */
export function parseNmArchives(text: string): ObjectSymbol[] {
  const out: ObjectSymbol[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const first = fields[0] ?? '';
    const lastColon = first.lastIndexOf(':');
    const firstColon = first.indexOf(':');
    // a member line has two colons: archive and member; `archive:` alone is a heading
    if (firstColon < 0 || lastColon === firstColon) continue;
    const s = sizedFields([first.slice(lastColon + 1), ...fields.slice(1)]);
    if (s !== null) out.push({ ...s, object: first.slice(firstColon + 1, lastColon) });
  }
  return out;
}

/** nm with an argument array in `cwd`; a missing nm or one that fails is a ReportError */
export async function runNm(args: readonly string[], cwd: string): Promise<string> {
  let r;
  try {
    r = await runTool('nm', args, { cwd });
  } catch (e) {
    throw new ReportError('tool-missing', `nm could not be started (${(e as Error).message}): install binutils`);
  }
  if (r.code !== 0) throw new ReportError('tool-failed', `nm ${args.join(' ')} in ${cwd} failed: ${r.stderr.split('\n')[0] ?? ''}`);
  return r.stdout;
}
