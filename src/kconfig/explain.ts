import { exprToString } from './expr.js';
import type { Kconfig } from './kconfig.js';
import type { Expr, Tristate } from './model.js';

export interface ReverseDependency {
  /** the selecting / implying symbol */
  by: string;
  /** its full condition, dependencies included */
  condition: string;
  /** value of `by && condition` now */
  value: 'n' | 'm' | 'y';
}

export interface SymbolExplanation {
  name: string;
  type: string;
  value: string;
  userValue: string | null;
  visible: 'n' | 'm' | 'y';
  prompts: string[];
  definedAt: string[];
  dependsOn: { expression: string; value: 'n' | 'm' | 'y' };
  /** the smallest parts of `depends on` that are n right now (what keeps the symbol off) */
  blockingDependencies: string[];
  selectedBy: ReverseDependency[];
  impliedBy: ReverseDependency[];
  defaults: Array<{ value: string; condition: string; active: boolean }>;
  /** for choice members: the choice's prompt and current selection */
  choice?: { prompt: string; selection: string | null };
}

const TRI = ['n', 'm', 'y'] as const;

/** Split an OR of `S && cond` terms (how select/imply reverse dependencies are built). */
function orTerms(e: Expr | null): Expr[] {
  if (!e) return [];
  if (e.kind === 'or') return [...orTerms(e.left), ...orTerms(e.right)];
  return [e];
}

function andTerms(e: Expr): Expr[] {
  if (e.kind === 'and') return [...andTerms(e.left), ...andTerms(e.right)];
  return [e];
}

/**
 * Why a symbol has its value: visibility, the dependencies that are unmet, who selects or
 * implies it, which defaults apply. Computed from the current state of `kc` (load a config
 * first, e.g. with `kc.load(text)`).
 */
export function explainSymbol(kc: Kconfig, name: string): SymbolExplanation | undefined {
  const sym = kc.symbol(name);
  if (!sym || sym.menus.length === 0) return undefined;
  const ev = kc.ev;
  ev.calcValue(sym);
  const val = (e: Expr | null): Tristate => ev.exprValue(e);
  const rdeps = (e: Expr | null): ReverseDependency[] =>
    orTerms(e).map((t) => {
      const parts = andTerms(t);
      const first = parts[0];
      const by = first && first.kind === 'symbol' ? first.sym : undefined;
      const rest = parts.slice(1).reduce<Expr | null>((a, b) => (a ? { kind: 'and', left: a, right: b } : b), null);
      return { by: by?.name ?? exprToString(t), condition: exprToString(rest), value: TRI[val(t)] };
    });
  const blocking: string[] = [];
  const dir = sym.dirDep.expr;
  if (dir && val(dir) === 0) {
    for (const t of andTerms(dir)) if (val(t) === 0) blocking.push(exprToString(t));
  }
  const out: SymbolExplanation = {
    name,
    type: sym.type === 'bool' ? 'bool' : sym.type,
    value: ev.stringValue(sym),
    userValue: sym.hasUserValue ? (sym.type === 'bool' || sym.type === 'tristate' ? TRI[sym.userTri] : (sym.userVal ?? '')) : null,
    visible: TRI[sym.visible],
    prompts: sym.props.filter((p) => p.text !== undefined).map((p) => p.text as string),
    definedAt: sym.menus.map((m) => `${m.file}:${m.line}`),
    dependsOn: { expression: exprToString(dir), value: TRI[val(dir)] },
    blockingDependencies: blocking,
    selectedBy: rdeps(sym.revDep.expr),
    impliedBy: rdeps(sym.implied.expr),
    defaults: sym.props
      .filter((p) => p.type === 'default')
      .map((p) => ({ value: exprToString(p.expr), condition: exprToString(p.visibleExpr), active: val(p.visibleExpr) !== 0 })),
  };
  const cs = sym.owningChoice();
  if (cs) {
    ev.calcValue(cs);
    out.choice = { prompt: cs.menus[0]?.prompt?.text ?? '', selection: cs.currChoice?.name ?? null };
  }
  return out;
}
