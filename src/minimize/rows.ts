/**
 * The rows of a 0/1 model, Σ coef·x[var] between a lower and an upper bound, kept in
 * compressed-row typed arrays that grow as the model is encoded: the solver, propagation and the
 * disk cache take them as they are, with no object per row.
 */

export interface LinearConstraint {
  terms: Array<[number, number]>; // [coefficient, variable]
  op: '>=' | '<=' | '=';
  rhs: number;
  /** what the row encodes, for diagnostics */
  origin: string;
}

/** Rows over variables 2…n−1 in compressed form, each with its bounds (±Infinity for none). */
export interface Rows {
  n: number;
  starts: Int32Array;
  vars: Int32Array;
  coefs: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
}

/** The arrays a RowStore is made of (for the disk cache). */
export interface RowArrays {
  starts: Int32Array;
  vars: Int32Array;
  coefs: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  origins: Int32Array;
  originNames: string[];
}

export class RowStore {
  private starts: Int32Array = new Int32Array(1024);
  private vars: Int32Array = new Int32Array(4096);
  private coefs: Float64Array = new Float64Array(4096);
  private lower: Float64Array = new Float64Array(1024);
  private upper: Float64Array = new Float64Array(1024);
  private origins: Int32Array = new Int32Array(1024);
  private readonly originNames: string[] = [];
  private readonly originIndex = new Map<string, number>();
  private rowCount = 0;

  get count(): number {
    return this.rowCount;
  }

  push(terms: ReadonlyArray<readonly [number, number]>, op: LinearConstraint['op'], rhs: number, origin: string): void {
    const r = this.rowCount;
    const k = this.starts[r] as number;
    this.reserve(r + 2, k + terms.length);
    terms.forEach(([c, v], i) => {
      this.vars[k + i] = v;
      this.coefs[k + i] = c;
    });
    this.starts[r + 1] = k + terms.length;
    this.lower[r] = op === '<=' ? -Infinity : rhs;
    this.upper[r] = op === '>=' ? Infinity : rhs;
    this.origins[r] = this.originOf(origin);
    this.rowCount = r + 1;
  }

  /** drop the rows from `count` on */
  truncate(count: number): void {
    this.rowCount = Math.min(this.rowCount, count);
  }

  get(r: number): LinearConstraint {
    const terms: Array<[number, number]> = [];
    for (let k = this.starts[r] as number; k < (this.starts[r + 1] as number); k++) terms.push([this.coefs[k] as number, this.vars[k] as number]);
    const lo = this.lower[r] as number;
    const hi = this.upper[r] as number;
    const op = lo === -Infinity ? '<=' : hi === Infinity ? '>=' : '=';
    return { terms, op, rhs: op === '<=' ? hi : lo, origin: this.originNames[this.origins[r] as number] as string };
  }

  /** these rows and `extra` after them, over `n` variables (a copy) */
  withRows(n: number, extra: readonly LinearConstraint[] = []): Rows {
    const m = this.rowCount;
    const nnz = this.starts[m] as number;
    let extraNnz = 0;
    for (const r of extra) extraNnz += r.terms.length;
    const out: Rows = { n, starts: new Int32Array(m + extra.length + 1), vars: new Int32Array(nnz + extraNnz), coefs: new Float64Array(nnz + extraNnz), lower: new Float64Array(m + extra.length), upper: new Float64Array(m + extra.length) };
    out.starts.set(this.starts.subarray(0, m + 1));
    out.vars.set(this.vars.subarray(0, nnz));
    out.coefs.set(this.coefs.subarray(0, nnz));
    out.lower.set(this.lower.subarray(0, m));
    out.upper.set(this.upper.subarray(0, m));
    let k = nnz;
    extra.forEach((r, i) => {
      for (const [c, v] of r.terms) {
        out.vars[k] = v;
        out.coefs[k++] = c;
      }
      out.starts[m + i + 1] = k;
      out.lower[m + i] = r.op === '<=' ? -Infinity : r.rhs;
      out.upper[m + i] = r.op === '>=' ? Infinity : r.rhs;
    });
    return out;
  }

  /** the rows (then `extra`) a 0/1 vector indexed by variable breaks */
  violated(a: ArrayLike<number>, extra: readonly LinearConstraint[] = []): LinearConstraint[] {
    const out: LinearConstraint[] = [];
    for (let r = 0; r < this.rowCount; r++) {
      let sum = 0;
      for (let k = this.starts[r] as number; k < (this.starts[r + 1] as number); k++) sum += (this.coefs[k] as number) * (a[this.vars[k] as number] as number);
      if (sum < (this.lower[r] as number) || sum > (this.upper[r] as number)) out.push(this.get(r));
    }
    for (const c of extra) {
      let sum = 0;
      for (const [co, v] of c.terms) sum += co * (a[v] as number);
      if (c.op === '>=' ? sum < c.rhs : c.op === '<=' ? sum > c.rhs : sum !== c.rhs) out.push(c);
    }
    return out;
  }

  arrays(): RowArrays {
    const m = this.rowCount;
    const nnz = this.starts[m] as number;
    return {
      starts: this.starts.slice(0, m + 1),
      vars: this.vars.slice(0, nnz),
      coefs: this.coefs.slice(0, nnz),
      lower: this.lower.slice(0, m),
      upper: this.upper.slice(0, m),
      origins: this.origins.slice(0, m),
      originNames: [...this.originNames],
    };
  }

  static fromArrays(a: RowArrays): RowStore {
    const s = new RowStore();
    s.starts = a.starts;
    s.vars = a.vars;
    s.coefs = a.coefs;
    s.lower = a.lower;
    s.upper = a.upper;
    s.origins = a.origins;
    a.originNames.forEach((o) => s.originOf(o));
    s.rowCount = a.lower.length;
    return s;
  }

  private originOf(origin: string): number {
    let o = this.originIndex.get(origin);
    if (o === undefined) {
      o = this.originNames.push(origin) - 1;
      this.originIndex.set(origin, o);
    }
    return o;
  }

  /** room for `rows` row starts and `nnz` terms (arrays adopted from a file are grown by copying) */
  private reserve(rows: number, nnz: number): void {
    if (rows > this.starts.length) {
      const cap = Math.max(rows, this.starts.length * 2);
      this.starts = grow(this.starts, cap);
      this.lower = grow(this.lower, cap);
      this.upper = grow(this.upper, cap);
      this.origins = grow(this.origins, cap);
    }
    if (nnz > this.vars.length) {
      const cap = Math.max(nnz, this.vars.length * 2);
      this.vars = grow(this.vars, cap);
      this.coefs = grow(this.coefs, cap);
    }
  }
}

function grow<T extends Int32Array | Float64Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
