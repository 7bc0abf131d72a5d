import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadKconfigAsync, type LoadedKconfig } from '../kconfig/load.js';
import { writeSyncconfigFiles } from '../kconfig/sync-files.js';

/**
 * The configuration step of a kernel build, done by ukl-trim's Kconfig engine instead of make:
 * `make olddefconfig bzImage` runs conf twice (olddefconfig, then syncconfig for the build),
 * each time parsing every Kconfig file and running its ~90 compiler probes, 9–10 s of a build
 * on 2 cores. The engine writes what syncconfig would (byte-identical, conformance-tested), so
 * make finds the configuration synchronised and goes straight to compiling.
 *
 * make still runs conf itself whenever what the engine wrote does not hold for it: a Kconfig
 * file newer than auto.conf, or a variable the Kconfig files read (CC, LD, srctree, …) that
 * has another value in make's run (auto.conf.cmd checks them). `UKL_TRIM_SYNCCONFIG=conf`
 * leaves the step to make's conf.
 */

export interface ConfigSyncResult {
  /** the engine wrote the files: make needs no olddefconfig */
  synced: boolean;
  /** what happened, for the build log */
  line: string;
}

export async function synchroniseConfig(p: { tree: string; arch: string; outDir: string; config: string; kconfig?: LoadedKconfig }): Promise<ConfigSyncResult> {
  const byConf = (why: string): ConfigSyncResult => {
    writeFileSync(join(p.outDir, '.config'), p.config);
    return { synced: false, line: `ukl-trim: make's conf synchronises the configuration (${why})` };
  };
  if (process.env.UKL_TRIM_SYNCCONFIG === 'conf') return byConf('UKL_TRIM_SYNCCONFIG=conf');
  // make's srctree is the tree's real path; another spelling would make auto.conf.cmd force conf
  const srctree = realpathSync(p.tree);
  let loaded = p.kconfig;
  if (loaded === undefined || loaded.kbuild.vars.srctree !== srctree || loaded.kbuild.arch !== p.arch) {
    try {
      loaded = await loadKconfigAsync({ tree: srctree, arch: p.arch, stdout: () => undefined });
    } catch (e) {
      return byConf(`the engine could not load the tree's Kconfig: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // what `make olddefconfig` and then the build's syncconfig would leave
  const complete = loaded.kconfig.olddefconfig(p.config);
  const written = writeSyncconfigFiles(p.outDir, loaded.kconfig.syncconfig(complete), { prefix: loaded.kconfig.prefix });
  return { synced: true, line: `ukl-trim: configuration synchronised by the Kconfig engine (${written.touched.length} options changed)` };
}
