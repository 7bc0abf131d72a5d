import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildKernel } from '../../src/build/kernel-build.js';
import { loadKconfig } from '../../src/kconfig/load.js';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';
import { builtSyscallsFromSystemMap, deriveSyscallMap, enabledUnder, entrySymbolPresent } from '../../src/kernel/syscalls.js';
import { manySyscallsKernel, minimizedEchoKernel } from '../helpers/test-kernels.js';

/**
 * Proof of the derived syscall map against real kernels: two x86_64 builds from the tree, one
 * with few syscall gates on (the echo server's minimised kernel, near tinyconfig) and one with
 * many on, and their System.map (`T __x64_sys_X` built, `W` weak stub from sys_ni.c). Both are
 * kernels other end-to-end suites build too, in the same folders (test/helpers/test-kernels.ts):
 * one build serves each (CI time).
 */
const tree = kernelTreeForTests();
const available = tree !== null || process.env.CI === 'true';
const work = mkdtempSync(join(tmpdir(), 'ukl-system-map-'));

describe.skipIf(!available)('syscall map vs System.map of built kernels (x86_64)', () => {
  const configs: Record<string, (loaded: ReturnType<typeof loadKconfig>, tree: string) => Promise<{ config: string; outDir: string }>> = {
    'minimised echo server': (_loaded, tree) => minimizedEchoKernel(tree, work),
    'many-syscalls': async (loaded) => manySyscallsKernel(loaded),
  };
  for (const [name, make] of Object.entries(configs)) {
    it(`${name}: at least 345 of the table's entries agree`, async () => {
      if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
      const loaded = loadKconfig({ tree, arch: 'x86_64' });
      const { config, outDir } = await make(loaded, tree);
      const build = await buildKernel({ tree, arch: 'x86_64', config, outDir, targets: ['bzImage'] });
      const built = builtSyscallsFromSystemMap(readFileSync(join(build.outDir, 'System.map'), 'utf8'), 'x86_64');
      const map = await deriveSyscallMap({ tree, arch: 'x86_64', kconfig: loaded.kconfig, kernelVersion: loaded.kbuild.kernelVersion });
      // the build ran olddefconfig on our config: evaluate under what it actually used
      const used = readFileSync(join(build.outDir, '.config'), 'utf8');
      expect(used).toBe(config);
      const m = enabledUnder(map, loaded.kconfig, used);
      const disagree = m.syscalls.filter((s) => (built.get(s.entry ?? '') ?? false) !== entrySymbolPresent(loaded.kconfig, s));
      const report = disagree.map((s) => `${s.name}: derived ${s.enabled} (${s.condition ?? 'always'}), System.map ${built.get(s.entry ?? '') ?? false}`);
      console.log(`${name}: ${m.syscalls.length - disagree.length}/${m.syscalls.length} agree; build ${build.reused ? 'reused' : `${build.seconds.toFixed(0)} s`}${report.length ? `\n  ${report.join('\n  ')}` : ''}`);
      expect(m.syscalls.length).toBe(347);
      expect(m.syscalls.length - disagree.length).toBeGreaterThanOrEqual(345);
    }, 3_600_000);
  }
});
