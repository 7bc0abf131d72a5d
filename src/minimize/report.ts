import { z } from 'zod';
import type { Answer, FinalState } from './check.js';
import type { Collected } from './collect.js';
import type { Encoded } from './encode.js';
import type { OneMinimal } from './one-minimal.js';
import { ReasonSchema } from './reasons.js';
import { RequirementSchema } from './requirements.js';
import type { RunSettings } from './setup.js';
import type { Solution } from './solve.js';

export const MinimizeReportSchema = z.object({
  arch: z.string(),
  kernelVersion: z.string(),
  mode: z.enum(['initramfs', 'ukl']),
  profile: z.string().nullable(),
  app: z.string().nullable(),
  /** a dynamically linked app: the interpreter and libraries analysed with it (as asked for) */
  sharedObjects: z.array(z.string()).default([]),
  counts: z.object({
    /** CONFIG_*=y lines of the full .config */
    enabled: z.number().int(),
    /** lines of the minimal fragment (savedefconfig form) */
    fragmentLines: z.number().int(),
    /** estimated source bytes the configuration builds (Kbuild map), conditional part only */
    conditionalSourceBytes: z.number(),
  }),
  requirements: z.array(RequirementSchema.extend({ holds: z.boolean() })),
  options: z.array(z.object({ symbol: z.string(), reason: ReasonSchema })),
  solver: z.object({
    variables: z.number().int(),
    constraints: z.number().int(),
    fixedByPropagation: z.number().int(),
    status: z.string(),
    objective: z.number(),
    seconds: z.number(),
    /** where the solver started: nothing, an earlier optimum for this tree (as it was, or repaired by the engine), or the earlier optimum of the same requirements (no solve) */
    start: z.enum(['none', 'previous', 'repaired', 'same-requirements']).optional(),
    /** what HiGHS was given once propagation (and the start's objective as a bound) had fixed what it could */
    reduced: z.object({ variables: z.number().int(), constraints: z.number().int() }).optional(),
  }),
  check: z.object({
    /** olddefconfig of the result gives the result back */
    stable: z.boolean(),
    requirementsHold: z.boolean(),
    /** options on in the engine's answer but off in the model's, and the reverse */
    modelMismatches: z.array(z.string()),
    /** every `=y` line of the fragment was turned off in turn with the exact engine */
    oneMinimal: z.object({
      checked: z.boolean(),
      flipsTried: z.number().int(),
      improvements: z.array(z.string()),
      /** an earlier run on this tree made the pass over the same fragment under the same requirements (its outcome is taken) */
      remembered: z.boolean().optional(),
    }),
  }),
  /**
   * what the analysis could not rule out: syscall sites that may be any syscall and socket()
   * calls whose family is not a constant. Only what was proved is required; --assume-syscall
   * adds what these might need, --strict refuses a result with any.
   */
  unresolved: z.array(z.object({ kind: z.enum(['syscall-site', 'socket-family']), function: z.string().nullable(), address: z.number(), reason: z.string() })),
  warnings: z.array(z.string()),
  seconds: z.object({ load: z.number(), analysis: z.number(), model: z.number(), solve: z.number(), check: z.number(), total: z.number() }),
});
export type MinimizeReport = z.infer<typeof MinimizeReportSchema>;

/** What each stage of a run gave, for the report. */
export interface RunParts {
  run: RunSettings;
  kernelVersion: string;
  collected: Collected;
  enc: Encoded;
  sol: Solution;
  mismatches: string[];
  answer: Answer;
  pass: OneMinimal;
  final: FinalState;
  seconds: MinimizeReport['seconds'];
}

export function buildReport(p: RunParts): MinimizeReport {
  const { model } = p.enc;
  const reqs = p.collected.requirements;
  return {
    arch: p.run.arch,
    kernelVersion: p.kernelVersion,
    mode: p.run.mode,
    profile: p.run.profile?.name ?? null,
    app: p.collected.analysis?.input ?? null,
    sharedObjects: (p.collected.analysis?.sharedObjects ?? []).map((o) => o.name),
    counts: { enabled: p.final.enabled.length, fragmentLines: p.answer.fragment.split('\n').filter((l) => l.trim() !== '').length, conditionalSourceBytes: p.final.conditionalBytes },
    requirements: reqs.map((r, i) => ({ ...r, holds: p.final.held[i] as boolean })),
    options: p.final.enabled.map((symbol) => ({ symbol, reason: p.final.reasons.get(symbol) ?? { kind: 'default' as const, text: 'on' } })),
    solver: {
      variables: model.variableCount,
      constraints: model.constraintCount,
      fixedByPropagation: model.fixed.size,
      status: p.sol.status,
      objective: p.sol.objective,
      seconds: p.seconds.solve,
      start: p.sol.start,
      reduced: p.sol.reduced,
    },
    check: { stable: p.final.stable, requirementsHold: p.final.held.every(Boolean), modelMismatches: p.mismatches, oneMinimal: p.pass },
    unresolved: p.collected.unresolved,
    warnings: p.collected.warnings,
    seconds: p.seconds,
  };
}
