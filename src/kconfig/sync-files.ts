import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBytesAtomic, writeFileAtomic } from '../util/fs.js';
import type { AutoconfOutputs } from './confdata.js';

/**
 * What `conf --syncconfig` leaves in an object tree, so that make finds the configuration
 * synchronised and runs no conf of its own: the .config (the previous one kept as .config.old
 * when it changes), include/config/auto.conf.cmd, an empty include/config/NAME touched for every
 * option whose value differs from the previous auto.conf (fixdep makes each object depend on
 * the files of the options its sources test, so these decide what is recompiled), autoconf.h,
 * rustc_cfg and, last, auto.conf: conf's order, so that a run stopped half-way leaves auto.conf
 * older than .config and make synchronises again.
 */

export interface SyncconfigFiles extends AutoconfOutputs {
  config: string;
  autoConfCmd: string;
}

export interface SyncconfigWrite {
  /** the .config was rewritten (its text changed) */
  configChanged: boolean;
  /** options whose include/config/NAME was touched, sorted */
  touched: string[];
}

const AUTO_CONF = join('include', 'config', 'auto.conf');

export interface SyncconfigWriteOptions {
  /** the option prefix (conf's $CONFIG_) */
  prefix?: string;
  /** where the .config goes (default: OBJTREE/.config) */
  configPath?: string;
}

export function writeSyncconfigFiles(objtree: string, files: SyncconfigFiles, opts: SyncconfigWriteOptions = {}): SyncconfigWrite {
  const prefix = opts.prefix ?? 'CONFIG_';
  const configChanged = writeFileAtomic(opts.configPath ?? join(objtree, '.config'), files.config, { keepOld: true }) === 'written';
  const autoConf = join(objtree, AUTO_CONF);
  writeBytesAtomic(`${autoConf}.cmd`, files.autoConfCmd);
  const previous = existsSync(autoConf) ? readFileSync(autoConf, 'utf8') : '';
  const touched = changedOptions(previous, files.autoConf, prefix);
  const depDir = join(objtree, 'include', 'config');
  mkdirSync(depDir, { recursive: true });
  for (const name of touched) closeSync(openSync(join(depDir, name), 'w'));
  // always rewritten, as conf does: make compares their times with the .config's
  writeBytesAtomic(join(objtree, 'include', 'generated', 'autoconf.h'), files.autoconfH);
  writeBytesAtomic(join(objtree, 'include', 'generated', 'rustc_cfg'), files.rustcCfg);
  writeBytesAtomic(autoConf, files.autoConf);
  return { configChanged, touched };
}

/**
 * Options set in one auto.conf and not the other, or set to different values (auto.conf
 * leaves out options that are n, and writes every value as text conf reads back unchanged)
 */
export function changedOptions(before: string, after: string, prefix = 'CONFIG_'): string[] {
  const a = autoConfValues(before, prefix);
  const b = autoConfValues(after, prefix);
  const changed = new Set<string>();
  for (const [name, value] of a) if (b.get(name) !== value) changed.add(name);
  for (const [name, value] of b) if (a.get(name) !== value) changed.add(name);
  return [...changed].sort();
}

function autoConfValues(text: string, prefix: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const eq = line.indexOf('=');
    const name = line.slice(prefix.length, eq);
    // only names conf could have written: anything else is not a file name to create
    if (eq > prefix.length && /^\w+$/.test(name)) values.set(name, line.slice(eq + 1));
  }
  return values;
}
