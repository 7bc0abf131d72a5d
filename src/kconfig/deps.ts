import { KconfigError } from './errors.js';
import type { Expr, KSymbol } from './model.js';
import type { SymbolTable } from './symtab.js';

/**
 * Dependency loops are fatal in 6.1 (sym_check_deps). A symbol depends on what its
 * dependencies, reverse dependencies, implies, property conditions and (for non-choices)
 * defaults mention; a choice and its members form one node. Iterative Tarjan, so deep
 * chains cannot overflow the stack.
 */
export function checkDependencyLoops(syms: SymbolTable): void {
  const all = syms.all();
  const nodeOf = new Map<KSymbol, number>();
  const reps: KSymbol[] = [];
  const groupOf = (s: KSymbol): KSymbol => (s.isChoiceValue ? (s.owningChoice() ?? s) : s);
  for (const s of all) {
    const g = groupOf(s);
    let id = nodeOf.get(g);
    if (id === undefined) {
      id = reps.length;
      reps.push(g);
      nodeOf.set(g, id);
    }
    nodeOf.set(s, id);
  }
  const edges: number[][] = reps.map(() => []);
  const selfLoop: boolean[] = reps.map(() => false);
  // stamp[node] === current source marks a target already added for this symbol
  const stamp = new Int32Array(reps.length).fill(-1);
  let cur = 0;
  let from = 0;
  let self: KSymbol | null = null;
  const visitSym = (t: KSymbol): void => {
    const to = nodeOf.get(t);
    if (to === undefined) return;
    if (to === from) {
      // members referring to their own choice are not loops
      if (t === self && !t.isChoice && !t.isChoiceValue) selfLoop[from] = true;
      return;
    }
    if (stamp[to] === cur) return;
    stamp[to] = cur;
    (edges[from] as number[]).push(to);
  };
  const stack: Expr[] = [];
  const visit = (e: Expr | null): void => {
    if (!e) return;
    stack.push(e);
    while (stack.length) {
      const x = stack.pop() as Expr;
      switch (x.kind) {
        case 'symbol':
          visitSym(x.sym);
          break;
        case 'compare':
          visitSym(x.left);
          visitSym(x.right);
          break;
        case 'not':
          stack.push(x.operand);
          break;
        default:
          stack.push(x.right, x.left);
      }
    }
  };
  for (const s of all) {
    from = nodeOf.get(s) as number;
    self = s;
    cur++;
    visit(s.dirDep.expr);
    visit(s.revDep.expr);
    visit(s.implied.expr);
    for (const p of s.props) {
      if (p.type === 'choice' || p.type === 'select' || p.type === 'imply') continue;
      visit(p.visibleExpr);
      if (p.type === 'default' && !s.isChoice) visit(p.expr);
    }
  }
  // iterative Tarjan
  const n = reps.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const tstack: number[] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: Array<[number, number]> = [[root, 0]];
    index[root] = low[root] = counter++;
    tstack.push(root);
    onStack[root] = 1;
    while (work.length) {
      const top = work[work.length - 1] as [number, number];
      const [v, i] = top;
      const out = edges[v] as number[];
      if (i < out.length) {
        top[1]++;
        const w = out[i] as number;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          tstack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v] as number, index[w] as number);
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = (work[work.length - 1] as [number, number])[0];
        low[parent] = Math.min(low[parent] as number, low[v] as number);
      }
      if (low[v] === index[v]) {
        const comp: number[] = [];
        for (;;) {
          const w = tstack.pop() as number;
          onStack[w] = 0;
          comp.push(w);
          if (w === v) break;
        }
        if (comp.length > 1 || selfLoop[v]) {
          const names = comp.map((c) => reps[c] as KSymbol).reverse();
          const first = names[0] as KSymbol;
          const at = first.menus[0] ?? first.choiceMembers[0]?.menus[0];
          const label = (s: KSymbol): string => s.name ?? '<choice>';
          throw new KconfigError(
            'dependency',
            `recursive dependency detected: ${[...names, first].map(label).join(' -> ')}`,
            at ? { file: at.file, line: at.line, column: 0 } : undefined,
          );
        }
      }
    }
  }
}

