import { isSpecialSectionIndex, SHT_SYMTAB } from '../lto/elf.js';
import type { ElfFile, ElfSymbol } from '../lto/elf.js';
import { strippedFunctionStarts, syntheticFunctionName } from './function-starts.js';

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

  constructor(private readonly elf: ElfFile, known?: readonly CodeFunction[]) {
    const executable = new Set(elf.executableSections().map((s) => s.index));
    for (const section of elf.executableSections()) this.sectionRanges.set(section.index, [section.address, section.address + section.size]);
    if (known !== undefined) {
      this.addKnown(known);
      return;
    }
    const symbols = elf.symbols().filter((s) => executable.has(s.sectionIndex) && s.name !== '' && !isSpecialSectionIndex(s.sectionIndex));
    const functions = symbols.filter((s) => FUNCTION_TYPES.has(s.type));
    if (functions.length === 0 && elf.type !== 'REL') {
      this.addStrippedFunctions(elf);
      return;
    }
    // assembler labels without a type count only where no sized function covers them (musl's
    // __cp_begin sits inside __syscall_cp_asm and must not split it)
    const sortedFunctions = [...functions].sort((a, b) => a.sectionIndex - b.sectionIndex || a.value - b.value);
    const labels = symbols.filter((s) => s.type === 'NOTYPE' && !s.name.startsWith('.L') && !coveredBySizedFunction(sortedFunctions, s));
    this.addSymbols([...functions, ...labels]);
    // a shared library keeps only its exported names: its other functions come from the unwind table
    if (elf.type !== 'REL' && !elf.sections.some((s) => s.type === SHT_SYMTAB)) this.addUnnamedFunctions(elf);
  }

  /** the index of an earlier run over the same file (all(), as stored by scan-cache.ts) */
  static restore(elf: ElfFile, functions: readonly CodeFunction[]): FunctionIndex {
    return new FunctionIndex(elf, functions);
  }

  private addKnown(functions: readonly CodeFunction[]): void {
    for (const f of functions) {
      const space = this.spaceOf(f.sectionIndex);
      const list = this.spaces.get(space) ?? [];
      list.push(f);
      this.spaces.set(space, list);
    }
    for (const list of this.spaces.values()) list.sort((a, b) => a.start - b.start);
  }

  /** the starts the unwind table and calls show where no symbol starts a function */
  private addUnnamedFunctions(elf: ElfFile): void {
    const list = this.spaces.get(0) ?? [];
    const named = new Set(list.map((f) => f.start));
    const sections = elf.executableSections();
    for (const { start, size } of strippedFunctionStarts(elf)) {
      if (named.has(start)) continue;
      const section = sections.find((x) => start >= x.address && start < x.address + x.size);
      if (section === undefined) continue;
      const name = syntheticFunctionName(start);
      list.push({ name, aliases: [name], sectionIndex: section.index, start, size });
    }
    list.sort((a, b) => a.start - b.start);
    this.spaces.set(0, list);
  }

  /** one function per address, named by its preferred symbol, the others its aliases */
  private addSymbols(symbols: ElfSymbol[]): void {
    const perAddress = new Map<string, ElfSymbol[]>();
    for (const symbol of symbols) {
      const key = addressKey(this.elf, symbol.sectionIndex, symbol.value);
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

/** does a sized function (sorted by section and address) cover the label? The closest start before it decides */
function coveredBySizedFunction(sortedFunctions: ElfSymbol[], label: ElfSymbol): boolean {
  let low = 0;
  let high = sortedFunctions.length - 1;
  let before: ElfSymbol | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const f = sortedFunctions[middle];
    if (f === undefined) break;
    if (f.sectionIndex < label.sectionIndex || (f.sectionIndex === label.sectionIndex && f.value <= label.value)) {
      before = f;
      low = middle + 1;
    } else high = middle - 1;
  }
  return before !== undefined && before.sectionIndex === label.sectionIndex && label.value < before.value + before.size;
}

/** GLOBAL before WEAK before LOCAL; FUNC before labels; then the plainer, shorter name */
function preferSymbol(a: ElfSymbol, b: ElfSymbol): number {
  const rank = (s: ElfSymbol): number => (BIND_RANK[s.bind] ?? 3) * 2 + (FUNCTION_TYPES.has(s.type) ? 0 : 1);
  return rank(a) - rank(b) || a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** `space:address`, one key per place in code whatever the file's kind (see FunctionIndex) */
export function addressKey(elf: ElfFile, sectionIndex: number, address: number): string {
  return `${elf.type === 'REL' ? sectionIndex : 0}:${address}`;
}
