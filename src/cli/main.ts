import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { reportError, resolveKernelForCli, UsageError, type CliIO } from './common.js';
import { createProgress, silentProgress } from './progress.js';

const USAGE = `usage: ukl-trim APP... [options]   the smallest kernel config for APP (see 'ukl-trim minimize --help')
       ukl-trim <command> [options]
commands:
  minimize  the same as 'ukl-trim APP...'
  batch     trim several apps in one call, sharing the parsed tree (see 'ukl-trim batch --help')
  conf      compute a kernel .config like 'make ARCH=... <target>' (see 'ukl-trim conf --help')
  syscalls  the syscall → Kconfig map of a tree, derived from its source (see 'ukl-trim syscalls --help')
  analyze   the syscalls an executable can reach, with witness paths (see 'ukl-trim analyze --help')
  libc-summary  what each libc function can reach: syscalls with paths (see 'ukl-trim libc-summary --help')
  build     build a kernel and an initramfs holding the app (see 'ukl-trim build --help')
  boot      boot a kernel under QEMU, wait for a marker, check a TCP echo (see 'ukl-trim boot --help')
  report    an HTML page: vmlinux by subsystem against a baseline, options by reason, requirements (see 'ukl-trim report --help')
  cc        a compiler driver for UKL apps: make CC='ukl-trim cc' (see 'ukl-trim cc --help')
  lsp       the language server for editors (stdio)
  tree      print the kernel tree in use (extracting a tarball into the cache once): tree [--kernel DIR|TARBALL [--patch FILE]...]
  help      show this text
--quiet (any command but cc): no progress lines and notes on stderr`;

const TREE_USAGE = 'usage: ukl-trim tree [--kernel DIR|TARBALL [--patch FILE]...]';

export async function main(argv: string[], io: CliIO): Promise<number> {
  const args = withoutQuiet(argv, io);
  const [cmd, ...rest] = args;
  try {
    switch (cmd) {
      // subcommands load their modules on demand: startup time matters for `conf`
      case 'conf':
        return await (await import('./conf.js')).runConf(rest, io);
      case 'syscalls':
        return await (await import('./syscalls.js')).runSyscalls(rest, io);
      case 'analyze':
        return await (await import('./analyze.js')).runAnalyze(rest, io);
      case 'libc-summary':
        return await (await import('./analyze.js')).runLibcSummary(rest, io);
      case 'build':
        return await (await import('./build.js')).runBuild(rest, io);
      case 'boot':
        return await (await import('./build.js')).runBoot(rest, io);
      case 'report':
        return await (await import('./report.js')).runReport(rest, io);
      case 'cc':
        return await (await import('./cc.js')).runCc(rest, io);
      case 'lsp':
        return await (await import('./lsp.js')).runLsp(rest, io);
      case 'minimize':
        return await (await import('./minimize.js')).runMinimize(rest, io);
      case 'batch':
        return await (await import('./batch.js')).runBatch(rest, io);
      case 'tree': {
        const { values, positionals } = parseArgs({ args: rest, options: { kernel: { type: 'string' }, patch: { type: 'string', multiple: true } }, allowPositionals: true, strict: true });
        if (positionals.length > 0) throw new UsageError(`tree: unexpected ${positionals[0]} (${TREE_USAGE})`);
        io.out(await resolveKernelForCli(values.kernel, io, values.patch ?? []));
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        // `ukl-trim app.o ...`: the main job; an option first (`ukl-trim --kernel K app`) too
        if (cmd.startsWith('-') || existsSync(cmd) || cmd.includes('/') || /\.(o|a|bc|elf)$/.test(cmd)) return await (await import('./minimize.js')).runMinimize(args, io);
        throw new UsageError(`unknown command '${cmd}' (and no such file); see 'ukl-trim --help'`);
    }
  } catch (e) {
    return reportError(e, io);
  }
}

export function processIO(): CliIO {
  return {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    info: (l) => process.stderr.write(`${l}\n`),
    progress: createProgress(process.stderr),
  };
}

/**
 * `--quiet` anywhere (but in `cc`, whose arguments are the compiler's): no progress and no
 * informational lines; results and errors still print.
 */
function withoutQuiet(argv: string[], io: CliIO): string[] {
  if (argv[0] === 'cc' || !argv.includes('--quiet')) return argv;
  io.progress = silentProgress;
  io.info = () => {};
  return argv.filter((a) => a !== '--quiet');
}
