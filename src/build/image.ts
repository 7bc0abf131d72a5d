import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ArchiveError } from '../lto/archive.js';
import { ElfError, isElf, SHN_UNDEF } from '../lto/elf.js';
import { isUklArchive } from '../lto/link.js';
import { readSectionSizes } from './elf.js';
import { buildInitramfs, checkIncludes, checkInitramfsOptions, checkInitramfsSettings, InitramfsError, type InitramfsInclude, type InitramfsOptions, type InitramfsResult } from './initramfs.js';
import { buildKernel, KernelBuildError, type KernelBuildResult } from './kernel-build.js';
import { detectUklSupport, runUklBuildHint } from '../kernel/ukl-support.js';
import { archiveObjects, archiveTlsBytes, buildUklArchive, isKernelProvidedSymbol, UklError } from '../lto/ukl-archive.js';
import { compileUklTrigger, UKL_TRIGGER_PATH, uklKernelConfig } from './ukl-kernel.js';
import { UklTrimError } from '../util/errors.js';

/**
 * A bootable image for one config and app: the kernel built out of tree and the initramfs,
 * in initramfs mode (any tree) or UKL mode (a tree with UKL support).
 */

export type ImageBuildErrorCode =
  /** the app, an option or the config is the problem: the user's to fix */
  | 'bad-input'
  /** UKL mode on a tree without UKL support */
  | 'no-ukl-support'
  /** the kernel build failed (`log` holds the full log) */
  | 'build-failed'
  /** a tool this machine lacks (static libc for init, binutils for UKL.a) */
  | 'toolchain';

export class ImageBuildError extends UklTrimError<ImageBuildErrorCode> {
  static readonly codes: readonly ImageBuildErrorCode[] = ['bad-input', 'no-ukl-support', 'build-failed', 'toolchain'];
  override get internal(): boolean {
    return this.code === 'build-failed';
  }
}

export interface BuildHooks {
  /** each step as it starts: 'building UKL.a', 'building the kernel', 'writing the initramfs' */
  onPhase?: (phase: string) => void;
  /** each line make prints */
  onBuildLine?: (line: string) => void;
  /** files compiled so far, and how many the last full build in the folder compiled */
  onBuildProgress?: (compiled: number, expected: number | null) => void;
  /** things worth knowing that do not stop the build (e.g. an ordinary libc in UKL.a) */
  onWarning?: (text: string) => void;
}

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
  /** a new build folder started from a copy of this earlier build, with this many options differing */
  seededFrom: z.object({ from: z.string(), differing: z.number().int() }).nullable().default(null),
  /** ccache in this build (null without ccache, or when the build was reused) */
  compilerCache: z.object({ hits: z.number().int(), misses: z.number().int() }).nullable(),
  /** the distcc hosts the compiles went to (empty without distcc) */
  distccHosts: z.array(z.string()),
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

/** what goes into the initramfs besides the app: its arguments and name, the network, the user's files */
export interface InitramfsParams {
  args?: readonly string[];
  /** argv[0] the app is started under (default /app) */
  appName?: string;
  /** host files and folders copied into the initramfs (a config file, a document root) */
  includes?: readonly InitramfsInclude[];
  ip?: string;
  gateway?: string;
}

export interface BuildImageParams extends InitramfsParams {
  tree: string;
  config: string;
  /** the static application */
  app: string;
  out: string;
  buildDir?: string;
  /** compile on these distcc hosts (default $DISTCC_HOSTS, if set) */
  distccHosts?: readonly string[];
}

/** the initramfs options of either mode, written to OUT/initramfs.cpio */
function initramfsOptionsOf(p: InitramfsParams, app: string, out: string, ukl: boolean): InitramfsOptions {
  return {
    app,
    ...(p.args ? { args: [...p.args] } : {}),
    ...(p.appName !== undefined ? { appName: p.appName } : {}),
    ...(p.includes ? { includes: p.includes } : {}),
    ...(p.ip !== undefined ? { ip: p.ip } : {}),
    ...(p.gateway !== undefined ? { gateway: p.gateway } : {}),
    out: join(out, 'initramfs.cpio'),
    ...(ukl ? { ukl: true } : {}),
  };
}

/**
 * Initramfs mode: the kernel (make O=) and the initramfs for one config and a static app,
 * artefacts copied into `out` (bzImage, initramfs.cpio, build.log).
 */
export async function buildImage(p: BuildImageParams & BuildHooks): Promise<BuildReport> {
  const { tree, config } = p;
  const app = resolve(p.app);
  const out = resolve(p.out);
  // check the app and the initramfs options before spending minutes on the kernel
  const initramfsOptions = initramfsOptionsOf(p, app, out, false);
  try {
    checkInitramfsOptions(initramfsOptions);
  } catch (e) {
    if (e instanceof InitramfsError) throw new ImageBuildError('bad-input', e.message);
    throw e;
  }

  mkdirSync(out, { recursive: true });
  const objDir = p.buildDir ?? join(out, 'kernel');
  const kernel = await buildKernelInto(tree, config, objDir, out, p);
  p.onPhase?.('writing the initramfs');
  const initramfs = await initramfsInto(initramfsOptions);

  return imageReport('initramfs', out, objDir, kernel, initramfs);
}

/** make O=objDir bzImage, then bzImage and build.log copied into out */
async function buildKernelInto(tree: string, config: string, objDir: string, out: string, hooks: BuildHooks & { distccHosts?: readonly string[] }, extraKey?: string): Promise<KernelBuildResult> {
  hooks.onPhase?.('building the kernel');
  let kernel: KernelBuildResult;
  try {
    kernel = await buildKernel({
      tree,
      arch: 'x86_64',
      config,
      outDir: objDir,
      targets: ['bzImage'],
      ...(hooks.onBuildLine ? { onLine: hooks.onBuildLine } : {}),
      ...(hooks.onBuildProgress ? { onProgress: hooks.onBuildProgress } : {}),
      ...(hooks.distccHosts !== undefined ? { distccHosts: hooks.distccHosts } : {}),
      ...(extraKey !== undefined ? { extraKey } : {}),
    });
  } catch (e) {
    if (e instanceof KernelBuildError) {
      const log = e.location?.file;
      if (log !== undefined && existsSync(log)) copyAtomic(log, join(out, 'build.log'));
      throw new ImageBuildError(e.code === 'build-failed' ? 'build-failed' : 'bad-input', e.message, { location: { file: join(out, 'build.log') }, chain: e.chain, cause: e });
    }
    throw e;
  }
  copyAtomic(join(objDir, 'arch', 'x86', 'boot', 'bzImage'), join(out, 'bzImage'));
  if (existsSync(kernel.log)) copyAtomic(kernel.log, join(out, 'build.log'));
  return kernel;
}

/** the initramfs: a bad app or option is bad input; no static toolchain for init is the machine's */
async function initramfsInto(options: InitramfsOptions): Promise<InitramfsResult> {
  try {
    return await buildInitramfs(options);
  } catch (e) {
    if (e instanceof InitramfsError) throw new ImageBuildError(e.code === 'init-compile' ? 'toolchain' : 'bad-input', e.message);
    throw e;
  }
}

export interface BuildUklImageParams extends InitramfsParams {
  tree: string;
  config: string;
  /** C sources and objects (compiled with UKL's flags) to build UKL.a from, or one ready UKL.a */
  app: readonly string[];
  /** the libc UKL.a is linked with (buildUklArchive's libc): glibc, musl, none or a libc.a */
  libc?: string;
  out: string;
  buildDir?: string;
  /** compile on these distcc hosts (default $DISTCC_HOSTS, if set) */
  distccHosts?: readonly string[];
}

/**
 * UKL mode on a UKL tree: UKL.a built the way UKL does (or taken as given), the config given
 * UKL's settings (UKL_ARCHIVE_PATH = OUT/UKL.a, UKL_NAME = /app) and checked by the engine, the
 * kernel built with the app linked into vmlinux, and an initramfs whose init brings the network
 * up and execs /app, the trigger (a program that reports it when UKL did not take over).
 */
export async function buildUklImage(p: BuildUklImageParams & BuildHooks): Promise<BuildReport> {
  const { tree } = p;
  const out = resolve(p.out);
  if (!detectUklSupport(tree).supported) throw new ImageBuildError('no-ukl-support', runUklBuildHint(tree));
  if (p.app.length === 0) throw new ImageBuildError('bad-input', 'UKL mode: no application sources, objects or UKL.a given');
  checkUklAppInputs(p.app);
  checkInitramfsParams(p);
  mkdirSync(out, { recursive: true });
  const archive = join(out, 'UKL.a');
  // the config first, as far as it can be checked without UKL.a: it fails in a second
  await uklConfigFor(tree, p.config, archive, false);
  let undefinedSymbols: string[];
  const warnings: string[] = [];
  let given: boolean;
  try {
    given = p.app.length === 1 && isUklArchive(readFileSync(p.app[0] as string), p.app[0] as string);
  } catch (e) {
    if (e instanceof ArchiveError || e instanceof ElfError) throw new ImageBuildError('bad-input', e.message);
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
      p.onPhase?.('building UKL.a');
      const built = await buildUklArchive({ sources, objects, out: archive, ...(p.libc !== undefined ? { libc: p.libc } : {}) });
      undefinedSymbols = built.undefinedSymbols;
      warnings.push(...built.warnings);
    }
  } catch (e) {
    if (e instanceof UklError) throw new ImageBuildError(e.code === 'tool-missing' ? 'toolchain' : 'bad-input', e.message);
    throw e;
  }
  for (const warning of warnings) p.onWarning?.(warning);
  // minutes before the vmlinux link would say it
  const unresolved = undefinedSymbols.filter((name) => !isKernelProvidedSymbol(name));
  if (unresolved.length > 0) {
    throw new ImageBuildError('bad-input', `UKL.a leaves ${unresolved.slice(0, 6).join(', ')}${unresolved.length > 6 ? ', …' : ''} undefined, and the UKL kernel does not define ${unresolved.length > 1 ? 'them' : 'it'}: the vmlinux link would fail (link the app with a libc, or define ${unresolved.length > 1 ? 'them' : 'it'} in the app)`);
  }
  // UKL_TLS follows the archive: a TLS segment needs it, and without one a UKL_TLS kernel hangs
  const kernelConfig = await uklConfigFor(tree, p.config, archive, archiveTlsBytes(archive) > 0);

  const objDir = p.buildDir ?? join(out, 'kernel');
  const archiveHash = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const kernel = await buildKernelInto(tree, kernelConfig.config, objDir, out, p, `UKL.a ${archiveHash}`);

  p.onPhase?.('writing the initramfs');
  let trigger: string;
  try {
    trigger = compileUklTrigger();
  } catch (e) {
    if (e instanceof InitramfsError) throw new ImageBuildError('toolchain', e.message);
    throw e;
  }
  const initramfs = await initramfsInto(initramfsOptionsOf(p, trigger, out, true));
  return imageReport('ukl', out, objDir, kernel, initramfs, { archive, trigger: UKL_TRIGGER_PATH, undefinedSymbols, warnings });
}

/** the config with UKL's settings, checked by the engine; a config that cannot take them is bad input */
async function uklConfigFor(tree: string, config: string, archive: string, tls: boolean): Promise<Awaited<ReturnType<typeof uklKernelConfig>>> {
  try {
    return await uklKernelConfig({ tree, config, archivePath: archive, tls });
  } catch (e) {
    if (e instanceof UklError) throw new ImageBuildError('bad-input', e.message);
    throw e;
  }
}

/** the report of either mode: artefacts in `out`, sizes, build time */
function imageReport(mode: BuildReport['mode'], out: string, objDir: string, kernel: KernelBuildResult, initramfs: InitramfsResult, ukl?: BuildReport['ukl']): BuildReport {
  const bzImage = join(out, 'bzImage');
  return BuildReportSchema.parse({
    mode,
    bzImage,
    bzImageBytes: statSync(bzImage).size,
    initramfs: initramfs.path,
    initramfsBytes: initramfs.bytes,
    vmlinux: readSectionSizes(join(objDir, 'vmlinux')),
    buildSeconds: Math.round(kernel.seconds * 10) / 10,
    buildDir: objDir,
    reused: kernel.reused,
    seededFrom: kernel.seededFrom,
    compilerCache: kernel.compilerCache,
    distccHosts: kernel.distccHosts,
    log: join(out, 'build.log'),
    ...(ukl !== undefined ? { ukl } : {}),
  });
}

/**
 * UKL.a is built from what the app was compiled to (sources, objects, archives) or given ready;
 * a linked program cannot go into it. Throws ImageBuildError('bad-input').
 */
export function checkUklAppInputs(inputs: readonly string[]): void {
  for (const file of inputs) {
    if (!existsSync(file)) throw new ImageBuildError('bad-input', `${file}: no such file`);
    const head = readHead(file, 18);
    const elfType = head.length >= 18 && isElf(head) ? head[16] : undefined;
    // ET_EXEC 2, ET_DYN 3
    if (elfType === 2 || elfType === 3) {
      throw new ImageBuildError('bad-input', `${file} is a linked program: UKL mode needs the app's sources or objects (compiled with -mno-red-zone -mcmodel=kernel -fno-PIC) or a UKL.a`);
    }
  }
}

/** the first bytes of a file (a header), without reading the rest */
function readHead(file: string, bytes: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(bytes);
    return head.subarray(0, readSync(fd, head, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/** the initramfs settings and includes, checked before UKL.a and the kernel are built */
function checkInitramfsParams(p: InitramfsParams): void {
  try {
    const options = initramfsOptionsOf(p, '', '', true);
    checkInitramfsSettings(options);
    checkIncludes(options.includes ?? []);
  } catch (e) {
    if (e instanceof InitramfsError) throw new ImageBuildError('bad-input', e.message);
    throw e;
  }
}


function copyAtomic(from: string, to: string): void {
  const tmp = `${to}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}
