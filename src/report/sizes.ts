import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readSectionSizes } from '../build/elf.js';
import { ReportError } from './errors.js';
import { parseNmArchives, parseNmSizes, runNm, type ObjectSymbol, type SizedSymbol, type SymbolKind } from './symbols.js';

/**
 * vmlinux's size by kernel subsystem: each sized symbol of vmlinux is put in the source folder
 * of the object that defines it (from the build folder's archives), folders grouped two levels
 * deep (`net/ipv4`, `drivers/tty`, `arch/x86/kernel`).
 */

const BytesByKind = z.object({ code: z.number().int(), rodata: z.number().int(), data: z.number().int(), bss: z.number().int() });

export const SizeGroupSchema = z.object({
  /** the subsystem: `kernel`, `net`, `arch/x86`; `other` for what no object claims */
  top: z.string(),
  /** the folder two levels deep (`net/ipv4`), or `top` itself for files directly in it */
  dir: z.string(),
  bytes: z.number().int(),
  byKind: BytesByKind,
  symbols: z.number().int(),
  /** the biggest symbols, biggest first */
  largest: z.array(z.object({ name: z.string(), bytes: z.number().int() })),
});
export type SizeGroup = z.infer<typeof SizeGroupSchema>;

export const KernelSizesSchema = z.object({
  buildDir: z.string(),
  /** what `size vmlinux` says */
  sections: z.object({ text: z.number().int(), data: z.number().int(), bss: z.number().int() }),
  /** bytes of vmlinux's sized symbols: what the groups share out */
  symbolBytes: z.number().int(),
  /** the part of symbolBytes whose symbols several folders define (static inlines): put in their common folder */
  sharedBytes: z.number().int(),
  groups: z.array(SizeGroupSchema),
  /** the config's `=y` lines, and the bzImage when it was built */
  enabledOptions: z.number().int().nullable(),
  bzImageBytes: z.number().int().nullable(),
});
export type KernelSizes = z.infer<typeof KernelSizesSchema>;

/** the archives kbuild links vmlinux from (6.1: vmlinux.a whole, the two lib.a as needed) */
const ARCHIVES = ['vmlinux.a', 'lib/lib.a', 'arch/x86/lib/lib.a'];
const LARGEST = 5;

/** `net/ipv4/tcp.o` → top `net`, dir `net/ipv4`; arch folders keep their arch (`arch/x86/kernel`) */
export function folderOf(object: string): { top: string; dir: string } {
  const parts = object.split('/').slice(0, -1);
  const depth = parts[0] === 'arch' ? 2 : 1;
  if (parts.length < depth) return { top: 'other', dir: 'other' };
  const top = parts.slice(0, depth).join('/');
  return { top, dir: parts.slice(0, depth + 1).join('/') };
}

/** the deepest folder all these share: the dir, else the top, else other */
function commonFolder(objects: readonly string[]): { top: string; dir: string } {
  const folders = objects.map(folderOf);
  const first = folders[0] ?? { top: 'other', dir: 'other' };
  if (folders.every((f) => f.dir === first.dir)) return first;
  if (folders.every((f) => f.top === first.top)) return { top: first.top, dir: first.top };
  return { top: 'other', dir: 'other' };
}

interface Attributed {
  symbol: SizedSymbol;
  folder: { top: string; dir: string };
  shared: boolean;
}

/**
 * Where each vmlinux symbol comes from: the one object defining its name; among several, the
 * ones whose copy has its size; still several (a static inline copied into many files): their
 * common folder. No object at all (linker scripts, kallsyms): `other`.
 */
export function attributeSymbols(vmlinux: readonly SizedSymbol[], objects: readonly ObjectSymbol[]): Attributed[] {
  const byName = new Map<string, ObjectSymbol[]>();
  for (const o of objects) {
    const list = byName.get(o.name);
    if (list) list.push(o);
    else byName.set(o.name, [o]);
  }
  return vmlinux.map((symbol) => {
    const defs = byName.get(symbol.name) ?? [];
    const places = new Set(defs.map((d) => d.object));
    if (places.size <= 1) return { symbol, folder: defs[0] ? folderOf(defs[0].object) : { top: 'other', dir: 'other' }, shared: false };
    const sized = new Set(defs.filter((d) => d.bytes === symbol.bytes).map((d) => d.object));
    const candidates = sized.size > 0 ? [...sized] : [...places];
    return { symbol, folder: commonFolder(candidates), shared: candidates.length > 1 };
  });
}

function emptyKinds(): Record<SymbolKind, number> {
  return { code: 0, rodata: 0, data: 0, bss: 0 };
}

/** attributed symbols → one group per folder, biggest first */
export function groupSizes(attributed: readonly Attributed[]): SizeGroup[] {
  const groups = new Map<string, { top: string; dir: string; byKind: Record<SymbolKind, number>; symbols: SizedSymbol[] }>();
  for (const a of attributed) {
    const g = groups.get(a.folder.dir) ?? { ...a.folder, byKind: emptyKinds(), symbols: [] };
    g.byKind[a.symbol.kind] += a.symbol.bytes;
    g.symbols.push(a.symbol);
    groups.set(a.folder.dir, g);
  }
  return [...groups.values()]
    .map((g) => ({
      top: g.top,
      dir: g.dir,
      bytes: g.byKind.code + g.byKind.rodata + g.byKind.data + g.byKind.bss,
      byKind: g.byKind,
      symbols: g.symbols.length,
      largest: [...g.symbols].sort((a, b) => b.bytes - a.bytes).slice(0, LARGEST).map((s) => ({ name: s.name, bytes: s.bytes })),
    }))
    .sort((a, b) => b.bytes - a.bytes || a.dir.localeCompare(b.dir));
}

function enabledOptionsOf(buildDir: string): number | null {
  const config = join(buildDir, '.config');
  if (!existsSync(config)) return null;
  return [...readFileSync(config, 'utf8').matchAll(/^CONFIG_\w+=y$/gm)].length;
}

function bzImageBytesOf(buildDir: string): number | null {
  const image = join(buildDir, 'arch', 'x86', 'boot', 'bzImage');
  return existsSync(image) ? statSync(image).size : null;
}

/** The size map of a finished kernel build folder (make O=), read with nm. */
export async function collectKernelSizes(buildDir: string): Promise<KernelSizes> {
  const vmlinux = join(buildDir, 'vmlinux');
  if (!existsSync(vmlinux)) throw new ReportError('bad-input', `${buildDir}: no vmlinux (not a finished kernel build folder)`);
  const archives = ARCHIVES.filter((a) => existsSync(join(buildDir, a)));
  if (!archives.includes('vmlinux.a')) throw new ReportError('bad-input', `${buildDir}: no vmlinux.a (a kernel older than 6.1, or not a build folder): the symbols cannot be put in folders`);
  const [own, objects] = await Promise.all([runNm(['-S', '--defined-only', 'vmlinux'], buildDir), runNm(['-A', '-S', '--defined-only', ...archives], buildDir)]);
  const attributed = attributeSymbols(parseNmSizes(own), parseNmArchives(objects));
  const sections = readSectionSizes(vmlinux);
  return {
    buildDir,
    sections: { text: sections.text, data: sections.data, bss: sections.bss },
    symbolBytes: attributed.reduce((n, a) => n + a.symbol.bytes, 0),
    sharedBytes: attributed.filter((a) => a.shared).reduce((n, a) => n + a.symbol.bytes, 0),
    groups: groupSizes(attributed),
    enabledOptions: enabledOptionsOf(buildDir),
    bzImageBytes: bzImageBytesOf(buildDir),
  };
}
