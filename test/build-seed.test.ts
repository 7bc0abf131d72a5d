import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDistance, recordBuildFolder, recordedBuildFolders, seedBuildFolder } from '../src/build/build-seed.js';

const work = mkdtempSync(join(tmpdir(), 'ukl-seed-'));
const cacheRoot = join(work, 'cache');

/** a finished build folder as buildKernel leaves it, with objtool's records naming the folder */
function fakeBuild(name: string, config: string, tree = '/trees/a'): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'tools', 'objtool'), { recursive: true });
  mkdirSync(join(dir, 'kernel'), { recursive: true });
  writeFileSync(join(dir, '.config'), config);
  writeFileSync(join(dir, '.ukl-trim-build'), 'key');
  writeFileSync(join(dir, 'build.log'), 'the old log');
  writeFileSync(join(dir, 'kernel', 'fork.o'), name);
  writeFileSync(join(dir, 'tools', 'objtool', '.check.o.cmd'), `cmd_${dir}/tools/objtool/check.o := gcc -o ${dir}/tools/objtool/check.o\n`);
  writeFileSync(join(dir, 'tools', 'objtool', 'check.o'), `compiled in ${dir}`);
  recordBuildFolder(cacheRoot, { dir, tree, arch: 'x86_64' });
  return dir;
}

describe('a new build folder starts from the nearest earlier build', () => {
  const net = 'CONFIG_NET=y\nCONFIG_INET=y\n# CONFIG_UNIX is not set\n';
  const netUnix = 'CONFIG_NET=y\nCONFIG_INET=y\nCONFIG_UNIX=y\n';
  const none = '# CONFIG_NET is not set\n';

  it('counts the options whose values differ (unset is n)', () => {
    expect(configDistance(net, net)).toBe(0);
    expect(configDistance(net, netUnix)).toBe(1);
    expect(configDistance(net, none)).toBe(2);
    expect(configDistance('CONFIG_HZ=100\n', 'CONFIG_HZ=250\n')).toBe(1);
  });

  it('copies the nearest build of the same tree and arch, with recorded paths moved and the old bookkeeping dropped', () => {
    const far = fakeBuild('far', none);
    const near = fakeBuild('near', net);
    fakeBuild('other-tree', netUnix, '/trees/b');
    const out = join(work, 'new');
    const seed = seedBuildFolder({ cacheRoot, tree: '/trees/a', arch: 'x86_64', config: netUnix, outDir: out });
    expect(seed).toEqual({ from: near, differing: 1 });
    expect(readFileSync(join(out, 'kernel', 'fork.o'), 'utf8')).toBe('near');
    expect(readFileSync(join(out, 'tools', 'objtool', '.check.o.cmd'), 'utf8')).toBe(`cmd_${out}/tools/objtool/check.o := gcc -o ${out}/tools/objtool/check.o\n`);
    // objects are copied byte for byte, only the records of commands are rewritten
    expect(readFileSync(join(out, 'tools', 'objtool', 'check.o'), 'utf8')).toBe(`compiled in ${near}`);
    expect(existsSync(join(out, '.ukl-trim-build'))).toBe(false);
    expect(existsSync(join(out, 'build.log'))).toBe(false);
    expect(far).not.toBe(near);
  });

  it('leaves a folder that already holds files, an unfinished build and a different arch alone', () => {
    const used = join(work, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'mine'), 'x');
    expect(seedBuildFolder({ cacheRoot, tree: '/trees/a', arch: 'x86_64', config: net, outDir: used })).toBeNull();
    expect(seedBuildFolder({ cacheRoot, tree: '/trees/a', arch: 'arm64', config: net, outDir: join(work, 'arm') })).toBeNull();
    const root = join(work, 'unfinished-cache');
    const dir = join(work, 'unfinished');
    mkdirSync(dir);
    writeFileSync(join(dir, '.config'), net);
    recordBuildFolder(root, { dir, tree: '/trees/a', arch: 'x86_64' });
    expect(seedBuildFolder({ cacheRoot: root, tree: '/trees/a', arch: 'x86_64', config: net, outDir: join(work, 'from-unfinished') })).toBeNull();
  });
});

describe('the record of finished build folders', () => {
  it('keeps every folder when several processes record theirs at the same moment', async () => {
    const root = join(work, 'concurrent-cache');
    const module = new URL('../src/build/build-seed.ts', import.meta.url).href;
    const writer = (p: number): Promise<number | null> =>
      new Promise((done) => {
        const script = `const { recordBuildFolder } = await import(${JSON.stringify(module)});
for (let i = 0; i < 8; i++) recordBuildFolder(${JSON.stringify(root)}, { dir: ${JSON.stringify(work)} + '/p${p}-' + i, tree: '/trees/a', arch: 'x86_64' });`;
        for (let i = 0; i < 8; i++) mkdirSync(join(work, `p${p}-${i}`), { recursive: true });
        spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' }).on('close', done);
      });
    expect(await Promise.all([0, 1, 2, 3].map(writer))).toEqual([0, 0, 0, 0]);
    const dirs = recordedBuildFolders(root).map((r) => r.dir);
    expect(new Set(dirs).size).toBe(32);
  });

  it('forgets folders that are gone and keeps the newest 32', () => {
    const root = join(work, 'pruned-cache');
    for (let i = 0; i < 34; i++) {
      const dir = join(work, `kept-${i}`);
      mkdirSync(dir, { recursive: true });
      recordBuildFolder(root, { dir, tree: '/trees/a', arch: 'x86_64' });
    }
    recordBuildFolder(root, { dir: join(work, 'never-made'), tree: '/trees/a', arch: 'x86_64' });
    recordBuildFolder(root, { dir: join(work, 'kept-33'), tree: '/trees/a', arch: 'x86_64' });
    const dirs = recordedBuildFolders(root).map((r) => r.dir);
    expect(dirs).toHaveLength(32);
    expect(dirs[0]).toBe(join(work, 'kept-33'));
    expect(dirs).not.toContain(join(work, 'never-made'));
  });
});
