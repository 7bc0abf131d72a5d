import * as highsModule from 'highs';
import type { Highs } from 'highs';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { Encoded } from './encode.js';
import { conflict } from './diagnose.js';
import { MinimizeError } from './minimize.js';
import type { Lit } from './model.js';
import type { Requirement } from './requirements.js';

/** HiGHS's answer: its status name, and for an optimum the objective and the column values. */
export interface Solution {
  status: string;
  objective: number;
  colValue: Float64Array;
}

type HighsLoader = () => Promise<Highs>;
let highsPromise: Promise<Highs> | undefined;
export function highs(): Promise<Highs> {
  // the package is CommonJS to TypeScript's eyes but an ES module at run time: take whichever default is callable
  const m = highsModule as unknown as { default: HighsLoader | { default: HighsLoader } };
  const loader = typeof m.default === 'function' ? m.default : m.default.default;
  highsPromise ??= loader();
  return highsPromise;
}

/** The optimum under every requirement; infeasible requirements are refused with their minimal conflict. */
export async function solveRun(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[]): Promise<Solution> {
  const solver = await highs();
  const solve = (active: readonly number[], withObjective: boolean): Solution => solveSubset(solver, enc, active, withObjective);
  const sol = solve(reqs.map((_, i) => i), true);
  if (sol.status === 'infeasible') throw conflict(kc, reqs, (subset) => solve(subset, false).status !== 'infeasible');
  if (sol.status !== 'optimal') throw new MinimizeError('solver', `the solver stopped with status "${sol.status}"`);
  return sol;
}

/** The model with the requirements numbered in `active`, minimised (or only checked for feasibility). */
function solveSubset(solver: Highs, enc: Encoded, active: readonly number[], withObjective: boolean): Solution {
  const { model, reqLits, objective } = enc;
  const statusNames = new Map<number, string>(Object.entries(solver.constants.modelStatus).map(([k, v]) => [v as number, k]));
  const rows = active.map((i) => model.requirementRow(reqLits[i] as Lit)).filter((r): r is Exclude<typeof r, string> => typeof r !== 'string');
  const data = model.toModelData(withObjective ? objective.costs : new Map(), rows);
  return solver.withModel(data as never, (m) => {
    // presolve off: on these models HiGHS's presolve takes several times longer than the search it saves
    m.options.set({ output_flag: false, presolve: 'off', mip_rel_gap: 0 });
    const run = m.run();
    const status = statusNames.get(run.modelStatus) ?? String(run.modelStatus);
    if (status !== 'optimal') return { status, objective: Number.NaN, colValue: new Float64Array(0) };
    return { status, objective: Number(m.info.get('objective_function_value')), colValue: m.getSolution().colValue };
  });
}
