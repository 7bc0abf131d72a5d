import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildKernel } from '../../src/build/kernel-build.js';
import { loadKconfig, tinyconfig, type LoadedKconfig } from '../../src/kconfig/load.js';
import { cacheHome } from '../../src/util/cache-home.js';
import { mergeConfigFragments } from '../../src/kconfig/merge.js';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';
import { builtSyscallsFromSystemMap, deriveSyscallMap, enabledUnder, entrySymbolPresent } from '../../src/kernel/syscalls.js';
import { PROFILES, profileRequirements } from '../../src/minimize/profiles.js';
import { baselineBuildDir, tinyBaselineConfig } from '../../src/report/baseline.js';

/**
 * Proof of the derived syscall map against real kernels: two x86_64 builds from the tree, one
 * near tinyconfig and one with many syscall-gating options on, and their System.map
 * (`T __x64_sys_X` built, `W` weak stub from sys_ni.c). The one near tinyconfig is the report's
 * default baseline for a network app (tinyconfig + the qemu-x86_64 boot profile), in the
 * report's own cache folder: the end-to-end suite's report measures against the same kernel, so
 * one build serves both (CI time).
 */
const tree = kernelTreeForTests();
const available = tree !== null || process.env.CI === 'true';

describe.skipIf(!available)('syscall map vs System.map of built kernels (x86_64)', () => {
  const bootProfile = profileRequirements(PROFILES['qemu-x86_64'] as (typeof PROFILES)[string], { network: true }).map((r) => r.expression);
  const configs: Record<string, (loaded: LoadedKconfig, tree: string) => { config: string; outDir: string }> = {
    'tinyconfig + boot profile': (loaded, tree) => {
      const { config } = tinyBaselineConfig(loaded, bootProfile);
      return { config, outDir: baselineBuildDir(tree, 'x86_64', config) };
    },
    'many-syscalls': (loaded) => ({
      config: loaded.kconfig.olddefconfig(mergeConfigFragments(tinyconfig(loaded), [readFileSync('fixtures/kernel-configs/syscalls-many.config', 'utf8')])),
      outDir: join(cacheHome(), 'e2e-kernels', 'many-syscalls'),
    }),
  };
  for (const [name, make] of Object.entries(configs)) {
    it(`${name}: at least 345 of the table's entries agree`, async () => {
      if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
      const loaded = loadKconfig({ tree, arch: 'x86_64' });
      const { config, outDir } = make(loaded, tree);
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
