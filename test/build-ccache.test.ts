import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilerCache, readCompilerCacheStats } from '../src/build/ccache.js';

const hasCcache = spawnSync('sh', ['-c', 'command -v ccache']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'ukl-ccache-'));

describe('ccache for kernel builds', () => {
  it('is off without ccache on PATH or with UKL_TRIM_CCACHE=off', () => {
    const outDir = join(work, 'none');
    mkdirSync(outDir);
    expect(compilerCache({ tree: work, outDir, cacheRoot: work, env: { PATH: join(work, 'empty') } })).toBeNull();
    expect(compilerCache({ tree: work, outDir, cacheRoot: work, env: { ...process.env, UKL_TRIM_CCACHE: 'off' } })).toBeNull();
  });

  it("counts hits and misses of source files from the stats log, not kbuild's /dev/null probes", () => {
    const log = join(work, 'stats.log');
    const probes = '# /dev/null\ndirect_cache_hit\nlocal_storage_hit\n# \nno_input_file\n# /dev/null\ncache_miss\n';
    writeFileSync(log, `${probes}# a.c\ncache_miss\ndirect_cache_miss\n# b.c\ndirect_cache_hit\nlocal_storage_hit\n${probes}# c.c\npreprocessed_cache_hit\n`);
    expect(readCompilerCacheStats(log)).toEqual({ hits: 2, misses: 1 });
    expect(readCompilerCacheStats(join(work, 'none.log'))).toBeNull();
  });

  it.skipIf(!hasCcache && process.env.CI !== 'true')('a compile in another build folder of the same tree is a hit, while the compiler is still called gcc', () => {
    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'kernel'), { recursive: true });
    writeFileSync(join(tree, 'kernel', 'fork.c'), 'int forks(int n) { return n * 2; }\n');
    const cacheRoot = join(work, 'cache');
    const stats = [];
    for (const name of ['first', 'second']) {
      const outDir = join(work, 'builds', name, 'kernel');
      mkdirSync(outDir, { recursive: true });
      const cache = compilerCache({ tree, outDir, cacheRoot, env: process.env });
      expect(cache).not.toBeNull();
      // what make runs: `gcc` from PATH with kbuild's dependency file, the source by absolute path, the object in the build folder
      const log = join(outDir, 'ccache.log');
      const cc = spawnSync('gcc', ['-Wp,-MMD,.fork.o.d', '-O2', '-c', '-o', 'fork.o', join(tree, 'kernel', 'fork.c')], { cwd: outDir, env: { ...cache?.env, CCACHE_LOGFILE: log }, encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      stats.push(readCompilerCacheStats(cache?.statsLog as string));
      // depend mode: a miss is one compile, with no preprocessor run of its own to hash
      if (name === 'first') expect(readFileSync(log, 'utf8')).not.toMatch(/Running preprocessor/);
    }
    expect(stats).toEqual([{ hits: 0, misses: 1 }, { hits: 1, misses: 0 }]);
  });

  it('runs ccache in depend mode unless the environment says otherwise', () => {
    const outDir = join(work, 'modes');
    mkdirSync(outDir, { recursive: true });
    const path = join(work, 'fake-bin');
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'ccache'), '', { mode: 0o755 });
    const env = (extra: NodeJS.ProcessEnv) => compilerCache({ tree: work, outDir, cacheRoot: join(work, 'modes-cache'), env: { PATH: path, ...extra } })?.env;
    expect(env({})?.CCACHE_DEPEND).toBe('1');
    expect(env({ CCACHE_NODEPEND: '1' })?.CCACHE_DEPEND).toBeUndefined();
    expect(env({ CCACHE_DEPEND: 'true' })?.CCACHE_DEPEND).toBe('true');
  });
});
