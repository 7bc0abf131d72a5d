import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeApplication, AnalysisError, AnalysisReportSchema, analyzeStaticExecutable, loadSyscallNames } from '../src/callgraph/analyze.js';
import type { AnalysisReport } from '../src/callgraph/analyze.js';
import { CallGraph, Reachability } from '../src/callgraph/graph.js';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/common.js';
import { buildUklArchive } from '../src/lto/ukl-archive.js';
import { analyzeUklApplication } from '../src/callgraph/ukl-app.js';
import { observeEchoServer, observeRun } from '../src/callgraph/observe.js';
import { ElfError } from '../src/lto/elf.js';
import { libraryAndPrograms } from './helpers/shared-library.js';
import { sharedObjectsOf } from '../src/lto/shared-objects.js';

/**
 * Soundness against reality: each fixture app is linked statically (glibc, and musl when
 * musl-gcc is there), analysed, and run under strace; every syscall strace sees must be in the
 * analysis. Precision (analysis / observed) is printed, not asserted: see issue 4's bench target.
 */

const ROOT = resolve(import.meta.dirname, '..');
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasMuslGcc = spawnSync('musl-gcc', ['--version']).status === 0;
const hasStrace = spawnSync('strace', ['-V']).status === 0;

const APPS: Record<string, string> = {
  'epoll-echo': join(ROOT, 'examples/echo-server/echo.c'),
  'timerfd-eventfd-signalfd': join(ROOT, 'fixtures/apps/timerfd-eventfd-signalfd.c'),
  'unix-socket': join(ROOT, 'fixtures/apps/unix-socket.c'),
  threads: join(ROOT, 'fixtures/apps/threads.c'),
};
const LIBCS = [{ libc: 'glibc', compiler: 'gcc', available: hasGcc }, { libc: 'musl', compiler: 'musl-gcc', available: hasMuslGcc }];

let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ukl-trim-analyze-'));
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function build(app: string, libc: string, compiler: string): string {
  const output = join(dir, `${app}-${libc}`);
  const source = APPS[app] ?? '';
  const result = spawnSync(compiler, ['-static', '-O2', '-pthread', '-o', output, source], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${compiler} ${source}: ${result.stderr}`);
  return output;
}

function straceRun(program: string): Set<string> {
  return observeRun(program);
}

/** the echo server under strace: one client connects, sends a line, reads it back, leaves */
function straceEchoServer(program: string): Promise<Set<string>> {
  return observeEchoServer(program, 40000 + (process.pid % 20000));
}

describe('analyzeStaticExecutable against strace', () => {
  for (const { libc, compiler, available } of LIBCS) {
    for (const app of Object.keys(APPS)) {
      it.skipIf(!available || !hasStrace)(`${app} (${libc} static): every syscall strace sees is found`, async () => {
        const program = build(app, libc, compiler);
        const started = process.cpuUsage();
        const report = analyzeStaticExecutable(program);
        const used = process.cpuUsage(started);
        AnalysisReportSchema.parse(report);
        const observed = app === 'epoll-echo' ? await straceEchoServer(program) : straceRun(program);
        const found = new Set(report.syscalls.map((s) => s.name));
        const missed = [...observed].filter((name) => !found.has(name));
        console.log(
          `${app} (${libc}): analysis ${found.size} syscalls, strace ${observed.size}, precision ${(found.size / observed.size).toFixed(2)}x, ` +
            `${report.unresolved.length} unresolved, ${report.stats.reachableFunctions}/${report.stats.functions} functions reachable, ` +
            `${((used.user + used.system) / 1000).toFixed(0)} ms CPU${missed.length > 0 ? `; MISSED ${missed.join(' ')}` : ''}`,
        );
        expect(missed).toEqual([]);
        for (const syscall of report.syscalls) {
          expect(syscall.path.length).toBeGreaterThan(0);
          expect(report.roots.includes(syscall.path[0] ?? '') || syscall.path[0]?.startsWith('<code at')).toBe(true);
        }
        for (const file of report.pseudoFiles) expect(file).toMatch(/^\/(proc|sys|dev)\/[\x21-\x7e]*$/);
        if (app === 'epoll-echo') expect(report.socketFamilies).toContain('AF_INET');
        if (app === 'unix-socket') expect(report.socketFamilies).toContain('AF_UNIX');
      }, 60_000);
    }
  }
});

describe('stripped executables: function boundaries without symbols', () => {
  for (const { libc, compiler, available } of LIBCS) {
    for (const app of Object.keys(APPS)) {
      it.skipIf(!available)(`${app} (${libc} static, stripped): the syscalls, families and pseudo-files of the unstripped binary, no more unresolved sites`, () => {
        const program = build(app, libc, compiler);
        const stripped = `${program}-stripped`;
        const strip = spawnSync('strip', ['-o', stripped, program], { encoding: 'utf8' });
        expect(strip.status, strip.stderr).toBe(0);
        const full = analyzeStaticExecutable(program);
        const bare = analyzeStaticExecutable(stripped);
        const names = (r: typeof full): string[] => r.syscalls.map((x) => x.name).sort();
        // never fewer; a few more where a function nothing calls joins the one before it (musl
        // links timerfd_gettime beside timerfd_settime)
        expect(names(bare)).toEqual(expect.arrayContaining(names(full)));
        expect(bare.syscalls.length - full.syscalls.length).toBeLessThanOrEqual(2);
        expect(bare.socketFamilies).toEqual(full.socketFamilies);
        expect(bare.pseudoFiles).toEqual(full.pseudoFiles);
        expect(bare.unresolved.length).toBeLessThanOrEqual(full.unresolved.length);
        // witness paths name the functions by address
        expect(bare.syscalls.flatMap((x) => x.path).some((step) => /^<fn at 0x[0-9a-f]+>$/.test(step))).toBe(true);
        console.log(`${app} (${libc}) stripped: ${bare.syscalls.length} syscalls (unstripped ${full.syscalls.length}), ${bare.stats.functions} functions found without symbols (${full.stats.functions} with)`);
      }, 60_000);
    }
  }
});

const hasClang = spawnSync('clang', ['--version']).status === 0;
const FORMS: Array<{ form: string; compiler: string; flags: string[]; available: boolean }> = [
  { form: 'object', compiler: 'gcc', flags: ['-O2', '-c'], available: hasGcc },
  { form: 'slim GCC LTO', compiler: 'gcc', flags: ['-O2', '-flto', '-c'], available: hasGcc },
  { form: 'fat GCC LTO', compiler: 'gcc', flags: ['-O2', '-flto', '-ffat-lto-objects', '-c'], available: hasGcc },
  { form: 'clang LTO bitcode', compiler: 'clang', flags: ['-O2', '-flto', '-c'], available: hasClang },
];

describe('objects, LTO objects and bitcode: linked with the libc, then analysed (against strace)', () => {
  for (const { form, compiler, flags, available } of FORMS) {
    for (const libc of ['glibc', 'musl']) {
      for (const app of Object.keys(APPS)) {
        it.skipIf(!available || !hasStrace || (libc === 'musl' && !hasMuslGcc))(`${app}, ${form}, ${libc}`, async () => {
          const object = join(dir, `${app}-${form.replace(/\W+/g, '-')}-${libc}.o`);
          // musl objects are compiled against musl's headers (the specs file musl-gcc uses)
          const muslSpecs = libc === 'musl' && compiler === 'gcc' ? ['-specs', '/usr/lib/x86_64-linux-musl/musl-gcc.specs'] : [];
          const muslClang = libc === 'musl' && compiler === 'clang' ? ['-nostdinc', '-isystem', '/usr/include/x86_64-linux-musl'] : [];
          const cc = spawnSync(compiler, [...muslSpecs, ...muslClang, ...flags, '-pthread', '-o', object, APPS[app] ?? ''], { encoding: 'utf8' });
          expect(cc.status, cc.stderr).toBe(0);
          const report = analyzeApplication([object], { libc });
          AnalysisReportSchema.parse(report);
          expect(report.linkedExecutable).not.toBe(object);
          const observed = app === 'epoll-echo' ? await straceEchoServer(report.linkedExecutable) : straceRun(report.linkedExecutable);
          const found = new Set(report.syscalls.map((s) => s.name));
          const missed = [...observed].filter((name) => !found.has(name));
          expect(missed).toEqual([]);
          if (app === 'epoll-echo') expect(found.has('epoll_wait') || found.has('epoll_pwait')).toBe(true);
        }, 60_000);
      }
    }
  }
});

describe('wrapper propagation and witness paths', () => {
  it.skipIf(!hasGcc)('syscall(n) with a constant n is resolved through the wrapper; a computed n is listed unresolved', () => {
    const source = join(dir, 'wrappers.c');
    writeFileSync(
      source,
      `#include <unistd.h>
#include <sys/syscall.h>
__attribute__((noinline)) long forward(long n) { return syscall(n, 0, 0); }
int main(int argc, char **argv) {
  (void)argv;
  syscall(SYS_getppid);
  forward(SYS_acct);
  return (int)syscall(argc + 1000);
}
`,
    );
    const program = join(dir, 'wrappers');
    const result = spawnSync('gcc', ['-static', '-O2', '-o', program, source], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const report = analyzeStaticExecutable(program);
    const byName = new Map(report.syscalls.map((s) => [s.name, s]));
    expect(byName.get('getppid')?.path.slice(-2)).toEqual(['main', 'syscall']);
    expect(byName.get('acct')?.path.slice(-3)).toEqual(['main', 'forward', 'syscall']);
    expect(report.unresolved.some((u) => u.function === 'main' && /computed rdi/.test(u.reason))).toBe(true);
  });

  it.skipIf(!hasGcc)('a call to a function that never returns does not fall through: the number kept in a register across it is recovered', () => {
    const source = join(dir, 'noreturn.s');
    writeFileSync(
      source,
      [
        '\t.text',
        '\t.globl _start',
        '_start:\tmov $3, %edi',
        '\tcall keeps_number',
        '\tmov $3, %edi',
        '\tcall keeps_number_badly',
        '\tjmp never_returns',
        // exit_group and then a loop: no way back to the caller
        '\t.type never_returns,@function',
        'never_returns:\tmov $231, %eax',
        '\txor %edi, %edi',
        '\tsyscall',
        '1:\tjmp 1b',
        '\t.size never_returns, .-never_returns',
        '\t.type may_return,@function',
        'may_return:\tret',
        '\t.size may_return, .-may_return',
        // getppid (110) in r9 across a loop whose error path calls never_returns
        '\t.type keeps_number,@function',
        'keeps_number:\tmov $110, %r9d',
        '2:\tmov %r9d, %eax',
        '\tsyscall',
        '\tcmp $-4095, %rax',
        '\tjb 3f',
        '\tcall never_returns',
        '\tnop',
        '3:\tdec %edi',
        '\tjnz 2b',
        '\tret',
        '\t.size keeps_number, .-keeps_number',
        // the same with a callee that does return: r9 is clobbered on that path, the number unknown
        '\t.type keeps_number_badly,@function',
        'keeps_number_badly:\tmov $39, %r9d',
        '4:\tmov %r9d, %eax',
        '\tsyscall',
        '\tcmp $-4095, %rax',
        '\tjb 5f',
        '\tcall may_return',
        '5:\tdec %edi',
        '\tjnz 4b',
        '\tret',
        '\t.size keeps_number_badly, .-keeps_number_badly',
        '',
      ].join('\n'),
    );
    const program = join(dir, 'noreturn');
    const result = spawnSync('gcc', ['-static', '-nostdlib', '-o', program, source], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const report = analyzeStaticExecutable(program);
    expect(report.syscalls.find((s) => s.name === 'getppid')?.path).toEqual(['_start', 'keeps_number']);
    expect(report.syscalls.some((s) => s.name === 'getpid')).toBe(false);
    expect(report.unresolved).toContainEqual(expect.objectContaining({ function: 'keeps_number_badly', reason: expect.stringMatching(/may be any syscall/) }));
  });

  it('the call graph walks a 200k-function chain without recursion', () => {
    const graph = new CallGraph();
    const count = 200_000;
    for (let i = 0; i + 1 < count; i++) graph.addEdge(`f${i}`, `f${i + 1}`);
    const reach = new Reachability(graph);
    reach.addRoot('f0', 'root');
    reach.run();
    expect(reach.reachedInOrder.length).toBe(count);
    const path = reach.pathTo(`f${count - 1}`);
    expect(path.length).toBe(count);
    expect(path[0]).toBe('f0');
  });

  it('an indirect entry is explained in the witness path', () => {
    const graph = new CallGraph();
    graph.addEdge('main', 'qsort');
    graph.addEdge('compare', 'helper');
    const reach = new Reachability(graph);
    reach.addRoot('main', 'root');
    reach.run();
    reach.addRoot('compare', '<indirect call>', 'qsort');
    reach.run();
    expect(reach.pathTo('helper')).toEqual(['main', 'qsort', '<indirect call>', 'compare', 'helper']);
    expect(reach.isReached('nothing')).toBe(false);
  });
});

describe('syscall names', () => {
  it('come from asm/unistd_64.h, or a typed error when there is none', () => {
    const names = loadSyscallNames({ unistdHeader: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h', kernelTree: '' });
    expect(names.get(0)).toBe('read');
    expect(names.get(232)).toBe('epoll_wait');
    expect(() => loadSyscallNames({ unistdHeader: join(dir, 'missing.h'), kernelTree: '' })).toThrow(AnalysisError);
  });
});

function captureIO(): { io: CliIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l), info: (l) => err.push(l) }, out, err };
}

describe("UKL.a: the app linked into UKL's prefixed archive", () => {
  const source = join(ROOT, 'fixtures/apps/ukl-syscall-forms.c');

  it.skipIf(!hasGcc || !hasStrace)('entry_SYSCALL_64 calls, wrappers of them and bp_ calls are syscalls; sound against strace of the same app', async () => {
    const archive = join(dir, 'ukl', 'UKL.a');
    await buildUklArchive({ sources: [source], cflags: ['-DUKL'], out: archive, libc: 'glibc' });
    const { io, out, err } = captureIO();
    // no --libc: UKL.a carries its own
    expect(await main(['analyze', archive, '--json'], io), err.join('\n')).toBe(0);
    const report = AnalysisReportSchema.parse(JSON.parse(out.join('\n')));
    const byName = new Map(report.syscalls.map((s) => [s.name, s.path]));
    // the app's names without UKL's prefix; the kernel's entry points as the UKL kernel names them
    expect(report.roots).toEqual(expect.arrayContaining(['_start', 'main']));
    expect(byName.get('umask')?.slice(-2)).toEqual(['main', 'ukl_entry_SYSCALL_64']);
    expect(byName.get('getpgid')?.slice(-3)).toEqual(['main', 'wrapped_syscall1', 'ukl_entry_SYSCALL_64']);
    expect(byName.get('getppid')?.slice(-2)).toEqual(['main', 'ukl_bp_getppid']);

    // the same program with `syscall` instructions, run for real: UKL.a's set holds all it does
    const program = join(dir, 'ukl-syscall-forms');
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', program, source], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const observed = straceRun(program);
    for (const name of ['umask', 'getpgid', 'getppid', 'write']) expect(observed.has(name), name).toBe(true);
    expect([...observed].filter((name) => !byName.has(name))).toEqual([]);
  }, 60_000);

  it.skipIf(!hasGcc)('a bypass call naming no syscall is listed as "may be any syscall"', async () => {
    const bogus = join(dir, 'bogus-bp.c');
    writeFileSync(bogus, 'long bp_no_such_syscall(void);\nint main(void) { return (int)bp_no_such_syscall(); }\n');
    const archive = join(dir, 'ukl-bogus', 'UKL.a');
    await buildUklArchive({ sources: [bogus], out: archive, libc: 'glibc' });
    const report = analyzeApplication([archive]);
    expect(report.unresolved).toContainEqual(expect.objectContaining({ function: 'ukl_bp_no_such_syscall', reason: expect.stringMatching(/may be any syscall: bypass call/) }));
    // UKL.a already holds a libc: a second input is refused, not linked twice
    expect(() => analyzeApplication([archive, bogus])).toThrow(/already holds the whole app and its libc/);
  }, 60_000);
});

describe('socket families from the family argument, and thread-local storage', () => {
  it.skipIf(!hasGcc)("a libc-free UKL app: AF_INET found through two wrappers (app_main → open_listener → sys6 → entry_SYSCALL_64), no TLS", async () => {
    const report = await analyzeUklApplication([join(ROOT, 'fixtures/apps/ukl-nolibc/echo.c'), join(ROOT, 'fixtures/apps/ukl-nolibc/sys.S')], { libc: 'none' });
    expect(report.socketFamilies).toEqual(['AF_INET']);
    expect(report.socketFamilyPaths.AF_INET).toEqual(['_start', 'app_main', 'open_listener', 'sys6', 'ukl_entry_SYSCALL_64']);
    expect(report.unknownSocketFamilies).toEqual([]);
    expect(report.tlsBytes).toBe(0);
    expect(report.built?.libcUklCapable).toBeNull();
    expect(report.syscalls.map((s) => s.name)).toEqual(['read', 'write', 'close', 'socket', 'bind', 'listen', 'setsockopt', 'exit', 'epoll_wait', 'epoll_ctl', 'accept4', 'epoll_create1']);
  }, 60_000);

  it.skipIf(!hasGcc || !hasStrace)("glibc's generic syscall(): syscall(SYS_socket, AF_UNIX, …) gives AF_UNIX, sound against strace", () => {
    const source = join(dir, 'generic-socket.c');
    writeFileSync(source, [
      '#include <sys/socket.h>', '#include <sys/syscall.h>', '#include <unistd.h>',
      '__attribute__((noipa)) static long open_socket(int family) { return syscall(SYS_socket, family, SOCK_DGRAM, 0); }',
      'int main(void) { long fd = open_socket(AF_UNIX); if (fd >= 0) close((int)fd); return 0; }', '',
    ].join('\n'));
    const program = join(dir, 'generic-socket');
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', program, source], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const report = analyzeStaticExecutable(program);
    expect(report.socketFamilies).toContain('AF_UNIX');
    expect(report.socketFamilyPaths.AF_UNIX?.slice(-3)).toEqual(['main', 'open_socket', 'syscall']);
    expect(straceRun(program).has('socket')).toBe(true);
    // glibc keeps errno and more in thread-local storage
    expect(report.tlsBytes).toBeGreaterThan(0);
  }, 60_000);

  it.skipIf(!hasGcc)('families by their Linux names (AF_ALG, AF_VSOCK); socket(AF_UNSPEC) is no family to require', () => {
    const source = join(dir, 'families.c');
    writeFileSync(source, [
      '#include <sys/socket.h>', '#include <unistd.h>',
      'int main(int argc, char **argv) {', '  (void)argv;',
      '  int fd = argc > 2 ? socket(AF_ALG, SOCK_SEQPACKET, 0) : argc > 1 ? socket(AF_VSOCK, SOCK_STREAM, 0) : socket(AF_UNSPEC, SOCK_STREAM, 0);',
      '  if (fd >= 0) close(fd);', '  return 0;', '}', '',
    ].join('\n'));
    const program = join(dir, 'families');
    const cc = spawnSync('gcc', ['-static', '-O0', '-o', program, source], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const report = analyzeStaticExecutable(program);
    expect(report.socketFamilies).toEqual(['AF_ALG', 'AF_VSOCK']);
  }, 60_000);
});

describe('dynamically linked programs: analysed with their interpreter and libraries', () => {
  /** a comparator that only qsort in libc.so calls, making a syscall libc itself never reaches (kcmp) */
  const CALLBACK_PROGRAM = `#include <stdio.h>
#include <stdlib.h>
static int by_value(const void *a, const void *b) {
  long r;
  __asm__ volatile ("syscall" : "=a"(r) : "0"(312L) : "rcx", "r11", "memory");
  return *(const int *)a - *(const int *)b + (int)(r & 0);
}
int main(void) { int v[3] = {3, 1, 2}; qsort(v, 3, sizeof v[0], by_value); printf("%d\\n", v[0]); return 0; }
`;

  it.skipIf(!hasGcc || !hasStrace)('the program, ld.so and libc.so.6: every syscall strace sees, a callback only a library calls, witness paths naming the library', () => {
    const source = join(dir, 'callback.c');
    const program = join(dir, 'callback-dynamic');
    writeFileSync(source, CALLBACK_PROGRAM);
    const cc = spawnSync('gcc', ['-O2', '-o', program, source], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const report = analyzeApplication([program]);
    AnalysisReportSchema.parse(report);
    expect(report.sharedObjects.map((o) => [o.name, o.interpreter])).toEqual([
      ['/lib64/ld-linux-x86-64.so.2', true],
      ['libc.so.6', false],
    ]);
    expect(report.sharedObjects.find((o) => o.name === 'libc.so.6')?.guest).toBe('/lib/x86_64-linux-gnu/libc.so.6');
    const found = new Set(report.syscalls.map((s) => s.name));
    const missed = [...straceRun(program)].filter((name) => !found.has(name));
    expect(missed).toEqual([]);
    // only libc's qsort calls the comparator: it counts because the program hands out its address
    expect(report.syscalls.find((s) => s.name === 'kcmp')?.path.at(-1)).toBe('by_value');
    expect(report.syscalls.find((s) => s.name === 'mmap')?.path[0]).toMatch(/^(ld-linux-x86-64\.so\.2|libc\.so\.6):/);
  }, 60_000);

  it.skipIf(!hasGcc)("the executable's DT_RPATH (not a DT_RUNPATH) finds the libraries its libraries need", () => {
    const libDir = join(dir, 'rpath-chain');
    const { library: inner } = libraryAndPrograms(libDir, 'inner');
    writeFileSync(join(libDir, 'outer.c'), 'int inner(void);\nint outer(void) { return inner(); }\n');
    writeFileSync(join(libDir, 'main.c'), 'int outer(void);\nint main(void) { return outer(); }\n');
    // libouter.so has no run path of its own
    expect(spawnSync('gcc', ['-shared', '-fPIC', '-o', join(libDir, 'libouter.so'), join(libDir, 'outer.c'), `-L${libDir}`, '-linner']).status).toBe(0);
    const program = join(libDir, 'chain');
    const link = (tags: string): number | null => spawnSync('gcc', ['-o', program, join(libDir, 'main.c'), `-L${libDir}`, '-louter', `-Wl,--${tags}-new-dtags,-rpath,$ORIGIN`]).status;
    expect(link('disable')).toBe(0);
    expect(sharedObjectsOf(program).map((o) => o.host)).toEqual(expect.arrayContaining([join(libDir, 'libouter.so'), inner]));
    // a DT_RUNPATH applies to the executable's own DT_NEEDED only, as in the loader
    expect(link('enable')).toBe(0);
    expect(() => sharedObjectsOf(program)).toThrow(/libouter\.so needs the library libinner\.so, which is not on this machine/);
  });

  it.skipIf(!hasGcc)('socket families the program passes to libc.so.6, through its PLT or its GOT (-fno-plt)', () => {
    const source = join(dir, 'families.c');
    writeFileSync(source, '#include <sys/socket.h>\n#include <linux/vm_sockets.h>\nint main(void) { return socket(AF_PACKET, SOCK_RAW, 0) + socket(AF_VSOCK, SOCK_STREAM, 0); }\n');
    for (const flags of [[], ['-fno-plt']]) {
      const program = join(dir, `families${flags.join('')}`);
      expect(spawnSync('gcc', ['-O2', ...flags, '-o', program, source]).status).toBe(0);
      const report = analyzeApplication([program]);
      // libc.so.6 itself opens neither
      expect(report.socketFamilies, flags.join(' ')).toEqual(expect.arrayContaining(['AF_PACKET', 'AF_VSOCK']));
      expect(report.socketFamilyPaths.AF_PACKET).toEqual(['main', 'socket']);
    }
  });

  it.skipIf(!hasGcc)("the libraries' scans are kept between runs: the same report from the cache, from a damaged entry, and without one", () => {
    const source = join(dir, 'cached.c');
    writeFileSync(source, CALLBACK_PROGRAM);
    const program = join(dir, 'cached-dynamic');
    expect(spawnSync('gcc', ['-O2', '-o', program, source]).status).toBe(0);
    const scanCacheDir = join(dir, 'scans');
    const uncached = analyzeApplication([program], { scanCacheDir: null });
    expect(existsSync(scanCacheDir)).toBe(false);
    const filling = analyzeApplication([program], { scanCacheDir });
    // one entry per library (ld.so and libc.so.6), none for the program
    const entries = readdirSync(scanCacheDir);
    expect(entries).toHaveLength(2);
    const fromCache = analyzeApplication([program], { scanCacheDir });
    for (const entry of entries) writeFileSync(join(scanCacheDir, entry), 'cut short');
    const afterDamage = analyzeApplication([program], { scanCacheDir });
    for (const report of [filling, fromCache, afterDamage]) expect({ ...report, linkedExecutable: '' }).toEqual({ ...uncached, linkedExecutable: '' });
    // the damaged entries were made again
    expect(readdirSync(scanCacheDir).map((e) => statSync(join(scanCacheDir, e)).size).every((size) => size > 1000)).toBe(true);
  }, 60_000);

  it.skipIf(!hasGcc)("numbers the program passes to libc.so.6's syscall(), directly or through a wrapper of its own, PLT or GOT", () => {
    const source = join(dir, 'raw-syscalls.c');
    // glibc 2.36 wraps neither kcmp nor bpf: only these calls can need them
    writeFileSync(source, `#include <unistd.h>
#include <sys/syscall.h>
__attribute__((noipa)) static long via(long nr) { return syscall(nr, 0, 0, 0); }
int main(void) { return (int)(syscall(SYS_kcmp, 0, 0, 0, 0, 0) + via(SYS_bpf)); }
`);
    for (const flags of [[], ['-fno-plt']]) {
      const program = join(dir, `raw-syscalls${flags.join('')}`);
      expect(spawnSync('gcc', ['-O2', ...flags, '-o', program, source]).status).toBe(0);
      const report = analyzeApplication([program]);
      const path = (name: string): string[] | undefined => report.syscalls.find((s) => s.name === name)?.path;
      expect(path('kcmp'), flags.join(' ')).toEqual(['main', 'libc.so.6:syscall']);
      expect(path('bpf'), flags.join(' ')).toEqual(['main', 'via', 'libc.so.6:syscall']);
      // the wrapper itself can still be called through a pointer: that stays a finding
      expect(report.unresolved.some((u) => u.function === 'libc.so.6:syscall')).toBe(true);
    }
  });

  it.skipIf(!hasGcc)('a library that is not on this machine is one line naming it, exit 2; one in a run path is found there', async () => {
    const libDir = join(dir, 'private-lib');
    const { program } = libraryAndPrograms(libDir, 'greet');
    const withRunPath = program(join(dir, 'greet-runpath'), `-Wl,-rpath,${libDir}`);
    const without = program(join(dir, 'greet-missing'));
    const found = analyzeApplication([withRunPath]).sharedObjects.find((o) => o.name === 'libgreet.so');
    // the guest's loader has no ld.so.cache: the library goes where it looks without one
    expect(found).toEqual({ name: 'libgreet.so', host: join(libDir, 'libgreet.so'), guest: '/lib/x86_64-linux-gnu/libgreet.so', interpreter: false });
    expect(() => analyzeApplication([without])).toThrow(AnalysisError);
    const { io, err } = captureIO();
    expect(await main(['analyze', without], io)).toBe(2);
    expect(err).toEqual([expect.stringMatching(/greet-missing needs the library libgreet\.so, which is not on this machine .*: install it$/)]);
    const library = captureIO();
    expect(await main(['analyze', join(libDir, 'libgreet.so')], library.io)).toBe(2);
    expect(library.err).toEqual([expect.stringMatching(/libgreet\.so: a shared library: give the program that loads it/)]);
  });
});

describe('bad and unsupported input', () => {
  it('a truncated ELF is one line naming the file and offset, exit 2', async () => {
    const file = join(dir, 'truncated');
    writeFileSync(file, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    expect(() => analyzeStaticExecutable(file)).toThrow(ElfError);
    const { io, err } = captureIO();
    expect(await main(['analyze', file], io)).toBe(2);
    expect(err.length).toBe(1);
    expect(err[0]).toMatch(/truncated.*offset 0/);
    expect(err[0]).toContain(file);
  });

  it('inputs that cannot be linked into a program are one clear line, exit 2', async () => {
    const archive = join(dir, 'lib.a');
    writeFileSync(archive, '!<arch>\n');
    expect(() => analyzeStaticExecutable(archive)).toThrow(AnalysisError);
    const { io, err } = captureIO();
    expect(await main(['analyze', archive], io)).toBe(2);
    expect(err.length).toBe(1);
    expect(err[0]).toMatch(/linking .*lib\.a with glibc failed/);
    if (hasGcc) {
      const object = join(dir, 'plain.o');
      const source = join(dir, 'plain.c');
      writeFileSync(source, 'int f(void) { return 1; }\n');
      expect(spawnSync('gcc', ['-c', '-o', object, source]).status).toBe(0);
      const second = captureIO();
      expect(await main(['analyze', object], second.io)).toBe(2);
      expect(second.err.join('\n')).toMatch(/undefined reference to `main'/);
      const third = captureIO();
      expect(await main(['analyze', object, '--libc', join(dir, 'nowhere', 'libc.a')], third.io)).toBe(2);
      expect(third.err.join('\n')).toMatch(/--libc .*nowhere.*expected glibc, musl or the path of a libc\.a/);
    }
  });

  it('a corrupt archive is one line naming the file and offset, exit 2', async () => {
    const archive = join(dir, 'corrupt.a');
    // a member header whose size field is not a number
    writeFileSync(archive, `!<arch>\n${'read.o/'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'644'.padEnd(8)}${'12x4'.padEnd(10)}\`\n`);
    const { io, err } = captureIO();
    expect(await main(['analyze', archive], io)).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/corrupt\.a: .*\(at offset \d+\)$/);
  });

  it.skipIf(!hasClang)('LLVM bitcode without clang on PATH: says what to install, exit 2', async () => {
    const source = join(dir, 'bc.c');
    writeFileSync(source, 'int main(void) { return 0; }\n');
    const bitcode = join(dir, 'bc.o');
    expect(spawnSync('clang', ['-flto', '-c', '-o', bitcode, source]).status).toBe(0);
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-tools-here');
    try {
      const { io, err } = captureIO();
      expect(await main(['analyze', bitcode], io)).toBe(2);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/clang is needed to link LLVM bitcode .* not installed \(Debian: apt-get install clang llvm\)/);
    } finally {
      process.env.PATH = path;
    }
  });

  it.skipIf(!hasGcc)('the CLI prints JSON matching the schema', async () => {
    const program = build('unix-socket', 'glibc', 'gcc');
    const { io, out } = captureIO();
    expect(await main(['analyze', program, '--json'], io)).toBe(0);
    const report: AnalysisReport = AnalysisReportSchema.parse(JSON.parse(out.join('\n')));
    expect(report.socketFamilies).toContain('AF_UNIX');
    const text = captureIO();
    expect(await main(['analyze', program], text.io)).toBe(0);
    expect(text.out.join('\n')).toMatch(/socketpair/);
  });
});
