import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEBIAN_KERNEL_TARBALL,
  KernelTreeError,
  isKernelTree,
  kernelVersionOf,
  resolveKernelTree,
  tarballCacheEntry,
  type KernelTreeProgress,
} from '../src/kernel/tree.js';

let work: string;
let counter = 0;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ukl-trim-tree-test-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A fresh scratch directory per test, so cache entries never leak between tests. */
function scratch(name: string): string {
  const dir = join(work, `${name}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface FakeVersion {
  version?: string;
  patchlevel?: string;
  sublevel?: string;
  extraversion?: string;
}

/** The handful of files resolution looks at, laid out like a real tree's top level. */
function makeFakeTree(dir: string, v: FakeVersion = {}): string {
  mkdirSync(join(dir, 'arch', 'x86'), { recursive: true });
  writeFileSync(
    join(dir, 'Makefile'),
    [
      '# SPDX-License-Identifier: GPL-2.0',
      `VERSION = ${v.version ?? '6'}`,
      `PATCHLEVEL = ${v.patchlevel ?? '1'}`,
      `SUBLEVEL = ${v.sublevel ?? '158'}`,
      `EXTRAVERSION =${v.extraversion ? ` ${v.extraversion}` : ''}`,
      'NAME = Curry Ramen',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'Kconfig'), 'mainmenu "Fake Linux/$(ARCH) Kernel Configuration"\nsource "arch/$(SRCARCH)/Kconfig"\n');
  writeFileSync(join(dir, 'arch', 'x86', 'Kconfig'), 'config X86\n\tdef_bool y\n');
  return dir;
}

/** Pack `parent/entry` into a tarball, with the compression flag given (e.g. -J). */
function makeTarball(out: string, parent: string, entry: string, compressionFlag?: string): string {
  const args = ['-c', ...(compressionFlag ? [compressionFlag] : []), '-f', out, '-C', parent, entry];
  const tar = spawnSync('tar', args, { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar ${args.join(' ')} failed: ${tar.stderr}`);
  return out;
}

/** A source tarball shaped like Debian's: one top-level `linux-source-6.1/` directory. */
function makeKernelTarball(name: string, compressionFlag = '-J', fileName = 'linux-source-6.1.tar.xz'): string {
  const dir = scratch(name);
  makeFakeTree(join(dir, 'linux-source-6.1'));
  return makeTarball(join(dir, fileName), dir, 'linux-source-6.1', compressionFlag);
}

async function expectTreeError(promise: Promise<unknown>, code: KernelTreeError['code'], message?: RegExp): Promise<KernelTreeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KernelTreeError);
  const treeError = error as KernelTreeError;
  expect(treeError.code).toBe(code);
  expect(treeError.message).not.toContain('\n');
  if (message) expect(treeError.message).toMatch(message);
  return treeError;
}

/** The pid of a process that has already exited: what an interrupted run leaves in its lock and temp names. */
function deadPid(): number {
  const child = spawnSync('true');
  if (child.pid === undefined) throw new Error('could not start `true`');
  return child.pid;
}

const noEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH };
const noDebian = '/nonexistent/linux-source-6.1.tar.xz';

describe('kernelVersionOf', () => {
  it('composes VERSION.PATCHLEVEL.SUBLEVEL and EXTRAVERSION like the top-level Makefile', () => {
    expect(kernelVersionOf(makeFakeTree(scratch('v1')))).toBe('6.1.158');
    expect(kernelVersionOf(makeFakeTree(scratch('v2'), { version: '6', patchlevel: '8', sublevel: '0', extraversion: '-rc3' }))).toBe('6.8.0-rc3');
    expect(kernelVersionOf(makeFakeTree(scratch('v3'), { sublevel: '' }))).toBe('6.1');
  });

  it('rejects a directory without a Makefile that sets VERSION', () => {
    const dir = scratch('noversion');
    expect(() => kernelVersionOf(dir)).toThrow(KernelTreeError);
    writeFileSync(join(dir, 'Makefile'), 'all:\n\ttrue\n');
    expect(() => kernelVersionOf(dir)).toThrow(/sets no VERSION/);
  });
});

describe('resolveKernelTree from a directory', () => {
  it('accepts an extracted tree and reports its version', async () => {
    const root = makeFakeTree(scratch('dir'));
    const tree = await resolveKernelTree({ kernel: root, env: noEnv, debianTarball: noDebian });
    expect(tree).toEqual({ root, version: '6.1.158', source: 'dir' });
    expect(isKernelTree(root)).toBe(true);
  });

  it('prefers --kernel over UKL_TRIM_KERNEL', async () => {
    const fromOption = makeFakeTree(scratch('option'), { sublevel: '1' });
    const fromEnv = makeFakeTree(scratch('env'), { sublevel: '2' });
    const tree = await resolveKernelTree({ kernel: fromOption, env: { ...noEnv, UKL_TRIM_KERNEL: fromEnv } });
    expect(tree.root).toBe(fromOption);
    expect(tree.source).toBe('dir');
  });
});

describe('resolveKernelTree from a tarball', () => {
  it('extracts into <cacheDir>/trees/<key>/ and roots the tree at the top-level directory', async () => {
    const tarball = makeKernelTarball('xz');
    const cacheDir = scratch('cache');
    const events: KernelTreeProgress[] = [];
    const tree = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir, progress: (p) => events.push(p) });

    const entry = tarballCacheEntry(tarball, cacheDir);
    expect(entry.startsWith(join(cacheDir, 'trees') + '/')).toBe(true);
    expect(entry).toMatch(/\/[0-9a-f]{64}$/);
    expect(tree).toEqual({ root: join(entry, 'linux-source-6.1'), version: '6.1.158', source: 'tarball', tarball });
    expect(existsSync(join(tree.root, 'arch', 'x86', 'Kconfig'))).toBe(true);
    // only the finished entry (and nothing temporary) is left next to it
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([entry.split('/').pop()]);

    const size = statSync(tarball).size;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.phase === 'extract' && e.total === size)).toBe(true);
    expect(events.at(-1)?.done).toBe(size);
  });

  it('reuses the cached tree on the next call instead of extracting again', async () => {
    const tarball = makeKernelTarball('reuse');
    const cacheDir = scratch('cache');
    const first = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir });
    // a file extraction would wipe out, and an mtime it would change
    writeFileSync(join(first.root, 'sentinel'), 'still here');
    const makefileMtime = statSync(join(first.root, 'Makefile')).mtimeMs;

    const events: KernelTreeProgress[] = [];
    const second = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir, progress: (p) => events.push(p) });
    expect(second).toEqual(first);
    expect(events).toEqual([]);
    expect(existsSync(join(second.root, 'sentinel'))).toBe(true);
    expect(statSync(join(second.root, 'Makefile')).mtimeMs).toBe(makefileMtime);
  });

  it('extracts a replaced tarball (new mtime) into a new cache entry', async () => {
    const tarball = makeKernelTarball('replaced');
    const cacheDir = scratch('cache');
    const first = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir });
    const later = new Date(Date.now() + 60_000);
    utimesSync(tarball, later, later);
    const second = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir });
    expect(second.root).not.toBe(first.root);
    expect(readdirSync(join(cacheDir, 'trees'))).toHaveLength(2);
  });

  it('accepts .tar.gz, plain .tar, and a tarball without a top-level directory', async () => {
    const cacheDir = scratch('cache');
    const gz = makeKernelTarball('gz', '-z', 'linux.tar.gz');
    expect((await resolveKernelTree({ kernel: gz, env: noEnv, cacheDir })).version).toBe('6.1.158');
    const plain = makeKernelTarball('plain', '', 'linux.tar');
    expect((await resolveKernelTree({ kernel: plain, env: noEnv, cacheDir })).version).toBe('6.1.158');

    const flatDir = scratch('flat');
    makeFakeTree(join(flatDir, 'tree'), { extraversion: '-flat' });
    const flat = makeTarball(join(flatDir, 'flat.tar.xz'), join(flatDir, 'tree'), '.', '-J');
    const tree = await resolveKernelTree({ kernel: flat, env: noEnv, cacheDir });
    expect(tree.root).toBe(tarballCacheEntry(flat, cacheDir));
    expect(tree.version).toBe('6.1.158-flat');
  });

  it('lets concurrent callers share one extraction', async () => {
    const tarball = makeKernelTarball('concurrent');
    const cacheDir = scratch('cache');
    const phases: string[][] = [[], []];
    const [a, b] = await Promise.all(
      [0, 1].map((i) => resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir, progress: (p) => phases[i]?.push(p.phase) })),
    );
    expect(a).toEqual(b);
    // one caller unpacked, the other waited for it
    expect(phases.filter((list) => list.includes('extract'))).toHaveLength(1);
    expect(phases.filter((list) => list.includes('wait'))).toHaveLength(1);
    expect(readdirSync(join(cacheDir, 'trees'))).toHaveLength(1);
  });
});

describe('an interrupted extraction', () => {
  it('does not break a later resolution (leftover temp dir and lock of a dead process)', async () => {
    const tarball = makeKernelTarball('interrupted');
    const cacheDir = scratch('cache');
    const entry = tarballCacheEntry(tarball, cacheDir);
    const pid = deadPid();
    const partial = `${entry}.partial-${pid}-0badc0de`;
    makeFakeTree(join(partial, 'linux-source-6.1'));
    rmSync(join(partial, 'linux-source-6.1', 'Kconfig')); // cut off mid-way
    writeFileSync(`${entry}.lock`, `${pid} ${(await import('node:os')).hostname()} 0badc0de\n`);

    const tree = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir });
    expect(tree.root).toBe(join(entry, 'linux-source-6.1'));
    expect(isKernelTree(tree.root)).toBe(true);
    expect(existsSync(partial)).toBe(false);
    expect(existsSync(`${entry}.lock`)).toBe(false);
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([entry.split('/').pop()]);
  });

  it('replaces a cache entry that has no completion marker', async () => {
    const tarball = makeKernelTarball('unmarked');
    const cacheDir = scratch('cache');
    const entry = tarballCacheEntry(tarball, cacheDir);
    // a tree-shaped folder that did not come from a finished extraction
    makeFakeTree(join(entry, 'linux-source-6.1'), { extraversion: '-bogus' });
    const tree = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir });
    expect(tree.version).toBe('6.1.158');
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([entry.split('/').pop()]);
  });
});

describe('fallbacks', () => {
  it('uses UKL_TRIM_KERNEL (a directory or a tarball) when no kernel is given', async () => {
    const dir = makeFakeTree(scratch('envdir'));
    expect(await resolveKernelTree({ env: { ...noEnv, UKL_TRIM_KERNEL: dir }, debianTarball: noDebian })).toEqual({
      root: dir,
      version: '6.1.158',
      source: 'env',
    });
    const tarball = makeKernelTarball('envtar');
    const tree = await resolveKernelTree({ env: { ...noEnv, UKL_TRIM_KERNEL: tarball }, cacheDir: scratch('cache') });
    expect(tree.source).toBe('env');
    expect(tree.tarball).toBe(tarball);
  });

  it("falls back to Debian's tarball, then fails with a hint", async () => {
    const debianTarball = makeKernelTarball('debian');
    const tree = await resolveKernelTree({ env: noEnv, cacheDir: scratch('cache'), debianTarball });
    expect(tree.source).toBe('debian');
    expect(tree.tarball).toBe(debianTarball);

    await expectTreeError(resolveKernelTree({ env: noEnv, debianTarball: noDebian }), 'not-found', /apt-get install linux-source-6\.1/);
  });

  it("checks UKL_TRIM_KERNEL before the real Debian tarball (without reading it)", async () => {
    const dir = makeFakeTree(scratch('order'));
    const tree = await resolveKernelTree({ env: { ...noEnv, UKL_TRIM_KERNEL: dir } });
    expect(tree.source).toBe('env');
    expect(DEBIAN_KERNEL_TARBALL).toBe('/usr/src/linux-source-6.1.tar.xz');
  });
});

describe('errors', () => {
  it('reports a missing path as not-found, naming where it came from', async () => {
    const missing = join(work, 'no-such-kernel');
    await expectTreeError(resolveKernelTree({ kernel: missing, env: noEnv }), 'not-found', /no-such-kernel \(from --kernel\)/);
    await expectTreeError(resolveKernelTree({ env: { ...noEnv, UKL_TRIM_KERNEL: missing } }), 'not-found', /from UKL_TRIM_KERNEL/);
  });

  it('rejects a directory or a file that is not a kernel tree', async () => {
    const plainDir = scratch('notkernel');
    writeFileSync(join(plainDir, 'Makefile'), 'VERSION = 1\n');
    await expectTreeError(resolveKernelTree({ kernel: plainDir, env: noEnv }), 'not-a-kernel-tree', /no top-level Kconfig/);
    const textFile = join(plainDir, 'notes.txt');
    writeFileSync(textFile, 'hello');
    await expectTreeError(resolveKernelTree({ kernel: textFile, env: noEnv }), 'not-a-kernel-tree', /neither/);
  });

  it('rejects a tarball that holds no kernel tree and caches nothing for it', async () => {
    const dir = scratch('notkerneltar');
    mkdirSync(join(dir, 'project'));
    writeFileSync(join(dir, 'project', 'README'), 'not a kernel');
    const tarball = makeTarball(join(dir, 'project.tar.xz'), dir, 'project', '-J');
    const cacheDir = scratch('cache');
    await expectTreeError(resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir }), 'not-a-kernel-tree', /holds no kernel source tree/);
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([]);
  });

  it('reports a corrupt tarball as extract-failed', async () => {
    const dir = scratch('corrupt');
    const tarball = join(dir, 'broken.tar.xz');
    writeFileSync(tarball, Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(4096, 7)]));
    const cacheDir = scratch('cache');
    await expectTreeError(resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir }), 'extract-failed', /broken\.tar\.xz/);
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([]);
  });

  it('applies --patch files to the unpacked tree, in a cache entry of their own keyed by their contents', async () => {
    const tarball = makeKernelTarball('patched');
    const dir = scratch('patches');
    const patch = join(dir, 'add-ukl.diff');
    writeFileSync(patch, ['--- a/kernel/Kconfig.ukl', '+++ b/kernel/Kconfig.ukl', '@@ -0,0 +1,2 @@', '+menuconfig UNIKERNEL_LINUX', '+\tbool "UKL"', ''].join('\n'));
    const cacheDir = scratch('cache');
    const plain = await resolveKernelTree({ kernel: tarball, env: noEnv, cacheDir });
    const patched = await resolveKernelTree({ kernel: tarball, patches: [patch], env: noEnv, cacheDir });
    expect(patched.root).not.toBe(plain.root);
    expect(readFileSync(join(patched.root, 'kernel', 'Kconfig.ukl'), 'utf8')).toContain('menuconfig UNIKERNEL_LINUX');
    expect(existsSync(join(plain.root, 'kernel', 'Kconfig.ukl'))).toBe(false);
    // the same patch again: the same entry; a changed patch: a new one
    expect((await resolveKernelTree({ kernel: tarball, patches: [patch], env: noEnv, cacheDir })).root).toBe(patched.root);
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('"UKL"', '"Unikernel Linux"'));
    const changed = await resolveKernelTree({ kernel: tarball, patches: [patch], env: noEnv, cacheDir });
    expect(changed.root).not.toBe(patched.root);
    expect(readFileSync(join(changed.root, 'kernel', 'Kconfig.ukl'), 'utf8')).toContain('Unikernel Linux');
    expect(readdirSync(join(cacheDir, 'trees')).length).toBe(3);
  });

  it('refuses a patch that does not apply (caching nothing), a missing patch, and patching a directory in place', async () => {
    const tarball = makeKernelTarball('badpatch');
    const dir = scratch('patches');
    const patch = join(dir, 'wrong.diff');
    writeFileSync(patch, ['--- a/Makefile', '+++ b/Makefile', '@@ -1,2 +1,2 @@', ' no such line', '-nor this one', '+replacement', ''].join('\n'));
    const cacheDir = scratch('cache');
    await expectTreeError(resolveKernelTree({ kernel: tarball, patches: [patch], env: noEnv, cacheDir }), 'patch-failed', /wrong\.diff does not apply/);
    expect(readdirSync(join(cacheDir, 'trees')).filter((n) => !n.endsWith('.lock'))).toEqual([]);
    await expectTreeError(resolveKernelTree({ kernel: tarball, patches: [join(dir, 'missing.diff')], env: noEnv, cacheDir }), 'not-found', /missing\.diff/);
    const tree = makeFakeTree(scratch('dir'));
    await expectTreeError(resolveKernelTree({ kernel: tree, patches: [patch], env: noEnv, cacheDir }), 'patch-failed', /never to a tree in place/);
  });

  it('reports a missing tar as tool-missing', async () => {
    const tarball = makeKernelTarball('notar');
    const emptyPath = scratch('emptypath');
    await expectTreeError(resolveKernelTree({ kernel: tarball, env: { PATH: emptyPath }, cacheDir: scratch('cache') }), 'tool-missing', /tar/);
  });

  it('reports a missing xz as tool-missing with the package to install', async () => {
    const tarball = makeKernelTarball('noxz');
    const tarOnly = scratch('taronly');
    const tarPath = spawnSync('sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(tarPath, join(tarOnly, 'tar'));
    const cacheDir = scratch('cache');
    await expectTreeError(resolveKernelTree({ kernel: tarball, env: { PATH: tarOnly }, cacheDir }), 'tool-missing', /xz-utils/);
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([]);
  });
});
