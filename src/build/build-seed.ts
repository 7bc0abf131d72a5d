import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configValues } from '../kconfig/confdata.js';
import { writeFileAtomic } from '../util/fs.js';

/**
 * A kernel build in a new folder starts from a copy of the nearest earlier build (kbuild's own
 * incremental build then recompiles only what the changed options reach, fixdep's per-option
 * dependencies deciding), instead of running every file through ccache again: for another app
 * that is most of the kernel preprocessed for nothing.
 *
 * A build folder moves with two fixes: files whose recorded command names the old folder by
 * absolute path (objtool's own build, under tools/) get the new path, or make would rebuild
 * objtool and, as every object depends on it, the whole kernel; and the seed's bookkeeping
 * (stamp, log, counts) is dropped.
 */

export interface BuildFolderRecord {
  dir: string;
  tree: string;
  arch: string;
}

export interface BuildSeed {
  /** the build folder copied */
  from: string;
  /** options whose values differ between the two configs */
  differing: number;
}

/** `from a copy of DIR (N options differ)`, as the log, the CLI and the bench say it */
export function describeSeed(seed: BuildSeed, dir: string = seed.from): string {
  return `from a copy of ${dir} (${seed.differing} options differ)`;
}

/**
 * One file per build folder, so that builds finishing at the same time never overwrite each
 * other's record (one shared list, read and rewritten, lost entries that way)
 */
const REGISTRY = 'kernel-builds';
const KEEP = 32;
/** what the seed's run left: this build writes its own */
const BOOKKEEPING = ['.ukl-trim-build', '.ukl-trim-compiled', 'build.log', '.ccache-stats.log'];

interface StoredRecord extends BuildFolderRecord {
  /** when the build finished (ms since the epoch): newest first */
  at: number;
}

function recordFile(cacheRoot: string, dir: string): string {
  return join(cacheRoot, REGISTRY, `${createHash('sha256').update(dir).digest('hex').slice(0, 32)}.json`);
}

/** the recorded build folders, newest first */
export function recordedBuildFolders(cacheRoot: string): StoredRecord[] {
  let names: string[];
  try {
    names = readdirSync(join(cacheRoot, REGISTRY)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const records: StoredRecord[] = [];
  for (const name of names) {
    try {
      const r = JSON.parse(readFileSync(join(cacheRoot, REGISTRY, name), 'utf8')) as Partial<StoredRecord> | null;
      if (typeof r?.dir === 'string' && typeof r.tree === 'string' && typeof r.arch === 'string' && typeof r.at === 'number') records.push({ dir: r.dir, tree: r.tree, arch: r.arch, at: r.at });
    } catch {
      // half-written by a process that died, or removed while listed: not a record
    }
  }
  return records.sort((a, b) => b.at - a.at);
}

/** remember a finished build folder; folders that are gone, and all but the newest KEEP, are forgotten */
export function recordBuildFolder(cacheRoot: string, record: BuildFolderRecord): void {
  // (fractional milliseconds: one process records several builds within a millisecond in tests)
  writeFileAtomic(recordFile(cacheRoot, record.dir), JSON.stringify({ ...record, at: performance.timeOrigin + performance.now() }));
  const [present, gone] = partition(recordedBuildFolders(cacheRoot), (r) => existsSync(r.dir));
  for (const r of [...gone, ...present.slice(KEEP)]) rmSync(recordFile(cacheRoot, r.dir), { force: true });
}

function partition<T>(xs: readonly T[], keep: (x: T) => boolean): [T[], T[]] {
  return [xs.filter(keep), xs.filter((x) => !keep(x))];
}

export function configDistance(a: string, b: string): number {
  const va = configValues(a);
  const vb = configValues(b);
  let n = 0;
  for (const [k, v] of va) if ((vb.get(k) ?? 'n') !== v) n++;
  for (const [k, v] of vb) if (!va.has(k) && v !== 'n') n++;
  return n;
}

/** the finished build folder of the same tree and arch whose config is nearest, if any */
export function nearestBuildFolder(cacheRoot: string, tree: string, arch: string, config: string, outDir: string): BuildSeed | null {
  let best: BuildSeed | null = null;
  for (const r of recordedBuildFolders(cacheRoot)) {
    if (r.tree !== tree || r.arch !== arch || r.dir === outDir) continue;
    if (!existsSync(join(r.dir, '.ukl-trim-build'))) continue;
    let theirs: string;
    try {
      theirs = readFileSync(join(r.dir, '.config'), 'utf8');
    } catch {
      continue;
    }
    const differing = configDistance(theirs, config);
    if (best === null || differing < best.differing) best = { from: r.dir, differing };
  }
  return best;
}

function isEmptyFolder(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return true;
  }
}

/**
 * Copy the nearest earlier build into `outDir` when it is new (missing or empty). Returns the
 * seed, or null when there is none or it changed while being copied (a build was running in
 * it: the copy is thrown away and the build starts from nothing).
 */
export function seedBuildFolder(opts: { cacheRoot: string; tree: string; arch: string; config: string; outDir: string }): BuildSeed | null {
  const { outDir } = opts;
  if (!isEmptyFolder(outDir)) return null;
  const seed = nearestBuildFolder(opts.cacheRoot, opts.tree, opts.arch, opts.config, outDir);
  if (seed === null) return null;
  const stamp = (): string | null => {
    try {
      return readFileSync(join(seed.from, '.ukl-trim-build'), 'utf8');
    } catch {
      return null;
    }
  };
  const before = stamp();
  try {
    execFileSync('cp', ['-a', '--reflink=auto', '--', `${seed.from}/.`, outDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    emptyFolder(outDir);
    return null;
  }
  if (before === null || stamp() !== before) {
    emptyFolder(outDir);
    return null;
  }
  for (const f of BOOKKEEPING) rmSync(join(outDir, f), { force: true });
  rewriteRecordedPaths(outDir, seed.from);
  return seed;
}

function emptyFolder(dir: string): void {
  for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
}

/** kbuild's and tools/build's records of commands and dependencies (`.foo.o.cmd`, `.foo.o.d`) naming `from` now name `dir` */
function rewriteRecordedPaths(dir: string, from: string): void {
  const pending = [dir];
  while (pending.length > 0) {
    const folder = pending.pop() as string;
    for (const e of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, e.name);
      if (e.isDirectory()) pending.push(path);
      else if (e.isFile() && e.name.startsWith('.') && /\.(cmd|d)$/.test(e.name)) {
        const text = readFileSync(path, 'latin1');
        if (text.includes(from)) writeFileSync(path, text.split(from).join(dir), 'latin1');
      }
    }
  }
}
