#!/usr/bin/env node
// Same interface as oracle-mini.sh, but runs ukl-trim's engine (from dist/: build first with
// `npx tsc -p tsconfig.build.json`). Handy for `diff <(oracle-mini.sh …) <(ours-mini.mjs …)`.
//   node test/tools/ours-mini.mjs CASE_DIR MODE [INPUT]
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Kconfig } from '../../dist/kconfig/kconfig.js';
import { ExecShellProvider } from '../../dist/kconfig/shell.js';
import { formatDiagnostic } from '../../dist/kconfig/errors.js';

const [caseDirArg, mode, inputArg] = process.argv.slice(2);
if (!caseDirArg || !mode) {
  process.stderr.write('usage: ours-mini.mjs CASE_DIR MODE [INPUT]\n');
  process.exit(2);
}
const dir = resolve(caseDirArg);
const env = { PATH: process.env.PATH ?? '', srctree: dir };
const envFile = join(dir, 'oracle.env');
if (existsSync(envFile)) {
  for (const l of readFileSync(envFile, 'utf8').split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) env[l.slice(0, i)] = l.slice(i + 1);
  }
}
const input = inputArg ? readFileSync(isAbsolute(inputArg) ? inputArg : join(dir, inputArg), 'utf8') : null;
let kc;
try {
  kc = Kconfig.parse({ srctree: dir, env, shell: new ExecShellProvider({ cwd: dir, env }), stdout: (l) => process.stderr.write(`${l}\n`) });
  let out = '';
  switch (mode) {
    case 'allnoconfig':
    case 'allyesconfig':
    case 'allmodconfig':
    case 'alldefconfig':
      out = kc.allconfig(mode, input);
      break;
    case 'parse':
      kc.allconfig('alldefconfig');
      break;
    case 'olddefconfig':
      out = kc.olddefconfig(input);
      break;
    case 'savedefconfig':
      out = kc.savedefconfig(input);
      break;
    case 'defconfig':
      out = kc.defconfig(input ?? '');
      break;
    case 'syncconfig': {
      const r = kc.syncconfig(input);
      out = `==> .config <==\n${r.config}==> auto.conf <==\n${r.autoConf}==> autoconf.h <==\n${r.autoconfH}==> rustc_cfg <==\n${r.rustcCfg}`;
      break;
    }
    default:
      process.stderr.write(`unknown mode ${mode}\n`);
      process.exit(2);
  }
  for (const d of kc.diagnostics.items) process.stderr.write(`${formatDiagnostic(d)}\n`);
  process.stdout.write(out);
} catch (e) {
  if (e && e.name === 'KconfigError') {
    process.stderr.write(`${e.kind}: ${e.format()}\n`);
    process.exit(1);
  }
  throw e;
}
