import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BuildReport } from '../build/image.js';
import { loadKconfigAsync } from '../kconfig/load.js';
import { minimizeConfig } from '../minimize/minimize.js';
import { writeFileAtomic } from '../util/fs.js';
import { buildNote, imageForCli } from './build.js';
import { checkLibcOption, progressOf, resolveKernelForCli, UsageError, type CliIO } from './common.js';

export const BATCH_USAGE = `usage: ukl-trim batch APP... --out DIR [--kernel DIR|TARBALL [--patch FILE]...] [--arch x86_64]
                      [--libc glibc|musl|musl-ukl|none|PATH] [--mode initramfs|ukl] [--build] [--distcc HOST]... [--json]
  trims several apps in one call: each APP (an executable, an object, or in UKL mode a
  source file or UKL.a) gets DIR/NAME/.config and DIR/NAME/fragment. The Kconfig tree is parsed
  once and the syscall map read once for all of them. --build then builds their kernels one after
  another in one shared build folder (DIR/kernel: kbuild rebuilds what a config changes, ccache
  the rest; --distcc sends the compiles to a farm), each image in DIR/NAME/.`;

interface BatchRow {
  app: string;
  name: string;
  config: string;
  enabled: number;
  unresolved: number;
  build: BuildReport | null;
}

export async function runBatch(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      kernel: { type: 'string' },
      patch: { type: 'string', multiple: true },
      arch: { type: 'string', default: 'x86_64' },
      libc: { type: 'string' },
      mode: { type: 'string', default: 'initramfs' },
      build: { type: 'boolean' },
      distcc: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(BATCH_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`no APP given; see 'ukl-trim batch --help'`);
  if (!values.out) throw new UsageError(`--out DIR is required; see 'ukl-trim batch --help'`);
  for (const app of positionals) if (!existsSync(app)) throw new UsageError(`${app}: no such file`);
  const names = positionals.map((app) => basename(app).replace(/\.[^.]*$/, '') || 'app');
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new UsageError(`two apps are named ${repeated}: give files with different names (each gets OUT/NAME)`);
  const mode = values.mode;
  if (mode !== 'initramfs' && mode !== 'ukl') throw new UsageError(`--mode ${mode}: expected initramfs or ukl`);
  checkLibcOption(values.libc, { ukl: mode === 'ukl' });

  const out = resolve(values.out);
  const tree = await resolveKernelForCli(values.kernel, io, values.patch ?? []);
  const progress = progressOf(io);
  progress.begin('loading the Kconfig tree (once for every app)');
  const loaded = await loadKconfigAsync({ tree, arch: values.arch });
  progress.end();
  const rows: BatchRow[] = [];
  for (const [i, app] of positionals.entries()) {
      const name = names[i] as string;
      progress.begin(`trimming ${app} (${i + 1} of ${positionals.length})`);
      const result = await minimizeConfig({ loaded, kernel: tree, arch: values.arch, app: [app], mode, ...(values.libc ? { libc: values.libc } : {}) });
      progress.end();
      const dir = join(out, name);
      mkdirSync(dir, { recursive: true });
      const config = join(dir, '.config');
      writeFileAtomic(config, result.config, { keepOld: true });
      writeFileAtomic(join(dir, 'fragment'), result.fragment);
      rows.push({ app, name, config, enabled: result.report.counts.enabled, unresolved: result.report.unresolved.length, build: null });
      if (!values.build) continue;
      const built = await imageForCli(batchImage(mode, tree, result, dir, join(out, 'kernel'), values.distcc), io);
      (rows.at(-1) as BatchRow).build = built;
    }
  printRows(rows, values.json === true, io);
  return 0;
}

function batchImage(mode: 'initramfs' | 'ukl', tree: string, result: Awaited<ReturnType<typeof minimizeConfig>>, dir: string, buildDir: string, distcc: string[] | undefined): Parameters<typeof imageForCli>[0] {
  const shared = { tree, config: result.config, out: dir, buildDir, ...(distcc ? { distccHosts: distcc } : {}) };
  if (mode === 'ukl') {
    if (result.uklArchive === null) throw new UsageError('--build needs the analysed UKL.a');
    return { mode, ...shared, app: [result.uklArchive] };
  }
  if (!result.app) throw new UsageError('--build needs the analysed executable');
  return { mode, ...shared, app: result.app };
}

function printRows(rows: BatchRow[], json: boolean, io: CliIO): void {
  if (json) {
    io.out(JSON.stringify(rows.map((r) => ({ app: r.app, config: r.config, enabled: r.enabled, unresolved: r.unresolved, build: r.build })), null, 2));
    return;
  }
  for (const r of rows) {
    const build = r.build === null ? '' : `; bzImage ${r.build.bzImageBytes} bytes, build ${r.build.reused ? 'reused' : `${r.build.buildSeconds} s${buildNote(r.build)}`}`;
    io.out(`${r.name}: ${r.config}: ${r.enabled} options on${r.unresolved > 0 ? `, ${r.unresolved} unresolved` : ''}${build}`);
  }
}
