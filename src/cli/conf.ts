import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../kconfig/errors.js';
import { archDefconfig, defaultConfigFallback, loadKconfigAsync, tinyconfig, type LoadedKconfig, type ProbeOptions } from '../kconfig/load.js';
import { explainSymbol } from '../kconfig/explain.js';
import { mergeConfigFragments } from '../kconfig/merge.js';
import { writeSyncconfigFiles } from '../kconfig/sync-files.js';
import { writeFileAtomic } from '../util/fs.js';
import { resolveKernelForCli, UsageError, type CliIO } from './common.js';

const MODES = ['olddefconfig', 'allnoconfig', 'allyesconfig', 'allmodconfig', 'alldefconfig', 'tinyconfig', 'defconfig', 'savedefconfig', 'syncconfig'] as const;
type Mode = (typeof MODES)[number];

export const CONF_USAGE = `usage: ukl-trim conf --kernel DIR|TARBALL --arch ARCH MODE [--config IN] [--out OUT]
  MODE: --olddefconfig | --allnoconfig | --allyesconfig | --allmodconfig | --alldefconfig |
        --tinyconfig | --defconfig [FILE] | --savedefconfig FILE | --syncconfig
  --config IN     input .config where the mode reads one (default: OUT)
  --out OUT       output .config (default: ./.config)
  --allconfig F   KCONFIG_ALLCONFIG for the all*config modes
  --merge FRAG    merge a fragment into the result (like merge_config.sh -m), then olddefconfig;
                  may be repeated
  --probes MODE   cache (default) | exec | record:FILE | replay:FILE  ($(shell) probe answers)
  --cross-compile PREFIX, --llvm   toolchain as make's CROSS_COMPILE= / LLVM=1`;

function readText(p: string, what: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    throw new UsageError(`can't read ${what} "${p}"`);
  }
}

export function probeOptions(spec: string | undefined): ProbeOptions {
  if (!spec || spec === 'cache') return { mode: 'cache' };
  if (spec === 'exec') return { mode: 'exec' };
  const m = /^(record|replay):(.+)$/.exec(spec);
  if (!m) throw new UsageError(`--probes takes cache, exec, record:FILE or replay:FILE (got '${spec}')`);
  return { mode: m[1] as 'record' | 'replay', file: resolve(m[2] as string) };
}

const CONF_OPTIONS = {
  kernel: { type: 'string' },
  patch: { type: 'string', multiple: true },
  arch: { type: 'string' },
  config: { type: 'string' },
  out: { type: 'string' },
  allconfig: { type: 'string' },
  merge: { type: 'string', multiple: true },
  probes: { type: 'string' },
  'cross-compile': { type: 'string' },
  llvm: { type: 'boolean' },
  olddefconfig: { type: 'boolean' },
  allnoconfig: { type: 'boolean' },
  allyesconfig: { type: 'boolean' },
  allmodconfig: { type: 'boolean' },
  alldefconfig: { type: 'boolean' },
  tinyconfig: { type: 'boolean' },
  defconfig: { type: 'string' },
  savedefconfig: { type: 'string' },
  syncconfig: { type: 'boolean' },
  explain: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type ConfValues = ReturnType<typeof parseArgs<{ options: typeof CONF_OPTIONS }>>['values'];

/** what one conf run works on: the loaded tree, where it reads and writes, and conf's fallbacks */
interface ConfRun {
  values: ConfValues;
  loaded: LoadedKconfig;
  out: string;
  readInput(): string | null;
  /** conf only looks at KCONFIG_DEFCONFIG_LIST when there is no .config */
  fallback(): { name: string; text: string } | null;
  /** print the engine's warnings, as conf does before writing */
  flush(): void;
}

export async function runConf(argv: string[], io: CliIO): Promise<number> {
  const values = parseConfArgs(argv);
  if (values.help) {
    io.out(CONF_USAGE);
    return 0;
  }
  const modes = MODES.filter((m) => values[m] !== undefined && values[m] !== false);
  if (modes.length !== 1 && !values.explain) throw new UsageError(`exactly one mode is needed (${modes.length > 1 ? `given: ${modes.map((m) => `--${m}`).join(', ')}` : `--${MODES.join(', --')}`})`);
  if (!values.arch) throw new UsageError(`--arch is required; see 'ukl-trim conf --help'`);
  const run = await openConfRun(values, values.arch, io);
  if (values.explain) return explain(run, values.explain, io);
  const mode = modes[0] as Mode;
  if (mode === 'savedefconfig') return saveDefconfig(run);
  if (mode === 'syncconfig') return syncConfig(run, io);
  let text = produceConfig(run, mode);
  const fragments = (values.merge ?? []).map((f) => readText(f, 'fragment'));
  if (fragments.length > 0) text = run.loaded.kconfig.olddefconfig(mergeConfigFragments(text, fragments, run.loaded.kconfig.prefix));
  run.flush();
  if (writeFileAtomic(run.out, text, { keepOld: true }) === 'unchanged') io.info(`No change to ${run.out}`);
  return 0;
}

/** `--defconfig` takes an optional FILE: normalised to `--defconfig=` forms for parseArgs */
function parseConfArgs(argv: string[]): ConfValues {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--defconfig') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        args.push(`--defconfig=${next}`);
        i++;
      } else args.push('--defconfig=');
    } else args.push(a);
  }
  return parseArgs({ args, options: CONF_OPTIONS, strict: true, allowPositionals: false }).values;
}

async function openConfRun(values: ConfValues, arch: string, io: CliIO): Promise<ConfRun> {
  const tree = await resolveKernelForCli(values.kernel, io, values.patch ?? []);
  const out = resolve(values.out ?? '.config');
  const input = resolve(values.config ?? out);
  const loaded = await loadKconfigAsync({
    tree,
    arch,
    toolchain: { ...(values['cross-compile'] ? { crossCompile: values['cross-compile'] } : {}), ...(values.llvm ? { llvm: true } : {}) },
    probes: probeOptions(values.probes),
    stdout: (line) => io.out(line),
  });
  const readInput = (): string | null => {
    try {
      return readFileSync(input, 'utf8');
    } catch {
      return null;
    }
  };
  const { diagnostics } = loaded.kconfig;
  return {
    values,
    loaded,
    out,
    readInput,
    fallback: () => (readInput() === null ? defaultConfigFallback(loaded) : null),
    flush: () => {
      for (const d of diagnostics.items) if (d.severity === 'warning') io.err(formatDiagnostic(d));
      diagnostics.items.length = 0;
    },
  };
}

function explain(run: ConfRun, name: string, io: CliIO): number {
  const cfg = run.readInput();
  if (cfg !== null) run.loaded.kconfig.load(cfg);
  const ex = explainSymbol(run.loaded.kconfig, name.replace(/^CONFIG_/, ''));
  if (!ex) throw new UsageError(`unknown symbol '${name}'`);
  io.out(run.values.json ? JSON.stringify(ex, null, 2) : formatExplanation(ex));
  return 0;
}

/** the .config text of a mode that writes one */
function produceConfig(run: ConfRun, mode: Exclude<Mode, 'savedefconfig' | 'syncconfig'>): string {
  const { loaded, values } = run;
  const kc = loaded.kconfig;
  switch (mode) {
    case 'olddefconfig':
      return kc.olddefconfig(run.readInput(), run.fallback());
    case 'allnoconfig':
    case 'allyesconfig':
    case 'allmodconfig':
    case 'alldefconfig':
      return kc.allconfig(mode, values.allconfig ? readText(values.allconfig, 'KCONFIG_ALLCONFIG file') : null);
    case 'tinyconfig':
      return tinyconfig(loaded);
    case 'defconfig': {
      const file = values.defconfig ? { name: values.defconfig, text: readText(values.defconfig, 'defconfig') } : archDefconfig(loaded);
      return kc.defconfig(file.text);
    }
  }
}

function saveDefconfig(run: ConfRun): number {
  const min = run.loaded.kconfig.savedefconfig(run.readInput(), run.fallback());
  run.flush();
  writeFileAtomic(resolve(run.values.savedefconfig as string), min);
  return 0;
}

/** .config plus what make's syncconfig writes beside it: auto.conf.cmd, the touched option files, autoconf.h, rustc_cfg, auto.conf */
function syncConfig(run: ConfRun, io: CliIO): number {
  const r = run.loaded.kconfig.syncconfig(run.readInput(), run.fallback());
  run.flush();
  const written = writeSyncconfigFiles(dirname(run.out), r, { prefix: run.loaded.kconfig.prefix, configPath: run.out });
  if (!written.configChanged) io.info(`No change to ${run.out}`);
  return 0;
}

function formatExplanation(ex: NonNullable<ReturnType<typeof explainSymbol>>): string {
  const lines = [
    `${ex.name} (${ex.type}) = ${ex.value}${ex.userValue !== null ? `  [user value: ${ex.userValue}]` : ''}`,
    `  defined at: ${ex.definedAt.join(', ')}`,
    `  visible: ${ex.visible}${ex.prompts.length ? `  prompt: "${ex.prompts[0]}"` : '  (no prompt)'}`,
    `  depends on [${ex.dependsOn.value}]: ${ex.dependsOn.expression}`,
  ];
  if (ex.blockingDependencies.length) lines.push(`  kept off by: ${ex.blockingDependencies.join(', ')}`);
  for (const s of ex.selectedBy) lines.push(`  selected by [${s.value}]: ${s.by}${s.condition !== 'y' ? ` if ${s.condition}` : ''}`);
  for (const s of ex.impliedBy) lines.push(`  implied by [${s.value}]: ${s.by}${s.condition !== 'y' ? ` if ${s.condition}` : ''}`);
  for (const d of ex.defaults) lines.push(`  default ${d.value} if ${d.condition}${d.active ? '  (active)' : ''}`);
  if (ex.choice) lines.push(`  member of choice "${ex.choice.prompt}", selected: ${ex.choice.selection ?? 'none'}`);
  return lines.join('\n');
}

