import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { cacheHome } from '../util/cache-home.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import { writeFileAtomic } from '../util/fs.js';
import { and, FALSE, not, or, orAll, simplify, sym, TRUE, toKconfig, unknownsOf, type Cond } from './cond.js';
import { createCScanner, type Guard } from './csource.js';
import { KbuildMap } from './kbuild.js';
import { UklTrimError } from '../util/errors.js';

/**
 * The syscall → Kconfig map of a kernel tree, derived from its source: the arch's syscall table,
 * every SYSCALL_DEFINE site with its #if guards, and the Kbuild conditions of the file that holds
 * it. A syscall's condition is the OR over its definition sites of (file built) && (guards).
 */

export type SyscallMapErrorCode = 'unsupported-arch' | 'bad-table' | 'tool-missing';

export class SyscallMapError extends UklTrimError<SyscallMapErrorCode> {
  static readonly codes: readonly SyscallMapErrorCode[] = ['unsupported-arch', 'bad-table', 'tool-missing'];
}

export interface SyscallTableEntry {
  nr: number;
  abi: string;
  name: string;
  /** entry point (`sys_newstat`), null for reserved numbers without one */
  entry: string | null;
}

interface ArchSyscallInfo {
  table: string;
  abis: readonly string[];
  /** prefix of the built syscall wrappers in System.map */
  symbolPrefix: string;
  bits: '32' | '64';
}

const ARCHES: Record<string, ArchSyscallInfo> = {
  x86_64: { table: 'arch/x86/entry/syscalls/syscall_64.tbl', abis: ['common', '64'], symbolPrefix: '__x64_', bits: '64' },
  i386: { table: 'arch/x86/entry/syscalls/syscall_32.tbl', abis: ['i386'], symbolPrefix: '__ia32_', bits: '32' },
};

export function supportedSyscallArches(): string[] {
  return Object.keys(ARCHES);
}

function archInfo(arch: string): ArchSyscallInfo {
  const a = ARCHES[arch === 'x86' ? 'x86_64' : arch];
  if (!a) throw new SyscallMapError('unsupported-arch', `no syscall table support for ARCH=${arch} (supported: ${Object.keys(ARCHES).join(', ')})`);
  return a;
}

/** `nr abi name entry` rows of the arch's .tbl file. */
export function readSyscallTable(tree: string, arch: string): SyscallTableEntry[] {
  const info = archInfo(arch);
  let text: string;
  try {
    text = readFileSync(join(tree, info.table), 'utf8');
  } catch {
    throw new SyscallMapError('bad-table', `${join(tree, info.table)}: cannot read the syscall table (is this a kernel tree?)`);
  }
  const out: SyscallTableEntry[] = [];
  let lineno = 0;
  for (const raw of text.split('\n')) {
    lineno++;
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    if (f.length < 3 || !/^[0-9]+$/.test(f[0] as string)) throw new SyscallMapError('bad-table', `${info.table}:${lineno}: malformed syscall table row`);
    if (!info.abis.includes(f[1] as string)) continue;
    out.push({ nr: Number(f[0]), abi: f[1] as string, name: f[2] as string, entry: f[3] ?? null });
  }
  return out;
}

export const SyscallMapSchema = z.object({
  arch: z.string(),
  kernelVersion: z.string(),
  syscalls: z.array(
    z.object({
      nr: z.number().int().nonnegative(),
      name: z.string(),
      entry: z.string().nullable(),
      /** Kconfig expression; null = always built; "n" = never (no definition in this tree) */
      condition: z.string().nullable(),
      sites: z.array(z.string()),
      enabled: z.boolean().optional(),
      /**
       * when this holds, the entry exists but only as an alias of an -ENOSYS function
       * (kernel/time/posix-stubs.c `SYS_NI()`): a strong symbol in System.map, yet no service
       */
      stubCondition: z.string().optional(),
      notes: z.array(z.string()).optional(),
    }),
  ),
  /** derivation problems: guards or Makefile conditions that could not be interpreted */
  diagnostics: z.array(z.string()),
});
export type SyscallMap = z.infer<typeof SyscallMapSchema>;
export type SyscallInfo = SyscallMap['syscalls'][number];

/**
 * Cases the derivation cannot decide from the source alone, each with its reason. Keyed by
 * entry point; the value replaces the derived condition (a Kconfig expression, or null).
 */
export const SYSCALL_OVERRIDES: Record<string, { condition: string | null; reason: string }> = {};

function listSyscallFiles(tree: string, srcarch: string): string[] {
  // every top-level folder except other architectures and host-side tools
  const skip = new Set(['arch', 'tools', 'Documentation', 'scripts', 'usr', 'LICENSES', 'samples']);
  const roots: string[] = [];
  for (const d of readDirSafe(tree)) {
    if (skip.has(d)) continue;
    try {
      if (statSync(join(tree, d)).isDirectory()) roots.push(d);
    } catch {
      // unreadable entry
    }
  }
  roots.push(join('arch', srcarch));
  const r = spawnSync('grep', ['-rlF', '--include=*.c', '-e', 'SYSCALL_DEFINE', '-e', 'COND_SYSCALL', '-e', 'SYS_NI(', '--', ...roots], {
    cwd: tree,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) throw new SyscallMapError('tool-missing', `grep is needed to index the tree: ${r.error.message}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .filter((f) => !(srcarch === 'x86' && f.startsWith('arch/x86/um/')))
    .sort();
}

function readDirSafe(dir: string): string[] {
  try {
    return (spawnSync('ls', ['-1', dir], { encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function headerDefineFiles(tree: string, srcarch: string): string[] {
  const r = spawnSync('grep', ['-rlE', '--include=*.h', '#[[:space:]]*define[[:space:]]+__ARCH_WANT_', '--', join('arch', srcarch, 'include'), 'include'], {
    cwd: tree,
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  return (r.stdout ?? '').split('\n').filter(Boolean).sort();
}

export interface DeriveOptions {
  tree: string;
  arch: string;
  /** the tree's Kconfig for this arch: gives symbol types (bool vs tristate) */
  kconfig: Kconfig;
  kernelVersion: string;
  /** reuse a cached derivation (default true) */
  cache?: boolean;
}

/** Derive the whole map (cached per tree, arch and scanner version). */
export async function deriveSyscallMap(opts: DeriveOptions): Promise<SyscallMap> {
  const info = archInfo(opts.arch);
  const key = createHash('sha256')
    .update(`v1\0${opts.tree}\0${opts.arch}\0${opts.kernelVersion}\0${statSync(join(opts.tree, info.table)).mtimeMs}`)
    .digest('hex')
    .slice(0, 24);
  const cacheFile = join(cacheHome(), 'syscalls', `${key}.json`);
  if (opts.cache !== false) {
    try {
      return SyscallMapSchema.parse(JSON.parse(readFileSync(cacheFile, 'utf8')));
    } catch {
      // derive anew
    }
  }
  const map = await deriveUncached(opts, info);
  if (opts.cache !== false) writeFileAtomic(cacheFile, JSON.stringify(map));
  return map;
}

async function deriveUncached(opts: DeriveOptions, info: ArchSyscallInfo): Promise<SyscallMap> {
  const { tree, kconfig } = opts;
  const srcarch = opts.arch === 'i386' || opts.arch === 'x86_64' ? 'x86' : opts.arch;
  const table = readSyscallTable(tree, opts.arch);
  const diagnostics: string[] = [];
  const kbuild = new KbuildMap(tree, { vars: { SRCARCH: srcarch, ARCH: opts.arch, BITS: info.bits, UTS_MACHINE: opts.arch } });
  const scanner = await createCScanner();
  const ctxArch = opts.arch;
  const typeOf = (name: string): string | undefined => {
    const s = kconfig.symbol(name);
    return s && s.menus.length > 0 ? s.type : undefined;
  };
  try {
    // macros like __ARCH_WANT_SYS_CLONE come from arch headers, each maybe under a guard
    const archDefines = new Map<string, Cond>();
    for (const f of headerDefineFiles(tree, srcarch)) {
      const scan = scanner.scan(readFileSync(join(tree, f), 'utf8'));
      for (const d of scan.defines) {
        if (!d.name.startsWith('__ARCH_WANT_')) continue;
        archDefines.set(d.name, or(archDefines.get(d.name) ?? FALSE, guardToCond(d.guard, archDefines, typeOf, diagnostics, `${f}:${d.line}`, ctxArch)));
      }
    }

    const sitesByEntry = new Map<string, Array<{ where: string; cond: Cond }>>();
    const stubsByEntry = new Map<string, Cond>();
    const condSyscalls = new Set<string>();
    for (const file of listSyscallFiles(tree, srcarch)) {
      const text = readFileSync(join(tree, file), 'utf8');
      const scan = scanner.scan(text);
      if (file === 'kernel/sys_ni.c') for (const c of scan.condSyscalls) if (!c.compat) condSyscalls.add(c.name);
      const stubNames = [...text.matchAll(/^\s*SYS_NI\((\w+)\)\s*;/gm)].map((m) => m[1] as string);
      if (scan.sites.length === 0 && stubNames.length === 0) continue;
      let fileCond = kbuild.fileCondition(file);
      if (!fileCond) {
        // a C file #included into another one is built with it
        const base = file.slice(file.lastIndexOf('/') + 1);
        const inc: Cond[] = [];
        for (const includer of kbuild.includers(file)) {
          const ic = kbuild.fileCondition(includer);
          if (!ic) continue;
          const s2 = scanner.scan(readFileSync(join(tree, includer), 'utf8'));
          const guards = s2.cIncludes.filter((i) => i.path === base).map((i) => guardToCond(i.guard, archDefines, typeOf, diagnostics, `${includer}:${i.line}`, ctxArch));
          inc.push(and(ic, guards.length ? orAll(guards) : TRUE));
        }
        fileCond = inc.length ? orAll(inc) : null;
      }
      if (!fileCond) {
        diagnostics.push(`${file}: no Makefile builds it (its syscalls count as never built)`);
        fileCond = FALSE;
      }
      for (const name of stubNames) stubsByEntry.set(`sys_${name}`, or(stubsByEntry.get(`sys_${name}`) ?? FALSE, fileCond));
      for (const site of scan.sites) {
        const entry = `${site.compat ? 'compat_sys_' : 'sys_'}${site.name}`;
        const where = `${file}:${site.line}`;
        const cond = and(fileCond, guardToCond(site.guard, archDefines, typeOf, diagnostics, where, ctxArch));
        const list = sitesByEntry.get(entry) ?? [];
        list.push({ where, cond });
        sitesByEntry.set(entry, list);
      }
    }

    const syscalls: SyscallInfo[] = [];
    for (const row of table) {
      if (!row.entry) continue;
      const sites = sitesByEntry.get(row.entry) ?? [];
      const notes: string[] = [];
      let cond: Cond = simplify(sites.length ? orAll(sites.map((s) => s.cond)) : FALSE);
      if (!sites.length) notes.push('no SYSCALL_DEFINE in this tree: always -ENOSYS');
      const unknowns = unknownsOf(cond);
      if (unknowns.length) notes.push(`uninterpreted guard taken as true: ${[...new Set(unknowns)].join('; ')}`);
      let condition: string | null = cond.k === 'true' ? null : toKconfig(cond, typeOf);
      if (condition === 'y') condition = null;
      const override = SYSCALL_OVERRIDES[row.entry];
      if (override) {
        condition = override.condition;
        notes.push(`override: ${override.reason}`);
      }
      const conditional = condition !== null;
      const inNi = condSyscalls.has(row.entry.replace(/^sys_/, ''));
      if (conditional && condition !== 'n' && !inNi) notes.push('conditional here, but kernel/sys_ni.c has no COND_SYSCALL for it');
      if (!conditional && inNi) notes.push('kernel/sys_ni.c has a COND_SYSCALL for it, but every definition here is unconditional');
      const item: SyscallInfo = { nr: row.nr, name: row.name, entry: row.entry, condition, sites: sites.map((s) => s.where) };
      const stub = stubsByEntry.get(row.entry);
      if (stub) item.stubCondition = toKconfig(simplify(stub), typeOf);
      if (notes.length) item.notes = notes;
      syscalls.push(item);
    }
    diagnostics.push(...kbuild.unknownConditions.map((u) => `uninterpreted Makefile condition: ${u}`));
    return { arch: opts.arch, kernelVersion: opts.kernelVersion, syscalls, diagnostics: [...new Set(diagnostics)] };
  } finally {
    scanner.dispose();
  }
}

/** Macros the compiler predefines for the target (true) or for other targets (false). */
function compilerArchMacros(arch: string): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const x of ['__alpha__', '__arm__', '__aarch64__', '__mips__', '__powerpc__', '__powerpc64__', '__PPC64__', '__sparc__', '__s390__', '__s390x__', '__ia64__', '__hppa__', '__riscv', '__m68k__', '__sh__', '__xtensa__', '__loongarch__', '__x86_64__', '__i386__', '__arc__', '__csky__', '__hexagon__', '__microblaze__', '__nios2__', '__or1k__'])
    m.set(x, false);
  if (arch === 'x86_64') m.set('__x86_64__', true);
  if (arch === 'i386') m.set('__i386__', true);
  return m;
}

function guardToCond(g: Guard | null, archDefines: Map<string, Cond>, typeOf: (n: string) => string | undefined, diag: string[], where: string, arch: string): Cond {
  if (!g) return TRUE;
  const configName = (macro: string): string | null => (macro.startsWith('CONFIG_') ? macro.slice(7) : null);
  const go = (x: Guard): Cond => {
    switch (x.kind) {
      case 'const':
        return x.value ? TRUE : FALSE;
      case 'defined': {
        const c = configName(x.macro);
        if (c !== null) {
          if (c.endsWith('_MODULE') && typeOf(c) === undefined && typeOf(c.slice(0, -7)) !== undefined) return sym(c.slice(0, -7), 'm');
          return sym(c, 'y');
        }
        const d = archDefines.get(x.macro);
        if (d) return d;
        if (x.macro.startsWith('__ARCH_WANT_')) return FALSE; // never defined for this arch
        const cm = compilerArchMacros(arch).get(x.macro);
        if (cm !== undefined) return cm ? TRUE : FALSE;
        diag.push(`${where}: guard on non-Kconfig macro ${x.macro} taken as true`);
        return { k: 'unknown', text: `defined(${x.macro})` };
      }
      case 'config':
        return sym(x.name, x.test === 'enabled' ? 'set' : x.test === 'module' ? 'm' : 'y');
      case 'macro': {
        const c = configName(x.name);
        if (c !== null) return sym(c, 'y');
        const d = archDefines.get(x.name);
        if (d) return d;
        diag.push(`${where}: guard on macro ${x.name} taken as true`);
        return { k: 'unknown', text: x.name };
      }
      case 'compare': {
        // BITS_PER_LONG is 64 exactly when CONFIG_64BIT is set
        if (x.left === 'BITS_PER_LONG' && (x.right === '32' || x.right === '64') && (x.op === '==' || x.op === '!=')) {
          const is64 = sym('64BIT', 'y');
          const eq = x.right === '64' ? is64 : not(is64);
          return x.op === '==' ? eq : not(eq);
        }
        const c = configName(x.left);
        if (c !== null && /^-?(0x)?[0-9a-fA-F]+$/.test(x.right)) return { k: 'cmp', op: x.op, left: c, right: x.right };
        diag.push(`${where}: comparison ${x.left} ${x.op} ${x.right} taken as true`);
        return { k: 'unknown', text: `${x.left} ${x.op} ${x.right}` };
      }
      case 'not':
        return not(go(x.operand));
      case 'and':
        return and(go(x.left), go(x.right));
      case 'or':
        return or(go(x.left), go(x.right));
      case 'unknown':
        diag.push(`${where}: guard '${x.text}' taken as true`);
        return { k: 'unknown', text: x.text };
    }
  };
  return go(g);
}

/** Evaluate each syscall's condition under a .config (the Kconfig engine's semantics). */
export function enabledUnder(map: SyscallMap, kconfig: Kconfig, configText: string): SyscallMap {
  kconfig.load(configText);
  const syscalls = map.syscalls.map((s) => {
    let enabled: boolean;
    if (s.condition === null) enabled = true;
    else enabled = kconfig.evaluate(s.condition) !== 0;
    return { ...s, enabled };
  });
  return { ...map, syscalls };
}

/** Whether the entry symbol is strong in the built kernel: implemented, or an -ENOSYS alias. */
export function entrySymbolPresent(kconfig: Kconfig, s: SyscallInfo): boolean {
  if (s.enabled) return true;
  return s.stubCondition !== undefined && kconfig.evaluate(s.stubCondition) !== 0;
}

/** `T __x64_sys_X` (built) vs `W` (weak stub, sys_ni) for every entry, from a System.map. */
export function builtSyscallsFromSystemMap(systemMap: string, arch: string): Map<string, boolean> {
  const { symbolPrefix } = archInfo(arch);
  const out = new Map<string, boolean>();
  for (const line of systemMap.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    const name = f[2] as string;
    if (!name.startsWith(symbolPrefix)) continue;
    const entry = name.slice(symbolPrefix.length);
    const type = f[1] as string;
    const built = type === 'T' || type === 't';
    out.set(entry, (out.get(entry) ?? false) || built);
  }
  return out;
}
