import { compareValues } from '../kconfig/evaluate.js';
import type { Kconfig } from '../kconfig/kconfig.js';
import { F, type Expr, type KSymbol } from '../kconfig/model.js';
import { RowStore, type LinearConstraint } from './rows.js';

export type { LinearConstraint } from './rows.js';

/**
 * The Kconfig model of one tree as 0/1 integer constraints, for a kernel without modules.
 *
 * With MODULES off every tristate behaves as a bool, so each bool/tristate symbol is one binary
 * variable holding its final value. The rules are those conf applies when it computes a value
 * (see the project docs, "sym_calc_value"), for a configuration that gives every visible symbol a
 * user value, which is what a written `.config` does:
 *
 *   visible  (some prompt's condition holds):  x ≥ selects; otherwise free (the user's choice)
 *   hidden:                                     x = default ∨ (implied ∧ depends) ∨ selects
 *   choice member, visible:                     x = (the member chosen in its choice)
 *   a visible non-optional choice with a visible member picks exactly one of them.
 *
 * Boolean sub-expressions get auxiliary variables (Tseitin). Comparisons of bools are encoded;
 * int/hex/string symbols take the value of the first default whose condition holds, and the
 * rare chain of defaults deeper than that is followed takes its value in allnoconfig. The exact
 * engine checks every answer afterwards, so an imprecision here costs optimality, never
 * correctness.
 */

/** A literal: 0 false, 1 true, +v variable v (v ≥ 2), -v its negation. */
export type Lit = number;
const FALSE: Lit = 0;
const TRUE: Lit = 1;


type Tri3 = 0 | 1 | undefined;

/** Everything an encoded model holds, symbols by object: what a snapshot on disk stores (model-cache.ts). */
export interface ModelState {
  nextVar: number;
  rows: RowStore;
  symLits: Array<[KSymbol, Lit]>;
  /** and-gate variable → its inputs, in increasing variable order */
  gates: Array<[number, Lit[]]>;
  selections: Array<[KSymbol, Lit]>;
  fixed: Array<[KSymbol, 0 | 1]>;
}

/** Where a model stood before a run added its own gates and rows (see rollback). */
export interface Checkpoint {
  nextVar: number;
  constraints: number;
  valueMemo: number;
}


export class KconfigModel {
  private nextVar = 2;
  /** the rows, in compressed form */
  rows = new RowStore();
  /** symbol → its value literal */
  private readonly symLits = new Map<KSymbol, Lit>();
  private exprMemo = new WeakMap<Expr, readonly [Lit, Lit]>();
  private readonly gateMemo = new Map<string, Lit>();
  /** and-gate variable → its inputs */
  private readonly gates = new Map<number, Lit[]>();
  private origin = '';
  /** values fixed before encoding: pins, constants and what they imply */
  readonly fixed = new Map<KSymbol, 0 | 1>();
  readonly symbols: KSymbol[];
  private readonly choices: KSymbol[];

  /** Encodes the tree's model; with `state`, takes a model encoded earlier for this same tree instead. */
  constructor(
    readonly kc: Kconfig,
    pins: ReadonlyMap<KSymbol, 0 | 1>,
    state?: ModelState,
  ) {
    this.symbols = kc.definedSymbols().filter((s) => s.type === 'bool' || s.type === 'tristate');
    this.choices = [...kc.syms.all()].filter((s) => s.isChoice && s.menus.length > 0);
    if (state) {
      this.adopt(state);
      return;
    }
    // one variable always exists, so the solver never gets an empty model
    this.addLinear([[1, this.newVar()]], '=', 0);
    for (const [s, v] of pins) this.fixed.set(s, v);
    this.fixed.set(kc.modulesSym, 0);
    this.propagate();
    for (const s of this.symbols) this.symLit(s);
    for (const c of this.choices) this.encodeChoice(c);
  }

  get variableCount(): number {
    return this.nextVar - 2;
  }

  get constraintCount(): number {
    return this.rows.count;
  }

  /** every row as an object (for diagnostics and tests; the solver takes `rows`) */
  get constraints(): LinearConstraint[] {
    return Array.from({ length: this.rows.count }, (_, r) => this.rows.get(r));
  }

  /** The model's contents, for a snapshot. */
  state(): ModelState {
    return {
      nextVar: this.nextVar,
      rows: this.rows,
      symLits: [...this.symLits],
      gates: [...this.gates],
      selections: [...this.selections],
      fixed: [...this.fixed],
    };
  }

  private adopt(state: ModelState): void {
    this.nextVar = state.nextVar;
    this.rows = state.rows;
    for (const [s, l] of state.symLits) this.symLits.set(s, l);
    for (const [y, lits] of state.gates) {
      this.gates.set(y, lits);
      this.gateMemo.set(gateKey(lits), y);
    }
    for (const [m, v] of state.selections) this.selections.set(m, v);
    for (const [s, v] of state.fixed) this.fixed.set(s, v);
  }

  checkpoint(): Checkpoint {
    return { nextVar: this.nextVar, constraints: this.rows.count, valueMemo: this.valueMemo.size };
  }

  /**
   * Back to a checkpoint: the gates, rows and value chains a run added for its requirements go,
   * so a model kept between runs is the same for each of them.
   */
  rollback(cp: Checkpoint): void {
    this.rows.truncate(cp.constraints);
    for (const [y, lits] of this.gates) {
      if (y < cp.nextVar) continue;
      this.gates.delete(y);
      this.gateMemo.delete(gateKey(lits));
    }
    [...this.valueMemo.keys()].slice(cp.valueMemo).forEach((s) => this.valueMemo.delete(s));
    // memoised expressions may name the gates that went; what is left is found again through gateMemo
    this.exprMemo = new WeakMap();
    this.nextVar = cp.nextVar;
  }

  /** The literal of a symbol's value (a variable, or a constant when it is fixed). */
  symLit(s: KSymbol): Lit {
    const known = this.symLits.get(s);
    if (known !== undefined) return known;
    if (s.isConst) return s.name === 'y' ? TRUE : FALSE; // a bare `m` is handled by exprPair
    if (s.type !== 'bool' && s.type !== 'tristate') return FALSE; // tristate value of a non-bool is n
    if (s.menus.length === 0 && !s.isChoice) return FALSE; // referenced, never defined here
    const f = this.fixed.get(s);
    if (f !== undefined) {
      this.symLits.set(s, f);
      // a fixed symbol still obeys the rules; encode them so a pin that cannot hold is infeasible
      if (!s.isChoice) this.encodeSymbolRules(s, f);
      return f;
    }
    const v = this.newVar();
    this.symLits.set(s, v);
    if (!s.isChoice) this.encodeSymbolRules(s, v);
    return v;
  }

  varOf(s: KSymbol): Lit | undefined {
    return this.symLits.get(s);
  }

  /** Literal of an expression's truth (its tristate value is not n). */
  exprLit(e: Expr | null): Lit {
    return e ? (this.exprPair(e)[0] as Lit) : TRUE;
  }

  /**
   * [value ≥ m, value = y] of an expression. Without modules every symbol is n or y, but the
   * constant `m` stays m inside expressions (conf rounds it up only for a symbol's own value), and
   * `!m` is m again: so a negation swaps and inverts the pair. For expressions without `m` both
   * literals are the same.
   */
  private exprPair(e: Expr): readonly [Lit, Lit] {
    const memo = this.exprMemo.get(e);
    if (memo !== undefined) return memo;
    let r: readonly [Lit, Lit];
    switch (e.kind) {
      case 'symbol':
        if (e.sym.isConst && e.sym.name === 'm') r = [TRUE, FALSE];
        else {
          const l = this.symLit(e.sym);
          r = [l, l];
        }
        break;
      case 'not': {
        const [p, q] = this.exprPair(e.operand);
        r = [neg(q), neg(p)];
        break;
      }
      case 'and':
      case 'or': {
        const ps: Lit[] = [];
        const qs: Lit[] = [];
        const stack: Expr[] = [e];
        while (stack.length) {
          const x = stack.pop() as Expr;
          if (x.kind === e.kind) stack.push(x.right, x.left);
          else {
            const [p, q] = this.exprPair(x);
            ps.push(p);
            qs.push(q);
          }
        }
        const f = (ops: Lit[]): Lit => (e.kind === 'and' ? this.and(ops) : this.or(ops));
        const p = f(ps);
        r = ps.every((x, i) => x === qs[i]) ? [p, p] : [p, f(qs)];
        break;
      }
      case 'compare': {
        const l = this.compareLit(e);
        r = [l, l];
        break;
      }
    }
    this.exprMemo.set(e, r);
    return r;
  }

  and(ops: readonly Lit[]): Lit {
    const set = new Set<Lit>();
    for (const o of ops) {
      if (o === FALSE) return FALSE;
      if (o === TRUE) continue;
      if (set.has(neg(o))) return FALSE;
      set.add(o);
    }
    if (set.size === 0) return TRUE;
    if (set.size === 1) return set.values().next().value as Lit;
    const lits = [...set].sort((a, b) => a - b);
    const key = gateKey(lits);
    const memo = this.gateMemo.get(key);
    if (memo !== undefined) return memo;
    const y = this.newVar();
    this.gates.set(y, lits);
    // y ≤ l for each l; y ≥ Σl − (k−1)
    for (const l of lits) this.addLinear([[1, y], [-1, l]], '<=', 0);
    this.addLinear([[1, y], ...lits.map((l): [number, Lit] => [-1, l])], '>=', 1 - lits.length);
    this.gateMemo.set(key, y);
    return y;
  }

  or(ops: readonly Lit[]): Lit {
    return neg(this.and(ops.map(neg)));
  }

  /** Add Σ c·lit (op) rhs, rewriting negated literals as 1 − v. */
  addLinear(terms: ReadonlyArray<readonly [number, Lit]>, op: LinearConstraint['op'], rhs: number): void {
    const acc = new Map<number, number>();
    let r = rhs;
    for (const [c, l] of terms) {
      if (l === TRUE) r -= c;
      else if (l === FALSE) continue;
      else if (l > 0) acc.set(l, (acc.get(l) ?? 0) + c);
      else {
        r -= c;
        acc.set(-l, (acc.get(-l) ?? 0) - c);
      }
    }
    const out: Array<[number, number]> = [];
    for (const [v, c] of acc) if (c !== 0) out.push([c, v]);
    if (out.length === 0) {
      const ok = op === '>=' ? 0 >= r : op === '<=' ? 0 <= r : r === 0;
      // a constant constraint that fails makes the model infeasible: keep it visible to the solver
      if (!ok) this.rows.push([], op, r, this.origin);
      return;
    }
    this.rows.push(out, op, r, this.origin);
  }

  // ---- the rules ----

  private visibilityExpr(s: KSymbol): Lit {
    const ops: Lit[] = [];
    for (const p of s.props) if (p.text !== undefined && (p.type === 'prompt' || p.type === 'menu')) ops.push(this.exprLit(p.visibleExpr));
    return this.or(ops);
  }

  /** default chain: the first default whose condition holds gives the value */
  private defaultLit(s: KSymbol): Lit {
    const terms: Lit[] = [];
    const earlier: Lit[] = [];
    for (const p of s.props) {
      if (p.type !== 'default') continue;
      const c = this.exprLit(p.visibleExpr);
      if (c === FALSE) continue;
      terms.push(this.and([...earlier.map(neg), c, this.exprLit(p.expr)]));
      if (c === TRUE) break;
      earlier.push(c);
    }
    return this.or(terms);
  }

  private encodeSymbolRules(s: KSymbol, x: Lit): void {
    const outer = this.origin;
    this.origin = s.name ?? '';
    try {
      this.encodeRulesOf(s, x);
    } finally {
      this.origin = outer;
    }
  }

  private encodeRulesOf(s: KSymbol, x: Lit): void {
    const vis = this.visibilityExpr(s);
    const rev = s.revDep.expr ? this.exprLit(s.revDep.expr) : FALSE;
    const implied = s.implied.expr ? this.and([this.exprLit(s.implied.expr), this.exprLit(s.dirDep.expr)]) : FALSE;
    const hidden = this.or([this.defaultLit(s), implied, rev]);
    if (s.isChoiceValue && s.owningChoice()) {
      // visible member: chosen in its choice; hidden member: the ordinary hidden rule
      const sel = this.selection(s);
      this.addLinear([[1, sel], [-1, vis]], '<=', 0);
      this.addLinear([[1, x], [-1, this.or([sel, this.and([neg(vis), hidden])])]], '=', 0);
      return;
    }
    this.addLinear([[1, x], [-1, rev]], '>=', 0);
    this.addLinear([[1, x], [-1, hidden], [1, vis]], '>=', 0);
    this.addLinear([[1, x], [-1, hidden], [-1, vis]], '<=', 0);
  }

  private readonly selections = new Map<KSymbol, Lit>();
  /** the variable "this member is the one its choice picks" */
  private selection(member: KSymbol): Lit {
    let v = this.selections.get(member);
    if (v === undefined) {
      v = this.newVar();
      this.selections.set(member, v);
    }
    return v;
  }

  /**
   * One literal per visible choice member: "its choice picks it, although conf, given no choice,
   * would pick another". At most one per choice holds; the objective's last tier counts them.
   */
  choiceDeviations(): Lit[] {
    const out: Lit[] = [];
    for (const c of this.choices) {
      const members = c.choiceMembers.filter((m) => m.menus.length > 0);
      const isDefault = this.choiceDefaultLits(c, members);
      for (const m of members) out.push(this.and([this.selection(m), neg(isDefault.get(m) ?? FALSE)]));
    }
    return out;
  }

  /** member → "conf's default for this choice is this member" (the evaluator's choiceDefault) */
  private choiceDefaultLits(c: KSymbol, members: readonly KSymbol[]): Map<KSymbol, Lit> {
    const terms = new Map<KSymbol, Lit[]>();
    const add = (m: KSymbol, l: Lit): void => void terms.set(m, [...(terms.get(m) ?? []), l]);
    // the first `default` whose condition holds and whose member is visible
    const earlier: Lit[] = [];
    for (const p of c.props) {
      if (p.type !== 'default' || p.expr?.kind !== 'symbol') continue;
      const active = this.and([this.exprLit(p.visibleExpr), this.visibilityExpr(p.expr.sym)]);
      if (active === FALSE) continue;
      add(p.expr.sym, this.and([...earlier.map(neg), active]));
      earlier.push(active);
      if (active === TRUE) break;
    }
    // none holds: the first visible member
    const noDefault = this.and(earlier.map(neg));
    const earlierVisible: Lit[] = [];
    for (const m of members) {
      const visible = this.visibilityExpr(m);
      add(m, this.and([noDefault, ...earlierVisible.map(neg), visible]));
      earlierVisible.push(visible);
    }
    return new Map([...terms].map(([m, ls]) => [m, this.or(ls)]));
  }

  private encodeChoice(c: KSymbol): void {
    this.origin = `choice ${c.name ?? c.choiceMembers[0]?.name ?? c.seq}`;
    try {
      this.encodeChoiceRules(c);
    } finally {
      // rows added later (a run's requirements) name no choice
      this.origin = '';
    }
  }

  private encodeChoiceRules(c: KSymbol): void {
    const members = c.choiceMembers.filter((m) => m.menus.length > 0);
    if (!members.length) return;
    for (const m of members) this.symLit(m);
    // members' prompts depend on the choice itself, so a visible non-optional choice is y
    // (conf: a choice with no visible member stays n; the engine check catches that corner)
    const active = this.visibilityExpr(c);
    const cv = this.symLit(c);
    const optional = (c.flags & F.OPTIONAL) !== 0;
    if (optional) this.addLinear([[1, cv], [-1, active]], '<=', 0);
    else this.addLinear([[1, cv], [-1, active]], '=', 0);
    const sels = members.map((m) => this.selection(m));
    this.addLinear([...sels.map((v): [number, Lit] => [1, v]), [-1, cv]], '=', 0);
  }

  private compareLit(e: Extract<Expr, { kind: 'compare' }>): Lit {
    const boolish = (s: KSymbol): boolean => !s.isConst && (s.type === 'bool' || s.type === 'tristate') && (s.menus.length > 0 || s.isChoice);
    const triConst = (s: KSymbol): 'y' | 'n' | 'm' | undefined => (s.isConst && (s.name === 'y' || s.name === 'n' || s.name === 'm') ? s.name : undefined);
    if ((e.op === '=' || e.op === '!=') && (boolish(e.left) || boolish(e.right))) {
      const [a, b] = boolish(e.left) ? [e.left, e.right] : [e.right, e.left];
      const la = this.symLit(a);
      let eq: Lit | undefined;
      if (boolish(b)) {
        const lb = this.symLit(b);
        eq = this.or([this.and([la, lb]), this.and([neg(la), neg(lb)])]);
      } else {
        const t = triConst(b);
        if (t === 'y') eq = la;
        else if (t === 'n') eq = neg(la);
        else if (t === 'm') eq = FALSE;
        else if (b.type !== 'bool' && b.type !== 'tristate' && !b.isConst) eq = undefined;
        else eq = FALSE; // a bool never equals another constant string
      }
      if (eq !== undefined) return e.op === '=' ? eq : neg(eq);
    }
    // int/hex/string: each side's possible values, each under the literal that selects it
    const left = this.valueChoices(e.left, 0);
    const right = this.valueChoices(e.right, 0);
    const terms: Lit[] = [];
    for (const [ll, lv] of left) {
      for (const [rl, rv] of right) {
        if (compareValues(e.op, lv, e.left.type, rv, e.right.type) !== 0) terms.push(this.and([ll, rl]));
      }
    }
    return this.or(terms);
  }

  private readonly valueMemo = new Map<KSymbol, Array<[Lit, string]>>();
  private atReference = false;

  /**
   * Values read from the engine come from one reference state, allnoconfig, set the first time
   * one is needed after the engine may have moved (at construction, and at each `fromHere`).
   */
  private referenceState(): void {
    if (this.atReference) return;
    this.kc.allconfig('allnoconfig');
    this.atReference = true;
  }

  /** the engine may have been used since: the next value read from it sets the reference state again */
  fromHere(): void {
    this.atReference = false;
  }

  /**
   * The values a symbol can take in the configurations we write (which give no user value to
   * int/hex/string symbols, so the first default whose condition holds decides), as exclusive
   * [literal, value] pairs. `range` clamping is not modelled; the engine check covers it.
   */
  private valueChoices(s: KSymbol, depth: number): Array<[Lit, string]> {
    if (s.isConst || s.menus.length === 0) return [[TRUE, s.isConst ? (s.name ?? '') : (s.name ?? '')]];
    if (s.type === 'bool' || s.type === 'tristate') {
      const l = this.symLit(s);
      return [
        [l, 'y'],
        [neg(l), 'n'],
      ];
    }
    const memo = this.valueMemo.get(s);
    if (memo) return memo;
    if (depth > 16) {
      // a chain of defaults this deep does not occur in real trees: take the reference value
      this.referenceState();
      this.kc.ev.calcValue(s);
      return [[TRUE, this.kc.ev.stringValue(s)]];
    }
    const out: Array<[Lit, string]> = [];
    const earlier: Lit[] = [];
    let exhausted = false;
    for (const p of s.props) {
      if (p.type !== 'default' || !p.expr || p.expr.kind !== 'symbol') continue;
      const c = this.exprLit(p.visibleExpr);
      if (c === FALSE) continue;
      const guard = this.and([...earlier.map(neg), c]);
      for (const [l, v] of this.valueChoices(p.expr.sym, depth + 1)) {
        const g = this.and([guard, l]);
        if (g !== FALSE) out.push([g, v]);
      }
      if (c === TRUE) {
        exhausted = true;
        break;
      }
      earlier.push(c);
    }
    if (!exhausted) {
      const none = this.and(earlier.map(neg));
      if (none !== FALSE) out.push([none, '']);
    }
    this.valueMemo.set(s, out);
    return out;
  }

  // ---- constant propagation ----

  /**
   * Fix what cannot vary before encoding: symbols of other architectures, options whose
   * dependencies can never hold, hidden defaults that always apply. Three-valued evaluation of
   * the same rules to a fixpoint; only values that are determined whatever the unknowns are get
   * fixed, so this removes variables, never solutions.
   */
  private propagate(): void {
    const constValue = (s: KSymbol): string => (s.type === 'bool' || s.type === 'tristate') && !s.isConst && s.menus.length > 0 ? (val(s) ? 'y' : 'n') : (s.name ?? '');
    const val = (s: KSymbol): Tri3 => {
      if (s.isConst) return s.name === 'y' ? 1 : 0;
      if (s.type !== 'bool' && s.type !== 'tristate') return 0;
      if (s.menus.length === 0 && !s.isChoice) return 0;
      return this.fixed.get(s);
    };
    // tristate arithmetic (0 n, 1 m, 2 y) because the constant `m` survives in expressions
    const exT = (e: Expr): 0 | 1 | 2 | undefined => {
      switch (e.kind) {
        case 'symbol': {
          if (e.sym.isConst && e.sym.name === 'm') return 1;
          const v = val(e.sym);
          return v === undefined ? undefined : v === 1 ? 2 : 0;
        }
        case 'not': {
          const v = exT(e.operand);
          return v === undefined ? undefined : ((2 - v) as 0 | 1 | 2);
        }
        case 'and':
        case 'or': {
          const ops: Expr[] = [];
          const stack: Expr[] = [e];
          while (stack.length) {
            const x = stack.pop() as Expr;
            if (x.kind === e.kind) stack.push(x.right, x.left);
            else ops.push(x);
          }
          const isAnd = e.kind === 'and';
          let acc: 0 | 1 | 2 = isAnd ? 2 : 0;
          let unknown = false;
          for (const o of ops) {
            const v = exT(o);
            if (v === undefined) {
              unknown = true;
              continue;
            }
            acc = (isAnd ? Math.min(acc, v) : Math.max(acc, v)) as 0 | 1 | 2;
            if (acc === (isAnd ? 0 : 2)) return acc;
          }
          return unknown ? undefined : acc;
        }
        case 'compare': {
          const l = e.left;
          const r = e.right;
          // int/hex/string values follow defaults that may vary: left to the model
          const varying = (s: KSymbol): boolean => !s.isConst && s.menus.length > 0 && ((s.type !== 'bool' && s.type !== 'tristate') || val(s) === undefined);
          if (varying(l) || varying(r)) return undefined;
          if (e.op === '=' || e.op === '!=') {
            const lv = val(l);
            const rv = val(r);
            const isTri = (s: KSymbol): boolean => s.type === 'bool' || s.type === 'tristate';
            if (isTri(l) && !l.isConst && lv !== undefined && r.isConst) {
              const eq = r.name === (lv ? 'y' : 'n');
              return (e.op === '=') === eq ? 2 : 0;
            }
            if (isTri(l) && isTri(r) && !l.isConst && !r.isConst && lv !== undefined && rv !== undefined) return (e.op === '=') === (lv === rv) ? 2 : 0;
          }
          return compareValues(e.op, constValue(l), l.type, constValue(r), r.type) !== 0 ? 2 : 0;
        }
      }
    };
    const ex = (e: Expr | null): Tri3 => {
      if (!e) return 1;
      const v = exT(e);
      return v === undefined ? undefined : v === 0 ? 0 : 1;
    };
    const vis = (s: KSymbol): Tri3 => {
      let unknown = false;
      for (const p of s.props) {
        if (p.text === undefined || (p.type !== 'prompt' && p.type !== 'menu')) continue;
        const v = ex(p.visibleExpr);
        if (v === 1) return 1;
        if (v === undefined) unknown = true;
      }
      return unknown ? undefined : 0;
    };
    const hiddenValue = (s: KSymbol): Tri3 => {
      const rev = s.revDep.expr ? ex(s.revDep.expr) : 0;
      if (rev === 1) return 1;
      let d: Tri3 = 0;
      for (const p of s.props) {
        if (p.type !== 'default') continue;
        const c = ex(p.visibleExpr);
        if (c === 0) continue;
        if (c === undefined) {
          d = undefined;
          break;
        }
        d = ex(p.expr);
        break;
      }
      const imp = s.implied.expr ? ex({ kind: 'and', left: s.implied.expr, right: s.dirDep.expr ?? { kind: 'symbol', sym: this.kc.syms.yes } }) : 0;
      if (d === 1 || imp === 1) return 1;
      if (d === 0 && imp === 0 && rev === 0) return 0;
      return undefined;
    };
    for (let round = 0; round < 100; round++) {
      let changed = false;
      for (const s of this.symbols) {
        if (this.fixed.has(s)) continue;
        let v: Tri3;
        const vi = vis(s);
        if (s.isChoiceValue) {
          // a member is fixed only when it can never be visible and its hidden value is known
          v = vi === 0 ? hiddenValue(s) : undefined;
        } else if (vi === 0) v = hiddenValue(s);
        else if (s.revDep.expr && ex(s.revDep.expr) === 1) v = 1;
        if (v !== undefined) {
          this.fixed.set(s, v);
          changed = true;
        }
      }
      if (!changed) break;
    }
  }

  private newVar(): Lit {
    return this.nextVar++;
  }

  /** A requirement as a row: the literal must be true. */
  requirementRow(l: Lit): LinearConstraint | 'always' | 'never' {
    if (l === TRUE) return 'always';
    if (l === FALSE) return 'never';
    return l > 0 ? { terms: [[1, l]], op: '>=', rhs: 1, origin: 'requirement' } : { terms: [[-1, -l]], op: '>=', rhs: 0, origin: 'requirement' };
  }

  /** The value of a literal in a solution vector over the columns. */
  static litValue(l: Lit, colValue: Float64Array): 0 | 1 {
    if (l === FALSE) return 0;
    if (l === TRUE) return 1;
    const v = (colValue[Math.abs(l) - 2] ?? 0) > 0.5 ? 1 : 0;
    return l > 0 ? v : ((1 - v) as 0 | 1);
  }

  /**
   * The model's variables for the configuration the engine currently holds (auxiliaries
   * computed from their definitions), and the rows that assignment violates. A configuration
   * conf can produce must violate none: this is how the encoding is tested against the engine.
   */
  checkEngineState(): { violated: LinearConstraint[]; assignment: Uint8Array } {
    const a = this.engineAssignment();
    return { violated: this.violatedRows(a), assignment: a };
  }

  /** The model's variables for the configuration the engine currently holds. */
  engineAssignment(): Uint8Array {
    const ev = this.kc.ev;
    const a = new Uint8Array(this.nextVar);
    a[TRUE] = 1;
    for (const [s, l] of this.symLits) {
      if (l < 2) continue;
      ev.calcValue(s);
      a[l] = s.currTri !== 0 ? 1 : 0;
    }
    for (const [m, v] of this.selections) {
      ev.calcValue(m);
      const c = m.owningChoice();
      a[v] = c && c.currChoice === m && m.visible !== 0 && c.currTri !== 0 ? 1 : 0;
    }
    this.fillGates(a, 0);
    return a;
  }

  /** Each gate variable from `from` on set from its inputs (a 0/1 vector indexed by variable). */
  fillGates(a: Uint8Array, from: number): void {
    const litVal = (l: Lit): number => (l >= 0 ? (a[l] as number) : 1 - (a[-l] as number));
    // gates were created after their inputs, and the map keeps that order: inputs come first
    for (const [y, lits] of this.gates) if (y >= from) a[y] = lits.every((l) => litVal(l) === 1) ? 1 : 0;
  }

  /** The rows (and the extra rows given) a 0/1 vector indexed by variable violates. */
  violatedRows(a: Uint8Array, extra: readonly LinearConstraint[] = []): LinearConstraint[] {
    return this.rows.violated(a, extra);
  }
}

export function neg(l: Lit): Lit {
  return l === TRUE ? FALSE : l === FALSE ? TRUE : -l;
}

function gateKey(lits: readonly Lit[]): string {
  return `&${lits.join(',')}`;
}
