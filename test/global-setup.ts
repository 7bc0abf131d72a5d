import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEBIAN_KERNEL_TARBALL, resolveKernelTree } from '../src/kernel/tree.js';
import { buildConf } from '../src/kconfig/oracle.js';
import { UKL_KERNEL_ENV, uklPatchForTests } from './helpers/ukl-tree.js';
import { codeServerBin } from './editors/code-server-install.js';

/**
 * Resolve the kernel tree once for every suite (extracting Debian's linux-source-6.1 into the
 * cache the first time) and hand it to the workers through UKL_TRIM_KERNEL. Under CI=true a
 * missing tree or tool fails the run; elsewhere the suites that need them are skipped.
 */
/**
 * The tools and files suites check for before they run (a missing one skips them locally). Under
 * CI=true each must be there, so that no suite is skipped for want of it.
 */
const CI_COMMANDS = ['gcc', 'cc', 'musl-gcc', 'clang', 'llvm-dis', 'lto-dump-12', 'ld', 'as', 'ar', 'objcopy', 'objdump', 'readelf', 'strace', 'make', 'patch', 'qemu-system-x86_64', 'nvim', 'unzip', 'dig', 'apt-get', 'dpkg-deb', 'ccache', 'distcc', 'distccd', 'nm', 'chromium', 'redis-cli', 'memccp', 'memccat', 'memcstat'];
// libevent.a: memcached, linked statically in the real-servers suite
const CI_FILES = ['/usr/lib/x86_64-linux-musl/libc.a', '/usr/lib/x86_64-linux-gnu/libc.a', '/usr/lib/x86_64-linux-musl/musl-gcc.specs', '/usr/lib/x86_64-linux-gnu/libevent.a'];

function missingPrerequisites(): string[] {
  const missing = CI_COMMANDS.filter((command) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status !== 0);
  // code-server from npm, put in ukl-trim's cache by scripts/setup.sh (test/editors/code-server.test.ts)
  const files = [...CI_FILES, codeServerBin()];
  return [...missing, ...files.filter((file) => !existsSync(file))];
}

export default async function setup(): Promise<void> {
  if (process.env.CI === 'true') {
    const missing = missingPrerequisites();
    if (missing.length > 0) throw new Error(`CI=true and prerequisites are missing (suites would be skipped): ${missing.join(', ')}; run scripts/setup.sh`);
  }
  try {
    const tree = await resolveKernelTree({});
    process.env.UKL_TRIM_KERNEL = tree.root;
    // the tree's own conf, for the suites that re-check their expectations against it
    process.env.ORACLE_CONF ??= buildConf(tree.root);
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    process.stderr.write(`note: no kernel tree (${(e as Error).message}); kernel-tree suites are skipped\n`);
  }
  await setUpUklTree();
}

/** the UKL tree: Debian's tarball plus the UKL series, patched once into the cache */
async function setUpUklTree(): Promise<void> {
  if (process.env[UKL_KERNEL_ENV]) return;
  const patch = uklPatchForTests();
  try {
    if (patch === null) throw new Error('the UKL series (shared/ukl/ukl-rfc-6.1.192.diff) is not beside this checkout; set UKL_TRIM_UKL_PATCH');
    const tree = await resolveKernelTree({ kernel: DEBIAN_KERNEL_TARBALL, patches: [patch] });
    process.env[UKL_KERNEL_ENV] = tree.root;
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    process.stderr.write(`note: no UKL tree (${(e as Error).message}); the UKL suites are skipped\n`);
  }
}
