import type { Kconfig } from '../kconfig/kconfig.js';
import { costOfEngineState, type Answer } from './check.js';
import type { Encoded } from './encode.js';
import type { Requirement } from './requirements.js';

export interface OneMinimal {
  checked: boolean;
  flipsTried: number;
  improvements: string[];
}

/**
 * Each `=y` line of the fragment turned off in turn with the exact engine; a cheaper result that
 * keeps every requirement is taken and the pass starts again. Where the model is exact this finds
 * nothing: it guards the places the model approximates.
 */
export function oneMinimalPass(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], start: Answer): { answer: Answer; pass: OneMinimal } {
  let answer = start;
  const pass: OneMinimal = { checked: true, flipsTried: 0, improvements: [] };
  for (let better = improve(kc, enc, reqs, answer, pass); better !== null; better = improve(kc, enc, reqs, answer, pass)) answer = better;
  return { answer, pass };
}

/** the first flip that lowers the cost, or null when none does */
function improve(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], answer: Answer, pass: OneMinimal): Answer | null {
  for (const m of answer.fragment.matchAll(/^CONFIG_(\w+)=y$/gm)) {
    const name = m[1] as string;
    pass.flipsTried++;
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
