import { analyzeApplication, type AnalysisReport } from '../callgraph/analyze.js';
import { observeWorkload } from '../callgraph/observe.js';
import { analyzeUklApplication } from '../callgraph/ukl-app.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { LoadedKconfig } from '../kconfig/load.js';
import { deriveSyscallMap, type SyscallMap } from '../kernel/syscalls.js';
import { MinimizeError, type MinimizeOptions } from './minimize.js';
import { NETWORK_FAMILIES, profileRequirements } from './profiles.js';
import { assumedSyscallRequirement, dedupe, observedSyscallRequirement, RequirementSchema, requirementsFromAnalysis, unresolvedOf, type Requirement } from './requirements.js';
import type { RunSettings } from './setup.js';

/** What the analysis of the app gave: its report, and the files it made. */
export interface AppAnalysis {
  analysis: AnalysisReport | undefined;
  /** the static executable that was analysed */
  app: string | null;
  /** UKL mode: the UKL.a that was analysed */
  uklArchive: string | null;
  warnings: string[];
}

/** Everything the kernel must provide in this run, with what the analysis left open. */
export interface Collected extends AppAnalysis {
  requirements: Requirement[];
  unresolved: ReturnType<typeof unresolvedOf>;
}

/** Where the syscall map comes from: derived (and cached on disk) unless the caller keeps one. */
export type SyscallMapSource = (tree: string, arch: string, loaded: LoadedKconfig) => Promise<SyscallMap>;

export const deriveMap: SyscallMapSource = (tree, arch, loaded) => deriveSyscallMap({ tree, arch, kconfig: loaded.kconfig, kernelVersion: loaded.kbuild.kernelVersion });

/** The analysis given, or the app analysed (linked first, or made into UKL.a in UKL mode). */
export async function analyseApp(opts: MinimizeOptions, run: RunSettings, tree: string, progress: (m: string) => void): Promise<AppAnalysis> {
  const none: AppAnalysis = { analysis: opts.analysis, app: null, uklArchive: null, warnings: [] };
  if (opts.analysis || opts.app === undefined) return none;
  const inputs = typeof opts.app === 'string' ? [opts.app] : [...opts.app];
  if (run.mode === 'ukl') {
    progress(`building UKL.a from ${inputs.join(' ')} and analysing it`);
    const a = await analyzeUklApplication(inputs, { kernelTree: tree, ...(opts.libc ? { libc: opts.libc } : {}), ...(opts.uklArchive ? { archiveOut: opts.uklArchive } : {}) });
    return { analysis: a, app: a.linkedExecutable, uklArchive: a.archive, warnings: [...(a.built?.warnings ?? [])] };
  }
  if (opts.libc === 'none') throw new MinimizeError('bad-input', '--libc none is for UKL mode (a libc-free app linked into the kernel); in initramfs mode give a static executable or a libc');
  progress(`analysing ${inputs.join(' ')}`);
  const a = analyzeApplication(inputs, { kernelTree: tree, ...(opts.libc ? { libc: opts.libc } : {}) });
  return { analysis: a, app: a.linkedExecutable, uklArchive: null, warnings: [] };
}

/** The requirements of the run: the app's (through the syscall map), the profile's, the mode's and the user's. */
export async function collectRequirements(opts: MinimizeOptions, run: RunSettings, t: { tree: string; loaded: LoadedKconfig }, app: AppAnalysis, syscallMap: SyscallMapSource, progress: (m: string) => void): Promise<Collected> {
  const { analysis } = app;
  const kc = t.loaded.kconfig;
  const warnings = [...app.warnings];
  const unresolved = analysis ? unresolvedOf(analysis) : [];
  if (opts.strict && unresolved.length > 0) throw strictRefusal(unresolved);
  const requirements: Requirement[] = [];
  if (analysis || (opts.assumeSyscalls ?? []).length > 0 || opts.observe) {
    const observed = opts.observe ? await observeApp(opts.observe, app, run, progress) : new Set<string>();
    progress('mapping syscalls to options');
    const map = await syscallMap(t.tree, run.arch, t.loaded);
    const moduleSyscalls: Array<{ name: string; path: string[] }> = [];
    if (analysis) requirements.push(...requirementsFromAnalysis(analysis, map, { warnings, moduleSyscalls }));
    if (opts.strict && moduleSyscalls.length > 0) throw moduleRefusal(moduleSyscalls);
    requirements.push(...assumedSyscalls(map, opts.assumeSyscalls ?? [], run.arch));
    requirements.push(...observedSyscalls(map, observed, analysis, warnings));
  }
  const network = analysis ? analysis.socketFamilies.some((f) => NETWORK_FAMILIES.has(f)) : false;
  if (run.profile) requirements.push(...profileRequirements(run.profile, { network }));
  if (run.mode === 'ukl') requirements.push(...uklRequirements(kc, analysis));
  for (const r of opts.requirements ?? []) requirements.push(RequirementSchema.parse(r));
  requirements.push(...userChoices(kc, opts, run.arch, t.tree));
  return { ...app, warnings, unresolved, requirements: dedupe(requirements) };
}

function moduleRefusal(syscalls: ReadonlyArray<{ name: string; path: string[] }>): MinimizeError {
  const first = syscalls[0] as { name: string; path: string[] };
  const names = syscalls.map((s) => s.name).join(', ');
  return new MinimizeError('unsatisfiable', `--strict: the app can reach ${names} (${first.name} by ${first.path.join(' → ')}), which only a kernel with loadable modules has; ukl-trim builds everything in (MODULES off)`, { chain: first.path });
}

function strictRefusal(unresolved: Collected['unresolved']): MinimizeError {
  const first = unresolved.slice(0, 3).map((u) => `${u.function ?? '?'} at 0x${u.address.toString(16)}: ${u.reason}`);
  return new MinimizeError('unresolved', `--strict: the analysis leaves ${unresolved.length} place${unresolved.length > 1 ? 's' : ''} unresolved (${first.join('; ')}${unresolved.length > 3 ? '; …' : ''}); add what they need with --assume-syscall NAME or --enable SYM, or drop --strict`);
}

function assumedSyscalls(map: SyscallMap, names: readonly string[], arch: string): Requirement[] {
  const out: Requirement[] = [];
  for (const name of names) {
    const assumed = assumedSyscallRequirement(map, name);
    if (assumed === undefined) throw new MinimizeError('bad-input', `--assume-syscall ${name}: ${arch} ${map.kernelVersion} has no such syscall`);
    if (assumed !== null) out.push(assumed);
  }
  return out;
}

async function observeApp(observe: NonNullable<MinimizeOptions['observe']>, app: AppAnalysis, run: RunSettings, progress: (m: string) => void): Promise<Set<string>> {
  if (run.mode === 'ukl' || app.app === null) throw new MinimizeError('bad-input', '--observe runs the app on this machine: it needs an executable (initramfs mode), not a UKL.a');
  progress(`observing ${app.app} under strace while the workload runs`);
  return observeWorkload(app.app, observe.args ?? [], observe.workload);
}

/**
 * What strace saw becomes a requirement too. A syscall the analysis did not find is a gap in it:
 * said as a warning. Names strace knows but the kernel's table does not are warned about, not fatal.
 */
function observedSyscalls(map: SyscallMap, observed: ReadonlySet<string>, analysis: AnalysisReport | undefined, warnings: string[]): Requirement[] {
  const found = new Set(analysis?.syscalls.map((s) => s.name) ?? []);
  const out: Requirement[] = [];
  for (const name of [...observed].sort()) {
    const requirement = observedSyscallRequirement(map, name);
    if (requirement === undefined) warnings.push(`--observe: strace saw ${name}, which ${map.arch} ${map.kernelVersion} has no entry for; ignored`);
    else if (requirement !== null) out.push(requirement);
    if (requirement !== undefined && analysis && !found.has(name)) warnings.push(`--observe: strace saw ${name}, which the analysis did not find; required as observed`);
  }
  return out;
}

function uklRequirements(kc: Kconfig, analysis: AnalysisReport | undefined): Requirement[] {
  const out: Requirement[] = [{ expression: 'UNIKERNEL_LINUX', kind: 'mode', detail: 'UKL: the app is linked into the kernel' }];
  for (const s of ['RANDOMIZE_BASE', 'PAGE_TABLE_ISOLATION', 'X86_KERNEL_IBT']) {
    if (kc.symbol(s)?.menus.length) out.push({ expression: `!${s}`, kind: 'mode', detail: `UKL: ${s} must be off (the app runs at fixed kernel addresses in one address space)` });
  }
  const tls = uklTlsRequirement(kc, analysis);
  if (tls !== undefined) out.push(tls);
  return out;
}

/**
 * UKL_TLS follows the app: on when the linked app has a TLS segment (its own `__thread`
 * variables or its libc's, such as glibc's errno), which UKL_TLS sets up per thread; off when it
 * has none, since a UKL_TLS kernel then hangs before its first console line (seen on 6.1 with the
 * libc-free sample). Without an analysis the requirement is left to the user.
 */
function uklTlsRequirement(kc: Kconfig, analysis: AnalysisReport | undefined): Requirement | undefined {
  if (!kc.symbol('UKL_TLS')?.menus.length || analysis === undefined) return undefined;
  if (analysis.tlsBytes > 0) return { expression: 'UKL_TLS', kind: 'mode', detail: `UKL: the app has a TLS segment (${analysis.tlsBytes} bytes), which UKL_TLS sets up` };
  return { expression: '!UKL_TLS', kind: 'mode', detail: 'UKL: the app has no TLS segment, and a UKL_TLS kernel without one hangs at boot' };
}

/** --enable and --disable, each a bool or tristate option of this tree */
function userChoices(kc: Kconfig, opts: MinimizeOptions, arch: string, tree: string): Requirement[] {
  const checkName = (name: string, flag: string): void => {
    const s = kc.symbol(name);
    if (!s || s.menus.length === 0) throw new MinimizeError('unknown-symbol', `${flag} ${name}: no such option in ${arch} Kconfig of ${tree}`);
    if (s.type !== 'bool' && s.type !== 'tristate') throw new MinimizeError('bad-input', `${flag} ${name}: a ${s.type} option; give bool or tristate options`);
  };
  const out: Requirement[] = [];
  for (const e of opts.enable ?? []) {
    checkName(e, '--enable');
    out.push({ expression: e, kind: 'enable', detail: `--enable ${e}` });
  }
  for (const d of opts.disable ?? []) {
    checkName(d, '--disable');
    out.push({ expression: `!${d}`, kind: 'disable', detail: `--disable ${d}` });
  }
  return out;
}
