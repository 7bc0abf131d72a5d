import type { Kconfig } from '../kconfig/kconfig.js';
import type { KconfigModel, Lit } from './model.js';
import { IMAGE_SIZE_COSTS, type CodeWeights } from './weights.js';

/** option counts per 64 bytes of gated source: code first, then the option count */
const CODE_PER_OPTION = 1000;

/** What is minimised: variable → cost, and each code group's literal with its bytes (for the report). */
export interface Objective {
  costs: Map<number, number>;
  groupLits: Array<[Lit, number]>;
}

/**
 * The objective over the model's variables: the code each option brings in, then the option
 * count, then the choices that do not keep their default. The last tier only breaks ties, which
 * the solver would otherwise break at random: two apps' kernels that differ in, say, the
 * preemption model differ in nearly every object file, and a rebuild compiles them all again.
 */
export function buildObjective(kc: Kconfig, model: KconfigModel, weights: CodeWeights): Objective {
  const deviations = model.choiceDeviations();
  // one option more costs more than every choice away from its default (at most one per choice)
  const countWeight = deviations.length + 1;
  const codeWeight = CODE_PER_OPTION * countWeight;
  const costs = new Map<number, number>();
  const groupLits: Array<[Lit, number]> = [];
  const addLit = (l: Lit, w: number): void => {
    if (l === 0 || l === 1 || w === 0) return;
    // a negated literal's constant part does not change the optimum: only the variable's sign matters
    const v = Math.abs(l);
    costs.set(v, (costs.get(v) ?? 0) + (l > 0 ? w : -w));
  };
  for (const s of model.symbols) {
    const l = model.varOf(s);
    if (l !== undefined) addLit(l, countWeight);
  }
  for (const l of deviations) addLit(l, 1);
  for (const [name, bytes] of Object.entries(IMAGE_SIZE_COSTS)) {
    const s = kc.symbol(name);
    const l = s ? model.varOf(s) : undefined;
    if (l !== undefined) addLit(l, codeWeight * Math.ceil(bytes / 64));
  }
  for (const g of weights.groups) {
    let l: Lit;
    try {
      l = model.exprLit(kc.parseExpression(g.condition));
    } catch {
      continue;
    }
    groupLits.push([l, g.bytes]);
    addLit(l, codeWeight * Math.ceil(g.bytes / 64));
  }
  return { costs, groupLits };
}

/** The objective's value for a 0/1 assignment indexed by variable. */
export function objectiveValue(costs: ReadonlyMap<number, number>, assignment: ArrayLike<number>): number {
  let c = 0;
  for (const [v, w] of costs) c += w * (assignment[v] as number);
  return c;
}

/** Source bytes the configuration builds: the groups whose literal holds under the assignment. */
export function conditionalBytes(groupLits: ReadonlyArray<readonly [Lit, number]>, assignment: ArrayLike<number>): number {
  let bytes = 0;
  for (const [l, b] of groupLits) if ((l >= 0 ? assignment[l] : 1 - (assignment[-l] as number)) === 1) bytes += b;
  return bytes;
}
