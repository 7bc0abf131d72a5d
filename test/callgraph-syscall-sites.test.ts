import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCode, siteNumbers } from '../src/callgraph/syscall-sites.js';
import type { CodeScan, SyscallSite } from '../src/callgraph/syscall-sites.js';
import { readArchiveFile } from '../src/lto/archive.js';
import { ElfError, parseElf, readElfFile } from '../src/lto/elf.js';

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasMuslGcc = spawnSync('musl-gcc', ['--version']).status === 0;
const hasObjdump = spawnSync('objdump', ['--version']).status === 0;

/** write() and syscall(SYS_getpid): a fixed-number wrapper and the generic one */
const APP = `
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  write(1, "hi\\n", 3);
  return (int)syscall(SYS_getpid);
}
`;

/** the register shapes the tracker must follow, in an object so no libc is involved */
const SHAPES = `
static inline long raw1(long n, long a) {
  long r;
  __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
  return r;
}
long fixed_getpid(void) { return raw1(39, 0); }
long fixed_read(void) { return raw1(0, 0); }
__attribute__((noinline)) long generic(long n, long a) { return raw1(n, a); }
long loaded(const long *p) { return raw1(*p, 0); }
void copied_exit(void) {
  __asm__ volatile ("mov $60, %%edx\\n\\txor %%edi, %%edi\\n\\tmov %%edx, %%eax\\n\\tsyscall" ::: "rax", "rdx", "rdi", "rcx", "r11", "memory");
}
__attribute__((noinline)) static long helper(long x) { return raw1(x, 1); }
long calls_helper(void) { return helper(7) + generic(12, 0); }
extern void external_function(void);
/* shapes only the control-flow graph explains, written out so no compiler choice changes them */
__asm__(
  ".text\\n"
  ".globl looped\\n.type looped,@function\\nlooped:\\n"
  "  mov $60, %edx\\n"
  "1: xor %edi, %edi\\n  mov %edx, %eax\\n  syscall\\n  jmp 1b\\n"
  ".size looped, .-looped\\n"
  ".globl same_on_both_paths\\n.type same_on_both_paths,@function\\nsame_on_both_paths:\\n"
  "  mov $39, %ecx\\n  test %edi, %edi\\n  jz 2f\\n  mov $39, %ecx\\n"
  "2: mov %ecx, %eax\\n  syscall\\n  ret\\n"
  ".size same_on_both_paths, .-same_on_both_paths\\n"
  ".globl differs_by_path\\n.type differs_by_path,@function\\ndiffers_by_path:\\n"
  "  mov $231, %edx\\n  test %edi, %edi\\n  jz 3f\\n  mov $60, %edx\\n"
  "3: mov %edx, %eax\\n  syscall\\n  ret\\n"
  ".size differs_by_path, .-differs_by_path\\n"
  ".globl across_a_call\\n.type across_a_call,@function\\nacross_a_call:\\n"
  "  mov $39, %esi\\n  call external_function\\n  test %eax, %eax\\n  jz 4f\\n  nop\\n"
  "4: mov %esi, %eax\\n  syscall\\n  ret\\n"
  ".size across_a_call, .-across_a_call\\n"
  ".globl parameter_after_check\\n.type parameter_after_check,@function\\nparameter_after_check:\\n"
  "  test %rdi, %rdi\\n  jz 5f\\n  ret\\n"
  "5: mov %rsi, %rax\\n  syscall\\n  ret\\n"
  ".size parameter_after_check, .-parameter_after_check\\n"
  ".globl shared_tail\\n.type shared_tail,@function\\nshared_tail:\\n"
  "  mov $60, %edx\\n  test %edi, %edi\\n  jz .Ljoin\\n  nop\\n"
  ".Ljoin: mov %edx, %eax\\n  syscall\\n  ret\\n"
  ".size shared_tail, .-shared_tail\\n"
  ".globl enters_tail\\n.type enters_tail,@function\\nenters_tail:\\n"
  "  mov $231, %edx\\n  jmp .Ljoin\\n"
  ".size enters_tail, .-enters_tail\\n"
  ".globl partial_byte\\n.type partial_byte,@function\\npartial_byte:\\n"
  "  xor %eax, %eax\\n  mov $56, %al\\n  syscall\\n  ret\\n"
  ".size partial_byte, .-partial_byte\\n"
  ".globl picks_by_cmov\\n.type picks_by_cmov,@function\\npicks_by_cmov:\\n"
  "  mov $19, %eax\\n  xor %edx, %edx\\n  test %edi, %edi\\n  cmove %edx, %eax\\n  syscall\\n  ret\\n"
  ".size picks_by_cmov, .-picks_by_cmov\\n"
  ".globl tested_zero\\n.type tested_zero,@function\\ntested_zero:\\n"
  "  mov (%rdi), %rax\\n  test %rax, %rax\\n  jne 6f\\n  syscall\\n6: ret\\n"
  ".size tested_zero, .-tested_zero\\n"
  ".globl compared_constant\\n.type compared_constant,@function\\ncompared_constant:\\n"
  "  mov (%rdi), %rax\\n  cmp $39, %rax\\n  je 7f\\n  ret\\n7: syscall\\n  ret\\n"
  ".size compared_constant, .-compared_constant\\n");
`;

let dir = '';

function compile(program: string, args: string[]): void {
  execFileSync(program, args, { cwd: dir, stdio: 'pipe' });
}

interface ObjdumpFacts {
  syscalls: number[];
  directCalls: Array<[number, number]>;
}

/** `objdump -d`: addresses of the syscall instructions and (site, target) of every direct call */
function objdumpFacts(path: string): ObjdumpFacts {
  const text = execFileSync('objdump', ['-d', '--no-show-raw-insn', path], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, LC_ALL: 'C' } });
  const facts: ObjdumpFacts = { syscalls: [], directCalls: [] };
  for (const line of text.split('\n')) {
    // prefixes objdump prints as words (`addr32 call`, `bnd jmp`, `notrack call`) are skipped
    const m = /^\s*([0-9a-f]+):\t(?:(?:addr32|bnd|notrack|data16|cs|ds)\s+)*(\S+)\s*(\S*)/.exec(line);
    if (m === null) continue;
    const address = Number.parseInt(m[1] ?? '', 16);
    if (m[2] === 'syscall') facts.syscalls.push(address);
    else if (m[2] === 'call' && /^[0-9a-f]+$/.test(m[3] ?? '')) facts.directCalls.push([address, Number.parseInt(m[3] ?? '', 16)]);
  }
  return facts;
}

function expectMatchesObjdump(scan: CodeScan, path: string): void {
  const facts = objdumpFacts(path);
  expect(scan.sites.length).toBe(facts.syscalls.length);
  expect(scan.sites.map((s) => s.address).sort((a, b) => a - b)).toEqual([...facts.syscalls].sort((a, b) => a - b));
  const ours = scan.edges.filter((e) => e.kind === 'call' && !e.viaRelocation).map((e) => `${e.site.toString(16)}->${(e.toAddress ?? -1).toString(16)}`);
  const theirs = facts.directCalls.map(([site, target]) => `${site.toString(16)}->${target.toString(16)}`);
  expect(ours.sort()).toEqual(theirs.sort());
}

function siteIn(scan: CodeScan, functionName: string): SyscallSite[] {
  const functions = scan.functions.all().filter((f) => f.aliases.includes(functionName));
  return scan.sites.filter((s) => functions.some((f) => f.start === s.functionAddress && f.name === s.function));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ukl-sc-'));
  writeFileSync(join(dir, 'app.c'), APP);
  writeFileSync(join(dir, 'shapes.c'), SHAPES);
  if (!hasGcc) return;
  compile('gcc', ['-O2', '-c', 'app.c', '-o', 'app.o']);
  compile('gcc', ['-O2', '-c', 'shapes.c', '-o', 'shapes.o']);
  compile('gcc', ['-O2', '-static', 'app.c', '-o', 'app_glibc']);
  // the shape of UKL.a: `ld -r` of objects built with one section per function
  compile('gcc', ['-O2', '-ffunction-sections', '-c', 'shapes.c', '-o', 'shapes_fs.o']);
  compile('gcc', ['-O2', '-ffunction-sections', '-c', 'app.c', '-o', 'app_fs.o']);
  compile('ld', ['-r', 'shapes_fs.o', 'app_fs.o', '-o', 'combined.o']);
  if (hasMuslGcc) compile('musl-gcc', ['-O2', '-static', 'app.c', '-o', 'app_musl']);
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasGcc)('syscall numbers recovered from register shapes (relocatable object)', () => {
  it('follows immediates, xor-zeroing, register copies and parameters', () => {
    const scan = scanCode(readElfFile(join(dir, 'shapes.o')));
    const byFunction = (name: string): SyscallSite | undefined => siteIn(scan, name)[0];
    expect(byFunction('fixed_getpid')?.nr).toBe(39);
    expect(byFunction('fixed_read')?.nr).toBe(0);
    expect(byFunction('copied_exit')?.nr).toBe(60);
    const generic = byFunction('generic');
    expect(generic?.nr).toBeNull();
    expect(generic?.numberInParameter).toBe('rdi');
    expect(generic?.reason).toMatch(/arrives from the caller in rdi/);
    const loaded = byFunction('loaded');
    expect(loaded?.nr).toBeNull();
    expect(loaded?.numberInParameter).toBeUndefined();
    expect(loaded?.reason).toMatch(/rax is computed by 'mov rax,\[rdi\]'/);
    // helper is local and called once with 7: gcc may specialise it (helper.constprop.0)
    const seven = scan.sites.filter((s) => s.nr === 7 || ((s.function ?? '').startsWith('helper') && s.numberInParameter === 'rdi'));
    expect(seven.length).toBeGreaterThan(0);
    if (hasObjdump) expect(scan.sites.length).toBe(objdumpFacts(join(dir, 'shapes.o')).syscalls.length);
  });

  it('follows values across joins and loops in the function, and stays sound where it cannot', () => {
    const scan = scanCode(readElfFile(join(dir, 'shapes.o')));
    const only = (name: string): SyscallSite | undefined => {
      const sites = siteIn(scan, name);
      expect(sites, name).toHaveLength(1);
      return sites[0];
    };
    expect(only('looped')?.nr).toBe(60);
    expect(only('same_on_both_paths')?.nr).toBe(39);
    expect(only('partial_byte')?.nr).toBe(56);
    // paths that merge, a conditional move: one of a few numbers, each a syscall the app may make
    expect(only('differs_by_path')).toMatchObject({ nr: null, numbers: [60, 231] });
    expect(only('picks_by_cmov')).toMatchObject({ nr: null, numbers: [0, 19] });
    // the value a branch has just compared is known on the equal side
    expect(only('tested_zero')?.nr).toBe(0);
    expect(only('compared_constant')?.nr).toBe(39);
    expect(only('across_a_call')).toMatchObject({ nr: null, reason: expect.stringMatching(/rsi is clobbered by a call/) });
    expect(only('parameter_after_check')).toMatchObject({ nr: null, numberInParameter: 'rsi' });
    // enters_tail jumps into shared_tail's last block with another number
    expect(only('shared_tail')).toMatchObject({ nr: null, reason: expect.stringMatching(/entered from other code/) });
  });

  it('takes call targets of an object from its relocations, with constant arguments', () => {
    const scan = scanCode(readElfFile(join(dir, 'app.o')));
    expect(scan.sites).toEqual([]);
    const fromMain = scan.edges.filter((e) => e.from === 'main');
    const write = fromMain.find((e) => e.to === 'write');
    expect(write).toMatchObject({ viaRelocation: true, toAddress: null, constantArguments: { rdi: 1, rdx: 3 } });
    // gcc passes syscall()'s number in edi and zeroes eax (no vector registers for the varargs)
    const generic = fromMain.find((e) => e.to === 'syscall');
    expect(generic?.constantArguments).toMatchObject({ rdi: 39, rax: 0 });
  });
});

describe.skipIf(!hasGcc || !hasObjdump)('ld -r output with a section per function', () => {
  it('finds the syscalls objdump shows and resolves calls across sections by relocation', () => {
    const scan = scanCode(readElfFile(join(dir, 'combined.o')));
    expect(scan.sites.length).toBe(objdumpFacts(join(dir, 'combined.o')).syscalls.length);
    expect(new Set(scan.sites.map((s) => s.section)).size).toBeGreaterThan(3);
    const toGeneric = scan.edges.find((e) => e.from === 'calls_helper' && e.to === 'generic');
    expect(toGeneric).toMatchObject({ viaRelocation: true, toSection: '.text.generic', toAddress: 0, targetIsFunctionStart: true, constantArguments: { rdi: 12 } });
    expect(siteIn(scan, 'generic')[0]).toMatchObject({ nr: null, numberInParameter: 'rdi' });
    expect(scan.edges.find((e) => e.from === 'main' && e.to === 'write')?.toAddress).toBeNull();
  });
});

describe.skipIf(!hasGcc || !hasObjdump)('glibc static executable', () => {
  it('finds every syscall instruction and direct call objdump shows', () => {
    expectMatchesObjdump(scanCode(readElfFile(join(dir, 'app_glibc'))), join(dir, 'app_glibc'));
  });

  it("resolves write's number to 1 and leaves syscall()'s to the caller", () => {
    const scan = scanCode(readElfFile(join(dir, 'app_glibc')));
    const writeSites = siteIn(scan, 'write');
    expect(writeSites.length).toBeGreaterThan(0);
    expect(writeSites.every((s) => s.nr === 1)).toBe(true);
    const generic = siteIn(scan, 'syscall');
    expect(generic).toHaveLength(1);
    expect(generic[0]).toMatchObject({ nr: null, numberInParameter: 'rdi' });
    // the number is visible at the caller: edi = 39 (SYS_getpid), eax = 0 is only the vector count
    const call = scan.edges.find((e) => e.from === 'main' && e.to === 'syscall');
    expect(call?.constantArguments).toMatchObject({ rdi: 39 });
    // IFUNC calls (memcpy, strlen…) go through `.plt` stubs no symbol covers
    expect(scan.edges.some((e) => e.toSection === '.plt' && e.to === null)).toBe(true);
    // jumps into `.cold` parts enter the middle of a function
    expect(scan.edges.some((e) => e.kind === 'jump' && !e.targetIsFunctionStart && (e.to ?? '').endsWith('.cold'))).toBe(true);
    // every unresolved site says why
    for (const site of scan.sites) if (site.nr === null) expect(site.reason ?? '').not.toBe('');
    expect(scan.sites.filter((s) => s.nr !== null).length).toBeGreaterThan(scan.sites.length * 0.95);
  });

  // (its speed is measured in `npm run bench`, not asserted here: a kernel build may share the machine)
  it('decodes the whole static executable without one invalid instruction', () => {
    const scan = scanCode(readElfFile(join(dir, 'app_glibc')));
    expect(scan.bytesDecoded).toBeGreaterThan(300_000);
    expect(scan.invalidInstructionCount).toBe(0);
  });
});

describe.skipIf(!hasMuslGcc || !hasObjdump)('musl static executable (musl-gcc)', () => {
  it('finds every syscall instruction and direct call objdump shows', () => {
    expectMatchesObjdump(scanCode(readElfFile(join(dir, 'app_musl'))), join(dir, 'app_musl'));
  });

  it('sees the number 1 passed by write and the generic wrappers take theirs from the caller', () => {
    const scan = scanCode(readElfFile(join(dir, 'app_musl')));
    // musl's write is `syscall_cp(SYS_write, …)`: the number is an argument of __syscall_cp, and the
    // syscall instruction sits in the cancellation wrapper
    const fromWrite = scan.edges.filter((e) => e.from === 'write');
    expect(fromWrite.find((e) => e.to === '__syscall_cp')?.constantArguments).toMatchObject({ rdi: 1 });
    expect(siteIn(scan, 'syscall')).toEqual([expect.objectContaining({ nr: null, numberInParameter: 'rdi' })]);
    const cancellable = [...siteIn(scan, '__syscall_cp_c'), ...siteIn(scan, '__syscall_cp_asm')];
    expect(cancellable.length).toBeGreaterThan(0);
    expect(cancellable.every((s) => s.nr === null && s.numberInParameter !== undefined)).toBe(true);
    expect(scan.edges.find((e) => e.from === 'main' && e.to === 'syscall')?.constantArguments).toMatchObject({ rdi: 39 });
  });
});

/** member → the syscall numbers (or the wrapper's parameter register) its sites must show */
const GLIBC_EXPECTED: Record<string, Array<number | string>> = {
  'write.o': [1, 1],
  'read.o': [0, 0],
  'epoll_wait.o': [232, 232],
  'socket.o': [41],
  '_exit.o': [60, 231],
  'clock_gettime.o': [228],
  'syscall.o': ['rdi'],
};
const MUSL_EXPECTED: Record<string, Array<number | string>> = {
  'getpid.lo': [39],
  'socket.lo': [41, 41, 72, 72],
  '_Exit.lo': [231, 60],
  'syscall_cp.lo': ['rsi'],
  'syscall.lo': ['rdi'],
};
const LIBCS: Array<[string, string | undefined, Record<string, Array<number | string>>]> = [
  ['glibc', ['/usr/lib/x86_64-linux-gnu/libc.a'].find((p) => existsSync(p)), GLIBC_EXPECTED],
  ['musl', ['/usr/lib/musl/lib/libc.a', '/usr/lib/x86_64-linux-musl/libc.a'].find((p) => existsSync(p)), MUSL_EXPECTED],
];

describe.each(LIBCS)('%s libc.a, member by member', (_name, path, expected) => {
  it.skipIf((path === undefined && process.env.CI !== 'true') || !hasObjdump)('has as many syscall sites as objdump shows, nearly all resolved', () => {
    if (path === undefined) throw new Error('libc.a not found');
    let sites = 0;
    let resolved = 0;
    let wrappers = 0;
    const seen: Record<string, Array<number | string>> = {};
    for (const member of readArchiveFile(path).members()) {
      const scan = scanCode(parseElf(member.data, member.name));
      if (member.name in expected) seen[member.name] = scan.sites.map((s) => s.nr ?? s.numberInParameter ?? 'unknown');
      sites += scan.sites.length;
      resolved += scan.sites.filter((s) => s.nr !== null).length;
      wrappers += scan.sites.filter((s) => s.numberInParameter !== undefined).length;
    }
    const text = execFileSync('objdump', ['-d', '--no-show-raw-insn', path], { encoding: 'utf8', maxBuffer: 256 << 20 });
    expect(sites).toBe(text.split('\n').filter((line) => /^\s*[0-9a-f]+:\tsyscall\s*$/.test(line)).length);
    expect(wrappers).toBeGreaterThan(0);
    expect(seen).toEqual(expected);
    // glibc 2.36: 533 of 537, musl 1.2.3: 487 of 504 on this machine
    expect(resolved / sites).toBeGreaterThan(0.95);
  });
});

describe.skipIf(!hasGcc)('corrupt code and tables', () => {
  it('fuzz: bit flips in an object raise only ElfError from the scanner', () => {
    const original = readFileSync(join(dir, 'shapes.o'));
    const elf = readElfFile(join(dir, 'shapes.o'));
    const text = elf.sectionByName('.text');
    const symtab = elf.sections.find((s) => s.type === 2);
    if (text === undefined || symtab === undefined) throw new Error('shapes.o without .text or .symtab');
    const regions: Array<[number, number]> = [
      [text.offset, text.size],
      [symtab.offset, symtab.size],
      [0, original.length],
    ];
    fc.assert(
      fc.property(fc.nat({ max: regions.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }), (region, flips) => {
        const [start, size] = regions[region] ?? [0, original.length];
        const bytes = Buffer.from(original);
        for (const [at, xor] of flips) {
          const position = start + (at % size);
          bytes[position] = (bytes[position] ?? 0) ^ xor;
        }
        try {
          const scan = scanCode(parseElf(bytes, 'fuzz.o'));
          for (const site of scan.sites) expect(siteNumbers(site).length > 0 || (site.reason ?? '') !== '').toBe(true);
        } catch (e) {
          if (!(e instanceof ElfError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});
