import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { cacheHome } from '../util/cache-home.js';
import { describeSeed, recordBuildFolder, seedBuildFolder, type BuildSeed } from './build-seed.js';
import { compilerCache, distccSlots, readCompilerCacheStats, withDistcc, type CompilerCacheStats } from './ccache.js';
import { UklTrimError } from '../util/errors.js';
import type { LoadedKconfig } from '../kconfig/load.js';
import { synchroniseConfig } from './sync-config.js';

/**
 * An out-of-tree kernel build (`make O=DIR`) from a given .config, with the full log kept and,
 * on failure, the first compiler or linker error lines in the message.
 */

export type KernelBuildErrorCode =
  /** make failed: `location.file` is the log, `chain` its first errors */
  | 'build-failed'
  /** the distcc host list cannot be used */
  | 'bad-farm';

export class KernelBuildError extends UklTrimError<KernelBuildErrorCode> {
  static readonly codes: readonly KernelBuildErrorCode[] = ['build-failed', 'bad-farm'];
  override get internal(): boolean {
    return this.code === 'build-failed';
  }
}

export interface KernelBuildOptions {
  tree: string;
  arch: string;
  config: string;
  outDir: string;
  /** make targets (default vmlinux) */
  targets?: string[];
  jobs?: number;
  onLine?: (line: string) => void;
  /**
   * after each file compiled: how many so far, and how many the last full build in this folder
   * compiled (null before the first one)
   */
  onProgress?: (compiled: number, expected: number | null) => void;
  /**
   * what else the build depends on beyond tree, config and targets (UKL mode: the hash of
   * UKL.a); when it changed since the last build, vmlinux is relinked
   */
  extraKey?: string;
  /** where the compiler cache lives (default ukl-trim's cache folder; $UKL_TRIM_CCACHE=off turns it off) */
  cacheRoot?: string;
  /**
   * a new (empty) folder starts from a copy of the nearest earlier build of the same tree and
   * arch (default true; $UKL_TRIM_BUILD_SEED=off turns it off)
   */
  seed?: boolean;
  /**
   * the tree's Kconfig, loaded: the configuration step uses it rather than loading it again
   * (see sync-config.ts)
   */
  kconfig?: LoadedKconfig;
  /** compile on these distcc hosts (distcc's host specs, e.g. `10.0.0.5/8`); default $DISTCC_HOSTS, if set */
  distccHosts?: readonly string[];
}

export interface KernelBuildResult {
  outDir: string;
  seconds: number;
  log: string;
  reused: boolean;
  /** the earlier build this folder started from, when it was new */
  seededFrom: BuildSeed | null;
  /** ccache's hits and misses in this build; null without ccache */
  compilerCache: CompilerCacheStats | null;
  /** the distcc hosts the compiles went to; empty without distcc */
  distccHosts: string[];
}

function firstErrors(log: string): string[] {
  const lines = log.split('\n').filter((l) => /\berror\b|undefined reference|Error \d/.test(l));
  if (lines.length > 0) return lines.slice(0, 5);
  // no compiler or linker error: make's own complaint ("*** No rule to make target …") ends the log
  return log
    .split('\n')
    // (nor ukl-trim's own lines: where the build started from, who configured it)
    .filter((l) => l.trim() !== '' && !/^make(\[\d+\])?: (Entering|Leaving) directory/.test(l) && !l.startsWith('ukl-trim: '))
    .slice(-3);
}

/**
 * The kernel's version banner names the user and host that built it: fixed names (unless the
 * caller sets its own) keep the image the same from one machine to the next.
 */
function buildEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, KBUILD_BUILD_USER: process.env.KBUILD_BUILD_USER ?? 'ukl-trim', KBUILD_BUILD_HOST: process.env.KBUILD_BUILD_HOST ?? 'ukl-trim' };
}

/** kbuild's short log line for one compiled file (`  CC      kernel/fork.o`) */
const COMPILE_LINE = /^\s+(CC|AS)\s+\S+\.o$/;

/** where make leaves a target (bzImage under arch/x86/boot, the rest at the top) */
function targetPath(outDir: string, target: string): string {
  return target === 'bzImage' ? join(outDir, 'arch', 'x86', 'boot', 'bzImage') : join(outDir, target);
}

/** Build; a finished build of the identical config in the same folder is reused. */
export async function buildKernel(opts: KernelBuildOptions): Promise<KernelBuildResult> {
  const { arch, config } = opts;
  const tree = resolve(opts.tree);
  const outDir = resolve(opts.outDir);
  const targets = opts.targets ?? ['vmlinux'];
  mkdirSync(outDir, { recursive: true });
  const stamp = join(outDir, '.ukl-trim-build');
  // (extraKey appended only when given: keys of earlier builds stay valid)
  const key = createHash('sha256').update(`${tree}\0${arch}\0${targets.join(' ')}\0${config}${opts.extraKey !== undefined ? `\0${opts.extraKey}` : ''}`).digest('hex');
  const built = targets.every((t) => existsSync(targetPath(outDir, t)));
  const cacheRoot = opts.cacheRoot ?? cacheHome();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key && built) {
    recordBuildFolder(cacheRoot, { dir: outDir, tree, arch });
    return { outDir, seconds: 0, log: join(outDir, 'build.log'), reused: true, seededFrom: null, compilerCache: null, distccHosts: [] };
  }
  // a build that stops half-way must not leave the previous build's stamp behind
  rmSync(stamp, { force: true });
  const seed = opts.seed === false || process.env.UKL_TRIM_BUILD_SEED === 'off' ? null : seedBuildFolder({ cacheRoot, tree, arch, config, outDir });
  // an input make does not track changed (UKL's README: "make clean if you change the
  // program"): drop the linked images so they are linked again
  if (opts.extraKey !== undefined) for (const image of ['vmlinux', join('arch', 'x86', 'boot', 'bzImage')]) rmSync(join(outDir, image), { force: true });
  const t0 = performance.now();
  const sync = await synchroniseConfig({ tree, arch, outDir, config, ...(opts.kconfig ? { kconfig: opts.kconfig } : {}) });
  const countFile = join(outDir, '.ukl-trim-compiled');
  // no object of the first directory make builds: everything is compiled, a count worth keeping
  const full = !existsSync(join(outDir, 'init', 'main.o'));
  const expected = existsSync(countFile) ? Number(readFileSync(countFile, 'utf8')) || null : null;
  let compiled = 0;
  const logPath = join(outDir, 'build.log');
  const log = createWriteStream(logPath);
  for (const line of [...(seed === null ? [] : [`ukl-trim: started ${describeSeed(seed)}`]), sync.line]) {
    log.write(`${line}\n`);
    opts.onLine?.(line);
  }
  const environment = buildEnvironment();
  const cache = compilerCache({ tree, outDir, cacheRoot, env: environment });
  const farm = opts.distccHosts ?? (process.env.DISTCC_HOSTS ? process.env.DISTCC_HOSTS.split(/\s+/).filter(Boolean) : []);
  let env = cache?.env ?? environment;
  if (farm.length > 0) {
    try {
      env = withDistcc(env, farm, cacheRoot, cache !== null);
    } catch (e) {
      throw new KernelBuildError('bad-farm', `kernel build: ${(e as Error).message}`);
    }
  }
  // a farm takes more compiles at once than this machine has cores
  const jobs = opts.jobs ?? availableParallelism() + (farm.length > 0 ? distccSlots(farm) : 0);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('make', ['-C', tree, `O=${outDir}`, `ARCH=${arch}`, `-j${jobs}`, ...(sync.synced ? [] : ['olddefconfig']), ...targets], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let pending = '';
    const onData = (b: Buffer): void => {
      log.write(b);
      if (!opts.onLine && !opts.onProgress) return;
      pending += b.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const p of parts) {
        opts.onLine?.(p);
        if (COMPILE_LINE.test(p)) opts.onProgress?.(++compiled, expected);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  await new Promise<void>((r) => log.end(r));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) {
    const text = readFileSync(logPath, 'utf8');
    throw new KernelBuildError('build-failed', `kernel build failed (log: ${logPath})`, { location: { file: logPath }, chain: firstErrors(text) });
  }
  writeFileSync(stamp, key);
  if (full) writeFileSync(countFile, `${compiled}\n`);
  recordBuildFolder(cacheRoot, { dir: outDir, tree, arch });
  return { outDir, seconds, log: logPath, reused: false, seededFrom: seed, compilerCache: cache === null ? null : readCompilerCacheStats(cache.statsLog), distccHosts: [...farm] };
}
