import { F, KSymbol } from './model.js';

/** conf keeps symbols in a 9,973-bucket hash table; its iteration order is observable. */
export const SYMBOL_HASHSIZE = 9973;

/** FNV-1a over the name's bytes taken as (signed) C chars. */
export function strhash(name: string): number {
  let h = 2166136261;
  if (/^[\x00-\x7f]*$/.test(name)) {
    for (let i = 0; i < name.length; i++) h = Math.imul((h ^ name.charCodeAt(i)) >>> 0, 0x01000193) >>> 0;
    return h >>> 0;
  }
  const bytes = Buffer.from(name, 'utf8');
  for (const b of bytes) {
    const c = b >= 128 ? b - 256 : b;
    h = Math.imul((h ^ c) >>> 0, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class SymbolTable {
  private readonly buckets = new Map<number, KSymbol[]>();
  private readonly plain = new Map<string, KSymbol>();
  private readonly consts = new Map<string, KSymbol>();
  private readonly namedChoices = new Map<string, KSymbol>();
  private seq = 0;
  readonly yes: KSymbol;
  readonly mod: KSymbol;
  readonly no: KSymbol;
  /** `symbol_empty`: the value a string/int/hex starts from */
  readonly empty: KSymbol;
  private ordered: KSymbol[] | null = null;

  constructor() {
    const mk = (name: string, tri: 0 | 1 | 2): KSymbol => {
      const s = new KSymbol(name, F.CONST | F.VALID, -1);
      // y/m/n are tristate constants: comparisons with them are numeric (n < m < y)
      s.type = 'tristate';
      s.currVal = name;
      s.currTri = tri;
      return s;
    };
    this.yes = mk('y', 2);
    this.mod = mk('m', 1);
    this.no = mk('n', 0);
    this.empty = new KSymbol('', F.VALID, -1);
    this.empty.currVal = '';
  }

  private special(name: string): KSymbol | undefined {
    if (name.length === 1) {
      if (name === 'y') return this.yes;
      if (name === 'm') return this.mod;
      if (name === 'n') return this.no;
    }
    return undefined;
  }

  /** `sym_lookup`: find or create. flags 0 = a normal symbol, CONST = a quoted constant, CHOICE. */
  lookup(name: string | null, flags: number): KSymbol {
    if (name !== null) {
      const sp = this.special(name);
      if (sp) return sp;
      if (flags === 0) {
        const s = this.plain.get(name);
        if (s) return s;
      } else if (flags & F.CONST) {
        const s = this.consts.get(name);
        if (s) return s;
      } else if (flags & F.CHOICE) {
        const s = this.namedChoices.get(name);
        if (s) return s;
      }
    }
    const sym = new KSymbol(name, flags, this.seq++);
    const h = name === null ? 0 : strhash(name) % SYMBOL_HASHSIZE;
    let b = this.buckets.get(h);
    if (!b) this.buckets.set(h, (b = []));
    b.push(sym);
    if (name !== null) {
      if (flags === 0) this.plain.set(name, sym);
      else if (flags & F.CONST) this.consts.set(name, sym);
      else if (flags & F.CHOICE && !this.namedChoices.has(name)) this.namedChoices.set(name, sym);
    }
    this.ordered = null;
    return sym;
  }

  /** `sym_find`: a non-constant symbol by name (y/m/n map to the constants). */
  find(name: string): KSymbol | undefined {
    // conf's sym_find skips only constants: a named choice is found too
    return this.special(name) ?? this.plain.get(name) ?? this.namedChoices.get(name);
  }

  /** All symbols in conf's `for_all_symbols` order: bucket by bucket, newest first. */
  all(): readonly KSymbol[] {
    if (this.ordered) return this.ordered;
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    const out: KSymbol[] = [];
    for (const k of keys) {
      const b = this.buckets.get(k) as KSymbol[];
      for (let i = b.length - 1; i >= 0; i--) out.push(b[i] as KSymbol);
    }
    this.ordered = out;
    return out;
  }

  /** Named, non-constant symbols (defined or merely referenced). */
  named(): IterableIterator<KSymbol> {
    return this.plain.values();
  }
}
