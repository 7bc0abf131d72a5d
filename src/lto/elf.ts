import { readFileSync } from 'node:fs';
import { atOffset, UklTrimError } from '../util/errors.js';

/**
 * A small ELF64 little-endian x86-64 reader, written from the System V gABI and the x86-64 psABI:
 * header, sections, symbols, RELA relocations and program headers. Every field is bounds-checked,
 * so malformed input surfaces as an ElfError naming the offset, never as a RangeError from a read.
 * Numbers are plain `number`s: x86-64 user-space addresses, sizes and addends fit in 2^53; a value
 * that does not is reported as an ElfError instead of being rounded silently.
 */

export type ElfErrorCode =
  /** the file could not be read */
  | 'unreadable'
  /** no ELF magic */
  | 'not-elf'
  /** ELF, but not 64-bit little-endian x86-64 */
  | 'unsupported'
  /** a header, table or entry is truncated or inconsistent */
  | 'malformed';

export class ElfError extends UklTrimError<ElfErrorCode> {
  static readonly codes: readonly ElfErrorCode[] = ['unreadable', 'not-elf', 'unsupported', 'malformed'];

  /** `file: message (at offset N)`, the offset also kept as data */
  static at(code: ElfErrorCode, message: string, offset: number, file?: string): ElfError {
    const where = atOffset(message, { file, offset });
    return new ElfError(code, where.message, where.details);
  }
}

export type ElfFileType = 'NONE' | 'REL' | 'EXEC' | 'DYN' | 'CORE' | 'OTHER';
export type ElfSymbolType = 'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'COMMON' | 'TLS' | 'IFUNC' | 'OTHER';
export type ElfSymbolBind = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'UNIQUE' | 'OTHER';

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  address: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addressAlign: number;
  entrySize: number;
}

export interface ElfSymbol {
  index: number;
  name: string;
  value: number;
  size: number;
  type: ElfSymbolType;
  bind: ElfSymbolBind;
  /** STV_DEFAULT 0, INTERNAL 1, HIDDEN 2, PROTECTED 3 */
  visibility: number;
  /** section header index; SHN_UNDEF 0, SHN_ABS 0xfff1, SHN_COMMON 0xfff2 (extended indices resolved) */
  sectionIndex: number;
}

export interface ElfRelocation {
  offset: number;
  type: number;
  symbolIndex: number;
  addend: number;
}

export interface ElfRelocationSection {
  section: ElfSection;
  /** the section the relocations patch (sh_info) */
  targetSectionIndex: number;
  /** the symbol table they refer to (sh_link) */
  symbolTableIndex: number;
  relocations: ElfRelocation[];
}

export interface ElfProgramHeader {
  type: number;
  flags: number;
  offset: number;
  virtualAddress: number;
  fileSize: number;
  memorySize: number;
}

export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_DYNAMIC = 6;
export const SHT_DYNSYM = 11;
export const SHT_SYMTAB_SHNDX = 18;
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_TLS = 7;
const EM_X86_64 = 62;

const HEADER_SIZE = 64;
const SECTION_HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;
const SYMBOL_SIZE = 24;
const RELA_SIZE = 24;
const DYNAMIC_ENTRY_SIZE = 16;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

const FILE_TYPES: Record<number, ElfFileType> = { 0: 'NONE', 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' };
const SYMBOL_TYPES: Record<number, ElfSymbolType> = {
  0: 'NOTYPE', 1: 'OBJECT', 2: 'FUNC', 3: 'SECTION', 4: 'FILE', 5: 'COMMON', 6: 'TLS', 10: 'IFUNC',
};
const SYMBOL_BINDS: Record<number, ElfSymbolBind> = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK', 10: 'UNIQUE' };
const RELOCATION_NAMES: Record<number, string> = {
  0: 'NONE', 1: '64', 2: 'PC32', 3: 'GOT32', 4: 'PLT32', 5: 'COPY', 6: 'GLOB_DAT', 7: 'JUMP_SLOT',
  8: 'RELATIVE', 9: 'GOTPCREL', 10: '32', 11: '32S', 12: '16', 13: 'PC16', 14: '8', 15: 'PC8',
  16: 'DTPMOD64', 17: 'DTPOFF64', 18: 'TPOFF64', 19: 'TLSGD', 20: 'TLSLD', 21: 'DTPOFF32',
  22: 'GOTTPOFF', 23: 'TPOFF32', 24: 'PC64', 25: 'GOTOFF64', 26: 'GOTPC32', 32: 'SIZE32',
  33: 'SIZE64', 34: 'GOTPC32_TLSDESC', 35: 'TLSDESC_CALL', 36: 'TLSDESC', 37: 'IRELATIVE',
  41: 'GOTPCRELX', 42: 'REX_GOTPCRELX',
};

/** `R_X86_64_PLT32` for 4, as readelf prints it */
export function relocationTypeName(type: number): string {
  const name = RELOCATION_NAMES[type];
  return name === undefined ? `R_X86_64_<${type}>` : `R_X86_64_${name}`;
}

/** Bounds-checked little-endian reads over one buffer. */
class CheckedReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly file: string | undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, offset: number, code: ElfErrorCode = 'malformed'): never {
    throw ElfError.at(code, message, offset, this.file);
  }

  need(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.bytes.length) {
      this.fail(`${what} (${length} bytes) lies outside the ${this.bytes.length}-byte file`, offset);
    }
  }

  u8(offset: number): number {
    this.need(offset, 1, 'byte');
    return this.view.getUint8(offset);
  }

  u16(offset: number): number {
    this.need(offset, 2, 'half-word');
    return this.view.getUint16(offset, true);
  }

  u32(offset: number): number {
    this.need(offset, 4, 'word');
    return this.view.getUint32(offset, true);
  }

  /** an unsigned 64-bit field that must fit in a JS number */
  u64(offset: number, what: string): number {
    this.need(offset, 8, what);
    const low = this.view.getUint32(offset, true);
    const high = this.view.getUint32(offset + 4, true);
    if (high >= 0x200000) this.fail(`${what} 0x${high.toString(16)}${low.toString(16).padStart(8, '0')} is beyond 2^53`, offset);
    return high * 0x1_0000_0000 + low;
  }

  /** a signed 64-bit field (relocation addend) that must fit in a JS number */
  i64(offset: number, what: string): number {
    this.need(offset, 8, what);
    const low = this.view.getUint32(offset, true);
    const high = this.view.getInt32(offset + 4, true);
    if (high >= 0x200000 || high < -0x200000) this.fail(`${what} does not fit in 2^53`, offset);
    return high * 0x1_0000_0000 + low;
  }
}

const textDecoder = new TextDecoder('latin1');

export class ElfFile {
  readonly type: ElfFileType;
  readonly entry: number;
  readonly sections: readonly ElfSection[];
  readonly programHeaders: readonly ElfProgramHeader[];
  /** PT_INTERP's path, or null when the file asks for no dynamic loader */
  readonly interpreter: string | null;
  private readonly reader: CheckedReader;
  private symbolCache: ElfSymbol[] | undefined;
  private dynamicSymbolCache: ElfSymbol[] | undefined;
  private relocationCache = new Map<number, ElfRelocationSection>();
  private relocationSectionsByTarget: Map<number, ElfSection[]> | undefined;

  private constructor(readonly bytes: Uint8Array, readonly file: string | undefined) {
    const r: CheckedReader = (this.reader = new CheckedReader(bytes, file));
    if (bytes.length < HEADER_SIZE) r.fail(`truncated ELF header: ${bytes.length} of ${HEADER_SIZE} bytes`, 0);
    if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) r.fail('not an ELF file (bad magic)', 0, 'not-elf');
    if (bytes[4] !== 2) r.fail(`not ELF64 (EI_CLASS ${bytes[4]})`, 4, 'unsupported');
    if (bytes[5] !== 1) r.fail(`not little-endian (EI_DATA ${bytes[5]})`, 5, 'unsupported');
    const machine = r.u16(18);
    if (machine !== EM_X86_64) r.fail(`not x86-64 (e_machine ${machine})`, 18, 'unsupported');
    this.type = FILE_TYPES[r.u16(16)] ?? 'OTHER';
    this.entry = r.u64(24, 'e_entry');
    this.sections = this.readSections();
    this.programHeaders = this.readProgramHeaders();
    const interp = this.programHeaders.find((p) => p.type === PT_INTERP);
    this.interpreter = interp === undefined ? null : this.cString(interp.offset, interp.offset + interp.fileSize, 'PT_INTERP');
  }

  static parse(bytes: Uint8Array, file?: string): ElfFile {
    return new ElfFile(bytes, file);
  }

  /** statically linked: an executable (or static PIE) that asks for no dynamic loader */
  get isStatic(): boolean {
    return (this.type === 'EXEC' || this.type === 'DYN') && this.interpreter === null;
  }

  private readSections(): ElfSection[] {
    const r: CheckedReader = this.reader;
    const tableOffset = r.u64(40, 'e_shoff');
    const entrySize = r.u16(58);
    let count = r.u16(60);
    let namesIndex = r.u16(62);
    if (tableOffset === 0) return [];
    if (entrySize !== SECTION_HEADER_SIZE) r.fail(`section header size ${entrySize}, expected ${SECTION_HEADER_SIZE}`, 58);
    // more than 0xff00 sections: the real count and name-table index live in section 0
    if (count === 0) count = r.u64(tableOffset + 32, 'extended section count');
    if (namesIndex === SHN_XINDEX) namesIndex = r.u32(tableOffset + 40);
    r.need(tableOffset, count * SECTION_HEADER_SIZE, 'section header table');
    const sections: ElfSection[] = [];
    const nameOffsets: number[] = [];
    for (let index = 0; index < count; index++) {
      const at = tableOffset + index * SECTION_HEADER_SIZE;
      nameOffsets.push(r.u32(at));
      sections.push({
        index,
        name: '',
        type: r.u32(at + 4),
        flags: r.u64(at + 8, 'sh_flags'),
        address: r.u64(at + 16, 'sh_addr'),
        offset: r.u64(at + 24, 'sh_offset'),
        size: r.u64(at + 32, 'sh_size'),
        link: r.u32(at + 40),
        info: r.u32(at + 44),
        addressAlign: r.u64(at + 48, 'sh_addralign'),
        entrySize: r.u64(at + 56, 'sh_entsize'),
      });
    }
    // SHN_UNDEF: the file has no section-name table, the sections stay nameless
    if (count === 0 || namesIndex === SHN_UNDEF) return sections;
    const names = sections[namesIndex];
    if (names === undefined) r.fail(`section-name table index ${namesIndex} out of range (${count} sections)`, 62);
    for (const section of sections) {
      section.name = this.stringAt(names, nameOffsets[section.index] ?? 0, `name of section ${section.index}`);
    }
    return sections;
  }

  private readProgramHeaders(): ElfProgramHeader[] {
    const r: CheckedReader = this.reader;
    const tableOffset = r.u64(32, 'e_phoff');
    const entrySize = r.u16(54);
    const count = r.u16(56);
    if (tableOffset === 0 || count === 0) return [];
    if (entrySize !== PROGRAM_HEADER_SIZE) r.fail(`program header size ${entrySize}, expected ${PROGRAM_HEADER_SIZE}`, 54);
    r.need(tableOffset, count * PROGRAM_HEADER_SIZE, 'program header table');
    const headers: ElfProgramHeader[] = [];
    for (let index = 0; index < count; index++) {
      const at = tableOffset + index * PROGRAM_HEADER_SIZE;
      const header: ElfProgramHeader = {
        type: r.u32(at),
        flags: r.u32(at + 4),
        offset: r.u64(at + 8, 'p_offset'),
        virtualAddress: r.u64(at + 16, 'p_vaddr'),
        fileSize: r.u64(at + 32, 'p_filesz'),
        memorySize: r.u64(at + 40, 'p_memsz'),
      };
      r.need(header.offset, header.fileSize, `segment ${index}`);
      headers.push(header);
    }
    return headers;
  }

  private cString(start: number, end: number, what: string): string {
    const nul = this.bytes.indexOf(0, start);
    const reader: CheckedReader = this.reader;
    if (nul < 0 || nul >= end) reader.fail(`unterminated string in ${what}`, start);
    return textDecoder.decode(this.bytes.subarray(start, nul));
  }

  /** the NUL-terminated string at `index` of a string-table section */
  stringAt(table: ElfSection, index: number, what: string): string {
    if (table.type === SHT_NOBITS) this.reader.fail(`${what}: string table ${table.name || table.index} has no bytes in the file`, table.offset);
    if (index >= table.size) this.reader.fail(`${what}: string index ${index} beyond string table ${table.name || table.index} (${table.size} bytes)`, table.offset);
    this.sectionData(table);
    return this.cString(table.offset + index, table.offset + table.size, what);
  }

  section(index: number): ElfSection | undefined {
    return this.sections[index];
  }

  sectionByName(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** the file bytes of a section (a view, not a copy); empty for SHT_NOBITS */
  sectionData(section: ElfSection): Uint8Array {
    if (section.type === SHT_NOBITS) return this.bytes.subarray(0, 0);
    this.reader.need(section.offset, section.size, `data of section ${section.name || section.index}`);
    return this.bytes.subarray(section.offset, section.offset + section.size);
  }

  /** sections holding code: allocated, executable, with bytes in the file */
  executableSections(): ElfSection[] {
    return this.sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && (s.flags & SHF_ALLOC) !== 0 && s.type !== SHT_NOBITS && s.size > 0);
  }

  /** `.symtab` (falling back to `.dynsym`), index 0 included as readelf numbers them */
  symbols(): ElfSymbol[] {
    if (this.symbolCache !== undefined) return this.symbolCache;
    const table = this.sections.find((s) => s.type === SHT_SYMTAB) ?? this.sections.find((s) => s.type === SHT_DYNSYM);
    this.symbolCache = table === undefined ? [] : this.readSymbolTable(table);
    return this.symbolCache;
  }

  private readSymbolTable(table: ElfSection): ElfSymbol[] {
    const r: CheckedReader = this.reader;
    if (table.entrySize !== SYMBOL_SIZE) r.fail(`symbol entry size ${table.entrySize}, expected ${SYMBOL_SIZE}`, table.offset);
    const strings = this.sections[table.link];
    if (strings === undefined || strings.type !== SHT_STRTAB) r.fail(`symbol table ${table.name} links to section ${table.link}, not a string table`, table.offset);
    const extendedIndices = this.sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === table.index);
    this.sectionData(table);
    const symbols: ElfSymbol[] = [];
    const count = Math.floor(table.size / SYMBOL_SIZE);
    for (let index = 0; index < count; index++) {
      const at = table.offset + index * SYMBOL_SIZE;
      const info = r.u8(at + 4);
      let sectionIndex = r.u16(at + 6);
      if (sectionIndex === SHN_XINDEX) {
        if (extendedIndices === undefined) r.fail(`symbol ${index} uses SHN_XINDEX without an SHT_SYMTAB_SHNDX table`, at + 6);
        if ((index + 1) * 4 > extendedIndices.size) r.fail(`symbol ${index} beyond the SHT_SYMTAB_SHNDX table`, extendedIndices.offset);
        sectionIndex = r.u32(extendedIndices.offset + index * 4);
      }
      symbols.push({
        index,
        name: this.stringAt(strings, r.u32(at), `name of symbol ${index}`),
        value: r.u64(at + 8, 'st_value'),
        size: r.u64(at + 16, 'st_size'),
        type: SYMBOL_TYPES[info & 0xf] ?? 'OTHER',
        bind: SYMBOL_BINDS[info >> 4] ?? 'OTHER',
        visibility: r.u8(at + 5) & 0x3,
        sectionIndex,
      });
    }
    return symbols;
  }

  /** `.dynsym`: the symbols a shared object or dynamic executable exports and imports */
  dynamicSymbols(): ElfSymbol[] {
    if (this.dynamicSymbolCache !== undefined) return this.dynamicSymbolCache;
    const table = this.sections.find((s) => s.type === SHT_DYNSYM);
    this.dynamicSymbolCache = table === undefined ? [] : this.readSymbolTable(table);
    return this.dynamicSymbolCache;
  }

  /**
   * What the dynamic section asks of the loader: the libraries it needs (DT_NEEDED, in order)
   * and where to look first (DT_RUNPATH, else DT_RPATH: colon-separated folders).
   */
  dynamicInfo(): { needed: string[]; runPath: string | null; rPath: string | null } {
    const info = { needed: [] as string[], runPath: null as string | null, rPath: null as string | null };
    const dynamic = this.sections.find((s) => s.type === SHT_DYNAMIC);
    if (dynamic === undefined) return info;
    const strings = this.sections[dynamic.link];
    if (strings === undefined || strings.type !== SHT_STRTAB) this.reader.fail(`dynamic section links to section ${dynamic.link}, not a string table`, dynamic.offset);
    this.sectionData(dynamic);
    for (let at = dynamic.offset; at + DYNAMIC_ENTRY_SIZE <= dynamic.offset + dynamic.size; at += DYNAMIC_ENTRY_SIZE) {
      const tag = this.reader.u64(at, 'd_tag');
      if (tag === DT_NULL) break;
      if (tag !== DT_NEEDED && tag !== DT_RUNPATH && tag !== DT_RPATH) continue;
      const text = this.stringAt(strings, this.reader.u64(at + 8, 'd_val'), 'dynamic entry');
      if (tag === DT_NEEDED) info.needed.push(text);
      else if (tag === DT_RUNPATH) info.runPath = text;
      else info.rPath = text;
    }
    return info;
  }

  /** every SHT_RELA section with its entries */
  relocationSections(): ElfRelocationSection[] {
    return this.sections.filter((s) => s.type === SHT_RELA).map((s) => this.readRelocations(s));
  }

  /** the relocations that patch section `targetIndex` (several RELA sections may apply) */
  relocationsFor(targetIndex: number): ElfRelocation[] {
    // indexed once: `ld -r` output with -ffunction-sections has a RELA section per function
    if (this.relocationSectionsByTarget === undefined) {
      const byTarget = new Map<number, ElfSection[]>();
      for (const section of this.sections) {
        if (section.type !== SHT_RELA) continue;
        const list = byTarget.get(section.info) ?? [];
        list.push(section);
        byTarget.set(section.info, list);
      }
      this.relocationSectionsByTarget = byTarget;
    }
    return (this.relocationSectionsByTarget.get(targetIndex) ?? []).flatMap((s) => this.readRelocations(s).relocations);
  }

  private readRelocations(section: ElfSection): ElfRelocationSection {
    const cached = this.relocationCache.get(section.index);
    if (cached !== undefined) return cached;
    const parsed = this.parseRelocations(section);
    this.relocationCache.set(section.index, parsed);
    return parsed;
  }

  private parseRelocations(section: ElfSection): ElfRelocationSection {
    const r: CheckedReader = this.reader;
    if (section.entrySize !== RELA_SIZE) r.fail(`relocation entry size ${section.entrySize}, expected ${RELA_SIZE}`, section.offset);
    this.sectionData(section);
    const symbolCount = this.symbols().length;
    const relocations: ElfRelocation[] = [];
    const count = Math.floor(section.size / RELA_SIZE);
    for (let index = 0; index < count; index++) {
      const at = section.offset + index * RELA_SIZE;
      const symbolIndex = r.u32(at + 12);
      if (symbolIndex >= symbolCount && symbolIndex !== 0) r.fail(`relocation ${index} of ${section.name} names symbol ${symbolIndex} of ${symbolCount}`, at + 12);
      relocations.push({
        offset: r.u64(at, 'r_offset'),
        type: r.u32(at + 8),
        symbolIndex,
        addend: r.i64(at + 16, 'r_addend'),
      });
    }
    return { section, targetSectionIndex: section.info, symbolTableIndex: section.link, relocations };
  }

  /** a GCC LTO object (slim or fat): its IR lives in `.gnu.lto_*` sections */
  isLtoObject(): boolean {
    return this.sections.some((s) => s.name.startsWith('.gnu.lto_'));
  }

  /** slim GCC LTO: IR only, no machine code (the `__gnu_lto_slim` marker symbol) */
  isSlimLtoObject(): boolean {
    return this.isLtoObject() && this.symbols().some((s) => s.name === '__gnu_lto_slim');
  }
}

/** section index meaning "not a real section" (undefined, absolute, common, reserved) */
export function isSpecialSectionIndex(index: number): boolean {
  return index === SHN_UNDEF || (index >= SHN_LORESERVE && index <= SHN_XINDEX);
}

export function parseElf(bytes: Uint8Array, file?: string): ElfFile {
  return ElfFile.parse(bytes, file);
}

export function readElfFile(path: string): ElfFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw ElfError.at('unreadable', `cannot read: ${(e as Error).message}`, 0, path);
  }
  return ElfFile.parse(bytes, path);
}

/** ELF magic, without parsing further */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** LLVM bitcode: raw (`BC` 0xC0DE) or inside the bitcode wrapper header (0x0B17C0DE, little-endian) */
export function isLlvmBitcode(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const raw = bytes[0] === 0x42 && bytes[1] === 0x43 && bytes[2] === 0xc0 && bytes[3] === 0xde;
  const wrapped = bytes[0] === 0xde && bytes[1] === 0xc0 && bytes[2] === 0x17 && bytes[3] === 0x0b;
  return raw || wrapped;
}
