import { resolveKernelTree } from '../src/kernel/tree.js';
import { buildConf } from '../src/kconfig/oracle.js';

/**
 * Resolve the kernel tree once for every suite (extracting Debian's linux-source-6.1 into the
 * cache the first time) and hand it to the workers through UKL_TRIM_KERNEL. Under CI=true a
 * missing tree fails the run; elsewhere the suites that need it are skipped with a message.
 */
export default async function setup(): Promise<void> {
  try {
    const tree = await resolveKernelTree({});
    process.env.UKL_TRIM_KERNEL = tree.root;
    // the tree's own conf, for the suites that re-check their expectations against it
    process.env.ORACLE_CONF ??= buildConf(tree.root);
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    process.stderr.write(`note: no kernel tree (${(e as Error).message}); kernel-tree suites are skipped\n`);
  }
}
