import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readSectionSizes } from '../build/elf.js';
import { buildInitramfs, checkInitramfsOptions, InitramfsError, type InitramfsOptions } from '../build/initramfs.js';
import { buildKernel, KernelBuildError } from '../build/kernel-build.js';
import { bootKernel, BootReportSchema } from '../build/qemu.js';
import { resolveKernelForCli, UsageError, type CliIO } from './common.js';
import { detectUklSupport, runUklBuildHint } from '../build/ukl.js';

export const BUILD_USAGE = `usage: ukl-trim build --kernel DIR|TARBALL --config FILE --app FILE --out DIR [--mode initramfs|ukl]
                      [--app-arg ARG]... [--ip ADDR/PREFIX] [--gateway ADDR|none] [--build-dir DIR] [--json]
  builds the kernel from FILE out of tree (in --build-dir, default OUT/kernel; a finished build of
  the same config there is reused), then an initramfs with the static app;
  writes OUT/bzImage, OUT/initramfs.cpio, OUT/build.log and prints sizes and build time`;

export const BOOT_USAGE = `usage: ukl-trim boot --image BZIMAGE [--initrd FILE] [--expect REGEX] [--tcp-echo GUEST_PORT]
                     [--timeout SECONDS] [--append TEXT] [--memory MB] [--guest-ip ADDR] [--json]
  boots under qemu-system-x86_64 (KVM when usable, else TCG); exit 0 only when a console line
  matched REGEX (default "${'ukl-init: network up'}") and, with --tcp-echo, a line came back
  (QEMU forwards it to --guest-ip, default ukl.ip= from --append, else 10.0.2.15)`;

const DEFAULT_MARKER = 'ukl-init: network up';

export const BuildReportSchema = z.object({
  mode: z.literal('initramfs'),
  bzImage: z.string(),
  bzImageBytes: z.number().int(),
  initramfs: z.string(),
  initramfsBytes: z.number().int(),
  vmlinux: z.object({ text: z.number().int(), data: z.number().int(), bss: z.number().int() }),
  buildSeconds: z.number(),
  /** the kernel objects (make O=) */
  buildDir: z.string(),
  /** the build folder already held a finished build of the same config */
  reused: z.boolean(),
  log: z.string(),
});
export type BuildReport = z.infer<typeof BuildReportSchema>;

function readTextOption(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`can't read ${what} "${path}"`);
  }
}

function copyAtomic(from: string, to: string): void {
  const tmp = `${to}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

const thousands = (n: number): string => n.toLocaleString('en-US');

export async function runBuild(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kernel: { type: 'string' },
      config: { type: 'string' },
      app: { type: 'string' },
      mode: { type: 'string', default: 'initramfs' },
      out: { type: 'string' },
      'app-arg': { type: 'string', multiple: true },
      ip: { type: 'string' },
      gateway: { type: 'string' },
      'build-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(BUILD_USAGE);
    return 0;
  }
  const mode = values.mode;
  if (mode !== 'initramfs' && mode !== 'ukl') throw new UsageError(`--mode ${mode}: expected initramfs or ukl`);
  for (const required of ['config', 'app', 'out'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required\n${BUILD_USAGE}`);
  }
  const configPath = values.config as string;
  const app = resolve(values.app as string);
  const out = resolve(values.out as string);
  const tree = await resolveKernelForCli(values.kernel, io);
  if (mode === 'ukl') {
    if (!detectUklSupport(tree).supported) {
      throw new UsageError(runUklBuildHint(tree));
    }
    throw new UsageError(`UKL mode is not implemented yet for ${tree}; use --mode initramfs`);
  }
  const config = readTextOption(configPath, 'configuration');
  const report = await buildImage(
    {
      tree,
      config,
      app,
      ...(values['app-arg'] ? { args: values['app-arg'] } : {}),
      ...(values.ip !== undefined ? { ip: values.ip } : {}),
      ...(values.gateway !== undefined ? { gateway: values.gateway } : {}),
      out,
      ...(values['build-dir'] ? { buildDir: resolve(values['build-dir']) } : {}),
    },
    io,
  );
  if (typeof report === 'number') return report;
  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  io.out(`bzImage    ${report.bzImage}  ${thousands(report.bzImageBytes)} bytes`);
  io.out(`initramfs  ${report.initramfs}  ${thousands(report.initramfsBytes)} bytes`);
  io.out(`vmlinux    text ${thousands(report.vmlinux.text)}  data ${thousands(report.vmlinux.data)}  bss ${thousands(report.vmlinux.bss)}`);
  io.out(`build      ${report.reused ? `reused (same config already built in ${report.buildDir})` : `${report.buildSeconds} s`}  log ${report.log}`);
  return 0;
}

export interface BuildImageParams {
  tree: string;
  config: string;
  /** the static application */
  app: string;
  args?: readonly string[];
  ip?: string;
  gateway?: string;
  out: string;
  buildDir?: string;
}

/**
 * The kernel (make O=) and the initramfs for one config and app, artefacts copied into `out`.
 * Returns the report, or an exit code after printing why the build failed.
 */
export async function buildImage(p: BuildImageParams, io: CliIO): Promise<BuildReport | number> {
  const { tree, config } = p;
  const app = resolve(p.app);
  const out = resolve(p.out);
  // check the app and the initramfs options before spending minutes on the kernel
  const initramfsOptions: InitramfsOptions = {
    app,
    ...(p.args ? { args: [...p.args] } : {}),
    ...(p.ip !== undefined ? { ip: p.ip } : {}),
    ...(p.gateway !== undefined ? { gateway: p.gateway } : {}),
    out: join(out, 'initramfs.cpio'),
  };
  try {
    checkInitramfsOptions(initramfsOptions);
  } catch (e) {
    if (e instanceof InitramfsError) throw new UsageError(e.message);
    throw e;
  }

  mkdirSync(out, { recursive: true });
  const objDir = p.buildDir ?? join(out, 'kernel');
  let steps = 0;
  const progress = (line: string): void => {
    if (!io.isTTY) return;
    steps += 1;
    // one rewritten status line: what make is doing now
    process.stderr.write(`\rkernel build [${steps}] ${line.trim().slice(0, 70)}\x1b[K`);
  };
  let kernel;
  try {
    kernel = await buildKernel({ tree, arch: 'x86_64', config, outDir: objDir, targets: ['bzImage'], onLine: progress });
  } catch (e) {
    if (e instanceof KernelBuildError) {
      if (existsSync(e.log)) copyAtomic(e.log, join(out, 'build.log'));
      io.err(`ukl-trim: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    if (io.isTTY && steps > 0) process.stderr.write('\r\x1b[K');
  }
  const bzImage = join(out, 'bzImage');
  copyAtomic(join(objDir, 'arch', 'x86', 'boot', 'bzImage'), bzImage);
  if (existsSync(kernel.log)) copyAtomic(kernel.log, join(out, 'build.log'));

  let initramfs;
  try {
    initramfs = await buildInitramfs(initramfsOptions);
  } catch (e) {
    if (e instanceof InitramfsError && (e.code.startsWith('app-') || e.code === 'bad-option')) throw new UsageError(e.message);
    // no static toolchain for init: the machine's setup, not a bug
    if (e instanceof InitramfsError) {
      io.err(`ukl-trim: ${e.message}`);
      return 1;
    }
    throw e;
  }

  const report: BuildReport = BuildReportSchema.parse({
    mode: 'initramfs',
    bzImage,
    bzImageBytes: statSync(bzImage).size,
    initramfs: initramfs.path,
    initramfsBytes: initramfs.bytes,
    vmlinux: readSectionSizes(join(objDir, 'vmlinux')),
    buildSeconds: Math.round(kernel.seconds * 10) / 10,
    buildDir: objDir,
    reused: kernel.reused,
    log: join(out, 'build.log'),
  });
  return report;
}

function positiveNumber(text: string | undefined, option: string, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`${option} ${text}: expected a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

export async function runBoot(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      initrd: { type: 'string' },
      expect: { type: 'string', default: DEFAULT_MARKER },
      'tcp-echo': { type: 'string' },
      timeout: { type: 'string' },
      append: { type: 'string' },
      memory: { type: 'string' },
      'guest-ip': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(BOOT_USAGE);
    return 0;
  }
  if (!values.image) throw new UsageError(`--image is required\n${BOOT_USAGE}`);
  for (const [option, path] of [['--image', values.image], ['--initrd', values.initrd]] as const) {
    if (path !== undefined && !existsSync(path)) throw new UsageError(`${option} ${path}: no such file`);
  }
  let expect: RegExp;
  try {
    expect = new RegExp(values.expect as string);
  } catch (e) {
    throw new UsageError(`--expect: not a regular expression: ${(e as Error).message}`);
  }
  const guestPort = values['tcp-echo'] === undefined ? undefined : positiveNumber(values['tcp-echo'], '--tcp-echo', 0, true);
  if (guestPort !== undefined && guestPort > 65535) throw new UsageError(`--tcp-echo ${guestPort}: not a TCP port`);
  if (values['guest-ip'] !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(values['guest-ip'])) throw new UsageError(`--guest-ip ${values['guest-ip']}: not an IPv4 address`);
  const report = await bootKernel({
    image: values.image,
    ...(values.initrd ? { initrd: values.initrd } : {}),
    ...(values.append ? { append: values.append } : {}),
    expect,
    ...(guestPort !== undefined ? { tcpEcho: { guestPort, ...(values['guest-ip'] ? { guestAddress: values['guest-ip'] } : {}) } } : {}),
    timeoutSeconds: positiveNumber(values.timeout, '--timeout', 120),
    memoryMB: positiveNumber(values.memory, '--memory', 256, true),
    // the console as it happens, for people watching (the report keeps the tail either way)
    ...(values.json ? {} : { onConsoleLine: (l: string) => io.info(`| ${l}`) }),
  });
  BootReportSchema.parse(report);
  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
    return report.ok ? 0 : 1;
  }
  if (report.ok) {
    const echo = report.echoSeconds !== null ? `, echo after ${report.echoSeconds} s` : '';
    io.out(`ok: marker after ${report.markerSeconds} s${echo} (${report.accel})`);
    return 0;
  }
  io.out(`failed (${report.failure}): ${report.message ?? ''}`);
  io.out('last console lines:');
  for (const l of report.consoleTail.slice(-15)) io.out(`  ${l}`);
  return 1;
}
