import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildKernel, type KernelBuildResult } from '../../src/build/kernel-build.js';
import { tinyconfig, type LoadedKconfig } from '../../src/kconfig/load.js';
import { mergeConfigFragments } from '../../src/kconfig/merge.js';
import { minimizeConfig, type MinimizeReport, type MinimizeResult } from '../../src/minimize/minimize.js';
import { cacheHome } from '../../src/util/cache-home.js';

/**
 * Kernels more than one end-to-end suite uses, each defined once so that every suite asks for
 * the identical config in the same folder: the first suite to run builds it, the others reuse it
 * (on 2 cores a kernel is 5 to 10 minutes of CI time).
 */

/** tinyconfig plus fixtures/kernel-configs/syscalls-many.config: many syscall gates on, and what booting a network app needs */
export function manySyscallsKernel(loaded: LoadedKconfig): { config: string; outDir: string } {
  const fragment = readFileSync('fixtures/kernel-configs/syscalls-many.config', 'utf8');
  return { config: loaded.kconfig.olddefconfig(mergeConfigFragments(tinyconfig(loaded), [fragment])), outDir: join(cacheHome(), 'e2e-kernels', 'many-syscalls') };
}

export async function buildManySyscallsKernel(tree: string, loaded: LoadedKconfig): Promise<KernelBuildResult & { config: string }> {
  const { config, outDir } = manySyscallsKernel(loaded);
  return { ...(await buildKernel({ tree, arch: 'x86_64', config, outDir, targets: ['bzImage'] })), config };
}

/** where `ukl-trim echo.o --build DIR` puts the minimised echo server's kernel in the end-to-end suite */
export const MINIMIZED_ECHO_OUT = (): string => join(cacheHome(), 'e2e-kernels', 'minimized-echo');

/** the echo example compiled to echo.o, as the end-to-end suite and the README do */
export function compileEchoObject(work: string): string {
  const object = join(work, 'echo.o');
  const r = spawnSync('gcc', ['-O2', '-c', '-o', object, 'examples/echo-server/echo.c'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc echo.c:\n${r.stderr}`);
  return object;
}

/** the echo server's minimised config (what `ukl-trim echo.o --libc glibc` writes) and its build folder */
export async function minimizedEchoKernel(tree: string, work: string): Promise<{ config: string; outDir: string }> {
  const result = await minimizeConfig({ kernel: tree, app: compileEchoObject(work), libc: 'glibc' });
  return { config: result.config, outDir: join(MINIMIZED_ECHO_OUT(), 'kernel') };
}

/**
 * One config for several apps already minimised one by one: the first app's analysis with the
 * others' requirements added (the boot profile comes with the first; theirs are left out).
 */
export async function minimizedTogether(tree: string, apps: ReadonlyArray<{ app: string; report: MinimizeReport }>): Promise<MinimizeResult> {
  const [first, ...others] = apps;
  if (!first) throw new Error('no apps');
  const requirements = others.flatMap((o) => o.report.requirements.filter((r) => r.kind !== 'profile'));
  return minimizeConfig({ kernel: tree, app: first.app, requirements });
}
