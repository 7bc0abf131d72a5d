import { enabledOptions } from '../kconfig/confdata.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { KSymbol } from '../kconfig/model.js';
import type { Encoded } from './encode.js';
import { MinimizeError } from './minimize.js';
import { KconfigModel } from './model.js';
import { conditionalBytes, objectiveValue } from './objective.js';
import { explainEnabled, type Reason } from './reasons.js';
import type { Requirement } from './requirements.js';

/** A configuration the engine produced, in both forms, with its cost under the objective. */
export interface Answer {
  config: string;
  fragment: string;
  cost: number;
}

/**
 * The solver's answer through the exact engine: every option set as the model has it, then
 * olddefconfig. The requirements must hold there (else the model is wrong: an internal error);
 * options where the engine and the model disagree are listed.
 */
export function engineCheck(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], colValue: Float64Array): { answer: Answer; mismatches: string[] } {
  const wanted = new Map<string, 0 | 1>();
  let text = '';
  for (const s of enc.model.symbols) {
    const l = enc.model.varOf(s);
    if (l === undefined || !s.name) continue;
    const v = KconfigModel.litValue(l, colValue);
    wanted.set(s.name, v);
    text += v ? `CONFIG_${s.name}=y\n` : `# CONFIG_${s.name} is not set\n`;
  }
  const config = kc.olddefconfig(text);
  const mismatches = disagreements(enc.model.symbols, wanted);
  const held = requirementsHeld(kc, reqs);
  if (held.some((h) => !h)) {
    const failed = reqs.filter((_, i) => !held[i]).map((r) => `${r.kind} ${r.detail} (${r.expression})`);
    throw new MinimizeError('internal', `the model's answer does not satisfy ${failed.join(', ')} under the exact engine; model mismatches: ${mismatches.slice(0, 5).join('; ')}`);
  }
  const fragment = kc.savedefconfig(config);
  return { answer: { config, fragment, cost: costOfEngineState(enc) }, mismatches };
}

/** options on in the engine's current state but off in the model's answer, and the reverse */
function disagreements(symbols: readonly KSymbol[], wanted: ReadonlyMap<string, 0 | 1>): string[] {
  const out: string[] = [];
  for (const s of symbols) {
    if (!s.name) continue;
    const on = s.currTri !== 0;
    const w = wanted.get(s.name);
    if (w !== undefined && (w === 1) !== on) out.push(`${s.name}: engine ${on ? 'y' : 'n'}, model ${w ? 'y' : 'n'}`);
  }
  return out;
}

export function requirementsHeld(kc: Kconfig, reqs: readonly Requirement[]): boolean[] {
  return reqs.map((r) => kc.evaluate(r.expression) !== 0);
}

/** The objective for the configuration the engine holds now. */
export function costOfEngineState(enc: Encoded): number {
  return objectiveValue(enc.objective.costs, enc.model.engineAssignment());
}

/** The final configuration under the engine: stable, requirements, and why each option is on. */
export interface FinalState {
  stable: boolean;
  held: boolean[];
  reasons: Map<string, Reason>;
  enabled: string[];
  conditionalBytes: number;
}

export function finalState(kc: Kconfig, enc: Encoded, reqs: readonly Requirement[], config: string): FinalState {
  // leaves the engine holding `config` for what follows
  const stable = kc.olddefconfig(config) === config;
  const held = requirementsHeld(kc, reqs);
  const forced = new Set<KSymbol>([...enc.model.fixed].filter(([, v]) => v === 1).map(([s]) => s));
  const reasons = explainEnabled(kc, reqs, forced);
  const enabled = enabledOptions(config);
  // the engine holds `config` now; the model agrees with it (modelMismatches says otherwise)
  return { stable, held, reasons, enabled, conditionalBytes: conditionalBytes(enc.objective.groupLits, enc.model.engineAssignment()) };
}
