import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { cacheHome } from '../util/cache-home.js';
import { kernelVersionFromMakefile, makefileVariable } from '../util/kernel-version.js';
import { UklTrimError } from '../util/errors.js';

/** Where a tree came from: `--kernel` (a directory or a tarball), `UKL_TRIM_KERNEL`, or Debian's source package. */
export type KernelTreeSource = 'dir' | 'tarball' | 'env' | 'debian';

export interface KernelTree {
  /** absolute path of the extracted source tree (the directory holding the top-level Makefile and Kconfig) */
  root: string;
  /** VERSION.PATCHLEVEL.SUBLEVEL+EXTRAVERSION, as `make kernelversion` prints it */
  version: string;
  source: KernelTreeSource;
  /** absolute path of the tarball the tree was extracted from, when it came from one */
  tarball?: string;
}

/**
 * `extract`: `done` bytes of the (compressed) tarball consumed out of `total`;
 * `wait`: another process is extracting the same tarball and this one waits for it (`done` is 0).
 */
export interface KernelTreeProgress {
  phase: string;
  done: number;
  total?: number;
}

export interface ResolveKernelTreeOptions {
  /** an extracted tree or a .tar.xz/.tar.gz/.tar source tarball (the CLI's `--kernel`) */
  kernel?: string;
  /** read for UKL_TRIM_KERNEL, XDG_CACHE_HOME and PATH (default: process.env) */
  env?: NodeJS.ProcessEnv;
  /** ukl-trim's cache root; trees land in `<cacheDir>/trees/` (default `$XDG_CACHE_HOME/ukl-trim`) */
  cacheDir?: string;
  progress?: (p: KernelTreeProgress) => void;
  /** the last-resort tarball (default: Debian's linux-source-6.1); tests point it elsewhere */
  debianTarball?: string;
  /**
   * patch files (`diff -u`/`git diff` form, applied with `patch -p1` in this order) to apply to a
   * tarball's tree once it is unpacked; the cache entry is keyed by their contents as well, so
   * the plain tree and each patched variant live side by side
   */
  patches?: readonly string[];
}

export type KernelTreeErrorCode = 'not-found' | 'not-a-kernel-tree' | 'extract-failed' | 'tool-missing' | 'patch-failed';

/** A failure to find or unpack a kernel tree: one line meant for the user, plus a code for callers. */
export class KernelTreeError extends UklTrimError<KernelTreeErrorCode> {
  static readonly codes: readonly KernelTreeErrorCode[] = ['not-found', 'not-a-kernel-tree', 'extract-failed', 'tool-missing', 'patch-failed'];
}

export const KERNEL_ENV_VAR = 'UKL_TRIM_KERNEL';
export const DEBIAN_KERNEL_TARBALL = '/usr/src/linux-source-6.1.tar.xz';

const NO_TREE_MESSAGE =
  "no kernel tree: pass --kernel DIR|TARBALL, set UKL_TRIM_KERNEL, or install Debian's linux-source-6.1 (apt-get install linux-source-6.1)";

const TARBALL_NAME = /\.(tar\.xz|txz|tar\.gz|tgz|tar)$/i;

/** Written into a cache entry before it is renamed into place, so its presence means "complete". */
const CACHE_MARKER = '.ukl-trim-tree.json';
const cacheMarkerSchema = z.object({
  format: z.literal(1),
  tarball: z.string(),
  // '.' when the tarball had no top-level directory, else that directory's name
  root: z.string().regex(/^(\.|[^/]+)$/).refine((name) => name !== '..'),
  patches: z.array(z.string()).optional(),
});

// A live lock holder refreshes its lock's mtime this often; a lock left untouched much longer is abandoned.
const LOCK_HEARTBEAT_MS = 5_000;
const LOCK_STALE_MS = 60_000;
const LOCK_POLL_MS = 250;

/**
 * Find the kernel tree every command works on: `kernel` if given, else UKL_TRIM_KERNEL, else
 * Debian's linux-source-6.1 tarball. Tarballs are unpacked once into the cache and reused.
 */
export async function resolveKernelTree(opts: ResolveKernelTreeOptions = {}): Promise<KernelTree> {
  const env = opts.env ?? process.env;
  if (opts.kernel) return resolveCandidate(opts.kernel, 'option', opts, env);
  const fromEnv = env[KERNEL_ENV_VAR];
  if (fromEnv) return resolveCandidate(fromEnv, 'env', opts, env);
  const debian = opts.debianTarball ?? DEBIAN_KERNEL_TARBALL;
  if (existsSync(debian)) return resolveCandidate(debian, 'debian', opts, env);
  throw new KernelTreeError('not-found', NO_TREE_MESSAGE);
}

/** The kernel release a tree's Makefile declares, composed the way the top-level Makefile does. */
export function kernelVersionOf(root: string): string {
  let makefile: string;
  try {
    makefile = readFileSync(join(root, 'Makefile'), 'utf8');
  } catch {
    throw new KernelTreeError('not-a-kernel-tree', `${root} is not a kernel source tree: it has no Makefile`);
  }
  const version = kernelVersionFromMakefile(makefile);
  if (!version) throw new KernelTreeError('not-a-kernel-tree', `${root} is not a kernel source tree: its Makefile sets no VERSION`);
  return version;
}

/** Whether `dir` looks like a kernel source tree: a Makefile that sets VERSION and a top-level Kconfig. */
export function isKernelTree(dir: string): boolean {
  return kernelTreeProblem(dir) === undefined;
}

/**
 * The cache entry a tarball unpacks into: keyed by its absolute path, size and mtime, so a
 * replaced tarball gets a new one, and by the contents of the patches applied to it.
 */
export function tarballCacheEntry(tarball: string, cacheDir: string, patches: readonly string[] = []): string {
  const absolute = resolve(tarball);
  const info = statSync(absolute, { bigint: true });
  const hash = createHash('sha256').update(`${absolute}\0${info.size}\0${info.mtimeNs}`);
  for (const patch of patches) hash.update('\0patch\0').update(readFileSync(patch));
  return join(resolve(cacheDir), 'trees', hash.digest('hex'));
}

type Origin = 'option' | 'env' | 'debian';

async function resolveCandidate(path: string, origin: Origin, opts: ResolveKernelTreeOptions, env: NodeJS.ProcessEnv): Promise<KernelTree> {
  const absolute = resolve(path);
  const from = origin === 'option' ? 'from --kernel' : origin === 'env' ? `from ${KERNEL_ENV_VAR}` : "Debian's linux-source-6.1";
  let info;
  try {
    info = await stat(absolute);
  } catch (error) {
    throw new KernelTreeError('not-found', `kernel tree not found: ${absolute} (${from}) does not exist`, { cause: error });
  }
  const patches = (opts.patches ?? []).map((p) => resolve(p));
  if (info.isDirectory()) {
    if (patches.length > 0) {
      throw new KernelTreeError('patch-failed', `--patch applies to a tarball's tree in the cache, never to a tree in place: give the tarball, not ${absolute}`);
    }
    const problem = kernelTreeProblem(absolute);
    if (problem) throw new KernelTreeError('not-a-kernel-tree', `${absolute} (${from}) is not a kernel source tree: ${problem}`);
    return { root: absolute, version: kernelVersionOf(absolute), source: origin === 'option' ? 'dir' : origin };
  }
  if (info.isFile() && TARBALL_NAME.test(absolute)) {
    const cacheDir = opts.cacheDir ?? cacheHome(env);
    for (const patch of patches) {
      if (!existsSync(patch) || !statSync(patch).isFile()) throw new KernelTreeError('not-found', `patch file not found: ${patch}`);
    }
    const root = await unpackOnce(absolute, patches, cacheDir, env, opts.progress);
    return { root, version: kernelVersionOf(root), source: origin === 'option' ? 'tarball' : origin, tarball: absolute };
  }
  throw new KernelTreeError('not-a-kernel-tree', `${absolute} (${from}) is neither a kernel source directory nor a .tar.xz/.tar.gz/.tar tarball`);
}

function kernelTreeProblem(dir: string): string | undefined {
  let makefile: string;
  try {
    makefile = readFileSync(join(dir, 'Makefile'), 'utf8');
  } catch {
    return 'it has no Makefile';
  }
  if (!makefileVariable(makefile, 'VERSION')) return 'its Makefile sets no VERSION';
  if (!existsSync(join(dir, 'Kconfig'))) return 'it has no top-level Kconfig';
  return undefined;
}

/**
 * Unpack `tarball` into its cache entry unless that is already there, and return the tree root.
 * A lock file keeps concurrent callers from unpacking the same tarball twice; the final rename
 * keeps the result correct even if two of them do (the first rename wins, the other is dropped).
 */
async function unpackOnce(
  tarball: string,
  patches: readonly string[],
  cacheDir: string,
  env: NodeJS.ProcessEnv,
  progress: ((p: KernelTreeProgress) => void) | undefined,
): Promise<string> {
  const entry = tarballCacheEntry(tarball, cacheDir, patches);
  const cached = await readCacheEntry(entry);
  if (cached) return cached;
  await mkdir(join(entry, '..'), { recursive: true });
  const lockPath = `${entry}.lock`;
  let reportedWait = false;
  for (;;) {
    const lock = await tryLock(lockPath);
    if (lock) {
      try {
        // the previous holder may have finished between our first look and taking the lock
        const finished = await readCacheEntry(entry);
        if (finished) return finished;
        await discardLeftovers(entry);
        return await unpackInto(entry, tarball, patches, env, progress);
      } finally {
        await lock.release();
      }
    }
    if (await lockIsAbandoned(lockPath)) {
      // its holder died mid-way: break the lock and try again at once
      await unlink(lockPath).catch((error: unknown) => {
        if (errorCode(error) !== 'ENOENT') {
          throw new KernelTreeError('extract-failed', `cannot remove the abandoned lock ${lockPath}: ${errorText(error)}`, { cause: error });
        }
      });
      continue;
    }
    if (!reportedWait) {
      progress?.({ phase: 'wait', done: 0 });
      reportedWait = true;
    }
    await sleep(LOCK_POLL_MS);
    const finished = await readCacheEntry(entry);
    if (finished) return finished;
  }
}

/** The tree root of a complete cache entry, or undefined if the entry is missing or unusable. */
async function readCacheEntry(entry: string): Promise<string | undefined> {
  let marker;
  try {
    marker = cacheMarkerSchema.safeParse(JSON.parse(await readFile(join(entry, CACHE_MARKER), 'utf8')));
  } catch {
    return undefined;
  }
  if (!marker.success) return undefined;
  const root = resolve(entry, marker.data.root);
  return isKernelTree(root) ? root : undefined;
}

/** Extract into a fresh sibling directory and rename it into place only once it is complete. */
async function unpackInto(
  entry: string,
  tarball: string,
  patches: readonly string[],
  env: NodeJS.ProcessEnv,
  progress: ((p: KernelTreeProgress) => void) | undefined,
): Promise<string> {
  const partial = `${entry}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(partial);
  try {
    await extractTarball(tarball, partial, env, progress);
    const rootName = await locateTreeRoot(partial, tarball);
    for (const patch of patches) {
      progress?.({ phase: 'patch', done: 0 });
      await applyPatch(resolve(partial, rootName), patch, env);
    }
    const marker: z.infer<typeof cacheMarkerSchema> = { format: 1, tarball, root: rootName, ...(patches.length > 0 ? { patches: [...patches] } : {}) };
    const markerFile = await open(join(partial, CACHE_MARKER), 'w');
    try {
      await markerFile.writeFile(JSON.stringify(marker) + '\n');
      // the rename below publishes the entry: make sure the marker is on disk before that
      await markerFile.sync();
    } finally {
      await markerFile.close();
    }
    try {
      await rename(partial, entry);
    } catch (error) {
      // someone else published the same entry first (it is complete, or rename would have succeeded)
      const winner = await readCacheEntry(entry);
      if (winner) return winner;
      throw new KernelTreeError('extract-failed', `could not move the unpacked ${tarball} into ${entry}: ${errorText(error)}`, { cause: error });
    }
    return resolve(entry, rootName);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/** Remove what an interrupted run left behind: an unusable entry, and partial extractions of dead processes. */
async function discardLeftovers(entry: string): Promise<void> {
  if (existsSync(entry)) {
    // only an entry without a valid marker gets here; move it aside first so no reader sees it half-deleted
    const aside = `${entry}.stale-${randomBytes(4).toString('hex')}`;
    await rename(entry, aside).catch(() => undefined);
  }
  const dir = join(entry, '..');
  const prefix = entry.slice(dir.length + 1);
  for (const name of await readdir(dir)) {
    if (!name.startsWith(`${prefix}.`)) continue;
    const partialOf = /^\.partial-(\d+)-/.exec(name.slice(prefix.length))?.[1];
    const abandoned = name.startsWith(`${prefix}.stale-`) || (partialOf !== undefined && !processIsAlive(Number(partialOf)));
    if (abandoned) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/** Which directory of an extraction is the tree: the extraction itself, or its single top-level directory. */
async function locateTreeRoot(extracted: string, tarball: string): Promise<string> {
  if (isKernelTree(extracted)) return '.';
  const dirs = (await readdir(extracted, { withFileTypes: true })).filter((d) => d.isDirectory());
  const only = dirs.length === 1 ? dirs[0] : undefined;
  if (only && isKernelTree(join(extracted, only.name))) return only.name;
  throw new KernelTreeError(
    'not-a-kernel-tree',
    `${tarball} holds no kernel source tree (expected one top-level directory with a Makefile that sets VERSION and a Kconfig)`,
  );
}

/** Stream the tarball into `tar -x -f -` (so the bytes consumed can be reported), into `destination`. */
async function extractTarball(
  tarball: string,
  destination: string,
  env: NodeJS.ProcessEnv,
  progress: ((p: KernelTreeProgress) => void) | undefined,
): Promise<void> {
  const compression = await compressionOf(tarball);
  const args = ['-x', ...compression.tarFlags, '-f', '-', '-C', destination, '--no-same-owner'];
  const total = (await stat(tarball)).size;
  // PATH from the caller's environment picks the tools; C locale keeps tar's messages parseable
  const tar = spawn('tar', args, {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, PATH: env.PATH ?? process.env.PATH, LC_ALL: 'C' },
  });
  let stderr = '';
  tar.stderr.setEncoding('utf8');
  tar.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const exited = new Promise<number | null>((resolveExit, rejectExit) => {
    tar.once('error', rejectExit);
    tar.once('close', (code) => resolveExit(code));
  });

  let done = 0;
  progress?.({ phase: 'extract', done, total });
  const countBytes = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      progress?.({ phase: 'extract', done, total });
      callback(null, chunk);
    },
  });
  const fed = pipeline(createReadStream(tarball, { highWaterMark: 1 << 20 }), countBytes, tar.stdin);
  const [feeding, exit] = await Promise.allSettled([fed, exited]);

  if (exit.status === 'rejected') {
    const error: unknown = exit.reason;
    if (errorCode(error) === 'ENOENT') {
      throw new KernelTreeError('tool-missing', `tar is not installed; it is needed to unpack ${tarball} (apt-get install tar)`, { cause: error });
    }
    throw new KernelTreeError('extract-failed', `could not run tar to unpack ${tarball}: ${errorText(error)}`, { cause: error });
  }
  if (exit.value !== 0) {
    if (compression.tool && /cannot exec|not found/i.test(stderr)) {
      throw new KernelTreeError(
        'tool-missing',
        `${compression.tool} is not installed; it is needed to unpack ${tarball} (apt-get install ${compression.debianPackage})`,
      );
    }
    throw new KernelTreeError('extract-failed', `could not unpack ${tarball}: ${lastLine(stderr) || `tar exited with ${exit.value ?? 'a signal'}`}`);
  }
  // tar may stop reading at the end-of-archive blocks: after its clean exit the feeding stream
  // ends with EPIPE or, when the pipe closed between two writes, a premature close; both harmless
  if (feeding.status === 'rejected' && !TAR_STOPPED_READING.has(errorCode(feeding.reason) ?? '')) {
    throw new KernelTreeError('extract-failed', `could not read ${tarball}: ${errorText(feeding.reason)}`, { cause: feeding.reason });
  }
  if (done !== total) progress?.({ phase: 'extract', done: total, total });
}

/** `patch -p1` into the tree; a patch that does not apply cleanly (rejects, fuzz aside) fails the whole entry */
async function applyPatch(root: string, patch: string, env: NodeJS.ProcessEnv): Promise<void> {
  const args = ['-p1', '--batch', '--forward', '--silent', '--no-backup-if-mismatch', '-d', root, '-i', patch];
  const child = spawn('patch', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: env.PATH ?? process.env.PATH, LC_ALL: 'C' } });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4096)));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4096)));
  const code = await new Promise<number | null>((resolveExit, rejectExit) => {
    child.once('error', rejectExit);
    child.once('close', resolveExit);
  }).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') throw new KernelTreeError('tool-missing', `patch is not installed; it is needed to apply ${patch} (apt-get install patch)`, { cause: error });
    throw new KernelTreeError('patch-failed', `could not run patch for ${patch}: ${errorText(error)}`, { cause: error });
  });
  if (code !== 0) {
    const first = output.split('\n').find((line) => /FAILED|malformed|Only garbage|can't find file|Reversed/i.test(line)) ?? lastLine(output);
    throw new KernelTreeError('patch-failed', `${patch} does not apply to the tree (patch -p1): ${first || `patch exited with ${code ?? 'a signal'}`}`);
  }
}

const TAR_STOPPED_READING = new Set(['EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

interface Compression {
  tarFlags: string[];
  /** the decompressor tar runs, which may be missing */
  tool?: string;
  debianPackage?: string;
}

/** Decide by magic bytes rather than by name, so a mislabelled tarball still unpacks. */
async function compressionOf(tarball: string): Promise<Compression> {
  const file = await open(tarball, 'r');
  const magic = Buffer.alloc(6);
  try {
    await file.read(magic, 0, magic.length, 0);
  } finally {
    await file.close();
  }
  if (magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return { tarFlags: ['-J'], tool: 'xz', debianPackage: 'xz-utils' };
  if (magic[0] === 0x1f && magic[1] === 0x8b) return { tarFlags: ['-z'], tool: 'gzip', debianPackage: 'gzip' };
  return { tarFlags: [] };
}

interface HeldLock {
  release(): Promise<void>;
}

/** Create the lock file exclusively; undefined if someone else holds it. */
async function tryLock(lockPath: string): Promise<HeldLock | undefined> {
  let handle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return undefined;
    throw new KernelTreeError('extract-failed', `cannot create ${lockPath}: ${errorText(error)}`, { cause: error });
  }
  const token = `${process.pid} ${hostname()} ${randomBytes(4).toString('hex')}\n`;
  try {
    await handle.writeFile(token);
  } finally {
    await handle.close();
  }
  // waiters treat a lock whose mtime stops moving as abandoned (e.g. its holder was SIGKILLed)
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => undefined);
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  return {
    async release() {
      clearInterval(heartbeat);
      // a waiter may have broken our lock (we looked abandoned) and taken its own: leave that one alone
      const current = await readFile(lockPath, 'utf8').catch(() => undefined);
      if (current === token) await unlink(lockPath).catch(() => undefined);
    },
  };
}

async function lockIsAbandoned(lockPath: string): Promise<boolean> {
  let content: string;
  let age: number;
  try {
    content = await readFile(lockPath, 'utf8');
    age = Date.now() - (await stat(lockPath)).mtimeMs;
  } catch {
    return false; // gone already: the next attempt simply takes it
  }
  const [pid, host] = content.trim().split(' ');
  if (host === hostname() && pid !== undefined && /^\d+$/.test(pid) && !processIsAlive(Number(pid))) return true;
  return age > LOCK_STALE_MS;
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return errorCode(error) === 'EPERM';
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
