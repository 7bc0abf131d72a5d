import type { Expr, KSymbol } from './model.js';

/**
 * Expression rewriting applied when the menu tree is finalized. These mirror the documented
 * normalisations of kconfig: they are value-preserving, except `transBool`, which turns
 * `TRISTATE != n` into `TRISTATE` in properties of non-tristate symbols (a real semantic change
 * that conf applies, so we must too).
 */

export interface ConstSyms {
  yes: KSymbol;
  mod: KSymbol;
  no: KSymbol;
}

/**
 * Map the operands of a left-deep `&&`/`||` chain without recursing down its spine (chains of
 * thousands of terms occur in generated input); rebuilds only what changed.
 */
function mapSpine(e: Extract<Expr, { kind: 'and' | 'or' }>, f: (x: Expr) => Expr): Expr {
  const kind = e.kind;
  const nodes: Array<Extract<Expr, { kind: 'and' | 'or' }>> = [];
  let x: Expr = e;
  while (x.kind === kind) {
    nodes.push(x);
    x = x.left;
  }
  let acc = f(x);
  let changed = acc !== x;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as Extract<Expr, { kind: 'and' | 'or' }>;
    const r = f(n.right);
    if (!changed && r === n.right) {
      acc = n;
      continue;
    }
    changed = true;
    acc = { kind, left: acc, right: r };
  }
  return acc;
}

export function exprTransform(e: Expr | null, k: ConstSyms): Expr | null {
  if (!e) return null;
  switch (e.kind) {
    case 'and':
    case 'or':
      return mapSpine(e, (x) => exprTransform(x, k) as Expr);
    case 'compare': {
      if (e.left.type !== 'bool') return e;
      if (e.op === '=') {
        if (e.right === k.no) return { kind: 'not', operand: { kind: 'symbol', sym: e.left } };
        if (e.right === k.mod) return { kind: 'symbol', sym: k.no };
        if (e.right === k.yes) return { kind: 'symbol', sym: e.left };
      } else if (e.op === '!=') {
        if (e.right === k.no) return { kind: 'symbol', sym: e.left };
        if (e.right === k.mod) return { kind: 'symbol', sym: k.yes };
        if (e.right === k.yes) return { kind: 'not', operand: { kind: 'symbol', sym: e.left } };
      }
      return e;
    }
    case 'not': {
      const inner = exprTransform(e.operand, k) as Expr;
      switch (inner.kind) {
        case 'not':
          return exprTransform(inner.operand, k);
        case 'compare': {
          const flip = { '=': '!=', '!=': '=', '<=': '>', '>=': '<', '<': '>=', '>': '<=' } as const;
          return { kind: 'compare', op: flip[inner.op], left: inner.left, right: inner.right };
        }
        case 'or':
          return exprTransform(
            { kind: 'and', left: { kind: 'not', operand: inner.left }, right: { kind: 'not', operand: inner.right } },
            k,
          );
        case 'and':
          return exprTransform(
            { kind: 'or', left: { kind: 'not', operand: inner.left }, right: { kind: 'not', operand: inner.right } },
            k,
          );
        case 'symbol':
          if (inner.sym === k.yes) return { kind: 'symbol', sym: k.no };
          if (inner.sym === k.mod) return { kind: 'symbol', sym: k.mod };
          if (inner.sym === k.no) return { kind: 'symbol', sym: k.yes };
          return { kind: 'not', operand: inner };
      }
      return { kind: 'not', operand: inner };
    }
    default:
      return e;
  }
}

/** `TRISTATE != n` → `TRISTATE`, for conditions of bool/int/hex/string symbols. */
export function exprTransBool(e: Expr | null, k: ConstSyms): Expr | null {
  if (!e) return null;
  switch (e.kind) {
    case 'and':
    case 'or':
      return mapSpine(e, (x) => exprTransBool(x, k) as Expr);
    case 'not': {
      const o = exprTransBool(e.operand, k) as Expr;
      return o === e.operand ? e : { kind: 'not', operand: o };
    }
    case 'compare':
      if (e.op === '!=' && e.left.type === 'tristate' && e.right === k.no) return { kind: 'symbol', sym: e.left };
      return e;
    default:
      return e;
  }
}

/** `m` in a condition means `m && MODULES`. */
export function rewriteM(e: Expr | null, k: ConstSyms, modules: KSymbol): Expr | null {
  if (!e) return null;
  switch (e.kind) {
    case 'not': {
      const o = rewriteM(e.operand, k, modules) as Expr;
      return o === e.operand ? e : { kind: 'not', operand: o };
    }
    case 'and':
    case 'or':
      return mapSpine(e, (x) => rewriteM(x, k, modules) as Expr);
    case 'symbol':
      if (e.sym === k.mod) return { kind: 'and', left: e, right: { kind: 'symbol', sym: modules } };
      return e;
    default:
      return e;
  }
}

function symText(s: KSymbol): string {
  if (s.isConst && s.name !== 'y' && s.name !== 'm' && s.name !== 'n') return `"${(s.name ?? '').replace(/(["\\])/g, '\\$1')}"`;
  return s.name ?? '<choice>';
}

/** Kconfig syntax for an expression, with the minimum of parentheses. */
export function exprToString(e: Expr | null): string {
  if (!e) return 'y';
  const prec = (x: Expr): number => (x.kind === 'or' ? 1 : x.kind === 'and' ? 2 : 3);
  const wrap = (x: Expr, min: number): string => (prec(x) < min ? `(${exprToString(x)})` : exprToString(x));
  switch (e.kind) {
    case 'symbol':
      return symText(e.sym);
    case 'compare':
      return `${symText(e.left)} ${e.op} ${symText(e.right)}`;
    case 'not':
      return `!${wrap(e.operand, 3)}`;
    case 'and':
      return `${wrap(e.left, 2)} && ${wrap(e.right, 2)}`;
    case 'or':
      return `${wrap(e.left, 1)} || ${wrap(e.right, 1)}`;
  }
}
