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
import { loadKconfig } from '../../src/kconfig/load.js';
import { cacheHome } from '../../src/util/cache-home.js';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';
import { builtSyscallsFromSystemMap, deriveSyscallMap } from '../../src/kernel/syscalls.js';
import { minimizeConfig, type MinimizeReport } from '../../src/minimize/minimize.js';
import { chromiumAvailable, dumpDom, screenshot } from '../helpers/chromium.js';
import { buildManySyscallsKernel, compileEchoObject, MINIMIZED_ECHO_OUT, minimizedEchoKernel, minimizedTogether } from '../helpers/test-kernels.js';

/**
 * The product end to end: from what the user compiled to a booted kernel that runs the app,
 * with the config from ukl-trim alone. The echo example goes from its object file (linked with
 * glibc for the analysis) through `ukl-trim echo.o --build --boot --tcp-echo`; the fixture apps
 * of the analysis suite (one of them also linked against libc.so.6) are minimised each on its own
 * and then together, and each boots on the kernel for all of them, exercises its syscalls and
 * exits 0. Every syscall the analysis required
 * must be built (`T`) in the kernel's System.map.
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

interface SharedKernel {
  outDir: string;
  apps: Map<string, { exe: string; report: MinimizeReport }>;
  enabled: number;
  build: string;
}

/** each app minimised on its own (requirements hold, no NIC), then one kernel for all of them together, built */
async function buildSharedKernel(apps: ReadonlyArray<{ name: string; source: string; dynamic?: boolean }>): Promise<SharedKernel> {
  if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
  const own = new Map<string, { exe: string; report: MinimizeReport }>();
  for (const app of apps) {
    const exe = join(work, app.name);
    compile([...(app.dynamic ? [] : ['-static']), '-O2', '-pthread', '-o', exe, app.source]);
    const result = await minimizeConfig({ kernel: tree, app: exe });
    expect(result.report.check.requirementsHold, app.name).toBe(true);
    // no socket to the outside: no NIC in the kernel (libc.so.6 as a whole opens sockets of its own)
    if (!app.dynamic) expect(result.config, app.name).not.toMatch(/^CONFIG_VIRTIO_NET=y$/m);
    own.set(app.name, { exe, report: result.report });
  }
  const together = await minimizedTogether(tree, [...own.values()].map((o) => ({ app: o.exe, report: o.report })));
  expect(together.report.check.requirementsHold).toBe(true);
  // the boot profile comes from the first app: none of the others' requirements needs a NIC
  expect(together.config).not.toMatch(/^CONFIG_VIRTIO_NET=y$/m);
  const build = await buildKernel({ tree, arch: 'x86_64', config: together.config, outDir: join(cacheHome(), 'e2e-kernels', 'minimized-apps'), targets: ['bzImage'] });
  return { outDir: build.outDir, apps: own, enabled: together.report.counts.enabled, build: build.reused ? 'reused' : `${build.seconds.toFixed(0)} s` };
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
    const object = compileEchoObject(work);
    const out = MINIMIZED_ECHO_OUT();
    const loaded = loadKconfig({ tree, arch: 'x86_64' });
    // the report measures against the build-and-boot suite's kernel (tinyconfig + many syscall
    // gates), a finished build folder: no baseline kernel of its own to build (CI time)
    const baseline = await buildManySyscallsKernel(tree, loaded);
    const lines: string[] = [];
    const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), info: () => {} };
    const args = [object, '--kernel', tree, '--libc', 'glibc', '-o', join(work, 'echo.config'), '--fragment', join(work, 'echo.fragment')];
    const boot = ['--build', out, '--boot', '--app-arg', '7777', '--expect', 'echo-server: listening on 7777', '--tcp-echo', '7777', '--timeout', String(BOOT_TIMEOUT_SECONDS)];
    const page = join(out, 'report.html');
    const code = await main([...args, ...boot, '--report', page, '--report-baseline', baseline.outDir, '--explain', 'EPOLL', '--json'], io);
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
    expect(r.counts.enabled).toBeLessThan([...baseline.config.matchAll(/^CONFIG_\w+=y$/gm)].length);
    // the API gives the CLI's config: the System.map suite builds (or reuses) this same kernel
    const fromApi = await minimizedEchoKernel(tree, mkdtempSync(join(work, 'api-')));
    expect(fromApi).toEqual({ config: readFileSync(join(work, 'echo.config'), 'utf8'), outDir: result.build.buildDir });
    await expectSyscallsBuilt(r, readFileSync(join(result.build.buildDir, 'System.map'), 'utf8'));
    expectReportPage(page);
  }, 3_600_000);

  const apps: Array<{ name: string; source: string; marker: RegExp; dynamic?: boolean }> = [
    { name: 'threads', source: 'fixtures/apps/threads.c', marker: /^threads: 4000$/ },
    { name: 'timerfd-eventfd-signalfd', source: 'fixtures/apps/timerfd-eventfd-signalfd.c', marker: /^timerfd-eventfd-signalfd: ok$/ },
    { name: 'unix-socket', source: 'fixtures/apps/unix-socket.c', marker: /^unix-socket: ok$/ },
    // linked against libc.so.6: the initramfs holds ld.so and libc.so.6, the analysis read both
    { name: 'threads-dynamic', source: 'fixtures/apps/threads.c', marker: /^threads: 4000$/, dynamic: true },
  ];
  /**
   * One kernel for the four, minimised for their requirements together (CI time: each of the
   * apps gates something `sched.h` or `hrtimer.h` tests, so a kernel per app recompiled most of
   * the kernel each time). Each app is still minimised on its own, and its requirements must
   * hold; each boots on the shared kernel and exits 0; every syscall its own analysis required
   * is built there.
   */
  let shared: Promise<SharedKernel> | null = null;
  const sharedKernel = (): Promise<SharedKernel> => (shared ??= buildSharedKernel(apps));

  for (const app of apps) {
    it(`${app.name}: minimised, and it boots on the kernel minimised for the fixture apps together and exits 0`, async () => {
      const kernel = await sharedKernel();
      const { exe, report } = kernel.apps.get(app.name) as { exe: string; report: MinimizeReport };
      const initramfs = await buildInitramfs({ app: exe, out: join(work, `${app.name}.cpio`) });
      const boot = await bootKernel({
        image: join(kernel.outDir, 'arch', 'x86', 'boot', 'bzImage'),
        initrd: initramfs.path,
        expect: /ukl-init: \/app exited with status 0/,
        timeoutSeconds: BOOT_TIMEOUT_SECONDS,
      });
      console.log(`${app.name}: ${report.counts.enabled} options =y on its own, ${kernel.enabled} for the ${apps.length}; build ${kernel.build}, exit marker after ${boot.markerSeconds} s`);
      expect(boot.ok, `${boot.failure}: ${boot.message}\n${boot.consoleTail.join('\n')}`).toBe(true);
      expect(boot.consoleTail.some((l) => app.marker.test(l)), boot.consoleTail.join('\n')).toBe(true);
      await expectSyscallsBuilt(report, readFileSync(join(kernel.outDir, 'System.map'), 'utf8'));
    }, 3_600_000);
  }
});
