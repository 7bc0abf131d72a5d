import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as z from 'zod';
import { cacheHome } from '../util/cache-home.js';
import { readElfFile } from '../lto/elf.js';
import { LinkError, linkWithStubs } from '../lto/link.js';
import { writeBytesAtomic } from '../util/fs.js';
import { loadSyscallNames, type AnalyzeOptions } from './analyze.js';
import { buildCallGraph, type CallGraph } from './graph.js';
import { scanCode, siteNumbers, type CallEdge, type CodeScan } from './syscall-sites.js';
import type { GprName } from './register-values.js';

/**
 * What each function of a C library can reach on its own: function → syscalls, each with the
 * next call on one path to it, plus whether an indirect call or a site whose number is unknown
 * lies on the way (then more may follow at run time). Computed once per libc.a (the cache key is
 * its content hash) from the whole archive linked into one program, with libgcc beside it as the
 * real link has it and stub functions for what stays undefined.
 *
 * The application analysis does not need it: it reads the program the real linker made, which
 * holds only the members the app pulls in (about 1,000 functions for a glibc echo server, 80 ms).
 * The summary answers the question a user trimming a kernel asks next: which libc call costs
 * which syscalls (`ukl-trim libc-summary perror`).
 */

export const LIBC_SUMMARY_VERSION = 2;

export const LibcSummarySchema = z.object({
  version: z.literal(LIBC_SUMMARY_VERSION),
  libc: z.string(),
  sha256: z.string(),
  /** nr → name, as used when the summary was made */
  syscallNames: z.record(z.string(), z.string()),
  functions: z.record(
    z.string(),
    z.object({
      /** reachable syscall numbers, ascending */
      syscalls: z.array(z.number().int().nonnegative()),
      /** parallel to syscalls: the callee on one path to it, or null where this function makes it */
      via: z.array(z.string().nullable()),
      /** an indirect call or jump is reachable: whatever its targets do comes on top */
      indirect: z.boolean(),
      /** a syscall site whose number is not known is reachable ("may be any syscall") */
      unknown: z.boolean(),
    }),
  ),
  /** other names of a function (write, __write → __libc_write): alias → the name in `functions` */
  aliases: z.record(z.string(), z.string()),
  stats: z.object({ functions: z.number().int(), seconds: z.number() }),
});
export type LibcSummary = z.infer<typeof LibcSummarySchema>;

export interface LibcSummaryOptions extends AnalyzeOptions {
  /** default: $XDG_CACHE_HOME/ukl-trim/libc-summaries; null: neither read nor write a cache */
  cacheDir?: string | null;
}

const MUSL_LIBC = '/usr/lib/x86_64-linux-musl/libc.a';

/** the libc.a behind 'glibc' (the compiler's), 'musl' (Debian's musl-tools) or a path */
export function resolveLibcArchive(libc: string): string {
  if (libc === 'musl') {
    if (!existsSync(MUSL_LIBC)) throw new LinkError('bad-libc', `musl's libc.a is not at ${MUSL_LIBC} (Debian: apt-get install musl-tools)`);
    return MUSL_LIBC;
  }
  if (libc === 'glibc') {
    const r = spawnSync('gcc', ['-print-file-name=libc.a'], { encoding: 'utf8' });
    if (r.error !== undefined) throw new LinkError('missing-tool', 'gcc is needed to find glibc\'s libc.a but is not installed (Debian: apt-get install gcc libc6-dev)');
    const path = r.stdout.trim();
    if (!path.startsWith('/') || !existsSync(path)) throw new LinkError('bad-libc', 'gcc -print-file-name=libc.a found no static glibc (Debian: apt-get install libc6-dev)');
    return path;
  }
  const path = resolve(libc);
  if (!existsSync(path) || !statSync(path).isFile()) throw new LinkError('bad-libc', `--libc ${libc}: no such libc.a`);
  return path;
}

/** the summary of one libc.a, from the cache when its content was summarised before */
export function summarizeLibc(libc: string, opts: LibcSummaryOptions = {}): LibcSummary & { cached: boolean } {
  const archive = resolveLibcArchive(libc);
  const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const cacheDir = opts.cacheDir === undefined ? join(cacheHome(), 'libc-summaries') : opts.cacheDir;
  const cacheFile = cacheDir === null ? null : join(cacheDir, `${sha256}.json`);
  if (cacheFile !== null && existsSync(cacheFile)) {
    const parsed = LibcSummarySchema.safeParse(safeJson(readFileSync(cacheFile, 'utf8')));
    // a cache from another version, or damaged, is made again
    if (parsed.success && parsed.data.sha256 === sha256) return { ...parsed.data, cached: true };
  }
  const summary = computeSummary(archive, sha256, opts);
  if (cacheFile !== null) writeBytesAtomic(cacheFile, Buffer.from(JSON.stringify(summary)));
  return { ...summary, cached: false };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function computeSummary(archive: string, sha256: string, opts: AnalyzeOptions): LibcSummary {
  const t0 = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'ukl-trim-libc-'));
  try {
    // every member (whole archive), and libgcc's helpers resolved as the real link resolves them
    const combined = join(work, 'libc-all.o');
    const libgcc = spawnSync('gcc', ['-print-libgcc-file-name'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    const gccArchives = libgcc.startsWith('/') ? [libgcc, join(dirname(libgcc), 'libgcc_eh.a')].filter((p) => existsSync(p)) : [];
    const r = spawnSync('ld', ['-r', '-o', combined, '--allow-multiple-definition', '--whole-archive', archive, '--no-whole-archive', ...gccArchives], { encoding: 'utf8' });
    if (r.error !== undefined) throw new LinkError('missing-tool', `ld (binutils) is needed to summarise ${archive} but cannot run: ${r.error.message}`);
    if (r.status !== 0) throw new LinkError('link-failed', `ld -r --whole-archive ${archive} failed: ${(r.stderr ?? '').trim().split('\n')[0] ?? `exit ${r.status}`}`);
    const program = join(work, 'libc-all');
    const { stubs } = linkWithStubs(combined, program, undefined, 'the C library');
    const names = loadSyscallNames(opts);
    const { functions, aliases } = summarizeProgram(program, { stubs, syscallNames: names });
    return LibcSummarySchema.parse({
      version: LIBC_SUMMARY_VERSION,
      libc: archive,
      sha256,
      syscallNames: Object.fromEntries([...names].map(([nr, name]) => [String(nr), name])),
      functions,
      aliases,
      stats: { functions: Object.keys(functions).length, seconds: Math.round((performance.now() - t0) / 10) / 100 },
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Per function of a linked program: the syscalls its direct calls reach. Bottom-up over the
 * strongly connected components of the call graph (iterative Tarjan: no recursion limit), with
 * syscall wrappers (the number in a parameter) resolved at the calls that pass a constant.
 */
export function summarizeProgram(program: string, kernelSide: KernelSide = { stubs: [], syscallNames: new Map() }): Pick<LibcSummary, 'functions' | 'aliases'> {
  const elf = readElfFile(program);
  const scan = scanCode(elf);
  const graph = buildCallGraph(scan);
  const reached = reachedOverComponents(graph, ownSyscalls(scan, graph, kernelSide));
  const functions: LibcSummary['functions'] = {};
  for (let fn = 0; fn < graph.size; fn++) functions[graph.nameOf(fn)] = summaryOf(graph, reached, fn);
  const aliases: LibcSummary['aliases'] = {};
  for (const fn of scan.functions.all()) for (const alias of fn.aliases) if (alias !== fn.name && functions[alias] === undefined) aliases[alias] = fn.name;
  return { functions, aliases };
}

/** the UKL stubs a libc was linked with (entry_SYSCALL_64, bp_<name>), and the kernel's syscall names */
interface KernelSide {
  stubs: readonly string[];
  syscallNames: Map<number, string>;
}

/** what each function (by graph id) does itself */
interface OwnSyscalls {
  /** the syscalls it makes, a wrapper's included where this function passes the constant */
  direct: Array<Set<number>>;
  /** syscall → the wrapper this function calls to make it */
  wrapperVia: Array<Map<number, number>>;
  /** it holds a site whose number is not known */
  unknown: Uint8Array;
  /** it makes an indirect call or jump */
  indirect: Uint8Array;
}

/** what each component of the call graph reaches, and the next hop towards each syscall */
interface ReachedSyscalls {
  componentOf: Int32Array;
  /** per component */
  reach: Array<Set<number>>;
  reachUnknown: Uint8Array;
  reachIndirect: Uint8Array;
  /** per function: syscall → the callee on one path to it, or null where the function makes it */
  via: Array<Map<number, number | null>>;
}

/** functions that take the number in a register, each register once, to be followed to their callers */
class WrapperQueue {
  private readonly registers = new Map<number, Set<GprName>>();
  private readonly work: Array<[number, GprName]> = [];

  add(fn: number, register: GprName): void {
    const set = this.registers.get(fn) ?? new Set<GprName>();
    if (set.has(register)) return;
    set.add(register);
    this.registers.set(fn, set);
    this.work.push([fn, register]);
  }

  next(): [number, GprName] | undefined {
    return this.work.pop();
  }
}

function ownSyscalls(scan: CodeScan, graph: CallGraph, kernelSide: KernelSide): OwnSyscalls {
  const size = graph.size;
  const own: OwnSyscalls = {
    direct: Array.from({ length: size }, () => new Set<number>()),
    wrapperVia: Array.from({ length: size }, () => new Map()),
    unknown: new Uint8Array(size),
    indirect: new Uint8Array(size),
  };
  const id = (name: string | null): number | undefined => (name === null ? undefined : graph.idOf(name));
  // wrappers: the number arrives in a register; callers forwarding their own parameter are wrappers too
  const wrappers = new WrapperQueue();
  for (const site of scan.sites) {
    const fn = id(site.function);
    if (fn === undefined) continue;
    const numbers = siteNumbers(site);
    if (numbers.length > 0) for (const nr of numbers) own.direct[fn]?.add(nr);
    else if (site.numberInParameter !== undefined) wrappers.add(fn, site.numberInParameter);
    else own.unknown[fn] = 1;
  }
  addKernelStubs(own, wrappers, id, kernelSide);
  followWrappers(own, wrappers, id, scan.edges);
  for (const transfer of scan.indirect) {
    const fn = id(transfer.from);
    if (fn !== undefined) own.indirect[fn] = 1;
  }
  return own;
}

/** UKL's glibc fork calls `entry_SYSCALL_64` (number in rax) or `bp_<name>` instead of `syscall` */
function addKernelStubs(own: OwnSyscalls, wrappers: WrapperQueue, id: (name: string | null) => number | undefined, kernelSide: KernelSide): void {
  const numberOf = new Map([...kernelSide.syscallNames].map(([nr, name]) => [name, nr]));
  for (const stub of kernelSide.stubs) {
    const fn = id(stub);
    if (fn === undefined) continue;
    const plain = stub.replace(/^ukl_/, '');
    if (plain === 'entry_SYSCALL_64') wrappers.add(fn, 'rax');
    else if (plain.startsWith('bp_')) {
      const nr = numberOf.get(plain.slice(3).replace(/^(__x64_sys_|__do_sys_|sys_)/, ''));
      if (nr !== undefined) own.direct[fn]?.add(nr);
      else own.unknown[fn] = 1;
    }
  }
}

/** each wrapper's callers: a constant is their syscall, their own parameter makes them wrappers too */
function followWrappers(own: OwnSyscalls, wrappers: WrapperQueue, id: (name: string | null) => number | undefined, edges: readonly CallEdge[]): void {
  const incoming = new Map<number, CallEdge[]>();
  for (const edge of edges) {
    const to = id(edge.to);
    if (to === undefined || edge.from === null) continue;
    const list = incoming.get(to) ?? [];
    list.push(edge);
    incoming.set(to, list);
  }
  for (let item = wrappers.next(); item !== undefined; item = wrappers.next()) {
    const [fn, register] = item;
    for (const edge of incoming.get(fn) ?? []) {
      const caller = id(edge.from);
      if (caller === undefined || caller === fn) continue;
      const constant = edge.constantArguments?.[register];
      const forwarded = edge.forwardedParameters?.[register];
      if (constant !== undefined) {
        own.direct[caller]?.add(constant);
        // the path goes on into the wrapper that makes the call
        if (!own.wrapperVia[caller]?.has(constant)) own.wrapperVia[caller]?.set(constant, fn);
      } else if (forwarded !== undefined) wrappers.add(caller, forwarded);
      else own.unknown[caller] = 1;
    }
  }
}

/** Tarjan emits a component after every component it reaches: one pass in emission order */
function reachedOverComponents(graph: CallGraph, own: OwnSyscalls): ReachedSyscalls {
  const components = stronglyConnectedComponents(graph);
  const reached: ReachedSyscalls = {
    componentOf: new Int32Array(graph.size),
    reach: [],
    reachUnknown: new Uint8Array(components.length),
    reachIndirect: new Uint8Array(components.length),
    via: Array.from({ length: graph.size }, () => new Map()),
  };
  components.forEach((members, index) => {
    for (const member of members) reached.componentOf[member] = index;
  });
  components.forEach((members, index) => {
    const set = componentReach(graph, own, reached, members, index);
    reached.reach[index] = set;
    if (members.length > 1) nextHopsInCycle(graph, members, set, reached.via);
  });
  return reached;
}

/** what one component reaches: its members' own syscalls and flags, and what the components they call reach */
function componentReach(graph: CallGraph, own: OwnSyscalls, reached: ReachedSyscalls, members: number[], index: number): Set<number> {
  const { componentOf, reach, reachUnknown, reachIndirect, via } = reached;
  const set = new Set<number>();
  const inside = new Set(members);
  for (const member of members) {
    for (const nr of own.direct[member] ?? []) {
      set.add(nr);
      via[member]?.set(nr, own.wrapperVia[member]?.get(nr) ?? null);
    }
    if (own.unknown[member]) reachUnknown[index] = 1;
    if (own.indirect[member]) reachIndirect[index] = 1;
    for (const next of graph.successors(member)) {
      if (inside.has(next)) continue;
      const other = componentOf[next] ?? 0;
      if (reachUnknown[other]) reachUnknown[index] = 1;
      if (reachIndirect[other]) reachIndirect[index] = 1;
      for (const nr of reach[other] ?? []) {
        set.add(nr);
        if (!via[member]?.has(nr)) via[member]?.set(nr, next);
      }
    }
  }
  return set;
}

/**
 * Inside a cycle each member reaches what any member does; the next hop walks towards a member
 * that has it (breadth-first over reversed edges, so the hops never loop).
 */
function nextHopsInCycle(graph: CallGraph, members: number[], reach: Set<number>, via: Array<Map<number, number | null>>): void {
  for (const nr of reach) {
    const queue = members.filter((m) => via[m]?.has(nr));
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head] ?? 0;
      for (const caller of members) {
        if (via[caller]?.has(nr) || !graph.successors(caller).includes(node)) continue;
        via[caller]?.set(nr, node);
        queue.push(caller);
      }
    }
  }
}

function summaryOf(graph: CallGraph, reached: ReachedSyscalls, fn: number): LibcSummary['functions'][string] {
  const index = reached.componentOf[fn] ?? 0;
  const syscalls = [...(reached.reach[index] ?? [])].sort((a, b) => a - b);
  return {
    syscalls,
    via: syscalls.map((nr) => {
      const next = reached.via[fn]?.get(nr);
      return next === undefined || next === null ? null : graph.nameOf(next);
    }),
    indirect: reached.reachIndirect[index] === 1,
    unknown: reached.reachUnknown[index] === 1,
  };
}

/** a function's entry by any of its names */
export function summaryEntry(summary: LibcSummary, name: string): { name: string; entry: LibcSummary['functions'][string] } | undefined {
  const primary = summary.functions[name] !== undefined ? name : summary.aliases[name];
  const entry = primary === undefined ? undefined : summary.functions[primary];
  return primary === undefined || entry === undefined ? undefined : { name: primary, entry };
}

/**
 * Tarjan's algorithm with an explicit stack; components come out callees first. (graphlib's
 * `alg.tarjan` recurses: a 5,000-function chain overflowed Node's stack, and libc.a has more.)
 */
export function stronglyConnectedComponents(graph: CallGraph): number[][] {
  const size = graph.size;
  const index = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const onStack = new Uint8Array(size);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (let start = 0; start < size; start++) {
    if (index[start] !== -1) continue;
    // frames: [node, next successor position]
    const frames: Array<[number, number]> = [[start, 0]];
    index[start] = low[start] = counter++;
    stack.push(start);
    onStack[start] = 1;
    while (frames.length > 0) {
      const frame = frames[frames.length - 1] as [number, number];
      const [node, position] = frame;
      const successors = graph.successors(node);
      if (position < successors.length) {
        frame[1] = position + 1;
        const next = successors[position] ?? 0;
        if (index[next] === -1) {
          index[next] = low[next] = counter++;
          stack.push(next);
          onStack[next] = 1;
          frames.push([next, 0]);
        } else if (onStack[next]) {
          low[node] = Math.min(low[node] ?? 0, index[next] ?? 0);
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]] ?? 0, low[node] ?? 0);
      if (low[node] === index[node]) {
        const component: number[] = [];
        for (;;) {
          const member = stack.pop() as number;
          onStack[member] = 0;
          component.push(member);
          if (member === node) break;
        }
        components.push(component);
      }
    }
  }
  return components;
}

/** function → one path to a syscall (function → … → the function holding the site) */
export function summaryPath(summary: LibcSummary, fn: string, nr: number): string[] {
  const path: string[] = [];
  let current: string | null = summaryEntry(summary, fn)?.name ?? fn;
  const seen = new Set<string>();
  while (current !== null && !seen.has(current)) {
    seen.add(current);
    path.push(current);
    const entry: LibcSummary['functions'][string] | undefined = summary.functions[current];
    if (entry === undefined) break;
    const at = entry.syscalls.indexOf(nr);
    if (at < 0) break;
    current = entry.via[at] ?? null;
  }
  return path;
}
