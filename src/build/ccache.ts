import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { delimiter, join, resolve, sep } from 'node:path';

/**
 * ccache (Debian's package) in front of the kernel's compiler. The compiler stays `gcc` for
 * make and Kconfig (a symlink named gcc that is ccache, first on PATH), so the config and the
 * probes are what they are without it. Hits between builds in different folders need paths
 * that do not name the folder: CCACHE_BASEDIR makes the tree's and the output's absolute paths
 * relative, and CCACHE_NOHASHDIR keeps the working folder out of the hash when debug info is on.
 *
 * ccache runs in its depend mode: a result is keyed on the source, the command and the contents
 * of the headers the compiler reported (its -MMD output), so a miss costs one compile. In the
 * default preprocessor mode every miss runs the preprocessor once more to hash its output, and
 * the kernel's headers make that ~40% of a compile: measured on 39 objects of a minimised 6.1
 * build, gcc alone 20 s, a ccache miss 31–35 s in preprocessor mode, 21–23 s in depend mode.
 * What depend mode gives up are hits between different configs (autoconf.h differs, so every
 * file's key does): 19–24% of the files a neighbouring app's config recompiles, too few to pay
 * for 1.5x on the rest (BENCH_ONLY=builds: 442 → 336 s cold, 281 → 199 s for another app).
 * Kbuild's own dependency tracking already skips what a changed option does not reach, and a
 * config built before, in any folder, still hits in full. CCACHE_NODEPEND=1 restores the
 * preprocessor mode.
 */

export interface CompilerCache {
  /** the environment for make */
  env: NodeJS.ProcessEnv;
  /** ccache's per-compile results of this build (stats_log) */
  statsLog: string;
}

export interface CompilerCacheStats {
  hits: number;
  misses: number;
}

const COMPILERS = ['gcc', 'cc'];

/** the environment that puts ccache in front of gcc, or null when ccache is not installed or turned off */
export function compilerCache(opts: { tree: string; outDir: string; cacheRoot: string; env: NodeJS.ProcessEnv }): CompilerCache | null {
  const { env } = opts;
  if (env.UKL_TRIM_CCACHE === 'off' || env.UKL_TRIM_CCACHE === '0') return null;
  const ccache = findOnPath('ccache', env.PATH ?? '');
  if (ccache === null) return null;
  const statsLog = join(opts.outDir, '.ccache-stats.log');
  rmSync(statsLog, { force: true });
  return {
    statsLog,
    env: {
      ...env,
      PATH: `${compilerShims(opts.cacheRoot, 'ccache-bin', ccache)}${delimiter}${env.PATH ?? ''}`,
      CCACHE_DIR: env.CCACHE_DIR ?? join(opts.cacheRoot, 'ccache'),
      CCACHE_BASEDIR: env.CCACHE_BASEDIR ?? commonAncestor(realpathSync(opts.tree), realpathSync(opts.outDir)),
      CCACHE_NOHASHDIR: env.CCACHE_NOHASHDIR ?? '1',
      ...(env.CCACHE_DEPEND === undefined && env.CCACHE_NODEPEND === undefined ? { CCACHE_DEPEND: '1' } : {}),
      CCACHE_STATSLOG: statsLog,
    },
  };
}

/**
 * distcc behind the compiler cache: ccache runs `distcc gcc …` for each miss (CCACHE_PREFIX);
 * without ccache, gcc on PATH is distcc itself (its masquerade mode finds the real gcc after
 * it). DISTCC_HOSTS names the farm. Throws when distcc is not installed.
 */
export function withDistcc(env: NodeJS.ProcessEnv, hosts: readonly string[], cacheRoot: string, viaCcache: boolean): NodeJS.ProcessEnv {
  const distcc = findOnPath('distcc', env.PATH ?? '');
  if (distcc === null) throw new Error('distcc is not installed (Debian: apt-get install distcc)');
  const farm = { DISTCC_HOSTS: hosts.join(' ') };
  if (viaCcache) return { ...env, ...farm, CCACHE_PREFIX: distcc };
  return { ...env, ...farm, PATH: `${compilerShims(cacheRoot, 'distcc-bin', distcc)}${delimiter}${env.PATH ?? ''}` };
}

/** how many compiles a farm takes at once: each host's `/N` limit (distcc's default: 2) */
export function distccSlots(hosts: readonly string[]): number {
  return hosts.reduce((sum, host) => sum + (Number(/\/(\d+)/.exec(host)?.[1]) || 2), 0);
}

/** a folder of symlinks named like the compiler, pointing at `tool` */
function compilerShims(cacheRoot: string, folder: string, tool: string): string {
  const shims = join(cacheRoot, folder);
  mkdirSync(shims, { recursive: true });
  for (const name of COMPILERS) {
    const link = join(shims, name);
    if (!existsSync(link)) symlinkSync(tool, link);
  }
  return shims;
}

/**
 * Hits and misses of one build's source files, from ccache's stats log (a `# file` line, then one
 * result per line). Kbuild's own option probes (`-x c /dev/null`, every make run) go through ccache
 * too and are left out: a relink would otherwise report a hundred hits for three files compiled.
 */
export function readCompilerCacheStats(statsLog: string): CompilerCacheStats | null {
  if (!existsSync(statsLog)) return null;
  let hits = 0;
  let misses = 0;
  let probe = false;
  for (const line of readFileSync(statsLog, 'utf8').split('\n')) {
    if (line.startsWith('#')) probe = /^#\s*(\/dev\/null)?$/.test(line);
    else if (probe) continue;
    else if (line === 'direct_cache_hit' || line === 'preprocessed_cache_hit') hits++;
    else if (line === 'cache_miss') misses++;
  }
  return { hits, misses };
}

function findOnPath(command: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    // our own shims are named gcc and cc, never ccache: no loop
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  return null;
}

/** the deepest folder holding both ('/' when that is all they share: then system headers are rewritten too, harmless for the kernel's -nostdinc) */
function commonAncestor(a: string, b: string): string {
  const pa = resolve(a).split(sep);
  const pb = resolve(b).split(sep);
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  const common = pa.slice(0, n).join(sep);
  return common === '' ? sep : common;
}
