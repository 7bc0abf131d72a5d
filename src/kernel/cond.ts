/**
 * Build conditions over Kconfig symbols, as derived from Kbuild Makefiles and C preprocessor
 * guards. `test` says what a symbol must be: 'y' (built in: `obj-$(CONFIG_X)`, `#ifdef CONFIG_X`),
 * 'set' (y or m: `IS_ENABLED`), 'm' (module: `IS_MODULE`). `unknown` keeps text we could not
 * interpret; it is reported and treated as true (sound: a syscall is never dropped for it).
 */
export type Cond =
  | { readonly k: 'true' }
  | { readonly k: 'false' }
  | { readonly k: 'sym'; readonly name: string; readonly test: 'y' | 'set' | 'm' }
  | { readonly k: 'cmp'; readonly op: string; readonly left: string; readonly right: string }
  | { readonly k: 'not'; readonly a: Cond }
  | { readonly k: 'and' | 'or'; readonly a: Cond; readonly b: Cond }
  | { readonly k: 'unknown'; readonly text: string };

export const TRUE: Cond = { k: 'true' };
export const FALSE: Cond = { k: 'false' };

export function sym(name: string, test: 'y' | 'set' | 'm' = 'y'): Cond {
  return { k: 'sym', name, test };
}

export function and(a: Cond, b: Cond): Cond {
  if (a.k === 'false' || b.k === 'false') return FALSE;
  if (a.k === 'true') return b;
  if (b.k === 'true') return a;
  if (same(a, b)) return a;
  return { k: 'and', a, b };
}

export function or(a: Cond, b: Cond): Cond {
  if (a.k === 'true' || b.k === 'true') return TRUE;
  if (a.k === 'false') return b;
  if (b.k === 'false') return a;
  if (same(a, b)) return a;
  // x || !x
  if ((a.k === 'not' && same(a.a, b)) || (b.k === 'not' && same(b.a, a))) return TRUE;
  return { k: 'or', a, b };
}

export function not(a: Cond): Cond {
  // what we could not interpret stays uninterpreted (and so counts as true): never drop a syscall
  if (a.k === 'unknown') return { k: 'unknown', text: `!(${a.text})` };
  if (a.k === 'true') return FALSE;
  if (a.k === 'false') return TRUE;
  if (a.k === 'not') return a.a;
  return { k: 'not', a };
}

export function same(a: Cond, b: Cond): boolean {
  if (a === b) return true;
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'true':
    case 'false':
      return true;
    case 'sym':
      return a.name === (b as typeof a).name && a.test === (b as typeof a).test;
    case 'cmp': {
      const c = b as typeof a;
      return a.op === c.op && a.left === c.left && a.right === c.right;
    }
    case 'not':
      return same(a.a, (b as typeof a).a);
    case 'and':
    case 'or':
      return same(a.a, (b as typeof a).a) && same(a.b, (b as typeof a).b);
    case 'unknown':
      return a.text === (b as typeof a).text;
  }
}

export function orAll(cs: readonly Cond[]): Cond {
  return cs.reduce<Cond>((acc, c) => or(acc, c), FALSE);
}

export function symbolsOf(c: Cond, out = new Set<string>()): Set<string> {
  switch (c.k) {
    case 'sym':
      out.add(c.name);
      break;
    case 'cmp':
      if (/^[A-Z0-9_]+$/.test(c.left) && !/^[0-9]/.test(c.left)) out.add(c.left);
      break;
    case 'not':
      symbolsOf(c.a, out);
      break;
    case 'and':
    case 'or':
      symbolsOf(c.a, out);
      symbolsOf(c.b, out);
      break;
    default:
      break;
  }
  return out;
}

export function unknownsOf(c: Cond, out: string[] = []): string[] {
  if (c.k === 'unknown') out.push(c.text);
  else if (c.k === 'not') unknownsOf(c.a, out);
  else if (c.k === 'and' || c.k === 'or') {
    unknownsOf(c.a, out);
    unknownsOf(c.b, out);
  }
  return out;
}

/**
 * Kconfig expression text. `typeOf` gives the symbol's Kconfig type (undefined: not a symbol of
 * this architecture, so never set). Unknown parts become `y` (sound), comparisons keep their form.
 */
export function toKconfig(c: Cond, typeOf: (name: string) => string | undefined): string {
  const prec = (x: Cond): number => (x.k === 'or' ? 1 : x.k === 'and' ? 2 : 3);
  const wrap = (x: Cond, min: number): string => (prec(x) < min ? `(${go(x)})` : go(x));
  const go = (x: Cond): string => {
    switch (x.k) {
      case 'true':
      case 'unknown':
        return 'y';
      case 'false':
        return 'n';
      case 'sym': {
        const t = typeOf(x.name);
        if (t === undefined) return x.test === 'm' ? 'n' : 'n';
        if (t === 'bool') return x.test === 'm' ? 'n' : x.name;
        if (t === 'tristate') return x.test === 'y' ? `${x.name} = y` : x.test === 'm' ? `${x.name} = m` : `${x.name} != n`;
        return `${x.name} != ""`;
      }
      case 'cmp':
        return `${x.left} ${x.op === '==' ? '=' : x.op} ${x.right}`;
      case 'not':
        return `!${wrap(x.a, 3)}`;
      case 'and':
        return `${wrap(x.a, 2)} && ${wrap(x.b, 2)}`;
      case 'or':
        return `${wrap(x.a, 1)} || ${wrap(x.b, 1)}`;
    }
  };
  return go(c);
}

type Atom = Extract<Cond, { k: 'sym' | 'cmp' | 'unknown' }>;

function atomKey(a: Atom): string {
  return a.k === 'sym' ? `s:${a.name}:${a.test}` : a.k === 'cmp' ? `c:${a.left}${a.op}${a.right}` : `u:${a.text}`;
}

/**
 * Replace a condition that is always true (or always false) whatever its atoms are, e.g. the
 * chain of CONFIG_CLONE_BACKWARDS* alternatives that together cover every case. Atoms are
 * treated as independent, so this only ever removes conditions that really are constant.
 */
export function simplify(c: Cond, maxAtoms = 10): Cond {
  const atoms = new Map<string, number>();
  const collect = (x: Cond): void => {
    if (x.k === 'sym' || x.k === 'cmp' || x.k === 'unknown') {
      const k = atomKey(x);
      if (!atoms.has(k)) atoms.set(k, atoms.size);
    } else if (x.k === 'not') collect(x.a);
    else if (x.k === 'and' || x.k === 'or') {
      collect(x.a);
      collect(x.b);
    }
  };
  collect(c);
  if (atoms.size === 0 || atoms.size > maxAtoms) return c;
  const evalWith = (x: Cond, bits: number): boolean => {
    switch (x.k) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'not':
        return !evalWith(x.a, bits);
      case 'and':
        return evalWith(x.a, bits) && evalWith(x.b, bits);
      case 'or':
        return evalWith(x.a, bits) || evalWith(x.b, bits);
      default:
        return ((bits >> (atoms.get(atomKey(x)) as number)) & 1) === 1;
    }
  };
  let allTrue = true;
  let allFalse = true;
  for (let bits = 0; bits < 1 << atoms.size && (allTrue || allFalse); bits++) {
    if (evalWith(c, bits)) allFalse = false;
    else allTrue = false;
  }
  if (allTrue) return TRUE;
  if (allFalse) return FALSE;
  return c;
}
