import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSectionSizes } from '../../src/build/elf.js';
import { buildInitramfs } from '../../src/build/initramfs.js';
import { compileUklTrigger } from '../../src/build/ukl-kernel.js';
import { buildKernel } from '../../src/build/kernel-build.js';
import { bootKernel, type BootReport } from '../../src/build/qemu.js';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/common.js';
import { loadKconfig } from '../../src/kconfig/load.js';
import { mergeConfigFragments } from '../../src/kconfig/merge.js';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';
import { buildManySyscallsKernel } from '../helpers/test-kernels.js';

/**
 * Proof of initramfs mode end to end: the bundled epoll echo server, built statically; a real
 * kernel from tinyconfig plus the fragment of what it needs (the same config and build folder as
 * the System.map suite, so one build serves both); our initramfs; a QEMU boot; a TCP line sent
 * from the host through hostfwd on 127.0.0.1 and echoed back by the guest.
 */
const tree = kernelTreeForTests();
const available = tree !== null || process.env.CI === 'true';
const GUEST_PORT = 7777;
// TCG on 2 cores: the boot itself takes seconds, but a loaded machine can stretch it a lot
const BOOT_TIMEOUT_SECONDS = 240;

function compileStatic(source: string, out: string): void {
  const r = spawnSync('gcc', ['-static', '-O2', '-o', out, source], { encoding: 'utf8' });
  if (r.status !== 0) {
    const musl = spawnSync('musl-gcc', ['-static', '-O2', '-o', out, source], { encoding: 'utf8' });
    if (musl.status !== 0) throw new Error(`cannot build ${source} statically:\n${r.stderr}\n${musl.stderr}`);
  }
}

/** how many objects a build folder holds */
function objectFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.o')).length;
}

describe.skipIf(!available)('initramfs mode: echo server on a tinyconfig kernel under QEMU', () => {
  const work = mkdtempSync(join(tmpdir(), 'ukl-boot-echo-'));
  const echo = join(work, 'echo');
  let bzImage = '';
  let initrd = '';
  let kernelConfig = '';
  let buildDir = '';

  beforeAll(async () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    compileStatic('examples/echo-server/echo.c', echo);
    const loaded = loadKconfig({ tree, arch: 'x86_64' });
    const build = await buildManySyscallsKernel(tree, loaded);
    kernelConfig = build.config;
    buildDir = build.outDir;
    bzImage = join(build.outDir, 'arch', 'x86', 'boot', 'bzImage');
    const sizes = readSectionSizes(join(build.outDir, 'vmlinux'));
    const initramfs = await buildInitramfs({ app: echo, args: [String(GUEST_PORT)], out: join(work, 'initramfs.cpio') });
    initrd = initramfs.path;
    console.log(
      `kernel: build ${build.reused ? 'reused' : `${build.seconds.toFixed(0)} s`}, bzImage ${statSync(bzImage).size} bytes, vmlinux text ${sizes.text} data ${sizes.data} bss ${sizes.bss}; initramfs ${initramfs.bytes} bytes`,
    );
  }, 3_600_000);

  it('boots, prints the echo server marker, and echoes a TCP line back to the host', async () => {
    const report = await bootKernel({
      image: bzImage,
      initrd,
      expect: new RegExp(`echo-server: listening on ${GUEST_PORT}`),
      tcpEcho: { guestPort: GUEST_PORT, line: 'hello from the host' },
      timeoutSeconds: BOOT_TIMEOUT_SECONDS,
    });
    console.log(`boot (${report.accel}): marker after ${report.markerSeconds} s, first echo after ${report.echoSeconds} s`);
    expect(report.ok, `${report.failure}: ${report.message}\n${report.consoleTail.join('\n')}`).toBe(true);
    expect(report.consoleTail.some((l) => l.includes('ukl-init: network up: eth0 10.0.2.15/24 via 10.0.2.2'))).toBe(true);
    expect(report.markerSeconds).toBeGreaterThan(0);
    expect(report.echoSeconds).toBeGreaterThanOrEqual(report.markerSeconds ?? Infinity);
  }, 600_000);

  it('ukl-trim boot --json with ukl.ip/ukl.args on the command line: exit 0 and the report fields', async () => {
    const out: string[] = [];
    const io: CliIO = { out: (l) => out.push(l), err: (l) => out.push(l), info: () => {} };
    // the kernel command line overrides the image's defaults: another address and the app's port
    const args = ['boot', '--image', bzImage, '--initrd', initrd, '--append', 'ukl.ip=10.0.2.16/24 ukl.args=7778', '--expect', 'echo-server: listening on 7778'];
    const code = await main([...args, '--tcp-echo', '7778', '--timeout', String(BOOT_TIMEOUT_SECONDS), '--json'], io);
    const report = JSON.parse(out.join('\n')) as Record<string, unknown>;
    expect(code, out.join('\n')).toBe(0);
    expect(report).toMatchObject({ ok: true, markerSeconds: expect.any(Number), echoSeconds: expect.any(Number), consoleTail: expect.any(Array) });
    expect(report.consoleTail).toContain('ukl-init: network up: eth0 10.0.2.16/24 via 10.0.2.2');
  }, 600_000);

  it('ukl-trim build --json (reusing the same kernel build): bzImage, initramfs.cpio, build.log and the report', async () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    const out = join(work, 'cli-out');
    const configFile = join(work, 'kernel.config');
    writeFileSync(configFile, kernelConfig);
    const lines: string[] = [];
    const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), info: () => {} };
    const code = await main(['build', '--kernel', tree, '--config', configFile, '--app', echo, '--app-arg', String(GUEST_PORT), '--out', out, '--build-dir', buildDir, '--json'], io);
    expect(code, lines.join('\n')).toBe(0);
    const report = JSON.parse(lines.join('\n')) as { bzImageBytes: number; initramfsBytes: number; vmlinux: { text: number; data: number; bss: number }; reused: boolean };
    expect(report.reused).toBe(true);
    expect(report.bzImageBytes).toBe(statSync(join(out, 'bzImage')).size);
    expect(report.initramfsBytes).toBe(statSync(join(out, 'initramfs.cpio')).size);
    expect(readFileSync(join(out, 'build.log'), 'utf8')).toMatch(/bzImage is ready/);
    expect(report.vmlinux.text).toBeGreaterThan(1_000_000);
    const size = spawnSync('size', [join(buildDir, 'vmlinux')], { encoding: 'utf8' });
    if (size.status === 0) {
      const [text, data, bss] = (size.stdout.split('\n')[1] ?? '').trim().split(/\s+/).map(Number);
      expect(report.vmlinux).toEqual({ text, data, bss });
    }
  }, 600_000);

  it('a kernel without an initramfs panics, and the report says so with the panic line', async () => {
    const report = await bootKernel({ image: bzImage, expect: /never printed/, timeoutSeconds: BOOT_TIMEOUT_SECONDS });
    expect(report.ok).toBe(false);
    expect(report.failure).toBe('panic');
    expect(report.message).toMatch(/Kernel panic - not syncing/);
    expect(report.consoleTail.length).toBeGreaterThan(0);
  }, 600_000);

  it('an app that exits ends the boot early with its status', async () => {
    const source = join(work, 'exit3.c');
    writeFileSync(source, '#include <stdio.h>\nint main(void) { puts("exit3: bye"); return 3; }\n');
    compileStatic(source, join(work, 'exit3'));
    const image = await buildInitramfs({ app: join(work, 'exit3'), out: join(work, 'exit3.cpio') });
    const report = await bootKernel({ image: bzImage, initrd: image.path, expect: /never printed/, timeoutSeconds: BOOT_TIMEOUT_SECONDS });
    expect(report.failure, report.consoleTail.join('\n')).toBe('exited');
    expect(report.message).toMatch(/\/app exited with status 3/);
    expect(report.consoleTail).toContain('exit3: bye');
  }, 600_000);

  it("a UKL-mode initramfs on a kernel without UKL: init prints UKL's marker, execs the trigger, and the trigger says UKL did not take over", async () => {
    const image = await buildInitramfs({ app: compileUklTrigger(), ukl: true, out: join(work, 'ukl-trigger.cpio') });
    const report = await bootKernel({ image: bzImage, initrd: image.path, expect: /never printed/, timeoutSeconds: BOOT_TIMEOUT_SECONDS });
    expect(report.failure, report.consoleTail.join('\n')).toBe('exited');
    expect(report.message).toMatch(/\/app exited with status 3/);
    expect(report.consoleTail).toContain('UKL BOOTED');
    expect(report.consoleTail.join('\n')).toMatch(/ukl-trigger: \/app ran as an ordinary program: this kernel did not start the UKL application/);
    // booted as a UKL kernel: the trigger's own line ends the boot at once, named for what it means
    const asUkl = await bootKernel({ image: bzImage, initrd: image.path, expect: /never printed/, timeoutSeconds: BOOT_TIMEOUT_SECONDS, ukl: true });
    expect(asUkl.failure, asUkl.consoleTail.join('\n')).toBe('ukl-not-started');
    expect(asUkl.message).toMatch(/^ukl-trigger: \/app ran as an ordinary program/);
  }, 600_000);

  it('a marker that never appears is a timeout, with the console tail', async () => {
    const report = await bootKernel({ image: bzImage, initrd, expect: /never printed/, timeoutSeconds: 8 });
    expect(report.failure).toBe('timeout');
    expect(report.message).toMatch(/within 8 s/);
    expect(report.consoleTail.length).toBeGreaterThan(0);
  }, 120_000);

  it('on such a timeout with an echo asked for, the report says whether the app answers all the same', async () => {
    const boot = (guestPort: number): Promise<BootReport> => bootKernel({ image: bzImage, initrd, expect: /never printed/, tcpEcho: { guestPort }, timeoutSeconds: 15 });
    const [wrongMarker, wrongPort] = [await boot(GUEST_PORT), await boot(GUEST_PORT + 1)];
    expect(wrongMarker.failure).toBe('timeout');
    expect(wrongMarker.message).toMatch(new RegExp(`within 15 s; yet the app answers on guest port ${GUEST_PORT}: its console output did not match`));
    expect(wrongPort.failure).toBe('timeout');
    expect(wrongPort.message).toMatch(new RegExp(`within 15 s; nothing answers on guest port ${GUEST_PORT + 1} either`));
  }, 120_000);

  it('a config that cannot boot to a console (no SERIAL_8250) times out with a clear report', async () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    const loaded = loadKconfig({ tree, arch: 'x86_64' });
    // the suite's kernel without its UART, in a new folder: it starts from a copy of the suite's
    // build (the nearest earlier one), so kbuild recompiles only the files the change reaches
    const config = loaded.kconfig.olddefconfig(mergeConfigFragments(kernelConfig, ['# CONFIG_SERIAL_8250 is not set\n']));
    expect(config).not.toMatch(/^CONFIG_SERIAL_8250_CONSOLE=y/m);
    const build = await buildKernel({ tree, arch: 'x86_64', config, outDir: join(work, 'no-console'), targets: ['bzImage'] });
    const log = readFileSync(build.log, 'utf8');
    const compiled = log.split('\n').filter((l) => /^\s+(CC|AS)\s+\S+\.o$/.test(l)).length;
    // the Kconfig engine synchronised the configuration: make ran no conf of its own
    expect(log).toMatch(/^ukl-trim: configuration synchronised by the Kconfig engine \(\d+ options changed\)$/m);
    expect(log).not.toMatch(/^\s+SYNC\s/m);
    const full = objectFiles(buildDir);
    console.log(`no-console kernel: build ${build.seconds.toFixed(0)} s from a copy of ${build.seededFrom?.from} (${build.seededFrom?.differing} options differ), ${compiled} of ${full} files compiled, ccache ${build.compilerCache?.hits} hits ${build.compilerCache?.misses} misses`);
    expect(build.seededFrom?.from).toBe(buildDir);
    // moved folders keep their objects: had objtool been rebuilt, every object would be too
    expect(compiled).toBeGreaterThan(0);
    expect(compiled * 5).toBeLessThan(full);
    const report = await bootKernel({ image: join(build.outDir, 'arch', 'x86', 'boot', 'bzImage'), initrd, expect: /echo-server: listening/, timeoutSeconds: 15 });
    expect(report.failure).toBe('timeout');
    expect(report.consoleTail).toEqual([]);
    expect(report.message).toMatch(/within 15 s \(the console printed nothing: does the kernel have SERIAL_8250/);
    rmSync(build.outDir, { recursive: true, force: true });
  }, 3_600_000);
});
