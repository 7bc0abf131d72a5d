import * as highsModule from 'highs';
import type { Highs } from 'highs';
import { z } from 'zod';
import { analyzeApplication, type AnalysisReport } from '../callgraph/analyze.js';
import { analyzeUklApplication } from '../callgraph/ukl-app.js';
import { enabledOptions } from '../kconfig/confdata.js';
import { KconfigError } from '../kconfig/errors.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import { loadKconfigAsync, type LoadedKconfig } from '../kconfig/load.js';
import type { KSymbol } from '../kconfig/model.js';
import { deriveSyscallMap } from '../kernel/syscalls.js';
import { resolveKernelTree } from '../kernel/tree.js';
import { KconfigModel, type Lit } from './model.js';
import { NETWORK_FAMILIES, PROFILES, profileRequirements } from './profiles.js';
import { explainEnabled, positiveSymbols, reasonChain, ReasonSchema, type Reason } from './reasons.js';
import { assumedSyscallRequirement, dedupe, RequirementSchema, requirementsFromAnalysis, unresolvedOf, type Requirement } from './requirements.js';
import { deriveCodeWeights, IMAGE_SIZE_COSTS, type CodeWeights } from './weights.js';
import { UklTrimError } from '../util/errors.js';

export type MinimizeErrorCode = 'conflict' | 'unsatisfiable' | 'unknown-symbol' | 'bad-input' | 'unresolved' | 'solver' | 'internal';

/** A minimisation that cannot give an answer, with the chain that explains why. */
export class MinimizeError extends UklTrimError<MinimizeErrorCode> {
  static readonly codes: readonly MinimizeErrorCode[] = ['conflict', 'unsatisfiable', 'unknown-symbol', 'bad-input', 'unresolved', 'solver', 'internal'];
  override get internal(): boolean {
    return this.code === 'solver' || this.code === 'internal';
  }
}

export const MinimizeReportSchema = z.object({
  arch: z.string(),
  kernelVersion: z.string(),
  mode: z.enum(['initramfs', 'ukl']),
  profile: z.string().nullable(),
  app: z.string().nullable(),
  counts: z.object({
    /** CONFIG_*=y lines of the full .config */
    enabled: z.number().int(),
    /** lines of the minimal fragment (savedefconfig form) */
    fragmentLines: z.number().int(),
    /** estimated source bytes the configuration builds (Kbuild map), conditional part only */
    conditionalSourceBytes: z.number(),
  }),
  requirements: z.array(RequirementSchema.extend({ holds: z.boolean() })),
  options: z.array(z.object({ symbol: z.string(), reason: ReasonSchema })),
  solver: z.object({ variables: z.number().int(), constraints: z.number().int(), fixedByPropagation: z.number().int(), status: z.string(), objective: z.number(), seconds: z.number() }),
  check: z.object({
    /** olddefconfig of the result gives the result back */
    stable: z.boolean(),
    requirementsHold: z.boolean(),
    /** options on in the engine's answer but off in the model's, and the reverse */
    modelMismatches: z.array(z.string()),
    /** every `=y` line of the fragment was turned off in turn with the exact engine */
    oneMinimal: z.object({ checked: z.boolean(), flipsTried: z.number().int(), improvements: z.array(z.string()) }),
  }),
  /**
   * what the analysis could not rule out: syscall sites that may be any syscall and socket()
   * calls whose family is not a constant. Only what was proved is required; --assume-syscall
   * adds what these might need, --strict refuses a result with any.
   */
  unresolved: z.array(z.object({ kind: z.enum(['syscall-site', 'socket-family']), function: z.string().nullable(), address: z.number(), reason: z.string() })),
  warnings: z.array(z.string()),
  seconds: z.object({ load: z.number(), analysis: z.number(), model: z.number(), solve: z.number(), check: z.number(), total: z.number() }),
});
export type MinimizeReport = z.infer<typeof MinimizeReportSchema>;

export interface MinimizeOptions {
  /** kernel tree: a directory or tarball (default: $UKL_TRIM_KERNEL, then Debian's linux-source) */
  kernel?: string;
  /** what `make ARCH=` takes (default x86_64) */
  arch?: string;
  /**
   * the application: a static executable, or objects/archives/bitcode linked against `libc`; in
   * UKL mode its C/assembler sources, objects and archives (made into UKL.a) or a ready UKL.a
   */
  app?: string | readonly string[];
  /** glibc (default), musl, a libc.a; in UKL mode also `none` for a libc-free app */
  libc?: string;
  /** UKL mode: where the UKL.a built from the app goes (default: a temporary directory) */
  uklArchive?: string;
  /** an analysis done already (instead of `app`) */
  analysis?: AnalysisReport;
  /** requirements given directly (added to those of the app) */
  requirements?: readonly Requirement[];
  /** boot profile (default qemu-x86_64; null for none) */
  profile?: string | null;
  mode?: 'initramfs' | 'ukl';
  enable?: readonly string[];
  disable?: readonly string[];
  /** turn off each `=y` of the fragment in turn with the exact engine, keeping improvements (default true) */
  oneMinimal?: boolean;
  /** syscalls to require as if the app reached them (names of this kernel's table): for what the analysis cannot resolve */
  assumeSyscalls?: readonly string[];
  /** refuse (MinimizeError 'unresolved') when the analysis leaves a site or a family unresolved */
  strict?: boolean;
  /** a Kconfig already loaded for this tree and arch (reused, e.g. by the language server) */
  loaded?: LoadedKconfig;
  onProgress?: (message: string) => void;
}

export interface MinimizeResult {
  /** the static executable that was analysed (linked from the inputs when they were objects) */
  app: string | null;
  /** UKL mode: the UKL.a that was analysed, which a UKL build links into vmlinux */
  uklArchive: string | null;
  /** the full .config */
  config: string;
  /** the minimal fragment (savedefconfig form) that olddefconfig expands to `config` */
  fragment: string;
  report: MinimizeReport;
  /** why each enabled option is on */
  reasons: ReadonlyMap<string, Reason>;
  /** the chain for one option, for printing */
  explain(symbol: string): string[];
}

const COUNT_WEIGHT = 1;
/** objective units per 64 bytes of gated source: code first, option count breaks ties */
const CODE_WEIGHT = 1000;

type HighsLoader = () => Promise<Highs>;
let highsPromise: Promise<Highs> | undefined;
function highs(): Promise<Highs> {
  // the package is CommonJS to TypeScript's eyes but an ES module at run time: take whichever default is callable
  const m = highsModule as unknown as { default: HighsLoader | { default: HighsLoader } };
  const loader = typeof m.default === 'function' ? m.default : m.default.default;
  highsPromise ??= loader();
  return highsPromise;
}

const seconds = (t0: number): number => Math.round((performance.now() - t0) / 10) / 100;

/** The smallest configuration that provides what the app reaches plus what booting it needs. */
export async function minimizeConfig(opts: MinimizeOptions): Promise<MinimizeResult> {
  const t0 = performance.now();
  const progress = opts.onProgress ?? (() => {});
  const arch = opts.arch ?? 'x86_64';
  const mode = opts.mode ?? 'initramfs';
  const profileName = opts.profile === undefined ? (arch === 'x86_64' || arch === 'x86' ? 'qemu-x86_64' : null) : opts.profile;
  const profile = profileName === null ? null : PROFILES[profileName];
  if (profileName !== null && !profile) throw new MinimizeError('bad-input', `unknown profile ${profileName} (known: ${Object.keys(PROFILES).join(', ')})`);
  if (profile && !profile.arches.includes(arch)) throw new MinimizeError('bad-input', `profile ${profile.name} is for ${profile.arches.join('/')}, not ARCH=${arch}`);

  progress('loading the Kconfig tree');
  let loaded = opts.loaded;
  let tree: string;
  if (loaded) tree = loaded.kconfig.srctree;
  else {
    tree = (await resolveKernelTree(opts.kernel === undefined ? {} : { kernel: opts.kernel })).root;
    loaded = await loadKconfigAsync({ tree, arch });
  }
  const kc = loaded.kconfig;
  const tLoad = seconds(t0);
  if (mode === 'ukl' && !kc.symbol('UNIKERNEL_LINUX')?.menus.length) {
    throw new MinimizeError('bad-input', `${tree} has no UKL support (no kernel/Kconfig.ukl or UNIKERNEL_LINUX): use --mode initramfs, or a UKL tree (github.com/unikernelLinux/linux)`);
  }

  const t1 = performance.now();
  const warnings: string[] = [];
  let analysis = opts.analysis;
  let app: string | null = null;
  let uklArchive: string | null = null;
  if (!analysis && opts.app !== undefined) {
    const inputs = typeof opts.app === 'string' ? [opts.app] : [...opts.app];
    if (mode === 'ukl') {
      progress(`building UKL.a from ${inputs.join(' ')} and analysing it`);
      const a = await analyzeUklApplication(inputs, { kernelTree: tree, ...(opts.libc ? { libc: opts.libc } : {}), ...(opts.uklArchive ? { archiveOut: opts.uklArchive } : {}) });
      warnings.push(...(a.built?.warnings ?? []));
      analysis = a;
      app = a.linkedExecutable;
      uklArchive = a.archive;
    } else {
      if (opts.libc === 'none') throw new MinimizeError('bad-input', '--libc none is for UKL mode (a libc-free app linked into the kernel); in initramfs mode give a static executable or a libc');
      progress(`analysing ${inputs.join(' ')}`);
      const a = analyzeApplication(inputs, { kernelTree: tree, ...(opts.libc ? { libc: opts.libc } : {}) });
      analysis = a;
      app = a.linkedExecutable;
    }
  }
  const requirements: Requirement[] = [];
  const unresolved = analysis ? unresolvedOf(analysis) : [];
  if (opts.strict && unresolved.length > 0) {
    const first = unresolved.slice(0, 3).map((u) => `${u.function ?? '?'} at 0x${u.address.toString(16)}: ${u.reason}`);
    throw new MinimizeError('unresolved', `--strict: the analysis leaves ${unresolved.length} place${unresolved.length > 1 ? 's' : ''} unresolved (${first.join('; ')}${unresolved.length > 3 ? '; …' : ''}); add what they need with --assume-syscall NAME or --enable SYM, or drop --strict`);
  }
  if (analysis || (opts.assumeSyscalls ?? []).length > 0) {
    progress('mapping syscalls to options');
    const map = await deriveSyscallMap({ tree, arch, kconfig: kc, kernelVersion: loaded.kbuild.kernelVersion });
    if (analysis) requirements.push(...requirementsFromAnalysis(analysis, map, { warnings }));
    for (const name of opts.assumeSyscalls ?? []) {
      const assumed = assumedSyscallRequirement(map, name);
      if (assumed === undefined) throw new MinimizeError('bad-input', `--assume-syscall ${name}: ${arch} ${map.kernelVersion} has no such syscall`);
      if (assumed !== null) requirements.push(assumed);
    }
  }
  const network = analysis ? analysis.socketFamilies.some((f) => NETWORK_FAMILIES.has(f)) : false;
  if (profile) requirements.push(...profileRequirements(profile, { network }));
  if (mode === 'ukl') {
    requirements.push({ expression: 'UNIKERNEL_LINUX', kind: 'mode', detail: 'UKL: the app is linked into the kernel' });
    for (const s of ['RANDOMIZE_BASE', 'PAGE_TABLE_ISOLATION', 'X86_KERNEL_IBT']) {
      if (kc.symbol(s)?.menus.length) requirements.push({ expression: `!${s}`, kind: 'mode', detail: `UKL: ${s} must be off (the app runs at fixed kernel addresses in one address space)` });
    }
    const tls = uklTlsRequirement(kc, analysis);
    if (tls !== undefined) requirements.push(tls);
  }
  for (const r of opts.requirements ?? []) requirements.push(RequirementSchema.parse(r));
  const checkName = (name: string, flag: string): void => {
    const s = kc.symbol(name);
    if (!s || s.menus.length === 0) throw new MinimizeError('unknown-symbol', `${flag} ${name}: no such option in ${arch} Kconfig of ${tree}`);
    if (s.type !== 'bool' && s.type !== 'tristate') throw new MinimizeError('bad-input', `${flag} ${name}: a ${s.type} option; give bool or tristate options`);
  };
  for (const e of opts.enable ?? []) {
    checkName(e, '--enable');
    requirements.push({ expression: e, kind: 'enable', detail: `--enable ${e}` });
  }
  for (const d of opts.disable ?? []) {
    checkName(d, '--disable');
    requirements.push({ expression: `!${d}`, kind: 'disable', detail: `--disable ${d}` });
  }
  const reqs = dedupe(requirements);
  const tAnalysis = seconds(t1);

  // ---- the model ----
  const t2 = performance.now();
  progress('encoding the Kconfig model');
  // a defined state for the few value chains deeper than the model follows (see valueChoices)
  kc.allconfig('allnoconfig');
  const model = new KconfigModel(kc, new Map());
  const reqLits: Lit[] = reqs.map((r) => {
    try {
      return model.exprLit(kc.parseExpression(r.expression));
    } catch (e) {
      if (e instanceof KconfigError) throw new MinimizeError('bad-input', `requirement ${r.kind} ${r.detail}: ${e.message}`);
      throw e;
    }
  });
  reqLits.forEach((l, i) => {
    if (l === 0) throw impossible(kc, model, reqs[i] as Requirement, arch);
  });
  const weights = deriveCodeWeights(tree, arch, kc);
  const { objective, groupLits } = buildObjective(kc, model, weights);
  const tModel = seconds(t2);

  // ---- solve ----
  const t3 = performance.now();
  progress(`solving (${model.variableCount} variables, ${model.constraints.length} constraints)`);
  const solver = await highs();
  const statusNames = new Map<number, string>(Object.entries(solver.constants.modelStatus).map(([k, v]) => [v as number, k]));
  const solve = (active: readonly number[], withObjective: boolean): { status: string; objective: number; colValue: Float64Array } => {
    const rows = active.map((i) => model.requirementRow(reqLits[i] as Lit)).filter((r): r is Exclude<typeof r, string> => typeof r !== 'string');
    const data = model.toModelData(withObjective ? objective : new Map(), rows);
    return solver.withModel(data as never, (m) => {
      // presolve off: on these models HiGHS's presolve takes several times longer than the search it saves
      m.options.set({ output_flag: false, presolve: 'off', mip_rel_gap: 0 });
      const run = m.run();
      const status = statusNames.get(run.modelStatus) ?? String(run.modelStatus);
      if (status !== 'optimal') return { status, objective: Number.NaN, colValue: new Float64Array(0) };
      return { status, objective: Number(m.info.get('objective_function_value')), colValue: m.getSolution().colValue };
    });
  };
  const all = reqs.map((_, i) => i);
  const sol = solve(all, true);
  if (sol.status === 'infeasible') throw conflict(kc, reqs, (subset) => solve(subset, false).status !== 'infeasible');
  if (sol.status !== 'optimal') throw new MinimizeError('solver', `the solver stopped with status "${sol.status}"`);
  const value = (l: Lit): 0 | 1 => KconfigModel.litValue(l, sol.colValue);
  const tSolve = seconds(t3);

  // ---- materialise with the exact engine and check ----
  const t4 = performance.now();
  progress('checking the answer with the Kconfig engine');
  const wanted = new Map<string, 0 | 1>();
  let text = '';
  for (const s of model.symbols) {
    const l = model.varOf(s);
    if (l === undefined || !s.name) continue;
    const v = value(l);
    wanted.set(s.name, v);
    text += v ? `CONFIG_${s.name}=y\n` : `# CONFIG_${s.name} is not set\n`;
  }
  let config = kc.olddefconfig(text);
  const mismatches: string[] = [];
  for (const s of model.symbols) {
    if (!s.name) continue;
    const on = s.currTri !== 0;
    const w = wanted.get(s.name);
    if (w !== undefined && (w === 1) !== on) mismatches.push(`${s.name}: engine ${on ? 'y' : 'n'}, model ${w ? 'y' : 'n'}`);
  }
  const holds = (): boolean[] => reqs.map((r) => kc.evaluate(r.expression) !== 0);
  let held = holds();
  if (held.some((h) => !h)) {
    const failed = reqs.filter((_, i) => !held[i]).map((r) => `${r.kind} ${r.detail} (${r.expression})`);
    throw new MinimizeError('internal', `the model's answer does not satisfy ${failed.join(', ')} under the exact engine; model mismatches: ${mismatches.slice(0, 5).join('; ')}`);
  }
  const costOfState = (): number => {
    const { assignment } = model.checkEngineState();
    let c = 0;
    for (const [v, w] of objective) c += w * (assignment[v] as number);
    return c;
  };
  let fragment = kc.savedefconfig(config);
  let cost = costOfState();
  const improvements: string[] = [];
  let flipsTried = 0;
  if (opts.oneMinimal !== false) {
    progress('checking 1-minimality');
    let again = true;
    while (again) {
      again = false;
      for (const m of fragment.matchAll(/^CONFIG_(\w+)=y$/gm)) {
        const name = m[1] as string;
        flipsTried++;
        const candidate = fragment.replace(new RegExp(`^CONFIG_${name}=y$`, 'm'), `# CONFIG_${name} is not set`);
        const cfg = kc.olddefconfig(candidate);
        if (kc.symbol(name)?.currTri !== 0) continue; // forced on by a select: nothing to gain
        if (!reqs.every((r) => kc.evaluate(r.expression) !== 0)) continue;
        const c = costOfState();
        if (c < cost) {
          improvements.push(`${name} off saves ${cost - c}`);
          cost = c;
          config = cfg;
          fragment = kc.savedefconfig(cfg);
          again = true;
          break;
        }
      }
    }
  }
  kc.olddefconfig(config);
  const stable = kc.olddefconfig(config) === config;
  held = holds();
  const forced = new Set<KSymbol>([...model.fixed].filter(([, v]) => v === 1).map(([s]) => s));
  const reasons = explainEnabled(kc, reqs, forced);
  const enabled = enabledOptions(config);
  // the engine holds `config` now; the model agrees with it (modelMismatches says otherwise)
  const { assignment } = model.checkEngineState();
  let conditionalBytes = 0;
  for (const [l, bytes] of groupLits) if ((l >= 0 ? assignment[l] : 1 - (assignment[-l] as number)) === 1) conditionalBytes += bytes;
  const tCheck = seconds(t4);

  const report: MinimizeReport = {
    arch,
    kernelVersion: loaded.kbuild.kernelVersion,
    mode,
    profile: profile?.name ?? null,
    app: analysis?.input ?? null,
    counts: { enabled: enabled.length, fragmentLines: fragment.split('\n').filter((l) => l.trim() !== '').length, conditionalSourceBytes: conditionalBytes },
    requirements: reqs.map((r, i) => ({ ...r, holds: held[i] as boolean })),
    options: enabled.map((symbol) => ({ symbol, reason: reasons.get(symbol) ?? { kind: 'default' as const, text: 'on' } })),
    solver: {
      variables: model.variableCount,
      constraints: model.constraints.length,
      fixedByPropagation: model.fixed.size,
      status: sol.status,
      objective: sol.objective,
      seconds: tSolve,
    },
    check: { stable, requirementsHold: held.every(Boolean), modelMismatches: mismatches, oneMinimal: { checked: opts.oneMinimal !== false, flipsTried, improvements } },
    unresolved,
    warnings,
    seconds: { load: tLoad, analysis: tAnalysis, model: tModel, solve: tSolve, check: tCheck, total: seconds(t0) },
  };
  return {
    app,
    uklArchive,
    config,
    fragment,
    report,
    reasons,
    explain: (symbol: string) => explainLines(kc, reasons, reqs, symbol),
  };
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

/** The objective over the model's variables, and each code group's literal with its bytes. */
function buildObjective(kc: Kconfig, model: KconfigModel, weights: CodeWeights): { objective: Map<number, number>; groupLits: Array<[Lit, number]> } {
  const obj = new Map<number, number>();
  const groupLits: Array<[Lit, number]> = [];
  const addLit = (l: Lit, w: number): void => {
    if (l === 0 || l === 1 || w === 0) return;
    // a negated literal's constant part does not change the optimum: only the variable's sign matters
    const v = Math.abs(l);
    obj.set(v, (obj.get(v) ?? 0) + (l > 0 ? w : -w));
  };
  for (const s of model.symbols) {
    const l = model.varOf(s);
    if (l !== undefined) addLit(l, COUNT_WEIGHT);
  }
  for (const [name, bytes] of Object.entries(IMAGE_SIZE_COSTS)) {
    const s = kc.symbol(name);
    const l = s ? model.varOf(s) : undefined;
    if (l !== undefined) addLit(l, CODE_WEIGHT * Math.ceil(bytes / 64));
  }
  for (const g of weights.groups) {
    let l: Lit;
    try {
      l = model.exprLit(kc.parseExpression(g.condition));
    } catch {
      continue;
    }
    groupLits.push([l, g.bytes]);
    addLit(l, CODE_WEIGHT * Math.ceil(g.bytes / 64));
  }
  return { objective: obj, groupLits };
}

/** The options a .config sets to y. */
/** A requirement that is constant false: say which of its options can never be on. */
function impossible(kc: Kconfig, model: KconfigModel, req: Requirement, arch: string): MinimizeError {
  const what = req.kind === 'syscall' ? `syscall ${req.detail}${req.path?.length ? ` (reached by ${req.path.join(' → ')})` : ''}` : `${req.kind} ${req.detail}`;
  if (req.expression === 'n') return new MinimizeError('unsatisfiable', `${what} needs code this tree never builds for ${arch}`, { chain: [what] });
  const blockers: string[] = [];
  try {
    for (const s of positiveSymbols(kc.parseExpression(req.expression))) {
      if (model.fixed.get(s) === 0 || s.menus.length === 0) blockers.push(s.menus.length === 0 ? `${s.name} does not exist for ${arch}` : `${s.name} can never be on for ${arch} (depends on ${kc.exprToString(s.dirDep.expr) || 'nothing'})`);
    }
  } catch {
    // the expression parsed before; nothing more to say
  }
  return new MinimizeError('unsatisfiable', `${what} needs ${req.expression}, which cannot hold${blockers.length ? `: ${blockers.join('; ')}` : ''}`, { chain: [what, ...blockers] });
}

/**
 * Requirements that cannot hold together: shrink the set to a minimal conflicting subset
 * (deletion filter, one feasibility solve per requirement), then name the dependency chain
 * between its members.
 */
function conflict(kc: Kconfig, reqs: readonly Requirement[], feasible: (subset: number[]) => boolean): MinimizeError {
  // the smallest infeasible prefix by source (user choices, then the mode, the profile, the
  // app's families and files, its syscalls): the core is searched there, which keeps the number
  // of solves small when, as usual, the user's own choices conflict
  const order = reqs.map((_, i) => i).sort((a, b) => rank(reqs[b] as Requirement) - rank(reqs[a] as Requirement));
  let core = order;
  for (const level of [3, 2, 1, 0, -1]) {
    const prefix = order.filter((i) => rank(reqs[i] as Requirement) > level);
    if (prefix.length && prefix.length < order.length && !feasible(prefix)) {
      core = prefix;
      break;
    }
  }
  for (const i of [...core]) {
    const without = core.filter((j) => j !== i);
    if (!feasible(without)) core = without;
  }
  const items = core.map((i) => reqs[i] as Requirement);
  const describe = (r: Requirement): string => (r.kind === 'syscall' ? `syscall ${r.detail} needs ${r.expression}` : r.kind === 'enable' || r.kind === 'disable' ? r.detail : `${r.kind} (${r.detail}) needs ${r.expression}`);
  const chain: string[] = items.map(describe);
  // for a positive and a negative requirement, the path from one to the other
  for (const pos of items) {
    for (const negReq of items) {
      const m = /^!(\w+)$/.exec(negReq.expression);
      if (!m || pos === negReq) continue;
      let e;
      try {
        e = kc.parseExpression(pos.expression);
      } catch {
        continue;
      }
      for (const s of positiveSymbols(e)) {
        const path = dependencyPath(kc, s, m[1] as string);
        if (path) chain.push(path);
      }
    }
  }
  return new MinimizeError('conflict', `requirements that cannot hold together: ${items.map(describe).join('; ')}${chain.length > items.length ? ` — ${chain.slice(items.length).join('; ')}` : ''}`, { chain });
}

function rank(r: Requirement): number {
  return r.kind === 'disable' || r.kind === 'enable' ? 4 : r.kind === 'mode' ? 3 : r.kind === 'profile' ? 2 : r.kind === 'syscall' ? 0 : 1;
}

/** "A depends on B, which selects C" from `from` to `to`, breadth first over depends/select. */
export function dependencyPath(kc: Kconfig, from: KSymbol, to: string): string | null {
  if (from.name === to) return null;
  const prev = new Map<KSymbol, { via: KSymbol; how: string }>();
  const queue: KSymbol[] = [from];
  const seen = new Set<KSymbol>([from]);
  for (let i = 0; i < queue.length && i < 20000; i++) {
    const s = queue[i] as KSymbol;
    const next: Array<{ t: KSymbol; how: string }> = [];
    for (const d of positiveSymbols(s.dirDep.expr)) next.push({ t: d, how: 'depends on' });
    for (const p of s.props) if (p.type === 'select' && p.expr?.kind === 'symbol') next.push({ t: p.expr.sym, how: 'selects' });
    for (const { t, how } of next) {
      if (seen.has(t)) continue;
      seen.add(t);
      prev.set(t, { via: s, how });
      if (t.name === to) {
        const steps: string[] = [];
        let cur: KSymbol = t;
        while (cur !== from) {
          const p = prev.get(cur) as { via: KSymbol; how: string };
          steps.unshift(`${p.via.name} ${p.how} ${cur.name}`);
          cur = p.via;
        }
        return steps.join(', ');
      }
      queue.push(t);
    }
  }
  return null;
}

function explainLines(kc: Kconfig, reasons: ReadonlyMap<string, Reason>, reqs: readonly Requirement[], symbol: string): string[] {
  const name = symbol.replace(/^CONFIG_/, '');
  const chain = reasonChain(reasons, name);
  if (chain.length) return chain.map((c, i) => `${'  '.repeat(i)}${c.symbol}: ${c.reason.text}`);
  const offBy = reqs.find((r) => r.expression === `!${name}`);
  if (offBy !== undefined) return [`${name}: off — required off by ${offBy.kind} ${offBy.detail}`];
  const s = kc.symbol(name);
  if (!s || s.menus.length === 0) return [`${name}: no such option`];
  kc.ev.calcValue(s);
  if (s.type !== 'bool' && s.type !== 'tristate') return [`${name}: ${s.type} option, value ${kc.ev.stringValue(s)}`];
  return [`${name}: off — nothing the app or the boot needs depends on it`];
}
