import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { KSymbol } from '../kconfig/model.js';
import { writeBytesAtomic } from '../util/fs.js';
import { KconfigModel, type ModelState } from './model.js';
import type { Objective } from './objective.js';
import { RowStore } from './rows.js';

/**
 * An encoded model with its objective as one binary file: a JSON header, then typed arrays as
 * they sit in memory (8-byte aligned), symbols by their parse order (`seq`), checked against the
 * tree's symbols on the way back in. Reading it takes a fraction of encoding the tree again.
 */

const MAGIC = 'UKLMDL01';
const SectionSchema = z.object({ name: z.string(), kind: z.enum(['i32', 'f64']), offset: z.number().int(), length: z.number().int() });
const HeaderSchema = z.object({
  nextVar: z.number().int(),
  originNames: z.array(z.string()),
  /** the symbols named in the file, by seq and name: a file of another parse is refused */
  symbolsHash: z.string(),
  sections: z.array(SectionSchema),
});

type Arrays = Record<string, Int32Array | Float64Array>;

export function writeModelSnapshot(file: string, model: KconfigModel, objective: Objective): void {
  const st = model.state();
  const rows = st.rows.arrays();
  const gateLits = st.gates.flatMap(([, ls]) => ls);
  const gateStarts = new Int32Array(st.gates.length + 1);
  st.gates.forEach(([, ls], i) => (gateStarts[i + 1] = (gateStarts[i] as number) + ls.length));
  const arrays: Arrays = {
    rowStarts: rows.starts,
    rowVars: rows.vars,
    rowCoefs: rows.coefs,
    rowLower: rows.lower,
    rowUpper: rows.upper,
    rowOrigins: rows.origins,
    symLits: pairs(st.symLits),
    gateVars: Int32Array.from(st.gates.map(([y]) => y)),
    gateStarts,
    gateLits: Int32Array.from(gateLits),
    selections: pairs(st.selections),
    fixed: pairs(st.fixed),
    objVars: Int32Array.from(objective.costs.keys()),
    objCosts: Float64Array.from(objective.costs.values()),
    groupLits: Int32Array.from(objective.groupLits.map(([l]) => l)),
    groupBytes: Float64Array.from(objective.groupLits.map(([, b]) => b)),
  };
  const symbolsHash = hashSymbols([...st.symLits, ...st.selections, ...st.fixed].map(([s]) => s));
  writeBytesAtomic(file, pack({ nextVar: st.nextVar, originNames: rows.originNames, symbolsHash }, arrays));
}

/** The model and objective stored in `file` for this Kconfig, or null when missing or of another parse. */
export function readModelSnapshot(file: string, kc: Kconfig): { model: KconfigModel; objective: Objective } | null {
  const unpacked = unpack(file);
  if (!unpacked) return null;
  try {
    return restore(kc, unpacked.header, unpacked.a);
  } catch {
    return null; // a section missing: a file of another version
  }
}

function restore(kc: Kconfig, header: z.infer<typeof HeaderSchema>, a: Partial<Arrays>): { model: KconfigModel; objective: Objective } | null {
  const bySeq = new Map<number, KSymbol>(kc.syms.all().map((s) => [s.seq, s]));
  const symLits = symbolPairs(a.symLits, bySeq);
  const selections = symbolPairs(a.selections, bySeq);
  const fixed = symbolPairs(a.fixed, bySeq) as Array<[KSymbol, 0 | 1]> | null;
  if (!symLits || !selections || !fixed) return null;
  if (hashSymbols([...symLits, ...selections, ...fixed].map(([s]) => s)) !== header.symbolsHash) return null;
  const rows = RowStore.fromArrays({ starts: i32(a.rowStarts), vars: i32(a.rowVars), coefs: f64(a.rowCoefs), lower: f64(a.rowLower), upper: f64(a.rowUpper), origins: i32(a.rowOrigins), originNames: header.originNames });
  const gateStarts = i32(a.gateStarts);
  const gateLits = i32(a.gateLits);
  const gates = Array.from(i32(a.gateVars), (y, i): [number, number[]] => [y, Array.from(gateLits.subarray(gateStarts[i], gateStarts[i + 1]))]);
  const state: ModelState = { nextVar: header.nextVar, rows, symLits, gates, selections, fixed };
  const costs = f64(a.objCosts);
  const bytes = f64(a.groupBytes);
  const objective: Objective = {
    costs: new Map(Array.from(i32(a.objVars), (v, i) => [v, costs[i] as number])),
    groupLits: Array.from(i32(a.groupLits), (l, i) => [l, bytes[i] as number]),
  };
  return { model: new KconfigModel(kc, new Map(), state), objective };
}

function pairs(list: ReadonlyArray<readonly [KSymbol, number]>): Int32Array {
  return Int32Array.from(list.flatMap(([s, v]) => [s.seq, v]));
}

function symbolPairs(a: Int32Array | Float64Array | undefined, bySeq: ReadonlyMap<number, KSymbol>): Array<[KSymbol, number]> | null {
  if (!(a instanceof Int32Array)) return null;
  const out: Array<[KSymbol, number]> = [];
  for (let i = 0; i < a.length; i += 2) {
    const s = bySeq.get(a[i] as number);
    if (s === undefined) return null;
    out.push([s, a[i + 1] as number]);
  }
  return out;
}

function hashSymbols(symbols: readonly KSymbol[]): string {
  const h = createHash('sha256');
  for (const s of symbols) h.update(`${s.seq}:${s.name ?? ''}\n`);
  return h.digest('hex').slice(0, 24);
}

/** MAGIC, the header's length (u32 LE), the header, then each array at an 8-byte boundary */
function pack(meta: Omit<z.infer<typeof HeaderSchema>, 'sections'>, arrays: Arrays): Uint8Array {
  const sections: Array<z.infer<typeof SectionSchema>> = [];
  let offset = 0;
  for (const [name, arr] of Object.entries(arrays)) {
    sections.push({ name, kind: arr instanceof Float64Array ? 'f64' : 'i32', offset, length: arr.length });
    offset += align(arr.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ ...meta, sections }));
  const start = align(MAGIC.length + 4 + header.length);
  const out = Buffer.alloc(start + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  sections.forEach((s) => {
    const arr = arrays[s.name] as Int32Array | Float64Array;
    out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), start + s.offset);
  });
  return out;
}

function unpack(file: string): { header: z.infer<typeof HeaderSchema>; a: Partial<Arrays> } | null {
  try {
    const buf = readFileSync(file);
    if (buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
    const headerLength = buf.readUInt32LE(MAGIC.length);
    const header = HeaderSchema.parse(JSON.parse(buf.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLength)));
    const start = align(MAGIC.length + 4 + headerLength);
    // typed arrays straight on the file's bytes when they sit 8-byte aligned (a large file's own
    // buffer does), else on a copy of the array part
    const aligned = (buf.byteOffset + start) % 8 === 0;
    const body = aligned ? buf.buffer : buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length);
    const base = aligned ? buf.byteOffset + start : 0;
    const a: Partial<Arrays> = {};
    for (const s of header.sections) a[s.name] = s.kind === 'f64' ? new Float64Array(body, base + s.offset, s.length) : new Int32Array(body, base + s.offset, s.length);
    return { header, a };
  } catch {
    return null;
  }
}

function align(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function i32(a: Int32Array | Float64Array | undefined): Int32Array {
  if (!(a instanceof Int32Array)) throw new Error('model snapshot: an int32 section is missing');
  return a;
}

function f64(a: Int32Array | Float64Array | undefined): Float64Array {
  if (!(a instanceof Float64Array)) throw new Error('model snapshot: a float64 section is missing');
  return a;
}

