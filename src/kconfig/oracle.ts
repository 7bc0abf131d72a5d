import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheHome } from '../util/cache-home.js';
import { kernelVersion } from './env.js';

/**
 * The oracle: the tree's own scripts/kconfig/conf, built from the tree (out of tree, so the
 * source stays clean) and run as a black box with exactly the environment our engine gets.
 */

/** The extracted tree the test setup resolved (UKL_TRIM_KERNEL), or null. */
export function kernelTreeForTests(): string | null {
  const c = process.env.UKL_TRIM_KERNEL;
  return c && existsSync(join(c, 'Kconfig')) ? c : null;
}

export function requireTree(): string {
  const t = kernelTreeForTests();
  if (!t) {
    throw new Error('no kernel tree: set UKL_TRIM_KERNEL to an extracted tree or install linux-source-6.1 (scripts/setup.sh)');
  }
  return t;
}

/** Build conf once per tree (cached) and return its path. */
export function buildConf(tree: string): string {
  const objdir = join(cacheHome(), 'oracle', `${kernelVersion(tree)}-${Buffer.from(tree).toString('hex').slice(-24)}`);
  const conf = join(objdir, 'scripts/kconfig/conf');
  if (existsSync(conf)) return conf;
  mkdirSync(objdir, { recursive: true });
  const r = spawnSync('make', ['-s', '-C', tree, `O=${objdir}`, 'ARCH=x86_64', 'allnoconfig'], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(conf)) throw new Error(`building conf failed:\n${r.stderr}`);
  return conf;
}

export interface ConfRun {
  config: string;
  stderr: string;
  status: number;
  files: Record<string, string>;
}

/**
 * Run conf in a scratch working directory. `mode` is conf's option (e.g. `--allnoconfig`,
 * `--defconfig=FILE`); `input` becomes the .config it reads.
 */
export function runConf(conf: string, env: Record<string, string>, mode: string, input?: string, extraEnv: Record<string, string> = {}): ConfRun {
  const dir = mkdtempSync(join(tmpdir(), 'ukl-oracle-'));
  try {
    const cfg = join(dir, '.config');
    if (input !== undefined) writeFileSync(cfg, input);
    const full = withoutConfKnobs(env);
    Object.assign(full, {
      KCONFIG_CONFIG: cfg,
      KCONFIG_AUTOCONFIG: join(dir, 'include/config/auto.conf'),
      KCONFIG_AUTOHEADER: join(dir, 'include/generated/autoconf.h'),
      KCONFIG_RUSTCCFG: join(dir, 'include/generated/rustc_cfg'),
      ...extraEnv,
    });
    const r = spawnSync(conf, ['-s', mode, 'Kconfig'], { cwd: dir, env: full, encoding: 'utf8', maxBuffer: 64 << 20 });
    const files: Record<string, string> = {};
    for (const f of ['include/config/auto.conf', 'include/generated/autoconf.h', 'include/generated/rustc_cfg', 'min.config']) {
      if (existsSync(join(dir, f))) files[f] = readFileSync(join(dir, f), 'utf8');
    }
    return { config: existsSync(cfg) ? readFileSync(cfg, 'utf8') : '', stderr: r.stderr ?? '', status: r.status ?? -1, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** the environment without conf's own KCONFIG_* knobs (each run sets the ones it means) */
function withoutConfKnobs(env: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('KCONFIG_')) kept[k] = v;
  return kept;
}

/**
 * `conf --syncconfig` in an object tree as make runs it there (the default file names, relative
 * to DIR, which keeps what earlier runs left): the .config must be in place.
 */
export function runSyncconfigIn(conf: string, env: Record<string, string>, dir: string): { status: number; stderr: string } {
  const r = spawnSync(conf, ['-s', '--syncconfig', 'Kconfig'], { cwd: dir, env: withoutConfKnobs(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status ?? -1, stderr: r.stderr ?? '' };
}

/** `make O=... ARCH=... target` in a scratch object tree; returns the .config it wrote. */
export function runMake(tree: string, arch: string, target: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ukl-make-'));
  try {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('KCONFIG_')) delete env[k];
    const r = spawnSync('make', ['-s', '-C', tree, `O=${dir}`, `ARCH=${arch}`, target], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`make ${target} failed: ${r.stderr}`);
    return readFileSync(join(dir, '.config'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** First differing line, for readable failures on 10k-line files. */
export function firstDifference(a: string, b: string): string | null {
  if (a === b) return null;
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}: ours ${JSON.stringify(x[i])} vs conf ${JSON.stringify(y[i])}`;
  }
  return 'same lines, different bytes';
}
