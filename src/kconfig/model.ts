/**
 * The typed Kconfig model: symbols, properties, menu nodes and expressions.
 *
 * The shapes follow the documented semantics of Linux 6.1's kconfig (see the project docs):
 * tristate values are 0 (n), 1 (m), 2 (y); every unquoted word in an expression is a symbol
 * (numbers included); a choice is a symbol with the CHOICE flag whose members are listed on
 * its `choice` property.
 */

export type Tristate = 0 | 1 | 2;
export const NO: Tristate = 0;
export const MOD: Tristate = 1;
export const YES: Tristate = 2;

export type SymbolType = 'unknown' | 'bool' | 'tristate' | 'int' | 'hex' | 'string';

/** Symbol flags; the evaluator is a flag-driven state machine, as in the C tool. */
export const F = {
  CONST: 0x0001,
  CHECK: 0x0008,
  CHOICE: 0x0010,
  CHOICEVAL: 0x0020,
  VALID: 0x0080,
  OPTIONAL: 0x0100,
  WRITE: 0x0200,
  CHANGED: 0x0400,
  WRITTEN: 0x0800,
  NO_WRITE: 0x1000,
  CHECKED: 0x2000,
  WARNED: 0x8000,
  DEF_USER: 0x10000,
  NEED_SET_CHOICE_VALUES: 0x100000,
} as const;

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expr =
  | { readonly kind: 'symbol'; readonly sym: KSymbol }
  | { readonly kind: 'not'; readonly operand: Expr }
  | { readonly kind: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: KSymbol; readonly right: KSymbol };

export type PropertyType =
  | 'symbol' // the definition itself (one per menu location)
  | 'prompt'
  | 'menu' // prompt of a menu or menuconfig
  | 'comment'
  | 'default'
  | 'select'
  | 'imply'
  | 'range'
  | 'choice'; // on a choice: its member list; on a member: points at the choice

export interface Property {
  readonly type: PropertyType;
  /** prompt text for prompt/menu/comment */
  text: string | undefined;
  /** default value, or the select/imply target (as a symbol expression) */
  expr: Expr | null;
  /** range bounds */
  range: readonly [KSymbol, KSymbol] | undefined;
  /** the condition: `if` part ANDed with the entry's dependencies after finalization */
  visibleExpr: Expr | null;
  visibleTri: Tristate;
  readonly menu: MenuNode;
  readonly file: string;
  readonly line: number;
}

export type MenuKind = 'root' | 'config' | 'menuconfig' | 'choice' | 'menu' | 'if' | 'comment';

export interface MenuNode {
  readonly kind: MenuKind;
  parent: MenuNode | null;
  next: MenuNode | null;
  list: MenuNode | null;
  readonly sym: KSymbol | null;
  prompt: Property | null;
  /** dependencies: `depends on` of the entry, then parents' after finalization */
  dep: Expr | null;
  /** `visible if` of a menu */
  visibility: Expr | null;
  help: string | undefined;
  readonly file: string;
  readonly line: number;
}

export interface ExprValue {
  expr: Expr | null;
  tri: Tristate;
}

export class KSymbol {
  readonly name: string | null;
  type: SymbolType = 'unknown';
  flags: number;
  readonly props: Property[] = [];
  /** current value: string form for non-choices */
  currVal: string | null = null;
  /** current value: for a choice in y mode, the selected member */
  currChoice: KSymbol | null = null;
  currTri: Tristate = 0;
  /** the user value (.config or a mode), valid when DEF_USER is set */
  userTri: Tristate = 0;
  userVal: string | null = null;
  userChoice: KSymbol | null = null;
  visible: Tristate = 0;
  readonly dirDep: ExprValue = { expr: null, tri: 0 };
  readonly revDep: ExprValue = { expr: null, tri: 0 };
  readonly implied: ExprValue = { expr: null, tri: 0 };
  /** for a choice: its members in menu order */
  readonly choiceMembers: KSymbol[] = [];
  /** menu nodes defining this symbol, in parse order */
  readonly menus: MenuNode[] = [];
  /** creation order; together with the hash bucket it gives conf's symbol iteration order */
  readonly seq: number;

  constructor(name: string | null, flags: number, seq: number) {
    this.name = name;
    this.flags = flags;
    this.seq = seq;
  }

  get isChoice(): boolean {
    return (this.flags & F.CHOICE) !== 0;
  }
  get isChoiceValue(): boolean {
    return (this.flags & F.CHOICEVAL) !== 0;
  }
  get isConst(): boolean {
    return (this.flags & F.CONST) !== 0;
  }
  get hasUserValue(): boolean {
    return (this.flags & F.DEF_USER) !== 0;
  }
  /** the `choice` property (member list on a choice, owning choice on a member) */
  choiceProp(): Property | undefined {
    for (const p of this.props) if (p.type === 'choice') return p;
    return undefined;
  }
  /** For a choice member: the choice symbol. */
  owningChoice(): KSymbol | undefined {
    const p = this.choiceProp();
    if (!p || !p.expr || p.expr.kind !== 'symbol') return undefined;
    return p.expr.sym;
  }
}

export function triAnd(a: Tristate, b: Tristate): Tristate {
  return a < b ? a : b;
}
export function triOr(a: Tristate, b: Tristate): Tristate {
  return a > b ? a : b;
}
export function triNot(a: Tristate): Tristate {
  return (2 - a) as Tristate;
}
