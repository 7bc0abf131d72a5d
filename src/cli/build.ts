import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readSectionSizes } from '../build/elf.js';
import { buildInitramfs, checkInitramfsOptions, checkInitramfsSettings, InitramfsError, type InitramfsOptions, type InitramfsResult } from '../build/initramfs.js';
import { buildKernel, KernelBuildError, type KernelBuildResult } from '../build/kernel-build.js';
import { bootKernel, BootReportSchema } from '../build/qemu.js';
import { resolveKernelForCli, UsageError, type CliIO } from './common.js';
import { archiveObjects, buildUklArchive, detectUklSupport, runUklBuildHint, UklError } from '../build/ukl.js';
import { compileUklTrigger, UKL_TRIGGER_PATH, uklKernelConfig } from '../build/ukl-kernel.js';
import { isUklArchive } from '../lto/link.js';
import { ArchiveError } from '../lto/archive.js';
import { ElfError, SHN_UNDEF } from '../lto/elf.js';

export const BUILD_USAGE = `usage: ukl-trim build --kernel DIR|TARBALL --config FILE --app FILE --out DIR [--mode initramfs|ukl]
                      [--app-arg ARG]... [--ip ADDR/PREFIX] [--gateway ADDR|none] [--build-dir DIR]
                      [--libc glibc|musl|none|PATH] [--json]
  builds the kernel from FILE out of tree (in --build-dir, default OUT/kernel; a finished build of
  the same config there is reused), then an initramfs with the static app;
  writes OUT/bzImage, OUT/initramfs.cpio, OUT/build.log and prints sizes and build time.
  --mode ukl (a tree with UKL support): --app is the app's C sources and objects (repeat --app)
  or a ready UKL.a; writes OUT/UKL.a (built with --libc, default glibc) and links it into
  vmlinux (UKL_ARCHIVE_PATH), with UKL_NAME=/app, the path our init execs`;

export const BOOT_USAGE = `usage: ukl-trim boot --image BZIMAGE [--initrd FILE] [--expect REGEX] [--tcp-echo GUEST_PORT]
                     [--timeout SECONDS] [--append TEXT] [--memory MB] [--guest-ip ADDR] [--ukl] [--json]
  boots under qemu-system-x86_64 (KVM when usable, else TCG); exit 0 only when a console line
  matched REGEX (default "${'ukl-init: network up'}") and, with --tcp-echo, a line came back
  (QEMU forwards it to --guest-ip, default ukl.ip= from --append, else 10.0.2.15);
  --ukl: a UKL kernel (under KVM the CPU is given no SMAP/SMEP, as UKL needs)`;

const DEFAULT_MARKER = 'ukl-init: network up';

export const BuildReportSchema = z.object({
  mode: z.enum(['initramfs', 'ukl']),
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
  /** UKL mode: the app archive linked into vmlinux, and what the kernel link must provide */
  ukl: z
    .object({
      archive: z.string(),
      trigger: z.string(),
      undefinedSymbols: z.array(z.string()),
      warnings: z.array(z.string()),
    })
    .optional(),
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
      app: { type: 'string', multiple: true },
      mode: { type: 'string', default: 'initramfs' },
      libc: { type: 'string' },
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
  const apps = (values.app ?? []).map((a) => resolve(a));
  const out = resolve(values.out as string);
  if (mode === 'initramfs' && apps.length > 1) throw new UsageError('--app: initramfs mode takes one static executable');
  if (mode === 'initramfs' && values.libc !== undefined) throw new UsageError('--libc is for UKL mode (the libc UKL.a is linked with); in initramfs mode the app is already linked');
  const tree = await resolveKernelForCli(values.kernel, io);
  const config = readTextOption(configPath, 'configuration');
  const common = {
    tree,
    config,
    ...(values['app-arg'] ? { args: values['app-arg'] } : {}),
    ...(values.ip !== undefined ? { ip: values.ip } : {}),
    ...(values.gateway !== undefined ? { gateway: values.gateway } : {}),
    out,
    ...(values['build-dir'] ? { buildDir: resolve(values['build-dir']) } : {}),
  };
  const report =
    mode === 'ukl'
      ? await buildUklImage({ ...common, app: apps, ...(values.libc !== undefined ? { libc: values.libc } : {}) }, io)
      : await buildImage({ ...common, app: apps[0] as string }, io);
  if (typeof report === 'number') return report;
  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  if (report.ukl !== undefined) io.out(`UKL.a      ${report.ukl.archive}  linked into vmlinux, started when init execs ${report.ukl.trigger}`);
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
  const kernel = await buildKernelInto(tree, config, objDir, out, io);
  if (typeof kernel === 'number') return kernel;
  const bzImage = join(out, 'bzImage');

  const initramfs = await initramfsInto(initramfsOptions, io);
  if (typeof initramfs === 'number') return initramfs;

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

/** make O=objDir bzImage, then bzImage and build.log copied into out; an exit code on failure */
async function buildKernelInto(tree: string, config: string, objDir: string, out: string, io: CliIO, extraKey?: string): Promise<KernelBuildResult | number> {
  let steps = 0;
  const progress = (line: string): void => {
    if (!io.isTTY) return;
    steps += 1;
    // one rewritten status line: what make is doing now
    process.stderr.write(`\rkernel build [${steps}] ${line.trim().slice(0, 70)}\x1b[K`);
  };
  let kernel: KernelBuildResult;
  try {
    kernel = await buildKernel({ tree, arch: 'x86_64', config, outDir: objDir, targets: ['bzImage'], onLine: progress, ...(extraKey !== undefined ? { extraKey } : {}) });
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
  copyAtomic(join(objDir, 'arch', 'x86', 'boot', 'bzImage'), join(out, 'bzImage'));
  if (existsSync(kernel.log)) copyAtomic(kernel.log, join(out, 'build.log'));
  return kernel;
}

/** the initramfs, with the errors that are the user's (bad app, bad option) as usage errors */
async function initramfsInto(options: InitramfsOptions, io: CliIO): Promise<InitramfsResult | number> {
  try {
    return await buildInitramfs(options);
  } catch (e) {
    if (e instanceof InitramfsError && (e.code.startsWith('app-') || e.code === 'bad-option')) throw new UsageError(e.message);
    // no static toolchain for init: the machine's setup, not a bug
    if (e instanceof InitramfsError) {
      io.err(`ukl-trim: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

export interface BuildUklImageParams {
  tree: string;
  config: string;
  /** C sources and objects (compiled with UKL's flags) to build UKL.a from, or one ready UKL.a */
  app: readonly string[];
  /** the libc UKL.a is linked with (buildUklArchive's libc): glibc, musl, none or a libc.a */
  libc?: string;
  args?: readonly string[];
  ip?: string;
  gateway?: string;
  out: string;
  buildDir?: string;
}

/**
 * UKL mode on a UKL tree: UKL.a built the way UKL does (or taken as given), the config given
 * UKL's settings (UKL_ARCHIVE_PATH = OUT/UKL.a, UKL_NAME = /app) and checked by the engine, the
 * kernel built with the app linked into vmlinux, and an initramfs whose init brings the network
 * up and execs /app, the trigger (a program that reports it when UKL did not take over).
 */
export async function buildUklImage(p: BuildUklImageParams, io: CliIO): Promise<BuildReport | number> {
  const { tree } = p;
  const out = resolve(p.out);
  if (!detectUklSupport(tree).supported) throw new UsageError(runUklBuildHint(tree));
  if (p.app.length === 0) throw new UsageError('UKL mode: no application sources, objects or UKL.a given');
  for (const file of p.app) if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  checkNetwork(p);
  mkdirSync(out, { recursive: true });
  const archive = join(out, 'UKL.a');
  // the config first: it fails in a second, UKL.a and the kernel take longer
  let kernelConfig;
  try {
    kernelConfig = await uklKernelConfig({ tree, config: p.config, archivePath: archive, tls: p.libc !== 'none' });
  } catch (e) {
    if (e instanceof UklError) throw new UsageError(e.message);
    throw e;
  }
  let undefinedSymbols: string[];
  const warnings: string[] = [];
  let given: boolean;
  try {
    given = p.app.length === 1 && isUklArchive(readFileSync(p.app[0] as string), p.app[0] as string);
  } catch (e) {
    if (e instanceof ArchiveError || e instanceof ElfError) throw new UsageError(e.message);
    throw e;
  }
  try {
    if (given) {
      copyAtomic(resolve(p.app[0] as string), archive);
      const members = archiveObjects(archive);
      undefinedSymbols = [...new Set(members.flatMap((m) => m.symbols().filter((s) => s.index > 0 && s.sectionIndex === SHN_UNDEF && s.bind === 'GLOBAL').map((s) => s.name)))].sort();
    } else {
      const sources = p.app.filter((f) => /\.(c|S|s)$/.test(f));
      const objects = p.app.filter((f) => !sources.includes(f));
      const built = await buildUklArchive({ sources, objects, out: archive, ...(p.libc !== undefined ? { libc: p.libc } : {}) });
      undefinedSymbols = built.undefinedSymbols;
      warnings.push(...built.warnings);
    }
  } catch (e) {
    if (e instanceof UklError && e.code !== 'tool-missing') throw new UsageError(e.message);
    if (e instanceof UklError) {
      io.err(`ukl-trim: ${e.message}`);
      return 1;
    }
    throw e;
  }
  for (const warning of warnings) io.info(`ukl-trim: warning: ${warning}`);

  const objDir = p.buildDir ?? join(out, 'kernel');
  const archiveHash = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const kernel = await buildKernelInto(tree, kernelConfig.config, objDir, out, io, `UKL.a ${archiveHash}`);
  if (typeof kernel === 'number') return kernel;
  const bzImage = join(out, 'bzImage');

  let trigger: string;
  try {
    trigger = compileUklTrigger();
  } catch (e) {
    if (e instanceof InitramfsError) {
      io.err(`ukl-trim: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const initramfs = await initramfsInto(
    {
      app: trigger,
      ...(p.args ? { args: [...p.args] } : {}),
      ...(p.ip !== undefined ? { ip: p.ip } : {}),
      ...(p.gateway !== undefined ? { gateway: p.gateway } : {}),
      out: join(out, 'initramfs.cpio'),
    },
    io,
  );
  if (typeof initramfs === 'number') return initramfs;
  return BuildReportSchema.parse({
    mode: 'ukl',
    bzImage,
    bzImageBytes: statSync(bzImage).size,
    initramfs: initramfs.path,
    initramfsBytes: initramfs.bytes,
    vmlinux: readSectionSizes(join(objDir, 'vmlinux')),
    buildSeconds: Math.round(kernel.seconds * 10) / 10,
    buildDir: objDir,
    reused: kernel.reused,
    log: join(out, 'build.log'),
    ukl: { archive, trigger: UKL_TRIGGER_PATH, undefinedSymbols, warnings },
  });
}

function checkNetwork(p: { ip?: string; gateway?: string; args?: readonly string[] }): void {
  try {
    checkInitramfsSettings({ ...(p.args ? { args: [...p.args] } : {}), ...(p.ip !== undefined ? { ip: p.ip } : {}), ...(p.gateway !== undefined ? { gateway: p.gateway } : {}) });
  } catch (e) {
    if (e instanceof InitramfsError) throw new UsageError(e.message);
    throw e;
  }
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
      ukl: { type: 'boolean' },
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
    ...(values.ukl ? { ukl: true } : {}),
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
