/**
 * `BENCH_ONLY=retrim`: re-trimming the echo server (issue 16 item 3; goals ≤ 5 s from a fresh
 * CLI process with warm caches, ≤ 3 s in a long-lived process such as the language server).
 *
 * CLI: in each round a fresh cache folder whose entries link to this machine's cache (the tree,
 * probes, syscall map, code weights), except the minimizer's own `models/`: so the first run
 * finds no stored model or optimum (cold), the second finds both (warm, same app), the third is
 * the app after a change (its object linked with a second one whose constructor makes one more
 * syscall). The same rounds again with the app linked against libc.so.6, the libraries' scans
 * (`scans/`) starting empty as well. In process: one loaded tree and one session, an app change
 * per run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadKconfigAsync } from '../kconfig/load.js';
import { minimizeConfig, type MinimizeReport } from '../minimize/minimize.js';
import { MinimizeSession } from '../minimize/session.js';
import { WarmStarts } from '../minimize/warm-starts.js';
import { cacheHome } from '../util/cache-home.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = join(root, 'bin', 'ukl-trim.js');

/** one more syscall per change, each behind a Kconfig option the echo server does not need */
const CHANGES: ReadonlyArray<{ option: string; headers: string[]; call: string }> = [
  { option: 'TIMERFD', headers: ['sys/timerfd.h', 'time.h'], call: 'timerfd_create(CLOCK_MONOTONIC, 0)' },
  { option: 'EVENTFD', headers: ['sys/eventfd.h'], call: 'eventfd(0, 0)' },
  { option: 'SIGNALFD', headers: ['sys/signalfd.h', 'signal.h'], call: 'signalfd(-1, &(sigset_t){0}, 0)' },
  { option: 'INOTIFY_USER', headers: ['sys/inotify.h'], call: 'inotify_init1(0)' },
  { option: 'MEMFD_CREATE', headers: ['sys/mman.h'], call: 'memfd_create("x", 0)' },
];

interface CliRun {
  seconds: number;
  report: MinimizeReport;
}

export async function retrimBench(tree: string, work: string, runs: number): Promise<void> {
  const echo = compile(join(root, 'examples', 'echo-server', 'echo.c'), join(work, 'retrim-echo.o'));
  const extras = CHANGES.map((c, i) => ({ ...c, object: compile(writeExtra(work, i, c), join(work, `retrim-extra-${i}.o`)) }));
  const lines = [
    `re-trimming the echo server, fresh CLI process (${runs} rounds, medians; goal ≤ 5 s with warm caches):`,
    ...cliRounds(tree, work, runs, [echo], extras.map((e) => ({ ...e, app: [echo, e.object] })), ['models']),
    // linked against libc.so.6: the libraries' scans (scans/) start empty in each round too
    `the same, linked against libc.so.6 (each round starts without stored models and library scans):`,
    ...cliRounds(tree, work, runs, [link(work, 'retrim-echo-dynamic', [echo])], extras.map((e, i) => ({ ...e, app: [link(work, `retrim-echo-dynamic-${i}`, [echo, e.object])] })), ['models', 'scans']),
  ];
  lines.push(...(await inProcess(tree, echo, extras, runs)));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** per round: a first run with nothing stored, the same app again, then the app changed */
function cliRounds(tree: string, work: string, runs: number, app: string[], changes: ReadonlyArray<{ option: string; call: string; app: string[] }>, fresh: string[]): string[] {
  const rounds: Array<{ cold: CliRun; warm: CliRun; changed: CliRun }> = [];
  for (let i = 0; i < runs; i++) {
    const cache = cacheWithout(work, fresh);
    const change = changes[i % changes.length] as (typeof changes)[number];
    const cold = cliRun(tree, cache, app);
    const warm = cliRun(tree, cache, app);
    const changed = cliRun(tree, cache, change.app);
    if (!changed.report.options.some((o) => o.symbol === change.option)) throw new Error(`re-trim with ${change.call}: ${change.option} is not on`);
    rounds.push({ cold, warm, changed });
  }
  const lines: string[] = [];
  for (const kind of ['cold', 'warm', 'changed'] as const) {
    const rs = rounds.map((r) => r[kind]);
    const s = median(rs.map((r) => r.seconds));
    const stage = (k: keyof MinimizeReport['seconds']): string => median(rs.map((r) => r.report.seconds[k])).toFixed(2);
    const name = { cold: 'cold (nothing stored)', warm: 'warm, same app', changed: 'warm, app changed' }[kind];
    lines.push(`  ${name.padEnd(24)} ${s.toFixed(2)} s  ${(s / 5).toFixed(2)}x goal   load ${stage('load')}, analysis ${stage('analysis')}, model ${stage('model')}, solve ${stage('solve')}, check ${stage('check')}; start ${[...new Set(rs.map((r) => r.report.solver.start))].join('/')}, HiGHS got ${rs[0]?.report.solver.reduced?.variables ?? '-'} variables`);
  }
  return lines;
}

/** the language server's case: the tree loaded once, the session kept, one app change per run */
async function inProcess(tree: string, echo: string, extras: ReadonlyArray<{ object: string; option: string }>, runs: number): Promise<string[]> {
  const loaded = await loadKconfigAsync({ tree, arch: 'x86_64' });
  const session = new MinimizeSession({ optima: new WarmStarts(mkdtempSync(join(tmpdir(), 'ukl-bench-optima-'))) });
  await minimizeConfig({ loaded, app: [echo], libc: 'glibc', session });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const extra = extras[i % extras.length] as (typeof extras)[number];
    const t0 = performance.now();
    const r = await minimizeConfig({ loaded, app: [echo, extra.object], libc: 'glibc', session });
    times.push((performance.now() - t0) / 1000);
    if (!r.report.options.some((o) => o.symbol === extra.option)) throw new Error(`in-process re-trim: ${extra.option} is not on`);
  }
  const s = median(times);
  return [`  in process, app changed  ${s.toFixed(2)} s  ${(s / 3).toFixed(2)}x goal (≤ 3 s, the language server's case; ${runs} runs, median)`];
}

function cliRun(tree: string, cache: string, app: string[]): CliRun {
  const t0 = performance.now();
  // in the cache folder: the CLI writes its .config (and .config.old) where it runs
  const r = spawnSync(process.execPath, [cli, ...app, '--libc', 'glibc', '--kernel', tree, '--json', '--quiet'], { cwd: cache, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cache }, maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`ukl-trim ${app.join(' ')}: ${r.stderr}`);
  return { seconds, report: (JSON.parse(r.stdout) as { report: MinimizeReport }).report };
}

/** a cache folder sharing every entry of this machine's cache but the ones named (they start empty) */
function cacheWithout(work: string, fresh: readonly string[]): string {
  const xdg = mkdtempSync(join(work, 'retrim-cache-'));
  const ours = join(xdg, 'ukl-trim');
  mkdirSync(ours);
  for (const entry of readdirSync(cacheHome())) if (!fresh.includes(entry)) symlinkSync(join(cacheHome(), entry), join(ours, entry));
  return xdg;
}

function writeExtra(work: string, i: number, c: (typeof CHANGES)[number]): string {
  const file = join(work, `retrim-extra-${i}.c`);
  writeFileSync(file, `#define _GNU_SOURCE\n${c.headers.map((h) => `#include <${h}>\n`).join('')}#include <unistd.h>\n__attribute__((constructor)) static void extra(void) {\n  int fd = ${c.call};\n  if (fd >= 0) close(fd);\n}\n`);
  return file;
}

function compile(source: string, object: string): string {
  const r = spawnSync('gcc', ['-O2', '-c', '-o', object, source], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${source}: ${r.stderr}`);
  return object;
}

/** a dynamically linked executable of the objects */
function link(work: string, name: string, objects: string[]): string {
  const out = join(work, name);
  const r = spawnSync('gcc', ['-o', out, ...objects], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc -o ${name}: ${r.stderr}`);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
