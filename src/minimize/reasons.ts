import { z } from 'zod';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { Expr, KSymbol } from '../kconfig/model.js';
import type { Requirement } from './requirements.js';

/**
 * Why an option is on, as one step; following `by` gives the chain down to a requirement
 * (needed by syscall epoll_wait, reached by main → serve → epoll_wait).
 */
export const ReasonSchema = z.object({
  kind: z.enum(['required', 'needed-by', 'selected-by', 'implied-by', 'default-of', 'choice', 'forced', 'default', 'optimizer']),
  /** the option this one is on for (needed-by, selected-by, implied-by, default-of) */
  by: z.string().optional(),
  /** index into the report's requirements (required) */
  requirement: z.number().int().optional(),
  text: z.string(),
});
export type Reason = z.infer<typeof ReasonSchema>;

/** Symbols an expression needs to be y (occurrences not under a negation). */
export function positiveSymbols(e: Expr | null, out: KSymbol[] = []): KSymbol[] {
  if (!e) return out;
  const stack: Array<{ e: Expr; neg: boolean }> = [{ e, neg: false }];
  while (stack.length) {
    const { e: x, neg } = stack.pop() as { e: Expr; neg: boolean };
    switch (x.kind) {
      case 'symbol':
        if (!neg && !x.sym.isConst) out.push(x.sym);
        break;
      case 'not':
        stack.push({ e: x.operand, neg: !neg });
        break;
      case 'and':
      case 'or':
        stack.push({ e: x.right, neg }, { e: x.left, neg });
        break;
      case 'compare':
        if (!neg && x.op === '=' && x.right.isConst && x.right.name === 'y' && !x.left.isConst) out.push(x.left);
        if (!neg && x.op === '!=' && x.right.isConst && x.right.name === 'n' && !x.left.isConst) out.push(x.left);
        break;
    }
  }
  return out;
}

function isOn(kc: Kconfig, s: KSymbol): boolean {
  kc.ev.calcValue(s);
  return (s.type === 'bool' || s.type === 'tristate') && s.currTri !== 0;
}

/**
 * One reason for every enabled option of the configuration `kc` currently holds: a breadth-
 * first walk from the requirements along "depends on", "select", "imply" and hidden defaults,
 * so each chain is a shortest one; what the walk does not reach is forced by the architecture,
 * a hidden default, a choice that must pick one member, or the optimiser's own trade-off.
 */
export function explainEnabled(kc: Kconfig, requirements: readonly Requirement[], forced: ReadonlySet<KSymbol>): Map<string, Reason> {
  const reasons = new Map<string, Reason>();
  const queue: KSymbol[] = [];
  const give = (s: KSymbol, r: Reason): void => {
    if (!s.name || reasons.has(s.name) || !isOn(kc, s)) return;
    reasons.set(s.name, r);
    queue.push(s);
  };
  requirements.forEach((req, i) => {
    let e: Expr;
    try {
      e = kc.parseExpression(req.expression);
    } catch {
      return;
    }
    const via = req.assumed ? ', assumed by the user (--assume-syscall)' : req.observed ? ', observed under strace (--observe)' : req.path?.length ? `, reached by ${req.path.join(' → ')}` : '';
    const what = req.kind === 'syscall' ? `syscall ${req.detail}${via}` : req.kind === 'profile' ? `boot profile (${req.detail})` : `${req.kind} ${req.detail}${via}`;
    for (const s of positiveSymbols(e)) give(s, { kind: 'required', requirement: i, text: `required by ${what}` });
  });
  // hidden symbols whose defaults mention a symbol: they come on with it
  const defaultUsers = new Map<KSymbol, KSymbol[]>();
  for (const s of kc.definedSymbols()) {
    if (s.type !== 'bool' && s.type !== 'tristate') continue;
    for (const p of s.props) {
      if (p.type !== 'default') continue;
      for (const d of [...positiveSymbols(p.expr), ...positiveSymbols(p.visibleExpr)]) {
        const list = defaultUsers.get(d) ?? [];
        list.push(s);
        defaultUsers.set(d, list);
      }
    }
  }
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i] as KSymbol;
    const name = s.name as string;
    // only `depends on`: a prompt's `if EXPERT` makes an option settable, it does not need EXPERT
    for (const d of positiveSymbols(s.dirDep.expr)) give(d, { kind: 'needed-by', by: name, text: `${name} depends on it` });
    for (const p of s.props) {
      if ((p.type === 'select' || p.type === 'imply') && p.expr?.kind === 'symbol' && kc.ev.exprValue(p.visibleExpr) !== 0) {
        give(p.expr.sym, { kind: p.type === 'select' ? 'selected-by' : 'implied-by', by: name, text: `${p.type}ed by ${name}` });
      }
    }
    for (const h of defaultUsers.get(s) ?? []) {
      if (h.visible === 0) give(h, { kind: 'default-of', by: name, text: `hidden option, on by default once ${name} is on` });
    }
  }
  for (const s of kc.definedSymbols()) {
    if (!s.name || reasons.has(s.name) || !isOn(kc, s)) continue;
    if (forced.has(s)) reasons.set(s.name, { kind: 'forced', text: 'always on for this architecture and mode (no configuration turns it off)' });
    else if (s.isChoiceValue) {
      const c = s.owningChoice();
      const prompt = c?.props.find((p) => p.text !== undefined)?.text ?? 'a choice';
      const preferred = c ? kc.ev.choiceDefault(c) : null;
      const text = preferred === s ? `the default of the choice "${prompt}", which must pick one; no other member costs less` : `the cheapest member of the choice "${prompt}", which must pick one${preferred?.name ? ` (its default, ${preferred.name}, costs more)` : ''}`;
      reasons.set(s.name, { kind: 'choice', text });
    } else if (s.visible === 0) reasons.set(s.name, { kind: 'default', text: 'hidden option whose default is y here' });
    else reasons.set(s.name, { kind: 'optimizer', text: 'set by the optimiser: with it off, more code would come in (options it hides default to y)' });
  }
  return reasons;
}

/** The chain of reasons from an option down to its requirement (or its final cause). */
export function reasonChain(reasons: ReadonlyMap<string, Reason>, name: string): Array<{ symbol: string; reason: Reason }> {
  const out: Array<{ symbol: string; reason: Reason }> = [];
  const seen = new Set<string>();
  let cur: string | undefined = name;
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    const r = reasons.get(cur);
    if (!r) break;
    out.push({ symbol: cur, reason: r });
    cur = r.by;
  }
  return out;
}

/** The reason chain of one option as printable lines; for an option that is off, why it is off. */
export function explainLines(kc: Kconfig, reasons: ReadonlyMap<string, Reason>, reqs: readonly Requirement[], symbol: string): string[] {
  const name = symbol.replace(/^CONFIG_/, '');
  const chain = reasonChain(reasons, name);
  if (chain.length) return chain.map((c, i) => `${'  '.repeat(i)}${c.symbol}: ${c.reason.text}`);
  const offBy = reqs.find((r) => r.expression === `!${name}`);
  if (offBy !== undefined) return [`${name}: off — required off by ${offBy.kind} ${offBy.detail}`];
  const s = kc.symbol(name);
  if (!s || s.menus.length === 0) return [`${name}: no such option`];
  kc.ev.calcValue(s);
  if (s.type !== 'bool' && s.type !== 'tristate') return [`${name}: ${s.type} option, value ${kc.ev.stringValue(s)}`];
  return [`${name}: off — nothing the app or the boot needs depends on it`];
}
