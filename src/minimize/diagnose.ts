import type { Kconfig } from '../kconfig/kconfig.js';
import type { KSymbol } from '../kconfig/model.js';
import { MinimizeError } from './minimize.js';
import type { KconfigModel } from './model.js';
import { positiveSymbols } from './reasons.js';
import type { Requirement } from './requirements.js';

/** Why requirements cannot be met, in words the user can act on: what blocks one, or what conflicts. */

/** A requirement that is constant false: say which of its options can never be on. */
export function impossible(kc: Kconfig, model: KconfigModel, req: Requirement, arch: string): MinimizeError {
  const what = req.kind === 'syscall' ? `syscall ${req.detail}${req.path?.length ? ` (reached by ${req.path.join(' → ')})` : ''}` : `${req.kind} ${req.detail}`;
  if (req.expression === 'n') return new MinimizeError('unsatisfiable', `${what} needs code this tree never builds for ${arch}`, { chain: [what] });
  const blockers: string[] = [];
  try {
    for (const s of positiveSymbols(kc.parseExpression(req.expression))) {
      if (s === kc.modulesSym) blockers.push('MODULES is always off: ukl-trim builds every option in, with no loadable modules');
      else if (model.fixed.get(s) === 0 || s.menus.length === 0) blockers.push(s.menus.length === 0 ? `${s.name} does not exist for ${arch}` : `${s.name} can never be on for ${arch} (depends on ${kc.exprToString(s.dirDep.expr) || 'nothing'})`);
    }
  } catch {
    // the expression parsed before; nothing more to say
  }
  return new MinimizeError('unsatisfiable', `${what} needs ${req.expression}, which cannot hold${blockers.length ? `: ${blockers.join('; ')}` : ''}`, { chain: [what, ...blockers] });
}

/**
 * Requirements that cannot hold together: shrink the set to a minimal conflicting subset
 * (deletion filter, one feasibility solve per requirement), then name the dependency chain
 * between its members.
 */
export function conflict(kc: Kconfig, reqs: readonly Requirement[], feasible: (subset: number[]) => boolean): MinimizeError {
  // the smallest infeasible prefix by source (user choices, then the mode, the profile, the
  // app's families and files, its syscalls): the core is searched there, which keeps the number
  // of solves small when, as usual, the user's own choices conflict
  const order = reqs.map((_, i) => i).sort((a, b) => rank(reqs[b] as Requirement) - rank(reqs[a] as Requirement));
  let core = order;
  for (const level of [3, 2, 1, 0, -1]) {
    const prefix = order.filter((i) => rank(reqs[i] as Requirement) > level);
    if (prefix.length && prefix.length < order.length && !feasible(prefix)) {
      core = prefix;
      break;
    }
  }
  for (const i of [...core]) {
    const without = core.filter((j) => j !== i);
    if (!feasible(without)) core = without;
  }
  const items = core.map((i) => reqs[i] as Requirement);
  const describe = (r: Requirement): string => (r.kind === 'syscall' ? `syscall ${r.detail} needs ${r.expression}` : r.kind === 'enable' || r.kind === 'disable' ? r.detail : `${r.kind} (${r.detail}) needs ${r.expression}`);
  const chain: string[] = items.map(describe);
  // for a positive and a negative requirement, the path from one to the other
  for (const pos of items) {
    for (const negReq of items) {
      const m = /^!(\w+)$/.exec(negReq.expression);
      if (!m || pos === negReq) continue;
      let e;
      try {
        e = kc.parseExpression(pos.expression);
      } catch {
        continue;
      }
      for (const s of positiveSymbols(e)) {
        const path = dependencyPath(s, m[1] as string);
        if (path) chain.push(path);
      }
    }
  }
  return new MinimizeError('conflict', `requirements that cannot hold together: ${items.map(describe).join('; ')}${chain.length > items.length ? ` — ${chain.slice(items.length).join('; ')}` : ''}`, { chain });
}

function rank(r: Requirement): number {
  return r.kind === 'disable' || r.kind === 'enable' ? 4 : r.kind === 'mode' ? 3 : r.kind === 'profile' ? 2 : r.kind === 'syscall' ? 0 : 1;
}

/** "A depends on B, which selects C" from `from` to `to`, breadth first over depends/select. */
export function dependencyPath(from: KSymbol, to: string): string | null {
  if (from.name === to) return null;
  const prev = new Map<KSymbol, { via: KSymbol; how: string }>();
  const queue: KSymbol[] = [from];
  const seen = new Set<KSymbol>([from]);
  for (let i = 0; i < queue.length && i < 20000; i++) {
    const s = queue[i] as KSymbol;
    const next: Array<{ t: KSymbol; how: string }> = [];
    for (const d of positiveSymbols(s.dirDep.expr)) next.push({ t: d, how: 'depends on' });
    for (const p of s.props) if (p.type === 'select' && p.expr?.kind === 'symbol') next.push({ t: p.expr.sym, how: 'selects' });
    for (const { t, how } of next) {
      if (seen.has(t)) continue;
      seen.add(t);
      prev.set(t, { via: s, how });
      if (t.name === to) {
        const steps: string[] = [];
        let cur: KSymbol = t;
        while (cur !== from) {
          const p = prev.get(cur) as { via: KSymbol; how: string };
          steps.unshift(`${p.via.name} ${p.how} ${cur.name}`);
          cur = p.via;
        }
        return steps.join(', ');
      }
      queue.push(t);
    }
  }
  return null;
}
