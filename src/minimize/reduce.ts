import type { Rows } from './rows.js';

/**
 * What can be decided before the solver runs, and the smaller model it then gets.
 *
 * Bound propagation over the 0/1 rows: a variable whose other value would leave a row unable to
 * hold is fixed. With an upper bound on the optimum (the objective of a known solution), the
 * objective is one more row, Σ cost·x ≤ bound: a variable whose costly value alone would push
 * the cheapest completion past the bound is fixed to its cheap value. Every fixing holds in every
 * solution at least as good as the bound, so the optimum is kept. HiGHS then gets only the free
 * variables and the rows that can still fail.
 */

/** Each variable's bounds after propagation: lo = hi means fixed. */
export interface Bounds {
  lo: Uint8Array;
  hi: Uint8Array;
}

/** Bounds implied by the rows, and by `cutoff` on the objective when given; null when the rows cannot hold. */
export function propagate(rows: Rows, costs: ReadonlyMap<number, number>, cutoff?: number): Bounds | null {
  const p = new Propagator(rows, costs, cutoff);
  return p.run() ? { lo: p.lo, hi: p.hi } : null;
}

class Propagator {
  readonly lo: Uint8Array;
  readonly hi: Uint8Array;
  private readonly colStarts: Int32Array;
  private readonly colRows: Int32Array;
  private readonly queue: number[] = [];
  private readonly queued: Uint8Array;
  private readonly cost: Float64Array;
  /** variables with a cost, dearest first, and how far the cutoff scan has gone */
  private readonly byCost: Int32Array;
  private scanned = 0;
  private minCost = 0;

  constructor(
    private readonly rows: Rows,
    costs: ReadonlyMap<number, number>,
    private readonly cutoff: number | undefined,
  ) {
    const { n } = rows;
    this.lo = new Uint8Array(n);
    this.hi = new Uint8Array(n).fill(1);
    ({ colStarts: this.colStarts, colRows: this.colRows } = transpose(rows));
    this.queued = new Uint8Array(rows.lower.length).fill(1);
    for (let r = rows.lower.length - 1; r >= 0; r--) this.queue.push(r);
    this.cost = new Float64Array(n);
    for (const [v, c] of costs) {
      this.cost[v] = c;
      if (c < 0) this.minCost += c;
    }
    this.byCost = Int32Array.from([...costs.keys()].sort((a, b) => Math.abs(costs.get(b) as number) - Math.abs(costs.get(a) as number)));
  }

  /** false when a row cannot hold, or the cutoff cannot be met */
  run(): boolean {
    for (;;) {
      while (this.queue.length > 0) {
        const r = this.queue.pop() as number;
        this.queued[r] = 0;
        if (!this.row(r)) return false;
      }
      if (this.cutoff === undefined) return true;
      if (this.minCost > this.cutoff) return false;
      if (!this.cutoffFixings()) return true;
    }
  }

  private row(r: number): boolean {
    const { starts, vars, coefs } = this.rows;
    let mn = 0;
    let mx = 0;
    for (let k = starts[r] as number; k < (starts[r + 1] as number); k++) {
      const c = coefs[k] as number;
      const v = vars[k] as number;
      mn += c * (c > 0 ? (this.lo[v] as number) : (this.hi[v] as number));
      mx += c * (c > 0 ? (this.hi[v] as number) : (this.lo[v] as number));
    }
    const lower = this.rows.lower[r] as number;
    const upper = this.rows.upper[r] as number;
    if (mx < lower || mn > upper) return false;
    for (let k = starts[r] as number; k < (starts[r + 1] as number); k++) {
      const v = vars[k] as number;
      if (this.lo[v] === this.hi[v]) continue;
      const c = coefs[k] as number;
      // the value that keeps the row's largest (smallest) sum is forced when the other loses too much
      if (mx - Math.abs(c) < lower) this.fix(v, c > 0 ? 1 : 0);
      else if (mn + Math.abs(c) > upper) this.fix(v, c > 0 ? 0 : 1);
    }
    return true;
  }

  /** variables whose dear value alone passes the cutoff go to their cheap value; true if any did */
  private cutoffFixings(): boolean {
    const slack = (this.cutoff as number) - this.minCost;
    let fixed = false;
    for (; this.scanned < this.byCost.length; this.scanned++) {
      const v = this.byCost[this.scanned] as number;
      const c = this.cost[v] as number;
      if (Math.abs(c) <= slack) break;
      if (this.lo[v] === this.hi[v]) continue;
      this.fix(v, c > 0 ? 0 : 1);
      fixed = true;
    }
    return fixed;
  }

  private fix(v: number, value: 0 | 1): void {
    if (value === 1) this.lo[v] = 1;
    else this.hi[v] = 0;
    // the cheapest completion rises when a variable takes its dear value
    const c = this.cost[v] as number;
    this.minCost += c * value - Math.min(0, c);
    for (let k = this.colStarts[v] as number; k < (this.colStarts[v + 1] as number); k++) {
      const r = this.colRows[k] as number;
      if (this.queued[r]) continue;
      this.queued[r] = 1;
      this.queue.push(r);
    }
  }
}

function transpose(rows: Rows): { colStarts: Int32Array; colRows: Int32Array } {
  const colStarts = new Int32Array(rows.n + 1);
  for (const v of rows.vars) (colStarts[v + 1] as number)++;
  for (let v = 0; v < rows.n; v++) colStarts[v + 1] = (colStarts[v + 1] as number) + (colStarts[v] as number);
  const fill = colStarts.slice(0, rows.n);
  const colRows = new Int32Array(rows.vars.length);
  for (let r = 0; r + 1 < rows.starts.length; r++) {
    for (let k = rows.starts[r] as number; k < (rows.starts[r + 1] as number); k++) {
      const v = rows.vars[k] as number;
      colRows[(fill[v] as number)++] = r;
    }
  }
  return { colStarts, colRows };
}

/** The arrays HiGHS takes for a model (its ModelData shape): rows in compressed form, every column binary. */
export interface ModelArrays {
  numCols: number;
  numRows: number;
  colCost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  matrix: { format: 'csr'; numRows: number; numCols: number; starts: Int32Array; indices: Int32Array; values: Float64Array };
  integrality: Int32Array;
}

/** The model over the free variables: HiGHS's arrays, which variable each column is, and the fixed part of the objective. */
export interface Reduced {
  data: ModelArrays;
  /** column → variable */
  varOf: Int32Array;
  constant: number;
}

export function reducedModel(rows: Rows, bounds: Bounds, costs: ReadonlyMap<number, number>): Reduced {
  const { lo, hi } = bounds;
  const colOf = new Int32Array(rows.n).fill(-1);
  const varList: number[] = [];
  for (let v = 2; v < rows.n; v++) if (lo[v] !== hi[v]) colOf[v] = varList.push(v) - 1;
  const numCols = varList.length;
  const kept = keptRows(rows, bounds, colOf);
  const colCost = new Float64Array(numCols);
  let constant = 0;
  for (const [v, c] of costs) {
    if ((colOf[v] as number) >= 0) colCost[colOf[v] as number] = c;
    else constant += c * (lo[v] as number);
  }
  const data: ModelArrays = {
    numCols,
    numRows: kept.lower.length,
    colCost,
    colLower: new Float64Array(numCols),
    colUpper: new Float64Array(numCols).fill(1),
    rowLower: kept.lower,
    rowUpper: kept.upper,
    matrix: { format: 'csr', numRows: kept.lower.length, numCols, starts: kept.starts, indices: kept.indices, values: kept.values },
    integrality: new Int32Array(numCols).fill(1),
  };
  return { data, varOf: Int32Array.from(varList), constant };
}

/** the rows that can still fail, over the free columns, their bounds moved by the fixed part */
function keptRows(rows: Rows, { lo, hi }: Bounds, colOf: Int32Array): { starts: Int32Array; indices: Int32Array; values: Float64Array; lower: Float64Array; upper: Float64Array } {
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  for (let r = 0; r + 1 < rows.starts.length; r++) {
    let fixedPart = 0;
    let mn = 0;
    let mx = 0;
    const mark = indices.length;
    for (let k = rows.starts[r] as number; k < (rows.starts[r + 1] as number); k++) {
      const v = rows.vars[k] as number;
      const c = rows.coefs[k] as number;
      if (lo[v] === hi[v]) fixedPart += c * (lo[v] as number);
      else {
        indices.push(colOf[v] as number);
        values.push(c);
        if (c > 0) mx += c;
        else mn += c;
      }
    }
    const l = (rows.lower[r] as number) - fixedPart;
    const u = (rows.upper[r] as number) - fixedPart;
    if (mn >= l && mx <= u) {
      indices.length = mark;
      values.length = mark;
      continue;
    }
    lower.push(l);
    upper.push(u);
    starts.push(indices.length);
  }
  return { starts: Int32Array.from(starts), indices: Int32Array.from(indices), values: Float64Array.from(values), lower: Float64Array.from(lower), upper: Float64Array.from(upper) };
}
