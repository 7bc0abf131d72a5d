import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/fs.js';
import { modelsDir } from './base.js';

/**
 * Earlier optima per base model: each the 0/1 values of the base model's variables, the
 * requirement expressions it was the optimum for, and its objective. A few are kept, newest
 * first, in memory and in a file beside the model's, so a re-trim in a fresh process starts
 * from the last answer for the same tree.
 */
export interface StoredOptimum {
  /** the requirement expressions, sorted and unique */
  requirements: string[];
  objective: number;
  /** values of variables 0 … values.length−1 */
  values: Uint8Array;
  /** the fragment (its sha256) the one-minimal pass found nothing to turn off in, under these requirements, and how many lines it tried */
  oneMinimal?: { fragment: string; flipsTried: number };
}

const KEEP = 8;
const FileSchema = z.object({
  version: z.literal(1),
  optima: z.array(
    z.object({
      requirements: z.array(z.string()),
      objective: z.number(),
      bits: z.string(),
      count: z.number().int(),
      oneMinimal: z.object({ fragment: z.string(), flipsTried: z.number().int() }).optional(),
    }),
  ),
});

export class WarmStarts {
  private readonly byBase = new Map<string, StoredOptimum[]>();

  /** `dir`: where the files go (default: the cache folder's models/, looked up at each use) */
  constructor(private readonly dir?: string) {}

  /** the optimum for these exact requirements, else the one that shares most of them; null when none */
  best(baseKey: string, requirements: readonly string[]): { optimum: StoredOptimum; same: boolean } | null {
    const wanted = new Set(requirements);
    let best: { optimum: StoredOptimum; score: number } | null = null;
    for (const o of this.list(baseKey)) {
      if (sameSet(o.requirements, wanted)) return { optimum: o, same: true };
      const shared = o.requirements.filter((r) => wanted.has(r)).length;
      const score = shared - (o.requirements.length - shared);
      if (!best || score > best.score) best = { optimum: o, score };
    }
    return best && { optimum: best.optimum, same: false };
  }

  remember(baseKey: string, optimum: StoredOptimum): void {
    const others = this.list(baseKey).filter((o) => !sameSet(o.requirements, new Set(optimum.requirements)));
    this.save(baseKey, [optimum, ...others].slice(0, KEEP));
  }

  /** the earlier optimum of exactly these requirements found `fragment` one-minimal */
  markOneMinimal(baseKey: string, requirements: readonly string[], oneMinimal: NonNullable<StoredOptimum['oneMinimal']>): void {
    const list = this.list(baseKey);
    const wanted = new Set(requirements);
    const o = list.find((x) => sameSet(x.requirements, wanted));
    if (o === undefined) return;
    o.oneMinimal = oneMinimal;
    this.save(baseKey, list);
  }

  private save(baseKey: string, kept: StoredOptimum[]): void {
    this.byBase.set(baseKey, kept);
    try {
      writeFileAtomic(this.file(baseKey), JSON.stringify({ version: 1, optima: kept.map(toJson) }));
    } catch {
      // an unwritable cache only costs the next run its warm start
    }
  }

  private list(baseKey: string): StoredOptimum[] {
    let list = this.byBase.get(baseKey);
    if (list === undefined) {
      list = this.read(baseKey);
      this.byBase.set(baseKey, list);
    }
    return list;
  }

  private read(baseKey: string): StoredOptimum[] {
    try {
      const data = FileSchema.parse(JSON.parse(readFileSync(this.file(baseKey), 'utf8')));
      return data.optima.map((o) => ({ requirements: o.requirements, objective: o.objective, values: unpack(o.bits, o.count), ...(o.oneMinimal ? { oneMinimal: o.oneMinimal } : {}) }));
    } catch {
      return [];
    }
  }

  private file(baseKey: string): string {
    return join(this.dir ?? modelsDir(), `${baseKey}.optima.json`);
  }
}

/** sorted unique expressions: the key of a requirement set (kinds and witnesses do not change the MILP) */
export function requirementSet(expressions: readonly string[]): string[] {
  return [...new Set(expressions)].sort();
}

function sameSet(list: readonly string[], set: ReadonlySet<string>): boolean {
  return list.length === set.size && list.every((r) => set.has(r));
}

function toJson(o: StoredOptimum): z.infer<typeof FileSchema>['optima'][number] {
  return { requirements: o.requirements, objective: o.objective, bits: pack(o.values), count: o.values.length, ...(o.oneMinimal ? { oneMinimal: o.oneMinimal } : {}) };
}

function pack(values: Uint8Array): string {
  const bytes = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) bytes[i >> 3] = (bytes[i >> 3] as number) | (1 << (i & 7));
  });
  return Buffer.from(bytes).toString('base64');
}

function unpack(text: string, count: number): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = ((bytes[i >> 3] as number) >> (i & 7)) & 1;
  return out;
}
