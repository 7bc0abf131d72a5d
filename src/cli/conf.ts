import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../kconfig/errors.js';
import { archDefconfig, defaultConfigFallback, loadKconfigAsync, tinyconfig, type ProbeOptions } from '../kconfig/load.js';
import { explainSymbol } from '../kconfig/explain.js';
import { mergeConfigFragments } from '../kconfig/merge.js';
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

export async function runConf(argv: string[], io: CliIO): Promise<number> {
  // `--defconfig` takes an optional FILE: normalise to `--defconfig=` forms for parseArgs
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
  const { values } = parseArgs({
    args,
    options: {
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
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.out(CONF_USAGE);
    return 0;
  }
  const modes = MODES.filter((m) => values[m] !== undefined && values[m] !== false);
  if (modes.length !== 1 && !values.explain) throw new UsageError(`exactly one mode is needed (${modes.length > 1 ? `given: ${modes.map((m) => `--${m}`).join(', ')}` : `--${MODES.join(', --')}`})`);
  if (!values.arch) throw new UsageError(`--arch is required; see 'ukl-trim conf --help'`);
  const mode = modes[0] as Mode | undefined;
  const tree = await resolveKernelForCli(values.kernel, io, values.patch ?? []);
  const out = resolve(values.out ?? '.config');
  const input = resolve(values.config ?? out);
  const loaded = await loadKconfigAsync({
    tree,
    arch: values.arch,
    toolchain: { ...(values['cross-compile'] ? { crossCompile: values['cross-compile'] } : {}), ...(values.llvm ? { llvm: true } : {}) },
    probes: probeOptions(values.probes),
    stdout: (line) => io.out(line),
  });
  const kc = loaded.kconfig;
  const readInput = (): string | null => {
    try {
      return readFileSync(input, 'utf8');
    } catch {
      return null;
    }
  };
  // conf only looks at KCONFIG_DEFCONFIG_LIST when there is no .config
  const fallback = (): { name: string; text: string } | null => (readInput() === null ? defaultConfigFallback(loaded) : null);
  const flush = (): void => {
    for (const d of kc.diagnostics.items) if (d.severity === 'warning') io.err(formatDiagnostic(d));
    kc.diagnostics.items.length = 0;
  };

  if (values.explain) {
    const cfg = readInput();
    if (cfg !== null) kc.load(cfg);
    const ex = explainSymbol(kc, values.explain.replace(/^CONFIG_/, ''));
    if (!ex) throw new UsageError(`unknown symbol '${values.explain}'`);
    io.out(values.json ? JSON.stringify(ex, null, 2) : formatExplanation(ex));
    return 0;
  }

  let text: string;
  switch (mode) {
    case 'olddefconfig':
      text = kc.olddefconfig(readInput(), fallback());
      break;
    case 'allnoconfig':
    case 'allyesconfig':
    case 'allmodconfig':
    case 'alldefconfig':
      text = kc.allconfig(mode, values.allconfig ? readText(values.allconfig, 'KCONFIG_ALLCONFIG file') : null);
      break;
    case 'tinyconfig':
      text = tinyconfig(loaded);
      break;
    case 'defconfig': {
      const file = values.defconfig ? { name: values.defconfig, text: readText(values.defconfig, 'defconfig') } : archDefconfig(loaded);
      text = kc.defconfig(file.text);
      break;
    }
    case 'savedefconfig': {
      const min = kc.savedefconfig(readInput(), fallback());
      flush();
      writeFileAtomic(resolve(values.savedefconfig as string), min);
      return 0;
    }
    case 'syncconfig': {
      const r = kc.syncconfig(readInput(), fallback());
      flush();
      const base = dirname(out);
      if (writeFileAtomic(out, r.config, { keepOld: true }) === 'unchanged') io.info(`No change to ${out}`);
      writeFileAtomic(join(base, 'include/generated/autoconf.h'), r.autoconfH);
      writeFileAtomic(join(base, 'include/generated/rustc_cfg'), r.rustcCfg);
      writeFileAtomic(join(base, 'include/config/auto.conf'), r.autoConf);
      return 0;
    }
    default:
      throw new UsageError(CONF_USAGE);
  }
  const fragments = (values.merge ?? []).map((f) => readText(f, 'fragment'));
  if (fragments.length > 0) text = kc.olddefconfig(mergeConfigFragments(text, fragments, kc.prefix));
  flush();
  if (writeFileAtomic(out, text, { keepOld: true }) === 'unchanged') io.info(`No change to ${out}`);
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

