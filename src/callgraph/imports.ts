import { Decoder, DecoderOptions, FlowControl, Instruction } from 'iced-x86';
import { SHN_UNDEF, SHT_DYNSYM, type ElfFile } from '../lto/elf.js';

/**
 * Where a file of a dynamically linked program calls functions of another by name: each GOT slot
 * the loader fills with a symbol's address (JUMP_SLOT, GLOB_DAT and 64-bit relocations against
 * `.dynsym`), and each PLT stub that jumps through such a slot. A call to a stub, or through a
 * slot (`-fno-plt`), is a call to that name, with the caller's arguments: what makes
 * `socket(AF_PACKET, …)` in the program name its family although socket() is in libc.so.6.
 */
export interface ImportTargets {
  /** PLT stub start → the name it jumps to */
  stubs: ReadonlyMap<number, string>;
  /** GOT slot address → the name whose address the loader puts there */
  slots: ReadonlyMap<number, string>;
}

const R_X86_64_64 = 1;
const R_X86_64_GLOB_DAT = 6;
const R_X86_64_JUMP_SLOT = 7;
const SLOT_RELOCATIONS = new Set([R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT]);
const PLT_SECTIONS = new Set(['.plt', '.plt.sec', '.plt.got']);

export function importTargets(elf: ElfFile): ImportTargets {
  const slots = importSlots(elf);
  const stubs = new Map<number, string>();
  for (const section of elf.executableSections()) {
    if (!PLT_SECTIONS.has(section.name)) continue;
    // ld lays stubs out in equal entries: 16 bytes (.plt, .plt.sec), 8 (.plt.got)
    const entry = section.entrySize > 0 ? section.entrySize : section.name === '.plt.got' ? 8 : 16;
    for (const { ip, slot } of jumpsThroughMemory(elf.sectionData(section), section.address)) {
      const name = slots.get(slot);
      if (name !== undefined) stubs.set(section.address + Math.floor((ip - section.address) / entry) * entry, name);
    }
  }
  return { stubs, slots };
}

function importSlots(elf: ElfFile): Map<number, string> {
  const slots = new Map<number, string>();
  for (const r of dynamicSymbolRelocations(elf)) if (SLOT_RELOCATIONS.has(r.type)) slots.set(r.offset, r.name);
  return slots;
}

/** the names a file's dynamic symbols import, or its PLT and GOT refer to (its own exports called through them too) */
export function importedNames(elf: ElfFile): string[] {
  const undefinedNames = elf.dynamicSymbols().filter((s) => s.index !== 0 && s.sectionIndex === SHN_UNDEF && s.name !== '').map((s) => s.name);
  return [...undefinedNames, ...dynamicSymbolRelocations(elf).map((r) => r.name)];
}

/** the relocations against a named `.dynsym` entry */
function dynamicSymbolRelocations(elf: ElfFile): Array<{ offset: number; type: number; name: string }> {
  const symbols = elf.dynamicSymbols();
  const found: Array<{ offset: number; type: number; name: string }> = [];
  for (const relocations of elf.relocationSections()) {
    if (elf.section(relocations.symbolTableIndex)?.type !== SHT_DYNSYM) continue;
    for (const r of relocations.relocations) {
      const name = r.symbolIndex === 0 ? undefined : symbols[r.symbolIndex]?.name;
      if (name !== undefined && name !== '') found.push({ offset: r.offset, type: r.type, name });
    }
  }
  return found;
}

/** `jmp [rip+disp]` in a stub section: where it is and the slot it reads */
function jumpsThroughMemory(code: Uint8Array, address: number): Array<{ ip: number; slot: number }> {
  const found: Array<{ ip: number; slot: number }> = [];
  const decoder = new Decoder(64, code, DecoderOptions.None);
  const instruction = new Instruction();
  try {
    decoder.ip = BigInt(address);
    while (decoder.canDecode) {
      decoder.decodeOut(instruction);
      if (instruction.flowControl === FlowControl.IndirectBranch && instruction.isIpRelMemoryOperand) {
        found.push({ ip: Number(instruction.ip), slot: Number(instruction.ipRelMemoryAddress) });
      }
    }
  } finally {
    instruction.free();
    decoder.free();
  }
  return found;
}
