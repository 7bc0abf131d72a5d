import type { Kconfig } from '../kconfig/kconfig.js';
import type { LoadedKconfig } from '../kconfig/load.js';
import type { SyscallMap } from '../kernel/syscalls.js';
import { baseModel, type BaseModel } from './base.js';
import { deriveMap } from './collect.js';
import { highs } from './solve.js';
import { WarmStarts } from './warm-starts.js';

/**
 * What runs on one tree share, kept between them: the base model and the syscall map of each
 * parsed tree (held as long as its Kconfig is), and the earlier optima the solver starts from.
 * minimizeConfig uses one per process unless it is given another; a long-lived caller (the
 * language server) passes the same `loaded` each time and so gets its re-trims from memory.
 */
export class MinimizeSession {
  private readonly bases = new WeakMap<Kconfig, BaseModel>();
  private readonly maps = new WeakMap<Kconfig, Promise<SyscallMap>>();
  private readonly busy = new WeakMap<Kconfig, Promise<unknown>>();
  readonly optima: WarmStarts;

  constructor(opts: { optima?: WarmStarts } = {}) {
    this.optima = opts.optima ?? new WarmStarts();
  }

  base(loaded: LoadedKconfig, tree: string, arch: string): BaseModel {
    let b = this.bases.get(loaded.kconfig);
    if (b === undefined) {
      b = baseModel(loaded, tree, arch);
      this.bases.set(loaded.kconfig, b);
    }
    return b;
  }

  /**
   * Everything a run on this tree can take from memory, made ready ahead of it (a language
   * server calls this once it has loaded the tree, so that the first re-trim is as quick as the
   * next): the base model, the syscall map, the solver's wasm.
   */
  async prepare(loaded: LoadedKconfig, tree: string, arch: string): Promise<void> {
    this.base(loaded, tree, arch);
    // a tree the map cannot be derived for fails in the run that needs the map, not here
    await Promise.all([this.syscallMap(tree, arch, loaded).catch(() => undefined), highs()]);
  }

  /** `work` once the runs already queued on this tree's engine are done, then the next in turn */
  exclusive<T>(kc: Kconfig, work: () => Promise<T>): Promise<T> {
    const before = this.busy.get(kc) ?? Promise.resolve();
    const mine = before.then(work, work);
    this.busy.set(kc, mine.catch(() => undefined));
    return mine;
  }

  syscallMap(tree: string, arch: string, loaded: LoadedKconfig): Promise<SyscallMap> {
    let m = this.maps.get(loaded.kconfig);
    if (m === undefined) {
      m = deriveMap(tree, arch, loaded);
      this.maps.set(loaded.kconfig, m);
      // a failed derivation is not kept: the next run tries again
      m.catch(() => this.maps.delete(loaded.kconfig));
    }
    return m;
  }
}

export const defaultSession = new MinimizeSession();
