import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { cacheHome } from '../../src/util/cache-home.js';
import type { MinimizeReport } from '../../src/minimize/minimize.js';
import { uklTreeForTests } from '../helpers/ukl-tree.js';

/**
 * UKL mode on a real UKL kernel (Debian's 6.1.192 with the UKL RFC series, made by the test
 * setup): the app's sources → UKL.a → analysis → minimised config → the app linked into vmlinux →
 * QEMU → the app itself answers over TCP from 127.0.0.1. Both apps are libc-free: the tree's own
 * samples/ukl and our fixtures/apps/ukl-nolibc, an epoll server like the sample, so both need the
 * same kernel. They share one build folder: the second app and a changed app are only relinked
 * (one kernel build for the three), and the musl-ukl echo server after them recompiles only what
 * its config changes.
 */
const tree = uklTreeForTests();
const available = tree !== null || process.env.CI === 'true';
const BOOT_TIMEOUT = '240';
const work = mkdtempSync(join(tmpdir(), 'ukl-e2e-'));
const out = join(cacheHome(), 'e2e-kernels', 'ukl');
const FIXTURE = 'fixtures/apps/ukl-nolibc';
/** the hand-made UKL config the issue measured (../shared/ukl/README.md): 589 options =y, 1,487,872-byte bzImage */
const HAND_MADE = { enabled: 589, bzImageBytes: 1_487_872 };

interface Run {
  code: number;
  text: string;
  json: {
    report: MinimizeReport;
    explain: Record<string, string[]>;
    build: { bzImageBytes: number; buildSeconds: number; reused: boolean; log: string; ukl: { archive: string } } | null;
    boot: { ok: boolean; markerSeconds: number; echoSeconds: number; echoReply: string | null; consoleTail: string[]; message?: string; failure?: string } | null;
  };
}

async function ukltrim(args: string[]): Promise<Run> {
  const lines: string[] = [];
  const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), info: () => {} };
  const code = await main([...args, '--json'], io);
  const text = lines.join('\n');
  const start = text.indexOf('{');
  return { code, text, json: JSON.parse(start >= 0 ? text.slice(start) : '{}') as Run['json'] };
}

function sampleDir(): string {
  if (!tree) throw new Error('no UKL tree (UKL_TRIM_UKL_KERNEL)');
  return join(tree, 'samples', 'ukl');
}

/** what a build compiled of the kernel itself: a relink compiles only the version stamp and the boot image's wrapper */
function kernelFilesCompiled(log: string): string[] {
  const compiled = readFileSync(log, 'utf8').split('\n').filter((l) => /^\s+CC\s/.test(l)).map((l) => l.trim().split(/\s+/)[1] as string);
  return compiled.filter((f) => !/^init\/version(-timestamp)?\.o$/.test(f) && !f.startsWith('arch/x86/boot/'));
}

function requirementDetails(report: MinimizeReport, kind: string): string[] {
  return report.requirements.filter((r) => r.kind === kind).map((r) => r.detail);
}

describe.skipIf(!available)('UKL mode on a real UKL tree: minimised, built, booted, serving TCP', () => {
  let sampleReport: MinimizeReport | undefined;

  it("samples/ukl from its sources (C and assembly), --libc none: the kernel enters the app and it echoes on port 5555", async () => {
    const sample = sampleDir();
    const run = await ukltrim([
      join(sample, 'tcp_server.c'), join(sample, 'syscall.S'),
      '--mode', 'ukl', '--libc', 'none', '--kernel', tree as string, '-o', join(work, 'sample.config'),
      '--build', out, '--boot', '--tcp-echo', '5555', '--timeout', BOOT_TIMEOUT,
      '--explain', 'INET', '--explain', 'UKL_TLS',
    ]);
    expect(run.code, run.text.slice(-3000)).toBe(0);
    const { report, build, boot, explain } = run.json;
    expect(boot?.ok, `${boot?.failure}: ${boot?.message}\n${boot?.consoleTail.join('\n')}`).toBe(true);
    expect(boot?.consoleTail).toContain('UKL BOOTED');
    expect(boot?.echoSeconds).toBeGreaterThan(0);
    // the family travels main → syscall() → entry_SYSCALL_64 as an argument, not a name (kernel-side names keep UKL's prefix)
    expect(explain.INET?.[0]).toBe('INET: required by socket-family AF_INET, reached by main → syscall → ukl_entry_SYSCALL_64');
    expect(explain.UKL_TLS?.[0]).toMatch(/^UKL_TLS: off — required off by mode UKL: the app has no TLS segment/);
    const config = readFileSync(join(work, 'sample.config'), 'utf8');
    for (const on of ['UNIKERNEL_LINUX', 'INET', 'VIRTIO_NET', 'EPOLL']) expect(config).toMatch(new RegExp(`^CONFIG_${on}=y$`, 'm'));
    expect(config).toMatch(/^# CONFIG_UKL_TLS is not set$/m);
    expect(requirementDetails(report, 'syscall')).toEqual(expect.arrayContaining(['socket', 'bind', 'listen', 'epoll_wait', 'accept4']));
    console.log(
      `samples/ukl: ${report.counts.enabled} options =y (hand-made ${HAND_MADE.enabled}: ${(report.counts.enabled / HAND_MADE.enabled).toFixed(2)}x), bzImage ${build?.bzImageBytes} B (${((build?.bzImageBytes ?? 0) / HAND_MADE.bzImageBytes).toFixed(2)}x), build ${build?.reused ? 'reused' : `${build?.buildSeconds} s`}, QEMU start → echo ${boot?.echoSeconds} s`,
    );
    expect(report.counts.enabled).toBeLessThanOrEqual(Math.floor(0.65 * HAND_MADE.enabled));
    expect(build?.bzImageBytes).toBeLessThanOrEqual(Math.floor(0.7 * HAND_MADE.bzImageBytes));
    sampleReport = report;
  }, 3_600_000);

  it("samples/ukl as objects and as the UKL.a its own Makefile builds: the same requirements and config", async () => {
    const copy = join(work, 'sample');
    cpSync(sampleDir(), copy, { recursive: true });
    const make = spawnSync('make', ['-C', copy, 'tcp_server.o', 'syscall.o'], { encoding: 'utf8' });
    expect(make.status, make.stderr).toBe(0);
    // the sample's Makefile: ar the two objects, then prefix every symbol (no ld -r)
    for (const step of [['ar', 'cr', 'UKL.a', 'tcp_server.o', 'syscall.o'], ['objcopy', '--prefix-symbols=ukl_', 'UKL.a']]) {
      const r = spawnSync(step[0] as string, step.slice(1), { cwd: copy, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    const fromObjects = await ukltrim([join(copy, 'tcp_server.o'), join(copy, 'syscall.o'), '--mode', 'ukl', '--libc', 'none', '--kernel', tree as string, '-o', join(work, 'objects.config')]);
    const fromArchive = await ukltrim([join(copy, 'UKL.a'), '--mode', 'ukl', '--kernel', tree as string, '-o', join(work, 'archive.config')]);
    for (const run of [fromObjects, fromArchive]) {
      expect(run.code, run.text.slice(-2000)).toBe(0);
      expect(requirementDetails(run.json.report, 'syscall').sort()).toEqual(requirementDetails(sampleReport as MinimizeReport, 'syscall').sort());
      expect(requirementDetails(run.json.report, 'socket-family')).toEqual(['AF_INET']);
    }
    expect(readFileSync(join(work, 'archive.config'), 'utf8')).toBe(readFileSync(join(work, 'sample.config'), 'utf8'));
  }, 600_000);

  it("our libc-free fixture: sources → the sample's config → the same kernel relinked with this app → it prints its marker and echoes on port 7777", async () => {
    const run = await ukltrim([
      join(FIXTURE, 'echo.c'), join(FIXTURE, 'sys.S'),
      '--mode', 'ukl', '--libc', 'none', '--kernel', tree as string, '-o', join(work, 'fixture.config'),
      '--build', out, '--boot', '--expect', '^nolibc-echo: listening$', '--tcp-echo', '7777', '--timeout', BOOT_TIMEOUT,
    ]);
    expect(run.code, run.text.slice(-3000)).toBe(0);
    const { report, build, boot } = run.json;
    expect(boot?.ok, `${boot?.failure}: ${boot?.message}\n${boot?.consoleTail.join('\n')}`).toBe(true);
    expect(requirementDetails(report, 'socket-family')).toEqual(['AF_INET']);
    expect(report.requirements.find((r) => r.kind === 'socket-family')?.path).toEqual(['_start', 'app_main', 'open_listener', 'sys6', 'ukl_entry_SYSCALL_64']);
    // the same syscalls and family as the sample: the same config, so the kernel is only relinked with this app
    expect(readFileSync(join(work, 'fixture.config'), 'utf8')).toBe(readFileSync(join(work, 'sample.config'), 'utf8'));
    expect(build?.reused).toBe(false);
    expect(kernelFilesCompiled(build?.log as string)).toEqual([]);
    console.log(`ukl-nolibc: ${report.counts.enabled} options =y, bzImage ${build?.bzImageBytes} B, build ${build?.reused ? 'reused' : `${build?.buildSeconds} s`} (relinked after the sample's), QEMU start → echo ${boot?.echoSeconds} s`);
  }, 3_600_000);

  it('a changed app is relinked, not rebuilt, and the new app answers', async () => {
    const objects: string[] = [];
    for (const source of ['echo.c', 'sys.S']) {
      const object = join(work, source.replace(/\.\w+$/, '.o'));
      const r = spawnSync('gcc', ['-O2', '-fno-PIC', '-fno-PIE', '-mno-red-zone', '-mcmodel=kernel', '-DECHO_PREFIX="relinked: "', '-c', join(FIXTURE, source), '-o', object], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      objects.push(object);
    }
    const run = await ukltrim([...objects, '--mode', 'ukl', '--libc', 'none', '--kernel', tree as string, '-o', join(work, 'relinked.config'), '--build', out, '--boot', '--expect', '^nolibc-echo: listening$', '--tcp-echo', '7777', '--timeout', BOOT_TIMEOUT]);
    expect(run.code, run.text.slice(-3000)).toBe(0);
    const { build, boot } = run.json;
    expect(readFileSync(join(work, 'relinked.config'), 'utf8')).toBe(readFileSync(join(work, 'fixture.config'), 'utf8'));
    expect(build?.reused).toBe(false);
    expect(kernelFilesCompiled(build?.log as string)).toEqual([]);
    expect(boot?.ok, `${boot?.failure}: ${boot?.message}\n${boot?.consoleTail.join('\n')}`).toBe(true);
    expect(boot?.echoReply).toMatch(/^relinked: /);
    console.log(`relink after an app change: ${build?.buildSeconds} s, QEMU start → echo ${boot?.echoSeconds} s`);
  }, 3_600_000);

  // last, in the same build folder: the folder's earlier kernel differs in a few options, so kbuild
  // and ccache reuse most of it (CI time), and the relinking test above has had its turn
  it('the bundled echo server, unchanged, as a unikernel: `npm run example -- --ukl` (ukl-trim cc with musl-ukl) boots and echoes', () => {
    const example = spawnSync('bash', ['examples/echo-server/run.sh', '--ukl', out], { encoding: 'utf8', env: { ...process.env, UKL_TRIM_UKL_KERNEL: tree as string } });
    const output = `${example.stdout}${example.stderr}`;
    expect(example.status, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/^INET: required by socket-family AF_INET, reached by main → socket/m);
    expect(output).toMatch(/^UKL_TLS: off — required off by mode UKL: the app has no TLS segment/m);
    expect(output).toMatch(/^boot: ok, marker after [\d.]+ s, echo after [\d.]+ s \((kvm|tcg)\)$/m);
    console.log(`echo example in UKL mode: ${output.split('\n').filter((l) => /options on|^bzImage|^boot:/.test(l)).join('; ')}`);
  }, 3_600_000);
});
