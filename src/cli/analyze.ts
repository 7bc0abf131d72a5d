import { parseArgs } from 'node:util';
import { analyzeApplication, AnalysisReportSchema } from '../callgraph/analyze.js';
import type { AnalysisReport } from '../callgraph/analyze.js';
import { summarizeLibc, summaryEntry, summaryPath } from '../callgraph/libc-summary.js';
import { checkLibcOption, progressOf, resolveKernelForCli, UsageError, type CliIO } from './common.js';

export const ANALYZE_USAGE = `usage: ukl-trim analyze INPUT... [--libc glibc|musl|PATH] [--json] [--kernel DIR]
  every syscall the application can reach, each with one call path from a root, the sites whose
  number is unknown (may be any syscall), socket families and /proc, /sys, /dev paths it names.
  INPUT: one x86-64 executable (a dynamically linked one with its interpreter and libraries), or
  objects / GCC LTO objects / clang bitcode / archives, which are first linked statically with
  --libc (default glibc). --kernel names syscalls from the
  tree's table, else $UKL_TRIM_KERNEL, else /usr/include/x86_64-linux-gnu/asm/unistd_64.h.`;

export async function runAnalyze(argv: string[], io: CliIO): Promise<number> {
  return analyzeCommand(argv, io);
}

async function analyzeCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      libc: { type: 'string' },
      json: { type: 'boolean' },
      kernel: { type: 'string' },
      patch: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(ANALYZE_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`analyze: no INPUT; see 'ukl-trim analyze --help'`);
  const libc = values.libc;
  checkLibcOption(libc);
  const kernelTree = values.kernel === undefined ? undefined : await resolveKernelForCli(values.kernel, io, values.patch ?? []);
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

export const LIBC_SUMMARY_USAGE = `usage: ukl-trim libc-summary [FUNCTION...] [--libc glibc|musl|PATH] [--kernel DIR] [--json]
  what each libc function can reach on its own: its syscalls, each with one call path, and
  whether an indirect call or an unknown syscall number lies on the way. Made once per libc.a
  (cached by content hash under $XDG_CACHE_HOME/ukl-trim/libc-summaries). Without FUNCTION:
  every public function (no leading underscore) with its syscall count.`;

export async function runLibcSummary(argv: string[], io: CliIO): Promise<number> {
  return libcSummaryCommand(argv, io);
}

async function libcSummaryCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      libc: { type: 'string', default: 'glibc' },
      json: { type: 'boolean' },
      kernel: { type: 'string' },
      patch: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(LIBC_SUMMARY_USAGE);
    return 0;
  }
  const libc = values.libc;
  checkLibcOption(libc);
  const kernelTree = values.kernel === undefined ? undefined : await resolveKernelForCli(values.kernel, io, values.patch ?? []);
  progressOf(io).begin(`summarising ${libc ?? 'glibc'} (once per libc.a)`);
  const summary = summarizeLibc(libc, kernelTree === undefined ? {} : { kernelTree });
  progressOf(io).end();
  const found = positionals.map((name) => ({ name, hit: summaryEntry(summary, name) }));
  const missing = found.filter((f) => f.hit === undefined).map((f) => f.name);
  if (missing.length > 0) throw new UsageError(`${summary.libc} defines no function ${missing.join(', ')}`);
  const nameOf = (nr: number): string => summary.syscallNames[String(nr)] ?? `syscall_${nr}`;
  if (values.json) {
    const { cached: _cached, ...plain } = summary;
    if (positionals.length === 0) io.out(JSON.stringify(plain));
    else {
      const functions = Object.fromEntries(
        found.map(({ name, hit }) => [
          name,
          { function: hit?.name, ...hit?.entry, names: hit?.entry.syscalls.map(nameOf), paths: hit?.entry.syscalls.map((nr) => summaryPath(summary, name, nr)) },
        ]),
      );
      io.out(JSON.stringify({ libc: summary.libc, sha256: summary.sha256, functions }, null, 2));
    }
    return 0;
  }
  io.out(`${summary.libc} (sha256 ${summary.sha256.slice(0, 12)}…): ${summary.stats.functions} functions${summary.cached ? ', from the cache' : `, summarised in ${summary.stats.seconds} s`}`);
  if (positionals.length === 0) {
    const names = [...Object.keys(summary.functions), ...Object.keys(summary.aliases)].filter((n) => !n.startsWith('_') && !n.includes('.')).sort();
    for (const name of names) {
      const entry = summaryEntry(summary, name)?.entry;
      if (entry === undefined) continue;
      io.out(`${name.padEnd(28)} ${String(entry.syscalls.length).padStart(3)} syscalls${entry.indirect ? ' + indirect calls' : ''}${entry.unknown ? ' + unknown numbers' : ''}`);
    }
    return 0;
  }
  for (const { name, hit } of found) {
    if (hit === undefined) continue;
    const { entry } = hit;
    io.out(`${name}${hit.name !== name ? ` (${hit.name})` : ''}: ${entry.syscalls.length} syscalls${entry.indirect ? '; an indirect call is reachable, whatever it calls comes on top' : ''}${entry.unknown ? '; a site with an unknown number is reachable (may be any syscall)' : ''}`);
    const width = Math.max(8, ...entry.syscalls.map((nr) => nameOf(nr).length));
    for (const nr of entry.syscalls) io.out(`${String(nr).padStart(4)} ${nameOf(nr).padEnd(width)} ${summaryPath(summary, name, nr).join(' → ')}`);
  }
  return 0;
}
