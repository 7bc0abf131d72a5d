import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeStaticExecutable } from '../src/callgraph/analyze.js';
import { CallGraph } from '../src/callgraph/graph.js';
import { LibcSummarySchema, stronglyConnectedComponents, summarizeLibc, summaryEntry, summaryPath } from '../src/callgraph/libc-summary.js';
import { createProgress } from '../src/cli/progress.js';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/common.js';

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasMusl = existsSync('/usr/lib/x86_64-linux-musl/libc.a') && spawnSync('musl-gcc', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'ukl-trim-libc-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cacheDir = join(dir, 'cache');

describe('strongly connected components', () => {
  it('come out callees first, cycles together', () => {
    const graph = new CallGraph();
    for (const [a, b] of [['main', 'f'], ['f', 'g'], ['g', 'f'], ['g', 'h'], ['main', 'h']]) graph.addEdge(a as string, b as string);
    const components = stronglyConnectedComponents(graph).map((c) => c.map((id) => graph.nameOf(id)).sort());
    expect(components).toEqual([['h'], ['f', 'g'], ['main']]);
  });

  it('walk a 200k-function chain and a 200k-function cycle without recursion', () => {
    const chain = new CallGraph();
    const count = 200_000;
    for (let i = 0; i < count - 1; i++) chain.addEdge(`f${i}`, `f${i + 1}`);
    expect(stronglyConnectedComponents(chain)).toHaveLength(count);
    chain.addEdge(`f${count - 1}`, 'f0');
    expect(stronglyConnectedComponents(chain)).toHaveLength(1);
  });
});

for (const [libc, available, wrapper, compiler] of [
  ['glibc', hasGcc, 'epoll_wait', 'gcc'],
  ['musl', hasMusl, 'epoll_pwait', 'musl-gcc'],
] as const) {
  describe.skipIf(!available)(`${libc}: function → syscalls, cached per libc.a content`, () => {
    it('summarises every function once, then answers from the cache', () => {
      const first = summarizeLibc(libc, { cacheDir });
      expect(first.cached).toBe(false);
      LibcSummarySchema.parse({ ...first, cached: undefined });
      expect(first.stats.functions).toBeGreaterThan(1000);
      // aliases find the same entry (glibc: write → __libc_write)
      const write = summaryEntry(first, 'write');
      expect(write).toBeDefined();
      expect(write?.entry.syscalls).toContain(1);
      expect(summaryEntry(first, 'socket')?.entry.syscalls).toContain(41);
      const epoll = summaryEntry(first, 'epoll_wait')?.entry;
      const wanted = Object.entries(first.syscallNames).find(([, name]) => name === wrapper)?.[0];
      expect(epoll?.syscalls).toContain(Number(wanted));
      // a path ends where the syscall is made: a function with the syscall instruction, or a
      // wrapper that takes the number as a parameter (so it does not list it itself)
      const path = summaryPath(first, 'epoll_wait', Number(wanted));
      expect(path[0]).toBe(summaryEntry(first, 'epoll_wait')?.name);
      const last = summaryEntry(first, path.at(-1) ?? '')?.entry;
      const at = last?.syscalls.indexOf(Number(wanted)) ?? -1;
      if (at >= 0) expect(last?.via[at]).toBeNull();
      else expect(path.length).toBeGreaterThan(1);

      const second = summarizeLibc(libc, { cacheDir });
      expect(second.cached).toBe(true);
      expect({ ...second, cached: false }).toEqual(first);
      // one file per libc.a, named by its content hash
      expect(readdirSync(cacheDir)).toContain(`${first.sha256}.json`);
    }, 120_000);

    it('a damaged cache file is made again', () => {
      const summary = summarizeLibc(libc, { cacheDir });
      writeFileSync(join(cacheDir, `${summary.sha256}.json`), '{"version": 2, "trunc');
      const again = summarizeLibc(libc, { cacheDir });
      expect(again.cached).toBe(false);
      expect(again.functions).toEqual(summary.functions);
    }, 120_000);

    it("agrees with the app analysis: what the echo server reaches through a libc call is in that function's summary", () => {
      const program = join(dir, `echo-${libc}`);
      const cc = spawnSync(compiler, ['-static', '-O2', '-o', program, resolve('examples/echo-server/echo.c')], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      const report = analyzeStaticExecutable(program);
      const summary = summarizeLibc(libc, { cacheDir });
      let checked = 0;
      for (const syscall of report.syscalls) {
        const at = syscall.path.indexOf('main');
        const callee = syscall.path[at + 1];
        // direct calls from main into libc, without indirect steps on the way
        if (at < 0 || callee === undefined || syscall.path.includes('<indirect call>')) continue;
        const entry = summaryEntry(summary, callee)?.entry;
        expect(entry, callee).toBeDefined();
        expect(entry?.syscalls, `${syscall.name} via ${syscall.path.join(' > ')}`).toContain(syscall.nr);
        checked++;
      }
      expect(checked).toBeGreaterThan(8);
    }, 120_000);

    it('the CLI prints paths, and names a function the libc lacks (exit 2)', async () => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), info: (l) => err.push(l) };
      const previous = process.env.XDG_CACHE_HOME;
      process.env.XDG_CACHE_HOME = join(dir, 'xdg');
      try {
        expect(await main(['libc-summary', 'socket', '--libc', libc], io)).toBe(0);
        expect(out.join('\n')).toMatch(/^ *41 socket +\S*socket$/m);
        expect(await main(['libc-summary', 'no_such_function_here', '--libc', libc], io)).toBe(2);
        expect(err.at(-1)).toMatch(/defines no function no_such_function_here/);
        // in a pipe the long step shows as timestamped lines on stderr; --quiet silences them, stdout stays the result
        const stderr: string[] = [];
        const piped = { write: (text: string) => stderr.push(text) > 0 };
        const lines: string[] = [];
        expect(await main(['libc-summary', 'socket', '--libc', libc], { out: (l) => lines.push(l), err: (l) => lines.push(l), info: (l) => lines.push(l), progress: createProgress(piped) })).toBe(0);
        expect(stderr).toEqual([expect.stringMatching(/^\[\d\d:\d\d:\d\d\] summarising \S+ \(once per libc\.a\)\n$/), expect.stringMatching(/^\[\d\d:\d\d:\d\d\] summarising \S+ \(once per libc\.a\): done in \d+\.\d s\n$/)]);
        stderr.length = 0;
        const quiet: string[] = [];
        expect(await main(['libc-summary', 'socket', '--libc', libc, '--quiet'], { out: (l) => quiet.push(l), err: (l) => quiet.push(l), info: (l) => quiet.push(l), progress: createProgress(piped) })).toBe(0);
        expect(stderr).toEqual([]);
        expect(quiet).toEqual(lines);
      } finally {
        if (previous === undefined) delete process.env.XDG_CACHE_HOME;
        else process.env.XDG_CACHE_HOME = previous;
      }
    }, 120_000);
  });
}

describe.skipIf(!hasGcc)("a libc in UKL's form (calls entry_SYSCALL_64 and bp_<name> instead of syscall)", () => {
  it('summarises those calls as the syscalls they are', () => {
    const source = join(dir, 'ukl-libc.c');
    writeFileSync(
      source,
      [
        'long bp_getppid(void);',
        '__attribute__((noinline)) long my_umask(long mask) { long r; register long rdi __asm__("rdi") = mask;',
        '  __asm__ volatile("call entry_SYSCALL_64" : "=a"(r) : "0"(95L), "r"(rdi) : "rcx", "r11", "memory"); return r; }',
        'long my_getppid(void) { return bp_getppid(); }',
        'long my_both(void) { return my_umask(0) + my_getppid(); }',
        '',
      ].join('\n'),
    );
    const object = join(dir, 'ukl-libc.o');
    expect(spawnSync('gcc', ['-O2', '-mno-red-zone', '-c', '-o', object, source]).status).toBe(0);
    const archive = join(dir, 'libukl.a');
    expect(spawnSync('ar', ['rcs', archive, object]).status).toBe(0);
    const summary = summarizeLibc(archive, { cacheDir: null });
    const nr = (name: string): number => Number(Object.entries(summary.syscallNames).find(([, n]) => n === name)?.[0]);
    expect(summaryEntry(summary, 'my_umask')?.entry.syscalls).toEqual([nr('umask')]);
    expect(summaryEntry(summary, 'my_getppid')?.entry.syscalls).toEqual([nr('getppid')]);
    expect(summaryEntry(summary, 'my_both')?.entry.syscalls).toEqual([nr('umask'), nr('getppid')].sort((a, b) => a - b));
    expect(summaryPath(summary, 'my_both', nr('umask'))).toEqual(['my_both', 'my_umask', 'entry_SYSCALL_64']);
  }, 120_000);
});
