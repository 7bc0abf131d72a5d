import { Decoder, DecoderOptions, Instruction, OpKind } from 'iced-x86';
import { SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS } from '../lto/elf.js';
import type { ElfFile, ElfSection } from '../lto/elf.js';
import type { CallEdge, CodeScan } from './syscall-sites.js';

/**
 * A compact call graph: function names interned to integers, edges in compressed adjacency arrays
 * (CSR), reachability by an iterative breadth-first search with parent pointers, so one witness
 * path per reached function costs O(1) memory and no recursion limit applies (200k functions).
 */
export class CallGraph {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private edgeFrom: number[] = [];
  private edgeTo: number[] = [];
  private offsets: Int32Array | null = null;
  private targets: Int32Array | null = null;

  /** the id of a name, created on first use */
  intern(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
      this.offsets = null;
    }
    return id;
  }

  idOf(name: string): number | undefined {
    return this.ids.get(name);
  }

  nameOf(id: number): string {
    return this.names[id] ?? `<${id}>`;
  }

  get size(): number {
    return this.names.length;
  }

  addEdge(from: string, to: string): void {
    this.edgeFrom.push(this.intern(from));
    this.edgeTo.push(this.intern(to));
    this.offsets = null;
  }

  /** successors of one node (the CSR arrays are built on first use after a change) */
  successors(id: number): Int32Array {
    if (this.offsets === null || this.targets === null) this.compact();
    const offsets = this.offsets as Int32Array;
    const targets = this.targets as Int32Array;
    return targets.subarray(offsets[id] ?? 0, offsets[id + 1] ?? 0);
  }

  private compact(): void {
    const count = this.names.length;
    const offsets = new Int32Array(count + 1);
    for (const from of this.edgeFrom) offsets[from + 1] = (offsets[from + 1] ?? 0) + 1;
    for (let i = 0; i < count; i++) offsets[i + 1] = (offsets[i + 1] ?? 0) + (offsets[i] ?? 0);
    const fill = offsets.slice(0, count);
    const targets = new Int32Array(this.edgeTo.length);
    for (let i = 0; i < this.edgeFrom.length; i++) {
      const from = this.edgeFrom[i] ?? 0;
      const at = fill[from] ?? 0;
      targets[at] = this.edgeTo[i] ?? 0;
      fill[from] = at + 1;
    }
    this.offsets = offsets;
    this.targets = targets;
  }
}

const UNREACHED = -1;
const ROOT = -2;

/**
 * Breadth-first reachability that can be resumed with more roots (the address-taken functions
 * join once an indirect call is found reachable). Parent pointers give the witness paths.
 * Our own rather than @dagrejs/graphlib's `alg.preorder`: graphlib's traversals recurse, and a
 * call chain of 5,000 functions overflowed Node's stack (measured: 1,000 fine, 5,000 RangeError),
 * while linked glibc apps have 1,000–5,000 functions. Users get the graph as a graphlib Graph
 * (callgraph/graphlib.ts), where its algorithms work at those sizes (Dijkstra, 36 ms on 1,039).
 */
export class Reachability {
  private readonly parent: Int32Array;
  /** why a root is one: 'root' or e.g. '<indirect call in qsort>' */
  private readonly rootReason = new Map<number, string>();
  private readonly rootVia = new Map<number, number>();
  private readonly queue: number[] = [];
  readonly reachedInOrder: number[] = [];

  constructor(private readonly graph: CallGraph) {
    this.parent = new Int32Array(graph.size).fill(UNREACHED);
  }

  /**
   * `via`: an already reached function that explains this root (the one making the indirect
   * call); witness paths then run root → … → via → reason → name.
   */
  addRoot(name: string, reason: string, via?: string): void {
    const id = this.graph.idOf(name);
    if (id === undefined || id >= this.parent.length || this.parent[id] !== UNREACHED) return;
    this.parent[id] = ROOT;
    this.rootReason.set(id, reason);
    const viaId = via === undefined ? undefined : this.graph.idOf(via);
    if (viaId !== undefined && viaId < this.parent.length && this.parent[viaId] !== UNREACHED) this.rootVia.set(id, viaId);
    this.queue.push(id);
    this.reachedInOrder.push(id);
  }

  run(): void {
    // an index instead of shift(): the queue never shrinks, but every node enters it once
    for (let head = 0; head < this.queue.length; head++) {
      const node = this.queue[head] ?? 0;
      for (const next of this.graph.successors(node)) {
        if (this.parent[next] !== UNREACHED) continue;
        this.parent[next] = node;
        this.queue.push(next);
        this.reachedInOrder.push(next);
      }
    }
  }

  isReached(name: string): boolean {
    const id = this.graph.idOf(name);
    return id !== undefined && id < this.parent.length && this.parent[id] !== UNREACHED;
  }

  /** root → … → name, with the pseudo-node explaining an indirect entry first; [] if unreached */
  pathTo(name: string): string[] {
    const id = this.graph.idOf(name);
    if (id === undefined || !this.isReached(name)) return [];
    const path: string[] = [];
    let node = id;
    // every step goes to a node reached earlier, so the walk ends at a plain root within `size` steps
    for (let steps = 0; steps <= this.parent.length; steps++) {
      path.push(this.graph.nameOf(node));
      const parent = this.parent[node] ?? ROOT;
      if (parent === ROOT) {
        const reason = this.rootReason.get(node);
        if (reason !== undefined && reason !== 'root') path.push(reason);
        const via = this.rootVia.get(node);
        if (via === undefined) break;
        node = via;
        continue;
      }
      node = parent;
    }
    return path.reverse();
  }
}

/** The call graph of a scanned executable: every function a node, every direct call or jump an edge. */
export function buildCallGraph(scan: CodeScan): CallGraph {
  const graph = new CallGraph();
  for (const fn of scan.functions.all()) graph.intern(fn.name);
  for (const edge of scan.edges) {
    if (edge.from === null || edge.to === null) continue;
    if (edge.from !== edge.to) graph.addEdge(edge.from, edge.to);
  }
  return graph;
}

/** a direct call or jump that lands where no function symbol is (a `.plt` stub, `call 0`) */
export function isUnnamedTarget(edge: CallEdge): boolean {
  return edge.to === null && edge.toAddress !== null && edge.toAddress !== 0;
}

/**
 * What code and data say about addresses, for a static executable (no relocations left):
 *
 * - functions whose address is taken: an 8-byte aligned word equal to a function start in any
 *   allocated data section (.data, .data.rel.ro, .rodata, .init_array, .fini_array, .got,
 *   glibc's __libc_IO_vtables, …), or an immediate / rip-relative operand equal to a function
 *   start in code (`lea f(%rip)`, `mov $f, %edi`).
 * - per function, the data addresses its code names (for string literals such as "/proc/…").
 *
 * Why address-taken functions bound indirect calls: an indirect call or jump can only reach an
 * address that was computed from a constant the linker wrote into code or data; with no
 * relocations and no address arithmetic across functions, that constant is a function start that
 * appears literally in code or data, and the word scan finds every such literal (pointers are
 * 8-byte aligned in data; 4-byte absolute pointers do not occur in x86-64 data). A pointer named
 * only by code exists only once that code runs, so analyze.ts counts it only when its function is
 * reachable. Which *data* is reachable is not tracked: every pointer in data counts. (Cutting data
 * at symbols was tried and gained nothing on the fixtures: glibc's vtable check names
 * `__start___libc_IO_vtables`, which soundly reaches every vtable.)
 */
export interface AddressFacts {
  /** start addresses of functions whose address is taken anywhere (data and code) */
  addressTaken: Set<number>;
  /** start addresses of functions whose address a data word or relocation holds */
  addressTakenInData: Set<number>;
  /** function start → the function starts its instructions name (`lea f(%rip)`, `mov $f`) */
  codeReferences: Map<number, number[]>;
  /** function start → data addresses (outside code) its instructions name */
  dataReferences: Map<number, number[]>;
}

/** the key of code no function symbol covers, in AddressFacts' per-function maps: always counted */
export const UNATTRIBUTED_CODE = -1;

export function collectAddressFacts(elf: ElfFile, scan: CodeScan): AddressFacts {
  const functionStarts = new Set(scan.functions.all().map((f) => f.start));
  const addressTaken = new Set<number>();
  const dataSections = elf.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0 && (s.flags & SHF_EXECINSTR) === 0 && s.type !== SHT_NOBITS && s.size > 0);
  const addressTakenInData = new Set<number>();
  for (const section of dataSections) scanDataWords(elf, section, functionStarts, addressTakenInData);
  // a static PIE keeps its pointers as relocation addends (R_X86_64_RELATIVE, IRELATIVE)
  for (const relocations of elf.relocationSections()) {
    for (const relocation of relocations.relocations) if (functionStarts.has(relocation.addend)) addressTakenInData.add(relocation.addend);
  }
  for (const start of addressTakenInData) addressTaken.add(start);
  const codeReferences = new Map<number, number[]>();
  const dataReferences = new Map<number, number[]>();
  // a section's end counts: `__stop_SECTION` names it
  const inData = (address: number): boolean => dataSections.some((s) => address >= s.address && address <= s.address + s.size);
  const instruction = new Instruction();
  try {
    for (const section of elf.executableSections()) {
      const data = elf.sectionData(section);
      const base = section.address;
      const decoder = new Decoder(64, data, DecoderOptions.None);
      try {
        const functions = scan.functions.inSection(section.index).filter((f) => f.start >= base && f.start < base + data.length);
        // code before the first symbol (e.g. `.plt`) belongs to no function: credited to UNATTRIBUTED_CODE
        const starts = [{ start: UNATTRIBUTED_CODE, from: base }, ...functions.map((f) => ({ start: f.start, from: f.start }))];
        for (let index = 0; index < starts.length; index++) {
          const fn = starts[index];
          if (fn === undefined) continue;
          const end = (starts[index + 1]?.from ?? base + data.length) - base;
          decoder.position = fn.from - base;
          decoder.ip = BigInt(fn.from);
          let references: number[] | undefined;
          let functionsNamed: number[] | undefined;
          while (decoder.position < end) {
            decoder.decodeOut(instruction);
            for (const value of operandAddresses(instruction)) {
              if (functionStarts.has(value)) {
                addressTaken.add(value);
                // a function naming its own address is reached already whenever this code runs
                if (value !== fn.start) (functionsNamed ??= []).push(value);
              } else if (inData(value)) (references ??= []).push(value);
            }
          }
          if (references !== undefined) dataReferences.set(fn.start, [...(dataReferences.get(fn.start) ?? []), ...references]);
          if (functionsNamed !== undefined) codeReferences.set(fn.start, [...(codeReferences.get(fn.start) ?? []), ...functionsNamed]);
        }
      } finally {
        decoder.free();
      }
    }
  } finally {
    instruction.free();
  }
  return { addressTaken, addressTakenInData, codeReferences, dataReferences };
}

/** the absolute addresses an instruction names: rip-relative memory and immediates that could be addresses */
function operandAddresses(instruction: Instruction): number[] {
  const found: number[] = [];
  if (instruction.isIpRelMemoryOperand) found.push(Number(instruction.ipRelMemoryAddress));
  const count = instruction.opCount;
  for (let operand = 0; operand < count; operand++) {
    const kind = instruction.opKind(operand);
    if (kind === OpKind.Immediate32 || kind === OpKind.Immediate32to64 || kind === OpKind.Immediate64) {
      const value = Number(BigInt.asUintN(64, instruction.immediate(operand)));
      // addresses of a non-PIE executable sit above 0x400000; small constants are not addresses
      if (value >= 0x1000 && Number.isSafeInteger(value)) found.push(value);
    } else if (kind === OpKind.Memory && instruction.memoryBase === 0 && instruction.memoryIndex === 0 && !instruction.isIpRelMemoryOperand) {
      const value = Number(instruction.memoryDisplacementU64);
      if (value >= 0x1000 && Number.isSafeInteger(value)) found.push(value);
    }
  }
  return found;
}

function scanDataWords(elf: ElfFile, section: ElfSection, functionStarts: Set<number>, out: Set<number>): void {
  const bytes = elf.sectionData(section);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // the first aligned word of the section in memory
  const skip = (8 - (section.address % 8)) % 8;
  for (let at = skip; at + 8 <= bytes.length; at += 8) {
    if (view.getUint32(at + 4, true) !== 0) continue;
    const low = view.getUint32(at, true);
    if (functionStarts.has(low)) out.add(low);
  }
}

/** the 8-byte little-endian words of a section (array-of-pointers sections such as .init_array) */
export function pointerArray(elf: ElfFile, section: ElfSection): number[] {
  const bytes = elf.sectionData(section);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; at += 8) words.push(view.getUint32(at + 4, true) * 0x1_0000_0000 + view.getUint32(at, true));
  return words;
}

