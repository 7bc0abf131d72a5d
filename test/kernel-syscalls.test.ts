import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKconfig, type LoadedKconfig } from '../src/kconfig/load.js';
import { parseMakefile } from '../src/kernel/kbuild.js';
import { simplify, sym, or, not, and, toKconfig } from '../src/kernel/cond.js';
import { deriveSyscallMap, enabledUnder, entrySymbolPresent, readSyscallTable, SyscallMapError, SyscallMapSchema, type SyscallMap } from '../src/kernel/syscalls.js';

const tree = resolve('fixtures/kernel-mini');

describe('syscall map of a small tree written for the purpose', () => {
  let loaded: LoadedKconfig;
  let map: SyscallMap;
  beforeAll(async () => {
    loaded = loadKconfig({ tree, arch: 'x86_64', probes: { mode: 'exec', cacheDir: mkdtempSync(join(tmpdir(), 'ukl-sc-')) } });
    map = await deriveSyscallMap({ tree, arch: 'x86_64', kconfig: loaded.kconfig, kernelVersion: loaded.kbuild.kernelVersion, cache: false });
  }, 60_000);

  const cond = (name: string): string | null | undefined => map.syscalls.find((s) => s.name === name)?.condition;

  it('reads the table: common and 64 rows with an entry point, x32 rows left out', () => {
    const t = readSyscallTable(tree, 'x86_64');
    expect(t.map((r) => r.name)).not.toContain('x32_only');
    expect(t.find((r) => r.name === 'reserved')?.entry).toBeNull();
    expect(map.syscalls.map((s) => s.name)).not.toContain('reserved');
    expect(() => SyscallMapSchema.parse(map)).not.toThrow();
  });

  it('derives conditions from Makefiles (obj-$(CONFIG_X), sub-directories, ifeq, := variables, composites)', () => {
    expect(cond('read')).toBeNull();
    expect(cond('epoll_wait')).toBe('EPOLL');
    expect(cond('inotify_init')).toBe('FSNOTIFY && INOTIFY_USER');
    expect(cond('mprotect')).toBe('MMU');
    expect(cond('nommu_only')).toBe('!MMU');
    expect(cond('socket')).toBe('NET');
    expect(cond('msgget')).toBe('SYSVIPC');
  });

  it('derives conditions from #if guards, arch header macros and includes', () => {
    // the CONFIG_CLONE_BACKWARDS* branches together cover every case
    expect(cond('clone')).toBeNull();
    // __ARCH_WANT_SYS_FADVISE64 is only defined for X86_32
    expect(cond('fadvise64')).toBe('MMU && X86_32');
    // IS_BUILTIN on a tristate, and a compiler macro of another architecture
    expect(cond('procthing')).toBe('PROC_FS = y');
    // membarrier.c is #included by build_utility.c under #ifdef CONFIG_MEMBARRIER
    expect(cond('membarrier')).toBe('MEMBARRIER');
  });

  it('knows entries without a definition and ENOSYS aliases', () => {
    const d = map.syscalls.find((s) => s.name === 'lookup_dcookie');
    expect(d?.condition).toBe('n');
    expect(d?.notes?.[0]).toMatch(/no SYSCALL_DEFINE/);
    const t = map.syscalls.find((s) => s.name === 'timer_create');
    expect(t?.condition).toBe('POSIX_TIMERS');
    expect(t?.stubCondition).toBe('!POSIX_TIMERS');
    expect(t?.sites).toEqual(['kernel/time/posix-timers.c:1']);
  });

  it('evaluates the conditions under a .config with the Kconfig engine', () => {
    const m = enabledUnder(map, loaded.kconfig, 'CONFIG_EPOLL=y\n# CONFIG_MMU is not set\nCONFIG_PROC_FS=y\n');
    const on = (n: string): boolean | undefined => m.syscalls.find((s) => s.name === n)?.enabled;
    expect(on('read')).toBe(true);
    expect(on('epoll_wait')).toBe(true);
    expect(on('mprotect')).toBe(false);
    expect(on('nommu_only')).toBe(true);
    expect(on('socket')).toBe(false);
    expect(on('procthing')).toBe(true);
    expect(on('timer_create')).toBe(false);
    expect(entrySymbolPresent(loaded.kconfig, m.syscalls.find((s) => s.name === 'timer_create')!)).toBe(true);
  });

  it('reports a tree without a syscall table, and unsupported arches', () => {
    expect(() => readSyscallTable(tmpdir(), 'x86_64')).toThrow(SyscallMapError);
    expect(() => readSyscallTable(tree, 'arm64')).toThrow(/no syscall table support/);
  });
});

describe('Makefile evaluation', () => {
  const ctx = { vars: { SRCARCH: 'x86', BITS: '64' } };
  const words = (text: string, v = 'obj-y'): Record<string, string> => {
    const m = parseMakefile('Makefile', text, ctx);
    const out: Record<string, string> = {};
    for (const e of m.vars.get(v) ?? []) out[e.word] = toKconfig(simplify(e.cond), () => 'bool');
    return out;
  };

  it('handles make variables, ifdef/else, recipes and continuation lines', () => {
    const w = words(
      [
        'obj-y += process_$(BITS).o',
        'ifdef CONFIG_A',
        '\tobj-y += a.o',
        'else',
        'obj-y += not_a.o',
        'endif',
        'obj-$(CONFIG_B) += b1.o \\',
        '\tb2.o',
        'obj-$(subst m,y,$(CONFIG_C)) += c/',
        'target: dep',
        '\tobj-y += recipe_line.o',
      ].join('\n'),
    );
    expect(w).toEqual({ 'process_64.o': 'y', 'a.o': 'A', 'not_a.o': '!A', 'b1.o': 'B', 'b2.o': 'B', 'c/': 'C' });
  });

  it('models := replacing a variable under a condition, += appending, and nested ifeq/else ifeq', () => {
    const w = words(['x-y := one.o', 'x-$(CONFIG_M) := two.o', 'x-$(CONFIG_M) += three.o', 'obj-y += $(x-y)', 'ifeq ($(CONFIG_P),y)', 'obj-y += p.o', 'else ifeq ($(CONFIG_Q),y)', 'obj-y += q.o', 'endif'].join('\n'));
    expect(w['one.o']).toBe('!M');
    expect(w['two.o']).toBe('M');
    expect(w['three.o']).toBe('M');
    expect(w['p.o']).toBe('P');
    expect(w['q.o']).toBe('!P && Q');
  });

  it('simplifies tautologies and contradictions only', () => {
    const a = sym('A');
    const b = sym('B');
    expect(simplify(or(a, and(not(a), or(b, not(b)))))).toEqual({ k: 'true' });
    expect(simplify(and(a, not(a)))).toEqual({ k: 'false' });
    expect(simplify(or(a, b))).toEqual(or(a, b));
  });
});
