import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KernelTreeError } from './tree.js';

/**
 * Whether a kernel tree can build UKL mode: the RFC series and UKL's fork add
 * `kernel/Kconfig.ukl` with `menuconfig UNIKERNEL_LINUX`; another fork may define it elsewhere.
 */

export interface UklSupport {
  supported: boolean;
  /** what showed the support: `kernel/Kconfig.ukl`, or the Kconfig file defining UNIKERNEL_LINUX */
  evidence?: string;
}

/** a tree path, or anything carrying one (the KernelTree of src/kernel/tree.ts) */
export type TreeLike = string | { root: string };

function treeRoot(tree: TreeLike): string {
  return typeof tree === 'string' ? tree : tree.root;
}

/** the RFC series defines `menuconfig UNIKERNEL_LINUX`; a later fork might use plain `config` */
const UKL_SYMBOL_DEFINITION = '^[[:space:]]*(menu)?config[[:space:]]+UNIKERNEL_LINUX([[:space:]]|$)';

export function detectUklSupport(tree: TreeLike): UklSupport {
  const root = treeRoot(tree);
  if (!isDirectory(root)) return { supported: false };
  if (existsSync(join(root, 'kernel', 'Kconfig.ukl'))) return { supported: true, evidence: 'kernel/Kconfig.ukl' };
  // a tree that put the options elsewhere: one grep over the Kconfig files (~0.1 s on 6.1)
  const grep = spawnSync('grep', ['-rlE', '--include=Kconfig*', UKL_SYMBOL_DEFINITION, '.'], { cwd: root, encoding: 'utf8' });
  if (grep.error !== undefined) {
    throw new KernelTreeError('tool-missing', `detect UKL support: cannot run grep: ${grep.error.message}`);
  }
  // grep: 0 found, 1 nothing found, 2 trouble (an unreadable file still lets the others match)
  const first = grep.stdout.split('\n').find((line) => line.length > 0);
  if (first === undefined) return { supported: false };
  return { supported: true, evidence: `${first.replace(/^\.\//, '')} defines UNIKERNEL_LINUX` };
}

/** the one line the CLI prints for `--mode ukl` on a tree without UKL support */
export function runUklBuildHint(tree: TreeLike): string {
  return `${treeRoot(tree)} has no UKL support (no kernel/Kconfig.ukl / UNIKERNEL_LINUX); use --mode initramfs`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
