import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MinimizeReportSchema, type MinimizeReport } from '../src/minimize/minimize.js';

/**
 * What the report tests work on: a small kernel-shaped build folder compiled here with gcc and
 * linked with ld the way kbuild 6.1 links vmlinux (a thin vmlinux.a of the objects, a thin
 * lib/lib.a), and a minimizer report written out by hand in the exported schema.
 */

function run(command: string, args: string[], cwd: string): void {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
}

/** a copy of one static helper in two folders of net/: the same name and size, so no one place */
const SHARED_HELPER = 'static __attribute__((noinline, used)) int csum_fold_helper(int x) { return (x >> 16) + (x & 0xffff) * 3; }\n';

/** source file → text; each has data of known sizes, so the tests can expect exact bytes */
export const MINI_SOURCES: Readonly<Record<string, string>> = {
  'kernel/fork.c': 'char fork_table[3000] = {1};\nstatic char fork_bss[5000] __attribute__((used));\nint kernel_start(void) { return fork_table[1] + fork_bss[2]; }\n',
  'kernel/sched/core.c': 'const char sched_names[700] = "sched";\nint schedule(int x) { return sched_names[x] * 7; }\n',
  'net/ipv4/tcp.c': `${SHARED_HELPER}char tcp_hash[9000] = {2};\nint tcp_sendmsg(int x) { return csum_fold_helper(x) + tcp_hash[x]; }\n`,
  'net/core/dev.c': `${SHARED_HELPER}char dev_table[2500] = {3};\nint dev_queue_xmit(int x) { return csum_fold_helper(x) + dev_table[x]; }\n`,
  'arch/x86/kernel/setup.c': 'char boot_params[4096] = {4};\nint setup_arch(int x) { return boot_params[x]; }\n',
  'lib/string.c': 'const char hex_digits[1200] = "0123456789abcdef";\nint hex_to_bin(int c) { return hex_digits[c]; }\n',
};

/** Compile, archive and link the folder; returns it. */
export function makeKernelBuildFolder(dir: string): string {
  const objects: string[] = [];
  for (const [source, text] of Object.entries(MINI_SOURCES)) {
    mkdirSync(join(dir, dirname(source)), { recursive: true });
    writeFileSync(join(dir, source), text);
    const object = source.replace(/\.c$/, '.o');
    run('gcc', ['-O1', '-ffreestanding', '-fno-pic', '-fno-asynchronous-unwind-tables', '-fno-stack-protector', '-c', '-o', object, source], dir);
    objects.push(object);
  }
  const lib = objects.filter((o) => o.startsWith('lib/'));
  // thin archives of the objects, as kbuild makes them: member names are paths in the build folder
  run('ar', ['cDPrST', 'vmlinux.a', ...objects.filter((o) => !lib.includes(o))], dir);
  run('ar', ['cDPrST', 'lib/lib.a', ...lib], dir);
  run('ld', ['-static', '-e', 'kernel_start', '-o', 'vmlinux', ...objects], dir);
  writeFileSync(join(dir, '.config'), 'CONFIG_NET=y\nCONFIG_INET=y\n# CONFIG_IPV6 is not set\nCONFIG_TTY=y\n');
  return dir;
}

/** a minimizer report: two requirements with witness paths (one through C++ names to escape), chains that reach them */
export function fixtureMinimizeReport(): MinimizeReport {
  return MinimizeReportSchema.parse({
    arch: 'x86_64',
    kernelVersion: '6.1.192',
    mode: 'initramfs',
    profile: 'qemu-x86_64',
    app: 'examples/echo-server/echo.o',
    counts: { enabled: 5, fragmentLines: 3, conditionalSourceBytes: 1000 },
    requirements: [
      { expression: 'EPOLL', kind: 'syscall', detail: 'epoll_wait', path: ['main', 'serve_loop', 'std::vector<int>::push_back', 'epoll_wait'], holds: true },
      { expression: 'INET', kind: 'socket-family', detail: 'AF_INET', path: ['main', '__socket'], holds: true },
      { expression: 'TTY', kind: 'profile', detail: 'qemu-x86_64: the console is a tty (console=ttyS0)', holds: true },
    ],
    options: [
      { symbol: 'EPOLL', reason: { kind: 'required', requirement: 0, text: 'required by syscall epoll_wait, reached by main → serve_loop → std::vector<int>::push_back → epoll_wait' } },
      { symbol: 'INET', reason: { kind: 'required', requirement: 1, text: 'required by socket-family AF_INET, reached by main → __socket' } },
      { symbol: 'NET', reason: { kind: 'needed-by', by: 'INET', text: 'INET depends on it' } },
      { symbol: 'TTY', reason: { kind: 'required', requirement: 2, text: 'required by boot profile (qemu-x86_64: the console is a tty (console=ttyS0))' } },
      { symbol: 'X86_64', reason: { kind: 'forced', text: 'always on for this architecture and mode (no configuration turns it off)' } },
    ],
    solver: { variables: 10, constraints: 20, fixedByPropagation: 1, status: 'Optimal', objective: 3, seconds: 0.1 },
    check: { stable: true, requirementsHold: true, modelMismatches: [], oneMinimal: { checked: true, flipsTried: 3, improvements: [] } },
    unresolved: [],
    warnings: ['a warning with <b>markup</b> in it'],
    seconds: { load: 1, analysis: 0.5, model: 0.2, solve: 0.1, check: 1.2, total: 3 },
  });
}
