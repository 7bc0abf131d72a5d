import type { MinimizeReport } from '../minimize/minimize.js';
import { reasonChain, type Reason } from '../minimize/reasons.js';

/**
 * The options that are on, grouped by the cause their reason chain ends at: a requirement's kind
 * (syscall, socket family, pseudo-file, boot profile, mode, --enable), or what is on without one
 * (forced by the architecture, a choice, a hidden default, the optimiser).
 */

export interface ExplainedOption {
  symbol: string;
  /** this option first, down to its cause */
  chain: Array<{ symbol: string; text: string }>;
  /** the requirement the chain ends at (index into the report's requirements) */
  requirement: number | null;
}

export interface OptionGroup {
  key: string;
  title: string;
  options: ExplainedOption[];
}

const GROUPS: ReadonlyArray<readonly [string, string]> = [
  ['syscall', 'Syscalls the app reaches'],
  ['socket-family', 'Socket families the app opens'],
  ['pseudo-file', 'Files under /proc, /sys and /dev the app opens'],
  ['profile', 'The boot profile'],
  ['mode', 'The mode'],
  ['enable', 'Asked for with --enable'],
  ['optimizer', "The optimiser's trade-offs (off would bring more code)"],
  ['choice', 'Choices that must pick a member'],
  ['default', 'Hidden options on by default'],
  ['forced', 'Always on for this architecture and compiler'],
  ['unexplained', 'No reason recorded'],
];

/** the group of a chain: its last step's requirement kind, or that step's own kind */
function causeOf(report: MinimizeReport, last: Reason | undefined): { key: string; requirement: number | null } {
  if (last === undefined) return { key: 'unexplained', requirement: null };
  if (last.kind === 'required' && last.requirement !== undefined) {
    const req = report.requirements[last.requirement];
    return { key: req?.kind ?? 'unexplained', requirement: req ? last.requirement : null };
  }
  return { key: GROUPS.some(([k]) => k === last.kind) ? last.kind : 'unexplained', requirement: null };
}

export function groupOptions(report: MinimizeReport): OptionGroup[] {
  const reasons = new Map(report.options.map((o) => [o.symbol, o.reason]));
  const byKey = new Map<string, ExplainedOption[]>();
  for (const o of report.options) {
    const chain = reasonChain(reasons, o.symbol);
    const { key, requirement } = causeOf(report, chain.at(-1)?.reason);
    const list = byKey.get(key) ?? [];
    list.push({ symbol: o.symbol, chain: chain.map((c) => ({ symbol: c.symbol, text: c.reason.text })), requirement });
    byKey.set(key, list);
  }
  return GROUPS.filter(([key]) => byKey.has(key)).map(([key, title]) => ({
    key,
    title,
    // by requirement, then the options it names first, then by how far they are from it
    options: (byKey.get(key) ?? []).sort((a, b) => (a.requirement ?? -1) - (b.requirement ?? -1) || a.chain.length - b.chain.length || a.symbol.localeCompare(b.symbol)),
  }));
}
