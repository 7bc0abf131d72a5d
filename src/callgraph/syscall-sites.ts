import { Code, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind } from 'iced-x86';
import type { Register } from 'iced-x86';
import { isSpecialSectionIndex } from '../lto/elf.js';
import type { ElfFile, ElfRelocation, ElfSection, ElfSymbol } from '../lto/elf.js';
import { strippedFunctionStarts, syntheticFunctionName } from './function-starts.js';

/**
 * A linear sweep over the code of a static executable or a relocatable object (resynchronised at
 * every function symbol, as objdump does): every `syscall` instruction with the number recovered
 * from `rax` — within its basic block, and where other paths join, by reaching constants over the
 * function's control-flow graph — and every direct call or jump that leaves its function, with the
 * constant arguments at that point (the call-graph input). Addresses are virtual addresses in
 * executables and section offsets in relocatable objects (where every section starts at 0).
 */

export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
export type GprName = (typeof GPR_NAMES)[number];

export interface SyscallSite {
  section: string;
  address: number;
  /** the containing function's preferred symbol name, null in code no symbol covers */
  function: string | null;
  functionAddress: number | null;
  /** the syscall number, or null: "may be any syscall" (see reason), or one of `numbers` */
  nr: number | null;
  /** the number is one of these (paths that merge, a conditional move); nr is then null */
  numbers?: number[];
  reason?: string;
  /** set when the number arrives from the caller in this register: the function is a syscall wrapper */
  numberInParameter?: GprName;
  /** the function called to make the syscall (UKL's `call entry_SYSCALL_64`); unset for the instruction */
  via?: string;
  /**
   * the syscall's first argument (rdi) where the block shows it: a constant, or the caller's
   * parameter register it still holds (the socket family of `socket`, followed like the number)
   */
  firstArgument?: { constant: number } | { parameter: GprName };
}

export interface CallEdge {
  kind: 'call' | 'jump';
  section: string;
  /** address of the call/jump instruction */
  site: number;
  from: string | null;
  /**
   * the function control enters: the preferred name of the function holding the target (which
   * need not be its start, see targetIsFunctionStart), an undefined symbol's name, or null when
   * no symbol covers the target (e.g. glibc's `.iplt` stubs for IFUNC calls)
   */
  to: string | null;
  /** target address (a section offset in objects; null for a relocation to an undefined symbol) */
  toAddress: number | null;
  /** the section holding the target, when it is defined here */
  toSection: string | null;
  /** false for jumps into the middle of another function (shared tails, `.cold` parts going back) */
  targetIsFunctionStart: boolean;
  /** the target came from a relocation (relocatable objects), not from the instruction bytes */
  viaRelocation: boolean;
  /** argument registers (and rax) holding a constant at the transfer, e.g. `{ rdi: 39 }` before `call syscall` */
  constantArguments?: Partial<Record<GprName, number>>;
  /** argument registers still holding the caller's own parameter, e.g. `{ rdi: 'rdi' }`: a wrapper passing its number on */
  forwardedParameters?: Partial<Record<GprName, GprName>>;
}

export interface IndirectTransfer {
  kind: 'call' | 'jump';
  section: string;
  site: number;
  from: string | null;
}

export interface CodeScan {
  sites: SyscallSite[];
  edges: CallEdge[];
  indirect: IndirectTransfer[];
  functions: FunctionIndex;
  instructionCount: number;
  invalidInstructionCount: number;
  bytesDecoded: number;
}

export interface CodeFunction {
  name: string;
  /** every symbol at this address (aliases such as write/__write/__libc_write), preferred first */
  aliases: string[];
  sectionIndex: number;
  start: number;
  /** st_size of the largest alias; 0 for assembler labels without .size */
  size: number;
}

const FUNCTION_TYPES = new Set(['FUNC', 'IFUNC']);
const BIND_RANK: Record<string, number> = { GLOBAL: 0, WEAK: 1, UNIQUE: 1, LOCAL: 2 };

/**
 * Function symbols of the executable sections, looked up by address. In an executable all
 * sections share one address space; in a relocatable object each section is its own space.
 */
export class FunctionIndex {
  private readonly spaces = new Map<number, CodeFunction[]>();
  private readonly sectionRanges = new Map<number, [number, number]>();

  constructor(private readonly elf: ElfFile) {
    const perAddress = new Map<string, ElfSymbol[]>();
    const executable = new Set(elf.executableSections().map((s) => s.index));
    for (const section of elf.executableSections()) this.sectionRanges.set(section.index, [section.address, section.address + section.size]);
    const symbols = elf.symbols().filter((s) => executable.has(s.sectionIndex) && s.name !== '' && !isSpecialSectionIndex(s.sectionIndex));
    const functions = symbols.filter((s) => FUNCTION_TYPES.has(s.type));
    if (functions.length === 0 && elf.type !== 'REL') {
      this.addStrippedFunctions(elf);
      return;
    }
    // assembler labels without a type count only where no sized function covers them (musl's
    // __cp_begin sits inside __syscall_cp_asm and must not split it)
    const sortedFunctions = [...functions].sort((a, b) => a.sectionIndex - b.sectionIndex || a.value - b.value);
    const covered = (s: ElfSymbol): boolean => {
      // the sized function starting closest before the label decides
      let low = 0;
      let high = sortedFunctions.length - 1;
      let before: ElfSymbol | undefined;
      while (low <= high) {
        const middle = (low + high) >> 1;
        const f = sortedFunctions[middle];
        if (f === undefined) break;
        if (f.sectionIndex < s.sectionIndex || (f.sectionIndex === s.sectionIndex && f.value <= s.value)) {
          before = f;
          low = middle + 1;
        } else high = middle - 1;
      }
      return before !== undefined && before.sectionIndex === s.sectionIndex && s.value < before.value + before.size;
    };
    const labels = symbols.filter((s) => s.type === 'NOTYPE' && !s.name.startsWith('.L') && !covered(s));
    for (const symbol of [...functions, ...labels]) {
      const key = `${this.spaceOf(symbol.sectionIndex)}:${symbol.value}`;
      const list = perAddress.get(key);
      if (list === undefined) perAddress.set(key, [symbol]);
      else list.push(symbol);
    }
    for (const group of perAddress.values()) {
      group.sort(preferSymbol);
      const first = group[0];
      if (first === undefined) continue;
      const space = this.spaceOf(first.sectionIndex);
      const list = this.spaces.get(space) ?? [];
      list.push({
        name: first.name,
        aliases: [...new Set(group.map((s) => s.name))],
        sectionIndex: first.sectionIndex,
        start: first.value,
        size: Math.max(...group.map((s) => s.size)),
      });
      this.spaces.set(space, list);
    }
    for (const list of this.spaces.values()) list.sort((a, b) => a.start - b.start);
  }

  /** a stripped executable: the starts its unwind table, entry, arrays and calls show (function-starts.ts) */
  private addStrippedFunctions(elf: ElfFile): void {
    const sections = elf.executableSections();
    const list: CodeFunction[] = [];
    for (const { start, size } of strippedFunctionStarts(elf)) {
      const section = sections.find((x) => start >= x.address && start < x.address + x.size);
      if (section === undefined) continue;
      const name = syntheticFunctionName(start);
      list.push({ name, aliases: [name], sectionIndex: section.index, start, size });
    }
    this.spaces.set(0, list);
  }

  private spaceOf(sectionIndex: number): number {
    return this.elf.type === 'REL' ? sectionIndex : 0;
  }

  /** functions of one section, by start address */
  inSection(sectionIndex: number): CodeFunction[] {
    const list = this.spaces.get(this.spaceOf(sectionIndex)) ?? [];
    return this.elf.type === 'REL' ? list : list.filter((f) => f.sectionIndex === sectionIndex);
  }

  all(): CodeFunction[] {
    return [...this.spaces.values()].flat();
  }

  /** the function whose start is the closest at or before `address` (same section in objects) */
  containing(sectionIndex: number, address: number): CodeFunction | undefined {
    const list = this.spaces.get(this.spaceOf(sectionIndex));
    if (list === undefined) return undefined;
    let low = 0;
    let high = list.length - 1;
    let found: CodeFunction | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const candidate = list[middle];
      if (candidate === undefined) break;
      if (candidate.start <= address) {
        found = candidate;
        low = middle + 1;
      } else high = middle - 1;
    }
    // never the last function of an earlier section (a `.plt` without symbols follows `.init`)
    const range = found === undefined ? undefined : this.sectionRanges.get(found.sectionIndex);
    if (range !== undefined && this.elf.type !== 'REL' && (address < range[0] || address >= range[1])) return undefined;
    return found;
  }

  /** the executable section holding an address (executables), for naming a target's section */
  sectionIndexAt(address: number): number | undefined {
    for (const [index, [start, end]] of this.sectionRanges) if (address >= start && address < end) return index;
    return undefined;
  }

  /** an executable's function by virtual address, whatever section holds it */
  containingAddress(address: number): CodeFunction | undefined {
    return this.containing(0, address);
  }
}

/** GLOBAL before WEAK before LOCAL; FUNC before labels; then the plainer, shorter name */
function preferSymbol(a: ElfSymbol, b: ElfSymbol): number {
  const rank = (s: ElfSymbol): number => (BIND_RANK[s.bind] ?? 3) * 2 + (FUNCTION_TYPES.has(s.type) ? 0 : 1);
  return rank(a) - rank(b) || a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** 64-bit general-purpose register index (rax 0 … r15 15) of a 32- or 64-bit register, else -1 */
function wideGprIndex(register: Register): number {
  const value = register as number;
  if (value >= 53 && value <= 68) return value - 53; // RAX..R15
  if (value >= 37 && value <= 52) return value - 37; // EAX..R15D (writes zero-extend)
  return -1;
}

/** index of any general-purpose register, including 8- and 16-bit parts, else -1 */
function anyGprIndex(register: Register): number {
  const wide = wideGprIndex(register);
  if (wide >= 0) return wide;
  const value = register as number;
  if (value >= 21 && value <= 36) return value - 21; // AX..R15W
  if (value >= 1 && value <= 4) return value - 1; // AL CL DL BL
  if (value >= 5 && value <= 8) return value - 5; // AH CH DH BH
  if (value >= 9 && value <= 20) return value - 5; // SPL..R15L
  return -1;
}

/**
 * What a register holds: one constant, one of a few constants (paths that merge, a conditional
 * move: musl's `__stdio_read` picks read or readv), the caller's parameter, or unknown.
 */
type RegisterValue =
  | { kind: 'constant'; value: number }
  | { kind: 'constants'; values: number[] }
  | { kind: 'entry'; register: number }
  | { kind: 'unknown'; why: string };

/** more values than this and a set says little: unknown */
const MAX_VALUE_SET = 8;

const CONDITIONAL_MOVES = new Set<Mnemonic>([
  Mnemonic.Cmova, Mnemonic.Cmovae, Mnemonic.Cmovb, Mnemonic.Cmovbe, Mnemonic.Cmove, Mnemonic.Cmovg, Mnemonic.Cmovge, Mnemonic.Cmovl,
  Mnemonic.Cmovle, Mnemonic.Cmovne, Mnemonic.Cmovno, Mnemonic.Cmovnp, Mnemonic.Cmovns, Mnemonic.Cmovo, Mnemonic.Cmovp, Mnemonic.Cmovs,
]);

/** the constants a value may be, or undefined when it is not made of constants */
function constantsOf(value: RegisterValue | undefined): number[] | undefined {
  if (value?.kind === 'constant') return [value.value];
  if (value?.kind === 'constants') return value.values;
  return undefined;
}

/** either value: a constant, a set of constants, or unknown when they are not both constants */
function unionOf(a: RegisterValue, b: RegisterValue, why: string): RegisterValue {
  const left = constantsOf(a);
  const right = constantsOf(b);
  if (left === undefined || right === undefined) return unknownValue(why);
  const values = [...new Set([...left, ...right])].sort((x, y) => x - y);
  if (values.length > MAX_VALUE_SET) return unknownValue(`${why} (more than ${MAX_VALUE_SET} values)`);
  return values.length === 1 ? { kind: 'constant', value: values[0] as number } : { kind: 'constants', values };
}

const ONLY_FIRST_OPERAND_WRITTEN = new Set<Mnemonic>([
  Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Lea, Mnemonic.Add, Mnemonic.Sub,
  Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Adc, Mnemonic.Sbb, Mnemonic.Shl, Mnemonic.Shr, Mnemonic.Sar,
  Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Inc, Mnemonic.Dec, Mnemonic.Neg, Mnemonic.Not, Mnemonic.Imul, Mnemonic.Bswap,
]);
const NO_REGISTER_WRITTEN = new Set<Mnemonic>([Mnemonic.Cmp, Mnemonic.Test, Mnemonic.Nop, Mnemonic.Endbr64, Mnemonic.Bt]);
const MEMORY_DESTINATION_ONLY = new Set<Mnemonic>([
  Mnemonic.Mov, Mnemonic.Add, Mnemonic.Sub, Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Inc, Mnemonic.Dec,
]);

const ARGUMENT_REGISTERS = new Set<GprName>(['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9', 'rax', 'r10']);

interface PendingEdge {
  edge: CallEdge;
  offset: number;
  sweepBlockStart: number;
  function: CodeFunction | undefined;
}

/** registers that carry arguments into a call (System V order), plus rax for UKL's entry_SYSCALL_64 */
const CALL_ARGUMENT_REGISTERS: readonly number[] = [7, 6, 2, 1, 8, 9, 0];
const RDI = 7;

interface PendingSite {
  section: ElfSection;
  offset: number;
  /** a call to a syscall entry (ScanOptions.syscallEntries), by its name */
  via?: string;
  /** block start as seen by the sweep: after the last control transfer or at the function start */
  sweepBlockStart: number;
  function: CodeFunction | undefined;
}

/** what the sweep of one section leaves for the resolution phase */
interface SweptSection {
  section: ElfSection;
  data: Uint8Array;
  base: number;
  functions: CodeFunction[];
  relocations: Map<number, ElfRelocation>;
  /** direct jump/call targets inside this section from anywhere (relocations included), as sorted section offsets */
  branchTargets: number[];
  pendingSites: PendingSite[];
  pendingEdges: PendingEdge[];
}

/** how control can leave a function, as far as returning to its caller goes */
interface FunctionExits {
  /** a `ret`, an indirect jump, or a way out the sweep cannot follow: the function may return */
  returns: boolean;
  /** functions it jumps to (tail calls, shared tails) or ends in a call to: it returns if one of them does */
  continuesIn: Set<string>;
  /** the last instruction that is not padding, while the sweep is in the function */
  last?: { flow: FlowControl; callee: string | null };
}

/** shared by the phases: iced objects (freed at the end) and who transfers control where */
interface ScanContext {
  elf: ElfFile;
  symbols: ElfSymbol[];
  functions: FunctionIndex;
  instruction: Instruction;
  infoFactory: InstructionInfoFactory;
  /** `space:address` → number of direct jumps and calls to it, over all code */
  incoming: Map<string, number>;
  /** what the sweep saw of each function's ways out (for mayReturn) */
  exits: Map<string, FunctionExits>;
  /** functions that may return to their caller (least fixpoint over exits); filled after the sweep */
  mayReturn: Set<string>;
  syscallEntries: ReadonlyMap<number, string>;
}

export interface ScanOptions {
  /**
   * function starts whose direct calls are system calls with the instruction's registers (UKL's
   * `entry_SYSCALL_64`, called from kernel mode): such a call is a site like `syscall` itself
   */
  syscallEntries?: ReadonlyMap<number, string>;
}

export function scanCode(elf: ElfFile, opts: ScanOptions = {}): CodeScan {
  const functions = new FunctionIndex(elf);
  const scan: CodeScan = { sites: [], edges: [], indirect: [], functions, instructionCount: 0, invalidInstructionCount: 0, bytesDecoded: 0 };
  const instruction = new Instruction();
  const infoFactory = new InstructionInfoFactory();
  const context: ScanContext = { elf, symbols: elf.symbols(), functions, instruction, infoFactory, incoming: new Map(), exits: new Map(), mayReturn: new Set(), syscallEntries: opts.syscallEntries ?? new Map() };
  try {
    // all sections are swept first: a jump from a `.text.unlikely` part back into a function in
    // `.text` must be known before that function's registers are tracked
    const swept = elf.executableSections().map((section) => sweepSection(context, section, scan));
    collectBranchTargets(context, swept);
    computeMayReturn(context);
    const flows: FunctionFlows = new Map();
    for (const part of swept) resolveSites(context, part, scan, flows);
    const joined = swept.flatMap((part) => resolveEdges(context, part));
    followWrapperArguments(context, scan, joined, flows);
  } finally {
    instruction.free();
    infoFactory.free();
  }
  return scan;
}

/** every section's incoming targets: a label another section jumps to also splits a block */
function collectBranchTargets(context: ScanContext, swept: SweptSection[]): void {
  const bySpace = new Map<number, number[]>();
  for (const key of context.incoming.keys()) {
    const colon = key.indexOf(':');
    const space = Number(key.slice(0, colon));
    const list = bySpace.get(space) ?? [];
    list.push(Number(key.slice(colon + 1)));
    bySpace.set(space, list);
  }
  for (const part of swept) {
    const candidates = bySpace.get(context.elf.type === 'REL' ? part.section.index : 0) ?? [];
    part.branchTargets = candidates
      .filter((address) => address >= part.base && address < part.base + part.data.length)
      .map((address) => address - part.base)
      .sort((a, b) => a - b);
  }
}

function spaceKey(elf: ElfFile, sectionIndex: number, address: number): string {
  return `${elf.type === 'REL' ? sectionIndex : 0}:${address}`;
}

function countIncoming(context: ScanContext, key: string): void {
  context.incoming.set(key, (context.incoming.get(key) ?? 0) + 1);
}

function sweepSection(context: ScanContext, section: ElfSection, scan: CodeScan): SweptSection {
  const { elf, instruction, functions } = context;
  const data = elf.sectionData(section);
  const base = section.address;
  const relocations = new Map<number, ElfRelocation>();
  if (elf.type === 'REL') for (const r of elf.relocationsFor(section.index)) relocations.set(r.offset, r);
  const starts = functions.inSection(section.index).filter((f) => f.start >= base && f.start < base + data.length);
  const swept: SweptSection = { section, data, base, functions: starts, relocations, branchTargets: [], pendingSites: [], pendingEdges: [] };
  const decoder = new Decoder(64, data, DecoderOptions.None);
  try {
    decoder.ip = BigInt(base);
    let nextStartIndex = 0;
    let current: CodeFunction | undefined;
    let blockStart = 0;
    const exitsOf = (fn: CodeFunction): FunctionExits => {
      let exits = context.exits.get(fn.name);
      if (exits === undefined) context.exits.set(fn.name, (exits = { returns: false, continuesIn: new Set() }));
      return exits;
    };
    while (decoder.canDecode) {
      const offset = decoder.position;
      // entering the next function: the block starts afresh
      let nextStart = starts[nextStartIndex];
      while (nextStart !== undefined && nextStart.start - base <= offset) {
        if (current !== undefined) {
          const exits = exitsOf(current);
          endOfFunction(exits);
          // straight-line code running into the next start (a split where a stripped binary shows
          // a start inside code): control goes on there
          if (exits.last !== undefined && (exits.last.flow === FlowControl.Next || exits.last.flow === FlowControl.ConditionalBranch)) {
            scan.edges.push(fallThroughEdge(section, current, nextStart));
            exits.continuesIn.add(nextStart.name);
          }
        }
        current = nextStart;
        blockStart = nextStart.start - base;
        nextStart = starts[++nextStartIndex];
      }
      decoder.decodeOut(instruction);
      const end = decoder.position;
      // an instruction running over a function start was a misdecode (data or padding): resync
      if (nextStart !== undefined && nextStart.start - base < end) {
        decoder.position = nextStart.start - base;
        decoder.ip = BigInt(nextStart.start);
        continue;
      }
      scan.instructionCount++;
      const flow = instruction.flowControl;
      const exits = current === undefined ? undefined : exitsOf(current);
      if (exits !== undefined && !(instruction.mnemonic === Mnemonic.Nop || instruction.mnemonic === Mnemonic.Int3)) {
        exits.last = { flow, callee: null };
        if (flow === FlowControl.Return || flow === FlowControl.IndirectBranch) exits.returns = true;
      }
      if (flow === FlowControl.Next) continue;
      const from = current?.name ?? null;
      if (flow === FlowControl.Call && instruction.code === Code.Syscall) {
        swept.pendingSites.push({ section, offset, sweepBlockStart: blockStart, function: current });
      } else if (flow === FlowControl.Call || flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch) {
        const kind = flow === FlowControl.Call ? 'call' : 'jump';
        const relocation = end - offset >= 5 ? relocations.get(end - 4) : undefined;
        if (relocation !== undefined) {
          const { edge, targetKey } = edgeFromRelocation(context, relocation, kind, section, base + offset, from);
          if (targetKey !== null) countIncoming(context, targetKey);
          scan.edges.push(edge);
          noteTransfer(exits, edge);
          swept.pendingEdges.push({ edge, offset, sweepBlockStart: blockStart, function: current });
        } else if (instruction.op0Kind === OpKind.NearBranch64) {
          const target = Number(instruction.nearBranch64);
          countIncoming(context, spaceKey(elf, section.index, target));
          const inside = current !== undefined && target >= current.start && (nextStart === undefined || target < nextStart.start);
          const entry = kind === 'call' ? context.syscallEntries.get(target) : undefined;
          if (entry !== undefined) swept.pendingSites.push({ section, offset, sweepBlockStart: blockStart, function: current, via: entry });
          if (kind === 'call' || !inside) {
            const callee = elf.type === 'REL' ? functions.containing(section.index, target) : functions.containingAddress(target);
            const targetSection = elf.type === 'REL' ? section : elf.section(functions.sectionIndexAt(target) ?? -1);
            const edge: CallEdge = {
              kind,
              section: section.name,
              site: base + offset,
              from,
              to: callee?.name ?? null,
              toAddress: target,
              toSection: targetSection?.name ?? null,
              targetIsFunctionStart: callee !== undefined && callee.start === target,
              viaRelocation: false,
            };
            scan.edges.push(edge);
            noteTransfer(exits, edge);
            swept.pendingEdges.push({ edge, offset, sweepBlockStart: blockStart, function: current });
          }
        }
      } else if (flow === FlowControl.IndirectCall || flow === FlowControl.IndirectBranch) {
        scan.indirect.push({ kind: flow === FlowControl.IndirectCall ? 'call' : 'jump', section: section.name, site: base + offset, from });
      } else if (flow === FlowControl.Exception && instruction.code === Code.INVALID) {
        scan.invalidInstructionCount++;
      }
      blockStart = end;
    }
    if (current !== undefined) endOfFunction(exitsOf(current));
    scan.bytesDecoded += data.length;
  } finally {
    decoder.free();
  }
  return swept;
}

function fallThroughEdge(section: ElfSection, from: CodeFunction, to: CodeFunction): CallEdge {
  return { kind: 'jump', section: section.name, site: to.start, from: from.name, to: to.name, toAddress: to.start, toSection: section.name, targetIsFunctionStart: true, viaRelocation: false };
}

/** a direct call or jump out of a function: jumps continue there; a call may be the last word */
function noteTransfer(exits: FunctionExits | undefined, edge: CallEdge): void {
  if (exits === undefined) return;
  if (edge.kind === 'call') {
    if (exits.last !== undefined) exits.last.callee = edge.to;
    return;
  }
  // a jump to a name we cannot follow may end in a return
  if (edge.to === null) exits.returns = true;
  else if (edge.to !== edge.from) exits.continuesIn.add(edge.to);
}

/** the function's code ends (the next one starts, or the section does) */
function endOfFunction(exits: FunctionExits): void {
  const last = exits.last;
  if (last === undefined) return;
  if (last.flow === FlowControl.Call && last.callee !== null) {
    // after a final call control runs off the end only if the callee returns
    exits.continuesIn.add(last.callee);
  } else if (fallsThrough(last.flow)) {
    // running off the end into the next function (or the section's end): assume it may return
    exits.returns = true;
  }
}

/**
 * Least fixpoint: a function may return if it has a `ret` (or an exit the sweep cannot follow),
 * or jumps to, or ends in a call to, a function that may return. Names that are not functions
 * of this file (undefined symbols, PLT stubs) may return. What stays out never returns (abort,
 * exit, __libc_fatal): a call to it does not fall through in the register dataflow.
 */
function computeMayReturn(context: ScanContext): void {
  const known = new Set(context.functions.all().map((f) => f.name));
  const callers = new Map<string, string[]>();
  const work: string[] = [];
  const mark = (name: string): void => {
    if (context.mayReturn.has(name)) return;
    context.mayReturn.add(name);
    work.push(name);
  };
  for (const [name, exits] of context.exits) {
    if (exits.returns) mark(name);
    for (const target of exits.continuesIn) {
      if (!known.has(target)) mark(name);
      const list = callers.get(target) ?? [];
      list.push(name);
      callers.set(target, list);
    }
  }
  // a function the sweep never entered (no instructions) is unknown: it may return
  for (const name of known) if (!context.exits.has(name)) mark(name);
  for (let name = work.pop(); name !== undefined; name = work.pop()) for (const caller of callers.get(name) ?? []) mark(caller);
}

/** the sites' registers: the block first, the function's paths where other paths join */
function resolveSites(context: ScanContext, swept: SweptSection, scan: CodeScan, flows: FunctionFlows): void {
  withDecoder(swept, (decoder) => {
    for (const site of swept.pendingSites) {
      const blockStart = latestTargetIn(swept.branchTargets, site.sweepBlockStart, site.offset);
      scan.sites.push(resolveSite(context, decoder, swept, site, blockStart, flows));
    }
  });
}

/** every number a site may make: its one number, its set, or none */
export function siteNumbers(site: SyscallSite): number[] {
  return site.numbers ?? (site.nr === null ? [] : [site.nr]);
}

/** a call whose arguments were set before a join in its function: known only over the function's paths */
interface JoinedEdge {
  swept: SweptSection;
  pending: PendingEdge;
  fn: CodeFunction;
}

/** each call's arguments from its own block; the calls after a join are returned for followWrapperArguments */
function resolveEdges(context: ScanContext, swept: SweptSection): JoinedEdge[] {
  const joined: JoinedEdge[] = [];
  withDecoder(swept, (decoder) => {
    for (const pending of swept.pendingEdges) {
      const blockStart = latestTargetIn(swept.branchTargets, pending.sweepBlockStart, pending.offset);
      const registers = evaluateBlock(context, decoder, swept.base, blockStart, pending.offset);
      const fn = pending.function;
      const atFunctionEntry = fn !== undefined && fn.start === swept.base + blockStart;
      recordArguments(pending.edge, registers, atFunctionEntry);
      if (!atFunctionEntry && fn !== undefined && CALL_ARGUMENT_REGISTERS.some((index) => registers[index]?.kind === 'entry')) joined.push({ swept, pending, fn });
    }
  });
  return joined;
}

/**
 * A wrapper that branches before it calls the next wrapper (musl-ukl's bounce check, a switch on
 * the number) passes its parameter from before a join. Following every function's paths for every
 * call costs about half the analysis again, so only calls of functions that hand a parameter to a
 * system call (or are not defined here: libc calls of an app object) are followed, and a caller
 * found to pass its own parameter on becomes such a function in turn.
 */
function followWrapperArguments(context: ScanContext, scan: CodeScan, joined: JoinedEdge[], flows: FunctionFlows): void {
  const defined = new Set(context.functions.all().map((f) => f.name));
  const joinedInto = new Map<string, JoinedEdge[]>();
  for (const join of joined) {
    const callee = join.pending.edge.to;
    if (callee !== null) joinedInto.set(callee, [...(joinedInto.get(callee) ?? []), join]);
  }
  const forwardingInto = new Map<string, string[]>();
  for (const edge of scan.edges) {
    if (edge.to !== null && edge.from !== null && edge.forwardedParameters !== undefined) forwardingInto.set(edge.to, [...(forwardingInto.get(edge.to) ?? []), edge.from]);
  }
  const wrappers = new Set<string>();
  const work: string[] = [];
  const addWrapper = (name: string | null): void => {
    if (name === null || wrappers.has(name)) return;
    wrappers.add(name);
    work.push(name);
  };
  for (const site of scan.sites) if (site.numberInParameter !== undefined || (site.firstArgument !== undefined && 'parameter' in site.firstArgument)) addWrapper(site.function);
  for (const callee of joinedInto.keys()) if (!defined.has(callee)) addWrapper(callee);
  for (let callee = work.pop(); callee !== undefined; callee = work.pop()) {
    for (const caller of forwardingInto.get(callee) ?? []) addWrapper(caller);
    for (const join of joinedInto.get(callee) ?? []) {
      const registers = withDecoder(join.swept, (decoder) => registersByDataflow(context, decoder, join.swept, join.fn, join.pending.offset, flows));
      recordArguments(join.pending.edge, registers, true);
      if (join.pending.edge.forwardedParameters !== undefined) addWrapper(join.pending.edge.from);
    }
  }
}

function withDecoder<T>(swept: SweptSection, use: (decoder: Decoder) => T): T {
  const decoder = new Decoder(64, swept.data, DecoderOptions.None);
  try {
    return use(decoder);
  } finally {
    decoder.free();
  }
}

function edgeFromRelocation(
  context: ScanContext,
  relocation: ElfRelocation,
  kind: 'call' | 'jump',
  section: ElfSection,
  site: number,
  from: string | null,
): { edge: CallEdge; targetKey: string | null } {
  const { elf, symbols, functions } = context;
  const symbol = symbols[relocation.symbolIndex];
  // rel32 is relative to the end of the field, hence the -4 addend on an ordinary call
  const displacement = relocation.addend + 4;
  if (symbol === undefined || isSpecialSectionIndex(symbol.sectionIndex)) {
    const edge: CallEdge = { kind, section: section.name, site, from, to: symbol?.name ?? null, toAddress: null, toSection: null, targetIsFunctionStart: true, viaRelocation: true };
    return { edge, targetKey: null };
  }
  // a section symbol (`.text + 0x40`, calls to statics) or a defined symbol plus displacement
  const target = (symbol.type === 'SECTION' ? 0 : symbol.value) + displacement;
  const callee = functions.containing(symbol.sectionIndex, target);
  const edge: CallEdge = {
    kind,
    section: section.name,
    site,
    from,
    to: callee?.name ?? (symbol.type === 'SECTION' ? null : symbol.name),
    toAddress: target,
    toSection: elf.section(symbol.sectionIndex)?.name ?? null,
    targetIsFunctionStart: callee !== undefined && callee.start === target,
    viaRelocation: true,
  };
  return { edge, targetKey: spaceKey(elf, symbol.sectionIndex, target) };
}

/** the last branch target in (after, upTo]: a label there means other paths join the block */
function latestTargetIn(sortedTargets: number[], after: number, upTo: number): number {
  let low = 0;
  let high = sortedTargets.length - 1;
  let found = after;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const target = sortedTargets[middle] ?? 0;
    if (target <= upTo) {
      if (target > after) found = target;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/** What does rax hold at the syscall? The basic block first; where other paths join, the function. */
function resolveSite(context: ScanContext, decoder: Decoder, swept: SweptSection, site: PendingSite, blockStart: number, flows: FunctionFlows): SyscallSite {
  const base = swept.base;
  const fn = site.function;
  const result: SyscallSite = {
    section: site.section.name,
    address: base + site.offset,
    function: fn?.name ?? null,
    functionAddress: fn?.start ?? null,
    nr: null,
    ...(site.via !== undefined ? { via: site.via } : {}),
  };
  let state = evaluateBlock(context, decoder, base, blockStart, site.offset, true);
  let fromFunctionEntry = fn !== undefined && fn.start === base + blockStart;
  if ((state[0]?.kind === 'entry' || state[RDI]?.kind === 'entry') && !fromFunctionEntry && fn !== undefined) {
    // the value comes from before a join: follow every path through the function
    state = registersByDataflow(context, decoder, swept, fn, site.offset, flows);
    fromFunctionEntry = true;
  }
  const rax = state[0] ?? unknownValue('no state');
  const rdi = state[RDI];
  if (rdi?.kind === 'constant') result.firstArgument = { constant: rdi.value };
  else if (rdi?.kind === 'entry' && fromFunctionEntry && ARGUMENT_REGISTERS.has(GPR_NAMES[rdi.register] ?? 'rsp')) result.firstArgument = { parameter: GPR_NAMES[rdi.register] ?? 'rdi' };
  if (rax.kind === 'constant') {
    result.nr = rax.value;
  } else if (rax.kind === 'constants') {
    result.numbers = rax.values;
  } else if (rax.kind === 'entry') {
    const register = GPR_NAMES[rax.register] ?? 'rax';
    if (fromFunctionEntry && ARGUMENT_REGISTERS.has(register)) {
      result.reason = `the number arrives from the caller in ${register} (syscall wrapper)`;
      result.numberInParameter = register;
    } else {
      result.reason = `rax comes from ${register} as it was at 0x${(base + blockStart).toString(16)}, which is not a function start`;
    }
  } else {
    result.reason = rax.why;
  }
  return result;
}

function unknownValue(why: string): RegisterValue {
  return { kind: 'unknown', why };
}

const CALLER_SAVED = [0, 1, 2, 6, 7, 8, 9, 10, 11];

interface FunctionInstruction {
  offset: number;
  end: number;
  flow: FlowControl;
  /** section offset of a direct jump's target inside this function, else null */
  internalTarget: number | null;
  isSyscall: boolean;
  /** alignment padding (nop, int3) */
  isPadding: boolean;
  /** a direct call of a function that never returns (abort, exit): control does not come back */
  callNeverReturns: boolean;
}

/** the registers at each block start of one function, once per function (FunctionFlows caches them) */
interface FunctionFlow {
  instructions: FunctionInstruction[];
  blockStarts: number[];
  states: Array<RegisterValue[] | undefined>;
  firstIndex: (block: number) => number;
  lastIndex: (block: number) => number;
}

/** per section: the dataflow of each function asked about, or why it cannot be followed */
type FunctionFlows = Map<string, FunctionFlow | string>;

/**
 * The registers just before `offset` over every path through the function: 'entry' values are
 * the function's parameters. Unknown everywhere when the function cannot be followed.
 */
function registersByDataflow(context: ScanContext, decoder: Decoder, swept: SweptSection, fn: CodeFunction, offset: number, flows: FunctionFlows): RegisterValue[] {
  // function starts are section offsets in objects: the section is part of the key
  const key = `${swept.section.index}:${fn.start}`;
  let flow = flows.get(key);
  if (flow === undefined) {
    flow = functionDataflow(context, decoder, swept, fn);
    flows.set(key, flow);
  }
  if (typeof flow === 'string') return GPR_NAMES.map(() => unknownValue(flow as string));
  const { blockStarts, states, instructions, firstIndex, lastIndex } = flow;
  let block = 0;
  for (let candidate = 0; candidate < blockStarts.length && (blockStarts[candidate] ?? Infinity) <= offset; candidate++) block = candidate;
  const state = [...(states[block] ?? GPR_NAMES.map(() => unknownValue('the place is reachable only through an indirect jump')))];
  for (let index = firstIndex(block); index <= lastIndex(block); index++) {
    const item = instructions[index];
    if (item === undefined || item.offset >= offset) break;
    applyAt(context, decoder, swept.base, item, state, true);
  }
  return state;
}

/**
 * Reaching constants over the function's control-flow graph (a small lattice: not yet reached,
 * one value, unknown). Sound on purpose: calls clobber the caller-saved registers, blocks entered
 * from other functions or reachable only through indirect jumps start with everything unknown,
 * and an indirect jump may reach any block.
 */
function functionDataflow(context: ScanContext, decoder: Decoder, swept: SweptSection, fn: CodeFunction): FunctionFlow | string {
  const { elf, instruction } = context;
  const base = swept.base;
  const functionStart = fn.start - base;
  const following = swept.functions.find((f) => f.start > fn.start);
  const functionEnd = following === undefined ? swept.data.length : following.start - base;

  // decode the whole function once, noting its internal jumps
  const instructions: FunctionInstruction[] = [];
  const indexByOffset = new Map<number, number>();
  const internalCounts = new Map<number, number>();
  decoder.position = functionStart;
  decoder.ip = BigInt(fn.start);
  while (decoder.position < functionEnd) {
    const offset = decoder.position;
    decoder.decodeOut(instruction);
    const end = decoder.position;
    if (end > functionEnd) break;
    const flow = instruction.flowControl;
    let internalTarget: number | null = null;
    const relocated = end - offset >= 5 && swept.relocations.has(end - 4);
    if ((flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch) && !relocated && instruction.op0Kind === OpKind.NearBranch64) {
      const target = Number(instruction.nearBranch64) - base;
      if (target >= functionStart && target < functionEnd) {
        internalTarget = target;
        internalCounts.set(target, (internalCounts.get(target) ?? 0) + 1);
      }
    }
    indexByOffset.set(offset, instructions.length);
    const mnemonic = instruction.mnemonic;
    // UKL's `call entry_SYSCALL_64` keeps what the instruction keeps (it clobbers rax, rcx, r11)
    const isSyscall = flow === FlowControl.Call && (instruction.code === Code.Syscall || (instruction.op0Kind === OpKind.NearBranch64 && context.syscallEntries.has(Number(instruction.nearBranch64))));
    let callNeverReturns = false;
    if (flow === FlowControl.Call && !isSyscall) {
      const callee = calleeName(context, swept, instruction, end, relocated);
      callNeverReturns = callee !== undefined && !context.mayReturn.has(callee);
    }
    instructions.push({
      offset,
      end,
      flow,
      internalTarget,
      isSyscall,
      isPadding: mnemonic === Mnemonic.Nop || mnemonic === Mnemonic.Int3,
      callNeverReturns,
    });
  }

  // block leaders: the entry, jump targets, after every transfer, and places other code jumps to
  const leaders = new Set<number>([functionStart]);
  const enteredFromOutside = new Set<number>();
  for (const item of instructions) {
    if (item.internalTarget !== null) {
      if (!indexByOffset.has(item.internalTarget)) return 'a jump lands inside an instruction; the function cannot be followed';
      leaders.add(item.internalTarget);
    }
    if (item.flow !== FlowControl.Next) leaders.add(item.end);
    const incoming = context.incoming.get(spaceKey(elf, swept.section.index, base + item.offset)) ?? 0;
    if (item.offset !== functionStart && incoming > (internalCounts.get(item.offset) ?? 0)) {
      leaders.add(item.offset);
      enteredFromOutside.add(item.offset);
    }
  }
  const blockStarts = [...leaders].filter((offset) => indexByOffset.has(offset)).sort((a, b) => a - b);
  const blockOf = new Map<number, number>(blockStarts.map((offset, block) => [offset, block]));
  const firstIndex = (block: number): number => indexByOffset.get(blockStarts[block] ?? -1) ?? instructions.length;
  const lastIndex = (block: number): number => (block + 1 < blockStarts.length ? firstIndex(block + 1) : instructions.length) - 1;

  const allUnknown = (why: string): RegisterValue[] => GPR_NAMES.map(() => unknownValue(why));
  const states: Array<RegisterValue[] | undefined> = blockStarts.map(() => undefined);
  states[0] = GPR_NAMES.map((_, register): RegisterValue => ({ kind: 'entry', register }));
  for (const offset of enteredFromOutside) {
    const block = blockOf.get(offset);
    if (block !== undefined) states[block] = meetStates(states[block], allUnknown('the block is also entered from other code'));
  }
  // a block nothing jumps or falls into is entered by the unwinder (landing pads) or a jump table:
  // it starts with nothing known, and what it passes on counts too. Alignment padding after a jump
  // is the exception: nothing enters it, and it only falls into the next label.
  const isPaddingBlock = (block: number): boolean => {
    for (let index = firstIndex(block); index <= lastIndex(block); index++) if (instructions[index]?.isPadding !== true) return false;
    return true;
  };
  const hasPredecessor = blockStarts.map((_, block) => block === 0 || isPaddingBlock(block));
  for (let block = 0; block < blockStarts.length; block++) {
    const tail = instructions[lastIndex(block)];
    if (tail === undefined) continue;
    if (continuesToNext(tail) && block + 1 < blockStarts.length) hasPredecessor[block + 1] = true;
    const target = tail.internalTarget === null ? undefined : blockOf.get(tail.internalTarget);
    if (target !== undefined) hasPredecessor[target] = true;
  }
  hasPredecessor.forEach((reached, block) => {
    if (!reached) states[block] = meetStates(states[block], allUnknown('the block is reached only by unwinding or an indirect jump'));
  });
  let indirectState: RegisterValue[] | undefined;
  const queue: number[] = blockStarts.map((_, block) => block).filter((block) => states[block] !== undefined);
  const queued = new Set(queue);
  const merge = (block: number, incoming: RegisterValue[]): void => {
    const merged = meetStates(states[block], incoming);
    if (sameStates(merged, states[block])) return;
    states[block] = merged;
    if (!queued.has(block)) {
      queued.add(block);
      queue.push(block);
    }
  };

  while (queue.length > 0) {
    const block = queue.shift() ?? 0;
    queued.delete(block);
    const state = [...(states[block] ?? allUnknown('unreached'))];
    const last = lastIndex(block);
    for (let index = firstIndex(block); index <= last; index++) applyAt(context, decoder, base, instructions[index], state);
    const tail = instructions[last];
    if (tail === undefined) continue;
    const next = block + 1 < blockStarts.length ? block + 1 : undefined;
    const equal = last > firstIndex(block) ? equalityOnBranch(context, decoder, base, instructions[last - 1], tail) : null;
    const refined = (onTaken: boolean): RegisterValue[] => {
      if (equal === null || equal.onTaken !== onTaken) return state;
      const copy = [...state];
      copy[equal.register] = { kind: 'constant', value: equal.value };
      return copy;
    };
    if (continuesToNext(tail) && next !== undefined) merge(next, refined(false));
    if (tail.internalTarget !== null) {
      const target = blockOf.get(tail.internalTarget);
      if (target !== undefined) merge(target, refined(true));
    }
    if (tail.flow === FlowControl.IndirectBranch) {
      // a jump table may lead anywhere in the function
      const widened = meetStates(indirectState, state);
      if (widened !== undefined && !sameStates(widened, indirectState)) {
        indirectState = widened;
        for (let target = 0; target < blockStarts.length; target++) merge(target, widened);
      }
    }
  }

  return { instructions, blockStarts, states, firstIndex, lastIndex };
}

/**
 * `test r,r` or `cmp r,imm` then `je`/`jne`: on the edge where they were equal, r holds 0 or imm
 * (compilers reuse the tested zero: musl's __stdio_read makes read, number 0, with the rax it
 * just tested). A 32-bit test counts for the register: the kernel reads the number's low half.
 */
function equalityOnBranch(context: ScanContext, decoder: Decoder, base: number, compare: FunctionInstruction | undefined, branch: FunctionInstruction): { register: number; value: number; onTaken: boolean } | null {
  if (compare === undefined || branch.flow !== FlowControl.ConditionalBranch) return null;
  decoder.position = branch.offset;
  decoder.ip = BigInt(base + branch.offset);
  decoder.decodeOut(context.instruction);
  const jump = context.instruction.mnemonic;
  if (jump !== Mnemonic.Je && jump !== Mnemonic.Jne) return null;
  decoder.position = compare.offset;
  decoder.ip = BigInt(base + compare.offset);
  decoder.decodeOut(context.instruction);
  const instruction = context.instruction;
  if (instruction.op0Kind !== OpKind.Register || instruction.opCount !== 2) return null;
  const register = wideGprIndex(instruction.op0Register);
  if (register < 0) return null;
  let value: number | null = null;
  if (instruction.mnemonic === Mnemonic.Test && instruction.op1Kind === OpKind.Register && instruction.op1Register === instruction.op0Register) value = 0;
  if (instruction.mnemonic === Mnemonic.Cmp && (instruction.op1Kind === OpKind.Immediate8to64 || instruction.op1Kind === OpKind.Immediate32to64 || instruction.op1Kind === OpKind.Immediate8to32 || instruction.op1Kind === OpKind.Immediate32)) {
    value = Number(BigInt.asIntN(64, instruction.immediate(1)));
  }
  // a 32-bit compare with a negative immediate says nothing exact about the whole register
  if (value === null || (value < 0 && (instruction.op0Register as number) < 53)) return null;
  return { register, value, onTaken: jump === Mnemonic.Je };
}

/** control reaches the next instruction: not after a jump, a return, a trap or a call that never returns */
function continuesToNext(item: FunctionInstruction): boolean {
  return fallsThrough(item.flow) && !item.callNeverReturns;
}

/** the function a direct call enters at its start, by relocation (objects) or target address */
function calleeName(context: ScanContext, swept: SweptSection, instruction: Instruction, end: number, relocated: boolean): string | undefined {
  const { elf, functions, symbols } = context;
  if (relocated) {
    const relocation = swept.relocations.get(end - 4);
    const symbol = relocation === undefined ? undefined : symbols[relocation.symbolIndex];
    if (relocation === undefined || symbol === undefined || isSpecialSectionIndex(symbol.sectionIndex)) return undefined;
    const target = (symbol.type === 'SECTION' ? 0 : symbol.value) + relocation.addend + 4;
    const callee = functions.containing(symbol.sectionIndex, target);
    return callee !== undefined && callee.start === target ? callee.name : undefined;
  }
  if (instruction.op0Kind !== OpKind.NearBranch64) return undefined;
  const target = Number(instruction.nearBranch64);
  const callee = elf.type === 'REL' ? functions.containing(swept.section.index, target) : functions.containingAddress(target);
  return callee !== undefined && callee.start === target ? callee.name : undefined;
}

function fallsThrough(flow: FlowControl): boolean {
  return flow !== FlowControl.UnconditionalBranch && flow !== FlowControl.IndirectBranch && flow !== FlowControl.Return && flow !== FlowControl.Exception;
}

/** decode the instruction again and apply it, with what calls and syscalls destroy */
function applyAt(context: ScanContext, decoder: Decoder, base: number, item: FunctionInstruction | undefined, registers: RegisterValue[], explain = false): void {
  if (item === undefined) return;
  if (item.isSyscall) {
    for (const register of [0, 1, 11]) registers[register] = unknownValue('rax holds the result of an earlier syscall');
    return;
  }
  if (item.flow === FlowControl.Call || item.flow === FlowControl.IndirectCall) {
    for (const register of CALLER_SAVED) registers[register] = unknownValue(`${GPR_NAMES[register] ?? 'register'} is clobbered by a call`);
    return;
  }
  decoder.position = item.offset;
  decoder.ip = BigInt(base + item.offset);
  decoder.decodeOut(context.instruction);
  applyInstruction(context.instruction, context.infoFactory, registers, explain);
}

function sameValue(a: RegisterValue, b: RegisterValue): boolean {
  if (a.kind === 'constant') return b.kind === 'constant' && a.value === b.value;
  if (a.kind === 'constants') return b.kind === 'constants' && a.values.length === b.values.length && a.values.every((v, i) => v === b.values[i]);
  if (a.kind === 'entry') return b.kind === 'entry' && a.register === b.register;
  return b.kind === 'unknown';
}

function meetStates(a: RegisterValue[] | undefined, b: RegisterValue[] | undefined): RegisterValue[] | undefined {
  if (a === undefined) return b === undefined ? undefined : [...b];
  if (b === undefined) return a;
  return a.map((value, register) => {
    const other = b[register] ?? unknownValue('no state');
    if (value.kind === 'unknown') return value;
    if (other.kind === 'unknown') return other;
    return sameValue(value, other) ? value : unionOf(value, other, `${GPR_NAMES[register] ?? 'register'} holds different values on different paths`);
  });
}

function sameStates(a: RegisterValue[] | undefined, b: RegisterValue[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.every((value, register) => {
    const other = b[register];
    return other !== undefined && sameValue(value, other);
  });
}

function evaluateBlock(context: ScanContext, decoder: Decoder, base: number, blockStart: number, end: number, explain = false): RegisterValue[] {
  const { instruction, infoFactory } = context;
  const registers: RegisterValue[] = GPR_NAMES.map((_, register) => ({ kind: 'entry', register }));
  decoder.position = blockStart;
  decoder.ip = BigInt(base + blockStart);
  while (decoder.position < end) {
    decoder.decodeOut(instruction);
    applyInstruction(instruction, infoFactory, registers, explain);
  }
  return registers;
}

function recordArguments(edge: CallEdge, registers: RegisterValue[], atFunctionEntry: boolean): void {
  for (const index of CALL_ARGUMENT_REGISTERS) {
    const value = registers[index];
    const name = GPR_NAMES[index];
    if (value === undefined || name === undefined) continue;
    if (value.kind === 'constant') {
      (edge.constantArguments ??= {})[name] = value.value;
    } else if (value.kind === 'entry' && atFunctionEntry && value.register !== index) {
      // a parameter moved to another argument register (syscall(n, ...) wrappers shift them)
      (edge.forwardedParameters ??= {})[name] = GPR_NAMES[value.register] ?? 'rax';
    } else if (value.kind === 'entry' && atFunctionEntry && index !== 0) {
      (edge.forwardedParameters ??= {})[name] = name;
    }
  }
}

function applyInstruction(instruction: Instruction, infoFactory: InstructionInfoFactory, registers: RegisterValue[], explain: boolean): void {
  const mnemonic = instruction.mnemonic;
  if (instruction.op0Kind === OpKind.Register) {
    const destination = wideGprIndex(instruction.op0Register);
    if (destination >= 0 && instruction.opCount === 2) {
      const sourceKind = instruction.op1Kind;
      if (mnemonic === Mnemonic.Mov) {
        if (sourceKind === OpKind.Immediate32 || sourceKind === OpKind.Immediate64 || sourceKind === OpKind.Immediate32to64) {
          const value = Number(BigInt.asIntN(64, instruction.immediate(1)));
          registers[destination] = Number.isSafeInteger(value) ? { kind: 'constant', value } : { kind: 'unknown', why: `${GPR_NAMES[destination] ?? 'register'} holds a constant beyond 2^53` };
          return;
        }
        if (sourceKind === OpKind.Register) {
          const source = wideGprIndex(instruction.op1Register);
          if (source >= 0) {
            registers[destination] = registers[source] ?? { kind: 'unknown', why: 'no state' };
            return;
          }
        }
      }
      // movslq %edi,%rsi: an int parameter widened keeps its value (the family in socket(family, …))
      if (mnemonic === Mnemonic.Movsxd && sourceKind === OpKind.Register) {
        const source = wideGprIndex(instruction.op1Register);
        const value = source >= 0 ? registers[source] : undefined;
        if (value !== undefined && value.kind !== 'unknown') {
          registers[destination] =
            value.kind === 'constant' ? { kind: 'constant', value: value.value | 0 } : value.kind === 'constants' ? { kind: 'constants', values: value.values.map((v) => v | 0) } : value;
          return;
        }
      }
      // cmovCC: the old value or the source's, whichever the flags pick
      if (CONDITIONAL_MOVES.has(mnemonic) && sourceKind === OpKind.Register) {
        const source = wideGprIndex(instruction.op1Register);
        const old = registers[destination];
        const moved = source >= 0 ? registers[source] : undefined;
        if (old !== undefined && moved !== undefined) {
          registers[destination] = unionOf(old, moved, `${GPR_NAMES[destination] ?? 'register'} is chosen by '${explain ? instruction.toString() : 'a conditional move'}' between values that are not constants`);
          return;
        }
      }
      // xor/sub of a register with itself: the compilers' idiom for zero
      if ((mnemonic === Mnemonic.Xor || mnemonic === Mnemonic.Sub) && sourceKind === OpKind.Register && instruction.op1Register === instruction.op0Register) {
        registers[destination] = { kind: 'constant', value: 0 };
        return;
      }
    }
  }
  // `xor eax,eax; mov al,56` (musl's clone): a byte or word written into a known constant
  if (mnemonic === Mnemonic.Mov && instruction.op0Kind === OpKind.Register && (instruction.op1Kind === OpKind.Immediate8 || instruction.op1Kind === OpKind.Immediate16)) {
    const register = instruction.op0Register as number;
    const isLowByte = (register >= 1 && register <= 4) || (register >= 9 && register <= 20);
    const isWord = register >= 21 && register <= 36;
    const index = anyGprIndex(instruction.op0Register);
    const old = registers[index];
    if ((isLowByte || isWord) && old !== undefined && old.kind === 'constant' && old.value >= 0 && old.value <= 0xffff_ffff) {
      const mask = isLowByte ? 0xff : 0xffff;
      const immediate = Number(instruction.immediate(1)) & mask;
      registers[index] = { kind: 'constant', value: (old.value - (old.value & mask)) + immediate };
      return;
    }
  }
  // common instructions whose only register write is their first operand: no need to ask iced
  if (instruction.op0Kind === OpKind.Register && ONLY_FIRST_OPERAND_WRITTEN.has(mnemonic) && (mnemonic !== Mnemonic.Imul || instruction.opCount >= 2)) {
    const index = anyGprIndex(instruction.op0Register);
    if (index >= 0) {
      const name = GPR_NAMES[index] ?? 'register';
      registers[index] = { kind: 'unknown', why: explain ? `${name} is computed by '${instruction.toString()}'` : `${name} is computed, not a constant` };
      return;
    }
  }
  if (NO_REGISTER_WRITTEN.has(mnemonic) || (instruction.op0Kind === OpKind.Memory && MEMORY_DESTINATION_ONLY.has(mnemonic))) return;
  // anything else: every register it writes (implicit ones included) becomes unknown
  const info = infoFactory.info(instruction);
  // formatting the instruction is the slow part; only syscall sites need the words
  const text = explain ? instruction.toString() : 'an instruction';
  try {
    const used = info.usedRegisters();
    for (const entry of used) {
      const access = entry.access as OpAccess;
      if (access === OpAccess.Write || access === OpAccess.CondWrite || access === OpAccess.ReadWrite || access === OpAccess.ReadCondWrite) {
        const index = anyGprIndex(entry.register as Register);
        if (index >= 0) registers[index] = { kind: 'unknown', why: `${GPR_NAMES[index] ?? 'register'} is computed by '${text}'` };
      }
      entry.free();
    }
  } finally {
    info.free();
  }
}
