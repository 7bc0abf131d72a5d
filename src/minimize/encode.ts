import { KconfigError } from '../kconfig/errors.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { BaseModel } from './base.js';
import { impossible } from './diagnose.js';
import { MinimizeError } from './minimize.js';
import type { KconfigModel, Lit } from './model.js';
import type { Objective } from './objective.js';
import type { Requirement } from './requirements.js';

/** The run's MILP: the tree's base model with each requirement as a literal that must hold. */
export interface Encoded {
  base: BaseModel;
  model: KconfigModel;
  reqLits: Lit[];
  objective: Objective;
}

export function encode(base: BaseModel, reqs: readonly Requirement[], arch: string): Encoded {
  const { model } = base;
  // what an earlier run added for its own requirements goes first
  model.rollback(base.checkpoint);
  model.fromHere();
  return { base, model, reqLits: requirementLits(model.kc, model, reqs, arch), objective: base.objective };
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
