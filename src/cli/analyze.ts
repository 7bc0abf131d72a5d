import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { analyzeApplication, AnalysisReportSchema, AnalysisUnsupportedError, SyscallNamesUnavailableError } from '../callgraph/analyze.js';
import { LinkError } from '../lto/link.js';
import type { AnalysisReport } from '../callgraph/analyze.js';
import { SyscallMapError } from '../kernel/syscalls.js';
import { ArchiveError } from '../lto/archive.js';
import { ElfError } from '../lto/elf.js';
import { resolveKernelForCli, UsageError, type CliIO } from './common.js';

export const ANALYZE_USAGE = `usage: ukl-trim analyze INPUT... [--libc glibc|musl|PATH] [--json] [--kernel DIR]
  every syscall the application can reach, each with one call path from a root, the sites whose
  number is unknown (may be any syscall), socket families and /proc, /sys, /dev paths it names.
  INPUT: one static x86-64 executable, or objects / GCC LTO objects / clang bitcode / archives,
  which are first linked statically with --libc (default glibc). --kernel names syscalls from the
  tree's table, else $UKL_TRIM_KERNEL, else /usr/include/x86_64-linux-gnu/asm/unistd_64.h.`;

export async function runAnalyze(argv: string[], io: CliIO): Promise<number> {
  try {
    return await analyzeCommand(argv, io);
  } catch (e) {
    // bad input is the user's to fix: one line, exit 2 (the file and offset are in the message)
    if (e instanceof UsageError || e instanceof LinkError || e instanceof ElfError || e instanceof ArchiveError || e instanceof AnalysisUnsupportedError || e instanceof SyscallNamesUnavailableError || e instanceof SyscallMapError) {
      io.err(`ukl-trim: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

async function analyzeCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      libc: { type: 'string' },
      json: { type: 'boolean' },
      kernel: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(ANALYZE_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`analyze: no INPUT\n${ANALYZE_USAGE}`);
  const libc = values.libc;
  if (libc !== undefined && libc !== 'glibc' && libc !== 'musl' && !existsSync(libc)) {
    throw new UsageError(`--libc ${libc}: expected glibc, musl or the path of a libc.a`);
  }
  const kernelTree = values.kernel === undefined ? undefined : await resolveKernelForCli(values.kernel, io);
  const { linkedExecutable, ...report } = analyzeApplication(positionals, { ...(kernelTree === undefined ? {} : { kernelTree }), ...(libc ? { libc } : {}) });
  if (libc !== undefined && linkedExecutable === positionals[0]) io.info(`--libc ${libc} is not needed: ${positionals[0]} is statically linked`);
  AnalysisReportSchema.parse(report);
  if (values.json) io.out(JSON.stringify(report, null, 2));
  else printReport(report, io);
  return 0;
}

function printReport(report: AnalysisReport, io: CliIO): void {
  io.out(`${report.input}: ${report.syscalls.length} syscalls reachable from ${report.roots.length} roots, ${report.unresolved.length} unresolved`);
  const width = Math.max(8, ...report.syscalls.map((s) => s.name.length));
  for (const syscall of report.syscalls) io.out(`${String(syscall.nr).padStart(4)} ${syscall.name.padEnd(width)} ${syscall.path.join(' → ')}`);
  if (report.unresolved.length > 0) {
    io.out('unresolved (may be any syscall):');
    for (const site of report.unresolved) io.out(`  0x${site.address.toString(16)} ${site.function ?? '?'}: ${site.reason}`);
  }
  io.out(`socket families: ${report.socketFamilies.join(' ') || '(none)'}`);
  for (const call of report.unknownSocketFamilies) io.out(`  socket family not a constant at 0x${call.address.toString(16)} in ${call.function}`);
  io.out(`pseudo-files: ${report.pseudoFiles.join(' ') || '(none)'}`);
}
