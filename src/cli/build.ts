import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildImage,
  buildUklImage,
  type BuildHooks,
  type BuildImageParams,
  type BuildReport,
  type BuildUklImageParams,
} from '../build/image.js';
import { describeSeed } from '../build/build-seed.js';
import { bootKernel, BootReportSchema } from '../build/qemu.js';
import { BOOT_FLAGS, BOOT_FLAGS_HELP, BOOT_FLAGS_USAGE, bootChoices, printBootResult } from './boot-options.js';
import { joinFlagValues, progressOf, resolveKernelForCli, UsageError, type CliIO } from './common.js';
import { INITRAMFS_FLAGS, INITRAMFS_FLAGS_HELP, INITRAMFS_FLAGS_USAGE, initramfsChoices } from './initramfs-options.js';

export const BUILD_USAGE = `usage: ukl-trim build --kernel DIR|TARBALL [--patch FILE]... --config FILE --app FILE --out DIR [--mode initramfs|ukl]
                      [--app-arg ARG]... ${INITRAMFS_FLAGS_USAGE} [--ip ADDR/PREFIX] [--gateway ADDR|none]
                      [--build-dir DIR] [--distcc HOST]... [--libc glibc|musl|musl-ukl|none|PATH] [--json]
  builds the kernel from FILE out of tree (in --build-dir, default OUT/kernel; a finished build of
  the same config there is reused), then an initramfs with the app (a dynamically linked one with
  its interpreter and libraries);
  writes OUT/bzImage, OUT/initramfs.cpio, OUT/build.log and prints sizes and build time.
  --mode ukl (a tree with UKL support): --app is the app's C sources and objects (repeat --app)
  or a ready UKL.a; writes OUT/UKL.a (built with --libc, default glibc) and links it into
  vmlinux (UKL_ARCHIVE_PATH), with UKL_NAME=/app, the path our init execs
${INITRAMFS_FLAGS_HELP}`;

export const BOOT_USAGE = `usage: ukl-trim boot --image BZIMAGE [--initrd FILE] ${BOOT_FLAGS_USAGE} [--ukl] [--json]
  boots under qemu-system-x86_64 (KVM when usable, else TCG); exit 0 only when the marker appeared
  and, with --tcp-echo, the line came back; --ukl: a UKL kernel (under KVM the CPU is given no
  SMAP/SMEP, as UKL needs).
${BOOT_FLAGS_HELP}`;

function readTextOption(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`can't read ${what} "${path}"`);
  }
}

const thousands = (n: number): string => n.toLocaleString('en-US');

export async function runBuild(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    // an app's own flags start with a dash: `--app-arg -u` is the app's -u
    args: joinFlagValues(argv, ['--app-arg']),
    options: {
      kernel: { type: 'string' },
      patch: { type: 'string', multiple: true },
      config: { type: 'string' },
      app: { type: 'string', multiple: true },
      mode: { type: 'string', default: 'initramfs' },
      libc: { type: 'string' },
      out: { type: 'string' },
      'app-arg': { type: 'string', multiple: true },
      ...INITRAMFS_FLAGS,
      ip: { type: 'string' },
      gateway: { type: 'string' },
      'build-dir': { type: 'string' },
      distcc: { type: 'string', multiple: true },
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
    if (!values[required]) throw new UsageError(`--${required} is required; see 'ukl-trim build --help'`);
  }
  const configPath = values.config as string;
  const apps = (values.app ?? []).map((a) => resolve(a));
  const out = resolve(values.out as string);
  if (mode === 'initramfs' && apps.length > 1) throw new UsageError('--app: initramfs mode takes one executable');
  if (mode === 'initramfs' && values.libc !== undefined) throw new UsageError('--libc is for UKL mode (the libc UKL.a is linked with); in initramfs mode the app is already linked');
  const initramfs = initramfsChoices(values);
  const tree = await resolveKernelForCli(values.kernel, io, values.patch ?? []);
  const config = readTextOption(configPath, 'configuration');
  const common = {
    tree,
    config,
    ...(values['app-arg'] ? { args: values['app-arg'] } : {}),
    ...initramfs,
    ...(values.ip !== undefined ? { ip: values.ip } : {}),
    ...(values.gateway !== undefined ? { gateway: values.gateway } : {}),
    out,
    ...(values['build-dir'] ? { buildDir: resolve(values['build-dir']) } : {}),
    ...(values.distcc ? { distccHosts: values.distcc } : {}),
  };
  const report = await imageForCli(mode === 'ukl' ? { mode, ...common, app: apps, ...(values.libc !== undefined ? { libc: values.libc } : {}) } : { mode, ...common, app: apps[0] as string }, io);
  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  if (report.ukl !== undefined) io.out(`UKL.a      ${report.ukl.archive}  linked into vmlinux, started when init execs ${report.ukl.trigger}`);
  io.out(`bzImage    ${report.bzImage}  ${thousands(report.bzImageBytes)} bytes`);
  io.out(`initramfs  ${report.initramfs}  ${thousands(report.initramfsBytes)} bytes`);
  io.out(`vmlinux    text ${thousands(report.vmlinux.text)}  data ${thousands(report.vmlinux.data)}  bss ${thousands(report.vmlinux.bss)}`);
  io.out(`build      ${report.reused ? `reused (same config already built in ${report.buildDir})` : `${report.buildSeconds} s${buildNote(report)}`}  log ${report.log}`);
  return 0;
}

/** buildImage / buildUklImage for the CLI: make's progress on the progress display, warnings on stderr */
export async function imageForCli(
  params: ({ mode: 'initramfs' } & BuildImageParams) | ({ mode: 'ukl' } & BuildUklImageParams),
  io: CliIO,
): Promise<BuildReport> {
  const progress = progressOf(io);
  const hooks: BuildHooks = {
    onPhase: (phase) => progress.begin(phase),
    onBuildProgress: (compiled, expected) => progress.detail(expected === null ? `${compiled} files compiled` : `${compiled} files compiled (the last full build in this folder: ${expected})`),
    onWarning: (text) => io.info(`ukl-trim: warning: ${text}`),
  };
  try {
    return params.mode === 'ukl' ? await buildUklImage({ ...params, ...hooks }) : await buildImage({ ...params, ...hooks });
  } finally {
    progress.end();
  }
}

/** `, from a copy of DIR (3 options differ), ccache 812 hits 40 misses, distcc on HOST…` when the build went through them */
export function buildNote(report: BuildReport): string {
  const seed = report.seededFrom ? `, ${describeSeed(report.seededFrom)}` : '';
  const cache = report.compilerCache ? `, ccache ${report.compilerCache.hits} hits ${report.compilerCache.misses} misses` : '';
  return `${seed}${cache}${report.distccHosts.length > 0 ? `, distcc on ${report.distccHosts.join(' ')}` : ''}`;
}


export async function runBoot(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { image: { type: 'string' }, initrd: { type: 'string' }, ...BOOT_FLAGS, ukl: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    io.out(BOOT_USAGE);
    return 0;
  }
  if (!values.image) throw new UsageError(`--image is required; see 'ukl-trim boot --help'`);
  for (const [option, path] of [['--image', values.image], ['--initrd', values.initrd]] as const) {
    if (path !== undefined && !existsSync(path)) throw new UsageError(`${option} ${path}: no such file`);
  }
  const report = await bootKernel({
    image: values.image,
    ...(values.initrd ? { initrd: values.initrd } : {}),
    ...bootChoices(values, { ukl: values.ukl === true }),
    ...(values.ukl ? { ukl: true } : {}),
    // the console as it happens, for people watching (the report keeps the tail either way)
    ...(values.json ? {} : { onConsoleLine: (l: string) => io.info(`| ${l}`) }),
  });
  BootReportSchema.parse(report);
  if (values.json) io.out(JSON.stringify(report, null, 2));
  else printBootResult(report, io);
  return report.ok ? 0 : 1;
}
