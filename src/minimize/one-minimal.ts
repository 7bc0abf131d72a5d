import { createHash } from 'node:crypto';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { Expr } from '../kconfig/model.js';
import { costOfEngineState, type Answer } from './check.js';
import type { Encoded } from './encode.js';
import type { Requirement } from './requirements.js';
import { requirementSet, type WarmStarts } from './warm-starts.js';

export interface OneMinimal {
  checked: boolean;
  flipsTried: number;
  improvements: string[];
  /** an earlier run found this same fragment one-minimal under the same requirements */
  remembered?: boolean;
}

/**
 * The pass, unless an earlier run on this tree already made it over the same fragment under the
 * same requirements and found nothing: the engine, the fragment, the requirements and the costs
 * decide its outcome, so it is remembered with the optimum.
 */
export function oneMinimalRemembered(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], start: Answer, optima: WarmStarts): { answer: Answer; pass: OneMinimal } {
  const requirements = requirementSet(reqs.map((r) => r.expression));
  const fragment = createHash('sha256').update(start.fragment).digest('hex');
  const known = optima.best(enc.base.key, requirements);
  if (known?.same && known.optimum.oneMinimal?.fragment === fragment) return { answer: start, pass: { checked: true, flipsTried: known.optimum.oneMinimal.flipsTried, improvements: [], remembered: true } };
  const r = oneMinimalPass(kc, enc, reqs, start);
  if (r.pass.improvements.length === 0) optima.markOneMinimal(enc.base.key, requirements, { fragment, flipsTried: r.pass.flipsTried });
  return r;
}

/**
 * Each `=y` line of the fragment turned off in turn with the exact engine; a cheaper result that
 * keeps every requirement is taken and the pass starts again. Where the model is exact this finds
 * nothing: it guards the places the model approximates.
 */
export function oneMinimalPass(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], start: Answer): { answer: Answer; pass: OneMinimal } {
  let answer = start;
  const pass: OneMinimal = { checked: true, flipsTried: 0, improvements: [] };
  const required = requiredOn(kc, reqs);
  for (let better = improve(kc, enc, reqs, required, answer, pass); better !== null; better = improve(kc, enc, reqs, required, answer, pass)) answer = better;
  return { answer, pass };
}

/** the first flip that lowers the cost, or null when none does */
function improve(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], required: ReadonlySet<string>, answer: Answer, pass: OneMinimal): Answer | null {
  for (const m of answer.fragment.matchAll(/^CONFIG_(\w+)=y$/gm)) {
    const name = m[1] as string;
    pass.flipsTried++;
    // off, it breaks a requirement (or a select keeps it on): decided without the engine
    if (required.has(name)) continue;
    const candidate = answer.fragment.replace(new RegExp(`^CONFIG_${name}=y$`, 'm'), `# CONFIG_${name} is not set`);
    const config = kc.olddefconfig(candidate);
    if (kc.symbol(name)?.currTri !== 0) continue; // forced on by a select: nothing to gain
    if (!reqs.every((r) => kc.evaluate(r.expression) !== 0)) continue;
    const cost = costOfEngineState(enc);
    if (cost < answer.cost) {
      pass.improvements.push(`${name} off saves ${answer.cost - cost}`);
      return { config, fragment: kc.savedefconfig(config), cost };
    }
  }
  return null;
}

/** Options some requirement needs on whatever else holds (a conjunct of its expression). */
function requiredOn(kc: Kconfig, reqs: readonly Requirement[]): Set<string> {
  const out = new Set<string>();
  for (const r of reqs) {
    try {
      conjuncts(kc.parseExpression(r.expression), out);
    } catch {
      // an expression the engine cannot parse was refused before the solve
    }
  }
  return out;
}

function conjuncts(e: Expr, out: Set<string>): void {
  if (e.kind === 'symbol') {
    if (!e.sym.isConst && e.sym.name) out.add(e.sym.name);
  } else if (e.kind === 'and') {
    conjuncts(e.left, out);
    conjuncts(e.right, out);
  } else if (e.kind === 'not' && e.operand.kind === 'not') conjuncts(e.operand.operand, out);
}
