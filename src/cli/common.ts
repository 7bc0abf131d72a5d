import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** informational message (stderr), suppressed with --quiet */
  info(line: string): void;
  isTTY: boolean;
}

/** A mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * `--kernel DIR|TARBALL`, else $UKL_TRIM_KERNEL, else Debian's linux-source-6.1 tarball,
 * extracted once into the cache (see src/kernel/tree.ts).
 */
export async function resolveKernelForCli(kernel: string | undefined, io: CliIO): Promise<string> {
  if (kernel) {
    try {
      if (statSync(kernel).isDirectory()) return resolve(kernel);
    } catch {
      throw new UsageError(`--kernel ${kernel}: no such file or directory`);
    }
  }
  const { resolveKernelTree } = await import('../kernel/tree.js');
  const { createTtyProgress } = await import('./progress.js');
  const progress = createTtyProgress(process.stderr);
  const t = await resolveKernelTree({ ...(kernel ? { kernel } : {}), progress: (p) => progress.update(p) });
  progress.done();
  void io;
  return t.root;
}

/** `--libc`: glibc, musl or the path of an existing libc.a (UsageError otherwise) */
export function checkLibcOption(libc: string | undefined): void {
  if (libc !== undefined && libc !== 'glibc' && libc !== 'musl' && !existsSync(libc)) throw new UsageError(`--libc ${libc}: expected glibc, musl or the path of a libc.a`);
}
