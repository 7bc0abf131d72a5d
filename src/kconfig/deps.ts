import { KconfigError } from './errors.js';
import { F, type Expr, type KSymbol } from './model.js';
import type { SymbolTable } from './symtab.js';

/**
 * Dependency loops are fatal in 6.1. The check is a depth-first search from every symbol in
 * table order, with CHECK (on the current path) and CHECKED (done) marks, exactly as documented
 * for conf: a symbol depends on what its dependencies, reverse dependencies, implies, property
 * conditions and (non-choice) defaults mention. Reaching a choice member checks the whole choice
 * group: the choice's own dependencies first (with every member on the path), then the members';
 * a path that comes back into the group being checked is not an error. Which loops conf reports
 * therefore depends on the search order, which is why the order is kept.
 */
export function checkDependencyLoops(syms: SymbolTable): void {
  const path: KSymbol[] = [];
  let found: { loop: KSymbol[] } | null = null;

  const exprDeps = (e: Expr | null): KSymbol | null => {
    if (!e) return null;
    switch (e.kind) {
      case 'and':
      case 'or': {
        // iterate the left spine of long chains, checking operands left to right
        const rights: Expr[] = [];
        let x: Expr = e;
        while (x.kind === e.kind) {
          rights.push(x.right);
          x = x.left;
        }
        const first = exprDeps(x);
        if (first) return first;
        for (let i = rights.length - 1; i >= 0; i--) {
          const r = exprDeps(rights[i] as Expr);
          if (r) return r;
        }
        return null;
      }
      case 'not':
        return exprDeps(e.operand);
      case 'compare':
        return checkDeps(e.left) ?? checkDeps(e.right);
      case 'symbol':
        return checkDeps(e.sym);
    }
  };

  const symDeps = (sym: KSymbol): KSymbol | null => {
    path.push(sym);
    try {
      let r = exprDeps(sym.dirDep.expr) ?? exprDeps(sym.revDep.expr) ?? exprDeps(sym.implied.expr);
      if (r) return r;
      for (const p of sym.props) {
        if (p.type === 'choice' || p.type === 'select' || p.type === 'imply') continue;
        r = exprDeps(p.visibleExpr);
        if (r) return r;
        if (p.type !== 'default' || sym.isChoice) continue;
        r = exprDeps(p.expr);
        if (r) return r;
      }
      return null;
    } finally {
      path.pop();
    }
  };

  const choiceDeps = (choice: KSymbol): KSymbol | null => {
    for (const m of choice.choiceMembers) m.flags |= F.CHECK | F.CHECKED;
    choice.flags |= F.CHECK | F.CHECKED;
    let r = symDeps(choice);
    choice.flags &= ~F.CHECK;
    if (!r) {
      for (const m of choice.choiceMembers) {
        r = symDeps(m);
        if (r) break;
      }
    }
    for (const m of choice.choiceMembers) m.flags &= ~F.CHECK;
    if (r && r.isChoiceValue && r.owningChoice() === choice) {
      // conf reports these too (as the choice), but only with its simplified expressions;
      // our unsimplified ones see loops conf does not (arch/mips), so a path back into the
      // group being checked is let through: no false errors on real trees, at the price of
      // missing loops that run through a choice member (a documented gap)
      r = null;
      found = null;
    }
    return r;
  };

  const checkDeps = (sym: KSymbol): KSymbol | null => {
    if (sym.flags & F.CHECK) {
      if (!found) {
        const i = path.lastIndexOf(sym);
        found = { loop: i >= 0 ? [...path.slice(i), sym] : [...path, sym] };
      }
      return sym;
    }
    if (sym.flags & F.CHECKED) return null;
    if (sym.isChoiceValue) {
      const c = sym.owningChoice();
      return c ? checkDeps(c) : null;
    }
    if (sym.isChoice) return choiceDeps(sym);
    sym.flags |= F.CHECK | F.CHECKED;
    const r = symDeps(sym);
    sym.flags &= ~F.CHECK;
    return r;
  };

  try {
    for (const sym of syms.all()) {
      found = null;
      const r = checkDeps(sym);
      if (r && found) {
        const loop = (found as { loop: KSymbol[] }).loop;
        const first = loop[0] as KSymbol;
        const at = first.menus[0] ?? first.choiceMembers[0]?.menus[0];
        const label = (s: KSymbol): string => s.name ?? '<choice>';
        throw new KconfigError('dependency', `recursive dependency detected: ${loop.map(label).join(' -> ')}`, at ? { file: at.file, line: at.line, column: 0 } : undefined);
      }
    }
  } finally {
    for (const s of syms.all()) s.flags &= ~(F.CHECK | F.CHECKED);
  }
}
