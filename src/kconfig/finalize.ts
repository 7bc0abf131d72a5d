import type { DiagnosticSink } from './errors.js';
import { exprTransBool, exprTransform, rewriteM, type ConstSyms } from './expr.js';
import { F, type Expr, type KSymbol, type MenuNode, type Property } from './model.js';
import { exprAnd, exprOr } from './parser.js';

/**
 * Finalization of the parsed menu tree (the documented `menu_finalize` rules): parent
 * dependencies are propagated into every entry and property, selects and implies become reverse
 * dependencies of their targets, choices get their members and types, `if` blocks are flattened.
 */
export class Finalizer {
  constructor(
    private readonly k: ConstSyms,
    private readonly modules: KSymbol,
    private readonly diag: DiagnosticSink,
  ) {}

  private setType(sym: KSymbol, type: KSymbol['type'], at: MenuNode): void {
    if (sym.type === type) return;
    if (sym.type === 'unknown') {
      sym.type = type;
      return;
    }
    this.diag.warn(`ignoring type redefinition of '${sym.name ?? '<choice>'}'`, { file: at.file, line: at.line, column: 0 });
  }

  private propsOf(menu: MenuNode): Property[] {
    if (menu.sym) return menu.sym.props;
    return menu.prompt ? [menu.prompt] : [];
  }

  /** The property sanity warnings conf prints (types of defaults, selects, ranges). */
  private checkProperties(sym: KSymbol): void {
    const validNumber = (s2: KSymbol): boolean =>
      s2.type === 'int' || s2.type === 'hex' || (s2.type === 'unknown' && s2.name !== null && validNumberText(sym, s2.name));
    for (const p of sym.props) {
      const at = { file: p.file, line: p.line, column: 0 };
      if (p.type === 'default') {
        const single = p.expr?.kind === 'symbol' ? p.expr.sym : null;
        if ((sym.type === 'string' || sym.type === 'int' || sym.type === 'hex') && !single) {
          this.diag.warn(`default for config symbol '${sym.name}' must be a single symbol`, at);
        }
        if (!single) continue;
        if ((sym.type === 'hex' || sym.type === 'int') && !validNumber(single)) this.diag.warn(`'${sym.name}': number is invalid`, at);
        if (sym.isChoice && single.owningChoice() !== sym) {
          this.diag.warn(`choice default symbol '${single.name}' is not contained in the choice`, at);
        }
      } else if (p.type === 'select' || p.type === 'imply') {
        const target = p.expr?.kind === 'symbol' ? p.expr.sym : null;
        if (sym.type !== 'bool' && sym.type !== 'tristate') {
          this.diag.warn(`config symbol '${sym.name}' uses ${p.type}, but is not bool or tristate`, at);
        } else if (target && target.type !== 'unknown' && target.type !== 'bool' && target.type !== 'tristate') {
          this.diag.warn(`'${target.name}' has wrong type. '${p.type}' only accept arguments of bool and tristate type`, at);
        }
      } else if (p.type === 'range' && p.range) {
        if (sym.type !== 'int' && sym.type !== 'hex') this.diag.warn('range is only allowed for int or hex symbols', at);
        if (!validNumber(p.range[0]) || !validNumber(p.range[1])) this.diag.warn('range is invalid', at);
      }
    }
  }

  finalize(parent: MenuNode): void {
    const k = this.k;
    const sym = parent.sym;
    if (parent.list) {
      let parentDep: Expr | null;
      if (sym && sym.isChoice) {
        if (sym.type === 'unknown') {
          for (let m: MenuNode | null = parent.list; m; m = m.next) {
            if (m.sym && m.sym.type !== 'unknown') {
              this.setType(sym, m.sym.type, parent);
              break;
            }
          }
        }
        for (let m: MenuNode | null = parent.list; m; m = m.next) {
          if (m.sym && m.sym.type === 'unknown') this.setType(m.sym, sym.type, m);
        }
        // the choice's mode bounds its members
        parentDep = { kind: 'symbol', sym };
      } else {
        parentDep = parent.dep;
      }

      for (let menu: MenuNode | null = parent.list; menu; menu = menu.next) {
        let baseDep = rewriteM(menu.dep, k, this.modules);
        baseDep = exprTransform(baseDep, k);
        baseDep = exprAnd(parentDep, baseDep);
        menu.dep = baseDep;
        for (const prop of this.propsOf(menu)) {
          if (prop.menu !== menu) continue;
          let dep = rewriteM(prop.visibleExpr, k, this.modules);
          dep = exprTransform(dep, k);
          dep = exprAnd(baseDep, dep);
          if (menu.sym && menu.sym.type !== 'tristate') dep = exprTransBool(dep, k);
          prop.visibleExpr = dep;
          if (prop.type === 'select' || prop.type === 'imply') {
            const target = (prop.expr as Extract<Expr, { kind: 'symbol' }>).sym;
            const term = exprAnd({ kind: 'symbol', sym: menu.sym as KSymbol }, dep) as Expr;
            if (prop.type === 'select') target.revDep.expr = exprOr(target.revDep.expr, term);
            else target.implied.expr = exprOr(target.implied.expr, term);
          }
        }
      }

      for (let menu: MenuNode | null = parent.list; menu; menu = menu.next) this.finalize(menu);
    } else if (sym) {
      // (automatic sub-menus only reshape the UI tree; the pre-order sequence is unchanged)
      sym.dirDep.expr = exprOr(sym.dirDep.expr, parent.dep);
    }

    for (let menu: MenuNode | null = parent.list; menu; menu = menu.next) {
      const msym = menu.sym;
      if (sym && sym.isChoice && msym && !msym.isChoiceValue) {
        msym.flags |= F.CHOICEVAL;
        if (!menu.prompt) this.diag.warn('choice value must have a prompt', { file: menu.file, line: menu.line, column: 0 });
        for (const prop of msym.props) {
          if (prop.type === 'default') this.diag.warn('defaults for choice values not supported', { file: prop.file, line: prop.line, column: 0 });
        }
        if (sym.type === 'tristate' && msym.type !== 'tristate') {
          // non-tristate members of a tristate choice need the choice to be y
          const base: Expr = { kind: 'compare', op: '=', left: sym, right: k.yes };
          menu.dep = exprAnd(base, menu.dep);
          for (const prop of msym.props) {
            if (prop.menu !== menu) continue;
            prop.visibleExpr = exprAnd(base, prop.visibleExpr);
          }
        }
        msym.props.push({
          type: 'choice',
          text: undefined,
          expr: { kind: 'symbol', sym },
          range: undefined,
          visibleExpr: null,
          visibleTri: 0,
          menu,
          file: menu.file,
          line: menu.line,
        });
        sym.choiceMembers.push(msym);
      }
      // flatten blocks without a prompt ('if'): their children become following siblings
      if (menu.list && (!menu.prompt || menu.prompt.text === undefined)) {
        let last: MenuNode = menu.list;
        for (;;) {
          last.parent = parent;
          if (!last.next) break;
          last = last.next;
        }
        last.next = menu.next;
        menu.next = menu.list;
        menu.list = null;
      }
    }

    if (sym && !(sym.flags & F.WARNED)) {
      if (sym.type === 'unknown') this.diag.warn('config symbol defined without type', { file: parent.file, line: parent.line, column: 0 });
      if (sym.isChoice && !parent.prompt) this.diag.warn('choice must have a prompt', { file: parent.file, line: parent.line, column: 0 });
      this.checkProperties(sym);
      sym.flags |= F.WARNED;
    }

    // a visible, non-optional choice cannot be n: reverse dependency `visibility && m`
    if (sym && !(sym.flags & F.OPTIONAL) && parent.prompt) {
      sym.revDep.expr = exprOr(sym.revDep.expr, exprAnd(parent.prompt.visibleExpr, { kind: 'symbol', sym: k.mod }));
    }
  }
}

/** `.config` syntax of a number for the symbol's type (conf's sym_string_valid for int/hex). */
function validNumberText(sym: KSymbol, str: string): boolean {
  switch (sym.type) {
    case 'int':
      return /^-?(0|[1-9][0-9]*)$/.test(str);
    case 'hex':
      return /^(0[xX])?[0-9a-fA-F]+$/.test(str);
    case 'string':
      return true;
    case 'bool':
    case 'tristate':
      return /^[yYmMnN]/.test(str);
    default:
      return false;
  }
}
