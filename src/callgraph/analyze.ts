import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as z from 'zod';
import { linkForAnalysis, type LinkOptions } from '../lto/link.js';
import { readSyscallTable } from '../kernel/syscalls.js';
import { isLlvmBitcode, parseElf, PT_TLS, SHF_ALLOC, SHN_UNDEF, SHT_NOBITS } from '../lto/elf.js';
import { sharedObjectsOf, SharedObjectError } from '../lto/shared-objects.js';
import type { ElfFile } from '../lto/elf.js';
import { buildCallGraph, CallGraph, collectAddressFacts, isUnnamedTarget, pointerArray, Reachability, UNATTRIBUTED_CODE, type AddressFacts } from './graph.js';
import { scanCode } from './syscall-sites.js';
import { importedNames, importTargets } from './imports.js';
import type { CallEdge, CodeScan } from './syscall-sites.js';
import { SyscallFindings } from './syscall-findings.js';
import { cachedScan, type ScanWithFacts } from './scan-cache.js';
import { cacheHome } from '../util/cache-home.js';
import { UklTrimError } from '../util/errors.js';

/**
 * Application analysis of a static x86-64 executable: which syscalls it can reach, each with one
 * witness call path, the sites whose number stays unknown ("may be any syscall", never dropped),
 * socket families from constant arguments, and /proc, /sys, /dev paths its reachable code names.
 *
 * Sound by construction, at the cost of precision: direct calls and jumps are followed from the
 * roots; as soon as any reachable code makes an indirect call or jump (or calls a `.plt` stub that
 * an IFUNC fills), the address-taken functions join the roots — every one whose address a data
 * word holds, and those whose address reachable code names — since an indirect transfer can only
 * land on such a function (see graph.ts). The research prototype measured closures of this kind
 * at about 2.3x (RTA-like) to 3.5x (whole archive) what strace sees on the echo server; most of
 * the excess is reached by direct calls alone (error paths: abort, __libc_fatal, PI mutexes).
 */

export const AnalysisReportSchema = z.object({
  input: z.string(),
  roots: z.array(z.string()),
  syscalls: z.array(
    z.object({
      nr: z.number().int().nonnegative(),
      name: z.string(),
      /** witness: root → … → the function holding the syscall instruction */
      path: z.array(z.string()),
    }),
  ),
  /** sites whose number is unknown: each may be any syscall */
  unresolved: z.array(z.object({ function: z.string().nullable(), address: z.number().int(), reason: z.string() })),
  socketFamilies: z.array(z.string()),
  /** family → root → … → the socket call or syscall site whose family argument is that constant */
  socketFamilyPaths: z.record(z.string(), z.array(z.string())).default({}),
  /** socket calls whose family is not a constant: the family may be any */
  unknownSocketFamilies: z.array(z.object({ function: z.string(), address: z.number().int() })),
  pseudoFiles: z.array(z.string()),
  /** a dynamically linked program: its interpreter and libraries, analysed with it (empty when static) */
  sharedObjects: z.array(z.object({ name: z.string(), host: z.string(), guest: z.string(), interpreter: z.boolean() })).default([]),
  /** bytes of the thread-local storage segment (PT_TLS memory size); 0 when the program has none */
  tlsBytes: z.number().int().nonnegative().default(0),
  stats: z.object({ functions: z.number().int(), reachableFunctions: z.number().int(), addressTaken: z.number().int(), indirectReachable: z.boolean() }),
});
export type AnalysisReport = z.infer<typeof AnalysisReportSchema>;

/** the input is not something this version analyses (an object, archive, bitcode, dynamic executable) */
export type AnalysisErrorCode =
  /** an input this analysis does not take (relocatable object, dynamic executable, archive, bitcode) */
  | 'unsupported-input'
  | 'unreadable'
  /** neither a kernel tree nor the system's asm/unistd_64.h gives syscall names */
  | 'no-syscall-names';

export class AnalysisError extends UklTrimError<AnalysisErrorCode> {
  static readonly codes: readonly AnalysisErrorCode[] = ['unsupported-input', 'unreadable', 'no-syscall-names'];
}

export interface AnalyzeOptions {
  /** a kernel source tree whose arch/x86/entry/syscalls/syscall_64.tbl names the numbers */
  kernelTree?: string;
  /** where to find `#define __NR_x n` when no tree is given (tests point it elsewhere) */
  unistdHeader?: string;
  /**
   * where the scans of shared libraries are kept between runs (default
   * `$XDG_CACHE_HOME/ukl-trim/scans`; null: not kept)
   */
  scanCacheDir?: string | null;
}

/** a UKL app (UKL.a linked for analysis): the kernel-side symbols its code calls */
export interface UklAnalysis {
  kernelSymbols: readonly string[];
}

const DEFAULT_UNISTD = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';

/** nr → name, from the kernel tree when given (opts or $UKL_TRIM_KERNEL), else the libc headers */
export function loadSyscallNames(opts: AnalyzeOptions = {}): Map<number, string> {
  const tree = opts.kernelTree ?? process.env.UKL_TRIM_KERNEL;
  if (tree !== undefined && tree !== '') {
    return new Map(readSyscallTable(tree, 'x86_64').map((entry) => [entry.nr, entry.name]));
  }
  const header = opts.unistdHeader ?? DEFAULT_UNISTD;
  let text: string;
  try {
    text = readFileSync(header, 'utf8');
  } catch {
    throw new AnalysisError('no-syscall-names', `no syscall names: give a kernel tree (--kernel DIR or UKL_TRIM_KERNEL) or install ${header} (linux-libc-dev)`);
  }
  const names = new Map<number, string>();
  for (const match of text.matchAll(/^#define\s+__NR_(\w+)\s+(\d+)\s*$/gm)) names.set(Number(match[2]), match[1] ?? '');
  if (names.size === 0) throw new AnalysisError('no-syscall-names', `${header}: no '#define __NR_name number' lines`);
  return names;
}

const SOCKET_FUNCTIONS = new Set(['socket', '__socket', 'socketpair', '__socketpair']);
/** syscalls whose first argument is an address family */
const FAMILY_SYSCALLS = new Set(['socket', 'socketpair']);
const PSEUDO_FILE_PREFIXES = ['/proc/', '/sys/', '/dev/'];
const R_X86_64_IRELATIVE = 37;

export function analyzeStaticExecutable(path: string, opts: AnalyzeOptions & { ukl?: UklAnalysis } = {}): AnalysisReport {
  const { elf, names } = loadStaticExecutable(path, opts);
  return analyzeElf(elf, path, names, opts.ukl);
}

/** a static executable ready for the analysis, and the kernel's syscall names */
export function loadStaticExecutable(path: string, opts: AnalyzeOptions = {}): { elf: ElfFile; names: Map<number, string> } {
  const bytes = readInput(path);
  const elf = parseElf(bytes, path);
  if (elf.type === 'REL') {
    throw new AnalysisError('unsupported-input', `${path}: a relocatable object is not yet supported: link it statically first (gcc -static -o app ${path})`);
  }
  if (!elf.isStatic) {
    throw new AnalysisError('unsupported-input', `${path}: dynamically linked (interpreter ${elf.interpreter ?? '?'}) is not yet supported: link it with -static`);
  }
  return { elf, names: loadSyscallNames(opts) };
}

/**
 * A dynamically linked executable, with its interpreter and every library it needs (found as
 * the loader finds them): each file analysed on its own, its roots the entry point (executable,
 * interpreter) or the exported functions some file imports (libraries), and since any file may
 * call what another takes the address of, each file's address-taken functions as well. Sound at
 * the cost of precision: a program linked against libc.so reaches about everything libc can do.
 * The union is the program's; witness paths in a library start with its name (`libc.so.6:fopen`).
 */
export function analyzeDynamicExecutable(path: string, opts: AnalyzeOptions = {}): AnalysisReport {
  const elf = parseElf(readInput(path), path);
  let objects;
  try {
    objects = sharedObjectsOf(path, elf);
  } catch (e) {
    if (e instanceof SharedObjectError) throw new AnalysisError('unsupported-input', e.message, { cause: e });
    throw e;
  }
  const names = loadSyscallNames(opts);
  const libraries = objects.map((o) => ({ label: basename(o.name), bytes: readInput(o.host), host: o.host, runsEntry: o.interpreter }));
  const files = [{ label: null as string | null, elf, runsEntry: true, bytes: null as Uint8Array | null }, ...libraries.map((l) => ({ ...l, elf: parseElf(l.bytes, l.host) }))];
  const importsOf = files.map((f) => new Set(importedNames(f.elf)));
  const imported = new Set(importsOf.flatMap((names) => [...names]));
  const cacheDir = opts.scanCacheDir === undefined ? join(cacheHome(), 'scans') : opts.scanCacheDir;
  const modules = files.map((f, i) => {
    // the libraries' scans are kept: the program's changes with every edit
    const store = f.bytes === null || cacheDir === null ? undefined : { bytes: f.bytes, dir: cacheDir };
    return { label: f.label, imports: importsOf[i] as Set<string>, analysis: analyzeModule(f.elf, path, names, undefined, { imported, runsEntry: f.runsEntry }, store) };
  });
  followWrappersAcrossFiles(modules);
  return { ...mergeModuleReports(modules.map((m) => ({ label: m.label, report: m.analysis.report() }))), input: path, sharedObjects: objects };
}

/**
 * A file calling another file's syscall wrapper (the program's `syscall(SYS_memfd_create, …)`
 * into libc.so.6's syscall()): the numbers are at the call, in the caller's file, so each
 * wrapper a file lets others call is followed through the callers in every file importing its
 * name, and so on for the wrappers of wrappers that makes (until none is new). The wrapper's own
 * "may be any syscall" stays: a file may also call it through a pointer.
 */
function followWrappersAcrossFiles(modules: ReadonlyArray<{ label: string | null; imports: ReadonlySet<string>; analysis: ModuleAnalysis }>): void {
  const done = new Set<string>();
  for (let more = true; more; ) {
    more = false;
    for (const from of modules) {
      for (const wrapper of from.analysis.findings.wrappersCallableFromOutside) {
        const key = `${from.label ?? ''}\0${wrapper.fn}\0${wrapper.register}`;
        if (done.has(key)) continue;
        done.add(key);
        more = true;
        const chain = wrapper.chain.map((fn) => (from.label === null || fn.includes(':') ? fn : `${from.label}:${fn}`));
        for (const to of modules) if (to !== from && to.imports.has(wrapper.fn)) to.analysis.findings.addCallsToWrapperOfAnotherFile({ ...wrapper, chain });
      }
    }
  }
}

/** one report for the program: the executable's first, each library's names prefixed with the library */
function mergeModuleReports(reports: ReadonlyArray<{ label: string | null; report: AnalysisReport }>): Omit<AnalysisReport, 'input' | 'sharedObjects'> {
  const syscalls = new Map<number, AnalysisReport['syscalls'][number]>();
  const familyPaths: Record<string, string[]> = {};
  const merged: Omit<AnalysisReport, 'input' | 'sharedObjects'> = { roots: [], syscalls: [], unresolved: [], socketFamilies: [], socketFamilyPaths: {}, unknownSocketFamilies: [], pseudoFiles: [], tlsBytes: reports[0]?.report.tlsBytes ?? 0, stats: { functions: 0, reachableFunctions: 0, addressTaken: 0, indirectReachable: true } };
  for (const { label, report } of reports) {
    const named = (fn: string): string => (label === null ? fn : `${label}:${fn}`);
    const path = (p: readonly string[]): string[] => (p.length === 0 ? [] : [named(p[0] as string), ...p.slice(1)]);
    merged.roots.push(...report.roots.map(named));
    for (const s of report.syscalls) if (!syscalls.has(s.nr)) syscalls.set(s.nr, { ...s, path: path(s.path) });
    merged.unresolved.push(...report.unresolved.map((u) => ({ ...u, function: u.function === null ? (label === null ? null : `${label}:?`) : named(u.function) })));
    for (const [family, p] of Object.entries(report.socketFamilyPaths)) familyPaths[family] ??= path(p);
    merged.unknownSocketFamilies.push(...report.unknownSocketFamilies.map((u) => ({ ...u, function: named(u.function) })));
    merged.socketFamilies.push(...report.socketFamilies);
    merged.pseudoFiles.push(...report.pseudoFiles);
    merged.stats.functions += report.stats.functions;
    merged.stats.reachableFunctions += report.stats.reachableFunctions;
    merged.stats.addressTaken += report.stats.addressTaken;
  }
  merged.syscalls = [...syscalls.values()].sort((a, b) => a.nr - b.nr);
  merged.socketFamilies = [...new Set(merged.socketFamilies)].sort();
  merged.socketFamilyPaths = familyPaths;
  merged.pseudoFiles = [...new Set(merged.pseudoFiles)].sort();
  return merged;
}

/**
 * Analyse an application given as a static executable, or as objects, LTO objects, bitcode
 * and archives that are first linked statically against `libc` (see `linkForAnalysis`).
 */
export function analyzeApplication(inputs: readonly string[], opts: AnalyzeOptions & LinkOptions = {}): AnalysisReport & { linkedExecutable: string } {
  const linked = linkForAnalysis(inputs, opts);
  const report = linked.dynamic ? analyzeDynamicExecutable(linked.executable, opts) : analyzeStaticExecutable(linked.executable, linked.ukl === undefined ? opts : { ...opts, ukl: linked.ukl });
  const named = linked.ukl === undefined ? report : withUklNamesStripped(report, new Set(linked.ukl.kernelSymbols));
  return { ...named, input: inputs.join(' '), linkedExecutable: linked.executable };
}

/**
 * The report in the names the app's source uses: `ukl_main` → `main`. Kernel-side names keep
 * theirs (a kept name such as `ukl_worker_sleep` is the kernel's own).
 */
function withUklNamesStripped(report: AnalysisReport, kernelSymbols: ReadonlySet<string>): AnalysisReport {
  const strip = (name: string): string => (name.startsWith('ukl_') && !kernelSymbols.has(name) ? name.slice(4) : name);
  return {
    ...report,
    roots: report.roots.map(strip),
    syscalls: report.syscalls.map((s) => ({ ...s, path: s.path.map(strip) })),
    unresolved: report.unresolved.map((u) => ({ ...u, function: u.function === null ? null : strip(u.function) })),
    unknownSocketFamilies: report.unknownSocketFamilies.map((u) => ({ ...u, function: strip(u.function) })),
    socketFamilyPaths: Object.fromEntries(Object.entries(report.socketFamilyPaths).map(([family, path]) => [family, path.map(strip)])),
  };
}

function readInput(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new AnalysisError('unreadable', `${path}: cannot read: ${(e as Error).message}`);
  }
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 8));
  if (head === '!<arch>\n' || head === '!<thin>\n') {
    throw new AnalysisError('unsupported-input', `${path}: archives are not yet supported: link the application statically first (gcc -static -o app main.o ${path})`);
  }
  if (isLlvmBitcode(bytes)) {
    throw new AnalysisError('unsupported-input', `${path}: LLVM bitcode is not yet supported: link it statically first (clang -flto -fuse-ld=lld -static)`);
  }
  return bytes;
}

export function analyzeElf(elf: ElfFile, input: string, syscallNames: Map<number, string>, ukl?: UklAnalysis): AnalysisReport {
  return analyzeElfWithGraph(elf, input, syscallNames, ukl).report;
}

/** the analysis, and the call graph with what it reached (for callGraphOf) */
export interface AnalysisWithGraph {
  report: AnalysisReport;
  graph: CallGraph;
  reach: Reachability;
}

/**
 * One file of a dynamically linked program: which of its exported functions other files (or its
 * own PLT) call, and whether its entry point runs (the executable's and the interpreter's do, a
 * library's does not). Any function whose address it takes may be called from another file.
 */
export interface ModuleLinkage {
  imported: ReadonlySet<string>;
  runsEntry: boolean;
}

export function analyzeElfWithGraph(elf: ElfFile, input: string, syscallNames: Map<number, string>, ukl?: UklAnalysis, linkage?: ModuleLinkage): AnalysisWithGraph {
  const analysis = analyzeModule(elf, input, syscallNames, ukl, linkage);
  return { report: analysis.report(), graph: analysis.graph, reach: analysis.reach };
}

/** one file analysed: its findings stay open to calls from other files until the report is made */
interface ModuleAnalysis {
  findings: SyscallFindings;
  graph: CallGraph;
  reach: Reachability;
  report(): AnalysisReport;
}

function analyzeModule(elf: ElfFile, input: string, syscallNames: Map<number, string>, ukl?: UklAnalysis, linkage?: ModuleLinkage, store?: { bytes: Uint8Array; dir: string }): ModuleAnalysis {
  const scanWithFacts = (): ScanWithFacts => {
    const scan = scanCode(elf, { syscallEntries: uklSyscallEntries(elf, ukl), ...(linkage !== undefined ? { imports: importTargets(elf) } : {}) });
    return { scan, facts: collectAddressFacts(elf, scan) };
  };
  // (store: a library of a dynamically linked program, whose scan depends on its bytes alone)
  const { scan, facts } = store === undefined ? scanWithFacts() : cachedScan(elf, store.bytes, 'dynamic-module', store.dir, scanWithFacts);
  const graph = buildCallGraph(scan);
  const byAddress = new Map(scan.functions.all().map((f) => [f.start, f.name]));
  const roots = findRoots(elf, scan, byAddress, linkage);
  const external = linkage !== undefined;
  const { reach, firstIndirect } = reachFromRoots(graph, scan, facts, roots, byAddress, external);

  const startOf = new Map(scan.functions.all().map((f) => [f.name, f.start]));
  // a wrapper reached as an indirect-call target may receive any number
  const isAddressTaken = (name: string): boolean => {
    const start = startOf.get(name);
    return start !== undefined && facts.addressTaken.has(start) && reach.isReached(name);
  };
  const findings = new SyscallFindings({
    reach,
    callersOf: callersOf(scan),
    callableFromOutside: (fn) => roots.includes(fn) || ((firstIndirect !== undefined || external) && isAddressTaken(fn)),
    familySyscalls: new Set([...syscallNames].filter(([, name]) => FAMILY_SYSCALLS.has(name)).map(([nr]) => nr)),
    socketFunctions: socketFunctionNames(scan, ukl, linkage !== undefined),
  });
  for (const site of scan.sites) findings.addSite(site);
  if (ukl !== undefined) addUklBypassCalls(findings, ukl, syscallNames, reach, startOf);
  for (const edge of scan.edges) findings.addSocketCall(edge);

  const report = (): AnalysisReport => ({
    input,
    roots,
    ...findings.report(syscallNames),
    pseudoFiles: reachedPseudoFiles(elf, facts, byAddress, reach),
    tlsBytes: elf.programHeaders.find((p) => p.type === PT_TLS)?.memorySize ?? 0,
    sharedObjects: [],
    stats: { functions: graph.size, reachableFunctions: reach.reachedInOrder.length, addressTaken: facts.addressTaken.size, indirectReachable: firstIndirect !== undefined || external },
  });
  return { findings, graph, reach, report };
}

/**
 * Direct calls and jumps are followed from the roots. Once reachable code makes an indirect call
 * or jump, it may land on any address-taken function: pointers in data count always (which data
 * is reachable is not tracked); pointers made by code count once that code is reachable
 * (RTA-like): a fixpoint, as each newly reached function may name more functions. In one file
 * of a dynamically linked program (`external`), other files may call what it takes the address
 * of (a qsort comparator, a callback handed to a library), indirect calls of its own or not.
 */
function reachFromRoots(graph: CallGraph, scan: CodeScan, facts: AddressFacts, roots: string[], byAddress: Map<number, string>, external: boolean): { reach: Reachability; firstIndirect: string | undefined } {
  const reach = new Reachability(graph);
  for (const root of roots) reach.addRoot(root, 'root');
  reach.run();
  const firstIndirect = firstIndirectCaller(graph, scan, reach);
  if (firstIndirect === undefined && !external) return { reach, firstIndirect };
  const addTaken = (address: number): void => {
    const name = byAddress.get(address);
    if (name !== undefined) reach.addRoot(name, firstIndirect !== undefined ? '<indirect call>' : '<call from another file>', firstIndirect);
  };
  for (const address of facts.addressTakenInData) addTaken(address);
  const startsOf = new Map<string, number[]>();
  for (const fn of scan.functions.all()) startsOf.set(fn.name, [...(startsOf.get(fn.name) ?? []), fn.start]);
  for (const address of facts.codeReferences.get(UNATTRIBUTED_CODE) ?? []) addTaken(address);
  let processed = 0;
  do {
    reach.run();
    const reached = reach.reachedInOrder;
    for (; processed < reached.length; processed++) {
      for (const start of startsOf.get(graph.nameOf(reached[processed] ?? 0)) ?? []) {
        for (const address of facts.codeReferences.get(start) ?? []) addTaken(address);
      }
    }
    reach.run();
  } while (processed < reach.reachedInOrder.length);
  return { reach, firstIndirect };
}

/** the reached function with an indirect transfer nearest to a root (BFS order): it gives the shortest witness paths */
function firstIndirectCaller(graph: CallGraph, scan: CodeScan, reach: Reachability): string | undefined {
  const indirectFrom = new Set<string>();
  for (const transfer of scan.indirect) if (transfer.from !== null) indirectFrom.add(transfer.from);
  for (const edge of scan.edges) if (edge.from !== null && isUnnamedTarget(edge)) indirectFrom.add(edge.from);
  const id = reach.reachedInOrder.find((candidate) => indirectFrom.has(graph.nameOf(candidate)));
  return id === undefined ? undefined : graph.nameOf(id);
}

/** the direct calls and jumps into each function */
function callersOf(scan: CodeScan): Map<string, CallEdge[]> {
  const incoming = new Map<string, CallEdge[]>();
  for (const edge of scan.edges) {
    if (edge.to === null || edge.from === null) continue;
    const list = incoming.get(edge.to);
    if (list === undefined) incoming.set(edge.to, [edge]);
    else list.push(edge);
  }
  return incoming;
}

/**
 * the functions one of whose names is libc's socket()/socketpair() (in UKL.a every name carries
 * UKL's prefix); in a file of a dynamically linked program also the names themselves, which its
 * calls through the PLT or GOT go to
 */
function socketFunctionNames(scan: CodeScan, ukl: UklAnalysis | undefined, imports: boolean): Set<string> {
  const isSocketFunction = (name: string): boolean => SOCKET_FUNCTIONS.has(ukl !== undefined ? name.replace(/^ukl_/, '') : name);
  const names = new Set(scan.functions.all().filter((f) => f.aliases.some(isSocketFunction)).map((f) => f.name));
  if (imports) for (const name of SOCKET_FUNCTIONS) names.add(name);
  return names;
}

/**
 * UKL: `call entry_SYSCALL_64` takes the number in rax like a `syscall` instruction (those calls
 * are sites of the scan, see uklSyscallEntries); a reached bypass call `bp_<name>`
 * (`ukl_bp_<name>` after prefixing) is the syscall <name> itself
 */
function addUklBypassCalls(findings: SyscallFindings, ukl: UklAnalysis, syscallNames: Map<number, string>, reach: Reachability, startOf: Map<string, number>): void {
  const numberOf = new Map([...syscallNames].map(([nr, name]) => [name, nr]));
  for (const symbol of ukl.kernelSymbols) {
    if (!reach.isReached(symbol)) continue;
    const plain = symbol.startsWith('ukl_') ? symbol.slice(4) : symbol;
    if (!plain.startsWith('bp_')) continue;
    const name = plain.slice(3).replace(/^(__x64_sys_|__do_sys_|sys_)/, '');
    findings.addBypassCall(symbol, startOf.get(symbol) ?? 0, numberOf.get(name));
  }
}

/** the /proc, /sys and /dev paths that reached code (or code no function covers) names */
function reachedPseudoFiles(elf: ElfFile, facts: AddressFacts, byAddress: Map<number, string>, reach: Reachability): string[] {
  const pseudoFiles = new Set<string>();
  for (const [start, addresses] of facts.dataReferences) {
    const name = byAddress.get(start);
    const reached = start === UNATTRIBUTED_CODE || (name !== undefined && reach.isReached(name));
    if (!reached) continue;
    for (const address of addresses) {
      const text = cStringAt(elf, address);
      if (text !== null && PSEUDO_FILE_PREFIXES.some((prefix) => text.startsWith(prefix))) pseudoFiles.add(text);
    }
  }
  return [...pseudoFiles].sort();
}

/** UKL's syscall entry among the stubs of a UKL.a link: its calls are syscall sites */
function uklSyscallEntries(elf: ElfFile, ukl: UklAnalysis | undefined): Map<number, string> {
  const entries = new Map<number, string>();
  if (ukl === undefined) return entries;
  const names = new Set(ukl.kernelSymbols.filter((name) => name.replace(/^ukl_/, '') === 'entry_SYSCALL_64'));
  for (const symbol of elf.symbols()) if (names.has(symbol.name) && symbol.sectionIndex !== SHN_UNDEF) entries.set(symbol.value, symbol.name);
  return entries;
}

/**
 * `_start`, `main`, the entry point, init/fini arrays, `_init`/`_fini`, IFUNC resolvers; in a
 * library, its exported functions that some file of the program imports instead of the entry
 */
function findRoots(elf: ElfFile, scan: CodeScan, byAddress: Map<number, string>, linkage?: ModuleLinkage): string[] {
  const roots: string[] = [];
  const add = (name: string | undefined): void => {
    if (name !== undefined && !roots.includes(name)) roots.push(name);
  };
  if (linkage?.runsEntry !== false) add(scan.functions.containingAddress(elf.entry)?.name);
  const known = new Set(byAddress.values());
  // UKL.a's names carry UKL's prefix: its kernel enters at ukl__start
  const entryNames = linkage?.runsEntry === false ? ['_init', '_fini'] : ['_start', 'main', '_init', '_fini', 'ukl__start', 'ukl_main'];
  for (const name of entryNames) if (known.has(name)) add(name);
  if (linkage !== undefined) for (const address of importedExports(elf, linkage.imported)) add(byAddress.get(address));
  for (const section of elf.sections) {
    if (section.name === '.init_array' || section.name === '.fini_array' || section.name === '.preinit_array') {
      for (const address of pointerArray(elf, section)) add(byAddress.get(address));
    }
  }
  for (const symbol of elf.symbols()) if (symbol.type === 'IFUNC') add(byAddress.get(symbol.value));
  for (const relocations of elf.relocationSections()) {
    for (const relocation of relocations.relocations) if (relocation.type === R_X86_64_IRELATIVE) add(byAddress.get(relocation.addend));
  }
  return roots;
}

/** addresses of the functions `elf` exports under a name in `imported` */
function importedExports(elf: ElfFile, imported: ReadonlySet<string>): number[] {
  return elf
    .dynamicSymbols()
    .filter((s) => s.sectionIndex !== SHN_UNDEF && (s.type === 'FUNC' || s.type === 'IFUNC') && s.bind !== 'LOCAL' && (s.visibility === 0 || s.visibility === 3) && imported.has(s.name))
    .map((s) => s.value);
}

/** the NUL-terminated string at a virtual address of an allocated data section, or null */
function cStringAt(elf: ElfFile, address: number): string | null {
  const section = elf.sections.find((s) => (s.flags & SHF_ALLOC) !== 0 && s.type !== SHT_NOBITS && address >= s.address && address < s.address + s.size);
  if (section === undefined) return null;
  const data = elf.sectionData(section);
  const start = address - section.address;
  const end = data.indexOf(0, start);
  if (end < 0 || end - start > 4096) return null;
  const text = new TextDecoder('latin1').decode(data.subarray(start, end));
  return /^[\x20-\x7e]*$/.test(text) ? text : null;
}
