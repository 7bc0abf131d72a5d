import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { KconfigError } from '../kconfig/errors.js';
import { exitCodeOf, UklTrimError } from '../util/errors.js';
import { silentProgress, type Progress } from './progress.js';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** informational message (stderr), suppressed with --quiet */
  info(line: string): void;
  /** long work (stderr): a live line on a terminal, timestamped lines otherwise, nothing with --quiet */
  progress?: Progress;
}

export function progressOf(io: CliIO): Progress {
  return io.progress ?? silentProgress;
}

/** A mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends UklTrimError<'usage'> {
  static readonly codes = ['usage'] as const;
  constructor(message: string) {
    super('usage', message);
  }
}

/**
 * The one place errors become exit codes. A typed error prints one line (an internal one then its
 * chain, such as a failed build's first errors) and exits 2 for bad input, 1 for a fault of the
 * machine; anything untyped is a bug in ukl-trim: its stack, exit 1.
 */
export function reportError(e: unknown, io: CliIO): number {
  const typed = typedError(e);
  if (typed === undefined) {
    io.err(`ukl-trim: internal error: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
  io.err(typed instanceof KconfigError ? typed.format() : `ukl-trim: ${typed.format()}`);
  if (typed.internal) for (const line of typed.chain) io.err(`  ${line}`);
  return exitCodeOf(typed);
}

/** node:util's parseArgs reports unknown options and missing values as plain errors with a code */
function typedError(e: unknown): UklTrimError | undefined {
  if (e instanceof UklTrimError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return new UsageError((e as Error).message);
  return undefined;
}

/**
 * `--kernel DIR|TARBALL`, else $UKL_TRIM_KERNEL, else Debian's linux-source-6.1 tarball,
 * extracted once into the cache (see src/kernel/tree.ts); `--patch FILE...` applies patches to
 * a tarball's tree (a separate cache entry per patch set).
 */
export async function resolveKernelForCli(kernel: string | undefined, io: CliIO, patches: readonly string[] = []): Promise<string> {
  if (patches.length > 0 && !kernel) throw new UsageError('--patch needs --kernel TARBALL (the tree the patches apply to)');
  for (const patch of patches) if (!existsSync(patch)) throw new UsageError(`--patch ${patch}: no such file`);
  if (kernel) {
    try {
      if (statSync(kernel).isDirectory()) {
        if (patches.length > 0) throw new UsageError(`--patch applies to a tarball's tree in the cache, never to a tree in place: give --kernel a tarball, not the directory ${kernel}`);
        return resolve(kernel);
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`--kernel ${kernel}: no such file or directory`);
    }
  }
  const { resolveKernelTree } = await import('../kernel/tree.js');
  const { reportBytes } = await import('./progress.js');
  const progress = progressOf(io);
  const t = await resolveKernelTree({ ...(kernel ? { kernel } : {}), patches, progress: reportBytes(progress) });
  progress.end();
  return t.root;
}

/**
 * `--libc`: glibc, musl, the path of an existing libc.a; in UKL mode also none (a libc-free app)
 * and musl-ukl (musl built for UKL by ukl-trim). UsageError otherwise.
 */
export function checkLibcOption(libc: string | undefined, opts: { ukl?: boolean } = {}): void {
  if ((libc === 'none' || libc === 'musl-ukl') && opts.ukl) return;
  if (libc === 'none' || libc === 'musl-ukl') throw new UsageError(`--libc ${libc} is for --mode ukl (the libc of an app linked into the kernel)`);
  if (libc !== undefined && libc !== 'glibc' && libc !== 'musl' && !existsSync(libc)) {
    throw new UsageError(`--libc ${libc}: expected glibc, musl${opts.ukl ? ', musl-ukl, none' : ''} or the path of a libc.a`);
  }
}

/**
 * `--app-arg -u` as `--app-arg=-u`: node's parseArgs refuses a value that starts with a dash as
 * ambiguous, but an app's own flags always do. Only the named flags take the next word this way.
 */
export function joinFlagValues(argv: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') return [...out, ...argv.slice(i)];
    if (flags.includes(word) && i + 1 < argv.length) out.push(`${word}=${argv[++i] as string}`);
    else out.push(word);
  }
  return out;
}
