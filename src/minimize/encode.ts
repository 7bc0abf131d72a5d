import { KconfigError } from '../kconfig/errors.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import { impossible } from './diagnose.js';
import { MinimizeError } from './minimize.js';
import { KconfigModel, type Lit } from './model.js';
import { buildObjective, type Objective } from './objective.js';
import type { Requirement } from './requirements.js';
import { deriveCodeWeights } from './weights.js';

/** The run's MILP: the Kconfig model, each requirement as a literal that must hold, the objective. */
export interface Encoded {
  model: KconfigModel;
  reqLits: Lit[];
  objective: Objective;
}

export function encode(kc: Kconfig, tree: string, arch: string, reqs: readonly Requirement[]): Encoded {
  // a defined state for the few value chains deeper than the model follows (see valueChoices)
  kc.allconfig('allnoconfig');
  const model = new KconfigModel(kc, new Map());
  const reqLits = requirementLits(kc, model, reqs, arch);
  const objective = buildObjective(kc, model, deriveCodeWeights(tree, arch, kc));
  return { model, reqLits, objective };
}

/** Each requirement's literal; a requirement that is constant false is refused with what blocks it. */
export function requirementLits(kc: Kconfig, model: KconfigModel, reqs: readonly Requirement[], arch: string): Lit[] {
  const lits = reqs.map((r) => {
    try {
      return model.exprLit(kc.parseExpression(r.expression));
    } catch (e) {
      if (e instanceof KconfigError) throw new MinimizeError('bad-input', `requirement ${r.kind} ${r.detail}: ${e.message}`);
      throw e;
    }
  });
  lits.forEach((l, i) => {
    if (l === 0) throw impossible(kc, model, reqs[i] as Requirement, arch);
  });
  return lits;
}
