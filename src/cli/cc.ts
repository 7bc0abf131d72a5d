import { spawnSync } from 'node:child_process';
import { buildUklArchive, uklCompilerFlags } from '../lto/ukl-archive.js';
import { UklError } from '../lto/ukl-error.js';
import { planCc } from '../lto/ukl-cc.js';
import { MUSL_UKL } from '../lto/musl-ukl.js';
import { reportError, type CliIO } from './common.js';

export const CC_USAGE = `usage: ukl-trim cc [gcc options] FILE...      (as CC: make CC='ukl-trim cc')
  compiles with UKL's flags (-mcmodel=kernel -mno-red-zone -fno-PIC, no PIE) against the UKL
  libc's headers; the final link (-o prog) writes prog as a UKL archive (UKL.a) for
  'ukl-trim prog --mode ukl'. The libc is musl-ukl (musl built by ukl-trim for UKL), or
  $UKL_TRIM_CC_LIBC (none for a libc-free app); the compiler is gcc, or $UKL_TRIM_CC.
  -shared, -fPIC/-fPIE/-pie and other flags that cannot make kernel-model code are refused.`;

export async function runCc(argv: string[], io: CliIO): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    io.out(CC_USAGE);
    return 0;
  }
  const cc = process.env.UKL_TRIM_CC ?? 'gcc';
  const libc = process.env.UKL_TRIM_CC_LIBC ?? MUSL_UKL;
  try {
    const plan = planCc(argv);
    if (plan.kind === 'query') return passThrough(cc, plan.args);
    if (plan.kind === 'compile') return passThrough(cc, [...(await uklCompilerFlags(cc, libc)), ...plan.args]);
    for (const warning of plan.warnings) io.info(`ukl-trim cc: ${warning}`);
    const built = await buildUklArchive({ sources: plan.sources, objects: plan.objects, extraArchives: plan.archives, cflags: plan.cflags, out: plan.out, libc, cc });
    for (const warning of built.warnings) io.info(`ukl-trim cc: warning: ${warning}`);
    return 0;
  } catch (e) {
    return reportError(e, io);
  }
}

/** the compiler with our output streams, as make expects of CC */
function passThrough(cc: string, args: string[]): number {
  const result = spawnSync(cc, args, { stdio: 'inherit' });
  if (result.error !== undefined) throw new UklError('tool-missing', `cc: cannot run ${cc}: ${result.error.message}`);
  return result.status ?? 1;
}
