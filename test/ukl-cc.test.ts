import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeApplication } from '../src/callgraph/analyze.js';
import type { CliIO } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';
import { parseArchive } from '../src/lto/archive.js';
import { parseElf } from '../src/lto/elf.js';
import { countSyscallInstructions, transformForUkl } from '../src/lto/musl-ukl.js';
import { BOUNCED_SYSCALLS } from '../src/lto/musl-ukl-bounce.js';
import { archiveObjects } from '../src/lto/ukl-archive.js';
import { planCc } from '../src/lto/ukl-cc.js';
import { UklError } from '../src/lto/ukl-error.js';

const ROOT = resolve(import.meta.dirname, '..');
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'ukl-cc-'));

function capture(): { io: CliIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l), info: (l) => err.push(l) }, out, err };
}

describe('ukl-trim cc: reading a gcc command line', () => {
  it('compiling passes the line on; the final link names UKL.a, its inputs and the flags for its sources', () => {
    expect(planCc(['-O2', '-Wall', '-c', 'a.c', '-o', 'a.o'])).toEqual({ kind: 'compile', args: ['-O2', '-Wall', '-c', 'a.c', '-o', 'a.o'] });
    const plan = planCc(['-O2', '-DX=1', '-I', 'inc', '-o', 'prog', 'main.c', 'util.o', '-lm', '-lpthread', '-static', '-Wl,--gc-sections'], '/p');
    expect(plan).toEqual({
      kind: 'link',
      out: '/p/prog',
      sources: ['/p/main.c'],
      objects: ['/p/util.o'],
      archives: [],
      cflags: ['-O2', '-DX=1', '-I', 'inc'],
      warnings: ['ignored for UKL.a (it is linked into the kernel, not run as a program): -static -Wl,--gc-sections'],
    });
    expect(planCc(['--version'])).toEqual({ kind: 'query', args: ['--version'] });
  });

  it('refuses what cannot make kernel-model code, with the reason', () => {
    for (const [args, message] of [
      [['-shared', '-o', 'x.so', 'a.o'], /-shared is not supported: a UKL app is linked into the kernel/],
      [['-fPIC', '-c', 'a.c'], /-fPIC is not supported: .*cannot be position-independent/],
      [['-pie', '-o', 'p', 'a.o'], /-pie is not supported/],
      [['-mcmodel=small', '-c', 'a.c'], /-mcmodel=small is not supported: UKL code must use -mcmodel=kernel/],
      [['-o', 'p', 'a.o', '-lnosuchlib'], /-lnosuchlib: no libnosuchlib\.a/],
      [['-o', 'p', 'notes.txt'], /notes\.txt: not a C or assembler source, an object or an archive/],
      [['-o'], /-o needs a value/],
    ] as const) {
      expect(() => planCc([...args], work), args.join(' ')).toThrow(UklError);
      expect(() => planCc([...args], work)).toThrow(message);
    }
  });

  it('the CLI says so in one line, exit 2', async () => {
    const { io, err } = capture();
    expect(await main(['cc', '-shared', '-o', join(work, 'x.so'), 'a.o'], io)).toBe(2);
    expect(err).toEqual(['ukl-trim: cc: -shared is not supported: a UKL app is linked into the kernel, not into a shared library']);
  });
});

describe('musl for UKL', () => {
  it('every syscall instruction of a musl-shaped tree becomes a call of entry_SYSCALL_64; _start stops naming _DYNAMIC; the thread area is a user address; a_crash oopses; no vDSO', () => {
    const tree = join(work, 'fake-musl');
    for (const dir of ['arch/x86_64', 'src/thread/x86_64', 'src/signal/x86_64', 'src/string', 'src/env']) mkdirSync(join(tree, dir), { recursive: true });
    writeFileSync(join(tree, 'arch/x86_64/atomic_arch.h'), 'static inline void a_crash()\n{\n\t__asm__ __volatile__( "hlt" : : : "memory" );\n}\n');
    writeFileSync(join(tree, 'src/env/__init_tls.c'), '\tif (libc.tls_size > sizeof builtin_tls) {\n\t\tmem = mmap();\n');
    const syscallN = (count: number): string => `static __inline long __syscall${count}(long n${Array.from({ length: count }, (_, i) => `, long a${i + 1}`).join('')})\n{\n\tunsigned long ret;\n\t__asm__ __volatile__ ("syscall" : "=a"(ret) : "a"(n) : "rcx", "r11", "memory");\n\treturn ret;\n}\n`;
    const vdso = '#define VDSO_USEFUL\n#define VDSO_CGT_SYM "__vdso_clock_gettime"\n#define VDSO_CGT_VER "LINUX_2.6"\n#define VDSO_GETCPU_SYM "__vdso_getcpu"\n#define VDSO_GETCPU_VER "LINUX_2.6"\n';
    writeFileSync(join(tree, 'arch/x86_64/syscall_arch.h'), [0, 1, 2, 3, 4, 5, 6].map(syscallN).join('\n') + vdso);
    mkdirSync(join(tree, 'src/internal'));
    writeFileSync(join(tree, 'arch/x86_64/crt_arch.h'), '"	lea _DYNAMIC(%rip),%rsi \\n"\n');
    writeFileSync(join(tree, 'src/thread/x86_64/clone.s'), '\tmov $56,%eax\n\tsyscall\n\ttest %eax,%eax\n');
    writeFileSync(join(tree, 'src/signal/x86_64/restore.s'), '__restore_rt:\n\tmov $15, %rax\n\tsyscall  /* rt_sigreturn */\n');
    writeFileSync(join(tree, 'src/string/strlen.c'), '/* syscall in a comment of C code stays */\n');
    const { files } = transformForUkl(tree);
    expect(files.sort()).toEqual(['arch/x86_64/atomic_arch.h', 'arch/x86_64/crt_arch.h', 'arch/x86_64/syscall_arch.h', 'src/env/__init_tls.c', 'src/internal/ukl_bounce.c', 'src/signal/x86_64/restore.s', 'src/thread/x86_64/clone.s']);
    const arch = readFileSync(join(tree, 'arch/x86_64/syscall_arch.h'), 'utf8');
    // each __syscallN first hands the calls whose kernel side range-checks pointers to the bounce
    expect(arch.match(/\{\n\tif \(__ukl_bounce_spec\(n\)\) return __ukl_syscall_bounce\(n, /g)).toHaveLength(7);
    expect(arch).toContain('__ukl_syscall_bounce(n, a1, a2, 0, 0, 0, 0);');
    expect(arch).toMatch(/case SYS_open: return 1;/);
    for (const name of BOUNCED_SYSCALLS) expect(arch).toContain(`case SYS_${name}: return `);
    expect(arch).toMatch(/case SYS_accept: return 32;/);
    expect(readFileSync(join(tree, 'arch/x86_64/atomic_arch.h'), 'utf8')).toContain('__asm__ __volatile__( "ud2"');
    expect(readFileSync(join(tree, 'src/env/__init_tls.c'), 'utf8')).toMatch(/^\tif \(1\) \{/);
    expect(readFileSync(join(tree, 'arch/x86_64/syscall_arch.h'), 'utf8')).toContain('"call entry_SYSCALL_64"');
    expect(readFileSync(join(tree, 'src/thread/x86_64/clone.s'), 'utf8')).toBe('\tmov $56,%eax\n\tcall entry_SYSCALL_64\n\ttest %eax,%eax\n');
    expect(readFileSync(join(tree, 'src/signal/x86_64/restore.s'), 'utf8')).toContain('\tcall entry_SYSCALL_64  /* rt_sigreturn */');
    expect(readFileSync(join(tree, 'arch/x86_64/crt_arch.h'), 'utf8')).toContain('xor %esi,%esi');
    // clock_gettime and sched_getcpu make the system call: the vDSO's code and its fallback are user mode's
    expect(arch).not.toMatch(/VDSO_CGT_SYM|VDSO_GETCPU_SYM/);
  });

  it('a tree without the code the transformation changes is refused by name, not half transformed', () => {
    const tree = join(work, 'not-musl');
    mkdirSync(join(tree, 'arch/x86_64'), { recursive: true });
    writeFileSync(join(tree, 'arch/x86_64/syscall_arch.h'), '/* no system calls here */\n');
    expect(() => transformForUkl(tree)).toThrow(/musl-ukl: arch\/x86_64\/syscall_arch.h does not have the code the UKL transformation changes/);
  });

  it.skipIf(!hasGcc)('the echo server through `ukl-trim cc` (compile, then the final link): a UKL.a without one syscall instruction, every site resolved', async () => {
    const out = join(work, 'echo');
    mkdirSync(out);
    for (const args of [['cc', '-O2', '-c', '-o', join(out, 'echo.o'), join(ROOT, 'examples/echo-server/echo.c')], ['cc', '-o', join(out, 'echo'), join(out, 'echo.o')]]) {
      const { io, err } = capture();
      expect(await main(args, io), err.join('\n')).toBe(0);
    }
    const archive = join(out, 'echo');
    expect(parseArchive(readFileSync(archive), archive).members().next().done).toBe(false);
    for (const member of archiveObjects(archive)) expect(countSyscallInstructions(member)).toBe(0);
    const report = analyzeApplication([archive]);
    expect(report.unresolved).toEqual([]);
    expect(report.unknownSocketFamilies).toEqual([]);
    expect(report.socketFamilies).toEqual(['AF_INET']);
    expect(report.tlsBytes).toBe(0);
    const names = report.syscalls.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['socket', 'bind', 'listen', 'epoll_wait', 'accept4', 'read', 'write', 'arch_prctl']));
    expect(report.syscalls.find((s) => s.name === 'socket')?.path).toEqual(['main', 'socket', 'ukl_entry_SYSCALL_64']);
    // the app's own code is kernel-model code too
    expect(countSyscallInstructions(parseElf(readFileSync(join(out, 'echo.o')), 'echo.o'))).toBe(0);
  }, 600_000);

  it.skipIf(!hasGcc)('an app with threads or its own __thread variables is refused at the final link, with the reason', async () => {
    const threads = join(work, 'threads.c');
    writeFileSync(threads, '#include <pthread.h>\nstatic void *run(void *a) { return a; }\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); return pthread_join(t, 0); }\n');
    const tls = join(work, 'tls.c');
    writeFileSync(tls, '__thread int counter;\nint main(void) { return ++counter; }\n');
    for (const [source, message] of [[threads, /links pthread_create: threads do not run on musl-ukl/], [tls, /has __thread variables \(\.tbss\)/]] as const) {
      const { io, err } = capture();
      expect(await main(['cc', '-O2', '-o', join(work, 'refused'), source], io)).toBe(2);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(message);
    }
  }, 600_000);
});
