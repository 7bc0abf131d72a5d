import { Code, Decoder, DecoderOptions, FlowControl, Mnemonic, OpKind } from 'iced-x86';
import type { Instruction, InstructionInfoFactory } from 'iced-x86';
import { isSpecialSectionIndex } from '../lto/elf.js';
import type { ElfFile, ElfRelocation, ElfSection, ElfSymbol } from '../lto/elf.js';
import { addressKey, type CodeFunction, type FunctionIndex } from './function-index.js';
import { allUnknown, applyInstruction, entryState, GPR_NAMES, meetStates, sameStates, unknownValue, wideGprIndex } from './register-values.js';
import type { GprName, RegisterValue } from './register-values.js';

/**
 * The registers at a place in code: over one basic block, or over every path through the
 * function (reaching constants on its control-flow graph); the arguments a call passes; and the
 * wrappers' parameters followed to the calls that pass them on.
 */

/** what the dataflow reads of the scan: iced objects (owned by the scan), the functions, who jumps where, who returns */
export interface DataflowContext {
  elf: ElfFile;
  symbols: ElfSymbol[];
  functions: FunctionIndex;
  instruction: Instruction;
  infoFactory: InstructionInfoFactory;
  /** `space:address` → number of direct jumps and calls to it, over all code */
  incoming: Map<string, number>;
  /** functions that may return to their caller */
  mayReturn: Set<string>;
  /** function starts whose calls are system calls (ScanOptions.syscallEntries) */
  syscallEntries: ReadonlyMap<number, string>;
}

/** one executable section's code */
export interface SectionCode {
  section: ElfSection;
  data: Uint8Array;
  base: number;
  /** the functions starting in it, by start */
  functions: CodeFunction[];
  /** relocations by offset (relocatable objects) */
  relocations: Map<number, ElfRelocation>;
}

/** the argument registers at a call: constants, and the caller's own parameters passed on */
export interface CallArguments {
  /** argument registers (and rax) holding a constant at the transfer, e.g. `{ rdi: 39 }` before `call syscall` */
  constantArguments?: Partial<Record<GprName, number>>;
  /** argument registers still holding the caller's own parameter, e.g. `{ rdi: 'rdi' }`: a wrapper passing its number on */
  forwardedParameters?: Partial<Record<GprName, GprName>>;
}

/** a call between two functions, with what it passes */
export interface Call extends CallArguments {
  from: string | null;
  to: string | null;
}

/** a call whose arguments were set before a join in its function: known only over the function's paths */
export interface JoinedCall {
  code: SectionCode;
  offset: number;
  call: Call;
  fn: CodeFunction;
}

/** registers that carry arguments into a call (System V order), plus rax for UKL's entry_SYSCALL_64 */
export const CALL_ARGUMENT_REGISTERS: readonly number[] = [7, 6, 2, 1, 8, 9, 0];
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

/** one function's instructions cut into basic blocks */
interface FunctionBlocks {
  instructions: FunctionInstruction[];
  blockStarts: number[];
  /** block start offset → block */
  blockOf: Map<number, number>;
  /** offsets (other than the entry) that code elsewhere jumps or calls to */
  enteredFromOutside: Set<number>;
  firstIndex: (block: number) => number;
  lastIndex: (block: number) => number;
}

/** the registers at each block start of one function, once per function (FunctionFlows caches them) */
interface FunctionFlow extends FunctionBlocks {
  states: Array<RegisterValue[] | undefined>;
}

/** the dataflow of each function asked about, or why it cannot be followed */
export type FunctionFlows = Map<string, FunctionFlow | string>;

export function withDecoder<T>(code: SectionCode, use: (decoder: Decoder) => T): T {
  const decoder = new Decoder(64, code.data, DecoderOptions.None);
  try {
    return use(decoder);
  } finally {
    decoder.free();
  }
}

/** the registers after the instructions in [blockStart, end), with 'entry' values for what the block found */
export function evaluateBlock(context: DataflowContext, decoder: Decoder, base: number, blockStart: number, end: number, explain = false): RegisterValue[] {
  const { instruction, infoFactory } = context;
  const registers = entryState();
  decoder.position = blockStart;
  decoder.ip = BigInt(base + blockStart);
  while (decoder.position < end) {
    decoder.decodeOut(instruction);
    applyInstruction(instruction, infoFactory, registers, explain);
  }
  return registers;
}

/**
 * The registers just before `offset` over every path through the function: 'entry' values are
 * the function's parameters. Unknown everywhere when the function cannot be followed.
 */
export function registersByDataflow(context: DataflowContext, decoder: Decoder, code: SectionCode, fn: CodeFunction, offset: number, flows: FunctionFlows): RegisterValue[] {
  // function starts are section offsets in objects: the section is part of the key
  const key = `${code.section.index}:${fn.start}`;
  let flow = flows.get(key);
  if (flow === undefined) {
    flow = functionDataflow(context, decoder, code, fn);
    flows.set(key, flow);
  }
  if (typeof flow === 'string') return allUnknown(flow);
  const { blockStarts, states, instructions, firstIndex, lastIndex } = flow;
  let block = 0;
  for (let candidate = 0; candidate < blockStarts.length && (blockStarts[candidate] ?? Infinity) <= offset; candidate++) block = candidate;
  const state = [...(states[block] ?? allUnknown('the place is reachable only through an indirect jump'))];
  for (let index = firstIndex(block); index <= lastIndex(block); index++) {
    const item = instructions[index];
    if (item === undefined || item.offset >= offset) break;
    applyAt(context, decoder, code.base, item, state, true);
  }
  return state;
}

/**
 * Reaching constants over the function's control-flow graph (a small lattice: not yet reached,
 * one value, unknown). Sound on purpose: calls clobber the caller-saved registers, blocks entered
 * from other functions or reachable only through indirect jumps start with everything unknown,
 * and an indirect jump may reach any block.
 */
function functionDataflow(context: DataflowContext, decoder: Decoder, code: SectionCode, fn: CodeFunction): FunctionFlow | string {
  const blocks = functionBlocks(context, decoder, code, fn);
  if (typeof blocks === 'string') return blocks;
  const states = initialStates(blocks);
  propagate(context, decoder, code.base, blocks, states);
  return { ...blocks, states };
}

/** decode the whole function once, then cut it into blocks */
function functionBlocks(context: DataflowContext, decoder: Decoder, code: SectionCode, fn: CodeFunction): FunctionBlocks | string {
  const functionStart = fn.start - code.base;
  const following = code.functions.find((f) => f.start > fn.start);
  const functionEnd = following === undefined ? code.data.length : following.start - code.base;
  const instructions = decodeFunction(context, decoder, code, functionStart, functionEnd);
  const indexByOffset = new Map<number, number>(instructions.map((item, index) => [item.offset, index]));
  const internalCounts = new Map<number, number>();
  for (const item of instructions) if (item.internalTarget !== null) internalCounts.set(item.internalTarget, (internalCounts.get(item.internalTarget) ?? 0) + 1);

  // block leaders: the entry, jump targets, after every transfer, and places other code jumps to
  const leaders = new Set<number>([functionStart]);
  const enteredFromOutside = new Set<number>();
  for (const item of instructions) {
    if (item.internalTarget !== null) {
      if (!indexByOffset.has(item.internalTarget)) return 'a jump lands inside an instruction; the function cannot be followed';
      leaders.add(item.internalTarget);
    }
    if (item.flow !== FlowControl.Next) leaders.add(item.end);
    const incoming = context.incoming.get(addressKey(context.elf, code.section.index, code.base + item.offset)) ?? 0;
    if (item.offset !== functionStart && incoming > (internalCounts.get(item.offset) ?? 0)) {
      leaders.add(item.offset);
      enteredFromOutside.add(item.offset);
    }
  }
  const blockStarts = [...leaders].filter((offset) => indexByOffset.has(offset)).sort((a, b) => a - b);
  const blockOf = new Map<number, number>(blockStarts.map((offset, block) => [offset, block]));
  const firstIndex = (block: number): number => indexByOffset.get(blockStarts[block] ?? -1) ?? instructions.length;
  const lastIndex = (block: number): number => (block + 1 < blockStarts.length ? firstIndex(block + 1) : instructions.length) - 1;
  return { instructions, blockStarts, blockOf, enteredFromOutside, firstIndex, lastIndex };
}

/** the instructions in [functionStart, functionEnd) with their internal jumps */
function decodeFunction(context: DataflowContext, decoder: Decoder, code: SectionCode, functionStart: number, functionEnd: number): FunctionInstruction[] {
  const instructions: FunctionInstruction[] = [];
  decoder.position = functionStart;
  decoder.ip = BigInt(code.base + functionStart);
  while (decoder.position < functionEnd) {
    const offset = decoder.position;
    decoder.decodeOut(context.instruction);
    const end = decoder.position;
    if (end > functionEnd) break;
    instructions.push(describeInstruction(context, code, offset, end, functionStart, functionEnd));
  }
  return instructions;
}

/** what the dataflow needs of the instruction just decoded at [offset, end) */
function describeInstruction(context: DataflowContext, code: SectionCode, offset: number, end: number, functionStart: number, functionEnd: number): FunctionInstruction {
  const { instruction } = context;
  const flow = instruction.flowControl;
  let internalTarget: number | null = null;
  const relocated = end - offset >= 5 && code.relocations.has(end - 4);
  if ((flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch) && !relocated && instruction.op0Kind === OpKind.NearBranch64) {
    const target = Number(instruction.nearBranch64) - code.base;
    if (target >= functionStart && target < functionEnd) internalTarget = target;
  }
  const mnemonic = instruction.mnemonic;
  // UKL's `call entry_SYSCALL_64` keeps what the instruction keeps (it clobbers rax, rcx, r11)
  const isSyscall = flow === FlowControl.Call && (instruction.code === Code.Syscall || (instruction.op0Kind === OpKind.NearBranch64 && context.syscallEntries.has(Number(instruction.nearBranch64))));
  let callNeverReturns = false;
  if (flow === FlowControl.Call && !isSyscall) {
    const callee = calleeName(context, code, instruction, end, relocated);
    callNeverReturns = callee !== undefined && !context.mayReturn.has(callee);
  }
  return { offset, end, flow, internalTarget, isSyscall, isPadding: mnemonic === Mnemonic.Nop || mnemonic === Mnemonic.Int3, callNeverReturns };
}

/**
 * The entry holds the parameters. A block code elsewhere enters starts with nothing known, and so
 * does a block nothing jumps or falls into: the unwinder (landing pads) or a jump table enters it,
 * and what it passes on counts too. Alignment padding after a jump is the exception: nothing
 * enters it, and it only falls into the next label.
 */
function initialStates(blocks: FunctionBlocks): Array<RegisterValue[] | undefined> {
  const { instructions, blockStarts, blockOf, firstIndex, lastIndex } = blocks;
  const states: Array<RegisterValue[] | undefined> = blockStarts.map(() => undefined);
  states[0] = entryState();
  for (const offset of blocks.enteredFromOutside) {
    const block = blockOf.get(offset);
    if (block !== undefined) states[block] = meetStates(states[block], allUnknown('the block is also entered from other code'));
  }
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
  return states;
}

/** the worklist: each block's state at its end flows into its successors until nothing changes */
function propagate(context: DataflowContext, decoder: Decoder, base: number, blocks: FunctionBlocks, states: Array<RegisterValue[] | undefined>): void {
  const { instructions, blockStarts, firstIndex, lastIndex } = blocks;
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
    for (const [successor, incoming] of successorStates(context, decoder, base, blocks, block, state)) merge(successor, incoming);
    if (tail.flow === FlowControl.IndirectBranch) {
      // a jump table may lead anywhere in the function
      const widened = meetStates(indirectState, state);
      if (widened !== undefined && !sameStates(widened, indirectState)) {
        indirectState = widened;
        for (let target = 0; target < blockStarts.length; target++) merge(target, widened);
      }
    }
  }
}

/** the state each direct successor gets: the next block if control falls through, then the jump's target */
function successorStates(context: DataflowContext, decoder: Decoder, base: number, blocks: FunctionBlocks, block: number, state: RegisterValue[]): Array<[number, RegisterValue[]]> {
  const { instructions, blockStarts, blockOf, firstIndex, lastIndex } = blocks;
  const last = lastIndex(block);
  const tail = instructions[last];
  if (tail === undefined) return [];
  const equal = last > firstIndex(block) ? equalityOnBranch(context, decoder, base, instructions[last - 1], tail) : null;
  const refined = (onTaken: boolean): RegisterValue[] => {
    if (equal === null || equal.onTaken !== onTaken) return state;
    const copy = [...state];
    copy[equal.register] = { kind: 'constant', value: equal.value };
    return copy;
  };
  const successors: Array<[number, RegisterValue[]]> = [];
  if (continuesToNext(tail) && block + 1 < blockStarts.length) successors.push([block + 1, refined(false)]);
  const target = tail.internalTarget === null ? undefined : blockOf.get(tail.internalTarget);
  if (target !== undefined) successors.push([target, refined(true)]);
  return successors;
}

/**
 * `test r,r` or `cmp r,imm` then `je`/`jne`: on the edge where they were equal, r holds 0 or imm
 * (compilers reuse the tested zero: musl's __stdio_read makes read, number 0, with the rax it
 * just tested). A 32-bit test counts for the register: the kernel reads the number's low half.
 */
function equalityOnBranch(context: DataflowContext, decoder: Decoder, base: number, compare: FunctionInstruction | undefined, branch: FunctionInstruction): { register: number; value: number; onTaken: boolean } | null {
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

export function fallsThrough(flow: FlowControl): boolean {
  return flow !== FlowControl.UnconditionalBranch && flow !== FlowControl.IndirectBranch && flow !== FlowControl.Return && flow !== FlowControl.Exception;
}

/** the function a direct call enters at its start, by relocation (objects) or target address */
function calleeName(context: DataflowContext, code: SectionCode, instruction: Instruction, end: number, relocated: boolean): string | undefined {
  const { elf, functions, symbols } = context;
  if (relocated) {
    const relocation = code.relocations.get(end - 4);
    const symbol = relocation === undefined ? undefined : symbols[relocation.symbolIndex];
    if (relocation === undefined || symbol === undefined || isSpecialSectionIndex(symbol.sectionIndex)) return undefined;
    const target = (symbol.type === 'SECTION' ? 0 : symbol.value) + relocation.addend + 4;
    const callee = functions.containing(symbol.sectionIndex, target);
    return callee !== undefined && callee.start === target ? callee.name : undefined;
  }
  if (instruction.op0Kind !== OpKind.NearBranch64) return undefined;
  const target = Number(instruction.nearBranch64);
  const callee = elf.type === 'REL' ? functions.containing(code.section.index, target) : functions.containingAddress(target);
  return callee !== undefined && callee.start === target ? callee.name : undefined;
}

/** decode the instruction again and apply it, with what calls and syscalls destroy */
function applyAt(context: DataflowContext, decoder: Decoder, base: number, item: FunctionInstruction | undefined, registers: RegisterValue[], explain = false): void {
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

/** the call's constant and forwarded arguments; parameters count only when the registers are the function's entry state */
export function recordArguments(call: CallArguments, registers: RegisterValue[], atFunctionEntry: boolean): void {
  for (const index of CALL_ARGUMENT_REGISTERS) {
    const value = registers[index];
    const name = GPR_NAMES[index];
    if (value === undefined || name === undefined) continue;
    if (value.kind === 'constant') {
      (call.constantArguments ??= {})[name] = value.value;
    } else if (value.kind === 'entry' && atFunctionEntry && value.register !== index) {
      // a parameter moved to another argument register (syscall(n, ...) wrappers shift them)
      (call.forwardedParameters ??= {})[name] = GPR_NAMES[value.register] ?? 'rax';
    } else if (value.kind === 'entry' && atFunctionEntry && index !== 0) {
      (call.forwardedParameters ??= {})[name] = name;
    }
  }
}

/**
 * A wrapper that branches before it calls the next wrapper (musl-ukl's bounce check, a switch on
 * the number) passes its parameter from before a join. Following every function's paths for every
 * call costs about half the analysis again, so only calls of functions that hand a parameter to a
 * system call (`wrappers`: they hand it to a syscall site; or those not defined here: libc calls of
 * an app object) are followed, and a caller found to pass its own parameter on becomes such a
 * function in turn.
 */
export function followWrapperArguments(context: DataflowContext, flows: FunctionFlows, calls: readonly Call[], joined: JoinedCall[], wrappers: Iterable<string | null>): void {
  const defined = new Set(context.functions.all().map((f) => f.name));
  const joinedInto = new Map<string, JoinedCall[]>();
  for (const join of joined) {
    const callee = join.call.to;
    if (callee !== null) joinedInto.set(callee, [...(joinedInto.get(callee) ?? []), join]);
  }
  const forwardingInto = new Map<string, string[]>();
  for (const call of calls) {
    if (call.to !== null && call.from !== null && call.forwardedParameters !== undefined) forwardingInto.set(call.to, [...(forwardingInto.get(call.to) ?? []), call.from]);
  }
  const followed = new Set<string>();
  const work: string[] = [];
  const follow = (name: string | null): void => {
    if (name === null || followed.has(name)) return;
    followed.add(name);
    work.push(name);
  };
  for (const name of wrappers) follow(name);
  for (const callee of joinedInto.keys()) if (!defined.has(callee)) follow(callee);
  for (let callee = work.pop(); callee !== undefined; callee = work.pop()) {
    for (const caller of forwardingInto.get(callee) ?? []) follow(caller);
    for (const join of joinedInto.get(callee) ?? []) {
      const registers = withDecoder(join.code, (decoder) => registersByDataflow(context, decoder, join.code, join.fn, join.offset, flows));
      recordArguments(join.call, registers, true);
      if (join.call.forwardedParameters !== undefined) follow(join.call.from);
    }
  }
}
