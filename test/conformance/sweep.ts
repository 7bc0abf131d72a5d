/**
 * The wide conformance sweep (not part of CI: ~1 h on 2 cores): every architecture of the
 * tree × {allno, allyes, allmod, alldef, default defconfig, savedefconfig}, and with --all every
 * defconfig file under arch/<srcarch>/configs for each ARCH using that SRCARCH (defconfig +
 * savedefconfig). Prints one line per mismatch and a summary.
 *
 *   node --import tsx test/conformance/sweep.ts [--all] [ARCH...]    (or via `npm run sweep`)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { archDefconfig, loadKconfig } from '../../src/kconfig/load.js';
import { buildConf, firstDifference, requireTree, runConf } from '../../src/kconfig/oracle.js';

const args = process.argv.slice(2);
const all = args.includes('--all');
const tree = requireTree();
const conf = buildConf(tree);
const ALL_ARCHES = ['x86', 'i386', 'x86_64', 'alpha', 'arc', 'arm', 'arm64', 'csky', 'hexagon', 'ia64', 'loongarch', 'm68k', 'microblaze', 'mips', 'nios2', 'openrisc', 'parisc', 'parisc64', 'powerpc', 'riscv', 's390', 'sh', 'sparc', 'sparc64', 'um', 'xtensa'];
const arches = args.filter((a) => !a.startsWith('--'));
let ok = 0;
let bad = 0;
const t0 = performance.now();
function check(label: string, ours: string, theirs: string): void {
  const d = firstDifference(ours, theirs);
  if (d) {
    bad++;
    console.log(`MISMATCH ${label}: ${d}`);
  } else ok++;
}
function listConfigs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  try {
    walk(dir);
  } catch {
    // no configs folder
  }
  return out.sort();
}
for (const arch of arches.length ? arches : ALL_ARCHES) {
  let loaded;
  try {
    loaded = loadKconfig({ tree, arch });
  } catch (e) {
    bad++;
    console.log(`ERROR ${arch}: parse failed: ${(e as Error).message}`);
    continue;
  }
  const env = loaded.kbuild.env;
  const kc = loaded.kconfig;
  for (const mode of ['allnoconfig', 'allyesconfig', 'allmodconfig', 'alldefconfig'] as const) {
    check(`${arch} ${mode}`, kc.allconfig(mode), runConf(conf, env, `--${mode}`).config);
  }
  const defs: string[] = [];
  try {
    defs.push(join(tree, archDefconfig(loaded).name));
  } catch {
    // generated default (mips): covered by --all
  }
  if (all) for (const f of listConfigs(join(tree, 'arch', loaded.kbuild.srcarch, 'configs'))) if (!defs.includes(f)) defs.push(f);
  for (const f of defs) {
    const text = readFileSync(f, 'utf8');
    const theirs = runConf(conf, env, `--defconfig=${f}`);
    const ours = kc.defconfig(text);
    check(`${arch} defconfig ${f.slice(tree.length + 1)}`, ours, theirs.config);
    const min = runConf(conf, env, '--savedefconfig=min.config', theirs.config).files['min.config'] ?? '';
    check(`${arch} savedefconfig ${f.slice(tree.length + 1)}`, kc.savedefconfig(theirs.config), min);
  }
  console.log(`# ${arch}: cumulative ${ok} identical, ${bad} different (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
console.log(`${ok} passed, ${bad} failed`);
process.exitCode = bad ? 1 : 0;
