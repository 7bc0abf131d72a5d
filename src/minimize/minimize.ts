import type { Kconfig } from '../kconfig/kconfig.js';
import type { LoadedKconfig } from '../kconfig/load.js';
import type { AnalysisReport } from '../callgraph/analyze.js';
import { engineCheck, finalState } from './check.js';
import { analyseApp, collectRequirements } from './collect.js';
import { encode, type Encoded } from './encode.js';
import { oneMinimalRemembered, type OneMinimal } from './one-minimal.js';
import { explainLines, type Reason } from './reasons.js';
import { buildReport, type MinimizeReport, type RunParts } from './report.js';
import type { Requirement } from './requirements.js';
import { defaultSession, type MinimizeSession } from './session.js';
import { loadTree, runSettings, type RunSettings } from './setup.js';
import { loadSolverEarly, solveRun, type Solution } from './solve.js';
import type { WarmStarts } from './warm-starts.js';
import { UklTrimError } from '../util/errors.js';

export { MinimizeReportSchema, type MinimizeReport } from './report.js';

export type MinimizeErrorCode = 'conflict' | 'unsatisfiable' | 'unknown-symbol' | 'bad-input' | 'unresolved' | 'solver' | 'internal';

/** A minimisation that cannot give an answer, with the chain that explains why. */
export class MinimizeError extends UklTrimError<MinimizeErrorCode> {
  static readonly codes: readonly MinimizeErrorCode[] = ['conflict', 'unsatisfiable', 'unknown-symbol', 'bad-input', 'unresolved', 'solver', 'internal'];
  override get internal(): boolean {
    return this.code === 'solver' || this.code === 'internal';
  }
}

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
  /**
   * Run the linked app under strace while `workload` (a shell command line, such as a client of
   * the server) runs; what strace sees is required too, marked as observed (initramfs mode).
   */
  observe?: { workload: string; args?: readonly string[] };
  /**
   * refuse when the analysis leaves a site or a family unresolved (MinimizeError 'unresolved') or
   * the app reaches a syscall only loadable modules provide ('unsatisfiable')
   */
  strict?: boolean;
  /** a Kconfig already loaded for this tree and arch (reused, e.g. by the language server) */
  loaded?: LoadedKconfig;
  /** what runs share: base models, syscall maps, earlier optima (default: one per process) */
  session?: MinimizeSession;
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

/**
 * The smallest configuration that provides what the app reaches plus what booting it needs:
 * requirements, then the optimum of the Kconfig model, then the exact engine's check of it and
 * the one-minimal pass, then the report.
 */
export async function minimizeConfig(opts: MinimizeOptions): Promise<MinimizeResult> {
  const clock = new StageClock();
  const progress = opts.onProgress ?? (() => {});
  const run = runSettings(opts);
  const session = opts.session ?? defaultSession;
  loadSolverEarly();
  progress('loading the Kconfig tree');
  const t = await clock.stage('load', () => loadTree(opts, run));
  const kc = t.loaded.kconfig;
  const collected = await clock.stage('analysis', async () => collectRequirements(opts, run, t, await analyseApp(opts, run, t.tree, progress), (...a) => session.syscallMap(...a), progress));
  const reqs = collected.requirements;
  // one run at a time on a tree's engine and model: both hold state while a run uses them
  const { enc, sol, checked } = await session.exclusive(kc, () => optimise(t, run, reqs, session, opts.oneMinimal !== false, clock, progress));
  const report = buildReport({ run, kernelVersion: t.loaded.kbuild.kernelVersion, collected, enc, sol, ...checked, seconds: clock.seconds() });
  const reasons = checked.final.reasons;
  return { app: collected.app, uklArchive: collected.uklArchive, config: checked.answer.config, fragment: checked.answer.fragment, report, reasons, explain: (symbol: string) => explainLines(kc, reasons, reqs, symbol) };
}

/** The MILP of the run, its optimum, and that optimum through the engine. */
async function optimise(t: { tree: string; loaded: LoadedKconfig }, run: RunSettings, reqs: readonly Requirement[], session: MinimizeSession, oneMinimal: boolean, clock: StageClock, progress: (m: string) => void): Promise<{ enc: Encoded; sol: Solution; checked: Pick<RunParts, 'mismatches' | 'answer' | 'pass' | 'final'> }> {
  const kc = t.loaded.kconfig;
  progress('encoding the Kconfig model');
  const enc = await clock.stage('model', async () => encode(session.base(t.loaded, t.tree, run.arch), reqs, run.arch));
  progress(`solving (${enc.model.variableCount} variables, ${enc.model.constraintCount} constraints)`);
  const sol = await clock.stage('solve', () => solveRun(kc, enc, reqs, session.optima));
  const checked = await clock.stage('check', async () => checkStage(kc, enc, reqs, sol, oneMinimal ? session.optima : null, progress));
  return { enc, sol, checked };
}

/** The answer through the exact engine, the one-minimal pass over it (null: no pass), and the final state. */
function checkStage(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], sol: Solution, oneMinimal: WarmStarts | null, progress: (m: string) => void): Pick<RunParts, 'mismatches' | 'answer' | 'pass' | 'final'> {
  progress('checking the answer with the Kconfig engine');
  const { answer: checked, mismatches } = engineCheck(kc, enc, reqs, sol.colValue);
  let answer = checked;
  let pass: OneMinimal = { checked: false, flipsTried: 0, improvements: [] };
  if (oneMinimal) {
    progress('checking 1-minimality');
    ({ answer, pass } = oneMinimalRemembered(kc, enc, reqs, answer, oneMinimal));
  }
  return { mismatches, answer, pass, final: finalState(kc, enc, reqs, answer.config) };
}

/** Seconds per stage of a run (two decimals), and the total since the clock was made. */
class StageClock {
  private readonly t0 = performance.now();
  private readonly spent: Partial<Record<Stage, number>> = {};

  async stage<T>(name: Stage, work: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await work();
    } finally {
      this.spent[name] = round(performance.now() - t);
    }
  }

  seconds(): MinimizeReport['seconds'] {
    const s = this.spent;
    return { load: s.load ?? 0, analysis: s.analysis ?? 0, model: s.model ?? 0, solve: s.solve ?? 0, check: s.check ?? 0, total: round(performance.now() - this.t0) };
  }
}

type Stage = Exclude<keyof MinimizeReport['seconds'], 'total'>;
const round = (ms: number): number => Math.round(ms / 10) / 100;
