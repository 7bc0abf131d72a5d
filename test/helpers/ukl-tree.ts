import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The UKL tree the UKL suites run on: Debian's linux-source-6.1 tarball with the UKL RFC series
 * (adapted to 6.1.192) applied, made in the cache at test time by `resolveKernelTree({ kernel,
 * patches })`. The diff is a test input kept outside this project (../shared/ukl/); never copy it in.
 */
export const UKL_KERNEL_ENV = 'UKL_TRIM_UKL_KERNEL';
export const UKL_PATCH_ENV = 'UKL_TRIM_UKL_PATCH';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PATCH_NAME = join('ukl', 'ukl-rfc-6.1.192.diff');

/** the UKL series: $UKL_TRIM_UKL_PATCH, else shared/ukl/ beside the checkout or beside any folder above it */
export function uklPatchForTests(): string | null {
  const fromEnv = process.env[UKL_PATCH_ENV];
  if (fromEnv !== undefined && fromEnv !== '' && existsSync(fromEnv)) return fromEnv;
  for (let dir = resolve(REPO); ; dir = dirname(dir)) {
    const candidate = join(dirname(dir), 'shared', PATCH_NAME);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** the UKL tree the test setup made (UKL_TRIM_UKL_KERNEL), or null */
export function uklTreeForTests(): string | null {
  const tree = process.env[UKL_KERNEL_ENV];
  return tree !== undefined && existsSync(join(tree, 'kernel', 'Kconfig.ukl')) ? tree : null;
}
