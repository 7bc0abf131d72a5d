import { configValues } from '../kconfig/confdata.js';
import { explainSymbol } from '../kconfig/explain.js';
import { loadKconfigAsync } from '../kconfig/load.js';
import { mergeConfigFragments } from '../kconfig/merge.js';
import { compileHelper } from './initramfs.js';
import { detectUklSupport, runUklBuildHint } from '../kernel/ukl-support.js';
import { UklError } from '../lto/ukl-archive.js';
import { uklConfigSettings, type UklConfigSettings } from './ukl.js';

/**
 * The kernel side of UKL mode: the .config that links UKL.a into vmlinux, and the program at the
 * trigger path. Our init execs /app (with the app's arguments, after bringing the network up),
 * so UKL_NAME is "/app": the UKL kernel then starts the linked-in app instead of the file there.
 */
export const UKL_TRIGGER_PATH = '/app';

/** symbols UKL mode cannot do without; the others are set when the tree defines them */
const ESSENTIAL = new Set(['UNIKERNEL_LINUX', 'UKL_ARCHIVE_PATH', 'UKL_NAME']);

export interface UklKernelConfig {
  /** the .config after olddefconfig on the UKL tree */
  config: string;
  settings: UklConfigSettings;
  /** settings skipped because the tree does not define the symbol (e.g. UKL_TLS on older forks) */
  skipped: string[];
}

/**
 * The given config with UKL's settings merged in (as UKL's own Makefile appends them), then
 * olddefconfig by the exact engine on the UKL tree. Every setting must survive: olddefconfig drops
 * UNIKERNEL_LINUX without a word when, say, something selects PAGE_TABLE_ISOLATION.
 */
export async function uklKernelConfig(opts: { tree: string; arch?: string; config: string; archivePath: string; name?: string; tls?: boolean }): Promise<UklKernelConfig> {
  const support = detectUklSupport(opts.tree);
  if (!support.supported) throw new UklError('no-ukl-support', runUklBuildHint(opts.tree));
  const settings = uklConfigSettings(opts.archivePath, opts.name ?? UKL_TRIGGER_PATH, opts.tls === undefined ? {} : { tls: opts.tls });
  const loaded = await loadKconfigAsync({ tree: opts.tree, arch: opts.arch ?? 'x86_64' });
  const kc = loaded.kconfig;
  const skipped: string[] = [];
  const defined = (name: string): boolean => {
    if (kc.symbol(name)?.menus.length) return true;
    if (ESSENTIAL.has(name)) throw new UklError('no-ukl-support', `${opts.tree} defines no ${name} (${support.evidence ?? 'UKL support'} found): not a UKL tree ukl-trim knows`);
    skipped.push(name);
    return false;
  };
  const lines: string[] = [];
  for (const [name, value] of Object.entries(settings.enable)) if (defined(name)) lines.push(`CONFIG_${name}=${value}`);
  for (const name of settings.disable) if (defined(name)) lines.push(`# CONFIG_${name} is not set`);
  const config = kc.olddefconfig(mergeConfigFragments(opts.config, [`${lines.join('\n')}\n`]));

  const values = configValues(config);
  const problems: string[] = [];
  for (const [name, wanted] of Object.entries(settings.enable)) {
    if (skipped.includes(name)) continue;
    const got = values.get(name) ?? 'n';
    if (got !== wanted) problems.push(`${name} is ${got}, not ${wanted}${whyNot(name)}`);
  }
  for (const name of settings.disable) {
    if (skipped.includes(name)) continue;
    const got = values.get(name) ?? 'n';
    if (got !== 'n') problems.push(`${name} stays ${got}${whyOn(name)}`);
  }
  // UKL's own options depend on UNIKERNEL_LINUX: when it is off, it alone is the news
  const uklOff = (values.get('UNIKERNEL_LINUX') ?? 'n') !== 'y';
  const reported = uklOff ? problems.filter((p) => !/^UKL_/.test(p)) : problems;
  if (reported.length > 0) throw new UklError('bad-input', `the config cannot take UKL mode: ${reported.join('; ')}`);
  return { config, settings, skipped };

  function whyNot(name: string): string {
    kc.load(config);
    const e = explainSymbol(kc, name);
    if (e === undefined) return '';
    if (e.blockingDependencies.length > 0) return ` (unmet: ${e.blockingDependencies.join(', ')})`;
    return e.visible === 'n' ? ' (no visible prompt)' : '';
  }
  function whyOn(name: string): string {
    kc.load(config);
    const e = explainSymbol(kc, name);
    const by = e?.selectedBy.filter((r) => r.value !== 'n').map((r) => r.by) ?? [];
    return by.length > 0 ? ` (selected by ${by.join(', ')})` : '';
  }
}

/** the program placed at the trigger path: reports, when it runs, that UKL did not start the app */
export function compileUklTrigger(): string {
  return compileHelper('ukl-trigger.c', 'ukl-trigger');
}
