import { existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { UklError } from './ukl-error.js';

/**
 * `ukl-trim cc`: a compiler driver for UKL, so that `make CC='ukl-trim cc'` builds an unmodified
 * project into a UKL app. A command line is read the way gcc reads it and turned into a plan:
 * compiling (`-c`, `-S`, `-E`, dependency-only runs) is gcc with UKL's flags and the UKL libc's
 * headers added; a final link (`-o prog` from sources, objects and archives) writes `prog` as the
 * UKL archive (UKL.a: crt files, the UKL libc, libgcc, `ld -r`, the `ukl_` prefix), which
 * `ukl-trim prog --mode ukl` minimises and builds into a kernel as it is.
 */

export type CcPlan =
  /** run the compiler with UKL's flags, then `args` */
  | { kind: 'compile'; args: string[] }
  /** the final link: UKL.a at `out` from these inputs */
  | { kind: 'link'; out: string; sources: string[]; objects: string[]; archives: string[]; cflags: string[]; warnings: string[] }
  /** a query of the compiler itself (--version, -print-file-name=…): run as it is */
  | { kind: 'query'; args: string[] };

/** flags that can never make UKL code: the app runs at kernel addresses, linked into vmlinux */
const REFUSED: ReadonlyArray<[RegExp, string]> = [
  [/^-shared$/, 'a UKL app is linked into the kernel, not into a shared library'],
  [/^-f(pic|PIC|pie|PIE)$/, 'UKL code is kernel-code-model code (-mcmodel=kernel), which cannot be position-independent'],
  [/^-(static-)?pie$/, 'UKL code is kernel-code-model code (-mcmodel=kernel), which cannot be position-independent'],
  [/^-mcmodel=(?!kernel$)/, 'UKL code must use -mcmodel=kernel'],
  [/^-mred-zone$/, 'kernel-mode code must not use a red zone'],
  [/^-m32$|^-mx32$/, 'UKL is x86-64 only'],
  [/^-flto/, 'UKL.a is built with ld -r, which does not run LTO'],
];

/** the libraries musl keeps inside libc.a: `-lm` and friends need no archive of their own */
const IN_LIBC = new Set(['c', 'm', 'pthread', 'rt', 'dl', 'crypt', 'util', 'xnet', 'resolv']);

/** options whose value is the next argument */
const WITH_VALUE = new Set(['-o', '-I', '-L', '-D', '-U', '-include', '-imacros', '-isystem', '-idirafter', '-iquote', '-MF', '-MT', '-MQ', '-x', '-Xlinker', '-Xassembler', '-Xpreprocessor', '-l', '-std', '-aux-info', '-T']);
/** link-step options that have no meaning for UKL.a (it is never a program of its own) */
const LINK_ONLY = /^(-static|-s|-rdynamic|-Wl,.*|-Xlinker|-T|-nostartfiles|-nodefaultlibs|-nostdlib|-pthread|-no-pie)$/;

export function planCc(argv: readonly string[], cwd = process.cwd()): CcPlan {
  if (argv.length === 0) throw new UklError('bad-input', 'cc: no input files');
  if (argv.some((a) => a === '--version' || a === '-v' || a === '-dumpversion' || a === '-dumpmachine' || a.startsWith('-print-'))) return { kind: 'query', args: [...argv] };
  for (const arg of argv) {
    for (const [pattern, why] of REFUSED) if (pattern.test(arg)) throw new UklError('bad-input', `cc: ${arg} is not supported: ${why}`);
  }
  const compileOnly = argv.some((a) => a === '-c' || a === '-S' || a === '-E' || a === '-M' || a === '-MM' || a === '-fsyntax-only');
  if (compileOnly) return { kind: 'compile', args: argv.filter((a) => a !== '-pthread') };
  return linkPlan(argv, cwd);
}

/** the final link: what goes into UKL.a, and the flags its sources are compiled with */
function linkPlan(argv: readonly string[], cwd: string): CcPlan {
  let out = 'a.out';
  const sources: string[] = [];
  const objects: string[] = [];
  const libraryNames: string[] = [];
  const searchDirs: string[] = [];
  const cflags: string[] = [];
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = (): string => {
      const value = argv[++i];
      if (value === undefined) throw new UklError('bad-input', `cc: ${arg} needs a value`);
      return value;
    };
    if (arg === '-o') out = next();
    else if (arg === '-l') libraryNames.push(next());
    else if (arg.startsWith('-l')) libraryNames.push(arg.slice(2));
    else if (arg === '-L') searchDirs.push(next());
    else if (arg.startsWith('-L')) searchDirs.push(arg.slice(2));
    else if (arg === '-Xlinker' || arg === '-T') ignored.push(`${arg} ${next()}`);
    else if (LINK_ONLY.test(arg)) ignored.push(arg);
    else if (WITH_VALUE.has(arg)) cflags.push(arg, next());
    else if (arg.startsWith('-')) cflags.push(arg);
    else if (/\.(c|S|s|i)$/.test(arg)) sources.push(resolve(cwd, arg));
    else if (/\.(o|lo|obj)$/.test(arg)) objects.push(resolve(cwd, arg));
    else if (extname(arg) === '.a') objects.push(resolve(cwd, arg));
    else throw new UklError('bad-input', `cc: ${arg}: not a C or assembler source, an object or an archive`);
  }
  if (sources.length + objects.length === 0) throw new UklError('bad-input', 'cc: no input files');
  const archives = objects.filter((o) => o.endsWith('.a'));
  for (const name of libraryNames) {
    if (IN_LIBC.has(name)) continue;
    const found = [...searchDirs.map((d) => resolve(cwd, d)), cwd].map((d) => join(d, `lib${name}.a`)).find((p) => existsSync(p));
    if (found === undefined) throw new UklError('bad-input', `cc: -l${name}: no lib${name}.a in ${searchDirs.length > 0 ? searchDirs.join(', ') : 'the -L folders'} (UKL links static archives only)`);
    archives.push(found);
  }
  const warnings = ignored.length > 0 ? [`ignored for UKL.a (it is linked into the kernel, not run as a program): ${ignored.join(' ')}`] : [];
  return { kind: 'link', out: resolve(cwd, out), sources, objects: objects.filter((o) => !o.endsWith('.a')), archives, cflags, warnings };
}
