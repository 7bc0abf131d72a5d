import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildInitramfs } from '../../src/build/initramfs.js';
import { buildKernel } from '../../src/build/kernel-build.js';
import { bootKernel } from '../../src/build/qemu.js';
import type { CliIO } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { loadKconfig, tinyconfig } from '../../src/kconfig/load.js';
import { cacheHome } from '../../src/util/cache-home.js';
import { mergeConfigFragments } from '../../src/kconfig/merge.js';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';
import { builtSyscallsFromSystemMap, deriveSyscallMap } from '../../src/kernel/syscalls.js';
import { minimizeConfig, type MinimizeReport } from '../../src/minimize/minimize.js';
import { chromiumAvailable, dumpDom, screenshot } from '../helpers/chromium.js';

/**
 * The product end to end: from what the user compiled to a booted kernel that runs the app,
 * with the config from ukl-trim alone. The echo example goes from its object file (linked with
 * glibc for the analysis) through `ukl-trim echo.o --build --boot --tcp-echo`; each fixture app
 * of the analysis suite gets its own minimised kernel, boots, exercises its syscalls and exits 0.
 * Every syscall the analysis required must be built (`T`) in the kernel's System.map.
 */
const tree = kernelTreeForTests();
const available = tree !== null || process.env.CI === 'true';
const BOOT_TIMEOUT_SECONDS = 240;
const work = mkdtempSync(join(tmpdir(), 'ukl-minimize-e2e-'));

function compile(args: string[]): void {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${args.join(' ')}:\n${r.stderr}`);
}

/** every syscall requirement of the report is a real (T) entry in the built kernel */
async function expectSyscallsBuilt(report: MinimizeReport, systemMap: string): Promise<void> {
  if (!tree) throw new Error('no kernel tree');
  const loaded = loadKconfig({ tree, arch: 'x86_64' });
  const map = await deriveSyscallMap({ tree, arch: 'x86_64', kconfig: loaded.kconfig, kernelVersion: loaded.kbuild.kernelVersion });
  const built = builtSyscallsFromSystemMap(systemMap, 'x86_64');
  const missing: string[] = [];
  for (const r of report.requirements) {
    if (r.kind !== 'syscall') continue;
    const entry = map.syscalls.find((s) => s.name === r.detail)?.entry;
    if (!entry || built.get(entry) !== true) missing.push(`${r.detail} (${entry})`);
  }
  expect(missing).toEqual([]);
}

/** the report of the echo kernel in Chromium: both maps, networking in the trimmed one, a witness path from main; its screenshot (out/, outside the sources) is what docs/report.png is copied from */
function expectReportPage(page: string): void {
  if (!chromiumAvailable() && process.env.CI !== 'true') return;
  const dom = dumpDom(page);
  expect(dom).toMatch(/<body data-ready="yes">/);
  expect(dom).toMatch(/<svg id="treemap-trimmed"[^]*<rect class="cell" data-top="net" data-dir="net\/ipv4"/);
  expect(dom).toContain('id="treemap-baseline"');
  expect(dom).toMatch(/<tr id="req-\d+" class="requirement" data-kind="syscall">.*<code class="fn">main<\/code><span class="arrow"> → <\/span><code class="fn">epoll_wait<\/code>/);
  expect(dom).toMatch(/<details class="option-group" data-group="syscall" open="">/);
  mkdirSync(resolve('out', 'minimize-boot'), { recursive: true });
  screenshot(page, resolve('out', 'minimize-boot', 'report.png'), 1280, 1000);
}

describe.skipIf(!available)('ukl-trim end to end: minimised kernels that boot and run the apps', () => {
  it('echo example: echo.o → ukl-trim → kernel → QEMU → a TCP line echoed back', async () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    const object = join(work, 'echo.o');
    compile(['-O2', '-c', '-o', object, 'examples/echo-server/echo.c']);
    const out = join(cacheHome(), 'e2e-kernels', 'minimized-echo');
    const lines: string[] = [];
    const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), info: () => {} };
    const args = [object, '--kernel', tree, '--libc', 'glibc', '-o', join(work, 'echo.config'), '--fragment', join(work, 'echo.fragment')];
    const boot = ['--build', out, '--boot', '--app-arg', '7777', '--expect', 'echo-server: listening on 7777', '--tcp-echo', '7777', '--timeout', String(BOOT_TIMEOUT_SECONDS)];
    // the HTML report against the default baseline (tinyconfig + boot profile, built once into the cache)
    const page = join(out, 'report.html');
    const code = await main([...args, ...boot, '--report', page, '--explain', 'EPOLL', '--json'], io);
    const result = JSON.parse(lines.join('\n')) as {
      report: MinimizeReport;
      explain: Record<string, string[]>;
      build: { bzImageBytes: number; buildSeconds: number; reused: boolean; buildDir: string; vmlinux: { text: number } };
      boot: { ok: boolean; markerSeconds: number; echoSeconds: number; consoleTail: string[]; message?: string };
    };
    expect(code, lines.join('\n').slice(-3000)).toBe(0);
    const r = result.report;
    console.log(
      `echo: ${r.counts.enabled} options =y (${r.counts.fragmentLines}-line fragment), minimize ${r.seconds.total} s (solve ${r.solver.seconds} s); bzImage ${result.build.bzImageBytes} B, text ${result.build.vmlinux.text}; build ${result.build.reused ? 'reused' : `${result.build.buildSeconds} s`}; marker ${result.boot.markerSeconds} s, echo ${result.boot.echoSeconds} s`,
    );
    expect(result.boot.ok, `${result.boot.message}\n${result.boot.consoleTail.join('\n')}`).toBe(true);
    expect(result.boot.echoSeconds).toBeGreaterThan(0);
    expect(r.check).toMatchObject({ stable: true, requirementsHold: true, modelMismatches: [] });
    expect(r.requirements.filter((q) => q.kind === 'syscall').map((q) => q.detail)).toEqual(expect.arrayContaining(['epoll_wait', 'accept4', 'socket']));
    expect(result.explain.EPOLL?.[0]).toMatch(/^EPOLL: required by syscall epoll_\w+, reached by main → /);
    // smaller than the hand-written fragment config the build-and-boot suite uses
    const loaded = loadKconfig({ tree, arch: 'x86_64' });
    const hand = loaded.kconfig.olddefconfig(mergeConfigFragments(tinyconfig(loaded), [readFileSync('fixtures/kernel-configs/syscalls-many.config', 'utf8')]));
    expect(r.counts.enabled).toBeLessThan([...hand.matchAll(/^CONFIG_\w+=y$/gm)].length);
    await expectSyscallsBuilt(r, readFileSync(join(result.build.buildDir, 'System.map'), 'utf8'));
    expectReportPage(page);
  }, 3_600_000);

  const apps: Array<{ name: string; source: string; marker: RegExp }> = [
    { name: 'threads', source: 'fixtures/apps/threads.c', marker: /^threads: 4000$/ },
    { name: 'timerfd-eventfd-signalfd', source: 'fixtures/apps/timerfd-eventfd-signalfd.c', marker: /^timerfd-eventfd-signalfd: ok$/ },
    { name: 'unix-socket', source: 'fixtures/apps/unix-socket.c', marker: /^unix-socket: ok$/ },
  ];
  // one build folder for the three: their configs differ in a few options, so each build after
  // the first recompiles only what those options touch (CI time); each test is done with its
  // kernel before the next one builds
  for (const app of apps) {
    it(`${app.name}: its own minimised kernel boots it, and it exits 0`, async () => {
      if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
      const exe = join(work, app.name);
      compile(['-static', '-O2', '-pthread', '-o', exe, app.source]);
      const result = await minimizeConfig({ kernel: tree, app: exe });
      expect(result.report.check.requirementsHold).toBe(true);
      // no socket to the outside: no NIC in the kernel
      expect(result.config).not.toMatch(/^CONFIG_VIRTIO_NET=y$/m);
      const build = await buildKernel({ tree, arch: 'x86_64', config: result.config, outDir: join(cacheHome(), 'e2e-kernels', 'minimized-apps'), targets: ['bzImage'] });
      const initramfs = await buildInitramfs({ app: exe, out: join(work, `${app.name}.cpio`) });
      const boot = await bootKernel({
        image: join(build.outDir, 'arch', 'x86', 'boot', 'bzImage'),
        initrd: initramfs.path,
        expect: /ukl-init: \/app exited with status 0/,
        timeoutSeconds: BOOT_TIMEOUT_SECONDS,
      });
      console.log(`${app.name}: ${result.report.counts.enabled} options =y, build ${build.reused ? 'reused' : `${build.seconds.toFixed(0)} s`}, exit marker after ${boot.markerSeconds} s`);
      expect(boot.ok, `${boot.failure}: ${boot.message}\n${boot.consoleTail.join('\n')}`).toBe(true);
      expect(boot.consoleTail.some((l) => app.marker.test(l)), boot.consoleTail.join('\n')).toBe(true);
      await expectSyscallsBuilt(result.report, readFileSync(join(build.outDir, 'System.map'), 'utf8'));
    }, 3_600_000);
  }
});
