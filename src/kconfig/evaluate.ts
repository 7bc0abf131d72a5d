import type { DiagnosticSink } from './errors.js';
import { exprToString } from './expr.js';
import { F, KSymbol, triAnd, triNot, triOr, type CompareOp, type Expr, type MenuNode, type Property, type SymbolType, type Tristate } from './model.js';
import type { SymbolTable } from './symtab.js';

/**
 * The evaluator: symbol values, visibility and choices, computed lazily and memoised with the
 * VALID flag, exactly as the documented 6.1 rules prescribe (a user value counts only while the
 * symbol is visible; `select` wins over `depends on`; `imply` is bounded by the dependencies; a
 * choice picks the user's visible member, then its first active default, then its first visible
 * member).
 */

type NumKind = 'string' | 'signed' | 'unsigned';

function parseNumber(str: string, type: SymbolType): { kind: NumKind; value: bigint } {
  switch (type) {
    case 'bool':
    case 'tristate':
      return { kind: 'signed', value: str === 'n' ? 0n : str === 'm' ? 1n : str === 'y' ? 2n : -1n };
    case 'int':
      return strtoNum(str, 10, true);
    case 'hex':
      return strtoNum(str, 16, false);
    default:
      return strtoNum(str, 0, true);
  }
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** strtoll/strtoull plus the "whole string parsed, last char a hex digit" check conf applies. */
function strtoNum(str: string, base: number, signed: boolean): { kind: NumKind; value: bigint } {
  const r = cStrtol(str, base, signed);
  const kind: NumKind = signed ? 'signed' : 'unsigned';
  if (r.overflow || r.end !== str.length || r.end === 0 || !/[0-9a-fA-F]/.test(str[r.end - 1] ?? '')) {
    return { kind: 'string', value: 0n };
  }
  return { kind, value: r.value };
}

/** A C strtoll/strtoull: leading blanks, sign, base prefix, digits; `end` is the index after the number. */
export function cStrtol(str: string, base: number, signed: boolean): { value: bigint; end: number; overflow: boolean } {
  let i = 0;
  while (i < str.length && /[ \t\n\v\f\r]/.test(str[i] as string)) i++;
  let neg = false;
  if (str[i] === '+' || str[i] === '-') {
    neg = str[i] === '-';
    i++;
  }
  let b = base;
  if ((b === 0 || b === 16) && str[i] === '0' && (str[i + 1] === 'x' || str[i + 1] === 'X') && /[0-9a-fA-F]/.test(str[i + 2] ?? '')) {
    i += 2;
    b = 16;
  } else if (b === 0) {
    b = str[i] === '0' ? 8 : 10;
  }
  const start = i;
  let v = 0n;
  const B = BigInt(b);
  let big = false;
  for (; i < str.length; i++) {
    const k = str.charCodeAt(i);
    const d = k >= 48 && k <= 57 ? k - 48 : k >= 97 && k <= 122 ? k - 87 : k >= 65 && k <= 90 ? k - 55 : 99;
    if (d >= b) break;
    // past 2^64 the value saturates anyway: stop growing the BigInt (keeps this linear)
    if (!big) {
      v = v * B + BigInt(d);
      if (v > UINT64_MAX) big = true;
    }
  }
  if (i === start) return { value: 0n, end: 0, overflow: false };
  let overflow = false;
  if (signed) {
    if (neg) v = -v;
    if (v > INT64_MAX) {
      v = INT64_MAX;
      overflow = true;
    } else if (v < INT64_MIN) {
      v = INT64_MIN;
      overflow = true;
    }
  } else {
    if (v > UINT64_MAX) {
      v = UINT64_MAX;
      overflow = true;
    } else if (neg) v = (UINT64_MAX + 1n - v) & UINT64_MAX;
  }
  return { value: v, end: i, overflow };
}

/** strtoll(str, NULL, base) as conf uses it for ranges (0 when nothing parses, saturating). */
export function strtoll(str: string, base: number): bigint {
  return cStrtol(str, base, true).value;
}

/**
 * A Kconfig comparison of two values given as strings with their symbols' types: numeric when
 * both parse as numbers of their type (unsigned if either is hex), else byte-wise.
 */
export function compareValues(op: CompareOp, s1: string, t1: SymbolType, s2: string, t2: SymbolType): Tristate {
  let res: number;
  let k1: { kind: NumKind; value: bigint } = { kind: 'string', value: 0n };
  let k2: { kind: NumKind; value: bigint } = { kind: 'string', value: 0n };
  if (t1 !== 'string' || t2 !== 'string') {
    k1 = parseNumber(s1, t1);
    k2 = parseNumber(s2, t2);
  }
  if (k1.kind === 'string' || k2.kind === 'string') res = cmpBytes(s1, s2);
  else if (k1.kind === 'unsigned' || k2.kind === 'unsigned') {
    const a = BigInt.asUintN(64, k1.value);
    const b = BigInt.asUintN(64, k2.value);
    res = a > b ? 1 : a < b ? -1 : 0;
  } else res = k1.value > k2.value ? 1 : k1.value < k2.value ? -1 : 0;
  switch (op) {
    case '=':
      return res ? 0 : 2;
    case '!=':
      return res ? 2 : 0;
    case '<':
      return res < 0 ? 2 : 0;
    case '<=':
      return res <= 0 ? 2 : 0;
    case '>':
      return res > 0 ? 2 : 0;
    case '>=':
      return res >= 0 ? 2 : 0;
  }
}

export class Evaluator {
  modulesVal: Tristate = 0;
  /** conf's "configuration changed" flag */
  changed = false;

  constructor(
    readonly syms: SymbolTable,
    readonly root: MenuNode,
    readonly modulesSym: KSymbol,
    readonly diag: DiagnosticSink,
  ) {}

  // ---- expressions ----

  exprValue(e: Expr | null): Tristate {
    if (!e) return 2;
    switch (e.kind) {
      case 'symbol':
        this.calcValue(e.sym);
        return e.sym.currTri;
      case 'and':
      case 'or': {
        // long `A && B && C ...` chains are left-deep trees: walk the spine iteratively,
        // evaluating operands left to right as the recursive definition would
        const kind = e.kind;
        const rights: Expr[] = [];
        let x: Expr = e;
        while (x.kind === kind) {
          rights.push(x.right);
          x = x.left;
        }
        let v = this.exprValue(x);
        for (let i = rights.length - 1; i >= 0; i--) {
          const r = this.exprValue(rights[i] as Expr);
          v = kind === 'and' ? triAnd(v, r) : triOr(v, r);
        }
        return v;
      }
      case 'not':
        return triNot(this.exprValue(e.operand));
      case 'compare': {
        this.calcValue(e.left);
        this.calcValue(e.right);
        return compareValues(e.op, this.stringValue(e.left), e.left.type, this.stringValue(e.right), e.right.type);
      }
    }
  }

  // ---- symbol accessors ----

  /** Effective type: a tristate is a bool without modules, or as a member of a y-mode choice. */
  getType(sym: KSymbol): SymbolType {
    if (sym.type === 'tristate') {
      if (sym.isChoiceValue && sym.visible === 2) return 'bool';
      if (this.modulesVal === 0) return 'bool';
    }
    return sym.type;
  }

  tristateValue(sym: KSymbol): Tristate {
    return sym.currTri;
  }

  stringValue(sym: KSymbol): string {
    if (sym.type === 'bool' || sym.type === 'tristate') {
      const v = sym.currTri;
      return v === 0 ? 'n' : v === 1 ? 'm' : 'y';
    }
    return sym.currVal ?? '';
  }

  choicePropSym(sym: KSymbol): KSymbol {
    return sym.owningChoice() as KSymbol;
  }

  defaultProp(sym: KSymbol): Property | undefined {
    for (const p of sym.props) {
      if (p.type !== 'default') continue;
      p.visibleTri = this.exprValue(p.visibleExpr);
      if (p.visibleTri !== 0) return p;
    }
    return undefined;
  }

  rangeProp(sym: KSymbol): Property | undefined {
    for (const p of sym.props) {
      if (p.type !== 'range') continue;
      p.visibleTri = this.exprValue(p.visibleExpr);
      if (p.visibleTri !== 0) return p;
    }
    return undefined;
  }

  // ---- visibility ----

  calcVisibility(sym: KSymbol): void {
    let tri: Tristate = 0;
    const choiceSym = sym.isChoiceValue ? this.choicePropSym(sym) : undefined;
    for (const p of sym.props) {
      if (p.text === undefined) continue;
      p.visibleTri = this.exprValue(p.visibleExpr);
      if (choiceSym && sym.type === 'tristate' && p.visibleTri === 1 && choiceSym.currTri === 2) p.visibleTri = 0;
      tri = triOr(tri, p.visibleTri);
    }
    if (tri === 1 && (sym.type !== 'tristate' || this.modulesVal === 0)) tri = 2;
    sym.visible = tri;
    if (sym.isChoiceValue) return;
    tri = 2;
    if (sym.dirDep.expr) tri = this.exprValue(sym.dirDep.expr);
    if (tri === 1 && this.getType(sym) === 'bool') tri = 2;
    sym.dirDep.tri = tri;
    tri = 0;
    if (sym.revDep.expr) tri = this.exprValue(sym.revDep.expr);
    if (tri === 1 && this.getType(sym) === 'bool') tri = 2;
    sym.revDep.tri = tri;
    tri = 0;
    if (sym.implied.expr) tri = this.exprValue(sym.implied.expr);
    if (tri === 1 && this.getType(sym) === 'bool') tri = 2;
    sym.implied.tri = tri;
  }

  // ---- choices ----

  choiceDefault(choice: KSymbol): KSymbol | null {
    for (const p of choice.props) {
      if (p.type !== 'default') continue;
      p.visibleTri = this.exprValue(p.visibleExpr);
      if (p.visibleTri === 0) continue;
      const d = (p.expr as Extract<Expr, { kind: 'symbol' }>).sym;
      if (d.visible !== 0) return d;
    }
    for (const m of choice.choiceMembers) if (m.visible !== 0) return m;
    return null;
  }

  private calcChoice(choice: KSymbol): KSymbol | null {
    let flags = choice.flags;
    for (const m of choice.choiceMembers) {
      this.calcVisibility(m);
      if (m.visible !== 0) flags &= m.flags;
    }
    choice.flags &= flags | ~F.DEF_USER;
    const user = choice.userChoice;
    if (user && user.visible !== 0) return user;
    const d = this.choiceDefault(choice);
    if (d === null) choice.currTri = 0;
    return d;
  }

  setAllChoiceValues(choice: KSymbol): void {
    for (const m of choice.choiceMembers) {
      if (!m.hasUserValue) m.userTri = 0;
    }
    choice.flags |= F.DEF_USER;
    choice.flags &= ~(F.VALID | F.NEED_SET_CHOICE_VALUES);
  }

  // ---- value computation ----

  calcValue(sym: KSymbol): void {
    if (sym.flags & F.VALID) return;
    if (sym.isChoiceValue && sym.flags & F.NEED_SET_CHOICE_VALUES) {
      sym.flags &= ~F.NEED_SET_CHOICE_VALUES;
      this.calcValue(this.choicePropSym(sym));
    }
    sym.flags |= F.VALID;

    let newVal: string | null;
    let newTri: Tristate = 0;
    let newChoice: KSymbol | null = null;
    switch (sym.type) {
      case 'int':
      case 'hex':
      case 'string':
        newVal = '';
        break;
      case 'bool':
      case 'tristate':
        newVal = 'n';
        break;
      default:
        sym.currVal = sym.name;
        sym.currTri = 0;
        return;
    }
    sym.flags &= ~F.WRITE;
    this.calcVisibility(sym);
    if (sym.visible !== 0) sym.flags |= F.WRITE;

    // a recursive evaluation sees the starting value
    sym.currVal = newVal;
    sym.currTri = newTri;
    sym.currChoice = null;

    switch (this.getType(sym)) {
      case 'bool':
      case 'tristate': {
        if (sym.isChoiceValue && sym.visible === 2) {
          const cs = this.choicePropSym(sym);
          newTri = cs.currChoice === sym ? 2 : 0;
        } else {
          let useUser = false;
          if (sym.visible !== 0 && sym.hasUserValue) {
            newTri = triAnd(sym.userTri, sym.visible);
            useUser = true;
          }
          if (!useUser) {
            if (sym.revDep.tri !== 0) sym.flags |= F.WRITE;
            if (!sym.isChoice) {
              const p = this.defaultProp(sym);
              if (p) {
                newTri = triAnd(this.exprValue(p.expr), p.visibleTri);
                if (newTri !== 0) sym.flags |= F.WRITE;
              }
              if (sym.implied.tri !== 0) {
                sym.flags |= F.WRITE;
                newTri = triOr(newTri, sym.implied.tri);
                newTri = triAnd(newTri, sym.dirDep.tri);
              }
            }
          }
          if (sym.dirDep.tri < sym.revDep.tri) this.warnUnmetDep(sym);
          newTri = triOr(newTri, sym.revDep.tri);
        }
        if (newTri === 1 && this.getType(sym) === 'bool') newTri = 2;
        break;
      }
      case 'string':
      case 'hex':
      case 'int': {
        if (sym.visible !== 0 && sym.hasUserValue) {
          newVal = sym.userVal ?? '';
          break;
        }
        const p = this.defaultProp(sym);
        if (p && p.expr && p.expr.kind === 'symbol') {
          const ds = p.expr.sym;
          sym.flags |= F.WRITE;
          this.calcValue(ds);
          newVal = ds.currVal ?? '';
        }
        break;
      }
      default:
        break;
    }

    sym.currVal = newVal;
    sym.currTri = newTri;
    if (sym.isChoice && newTri === 2) {
      newChoice = this.calcChoice(sym);
      sym.currChoice = newChoice;
    }
    this.validateRange(sym);

    if (sym === this.modulesSym) this.modulesVal = sym.currTri;

    if (sym.isChoice) {
      for (const m of sym.choiceMembers) {
        if (sym.flags & F.WRITE && m.visible !== 0) m.flags |= F.WRITE;
      }
    }
    if (sym.flags & F.NO_WRITE) sym.flags &= ~F.WRITE;
    if (sym.flags & F.NEED_SET_CHOICE_VALUES) this.setAllChoiceValues(sym);
  }

  private rangeVal(sym: KSymbol, base: number): bigint {
    this.calcValue(sym);
    if (sym.type === 'int') base = 10;
    else if (sym.type === 'hex') base = 16;
    return strtoll(sym.currVal ?? '', base);
  }

  private validateRange(sym: KSymbol): void {
    if (sym.type !== 'int' && sym.type !== 'hex') return;
    const p = this.rangeProp(sym);
    if (!p || !p.range) return;
    const base = sym.type === 'int' ? 10 : 16;
    const val = strtoll(sym.currVal ?? '', base);
    let bound = p.range[0];
    if (val >= this.rangeVal(bound, base)) {
      bound = p.range[1];
      if (val <= this.rangeVal(bound, base)) return;
    }
    // the bound's text as written (0xFF stays 0xFF, 010 stays 010)
    this.calcValue(bound);
    sym.currVal = bound.currVal;
  }

  /** Whether a string is a valid value for the symbol's type (.config syntax). */
  stringValid(sym: KSymbol, str: string): boolean {
    switch (sym.type) {
      case 'string':
        return true;
      case 'int':
        return /^-?(0|[1-9][0-9]*)$/.test(str);
      case 'hex':
        return /^(0[xX])?[0-9a-fA-F]+$/.test(str);
      case 'bool':
      case 'tristate':
        return /^[yYmMnN]/.test(str);
      default:
        return false;
    }
  }

  tristateWithinRange(sym: KSymbol, val: Tristate): boolean {
    const type = this.getType(sym);
    if (type !== 'bool' && type !== 'tristate') return false;
    if (type === 'bool' && val === 1) return false;
    if (sym.visible <= sym.revDep.tri) return false;
    if (sym.isChoiceValue && sym.visible === 2) return val === 2;
    return val >= sym.revDep.tri && val <= sym.visible;
  }

  stringWithinRange(sym: KSymbol, str: string): boolean {
    switch (sym.type) {
      case 'string':
        return this.stringValid(sym, str);
      case 'int':
      case 'hex': {
        if (!this.stringValid(sym, str)) return false;
        const p = this.rangeProp(sym);
        if (!p || !p.range) return true;
        const base = sym.type === 'int' ? 10 : 16;
        const v = strtoll(str, base);
        return v >= this.rangeVal(p.range[0], base) && v <= this.rangeVal(p.range[1], base);
      }
      case 'bool':
      case 'tristate': {
        const c = str[0]?.toLowerCase();
        if (c === 'y') return this.tristateWithinRange(sym, 2);
        if (c === 'm') return this.tristateWithinRange(sym, 1);
        if (c === 'n') return this.tristateWithinRange(sym, 0);
        return false;
      }
      default:
        return false;
    }
  }

  clearAllValid(): void {
    for (const s of this.syms.all()) s.flags &= ~F.VALID;
    this.changed = true;
    this.calcValue(this.modulesSym);
  }

  isChangeable(sym: KSymbol): boolean {
    return sym.visible > sym.revDep.tri;
  }

  /** The value savedefconfig compares against (`sym_get_string_default`, with its quirks). */
  stringDefault(sym: KSymbol): string {
    this.calcVisibility(sym);
    this.calcValue(this.modulesSym);
    let val: Tristate = 0;
    let str = '';
    const p = this.defaultProp(sym);
    if (p) {
      if (sym.type === 'bool' || sym.type === 'tristate') {
        val = triAnd(this.exprValue(p.expr), p.visibleTri);
      } else if (p.expr && p.expr.kind === 'symbol') {
        this.calcValue(p.expr.sym);
        str = p.expr.sym.currVal ?? '';
      }
    }
    val = triOr(val, sym.revDep.tri);
    if (val === 1 && !sym.isChoiceValue && this.modulesSym.currTri === 0) val = 2;
    if (sym.type === 'bool' && val === 1) val = 2;
    if (val < sym.implied.tri) val = sym.implied.tri;
    if (sym.type === 'bool' || sym.type === 'tristate') return val === 2 ? 'y' : val === 1 ? 'm' : 'n';
    return str;
  }

  private warnUnmetDep(sym: KSymbol): void {
    const lines = [
      `WARNING: unmet direct dependencies detected for ${sym.name}`,
      `  Depends on [${triName(sym.dirDep.tri)}]: ${exprToString(sym.dirDep.expr)}`,
      `  Selected by [${triName(sym.revDep.tri)}]: ${exprToString(sym.revDep.expr)}`,
    ];
    const at = sym.menus[0];
    this.diag.warn(lines.join('\n'), at ? { file: at.file, line: at.line, column: 0 } : undefined);
  }
}

function triName(t: Tristate): string {
  return t === 2 ? 'y' : t === 1 ? 'm' : 'n';
}

/** strcmp on UTF-8 bytes. */
function cmpBytes(a: string, b: string): number {
  if (a === b) return 0;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  const c = Buffer.compare(x, y);
  return c;
}

export { KSymbol };
