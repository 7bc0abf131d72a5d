import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kconfig } from '../kconfig/kconfig.js';
import type { LoadedKconfig } from '../kconfig/load.js';
import { cacheHome } from '../util/cache-home.js';
import { readModelSnapshot, writeModelSnapshot } from './model-cache.js';
import { KconfigModel, type Checkpoint } from './model.js';
import { buildObjective, type Objective } from './objective.js';
import { deriveCodeWeights, type CodeWeights } from './weights.js';

/**
 * The part of the MILP no app changes: the tree's Kconfig model and the objective (code
 * weights). Encoded once per parsed tree, kept in memory for that parse (see MinimizeSession)
 * and on disk under the cache folder, keyed by what it is made from: the Kconfig files, the
 * environment and probes they were read with, the code weights, and the encoder's own code.
 */
export interface BaseModel {
  key: string;
  model: KconfigModel;
  objective: Objective;
  /** the model as encoded, before any run's requirements */
  checkpoint: Checkpoint;
  /** read from the disk cache (not encoded in this process) */
  fromDisk: boolean;
}

export function baseModel(loaded: LoadedKconfig, tree: string, arch: string): BaseModel {
  const kc = loaded.kconfig;
  const weights = deriveCodeWeights(tree, arch, kc);
  const key = baseKey(loaded, tree, arch, weights);
  const file = join(modelsDir(), `${key}.model`);
  const cached = readModelSnapshot(file, kc);
  if (cached) return { key, ...cached, checkpoint: cached.model.checkpoint(), fromDisk: true };
  const { model, objective } = encodeBase(kc, weights);
  try {
    dropStale(key);
    writeModelSnapshot(file, model, objective);
  } catch {
    // an unwritable cache (or a model the file format cannot hold) only costs time
  }
  return { key, model, objective, checkpoint: model.checkpoint(), fromDisk: false };
}

function encodeBase(kc: Kconfig, weights: CodeWeights): { model: KconfigModel; objective: Objective } {
  const model = new KconfigModel(kc, new Map());
  return { model, objective: buildObjective(kc, model, weights) };
}

/** `<tree and arch>-<contents>`: one prefix per tree, so a new model replaces the old one's files */
function baseKey(loaded: LoadedKconfig, tree: string, arch: string, weights: CodeWeights): string {
  const kc = loaded.kconfig;
  const prefix = createHash('sha256').update(`${resolve(tree)}\0${arch}`).digest('hex').slice(0, 12);
  const h = createHash('sha256');
  h.update(`ukl-trim base model\0${encoderHash()}\0${resolve(tree)}\0${arch}\0${loaded.probe.file ?? ''}\0`);
  for (const f of kc.files) {
    try {
      const st = statSync(resolve(tree, f));
      h.update(`${f}\0${st.size}\0${st.mtimeMs}\0`);
    } catch {
      h.update(`${f}\0missing\0`);
    }
  }
  for (const [k, v] of [...kc.envUsed].sort(([a], [b]) => a.localeCompare(b))) h.update(`${k}=${v}\0`);
  h.update(JSON.stringify(weights));
  return `${prefix}-${h.digest('hex').slice(0, 24)}`;
}

export function modelsDir(): string {
  return join(cacheHome(), 'models');
}

const MONTH_MS = 30 * 24 * 3600 * 1000;
/** the files of this tree's earlier models (its optima included), and any file unused for a month */
function dropStale(key: string): void {
  const prefix = `${key.split('-')[0]}-`;
  let names: string[] = [];
  try {
    names = readdirSync(modelsDir());
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(modelsDir(), name);
    try {
      if ((name.startsWith(prefix) && !name.startsWith(key)) || Date.now() - statSync(path).mtimeMs > MONTH_MS) rmSync(path, { force: true });
    } catch {
      // gone already
    }
  }
}

let encoder: string | undefined;
/** the code that encodes and stores models and what is stored beside them: a change to it makes them all stale */
function encoderHash(): string {
  if (encoder !== undefined) return encoder;
  const here = fileURLToPath(import.meta.url);
  const h = createHash('sha256');
  for (const name of ['base', 'model', 'rows', 'objective', 'model-cache', 'weights', 'reduce', 'solve', 'start', 'warm-starts', 'one-minimal']) h.update(readFileSync(join(dirname(here), `${name}${extname(here)}`)));
  encoder = h.digest('hex').slice(0, 16);
  return encoder;
}
