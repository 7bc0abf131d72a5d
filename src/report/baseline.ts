import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildKernel, KernelBuildError } from '../build/kernel-build.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import { loadKconfigAsync, tinyconfig, type LoadedKconfig } from '../kconfig/load.js';
import { mergeConfigFragments } from '../kconfig/merge.js';
import type { KSymbol } from '../kconfig/model.js';
import { positiveSymbols } from '../minimize/reasons.js';
import { cacheHome } from '../util/cache-home.js';
import { ReportError } from './errors.js';

/**
 * The kernel a trimmed one is measured against: by default tinyconfig plus what the boot profile
 * needs (the same items the minimizer required), built once per config into the cache.
 */

/** the options `expressions` need on, and everything they depend on (a fragment line alone would be dropped) */
function neededOn(kc: Kconfig, expressions: readonly string[]): Set<KSymbol> {
  const out = new Set<KSymbol>();
  const queue = expressions.flatMap((e) => positiveSymbols(kc.parseExpression(e)));
  while (queue.length > 0) {
    const s = queue.pop() as KSymbol;
    if (out.has(s)) continue;
    out.add(s);
    queue.push(...positiveSymbols(s.dirDep.expr));
  }
  return out;
}

/**
 * tinyconfig with `expressions` (the profile's requirements) turned on, their dependencies
 * with them; `unmet` lists those the result still does not satisfy (a choice, a select the
 * dependencies do not bring), which the report shows.
 */
export function tinyBaselineConfig(loaded: LoadedKconfig, expressions: readonly string[]): { config: string; unmet: string[] } {
  const kc = loaded.kconfig;
  const base = tinyconfig(loaded);
  const fragment = [...neededOn(kc, expressions)]
    .filter((s) => s.name !== null && (s.type === 'bool' || s.type === 'tristate'))
    .map((s) => `${kc.prefix}${s.name}=y\n`)
    .join('');
  const config = kc.olddefconfig(mergeConfigFragments(base, [fragment], kc.prefix));
  kc.load(config);
  const unmet = expressions.filter((e) => kc.evaluate(e) === 0);
  return { config, unmet };
}

/** the cache folder a baseline of this tree, arch and config is built in */
export function baselineBuildDir(tree: string, arch: string, config: string, root = cacheHome()): string {
  const key = createHash('sha256').update(`${tree}\0${arch}\0${config}`).digest('hex').slice(0, 16);
  return join(root, 'report-baselines', key);
}

/** Build (or reuse) the baseline kernel through buildKernel, which goes through ccache. */
export async function buildBaseline(opts: {
  tree: string;
  arch: string;
  config: string;
  onProgress?: (compiled: number, expected: number | null) => void;
}): Promise<{ buildDir: string; reused: boolean; seconds: number }> {
  const outDir = baselineBuildDir(opts.tree, opts.arch, opts.config);
  try {
    const r = await buildKernel({ tree: opts.tree, arch: opts.arch, config: opts.config, outDir, targets: ['bzImage'], ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    return { buildDir: outDir, reused: r.reused, seconds: Math.round(r.seconds) };
  } catch (e) {
    if (e instanceof KernelBuildError) throw new ReportError('baseline-build-failed', `the baseline kernel did not build: ${e.message}`, { chain: e.chain, cause: e });
    throw e;
  }
}

/** what to measure against: tinyconfig plus the profile (default), a .config, a finished build folder, or nothing */
export type BaselineChoice = { kind: 'default' } | { kind: 'config'; path: string } | { kind: 'build-dir'; path: string } | { kind: 'none' };

export interface ResolvedBaseline {
  buildDir: string;
  description: string;
  unmet: string[];
}

export interface BaselineContext {
  choice: BaselineChoice;
  /** the kernel tree a baseline is built from */
  tree: string | null;
  arch: string;
  /** the boot profile's requirement expressions (what the default baseline adds to tinyconfig) */
  profileExpressions: readonly string[];
  profile: string | null;
  onPhase?: (phase: string) => void;
  onBuildProgress?: (compiled: number, expected: number | null) => void;
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReportError('bad-input', `baseline config ${path}: ${(e as Error).message}`);
  }
}

async function defaultBaselineConfig(ctx: BaselineContext, tree: string): Promise<{ config: string; unmet: string[] }> {
  ctx.onPhase?.('computing the baseline config (tinyconfig + boot profile)');
  return tinyBaselineConfig(await loadKconfigAsync({ tree, arch: ctx.arch }), ctx.profileExpressions);
}

/** The baseline's build folder, built (once per config, in the cache) when it is given as a config. */
export async function resolveBaseline(ctx: BaselineContext): Promise<ResolvedBaseline | null> {
  const { choice } = ctx;
  if (choice.kind === 'none') return null;
  if (choice.kind === 'build-dir') return { buildDir: choice.path, description: `the kernel built in ${choice.path}`, unmet: [] };
  if (ctx.tree === null) throw new ReportError('bad-input', 'building the baseline needs the kernel tree (--kernel DIR)');
  const { config, unmet } = choice.kind === 'config' ? { config: readConfigFile(choice.path), unmet: [] } : await defaultBaselineConfig(ctx, ctx.tree);
  ctx.onPhase?.('building the baseline kernel');
  const built = await buildBaseline({ tree: ctx.tree, arch: ctx.arch, config, ...(ctx.onBuildProgress ? { onProgress: ctx.onBuildProgress } : {}) });
  const description = choice.kind === 'config' ? `built from ${choice.path}` : `tinyconfig + boot profile ${ctx.profile ?? '(none)'}`;
  return { buildDir: built.buildDir, description, unmet };
}
