import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uklConfigSettings } from '../src/build/ukl.js';
import { detectUklSupport, runUklBuildHint } from '../src/kernel/ukl-support.js';
import { archiveObjects, buildUklArchive, defaultRedefinitions, isKernelProvidedSymbol, UklError, type BuildUklArchiveResult } from '../src/lto/ukl-archive.js';
import { relocationTypeName, SHN_UNDEF } from '../src/lto/elf.js';

const ECHO_SOURCE = resolve('examples/echo-server/echo.c');
const MUSL_LIBC = '/usr/lib/x86_64-linux-musl/libc.a';
// the plain tree the test setup resolved
const kernelRoot = process.env.UKL_TRIM_KERNEL;

const scratch = mkdtempSync(join(tmpdir(), 'ukl-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function hasTool(name: string, args: string[]): boolean {
  try {
    execFileSync(name, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveToolchain = hasTool('cc', ['--version']) && hasTool('ld', ['--version']) && hasTool('objcopy', ['--version']);

/** readelf's own view, to cross-check the project's ELF reader */
function readelf(args: string[], path: string): string {
  return execFileSync('readelf', [...args, path], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** the checks every UKL.a must pass, whatever libc went in */
function expectUklArchiveShape(result: BuildUklArchiveResult): void {
  const members = archiveObjects(result.path);
  expect(members).toHaveLength(1);
  const [object] = members;
  if (object === undefined) throw new Error('no member');
  // relocatable ELF: the kernel link places it, so it must not be an executable
  expect(object.type).toBe('REL');
  expect(readelf(['-hW'], result.path)).toMatch(/Type:\s+REL \(Relocatable file\)/);

  const kept = new Set(defaultRedefinitions().values());
  const defined = object.symbols().filter((s) => s.index > 0 && s.bind !== 'LOCAL' && s.sectionIndex !== SHN_UNDEF);
  // every defined global carries the prefix, except names the redefinition list keeps
  const unprefixed = defined.filter((s) => !s.name.startsWith('ukl_') && !kept.has(s.name));
  expect(unprefixed.map((s) => s.name)).toEqual([]);
  expect(defined.length).toBe(result.symbols);
  expect(defined.filter((s) => s.name.startsWith('ukl_')).length).toBe(result.prefixed);
  const names = new Set(defined.map((s) => s.name));
  expect(names.has('ukl_main')).toBe(true);
  expect(names.has('ukl__start')).toBe(true); // where UKL's kernel enters the app
  expect(names.has('main')).toBe(false);

  // the undefined symbols reported are exactly those in the object (the reader, then readelf)
  const undefinedStrong = object.symbols().filter((s) => s.index > 0 && s.sectionIndex === SHN_UNDEF && s.bind === 'GLOBAL').map((s) => s.name);
  expect([...new Set(undefinedStrong)].sort()).toEqual(result.undefinedSymbols);
  const readelfUndefined = readelf(['-sW'], result.path)
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[6] === 'UND' && f[4] === 'GLOBAL' && f[7] !== undefined)
    .map((f) => f[7] ?? '');
  expect([...new Set(readelfUndefined)].sort()).toEqual(result.undefinedSymbols);
}

describe.skipIf(!haveToolchain)('UKL.a built for real', () => {
  it('builds a libc-free app (samples/ukl style): only the kernel entry is left undefined', async () => {
    // like the kernel's samples/ukl: _start jumps to main, syscall() calls the kernel entry
    const source = join(scratch, 'bare.c');
    writeFileSync(
      source,
      [
        'long syscall(long number, long a1, long a2, long a3);',
        '__asm__(".globl _start\\n_start: jmp main\\n"',
        '        ".globl syscall\\nsyscall: movq %rdi, %rax\\n movq %rsi, %rdi\\n movq %rdx, %rsi\\n movq %rcx, %rdx\\n"',
        '        " call entry_SYSCALL_64\\n ret\\n");',
        'static const char greeting[] = "hello from UKL\\n";',
        'int main(void) { syscall(1, 1, (long)greeting, sizeof greeting - 1); for (;;) syscall(34, 0, 0, 0); }',
        '',
      ].join('\n'),
    );
    const out = join(scratch, 'bare', 'UKL.a');
    const result = await buildUklArchive({ sources: [source], out, libc: 'none' });
    expectUklArchiveShape(result);
    expect(result.undefinedSymbols).toEqual(['ukl_entry_SYSCALL_64']);
    expect(result.unexpectedUndefined).toEqual([]);
    expect(result.libcUklCapable).toBeNull();
    expect(result.warnings).toEqual([]);
    expect(result.compileFlags).toEqual(expect.arrayContaining(['-mno-red-zone', '-mcmodel=kernel', '-fno-PIC']));
    // kernel code model: sign-extended absolute addresses, PC-relative branches, no GOT
    expect(Object.keys(result.appRelocationTypes).every((t) => ['R_X86_64_32S', 'R_X86_64_PC32', 'R_X86_64_PLT32', 'R_X86_64_64'].includes(t))).toBe(true);
    expect(result.appRelocationTypes.R_X86_64_32S).toBeGreaterThan(0);
    // written atomically: no temp file left beside it
    expect(readdirSync(join(scratch, 'bare'))).toEqual(['UKL.a']);
  });

  it('builds the echo server with glibc the way UKL does, and says an ordinary glibc cannot run in UKL', async () => {
    const out = join(scratch, 'glibc', 'UKL.a');
    const result = await buildUklArchive({ sources: [ECHO_SOURCE], out, libc: 'glibc' });
    expectUklArchiveShape(result);
    console.log(
      `glibc UKL.a: ${result.symbols} defined globals (${result.prefixed} prefixed), undefined ${JSON.stringify(result.undefinedSymbols)}, ` +
        `weak ${result.weakUndefinedSymbols.length}, app relocations ${JSON.stringify(result.appRelocationTypes)}, all ${JSON.stringify(result.relocationTypes)}`,
    );
    // whole-archive libc: thousands of symbols, all prefixed but glibc's own dlfcn entry points,
    // which the redefinition list keeps (UKL stubs them in undefined_sys_hack.c)
    expect(result.symbols).toBeGreaterThan(1000);
    expect(result.prefixed + result.keptNames.length).toBe(result.symbols);
    expect(result.keptNames.every((n) => n.startsWith('__dl'))).toBe(true);
    // the app's own code: no GOT or zero-extended 32-bit relocations, which -mcmodel=kernel forbids
    const appTypes = Object.keys(result.appRelocationTypes);
    expect(appTypes.filter((t) => /GOT|TLSGD|TLSLD|^R_X86_64_32$/.test(t))).toEqual([]);
    expect(appTypes).toContain('R_X86_64_32S');
    // the kernel-provided linker-script symbols got their names back
    expect(result.undefinedSymbols).toEqual(expect.arrayContaining(['__init_array_start', '__init_array_end', '__fini_array_start', '__preinit_array_start']));
    for (const name of result.undefinedSymbols) {
      // only linker-script symbols UKL's vmlinux.lds.S defines, or linker-synthesized names the
      // prefix broke; the latter are reported as unexpected
      expect(isKernelProvidedSymbol(name) || ['ukl__DYNAMIC', 'ukl__GLOBAL_OFFSET_TABLE_', 'ukl___ehdr_start', 'ukl__end'].includes(name), name).toBe(true);
    }
    expect(result.unexpectedUndefined.every((n) => !isKernelProvidedSymbol(n))).toBe(true);
    // Debian's glibc issues `syscall` itself and is PIE-built: both reported, not hidden
    expect(result.libcUklCapable).toBe(false);
    expect(result.warnings.join('\n')).toMatch(/ordinary libc cannot run inside UKL/);
    expect(result.warnings.join('\n')).toMatch(/not kernel-code-model code: .*GOTPCREL/);
    expect(result.unexpectedUndefined).toContain('ukl__GLOBAL_OFFSET_TABLE_');
  });

  it.skipIf(!existsSync(MUSL_LIBC))('builds the echo server with musl', async () => {
    const out = join(scratch, 'musl', 'UKL.a');
    const result = await buildUklArchive({ sources: [ECHO_SOURCE], out, libc: 'musl' });
    expectUklArchiveShape(result);
    console.log(
      `musl UKL.a: ${result.symbols} defined globals, undefined ${JSON.stringify(result.undefinedSymbols)}, ` +
        `app relocations ${JSON.stringify(result.appRelocationTypes)}, all ${JSON.stringify(result.relocationTypes)}`,
    );
    expect(result.prefixed + result.keptNames.length).toBe(result.symbols);
    expect(result.keptNames).toEqual(['__dlsym']); // musl defines it; the redefinition list keeps the name
    expect(result.compileFlags.join(' ')).toMatch(/musl-gcc\.specs/);
    // musl's crt files, not glibc's: no glibc-only symbols came in
    const names = new Set(archiveObjects(out)[0]?.symbols().map((s) => s.name));
    expect(names.has('ukl___libc_start_main')).toBe(true);
    expect(names.has('ukl___libc_start_call_main')).toBe(false); // glibc 2.34+ internal
    expect(result.libcUklCapable).toBe(false);
    for (const name of result.undefinedSymbols) expect(isKernelProvidedSymbol(name) || result.unexpectedUndefined.includes(name)).toBe(true);
  });

  it('checks relocation types with readelf too (no GOT relocations in the app objects)', () => {
    const object = join(scratch, 'echo.o');
    execFileSync('cc', ['-O2', '-mno-red-zone', '-mcmodel=kernel', '-fno-PIC', '-fno-PIE', '-c', ECHO_SOURCE, '-o', object]);
    const types = new Set(
      readelf(['-rW'], object)
        .split('\n')
        .map((l) => /\b(R_X86_64_\w+)/.exec(l)?.[1])
        .filter((t): t is string => t !== undefined),
    );
    expect([...types].filter((t) => /GOT/.test(t))).toEqual([]);
    expect(types.has('R_X86_64_32')).toBe(false);
    expect(relocationTypeName(11)).toBe('R_X86_64_32S');
  });

  it('fails with compile-failed and the first compiler error line on a C syntax error', async () => {
    const source = join(scratch, 'broken.c');
    writeFileSync(source, 'int main(void)\n{\n\treturn 0\n}\n');
    const failure = await buildUklArchive({ sources: [source], out: join(scratch, 'broken', 'UKL.a') }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UklError);
    const error = failure as UklError;
    expect(error.code).toBe('compile-failed');
    expect(error.message).toMatch(/^UKL\.a: compiling .*broken\.c failed: .*broken\.c:3:\d+: error: expected ';'/);
    expect(error.message).not.toMatch(/\n/);
    expect(existsSync(join(scratch, 'broken', 'UKL.a'))).toBe(false);
  });

  it('fails with compile-failed for a missing source', async () => {
    const failure = await buildUklArchive({ sources: [join(scratch, 'missing.c')], out: join(scratch, 'missing', 'UKL.a') }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UklError);
    expect((failure as UklError).code).toBe('compile-failed');
    expect((failure as UklError).message).toMatch(/missing\.c.*No such file or directory/);
  });

  it('rejects an object that is not kernel-code-model code, naming the relocations', async () => {
    const object = join(scratch, 'pic.o');
    execFileSync('cc', ['-O2', '-fPIC', '-c', ECHO_SOURCE, '-o', object]);
    const failure = await buildUklArchive({ objects: [object], out: join(scratch, 'pic', 'UKL.a') }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UklError);
    expect((failure as UklError).code).toBe('bad-input');
    expect((failure as UklError).message).toMatch(/not kernel-code-model code \(.*GOTPCREL/);
  });

  it('fails with link-failed when a libc-free app has no _start for the kernel to enter', async () => {
    const source = join(scratch, 'nostart.c');
    writeFileSync(source, 'int main(void) { return 0; }\n');
    const failure = await buildUklArchive({ sources: [source], out: join(scratch, 'nostart', 'UKL.a'), libc: 'none' }).catch((e: unknown) => e);
    expect((failure as UklError).code).toBe('link-failed');
    expect((failure as UklError).message).toMatch(/ukl__start/);
  });

  it('reports tool-missing for a compiler that does not exist', async () => {
    const failure = await buildUklArchive({ sources: [ECHO_SOURCE], out: join(scratch, 'nocc', 'UKL.a'), cc: 'no-such-cc-ukl' }).catch((e: unknown) => e);
    expect((failure as UklError).code).toBe('tool-missing');
    expect((failure as UklError).message).toMatch(/no-such-cc-ukl not found/);
  });
});

describe('UKL support in a kernel tree', () => {
  it.skipIf(kernelRoot === undefined)('mainline 6.1 has none', () => {
    expect(detectUklSupport(kernelRoot ?? '')).toEqual({ supported: false });
    expect(runUklBuildHint(kernelRoot ?? '')).toMatch(/has no UKL support \(no kernel\/Kconfig\.ukl \/ UNIKERNEL_LINUX\); use --mode initramfs$/);
  });

  it('a tree with kernel/Kconfig.ukl has it', () => {
    const tree = join(scratch, 'fake-ukl-tree');
    mkdirSync(join(tree, 'kernel'), { recursive: true });
    writeFileSync(join(tree, 'kernel', 'Kconfig.ukl'), 'menuconfig UNIKERNEL_LINUX\n\tbool "Unikernel Linux"\n');
    expect(detectUklSupport(tree)).toEqual({ supported: true, evidence: 'kernel/Kconfig.ukl' });
    expect(detectUklSupport({ root: tree }).supported).toBe(true);
  });

  it('a tree defining UNIKERNEL_LINUX in another Kconfig has it; a mere reference does not count', () => {
    const tree = join(scratch, 'fake-ukl-tree-2');
    mkdirSync(join(tree, 'arch', 'x86'), { recursive: true });
    writeFileSync(join(tree, 'arch', 'x86', 'Kconfig'), 'config FOO\n\tdepends on UNIKERNEL_LINUX\n');
    expect(detectUklSupport(tree)).toEqual({ supported: false });
    writeFileSync(join(tree, 'arch', 'x86', 'Kconfig.ukl-extra'), '  config UNIKERNEL_LINUX\n\tbool "UKL"\n');
    expect(detectUklSupport(tree)).toEqual({ supported: true, evidence: 'arch/x86/Kconfig.ukl-extra defines UNIKERNEL_LINUX' });
    expect(detectUklSupport(join(scratch, 'no-such-tree'))).toEqual({ supported: false });
  });

  it('gives the config UKL needs', () => {
    const settings = uklConfigSettings(join(scratch, 'UKL.a'), '/UKL');
    expect(settings.enable).toEqual({
      UNIKERNEL_LINUX: 'y',
      UKL_TLS: 'y',
      UKL_ARCHIVE_PATH: `"${join(scratch, 'UKL.a')}"`,
      UKL_NAME: '"/UKL"',
      BLK_DEV_INITRD: 'y',
    });
    expect(settings.disable).toEqual(['RANDOMIZE_BASE', 'PAGE_TABLE_ISOLATION', 'X86_KERNEL_IBT']);
    expect(uklConfigSettings('/abs/UKL.a', '/UKL', { tls: false }).disable).toContain('UKL_TLS');
    expect(() => uklConfigSettings('/a b/UKL.a', '/UKL')).toThrow(/UKL_ARCHIVE_PATH/);
    expect(() => uklConfigSettings('/abs/UKL.a', 'UKL')).toThrow(/UKL_NAME/);
  });
});
