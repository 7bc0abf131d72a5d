import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultDefconfigPath, defconfigList, kbuildEnvironment, type KbuildEnvironment, type ToolchainOptions } from './env.js';
import { cacheHome } from '../util/cache-home.js';
import { KconfigError } from './errors.js';
import { Kconfig } from './kconfig.js';
import { mergeConfigFragments } from './merge.js';
import { macroScan, scanTextReader } from './macroscan.js';
import { CachingShellProvider, ExecShellProvider, PrefetchShellProvider, toolchainFingerprint, type ShellProvider } from './shell.js';
import { ProbePool } from './probe-pool.js';
import { availableParallelism } from 'node:os';

export interface ProbeOptions {
  /**
   * `cache` (default): run probes once per toolchain fingerprint and keep the answers on disk;
   * `exec`: always run them; `replay`: answers only from `file` (hermetic: an unknown probe is an error);
   * `record`: run them and write every answer to `file`.
   */
  mode?: 'cache' | 'exec' | 'replay' | 'record';
  file?: string;
  cacheDir?: string;
}

export interface LoadKconfigOptions {
  /** an extracted kernel tree */
  tree: string;
  /** what `make ARCH=` takes */
  arch: string;
  toolchain?: ToolchainOptions;
  probes?: ProbeOptions;
  /** `$(info)` output */
  stdout?: (line: string) => void;
}

export interface LoadedKconfig {
  kconfig: Kconfig;
  kbuild: KbuildEnvironment;
  /** `$(shell)` calls: answered from the cache, by probes run in the background (a cold load), or run by the parse itself */
  probe: { calls: number; cached: number; background: number; executed: number; file: string | null };
  /** reads a file of the tree the way conf opens it (relative to the tree) */
  readTreeFile(rel: string): string;
}

/** Content hash of the tree's top-level helper scripts: probes call them, so they key the cache. */
function scriptsHash(tree: string): string {
  const h = createHash('sha256');
  const dir = join(tree, 'scripts');
  try {
    for (const f of readdirSync(dir).sort()) {
      if (!/\.(sh|include)$/.test(f) && f !== 'Kconfig.include') continue;
      try {
        h.update(f);
        h.update(readFileSync(join(dir, f)));
      } catch {
        // unreadable helper: leave it out of the key
      }
    }
  } catch {
    // no scripts/ folder
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Like loadKconfig, but when probe answers are missing from the cache it first discovers the
 * probes with a speculative scan and starts them in the background, a few at a time, then
 * parses while they run, waiting only for the answer it needs next (conf runs its ~90 probes
 * one by one; that is most of its time). The result is the same as loadKconfig's.
 */
export async function loadKconfigAsync(opts: LoadKconfigOptions): Promise<LoadedKconfig> {
  const mode = opts.probes?.mode ?? 'cache';
  if (mode !== 'cache' && mode !== 'record') return loadKconfig(opts);
  const prep = prepare(opts);
  const caching = prep.caching;
  if (caching === null || caching.size() > 0) return loadPrepared(prep, opts);
  const ctx = { cwd: prep.probeCwd, env: prep.kbuild.env };
  // as many probes at once as cores: on 2 cores, 2 and 3 at a time measured alike and 4 slower
  // (the parse competes with them for CPU)
  const pool = new ProbePool(ctx, Math.max(2, availableParallelism()));
  try {
    // the first scan starts the probes of immediate assignments at once; the second answers
    // them truly, so the probes built from them are found too; what still used a speculative
    // answer (1 of 89 on 6.1 x86) the parse runs itself
    const pre = new PrefetchShellProvider(ctx, pool);
    // the scans and the parse read every Kconfig file: once is enough
    const texts = new Map<string, string>();
    const readFile = (path: string): string => texts.get(path) ?? texts.set(path, readFileSync(path, 'utf8')).get(path) as string;
    const scanText = scanTextReader(readFile);
    macroScan(prep.tree, prep.kbuild.env, pre.guessing(), scanText);
    macroScan(prep.tree, prep.kbuild.env, pre, scanText);
    caching.runMissesWith({
      run: (command) => {
        const answer = pre.answer(command);
        if (answer === undefined) return pool.run(command) ?? prep.exec.run(command);
        prep.backgroundAnswers++;
        return answer;
      },
    });
    return loadPrepared(prep, opts, readFile);
  } finally {
    pool.close();
  }
}

interface Prepared {
  tree: string;
  kbuild: KbuildEnvironment;
  probeCwd: string;
  exec: ExecShellProvider;
  caching: CachingShellProvider | null;
  shell: ShellProvider;
  file: string | null;
  backgroundAnswers: number;
}

function prepare(opts: LoadKconfigOptions): Prepared {
  const tree = resolve(opts.tree);
  if (!existsSync(join(tree, 'Kconfig'))) throw new KconfigError('usage', `${tree} is not a kernel tree: no top-level Kconfig`);
  const kbuild = kbuildEnvironment(tree, opts.arch, opts.toolchain ?? {});
  const mode = opts.probes?.mode ?? 'cache';
  const base = opts.probes?.cacheDir ?? cacheHome();
  // conf runs in the object tree; cc-option creates (and removes) .tmp_$$ there
  const probeCwd = join(base, 'probe-cwd');
  mkdirSync(probeCwd, { recursive: true });
  const exec = new ExecShellProvider({ cwd: probeCwd, env: kbuild.env });
  let shell: ShellProvider;
  let caching: CachingShellProvider | null = null;
  let file: string | null = null;
  if (mode === 'exec') shell = exec;
  else {
    let fp: string;
    if (mode === 'replay') {
      if (!opts.probes?.file) throw new KconfigError('usage', 'probe replay needs a recording file');
      file = opts.probes.file;
      try {
        fp = (JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string }).fingerprint;
      } catch {
        throw new KconfigError('usage', `cannot read probe recording ${file}`);
      }
    } else {
      fp = `${toolchainFingerprint({ cwd: probeCwd, env: kbuild.env }, [kbuild.vars.CC ?? 'gcc', kbuild.vars.LD ?? 'ld'])}-${scriptsHash(tree)}`;
      file = mode === 'record' && opts.probes?.file ? opts.probes.file : join(base, 'probes', `${fp}.json`);
    }
    caching = new CachingShellProvider(mode === 'replay' ? null : exec, fp, file);
    shell = caching;
  }
  return { tree, kbuild, probeCwd, exec, caching, shell, file, backgroundAnswers: 0 };
}

/** Parse the Kconfig tree of `tree` for `arch` with the environment make would give conf. */
export function loadKconfig(opts: LoadKconfigOptions): LoadedKconfig {
  return loadPrepared(prepare(opts), opts);
}

function loadPrepared(prep: Prepared, opts: LoadKconfigOptions, readFile?: (path: string) => string): LoadedKconfig {
  const { tree, kbuild, exec, caching, shell, file } = prep;
  const parseOpts = { srctree: tree, env: kbuild.env, shell, ...(opts.stdout ? { stdout: opts.stdout } : {}), ...(readFile ? { readFile } : {}) };
  let kconfig: Kconfig;
  try {
    kconfig = Kconfig.parse(parseOpts);
  } catch (e) {
    if (e instanceof Error && /^probe not recorded/.test(e.message)) throw new KconfigError('usage', e.message);
    throw e;
  } finally {
    caching?.save();
  }
  return {
    kconfig,
    kbuild,
    probe: { calls: kconfig.shellCalls, cached: caching?.hits ?? 0, background: prep.backgroundAnswers, executed: caching ? caching.misses - prep.backgroundAnswers : exec.count, file },
    readTreeFile: (rel: string) => readFileSync(join(tree, rel), 'utf8'),
  };
}

function readRel(tree: string, p: string): string {
  const full = p.startsWith('/') ? p : existsSync(p) ? p : join(tree, p);
  try {
    return readFileSync(full, 'utf8');
  } catch {
    throw new KconfigError('io', `can't read configuration "${p}"`);
  }
}

/** The file conf falls back to when there is no .config (KCONFIG_DEFCONFIG_LIST). */
export function defaultConfigFallback(loaded: LoadedKconfig): { name: string; text: string } | null {
  const { kbuild } = loaded;
  const tree = loaded.kconfig.srctree;
  for (const p of defconfigList(tree, kbuild.arch, kbuild.srcarch, kbuild.vars.CROSS_COMPILE ?? '')) {
    const full = p.startsWith('/') ? p : join(tree, p);
    try {
      if (statSync(full).isFile()) return { name: p, text: readFileSync(full, 'utf8') };
    } catch {
      // try the next one
    }
  }
  return null;
}

/** `make defconfig` (no file) / `make <file>`: the arch's default defconfig text. */
export function archDefconfig(loaded: LoadedKconfig): { name: string; text: string } {
  const p = defaultDefconfigPath(loaded.kconfig.srctree, loaded.kbuild.arch, loaded.kbuild.srcarch);
  return { name: p, text: readRel(loaded.kconfig.srctree, p) };
}

/** `make tinyconfig`: allnoconfig with tiny-base.config, merge tiny.config fragments, olddefconfig. */
export function tinyconfig(loaded: LoadedKconfig): string {
  const tree = loaded.kconfig.srctree;
  const base = readRel(tree, 'kernel/configs/tiny-base.config');
  const allno = loaded.kconfig.allconfig('allnoconfig', base);
  const fragments: string[] = [];
  for (const p of ['kernel/configs/tiny.config', `arch/${loaded.kbuild.srcarch}/configs/tiny.config`]) {
    if (existsSync(join(tree, p))) fragments.push(readFileSync(join(tree, p), 'utf8'));
  }
  if (fragments.length === 0) throw new KconfigError('usage', 'No configuration exists for this target on this architecture');
  const merged = mergeConfigFragments(allno, fragments, loaded.kconfig.prefix);
  return loaded.kconfig.olddefconfig(merged);
}
