import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
// machine() and release() are uname(2)'s fields, what `uname -m` and `uname -r` print
import { machine, release } from 'node:os';
import { join } from 'node:path';
import { KconfigError } from './errors.js';
import { kernelVersionFromMakefile } from '../util/kernel-version.js';

/**
 * What the kernel's top-level Makefile hands to conf: ARCH/SRCARCH, the toolchain variables,
 * KERNELVERSION, CC_VERSION_TEXT, and the default configuration list. Computed here the way the
 * 6.1 Makefiles compute them, so `$(shell)` probes see the same environment as under make.
 */

export interface ToolchainOptions {
  /** `CROSS_COMPILE=` prefix */
  crossCompile?: string;
  /** `LLVM=1` */
  llvm?: boolean;
  /** explicit overrides, e.g. `{ CC: 'gcc-12' }` */
  vars?: Record<string, string>;
}

export interface KbuildEnvironment {
  arch: string;
  srcarch: string;
  kernelVersion: string;
  /** the variables exported to conf (merged over the process environment) */
  vars: Record<string, string>;
  /** full environment for conf and its probes */
  env: Record<string, string>;
}

const versionOutputs = new WeakMap<object, Map<string, Buffer | null>>();

/**
 * The standard output of `TOOL --version` in `env`, or null when it cannot be run; asked once
 * per environment object (CC_VERSION_TEXT and the probe cache's fingerprint both need it).
 */
export function toolVersionOutput(tool: string, env: Record<string, string>): Buffer | null {
  let outputs = versionOutputs.get(env);
  if (!outputs) versionOutputs.set(env, (outputs = new Map()));
  let out = outputs.get(tool);
  if (out === undefined) {
    const r = spawnSync(tool, ['--version'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    out = r.error ? null : r.stdout;
    outputs.set(tool, out);
  }
  return out;
}

/** `uname -m` mapped like scripts/subarch.include. */
export function hostSubarch(): string {
  const m = machine();
  return m
    .replace(/i.86/, 'x86')
    .replace(/x86_64/, 'x86')
    .replace(/sun4u/, 'sparc64')
    .replace(/arm.*/, 'arm')
    .replace(/sa110/, 'arm')
    .replace(/s390x/, 's390')
    .replace(/ppc.*/, 'powerpc')
    .replace(/mips.*/, 'mips')
    .replace(/sh[234].*/, 'sh')
    .replace(/aarch64.*/, 'arm64')
    .replace(/riscv.*/, 'riscv')
    .replace(/loongarch.*/, 'loongarch');
}

export function srcarchOf(arch: string): string {
  switch (arch) {
    case 'i386':
    case 'x86_64':
      return 'x86';
    case 'sparc64':
      return 'sparc';
    case 'parisc64':
      return 'parisc';
    case 'sh64':
      return 'sh';
    default:
      return arch;
  }
}

/** VERSION.PATCHLEVEL.SUBLEVEL + EXTRAVERSION from the top Makefile. */
export function kernelVersion(tree: string): string {
  let text: string;
  try {
    text = readFileSync(join(tree, 'Makefile'), 'utf8');
  } catch {
    throw new KconfigError('usage', `${tree} is not a kernel tree: no Makefile`);
  }
  const version = kernelVersionFromMakefile(text);
  if (!version) throw new KconfigError('usage', `${tree}/Makefile has no VERSION: not a kernel tree`);
  return version;
}

export function kbuildEnvironment(tree: string, arch: string, tc: ToolchainOptions = {}, base: NodeJS.ProcessEnv = process.env): KbuildEnvironment {
  if (!/^[A-Za-z0-9_-]+$/.test(arch)) throw new KconfigError('usage', `invalid architecture name '${arch}'`);
  const srcarch = srcarchOf(arch);
  if (!existsSync(join(tree, 'arch', srcarch, 'Kconfig'))) {
    throw new KconfigError('usage', `unknown architecture '${arch}': ${join(tree, 'arch', srcarch, 'Kconfig')} does not exist`);
  }
  const cross = tc.crossCompile ?? '';
  const llvm = tc.llvm ?? false;
  const vars: Record<string, string> = {
    ARCH: arch,
    SRCARCH: srcarch,
    srctree: tree,
    KERNELVERSION: kernelVersion(tree),
    CC: llvm ? 'clang' : `${cross}gcc`,
    LD: llvm ? 'ld.lld' : `${cross}ld`,
    AR: llvm ? 'llvm-ar' : `${cross}ar`,
    NM: llvm ? 'llvm-nm' : `${cross}nm`,
    OBJCOPY: llvm ? 'llvm-objcopy' : `${cross}objcopy`,
    PAHOLE: 'pahole',
    RUSTC: 'rustc',
    BINDGEN: 'bindgen',
  };
  if (cross) vars.CROSS_COMPILE = cross;
  if (llvm) vars.LLVM = '1';
  if (srcarch === 'um') {
    const sub = hostSubarch();
    vars.SUBARCH = sub;
    vars.HEADER_ARCH = sub === 'i386' || sub === 'x86_64' ? 'x86' : sub;
  }
  Object.assign(vars, tc.vars ?? {});
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    // conf's own knobs must not leak in from the caller's environment
    if (v !== undefined && !k.startsWith('KCONFIG_')) env[k] = v;
  }
  Object.assign(env, vars);
  if (vars.CC_VERSION_TEXT === undefined) {
    vars.CC_VERSION_TEXT = (toolVersionOutput(vars.CC as string, env) ?? Buffer.alloc(0)).toString('utf8').split('\n')[0] ?? '';
    env.CC_VERSION_TEXT = vars.CC_VERSION_TEXT;
  }
  return { arch, srcarch, kernelVersion: vars.KERNELVERSION as string, vars, env };
}

/** KBUILD_DEFCONFIG as arch/$(SRCARCH)/Makefile sets it (default `defconfig`). */
export function defaultDefconfigName(tree: string, arch: string, srcarch: string): string {
  const uname = machine();
  switch (srcarch) {
    case 'x86':
      if (arch === 'x86') return uname === 'x86_64' ? 'x86_64_defconfig' : 'i386_defconfig';
      return `${arch}_defconfig`;
    case 'sparc':
      return arch === 'sparc64' ? 'sparc64_defconfig' : 'sparc32_defconfig';
    case 'parisc':
      return arch === 'parisc64' ? 'generic-64bit_defconfig' : 'generic-32bit_defconfig';
    case 'powerpc':
      return /^ppc/.test(uname) ? `${uname}_defconfig` : 'ppc64_defconfig';
    case 'um': {
      const sub = hostSubarch();
      if (sub === 'x86') return uname === 'x86_64' ? 'x86_64_defconfig' : 'i386_defconfig';
      return `${sub}_defconfig`;
    }
    default: {
      let text = '';
      try {
        text = readFileSync(join(tree, 'arch', srcarch, 'Makefile'), 'utf8');
      } catch {
        return 'defconfig';
      }
      const m = /^KBUILD_DEFCONFIG\s*:?=\s*(\S+)\s*$/m.exec(text);
      return m?.[1] ?? 'defconfig';
    }
  }
}

/** The path of the arch default defconfig file, or a usage error when make would generate it. */
export function defaultDefconfigPath(tree: string, arch: string, srcarch: string): string {
  const name = defaultDefconfigName(tree, arch, srcarch);
  const p = join('arch', srcarch, 'configs', name);
  if (!existsSync(join(tree, p))) {
    throw new KconfigError('usage', `the default configuration of ${arch} ('${name}') is a generated make target, not a file; pass --defconfig FILE`);
  }
  return p;
}

/** KCONFIG_DEFCONFIG_LIST as scripts/kconfig/Makefile builds it. */
export function defconfigList(tree: string, arch: string, srcarch: string, crossCompile: string): string[] {
  const list: string[] = [];
  if (!crossCompile) {
    const rel = release();
    list.push(`/lib/modules/${rel}/.config`, '/etc/kernel-config', `/boot/config-${rel}`);
  }
  list.push(join('arch', srcarch, 'configs', defaultDefconfigName(tree, arch, srcarch)));
  return list;
}
