import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCScanner, guardToString, type CScanner, type CSourceScan, type Guard } from '../src/kernel/csource.js';

let scanner: CScanner;

beforeAll(async () => {
  scanner = await createCScanner();
});

afterAll(() => {
  scanner.dispose();
});

function scan(lines: readonly string[]): CSourceScan {
  return scanner.scan(lines.join('\n') + '\n');
}

const defined = (macro: string): Guard => ({ kind: 'defined', macro });
const not = (operand: Guard): Guard => ({ kind: 'not', operand });
const and = (left: Guard, right: Guard): Guard => ({ kind: 'and', left, right });
const or = (left: Guard, right: Guard): Guard => ({ kind: 'or', left, right });
const config = (name: string, test: 'enabled' | 'builtin' | 'module' | 'reachable' = 'enabled'): Guard => ({ kind: 'config', test, name });

/** Guards of the sites by syscall name (each name once in these snippets). */
function guardsByName(result: CSourceScan): Record<string, Guard | null> {
  return Object.fromEntries(result.sites.map((site) => [site.name, site.guard]));
}

describe('syscall sites and their guards', () => {
  it('gives #elif and #else branches the negation of the earlier branches', () => {
    const result = scan([
      '#ifdef CONFIG_A',
      'SYSCALL_DEFINE1(a_only, int, x)',
      '{',
      '\treturn x;',
      '}',
      '#elif defined(CONFIG_B) && !defined(CONFIG_C)',
      'SYSCALL_DEFINE0(b_not_c)',
      '{',
      '\treturn 0;',
      '}',
      '#else',
      '# ifndef CONFIG_D',
      'SYSCALL_DEFINE2(neither, int, x, long, y)',
      '{',
      '\treturn 0;',
      '}',
      '# endif',
      '#endif',
      'SYSCALL_DEFINE0(always)',
      '{',
      '\treturn 0;',
      '}',
    ]);
    const bNotC = and(defined('CONFIG_B'), not(defined('CONFIG_C')));
    expect(guardsByName(result)).toEqual({
      a_only: defined('CONFIG_A'),
      b_not_c: and(not(defined('CONFIG_A')), bNotC),
      neither: and(and(not(defined('CONFIG_A')), not(bNotC)), not(defined('CONFIG_D'))),
      always: null,
    });
    expect(result.sites.map((site) => site.line)).toEqual([2, 7, 13, 19]);
    expect(guardToString(result.sites[2]?.guard ?? null)).toBe(
      '!defined(CONFIG_A) && !(defined(CONFIG_B) && !defined(CONFIG_C)) && !defined(CONFIG_D)',
    );
  });

  it('maps IS_ENABLED and friends, bare macros, comparisons and leaves the rest verbatim', () => {
    const result = scan([
      '#if IS_ENABLED(CONFIG_NET) && defined CONFIG_INET',
      'SYSCALL_DEFINE0(net_inet) { return 0; }',
      '#endif',
      '#if IS_BUILTIN(CONFIG_X) || IS_MODULE(CONFIG_Y) || IS_REACHABLE(Z_NO_PREFIX)',
      'SYSCALL_DEFINE0(kinds) { return 0; }',
      '#endif',
      '#if !IS_ENABLED(CONFIG_MMU) /* nommu */',
      'SYSCALL_DEFINE0(nommu) { return 0; }',
      '#endif',
      '#if CONFIG_PGTABLE_LEVELS',
      'SYSCALL_DEFINE0(bare) { return 0; }',
      '#endif',
      '#if BITS_PER_LONG == 64 && (LINUX_VERSION_CODE >= KERNEL_VERSION(5, 0, 0))',
      'SYSCALL_DEFINE0(compare) { return 0; }',
      '#endif',
      '#if defined(CONFIG_A) \\',
      '\t|| defined(CONFIG_B)',
      'SYSCALL_DEFINE0(continued) { return 0; }',
      '#endif',
      '#if (HZ + 1) && __has_attribute(__fallthrough__)',
      'SYSCALL_DEFINE0(odd) { return 0; }',
      '#endif',
    ]);
    expect(guardsByName(result)).toEqual({
      net_inet: and(config('NET'), defined('CONFIG_INET')),
      kinds: or(or(config('X', 'builtin'), config('Y', 'module')), config('Z_NO_PREFIX', 'reachable')),
      nommu: not(config('MMU')),
      bare: { kind: 'macro', name: 'CONFIG_PGTABLE_LEVELS' },
      compare: and(
        { kind: 'compare', op: '==', left: 'BITS_PER_LONG', right: '64' },
        { kind: 'compare', op: '>=', left: 'LINUX_VERSION_CODE', right: 'KERNEL_VERSION(5, 0, 0)' },
      ),
      continued: or(defined('CONFIG_A'), defined('CONFIG_B')),
      odd: and({ kind: 'unknown', text: 'HZ + 1' }, { kind: 'unknown', text: '__has_attribute(__fallthrough__)' }),
    });
  });

  it('treats #if 0 as false, drops #if 1, and makes the #else of #if 0 unconditional', () => {
    const result = scan([
      '#if 0',
      'SYSCALL_DEFINE0(dead) { return 0; }',
      '#else',
      'SYSCALL_DEFINE0(live) { return 0; }',
      '#endif',
      '#if 1',
      'SYSCALL_DEFINE0(one) { return 0; }',
      '#endif',
      '#if 0x0UL',
      'SYSCALL_DEFINE0(hex_zero) { return 0; }',
      '#endif',
      '#ifdef CONFIG_A',
      '#if 1',
      'SYSCALL_DEFINE0(a_and_one) { return 0; }',
      '#endif',
      '#endif',
    ]);
    expect(guardsByName(result)).toEqual({
      dead: { kind: 'const', value: false },
      live: null,
      one: null,
      hex_zero: { kind: 'const', value: false },
      a_and_one: defined('CONFIG_A'),
    });
  });

  it('finds sites in code the C grammar trips over, and COMPAT_ sites, but not mentions in comments, strings or macros', () => {
    const result = scan([
      '// SPDX-License-Identifier: GPL-2.0',
      '/* SYSCALL_DEFINE1(in_comment, int, x) is not a site */',
      '#define SYSCALL_DEFINE1(name, ...) SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)',
      '#define SYSCALL_DEFINE_MAXARGS\t6',
      'static const char *s = "SYSCALL_DEFINE2(in_string, int, a)";',
      'static DEFINE_PER_CPU(struct rq, runqueues) __cacheline_aligned;',
      'static int __init foo_init(void) { return 0; }',
      'SYSCALL_DEFINE3(read, unsigned int, fd, char __user *, buf, size_t, count)',
      '{',
      '\treturn ksys_read(fd, buf, count);',
      '}',
      '',
      'SYSCALL_DEFINE0(fork)',
      '{',
      '\treturn kernel_clone(&args);',
      '}',
      '#ifdef CONFIG_COMPAT',
      'COMPAT_SYSCALL_DEFINE3(ioctl, unsigned int, fd, unsigned int, cmd,',
      '\t\t       compat_ulong_t, arg32)',
      '{',
      '\treturn do_vfs_ioctl(fd, cmd, (unsigned long)compat_ptr(arg32));',
      '}',
      '#endif',
      'SYSCALL_DEFINE6(mmap, unsigned long, addr, unsigned long, len,',
      '\t\tunsigned long, prot, unsigned long, flags,',
      '\t\tunsigned long, fd, unsigned long, off)',
      '{',
      '\tif (off & ~PAGE_MASK) return -EINVAL;',
      '\treturn ksys_mmap_pgoff(addr, len, prot, flags, fd, off >> PAGE_SHIFT);',
      '}',
    ]);
    expect(result.sites).toEqual([
      { macro: 'SYSCALL_DEFINE3', name: 'read', compat: false, line: 8, guard: null },
      { macro: 'SYSCALL_DEFINE0', name: 'fork', compat: false, line: 13, guard: null },
      { macro: 'COMPAT_SYSCALL_DEFINE3', name: 'ioctl', compat: true, line: 18, guard: defined('CONFIG_COMPAT') },
      { macro: 'SYSCALL_DEFINE6', name: 'mmap', compat: false, line: 24, guard: null },
    ]);
    expect(result.errors).toBeGreaterThan(0);
  });

  it('falls back to the directive lines where the tree loses the #if nesting', () => {
    // a conditional inside an initialiser and assembler under __ASSEMBLY__: tree-sitter-c can't
    // attach these directives to conditional nodes
    const result = scan([
      'static int table[] = {',
      '#ifdef CONFIG_A',
      '#define IN_TABLE 1',
      '\t1,',
      '#else',
      '\t2,',
      '#endif',
      '};',
      '#ifdef __ASSEMBLY__',
      '\tmovq %rsp, %rdi',
      '\tcall do_it',
      '#else',
      '#ifdef CONFIG_B',
      'SYSCALL_DEFINE0(after_table)',
      '{',
      '\treturn 0;',
      '}',
      '#endif /* CONFIG_B */',
      '#endif',
    ]);
    expect(result.defines).toEqual([{ name: 'IN_TABLE', value: '1', line: 3, guard: defined('CONFIG_A') }]);
    expect(guardsByName(result)).toEqual({ after_table: and(not(defined('__ASSEMBLY__')), defined('CONFIG_B')) });
  });
});

describe('other things the scan collects', () => {
  it('collects COND_SYSCALL and COND_SYSCALL_COMPAT uses, not their definitions', () => {
    const result = scan([
      '#ifndef COND_SYSCALL',
      '#define COND_SYSCALL(name) cond_syscall(sys_##name)',
      '#endif',
      '#ifndef COND_SYSCALL_COMPAT',
      '#define COND_SYSCALL_COMPAT(name) cond_syscall(compat_sys_##name)',
      '#endif',
      '',
      '/* fs/aio.c */',
      'COND_SYSCALL(io_setup);',
      'COND_SYSCALL_COMPAT(io_setup);',
      '/* COND_SYSCALL(commented_out); */',
      '#ifdef CONFIG_X86',
      'COND_SYSCALL(iopl);',
      '#endif',
    ]);
    expect(result.condSyscalls).toEqual([
      { name: 'io_setup', compat: false, line: 9, guard: null },
      { name: 'io_setup', compat: true, line: 10, guard: null },
      { name: 'iopl', compat: false, line: 13, guard: defined('CONFIG_X86') },
    ]);
    expect(result.sites).toEqual([]);
    expect(result.defines).toEqual([]);
  });

  it('lists #include "x.c" with its guard, and no other includes', () => {
    const result = scan([
      '#include <linux/sched.h>',
      '#include "sched.h"',
      '#include "clock.c"',
      '/* #include "commented.c" */',
      '#ifdef CONFIG_MEMBARRIER',
      '# include "membarrier.c"',
      '#endif',
    ]);
    expect(result.includedCFiles).toEqual(['clock.c', 'membarrier.c']);
    expect(result.cIncludes).toEqual([
      { path: 'clock.c', line: 3, guard: null },
      { path: 'membarrier.c', line: 6, guard: defined('CONFIG_MEMBARRIER') },
    ]);
  });

  it('collects object-like #defines with their guard, leaving out the include guard', () => {
    const result = scan([
      '/* SPDX-License-Identifier: GPL-2.0 */',
      '#ifndef _ASM_X86_UNISTD_H',
      '#define _ASM_X86_UNISTD_H',
      '',
      '#ifdef CONFIG_X86_32',
      '# define __ARCH_WANT_STAT64',
      '#else',
      '# define __ARCH_WANT_SYS_CLONE',
      '# define __ARCH_WANT_SYS_TIME 1 /* comment */',
      '#endif',
      '#define MULTI (A | \\',
      '\tB) // trailing',
      '#define FN(x) ((x) + 1)',
      '#define URL "http://example.org" // not part of the value',
      '',
      '#endif /* _ASM_X86_UNISTD_H */',
    ]);
    expect(result.includeGuard).toBe('_ASM_X86_UNISTD_H');
    expect(result.defines).toEqual([
      { name: '_ASM_X86_UNISTD_H', value: '', line: 3, guard: null },
      { name: '__ARCH_WANT_STAT64', value: '', line: 6, guard: defined('CONFIG_X86_32') },
      { name: '__ARCH_WANT_SYS_CLONE', value: '', line: 8, guard: not(defined('CONFIG_X86_32')) },
      { name: '__ARCH_WANT_SYS_TIME', value: '1', line: 9, guard: not(defined('CONFIG_X86_32')) },
      { name: 'MULTI', value: '(A | B)', line: 11, guard: null },
      { name: 'URL', value: '"http://example.org"', line: 14, guard: null },
    ]);
  });

  it('does not take a file-wide #ifndef for an include guard when code sits outside it or it has an #else', () => {
    const outside = scan(['int x;', '#ifndef A', '#define A', '#endif']);
    expect(outside.includeGuard).toBeNull();
    expect(outside.defines).toEqual([{ name: 'A', value: '', line: 3, guard: not(defined('A')) }]);
    const withElse = scan(['#ifndef A', '#define A', '#else', '#define B', '#endif']);
    expect(withElse.includeGuard).toBeNull();
    expect(withElse.defines.map((d) => guardToString(d.guard))).toEqual(['!defined(A)', 'defined(A)']);
    const ifNotDefined = scan(['#if !defined(_H)', '#define _H', '#ifdef C', '#define D 2', '#endif', '#endif']);
    expect(ifNotDefined.includeGuard).toBe('_H');
    expect(ifNotDefined.defines.map((d) => guardToString(d.guard))).toEqual(['1', 'defined(C)']);
  });

  it('skips parsing text with nothing to find', () => {
    const result = scanner.scan('int main(void) { return ((( ; }\n');
    expect(result).toEqual({ sites: [], includedCFiles: [], cIncludes: [], condSyscalls: [], defines: [], includeGuard: null, errors: 0 });
  });

  it('refuses to scan after dispose()', async () => {
    const own = await createCScanner();
    own.dispose();
    own.dispose();
    expect(() => own.scan('SYSCALL_DEFINE0(x) {}')).toThrow(/dispose/);
  });
});

describe('guardToString', () => {
  it('prints C-like text with the parentheses a reader needs', () => {
    expect(guardToString(null)).toBe('1');
    expect(guardToString({ kind: 'const', value: false })).toBe('0');
    expect(guardToString(not(or(defined('A'), config('B'))))).toBe('!(defined(A) || IS_ENABLED(CONFIG_B))');
    expect(guardToString(and(defined('A'), or({ kind: 'macro', name: 'B' }, config('C', 'module'))))).toBe(
      'defined(A) && (B || IS_MODULE(CONFIG_C))',
    );
    expect(guardToString(or(and(defined('A'), config('B', 'builtin')), config('C', 'reachable')))).toBe(
      '(defined(A) && IS_BUILTIN(CONFIG_B)) || IS_REACHABLE(CONFIG_C)',
    );
    expect(guardToString(not({ kind: 'compare', op: '==', left: 'BITS_PER_LONG', right: '64' }))).toBe('!(BITS_PER_LONG == 64)');
    expect(guardToString(not({ kind: 'unknown', text: 'HZ + 1' }))).toBe('!(HZ + 1)');
    expect(guardToString(and({ kind: 'unknown', text: 'X' }, { kind: 'unknown', text: 'Y | Z' }))).toBe('X && (Y | Z)');
  });
});

// The real tree: the suite's global setup puts it in UKL_TRIM_KERNEL.
const kernelRoot = process.env.UKL_TRIM_KERNEL;

describe.skipIf(kernelRoot === undefined && process.env.CI !== 'true')('Linux 6.1 sources', () => {
  function scanKernelFile(path: string): CSourceScan {
    if (kernelRoot === undefined) throw new Error('CI=true but no kernel tree (set UKL_TRIM_KERNEL)');
    return scanner.scan(readFileSync(join(kernelRoot, path), 'utf8'));
  }

  it('kernel/fork.c: clone in every CONFIG_CLONE_BACKWARDS variant, under __ARCH_WANT_SYS_CLONE', () => {
    const clones = scanKernelFile('kernel/fork.c').sites.filter((site) => site.name === 'clone');
    expect(clones.map((site) => `${site.macro}: ${guardToString(site.guard)}`)).toEqual([
      'SYSCALL_DEFINE5: defined(__ARCH_WANT_SYS_CLONE) && defined(CONFIG_CLONE_BACKWARDS)',
      'SYSCALL_DEFINE5: defined(__ARCH_WANT_SYS_CLONE) && !defined(CONFIG_CLONE_BACKWARDS) && defined(CONFIG_CLONE_BACKWARDS2)',
      'SYSCALL_DEFINE6: defined(__ARCH_WANT_SYS_CLONE) && !defined(CONFIG_CLONE_BACKWARDS) && !defined(CONFIG_CLONE_BACKWARDS2) && defined(CONFIG_CLONE_BACKWARDS3)',
      'SYSCALL_DEFINE5: defined(__ARCH_WANT_SYS_CLONE) && !defined(CONFIG_CLONE_BACKWARDS) && !defined(CONFIG_CLONE_BACKWARDS2) && !defined(CONFIG_CLONE_BACKWARDS3)',
    ]);
  });

  it('mm/fadvise.c and fs/eventpoll.c', () => {
    const fadvise = scanKernelFile('mm/fadvise.c').sites.find((site) => site.name === 'fadvise64' && !site.compat);
    expect(fadvise?.guard).toEqual(and(defined('CONFIG_ADVISE_SYSCALLS'), defined('__ARCH_WANT_SYS_FADVISE64')));
    const epoll = scanKernelFile('fs/eventpoll.c').sites;
    expect(epoll).toHaveLength(8);
    expect(epoll.filter((site) => site.compat).map((site) => [site.name, site.guard])).toEqual([
      ['epoll_pwait', defined('CONFIG_COMPAT')],
      ['epoll_pwait2', defined('CONFIG_COMPAT')],
    ]);
    expect(epoll.filter((site) => !site.compat).every((site) => site.guard === null)).toBe(true);
  });

  it('kernel/sys_ni.c, kernel/sched/build_utility.c and arch/x86/include/asm/unistd.h', () => {
    const condSyscalls = scanKernelFile('kernel/sys_ni.c').condSyscalls;
    expect(condSyscalls.filter((entry) => !entry.compat)).toHaveLength(214);
    expect(condSyscalls.filter((entry) => entry.compat)).toHaveLength(45);
    const includes = scanKernelFile('kernel/sched/build_utility.c').cIncludes;
    expect(includes.find((include) => include.path === 'membarrier.c')?.guard).toEqual(defined('CONFIG_MEMBARRIER'));
    const unistd = scanKernelFile('arch/x86/include/asm/unistd.h');
    expect(unistd.includeGuard).toBe('_ASM_X86_UNISTD_H');
    const guardOf = (name: string): Guard | null | undefined => unistd.defines.find((d) => d.name === name)?.guard;
    expect(guardOf('__ARCH_WANT_SYS_CLONE')).toBeNull();
    expect(guardOf('__ARCH_WANT_SYS_TIME')).toEqual(not(defined('CONFIG_X86_32')));
  });
});
