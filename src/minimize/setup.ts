import { loadKconfigAsync, type LoadedKconfig } from '../kconfig/load.js';
import { resolveKernelTree } from '../kernel/tree.js';
import { MinimizeError, type MinimizeOptions } from './minimize.js';
import { PROFILES, type BootProfile } from './profiles.js';

/** What a run is for: the architecture, the mode and the boot profile, checked against each other. */
export interface RunSettings {
  arch: string;
  mode: 'initramfs' | 'ukl';
  profile: BootProfile | null;
}

export function runSettings(opts: MinimizeOptions): RunSettings {
  const arch = opts.arch ?? 'x86_64';
  const mode = opts.mode ?? 'initramfs';
  const profileName = opts.profile === undefined ? (arch === 'x86_64' || arch === 'x86' ? 'qemu-x86_64' : null) : opts.profile;
  const profile = profileName === null ? null : PROFILES[profileName];
  if (profileName !== null && !profile) throw new MinimizeError('bad-input', `unknown profile ${profileName} (known: ${Object.keys(PROFILES).join(', ')})`);
  if (profile && !profile.arches.includes(arch)) throw new MinimizeError('bad-input', `profile ${profile.name} is for ${profile.arches.join('/')}, not ARCH=${arch}`);
  return { arch, mode, profile: profile ?? null };
}

/** The tree's Kconfig: the one the caller loaded already, or the tree named by the options, parsed. */
export async function loadTree(opts: MinimizeOptions, run: RunSettings): Promise<{ tree: string; loaded: LoadedKconfig }> {
  if (opts.loaded) return checkMode({ tree: opts.loaded.kconfig.srctree, loaded: opts.loaded }, run);
  const tree = (await resolveKernelTree(opts.kernel === undefined ? {} : { kernel: opts.kernel })).root;
  return checkMode({ tree, loaded: await loadKconfigAsync({ tree, arch: run.arch }) }, run);
}

function checkMode<T extends { tree: string; loaded: LoadedKconfig }>(t: T, run: RunSettings): T {
  if (run.mode === 'ukl' && !t.loaded.kconfig.symbol('UNIKERNEL_LINUX')?.menus.length) {
    throw new MinimizeError('bad-input', `${t.tree} has no UKL support (no kernel/Kconfig.ukl or UNIKERNEL_LINUX): use --mode initramfs, or a UKL tree (github.com/unikernelLinux/linux)`);
  }
  return t;
}
