import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { isArchive, parseArchive } from './archive.js';
import type { ElfFile } from './elf.js';
import { parseElf, readElfFile, relocationTypeName, SHN_UNDEF } from './elf.js';
import { buildUklMusl, MUSL_UKL } from './musl-ukl.js';
import { UklError } from './ukl-error.js';
import { cacheHome } from '../util/cache-home.js';
import { runTool, type ToolResult } from '../util/tool.js';


/**
 * UKL mode: detect a UKL-capable kernel tree and build the app archive (`UKL.a`) the way UKL's
 * own build does (docs/ukl-and-peers.md §1.2, ukl `main`, `hello/Makefile.am`):
 *
 *   cc -mno-red-zone -mcmodel=kernel -fno-PIC [-no-pie -fno-PIE] -c app.c
 *   ld -r -allow-multiple-definition crt1.o crti.o crtbeginT.o app.o
 *      --start-group --whole-archive libm.a librt.a libpthread.a libc.a --no-whole-archive
 *      libgcc.a libgcc_eh.a --end-group crtend.o crtn.o
 *   ar cr UKL.a temp.o ; objcopy --prefix-symbols=ukl_ UKL.a ; objcopy --redefine-syms=LIST UKL.a
 *
 * The kernel then links UKL.a into vmlinux (KBUILD_VMLINUX_OBJS += CONFIG_UKL_ARCHIVE_PATH) and
 * starts the app at `ukl__start` when the exec'd path equals CONFIG_UKL_NAME.
 */

export { UklError, type UklErrorCode } from './ukl-error.js';

// ---------------------------------------------------------------------------------------------
// Symbol names the kernel side provides

/**
 * The redefinition list: names that `--prefix-symbols=ukl_` renamed but that must keep their
 * real name because the kernel or its linker script defines them. Taken as data from UKL's
 * `redef_sym_names` (ukl main 8b048c81, 44 entries; §1.2 gives examples), grouped by reason.
 */
const LINKER_SCRIPT_SYMBOLS = [
  // sections UKL's vmlinux.lds.S adds for the app (RFC patch 01: init/fini arrays, TLS, .rela.plt)
  '__fini_array_end', '__fini_array_start', '__init_array_end', '__init_array_start',
  '__preinit_array_end', '__preinit_array_start', '__tls_bss_end', '__tls_bss_start',
  '__tls_data_start', '__rela_iplt_end', '__rela_iplt_start',
];
const DLFCN_STUB_SYMBOLS = [
  // stubbed by UKL's undefined_sys_hack.c: static glibc references them, nothing can dlopen in UKL
  '__dladdr', '__dladdr1', '__dlclose', '__dlerror', '__dlinfo', '__dlmopen', '__dlopen', '__dlsym', '__dlvsym',
];
const KERNEL_FUNCTION_SYMBOLS = [
  // kernel functions and data of UKL's fork that its example apps call directly (shortcuts, upcalls)
  'k_t_arr', 'shortcut_tcp_recvmsg', 'shortcut_tcp_sendmsg', 'shortcut_tcp_sendmsg2', 'shortcut_tcp_write',
  'ktime_get', 'redis_event_log', 'kernel_write', 'redis_wake_count', 'redis_wake_time', 'do_event_ctl',
  'release_ukl_event', 'register_ukl_handler_task', 'workitem_queue_consume_event', 'ukl_worker_sleep',
  'init_upcall_handler', 'check_sched', 'ukl_tsc_log', 'init_event_handler', 'event_work_done',
  'register_subscription', 'remove_subscription', 'ukl_subs', 'dump_stack',
];

export const UKL_PREFIX = 'ukl_';

/**
 * What GCC may call in freestanding code without being asked (its manual: memcpy, memmove,
 * memset, memcmp; -O2's loop idioms add strlen). A libc-free app that leaves them undefined
 * gets the kernel's own, which every x86 kernel builds.
 */
const FREESTANDING_NAMES = ['memcpy', 'memmove', 'memset', 'memcmp', 'strlen'];

/** which of `names` a relocatable object leaves undefined */
function undefinedIn(object: string, names: readonly string[]): string[] {
  const undefinedNames = new Set(readObject(object).symbols().filter((s) => s.index > 0 && s.sectionIndex === SHN_UNDEF).map((s) => s.name));
  return names.filter((n) => undefinedNames.has(n));
}

/** prefixed name → kept name, as objcopy --redefine-syms reads it */
export function defaultRedefinitions(): Map<string, string> {
  const map = new Map<string, string>();
  for (const name of [...LINKER_SCRIPT_SYMBOLS, ...DLFCN_STUB_SYMBOLS, ...KERNEL_FUNCTION_SYMBOLS]) map.set(UKL_PREFIX + name, name);
  return map;
}

/**
 * Whether the kernel side can satisfy an undefined symbol left in UKL.a: a kept name from the
 * redefinition list, UKL's syscall entry (`ukl_entry_SYSCALL_64`, RFC patch "alternate syscall
 * entry path": the app's `call entry_SYSCALL_64` becomes this after prefixing), or a bypass
 * syscall (`ukl_bp_<name>`, emitted by the fork's SYSCALL_DEFINE wrapper).
 */
export function isKernelProvidedSymbol(name: string): boolean {
  // a name without the prefix was given back on purpose by the redefinition list
  return !name.startsWith(UKL_PREFIX) || name === 'ukl_entry_SYSCALL_64' || name.startsWith('ukl_bp_');
}

/** relocation types that kernel-model code cannot carry: GOT/TLS-GOT ones, and R_X86_64_32 */
// (R_X86_64_GOTTPOFF is not here: initial-exec TLS, which non-PIC code uses for extern __thread
// variables and the static link relaxes to an immediate offset)
const SHF_TLS = 0x400;

const KERNEL_MODEL_FORBIDDEN = new Set([
  3, // GOT32
  9, // GOTPCREL
  19, // TLSGD
  20, // TLSLD
  25, // GOTOFF64
  26, // GOTPC32
  34, // GOTPC32_TLSDESC
  41, // GOTPCRELX
  42, // REX_GOTPCRELX
  // zero-extended 32-bit absolute: the kernel lives at 0xffffffff8..., only the sign-extended
  // R_X86_64_32S reaches it. R_X86_64_PLT32 is fine: in a static link it is a plain PC-relative
  // branch (the kernel's own objects are full of it; arch/x86/tools/relocs.c treats it as PC32).
  10,
]);

// ---------------------------------------------------------------------------------------------
// Building UKL.a

export interface BuildUklArchiveOptions {
  /** C (or assembler) sources to compile with UKL's flags */
  sources?: string[];
  /** objects already compiled with -mcmodel=kernel -mno-red-zone -fno-PIC */
  objects?: string[];
  /** the archive to write (conventionally `UKL.a`) */
  out: string;
  /** the compiler (default $CC, then `cc`) */
  cc?: string;
  /**
   * the C library: 'glibc' (the compiler's own libc.a and crt files), 'musl'
   * (/usr/lib/x86_64-linux-musl), a path to a libc.a (crt1.o, crti.o, crtn.o, libm.a, ... and
   * UKL's own crtbeginT.o/libgcc.a are taken from beside it when present, as UKL's build leaves
   * them), or 'none' for a libc-free app that brings its own `_start` and syscall stub. Default 'glibc'.
   */
  libc?: 'glibc' | 'musl' | 'none' | (string & {});
  /** more archives to resolve the app against (inside the group, not whole-archive) */
  extraArchives?: string[];
  /** extra compiler flags (include paths, -O level, defines) after UKL's flags */
  cflags?: string[];
  /** extra prefixed → kept names for the redefinition list (app-specific kernel symbols) */
  redefinitions?: Record<string, string>;
}

export interface BuildUklArchiveResult {
  path: string;
  /** defined global and weak symbols in the archive */
  symbols: number;
  /** of those, how many carry the `ukl_` prefix (the rest are kept names from the redefinition list) */
  prefixed: number;
  /** defined global names without the prefix: must all be kept names */
  keptNames: string[];
  /** strong undefined symbols, sorted: what the kernel link must provide */
  undefinedSymbols: string[];
  /** weak undefined symbols, sorted: resolve to 0 when the kernel does not define them */
  weakUndefinedSymbols: string[];
  /** strong undefined symbols the UKL kernel does not provide (the vmlinux link will fail on them) */
  unexpectedUndefined: string[];
  /** relocation counts by type over the whole archive, e.g. { R_X86_64_PC32: 123 } */
  relocationTypes: Record<string, number>;
  /** relocation counts by type over the app's own objects (before libc was linked in) */
  appRelocationTypes: Record<string, number>;
  /** the compile command's flags */
  compileFlags: string[];
  /** null when no libc was linked; false for an ordinary libc that issues `syscall` itself */
  libcUklCapable: boolean | null;
  warnings: string[];
}

const MUSL_DIR = '/usr/lib/x86_64-linux-musl';

/** UKL's app flags (§1.2 AM_CFLAGS, samples/ukl/Makefile); -O2 because UKL's build sets none */
const UKL_CFLAGS = ['-O2', '-mno-red-zone', '-mcmodel=kernel', '-fno-PIC'];
/** added when the compiler defaults to PIE (Debian's gcc does); -mcmodel=kernel rejects PIC code */
const NO_PIE_FLAGS = ['-no-pie', '-fno-PIE'];

export async function buildUklArchive(opts: BuildUklArchiveOptions): Promise<BuildUklArchiveResult> {
  const sources = opts.sources ?? [];
  const givenObjects = opts.objects ?? [];
  if (sources.length + givenObjects.length === 0) throw new UklError('bad-input', 'UKL.a: no sources or objects to build from');
  const cc = opts.cc ?? process.env.CC ?? 'cc';
  const libcChoice = opts.libc ?? 'glibc';
  const out = resolve(opts.out);
  mkdirSync(dirname(out), { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'ukl-build-'));
  const tmpArchive = `${out}.${process.pid}.tmp`;
  try {
    // the runtime first: musl-ukl's headers come with it
    const runtime = libcChoice === 'none' ? undefined : await locateRuntime(cc, libcChoice);
    const compileFlags = [...(await uklCompileFlags(cc, libcChoice, runtime)), ...(opts.cflags ?? [])];
    const compiled = await compileSources(cc, compileFlags, sources, workDir);
    const appObjects = [...compiled, ...givenObjects.map((o) => resolve(o))];
    const appRelocationTypes = checkKernelCodeModel(appObjects);
    const linked = await linkWithRuntime(cc, appObjects, runtime, opts.extraArchives ?? [], workDir);
    await archiveWithKernelNames(linked, tmpArchive, runtime === undefined, opts.redefinitions ?? {}, workDir);
    const checked = checkArchive(tmpArchive, runtime, libcChoice, appObjects);
    renameSync(tmpArchive, out);
    return { path: out, ...checked, appRelocationTypes, compileFlags };
  } finally {
    rmSync(tmpArchive, { force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** each source compiled with UKL's flags into the work folder */
async function compileSources(cc: string, flags: string[], sources: string[], workDir: string): Promise<string[]> {
  const compiled: string[] = [];
  for (const [index, source] of sources.entries()) {
    const object = join(workDir, `${index}-${basename(source).replace(/\.[^.]*$/, '')}.o`);
    const result = await runStep(cc, [...flags, '-c', source, '-o', object], `compile ${basename(source)}`);
    if (result.code !== 0) throw new UklError('compile-failed', `UKL.a: compiling ${source} failed: ${firstErrorLine(result.stderr)}`);
    compiled.push(object);
  }
  return compiled;
}

/** the app's own code must be kernel-code-model code, or the vmlinux link fails much later; its relocation types by name */
function checkKernelCodeModel(appObjects: string[]): Record<string, number> {
  const types: Record<string, number> = {};
  for (const object of appObjects) {
    if (!existsSync(object)) throw new UklError('link-failed', `UKL.a: ld -r: cannot find ${object}`);
    const counts = relocationCounts([readObject(object)]);
    const forbidden = forbiddenIn(counts);
    if (forbidden.length > 0) {
      throw new UklError('bad-input', `UKL.a: ${object} is not kernel-code-model code (${forbidden.join(', ')}); compile it with ${UKL_CFLAGS.slice(1).join(' ')}`);
    }
    for (const [type, count] of counts) types[relocationTypeName(type)] = (types[relocationTypeName(type)] ?? 0) + count;
  }
  return types;
}

/** ld -r of the app with the C runtime (UKL's recipe; -allow-multiple-definition as it has it) */
async function linkWithRuntime(cc: string, appObjects: string[], runtime: Runtime | undefined, extraArchives: string[], workDir: string): Promise<string> {
  const linked = join(workDir, 'ukl-app.o');
  const ldArgs = ['-r', '-o', linked, '--allow-multiple-definition'];
  if (runtime === undefined) {
    // libc-free (samples/ukl style): the app alone, plus libgcc for compiler helper calls
    ldArgs.push(...appObjects, '--start-group', ...extraArchives, await locateLibgcc(cc), '--end-group');
  } else {
    ldArgs.push(
      ...runtime.starts,
      ...appObjects,
      '--start-group',
      ...extraArchives,
      ...(runtime.wholeArchives.length > 0 ? ['--whole-archive', ...runtime.wholeArchives, '--no-whole-archive'] : []),
      ...runtime.archives,
      ...runtime.gccArchives,
      '--end-group',
      ...runtime.ends,
    );
  }
  await runLinkStep('ld', ldArgs, 'ld -r');
  return linked;
}

/** archive the linked object, prefix every symbol, give the kernel-provided ones their names back */
async function archiveWithKernelNames(linked: string, archive: string, libcFree: boolean, extra: Record<string, string>, workDir: string): Promise<void> {
  rmSync(archive, { force: true });
  await runLinkStep('ar', ['cr', archive, linked], 'ar');
  await runLinkStep('objcopy', [`--prefix-symbols=${UKL_PREFIX}`, archive], 'objcopy --prefix-symbols');
  const redefinitions = defaultRedefinitions();
  // libc-free: the calls the compiler itself emits go to the kernel's own implementations
  if (libcFree) for (const name of undefinedIn(linked, FREESTANDING_NAMES)) redefinitions.set(UKL_PREFIX + name, name);
  for (const [from, to] of Object.entries(extra)) redefinitions.set(from, to);
  const listPath = join(workDir, 'redef_sym_names');
  writeFileSync(listPath, [...redefinitions].map(([from, to]) => `${from} ${to}\n`).join(''));
  await runLinkStep('objcopy', [`--redefine-syms=${listPath}`, archive], 'objcopy --redefine-syms');
}

/** one binutils step of the archive; its failure is the build's, named by `what` */
async function runLinkStep(tool: string, args: string[], what: string): Promise<void> {
  const r = await runStep(tool, args, what);
  if (r.code !== 0) throw new UklError('link-failed', `UKL.a: ${what} failed: ${firstErrorLine(r.stderr)}`);
}

/** what was built: its symbols and relocations, and what would go wrong in the kernel (as warnings) */
function checkArchive(archive: string, runtime: Runtime | undefined, libcChoice: string, appObjects: string[]): Omit<BuildUklArchiveResult, 'path' | 'appRelocationTypes' | 'compileFlags'> {
  const members = archiveObjects(archive);
  const summary = summarizeSymbols(members);
  if (!summary.definedNames.has(`${UKL_PREFIX}_start`)) {
    // UKL issue #32: the kernel enters the app at ukl__start; without it vmlinux fails to link
    throw new UklError('link-failed', `UKL.a: no _start (ukl__start after prefixing), where UKL's kernel enters the app; link a libc's crt1.o or define _start`);
  }
  const relocationTypes: Record<string, number> = {};
  const allCounts = relocationCounts(members);
  for (const [type, count] of [...allCounts].sort((a, b) => a[0] - b[0])) relocationTypes[relocationTypeName(type)] = count;
  const warnings: string[] = [];
  const libcUklCapable = runtime === undefined ? null : libcCallsUklEntry(runtime.libc);
  if (libcUklCapable === false) {
    warnings.push(
      `${runtime?.libc} issues \`syscall\` itself (no call to entry_SYSCALL_64): an ordinary libc cannot run inside UKL; ` +
        `use the libc.a of UKL's glibc fork or a libc-free app`,
    );
  }
  if (libcChoice === MUSL_UKL) warnings.push(...checkMuslUklApp(summary.definedNames, appObjects));
  const forbidden = forbiddenIn(allCounts);
  if (forbidden.length > 0) warnings.push(`the linked libraries are not kernel-code-model code: ${forbidden.join(', ')}`);
  if (summary.unexpectedUndefined.length > 0) {
    warnings.push(`undefined symbols the UKL kernel does not provide: ${summary.unexpectedUndefined.slice(0, 8).join(', ')}${summary.unexpectedUndefined.length > 8 ? ', ...' : ''}`);
  }
  return {
    symbols: summary.definedGlobals,
    prefixed: summary.prefixedGlobals,
    keptNames: summary.keptNames,
    undefinedSymbols: summary.undefinedSymbols,
    weakUndefinedSymbols: summary.weakUndefinedSymbols,
    unexpectedUndefined: summary.unexpectedUndefined,
    relocationTypes,
    libcUklCapable,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Toolchain probing

/** PIE by default shows as the predefined __PIE__ macro (gcc --enable-default-pie, clang on Debian) */
async function compilerDefaultsToPie(cc: string): Promise<boolean> {
  const result = await runStep(cc, ['-E', '-dM', '-x', 'c', '/dev/null'], 'probe the compiler');
  if (result.code !== 0) throw new UklError('tool-missing', `UKL.a: ${cc} -E failed: ${firstErrorLine(result.stderr)}`);
  return /^#define __PIE__ /m.test(result.stdout);
}

/** a file the compiler's driver knows, or undefined (the driver echoes the bare name back) */
async function printFileName(cc: string, name: string): Promise<string | undefined> {
  const result = await runStep(cc, [`-print-file-name=${name}`], `locate ${name}`);
  const path = result.stdout.trim();
  return result.code === 0 && isAbsolute(path) && existsSync(path) ? path : undefined;
}

async function locateLibgcc(cc: string): Promise<string> {
  const result = await runStep(cc, ['-print-libgcc-file-name'], 'locate libgcc');
  const path = result.stdout.trim();
  if (result.code !== 0 || !isAbsolute(path) || !existsSync(path)) throw new UklError('tool-missing', `UKL.a: ${cc} -print-libgcc-file-name found no libgcc.a`);
  return path;
}

interface Runtime {
  libc: string;
  starts: string[];
  ends: string[];
  /** linked whole (UKL's recipe for its glibc) */
  wholeArchives: string[];
  /** linked member by member, as a static link would */
  archives: string[];
  gccArchives: string[];
  /** headers to compile the app against, instead of the compiler's default libc headers */
  include?: string;
  /** the kernel's UAPI headers, searched after the libc's */
  kernelHeaders?: string;
}

/** the flags `ukl-trim cc` compiles with: UKL's, and the headers of the libc UKL.a will link */
export async function uklCompilerFlags(cc: string, libc: string): Promise<string[]> {
  return uklCompileFlags(cc, libc, libc === 'none' ? undefined : await locateRuntime(cc, libc));
}

/** UKL's flags, no PIE, and the libc's headers (musl's through its specs, musl-ukl's directly) */
async function uklCompileFlags(cc: string, libc: string, runtime: Runtime | undefined): Promise<string[]> {
  const flags = [...UKL_CFLAGS, ...((await compilerDefaultsToPie(cc)) ? NO_PIE_FLAGS : [])];
  if (libc === 'musl' && existsSync(join(MUSL_DIR, 'musl-gcc.specs'))) flags.push('-specs', join(MUSL_DIR, 'musl-gcc.specs'));
  if (runtime?.include !== undefined) {
    // as musl-gcc does: the libc's headers, then the compiler's own (stddef.h, stdarg.h, …)
    const compilerInclude = await printFileName(cc, 'include');
    flags.push('-nostdinc', '-isystem', runtime.include, ...(compilerInclude !== undefined ? ['-isystem', compilerInclude] : []));
    if (runtime.kernelHeaders !== undefined) flags.push('-idirafter', runtime.kernelHeaders);
  }
  return flags;
}

/**
 * What musl-ukl cannot run, checked on the linked app: threads are refused (clone's child would
 * return through `ret` on its new stack), the app's own `__thread` variables too (the UKL exec
 * leaves AT_PHNUM 0, so musl finds no TLS segment); fork and friends only warn, since an app may
 * link them on paths it does not take (a daemon's fork under a foreground flag).
 */
function checkMuslUklApp(defined: ReadonlySet<string>, appObjects: readonly string[]): string[] {
  if (defined.has(`${UKL_PREFIX}pthread_create`)) {
    throw new UklError('bad-input', 'UKL.a: the app links pthread_create: threads do not run on musl-ukl (the child of clone would return through `ret` on its new stack); build it without threads');
  }
  for (const object of appObjects) {
    const tls = readObject(object).sections.find((s) => (s.flags & SHF_TLS) !== 0 && s.size > 0);
    if (tls !== undefined) {
      throw new UklError('bad-input', `UKL.a: ${object} has __thread variables (${tls.name}): on musl-ukl they get no storage (the UKL exec leaves AT_PHNUM 0, so musl finds no TLS segment); make them ordinary globals`);
    }
  }
  const processes = ['fork', '_Fork', 'vfork', 'posix_spawn', 'system', 'popen', 'execve'].filter((name) => defined.has(`${UKL_PREFIX}${name}`));
  return processes.length > 0 ? [`the app links ${processes.join(', ')}: a UKL app is the only process of its kernel; calls to them will fail at run time`] : [];
}

async function locateRuntime(cc: string, libc: string): Promise<Runtime> {
  if (libc === MUSL_UKL) return muslUklRuntime(cc);
  // the directory libc's own files come from (crt1.o etc.), and whether the compiler may fill in
  let libcPath: string;
  let libcDir: string | undefined;
  if (libc === 'glibc') {
    const found = await printFileName(cc, 'libc.a');
    if (found === undefined) throw new UklError('tool-missing', `UKL.a: ${cc} -print-file-name=libc.a found no static glibc (install libc6-dev)`);
    libcPath = found;
  } else if (libc === 'musl') {
    libcPath = join(MUSL_DIR, 'libc.a');
    if (!existsSync(libcPath)) throw new UklError('tool-missing', `UKL.a: no musl at ${libcPath} (install musl-dev)`);
    libcDir = MUSL_DIR;
  } else {
    libcPath = resolve(libc);
    if (!existsSync(libcPath)) throw new UklError('tool-missing', `UKL.a: libc archive ${libcPath} not found`);
    libcDir = dirname(libcPath);
  }
  const find = async (name: string, fromLibcDir: boolean): Promise<string | undefined> => {
    if (libcDir !== undefined) {
      const beside = join(libcDir, name);
      if (existsSync(beside)) return beside;
      // musl's crt files must be musl's: never mix in glibc's
      if (fromLibcDir && libc === 'musl') return undefined;
    }
    return printFileName(cc, name);
  };
  const need = async (name: string, fromLibcDir: boolean): Promise<string> => {
    const path = await find(name, fromLibcDir);
    if (path === undefined) throw new UklError('tool-missing', `UKL.a: ${name} not found (${cc} -print-file-name=${name}${libcDir === undefined ? '' : ` or ${libcDir}`})`);
    return path;
  };
  const starts = [await need('crt1.o', true), await need('crti.o', true), await need('crtbeginT.o', false)];
  const ends = [await need('crtend.o', false), await need('crtn.o', true)];
  // libm/librt/libpthread when the libc has them (glibc 2.34+ keeps librt/libpthread as empty stubs)
  const wholeArchives: string[] = [];
  for (const name of ['libm.a', 'librt.a', 'libpthread.a']) {
    const path = await find(name, true);
    if (path !== undefined) wholeArchives.push(path);
  }
  wholeArchives.push(libcPath);
  const libgcc = (libcDir !== undefined && existsSync(join(libcDir, 'libgcc.a')) ? join(libcDir, 'libgcc.a') : undefined) ?? (await locateLibgcc(cc));
  const libgccEh = (libcDir !== undefined && existsSync(join(libcDir, 'libgcc_eh.a')) ? join(libcDir, 'libgcc_eh.a') : undefined) ?? (await printFileName(cc, 'libgcc_eh.a'));
  const gccArchives = libgccEh === undefined ? [libgcc] : [libgcc, libgccEh];
  return { libc: libcPath, starts, ends, wholeArchives, archives: [], gccArchives };
}

/**
 * musl built for UKL (musl-ukl.ts), its crt files and libgcc. No crtbeginT.o/crtend.o: musl runs
 * the init/fini arrays itself, and the compiler's are small-code-model code. libc.a is linked
 * member by member rather than whole: only what the app uses goes into the kernel.
 */
async function muslUklRuntime(cc: string): Promise<Runtime> {
  const musl = await buildUklMusl({ cacheDir: cacheHome(), cc: cc === 'cc' ? 'gcc' : cc });
  const lib = join(musl.dir, 'lib');
  return {
    libc: musl.libc,
    starts: [join(lib, 'crt1.o'), join(lib, 'crti.o')],
    ends: [join(lib, 'crtn.o')],
    wholeArchives: [],
    archives: [musl.libc],
    gccArchives: [await locateLibgcc(cc)],
    include: musl.include,
    ...(musl.kernelHeaders !== null ? { kernelHeaders: musl.kernelHeaders } : {}),
  };
}

/**
 * UKL's glibc replaces every `syscall` instruction with `call entry_SYSCALL_64` (or `bp_<name>`
 * in bypass builds), so its libc.a has those as undefined symbols; an ordinary libc has neither.
 * null when the libc is not an ar archive (a linker script) and cannot be read here.
 */
function libcCallsUklEntry(libcPath: string): boolean | null {
  const bytes = readFileSync(libcPath);
  if (!isArchive(bytes)) return null;
  for (const member of parseArchive(bytes, libcPath).members()) {
    let elf: ElfFile;
    try {
      elf = parseElf(member.data, `${libcPath}(${member.name})`);
    } catch {
      continue; // not an ELF member
    }
    for (const symbol of elf.symbols()) {
      if (symbol.sectionIndex === SHN_UNDEF && (symbol.name === 'entry_SYSCALL_64' || symbol.name.startsWith('bp_'))) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Inspection

function readObject(path: string): ElfFile {
  try {
    return readElfFile(path);
  } catch (e) {
    throw new UklError('bad-input', `UKL.a: ${path} is not an x86-64 ELF object: ${(e as Error).message}`);
  }
}

/**
 * Bytes of thread-local data and bss (.tdata/.tbss, SHF_TLS sections) in an archive's members:
 * non-zero when the app or its libc has `__thread` variables, which need UKL_TLS in the kernel.
 */
export function archiveTlsBytes(path: string): number {
  let bytes = 0;
  for (const elf of archiveObjects(path)) for (const section of elf.sections) if ((section.flags & SHF_TLS) !== 0) bytes += section.size;
  return bytes;
}

/** the ELF members of an archive */
export function archiveObjects(path: string): ElfFile[] {
  const archive = parseArchive(readFileSync(path), path);
  return [...archive.members()].map((member) => parseElf(member.data, `${path}(${member.name})`));
}

function relocationCounts(objects: ElfFile[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const elf of objects) {
    for (const section of elf.relocationSections()) {
      for (const relocation of section.relocations) counts.set(relocation.type, (counts.get(relocation.type) ?? 0) + 1);
    }
  }
  return counts;
}

function forbiddenIn(counts: Map<number, number>): string[] {
  return [...counts]
    .filter(([type]) => KERNEL_MODEL_FORBIDDEN.has(type))
    .sort((a, b) => a[0] - b[0])
    .map(([type, count]) => `${relocationTypeName(type)} x${count}`);
}

interface SymbolSummary {
  definedNames: Set<string>;
  definedGlobals: number;
  prefixedGlobals: number;
  keptNames: string[];
  undefinedSymbols: string[];
  weakUndefinedSymbols: string[];
  unexpectedUndefined: string[];
}

function summarizeSymbols(members: ElfFile[]): SymbolSummary {
  const definedNames = new Set<string>();
  const strongUndefined = new Set<string>();
  const weakUndefined = new Set<string>();
  for (const elf of members) {
    for (const symbol of elf.symbols()) {
      if (symbol.index === 0 || symbol.bind === 'LOCAL' || symbol.type === 'SECTION' || symbol.type === 'FILE') continue;
      if (symbol.sectionIndex === SHN_UNDEF) (symbol.bind === 'WEAK' ? weakUndefined : strongUndefined).add(symbol.name);
      else definedNames.add(symbol.name);
    }
  }
  // a symbol defined in one member and referenced in another is resolved inside the archive
  const undefinedSymbols = [...strongUndefined].filter((n) => !definedNames.has(n)).sort();
  const weakUndefinedSymbols = [...weakUndefined].filter((n) => !definedNames.has(n) && !strongUndefined.has(n)).sort();
  const keptNames = [...definedNames].filter((n) => !n.startsWith(UKL_PREFIX)).sort();
  return {
    definedNames,
    definedGlobals: definedNames.size,
    prefixedGlobals: definedNames.size - keptNames.length,
    keptNames,
    undefinedSymbols,
    weakUndefinedSymbols,
    unexpectedUndefined: undefinedSymbols.filter((n) => !isKernelProvidedSymbol(n)),
  };
}

// ---------------------------------------------------------------------------------------------
// Subprocesses

/** a tool of the UKL.a build; one that cannot be started is UklError('tool-missing') naming the step */
async function runStep(command: string, args: string[], step: string): Promise<ToolResult> {
  try {
    return await runTool(command, args);
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    throw new UklError('tool-missing', error.code === 'ENOENT' ? `UKL.a: ${step}: ${command} not found` : `UKL.a: ${step}: cannot run ${command}: ${error.message}`);
  }
}

/** the first line a tool marks as an error, else its first non-empty line */
export function firstErrorLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.find((l) => /\berror\b|undefined reference|cannot find|No such file|not found/i.test(l)) ?? lines[0] ?? '(no output)';
}

