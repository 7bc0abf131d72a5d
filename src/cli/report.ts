import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BaselineChoice } from '../report/baseline.js';
import { readMinimizeOutput } from '../report/input.js';
import { writeKernelReport, type KernelReportOptions } from '../report/report.js';
import { progressOf, resolveKernelForCli, UsageError, type CliIO } from './common.js';

export const REPORT_USAGE = `usage: ukl-trim report --minimize-json FILE --out FILE.html [--build-dir DIR] [--baseline DIR|CONFIG|none]
                       [--kernel DIR|TARBALL] [--title TEXT] [--json]
  one self-contained HTML page: vmlinux's size by subsystem (treemaps of the trimmed kernel and a
  baseline at one scale), the options that are on grouped by reason with their chains, the
  requirements with their witness paths, the build and boot times.
  --minimize-json FILE  what 'ukl-trim APP … --build OUT [--boot] --json' printed (or a bare report)
  --build-dir DIR       the trimmed kernel's build folder (default: the one FILE names)
  --baseline            a finished build folder, a .config to build (once, cached, through ccache),
                        or none; default: tinyconfig + the boot profile, built the same way
  --kernel              the tree a baseline is built from (default: the build folder's source link)`;

/** `--baseline` / `--report-baseline`: none, a build folder, or a config file */
export function baselineChoiceOf(value: string | undefined, option: string): BaselineChoice {
  if (value === undefined) return { kind: 'default' };
  if (value === 'none') return { kind: 'none' };
  if (!existsSync(value)) throw new UsageError(`${option} ${value}: no such file or directory (a build folder, a .config, or none)`);
  return statSync(value).isDirectory() ? { kind: 'build-dir', path: resolve(value) } : { kind: 'config', path: resolve(value) };
}

/** writeKernelReport for the CLI: its phases and the baseline build as progress (errors reach reportError as they are) */
export async function reportForCli(opts: KernelReportOptions & { out: string }, io: CliIO): Promise<Awaited<ReturnType<typeof writeKernelReport>>> {
  const progress = progressOf(io);
  try {
    return await writeKernelReport({
      ...opts,
      onPhase: (p) => progress.begin(p),
      onBuildProgress: (compiled, expected) => progress.detail(expected === null ? `${compiled} files compiled` : `${compiled} of about ${expected} files compiled`),
    });
  } finally {
    progress.end();
  }
}

/** the subsystems, biggest first: `kernel 962,667, net 696,080, …` */
function topLine(groups: ReadonlyArray<{ top: string; bytes: number }>, n = 6): string {
  const tops = new Map<string, number>();
  for (const g of groups) tops.set(g.top, (tops.get(g.top) ?? 0) + g.bytes);
  return [...tops]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([t, b]) => `${t} ${b.toLocaleString('en-US')}`)
    .join(', ');
}

export async function runReport(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'minimize-json': { type: 'string' },
      out: { type: 'string' },
      'build-dir': { type: 'string' },
      baseline: { type: 'string' },
      kernel: { type: 'string' },
      title: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(REPORT_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`report: unexpected ${positionals[0]}\n${REPORT_USAGE}`);
  if (!values['minimize-json'] || !values.out) throw new UsageError(`report: --minimize-json and --out are required\n${REPORT_USAGE}`);
  const input = readMinimizeOutput(values['minimize-json']);
  const buildDir = values['build-dir'] ?? input.build?.buildDir;
  if (buildDir === undefined) throw new UsageError(`report: ${values['minimize-json']} names no build folder (it is from a run without --build): give --build-dir DIR`);
  const baseline = baselineChoiceOf(values.baseline, '--baseline');
  const tree = values.kernel !== undefined ? await resolveKernelForCli(values.kernel, io) : undefined;
  const t0 = performance.now();
  const r = await reportForCli(
    { minimize: input.minimize, buildDir, baseline, ...(tree ? { tree } : {}), build: input.build, boot: input.boot, ...(values.title ? { title: values.title } : {}), out: values.out },
    io,
  );
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const { trimmed, baseline: base } = r.data;
  if (values.json) {
    io.out(JSON.stringify({ out: r.path, bytes: r.bytes, seconds, trimmed: trimmed.sizes, baseline: base }, null, 2));
    return 0;
  }
  io.out(`${r.path}: ${r.bytes.toLocaleString('en-US')} bytes, ${seconds} s`);
  io.out(`trimmed  ${trimmed.sizes.symbolBytes.toLocaleString('en-US')} bytes in named symbols: ${topLine(trimmed.sizes.groups)}`);
  if (base) io.out(`baseline ${base.sizes.symbolBytes.toLocaleString('en-US')} bytes in named symbols: ${topLine(base.sizes.groups)} (${base.description})`);
  return 0;
}
