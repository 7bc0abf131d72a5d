import type { Kconfig } from '../kconfig/kconfig.js';
import type { Expr, KSymbol } from '../kconfig/model.js';
import type { Encoded } from './encode.js';
import type { LinearConstraint, Lit } from './model.js';
import { objectiveValue } from './objective.js';
import { positiveSymbols } from './reasons.js';
import type { Requirement } from './requirements.js';
import type { StoredOptimum } from './warm-starts.js';

/**
 * A known solution of this run's MILP to start the solver from: an earlier optimum for the
 * same tree, taken as it is when it meets this run's requirements, or else repaired with the
 * exact engine (the options the new requirements name turned on, olddefconfig). Either way it is
 * checked against every row before it is used; a start that fails is no start.
 */
export interface Start {
  /** 0/1 value of every variable */
  values: Uint8Array;
  objective: number;
  how: 'previous' | 'repaired';
}

export function startFrom(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], reqRows: readonly LinearConstraint[], stored: StoredOptimum): Start | null {
  const { model } = enc;
  const baseVars = enc.base.checkpoint.nextVar;
  if (stored.values.length !== baseVars) return null;
  const values = new Uint8Array(model.variableCount + 2);
  values.set(stored.values);
  values[1] = 1;
  // the gates this run's requirements added follow from the rest
  model.fillGates(values, baseVars);
  // this run's requirements first: when one fails, the old answer needs repairing anyway
  if (meets(values, reqRows) && model.violatedRows(values).length === 0) return { values, objective: objectiveValue(enc.objective.costs, values), how: 'previous' };
  const repaired = repair(kc, enc, reqs, values);
  if (model.violatedRows(repaired, reqRows).length > 0) return null;
  return { values: repaired, objective: objectiveValue(enc.objective.costs, repaired), how: 'repaired' };
}

/** the engine's configuration from the old answer with each unmet requirement's options set its way */
function repair(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], values: Uint8Array): Uint8Array {
  const { model } = enc;
  const on = new Map<string, boolean>();
  for (const s of model.symbols) {
    const l = model.varOf(s);
    if (l !== undefined && s.name) on.set(s.name, litHolds(l, values));
  }
  reqs.forEach((r, i) => {
    if (litHolds(enc.reqLits[i] as Lit, values)) return;
    const off = /^!\s*(\w+)$/.exec(r.expression.trim());
    if (off) on.set(off[1] as string, false);
    else for (const s of enablers(kc.parseExpression(r.expression))) turnOn(s, on, 0);
  });
  kc.olddefconfig([...on].map(([name, v]) => (v ? `CONFIG_${name}=y\n` : `# CONFIG_${name} is not set\n`)).join(''));
  return model.engineAssignment();
}

/**
 * An option and, a few levels down, what it depends on; a hidden option cannot be set, so what
 * turns it on instead: its first default's options, else one option that selects it.
 */
function turnOn(s: KSymbol, on: Map<string, boolean>, depth: number): void {
  if (!s.name || depth > 8 || on.get(s.name) === true) return;
  on.set(s.name, true);
  const next = [...positiveSymbols(s.dirDep.expr)];
  if (!s.props.some((p) => p.type === 'prompt' && p.text !== undefined)) next.push(...hiddenEnablers(s));
  for (const d of next) turnOn(d, on, depth + 1);
}

function hiddenEnablers(s: KSymbol): KSymbol[] {
  const d = s.props.find((p) => p.type === 'default' && p.expr !== null && !(p.expr.kind === 'symbol' && p.expr.sym.isConst && p.expr.sym.name === 'n'));
  if (d?.expr) return [...enablers(d.expr), ...enablers(d.visibleExpr)];
  return enablers(s.revDep.expr);
}

/** options that, all on, make the expression hold when the rest allows: the first way through each `||` */
function enablers(e: Expr | null): KSymbol[] {
  if (!e) return [];
  switch (e.kind) {
    case 'symbol':
      return e.sym.isConst ? [] : [e.sym];
    case 'and':
      return [...enablers(e.left), ...enablers(e.right)];
    case 'or':
      return enablers(e.left);
    case 'not':
      return e.operand.kind === 'not' ? enablers(e.operand.operand) : [];
    case 'compare':
      return e.op === '=' && e.right.isConst && e.right.name === 'y' && !e.left.isConst ? [e.left] : [];
  }
}

function meets(values: Uint8Array, rows: readonly LinearConstraint[]): boolean {
  return rows.every((r) => {
    let sum = 0;
    for (const [c, v] of r.terms) sum += c * (values[v] as number);
    return r.op === '>=' ? sum >= r.rhs : r.op === '<=' ? sum <= r.rhs : sum === r.rhs;
  });
}

function litHolds(l: Lit, values: Uint8Array): boolean {
  if (l === 0 || l === 1) return l === 1;
  return l > 0 ? values[l] === 1 : values[-l] === 0;
}
