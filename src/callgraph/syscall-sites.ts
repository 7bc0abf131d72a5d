import { Code, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpKind } from 'iced-x86';
import type { Decoder } from 'iced-x86';
import { isSpecialSectionIndex } from '../lto/elf.js';
import type { ElfFile, ElfRelocation, ElfSection } from '../lto/elf.js';
import { addressKey, FunctionIndex, type CodeFunction } from './function-index.js';
import type { ImportTargets } from './imports.js';
import { CALL_ARGUMENT_REGISTERS, evaluateBlock, fallsThrough, followWrapperArguments, recordArguments, registersByDataflow, withDecoder } from './register-dataflow.js';
import type { CallArguments, DataflowContext, FunctionFlows, JoinedCall, SectionCode } from './register-dataflow.js';
import { GPR_NAMES, unknownValue, type GprName } from './register-values.js';

/**
 * A linear sweep over the code of a static executable or a relocatable object (resynchronised at
 * every function symbol, as objdump does): every `syscall` instruction with the number recovered
 * from `rax` — within its basic block, and where other paths join, by reaching constants over the
 * function's control-flow graph (register-dataflow.ts) — and every direct call or jump that leaves
 * its function, with the constant arguments at that point (the call-graph input). Addresses are
 * virtual addresses in executables and section offsets in relocatable objects (where every section
 * starts at 0).
 */

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

export interface CallEdge extends CallArguments {
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

export interface ScanOptions {
  /**
   * function starts whose direct calls are system calls with the instruction's registers (UKL's
   * `entry_SYSCALL_64`, called from kernel mode): such a call is a site like `syscall` itself
   */
  syscallEntries?: ReadonlyMap<number, string>;
  /** a file of a dynamically linked program: calls through its PLT stubs and GOT slots are calls to the names they import */
  imports?: ImportTargets;
}

const ARGUMENT_REGISTERS = new Set<GprName>(['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9', 'rax', 'r10']);
const RDI = 7;

interface PendingEdge {
  edge: CallEdge;
  offset: number;
  sweepBlockStart: number;
  function: CodeFunction | undefined;
}

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
interface SweptSection extends SectionCode {
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
interface ScanContext extends DataflowContext {
  /** what the sweep saw of each function's ways out (for mayReturn) */
  exits: Map<string, FunctionExits>;
  imports: ImportTargets | undefined;
}

/** where the sweep of a section is: the function it is in, the next one to start, where the block began */
interface SweepCursor {
  current: CodeFunction | undefined;
  nextStartIndex: number;
  blockStart: number;
}

export function scanCode(elf: ElfFile, opts: ScanOptions = {}): CodeScan {
  const functions = new FunctionIndex(elf);
  const scan: CodeScan = { sites: [], edges: [], indirect: [], functions, instructionCount: 0, invalidInstructionCount: 0, bytesDecoded: 0 };
  const instruction = new Instruction();
  const infoFactory = new InstructionInfoFactory();
  const context: ScanContext = { elf, symbols: elf.symbols(), functions, instruction, infoFactory, incoming: new Map(), exits: new Map(), mayReturn: new Set(), syscallEntries: opts.syscallEntries ?? new Map(), imports: opts.imports };
  try {
    // all sections are swept first: a jump from a `.text.unlikely` part back into a function in
    // `.text` must be known before that function's registers are tracked
    const swept = elf.executableSections().map((section) => sweepSection(context, section, scan));
    collectBranchTargets(context, swept);
    computeMayReturn(context);
    const flows: FunctionFlows = new Map();
    for (const part of swept) resolveSites(context, part, scan, flows);
    const joined = swept.flatMap((part) => resolveEdges(context, part));
    followWrapperArguments(context, flows, scan.edges, joined, scan.sites.filter(takesParameter).map((site) => site.function));
  } finally {
    instruction.free();
    infoFactory.free();
  }
  return scan;
}

/** every number a site may make: its one number, its set, or none */
export function siteNumbers(site: SyscallSite): number[] {
  return site.numbers ?? (site.nr === null ? [] : [site.nr]);
}

/** the site's number or first argument is a parameter of its function: the function is a wrapper */
function takesParameter(site: SyscallSite): boolean {
  return site.numberInParameter !== undefined || (site.firstArgument !== undefined && 'parameter' in site.firstArgument);
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

function countIncoming(context: ScanContext, key: string): void {
  context.incoming.set(key, (context.incoming.get(key) ?? 0) + 1);
}

function exitsOf(context: ScanContext, fn: CodeFunction): FunctionExits {
  let exits = context.exits.get(fn.name);
  if (exits === undefined) context.exits.set(fn.name, (exits = { returns: false, continuesIn: new Set() }));
  return exits;
}

function sweepSection(context: ScanContext, section: ElfSection, scan: CodeScan): SweptSection {
  const { elf, functions } = context;
  const data = elf.sectionData(section);
  const base = section.address;
  const relocations = new Map<number, ElfRelocation>();
  if (elf.type === 'REL') for (const r of elf.relocationsFor(section.index)) relocations.set(r.offset, r);
  const starts = functions.inSection(section.index).filter((f) => f.start >= base && f.start < base + data.length);
  const swept: SweptSection = { section, data, base, functions: starts, relocations, branchTargets: [], pendingSites: [], pendingEdges: [] };
  const cursor: SweepCursor = { current: undefined, nextStartIndex: 0, blockStart: 0 };
  withDecoder(swept, (decoder) => {
    decoder.ip = BigInt(base);
    while (decoder.canDecode) sweepInstruction(context, swept, decoder, cursor, scan);
    if (cursor.current !== undefined) endOfFunction(exitsOf(context, cursor.current));
    scan.bytesDecoded += data.length;
  });
  return swept;
}

/** decode the next instruction and note what it does to control */
function sweepInstruction(context: ScanContext, swept: SweptSection, decoder: Decoder, cursor: SweepCursor, scan: CodeScan): void {
  const { instruction } = context;
  const offset = decoder.position;
  enterFunctions(context, swept, cursor, offset, scan);
  decoder.decodeOut(instruction);
  const end = decoder.position;
  // an instruction running over a function start was a misdecode (data or padding): resync
  const nextStart = swept.functions[cursor.nextStartIndex];
  if (nextStart !== undefined && nextStart.start - swept.base < end) {
    decoder.position = nextStart.start - swept.base;
    decoder.ip = BigInt(nextStart.start);
    return;
  }
  scan.instructionCount++;
  const flow = instruction.flowControl;
  const exits = cursor.current === undefined ? undefined : exitsOf(context, cursor.current);
  if (exits !== undefined && !(instruction.mnemonic === Mnemonic.Nop || instruction.mnemonic === Mnemonic.Int3)) {
    exits.last = { flow, callee: null };
    if (flow === FlowControl.Return || flow === FlowControl.IndirectBranch) exits.returns = true;
  }
  if (flow === FlowControl.Next) return;
  noteTransferAt(context, swept, cursor, offset, end, exits, scan);
  cursor.blockStart = end;
}

/** entering the next function: the block starts afresh */
function enterFunctions(context: ScanContext, swept: SweptSection, cursor: SweepCursor, offset: number, scan: CodeScan): void {
  let nextStart = swept.functions[cursor.nextStartIndex];
  while (nextStart !== undefined && nextStart.start - swept.base <= offset) {
    if (cursor.current !== undefined) leaveFunction(context, swept.section, cursor.current, nextStart, scan);
    cursor.current = nextStart;
    cursor.blockStart = nextStart.start - swept.base;
    nextStart = swept.functions[++cursor.nextStartIndex];
  }
}

/** the sweep leaves `from` where `to` starts */
function leaveFunction(context: ScanContext, section: ElfSection, from: CodeFunction, to: CodeFunction, scan: CodeScan): void {
  const exits = exitsOf(context, from);
  endOfFunction(exits);
  // straight-line code running into the next start (a split where a stripped binary shows
  // a start inside code): control goes on there
  if (exits.last !== undefined && (exits.last.flow === FlowControl.Next || exits.last.flow === FlowControl.ConditionalBranch)) {
    scan.edges.push(fallThroughEdge(section, from, to));
    exits.continuesIn.add(to.name);
  }
}

/** a control transfer at [offset, end): a syscall site, a call or jump, an indirect one, or an invalid instruction */
function noteTransferAt(context: ScanContext, swept: SweptSection, cursor: SweepCursor, offset: number, end: number, exits: FunctionExits | undefined, scan: CodeScan): void {
  const { instruction } = context;
  const flow = instruction.flowControl;
  const from = cursor.current?.name ?? null;
  if (flow === FlowControl.Call && instruction.code === Code.Syscall) {
    swept.pendingSites.push({ section: swept.section, offset, sweepBlockStart: cursor.blockStart, function: cursor.current });
  } else if (flow === FlowControl.Call || flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch) {
    noteDirectTransfer(context, swept, cursor, offset, end, exits, scan);
  } else if (flow === FlowControl.IndirectCall || flow === FlowControl.IndirectBranch) {
    const imported = instruction.isIpRelMemoryOperand ? context.imports?.slots.get(Number(instruction.ipRelMemoryAddress)) : undefined;
    if (imported !== undefined) noteImportTransfer(context, swept, cursor, offset, exits, scan, imported);
    else scan.indirect.push({ kind: flow === FlowControl.IndirectCall ? 'call' : 'jump', section: swept.section.name, site: swept.base + offset, from });
  } else if (flow === FlowControl.Exception && instruction.code === Code.INVALID) {
    scan.invalidInstructionCount++;
  }
}

/** a direct call or jump: an edge when it leaves the function (or is a call), a site when it calls a syscall entry */
function noteDirectTransfer(context: ScanContext, swept: SweptSection, cursor: SweepCursor, offset: number, end: number, exits: FunctionExits | undefined, scan: CodeScan): void {
  const { elf, instruction } = context;
  const { section, base } = swept;
  const kind = instruction.flowControl === FlowControl.Call ? 'call' : 'jump';
  const from = cursor.current?.name ?? null;
  const addEdge = (edge: CallEdge): void => {
    scan.edges.push(edge);
    noteTransfer(exits, edge);
    swept.pendingEdges.push({ edge, offset, sweepBlockStart: cursor.blockStart, function: cursor.current });
  };
  const relocation = end - offset >= 5 ? swept.relocations.get(end - 4) : undefined;
  if (relocation !== undefined) {
    const { edge, targetKey } = edgeFromRelocation(context, relocation, kind, section, base + offset, from);
    if (targetKey !== null) countIncoming(context, targetKey);
    addEdge(edge);
  } else if (instruction.op0Kind === OpKind.NearBranch64) {
    const target = Number(instruction.nearBranch64);
    countIncoming(context, addressKey(elf, section.index, target));
    const current = cursor.current;
    const nextStart = swept.functions[cursor.nextStartIndex];
    const inside = current !== undefined && target >= current.start && (nextStart === undefined || target < nextStart.start);
    const entry = kind === 'call' ? context.syscallEntries.get(target) : undefined;
    if (entry !== undefined) swept.pendingSites.push({ section, offset, sweepBlockStart: cursor.blockStart, function: current, via: entry });
    if (kind === 'call' || !inside) addEdge(edgeToAddress(context, section, kind, base + offset, from, target));
  }
}

/** `call [rip+slot]` (`-fno-plt`) or `jmp [rip+slot]` through a GOT slot the loader fills with `name`: an edge to that name */
function noteImportTransfer(context: ScanContext, swept: SweptSection, cursor: SweepCursor, offset: number, exits: FunctionExits | undefined, scan: CodeScan, name: string): void {
  const kind = context.instruction.flowControl === FlowControl.IndirectCall ? 'call' : 'jump';
  const edge: CallEdge = { kind, section: swept.section.name, site: swept.base + offset, from: cursor.current?.name ?? null, to: name, toAddress: null, toSection: null, targetIsFunctionStart: true, viaRelocation: false };
  scan.edges.push(edge);
  noteTransfer(exits, edge);
  swept.pendingEdges.push({ edge, offset, sweepBlockStart: cursor.blockStart, function: cursor.current });
}

/** a direct call or jump whose target the instruction holds (a PLT stub: the name it imports) */
function edgeToAddress(context: ScanContext, section: ElfSection, kind: 'call' | 'jump', site: number, from: string | null, target: number): CallEdge {
  const { elf, functions } = context;
  const imported = context.imports?.stubs.get(target);
  if (imported !== undefined) return { kind, section: section.name, site, from, to: imported, toAddress: target, toSection: elf.section(functions.sectionIndexAt(target) ?? -1)?.name ?? null, targetIsFunctionStart: true, viaRelocation: false };
  const callee = elf.type === 'REL' ? functions.containing(section.index, target) : functions.containingAddress(target);
  const targetSection = elf.type === 'REL' ? section : elf.section(functions.sectionIndexAt(target) ?? -1);
  return {
    kind,
    section: section.name,
    site,
    from,
    to: callee?.name ?? null,
    toAddress: target,
    toSection: targetSection?.name ?? null,
    targetIsFunctionStart: callee !== undefined && callee.start === target,
    viaRelocation: false,
  };
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

/** each call's arguments from its own block; the calls after a join are returned for followWrapperArguments */
function resolveEdges(context: ScanContext, swept: SweptSection): JoinedCall[] {
  const joined: JoinedCall[] = [];
  withDecoder(swept, (decoder) => {
    for (const pending of swept.pendingEdges) {
      const blockStart = latestTargetIn(swept.branchTargets, pending.sweepBlockStart, pending.offset);
      const registers = evaluateBlock(context, decoder, swept.base, blockStart, pending.offset);
      const fn = pending.function;
      const atFunctionEntry = fn !== undefined && fn.start === swept.base + blockStart;
      recordArguments(pending.edge, registers, atFunctionEntry);
      if (!atFunctionEntry && fn !== undefined && CALL_ARGUMENT_REGISTERS.some((index) => registers[index]?.kind === 'entry')) joined.push({ code: swept, offset: pending.offset, call: pending.edge, fn });
    }
  });
  return joined;
}

/** a call or jump whose target a relocation names (relocatable objects), and the target's key when it is defined here */
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
  return { edge, targetKey: addressKey(elf, symbol.sectionIndex, target) };
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
