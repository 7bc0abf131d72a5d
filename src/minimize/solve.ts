import * as highsModule from 'highs';
import type { Highs } from 'highs';
import { setFlagsFromString } from 'node:v8';
import type { Kconfig } from '../kconfig/kconfig.js';
import { conflict } from './diagnose.js';
import type { Encoded } from './encode.js';
import { MinimizeError } from './minimize.js';
import type { LinearConstraint, Lit } from './model.js';
import { objectiveValue } from './objective.js';
import { propagate, reducedModel, type Reduced } from './reduce.js';
import type { Requirement } from './requirements.js';
import type { Rows } from './rows.js';
import { startFrom, type Start } from './start.js';
import { requirementSet, type WarmStarts } from './warm-starts.js';

/** The optimum: its objective, the value of every variable, and how the solver got there. */
export interface Solution {
  status: string;
  objective: number;
  /** 0/1 per variable (index = variable) */
  values: Uint8Array;
  /** per column (variable − 2), as HiGHS numbers them */
  colValue: Float64Array;
  /** none, an earlier optimum as it was, one repaired by the engine, or the earlier optimum of these very requirements (no solve) */
  start: 'none' | 'previous' | 'repaired' | 'same-requirements';
  /** what HiGHS got after propagation: 0 × 0 when propagation decided everything */
  reduced: { variables: number; constraints: number };
}

type HighsLoader = () => Promise<Highs>;
let highsPromise: Promise<Highs> | undefined;
export function highs(): Promise<Highs> {
  // the package is CommonJS to TypeScript's eyes but an ES module at run time: take whichever default is callable
  const m = highsModule as unknown as { default: HighsLoader | { default: HighsLoader } };
  const loader = typeof m.default === 'function' ? m.default : m.default.default;
  if (highsPromise === undefined) {
    // V8's baseline code for wasm from here on: a process solves one model or a few, and
    // optimising the hot functions costs more CPU than it saves (first solve of the echo
    // server's model: 1.8 s CPU with tier-up, 0.5 s without; later solves take the same either
    // way; the analysis's disassembler, loaded after this, also spends less);
    // UKL_TRIM_WASM_TIER_UP=1 keeps V8's default
    if (process.env.UKL_TRIM_WASM_TIER_UP !== '1') setFlagsFromString('--liftoff-only');
    highsPromise = loader();
  }
  return highsPromise;
}

/**
 * HiGHS's wasm compiled while the tree loads and the app is analysed (the first solve then
 * finds it ready); V8's baseline tier, set here, serves the analysis's wasm too. A failure
 * shows at the solve.
 */
export function loadSolverEarly(): void {
  highs().catch(() => undefined);
}

/**
 * The optimum under every requirement, started from the closest earlier optimum for this tree;
 * infeasible requirements are refused with their minimal conflict. The optimum is remembered for
 * the next run.
 */
export async function solveRun(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], optima: WarmStarts): Promise<Solution> {
  const solver = await highs();
  const all = reqs.map((_, i) => i);
  const key = requirementSet(reqs.map((r) => r.expression));
  const stored = optima.best(enc.base.key, key);
  const start = stored ? startFrom(kc, enc, reqs, requirementRows(enc, all), stored.optimum) : null;
  // the same MILP as before: its optimum is the earlier one
  if (stored?.same && start?.how === 'previous' && start.objective === stored.optimum.objective) return solution(start.values, start.objective, 'same-requirements', { variables: 0, constraints: 0 });
  const sol = solveSubset(solver, enc, all, true, start);
  if (sol.status === 'infeasible') throw conflict(kc, reqs, (subset) => solveSubset(solver, enc, subset, false, null).status !== 'infeasible');
  if (sol.status !== 'optimal') throw new MinimizeError('solver', `the solver stopped with status "${sol.status}"`);
  optima.remember(enc.base.key, { requirements: key, objective: sol.objective, values: sol.values.slice(0, enc.base.checkpoint.nextVar) });
  return sol;
}

function requirementRows(enc: Encoded, active: readonly number[]): LinearConstraint[] {
  return active.map((i) => enc.model.requirementRow(enc.reqLits[i] as Lit)).filter((r): r is Exclude<typeof r, string> => typeof r !== 'string');
}

/** The model with the requirements numbered in `active`, minimised (or only checked for feasibility). */
function solveSubset(solver: Highs, enc: Encoded, active: readonly number[], withObjective: boolean, start: Start | null): Solution {
  const n = enc.model.variableCount + 2;
  const rows = enc.model.rows.withRows(n, requirementRows(enc, active));
  const costs = withObjective ? enc.objective.costs : new Map<number, number>();
  const bounds = propagate(rows, costs, start?.objective);
  // a start meets every row and its own objective: a failure here can only be the rows'
  if (!bounds) return start ? solveSubset(solver, enc, active, withObjective, null) : solution(new Uint8Array(n), Number.NaN, 'none', { variables: 0, constraints: 0 }, 'infeasible');
  const reduced = reducedModel(rows, bounds, costs);
  const size = { variables: reduced.data.numCols, constraints: reduced.data.numRows };
  const values = bounds.lo.slice();
  const status = reduced.data.numCols === 0 ? 'optimal' : runHighs(solver, reduced, start, values);
  if (status !== 'optimal') return solution(values, Number.NaN, start?.how ?? 'none', size, status);
  if (!satisfies(rows, values)) throw new MinimizeError('internal', 'the solver\'s answer breaks a row of the model it was given');
  return solution(values, objectiveValue(costs, values), start?.how ?? 'none', size);
}

/** HiGHS on the reduced model, from the start when there is one; the free variables' values go into `values` */
function runHighs(solver: Highs, reduced: Reduced, start: Start | null, values: Uint8Array): string {
  const statusNames = new Map<number, string>(Object.entries(solver.constants.modelStatus).map(([k, v]) => [v as number, k]));
  return solver.withModel(reduced.data as never, (m) => {
    // presolve off: on these models HiGHS's presolve takes several times longer than the search it
    // saves; so does the feasibility jump heuristic, which never found the optimum first here
    m.options.set({ output_flag: false, presolve: 'off', mip_rel_gap: 0, mip_heuristic_run_feasibility_jump: false });
    if (start) m.setSolution({ colValue: Float64Array.from(reduced.varOf, (v) => start.values[v] as number) });
    const status = statusNames.get(m.run().modelStatus) ?? 'unknown';
    if (status === 'optimal') m.getSolution().colValue.forEach((x, j) => (values[reduced.varOf[j] as number] = x > 0.5 ? 1 : 0));
    return status;
  });
}

function satisfies(rows: Rows, values: Uint8Array): boolean {
  for (let r = 0; r < rows.lower.length; r++) {
    let sum = 0;
    for (let k = rows.starts[r] as number; k < (rows.starts[r + 1] as number); k++) sum += (rows.coefs[k] as number) * (values[rows.vars[k] as number] as number);
    if (sum < (rows.lower[r] as number) || sum > (rows.upper[r] as number)) return false;
  }
  return true;
}

function solution(values: Uint8Array, objective: number, start: Solution['start'], reduced: Solution['reduced'], status = 'optimal'): Solution {
  return { status, objective, values, colValue: Float64Array.from(values.subarray(2)), start, reduced };
}
