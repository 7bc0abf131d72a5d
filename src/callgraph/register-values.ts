import { Mnemonic, OpAccess, OpKind } from 'iced-x86';
import type { Instruction, InstructionInfoFactory, Register } from 'iced-x86';

/**
 * What the general-purpose registers hold (a constant, a few constants, the caller's parameter,
 * or unknown with the reason), and what one instruction does to them.
 */

export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
export type GprName = (typeof GPR_NAMES)[number];

/**
 * What a register holds: one constant, one of a few constants (paths that merge, a conditional
 * move: musl's `__stdio_read` picks read or readv), the caller's parameter, or unknown.
 */
export type RegisterValue =
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

const ONLY_FIRST_OPERAND_WRITTEN = new Set<Mnemonic>([
  Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Lea, Mnemonic.Add, Mnemonic.Sub,
  Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Adc, Mnemonic.Sbb, Mnemonic.Shl, Mnemonic.Shr, Mnemonic.Sar,
  Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Inc, Mnemonic.Dec, Mnemonic.Neg, Mnemonic.Not, Mnemonic.Imul, Mnemonic.Bswap,
]);
const NO_REGISTER_WRITTEN = new Set<Mnemonic>([Mnemonic.Cmp, Mnemonic.Test, Mnemonic.Nop, Mnemonic.Endbr64, Mnemonic.Bt]);
const MEMORY_DESTINATION_ONLY = new Set<Mnemonic>([
  Mnemonic.Mov, Mnemonic.Add, Mnemonic.Sub, Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Inc, Mnemonic.Dec,
]);

/** 64-bit general-purpose register index (rax 0 … r15 15) of a 32- or 64-bit register, else -1 */
export function wideGprIndex(register: Register): number {
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

export function unknownValue(why: string): RegisterValue {
  return { kind: 'unknown', why };
}

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

function sameValue(a: RegisterValue, b: RegisterValue): boolean {
  if (a.kind === 'constant') return b.kind === 'constant' && a.value === b.value;
  if (a.kind === 'constants') return b.kind === 'constants' && a.values.length === b.values.length && a.values.every((v, i) => v === b.values[i]);
  if (a.kind === 'entry') return b.kind === 'entry' && a.register === b.register;
  return b.kind === 'unknown';
}

/** where paths join: each register holds what either path left, undefined being "not reached yet" */
export function meetStates(a: RegisterValue[] | undefined, b: RegisterValue[] | undefined): RegisterValue[] | undefined {
  if (a === undefined) return b === undefined ? undefined : [...b];
  if (b === undefined) return a;
  return a.map((value, register) => {
    const other = b[register] ?? unknownValue('no state');
    if (value.kind === 'unknown') return value;
    if (other.kind === 'unknown') return other;
    return sameValue(value, other) ? value : unionOf(value, other, `${GPR_NAMES[register] ?? 'register'} holds different values on different paths`);
  });
}

export function sameStates(a: RegisterValue[] | undefined, b: RegisterValue[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.every((value, register) => {
    const other = b[register];
    return other !== undefined && sameValue(value, other);
  });
}

/** the registers as a function finds them: each holds the caller's value */
export function entryState(): RegisterValue[] {
  return GPR_NAMES.map((_, register) => ({ kind: 'entry', register }));
}

export function allUnknown(why: string): RegisterValue[] {
  return GPR_NAMES.map(() => unknownValue(why));
}

/**
 * The registers after the instruction. `explain` words the reasons with the instruction itself;
 * formatting it is the slow part, so only syscall sites ask for it.
 */
export function applyInstruction(instruction: Instruction, infoFactory: InstructionInfoFactory, registers: RegisterValue[], explain: boolean): void {
  const mnemonic = instruction.mnemonic;
  if (instruction.op0Kind === OpKind.Register && instruction.opCount === 2) {
    const destination = wideGprIndex(instruction.op0Register);
    const value = destination >= 0 ? valueFromSource(instruction, registers, destination, explain) : undefined;
    if (value !== undefined) {
      registers[destination] = value;
      return;
    }
  }
  if (writeIntoConstant(instruction, registers)) return;
  // common instructions whose only register write is their first operand: no need to ask iced
  if (instruction.op0Kind === OpKind.Register && ONLY_FIRST_OPERAND_WRITTEN.has(mnemonic) && (mnemonic !== Mnemonic.Imul || instruction.opCount >= 2)) {
    const index = anyGprIndex(instruction.op0Register);
    if (index >= 0) {
      const name = GPR_NAMES[index] ?? 'register';
      registers[index] = unknownValue(explain ? `${name} is computed by '${instruction.toString()}'` : `${name} is computed, not a constant`);
      return;
    }
  }
  if (NO_REGISTER_WRITTEN.has(mnemonic) || (instruction.op0Kind === OpKind.Memory && MEMORY_DESTINATION_ONLY.has(mnemonic))) return;
  forgetWrittenRegisters(instruction, infoFactory, registers, explain);
}

/**
 * What a two-operand instruction into a 32- or 64-bit register leaves there when its value
 * follows from its source: an immediate, a register copy, a sign extension, a conditional move,
 * the zeroing idiom. Undefined for every other instruction.
 */
function valueFromSource(instruction: Instruction, registers: RegisterValue[], destination: number, explain: boolean): RegisterValue | undefined {
  const mnemonic = instruction.mnemonic;
  const sourceKind = instruction.op1Kind;
  const source = sourceKind === OpKind.Register ? wideGprIndex(instruction.op1Register) : -1;
  if (mnemonic === Mnemonic.Mov && (sourceKind === OpKind.Immediate32 || sourceKind === OpKind.Immediate64 || sourceKind === OpKind.Immediate32to64)) {
    const value = Number(BigInt.asIntN(64, instruction.immediate(1)));
    return Number.isSafeInteger(value) ? { kind: 'constant', value } : unknownValue(`${GPR_NAMES[destination] ?? 'register'} holds a constant beyond 2^53`);
  }
  if (mnemonic === Mnemonic.Mov && source >= 0) return registers[source] ?? unknownValue('no state');
  // movslq %edi,%rsi: an int parameter widened keeps its value (the family in socket(family, …))
  if (mnemonic === Mnemonic.Movsxd && sourceKind === OpKind.Register) {
    const value = source >= 0 ? registers[source] : undefined;
    if (value !== undefined && value.kind !== 'unknown') return signExtended(value);
  }
  // cmovCC: the old value or the source's, whichever the flags pick
  if (CONDITIONAL_MOVES.has(mnemonic) && sourceKind === OpKind.Register) {
    const old = registers[destination];
    const moved = source >= 0 ? registers[source] : undefined;
    if (old !== undefined && moved !== undefined) {
      return unionOf(old, moved, `${GPR_NAMES[destination] ?? 'register'} is chosen by '${explain ? instruction.toString() : 'a conditional move'}' between values that are not constants`);
    }
  }
  // xor/sub of a register with itself: the compilers' idiom for zero
  if ((mnemonic === Mnemonic.Xor || mnemonic === Mnemonic.Sub) && sourceKind === OpKind.Register && instruction.op1Register === instruction.op0Register) {
    return { kind: 'constant', value: 0 };
  }
  return undefined;
}

/** the low 32 bits, sign-extended, of each constant; a parameter stays itself */
function signExtended(value: RegisterValue): RegisterValue {
  if (value.kind === 'constant') return { kind: 'constant', value: value.value | 0 };
  if (value.kind === 'constants') return { kind: 'constants', values: value.values.map((v) => v | 0) };
  return value;
}

/** `xor eax,eax; mov al,56` (musl's clone): a byte or word written into a known constant */
function writeIntoConstant(instruction: Instruction, registers: RegisterValue[]): boolean {
  if (instruction.mnemonic !== Mnemonic.Mov || instruction.op0Kind !== OpKind.Register || (instruction.op1Kind !== OpKind.Immediate8 && instruction.op1Kind !== OpKind.Immediate16)) return false;
  const register = instruction.op0Register as number;
  const isLowByte = (register >= 1 && register <= 4) || (register >= 9 && register <= 20);
  const isWord = register >= 21 && register <= 36;
  const index = anyGprIndex(instruction.op0Register);
  const old = registers[index];
  if (!(isLowByte || isWord) || old === undefined || old.kind !== 'constant' || old.value < 0 || old.value > 0xffff_ffff) return false;
  const mask = isLowByte ? 0xff : 0xffff;
  const immediate = Number(instruction.immediate(1)) & mask;
  registers[index] = { kind: 'constant', value: (old.value - (old.value & mask)) + immediate };
  return true;
}

/** any other instruction: every register it writes (implicit ones included) becomes unknown */
function forgetWrittenRegisters(instruction: Instruction, infoFactory: InstructionInfoFactory, registers: RegisterValue[], explain: boolean): void {
  const info = infoFactory.info(instruction);
  const text = explain ? instruction.toString() : 'an instruction';
  try {
    const used = info.usedRegisters();
    for (const entry of used) {
      const access = entry.access as OpAccess;
      if (access === OpAccess.Write || access === OpAccess.CondWrite || access === OpAccess.ReadWrite || access === OpAccess.ReadCondWrite) {
        const index = anyGprIndex(entry.register as Register);
        if (index >= 0) registers[index] = unknownValue(`${GPR_NAMES[index] ?? 'register'} is computed by '${text}'`);
      }
      entry.free();
    }
  } finally {
    info.free();
  }
}
