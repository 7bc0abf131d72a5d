import { Code, Decoder, DecoderOptions, Instruction } from 'iced-x86';
import { SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, type ElfFile, type ElfSection } from '../lto/elf.js';

/**
 * Function boundaries of a stripped executable, which has no symbol table: the unwind table
 * (`.eh_frame`: one FDE per function compiled with CFI, which static binaries keep because C++
 * exceptions and backtraces need it), the entry point, the init/fini arrays, the IRELATIVE
 * resolvers, function pointers in data, and the targets of direct calls and tail jumps where no
 * FDE covers them (assembler, and musl, which is built without unwind tables).
 * Each becomes a function named `<fn at 0x…>` so that wrappers, witness paths and roots work as
 * they do with symbols.
 */

export interface SyntheticFunction {
  start: number;
  /** from the FDE; 0 where only the start is known (up to the next start) */
  size: number;
}

const R_X86_64_IRELATIVE = 37;

export function syntheticFunctionName(start: number): string {
  return `<fn at 0x${start.toString(16)}>`;
}

/** every function start the executable itself shows, sorted, without duplicates */
export function strippedFunctionStarts(elf: ElfFile): SyntheticFunction[] {
  const executable = elf.executableSections();
  const inCode = (address: number): boolean => executable.some((s) => address >= s.address && address < s.address + s.size);
  const byStart = new Map<number, number>();
  const eh = elf.sectionByName('.eh_frame');
  if (eh !== undefined) for (const fde of ehFrameRanges(elf, eh)) if (inCode(fde.start)) byStart.set(fde.start, Math.max(byStart.get(fde.start) ?? 0, fde.size));
  const covered = [...byStart].map(([start, size]) => [start, start + size] as const).sort((a, b) => a[0] - b[0]);
  const insideAnFde = (address: number): boolean => covered.some(([start, end]) => address > start && address < end);
  const addStart = (address: number): void => {
    if (inCode(address) && !byStart.has(address) && !insideAnFde(address)) byStart.set(address, 0);
  };
  addStart(elf.entry);
  for (const section of elf.sections) {
    if (section.name === '.init_array' || section.name === '.fini_array' || section.name === '.preinit_array') for (const address of words(elf, section)) addStart(address);
  }
  // function pointers in data (musl's stdout FILE holds __stdio_write; glibc's IO vtables):
  // aligned words that point into code, outside the FDEs (a jump table's case labels are inside)
  for (const section of dataSections(elf)) for (const address of words(elf, section)) addStart(address);
  for (const relocations of elf.relocationSections()) for (const r of relocations.relocations) if (r.type === R_X86_64_IRELATIVE) addStart(r.addend);
  const { calls, jumps, addressed } = codeTargets(elf, executable);
  // (code nothing names, a function linked in but never called, joins the function before it:
  // more syscalls, never fewer. Starting a function wherever padding after a `ret` ends was
  // tried: GCC places cold blocks there, and splitting them lost musl's futex numbers.)
  for (const target of calls) addStart(target);
  // a code address taken with `lea` is a function something calls indirectly (glibc's
  // __restore_rt sits one byte into the FDE its unwinder needs): a start even inside an FDE
  for (const target of addressed) if (inCode(target) && !byStart.has(target)) byStart.set(target, 0);
  // a long jump out of the stretch between two starts is a tail call: its target is a function
  // (musl's __syscall_cp jumps to its worker); one inside the stretch is the function's own
  const sorted = [...byStart.keys()].sort((a, b) => a - b);
  for (const [site, target] of jumps) {
    const region = regionOf(sorted, site);
    if (region !== undefined && (target < region[0] || target >= region[1])) addStart(target);
  }
  return [...byStart].map(([start, size]) => ({ start, size })).sort((a, b) => a.start - b.start);
}

/** [start, next start) around an address, by binary search */
function regionOf(sorted: readonly number[], address: number): [number, number] | undefined {
  let low = 0;
  let high = sorted.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((sorted[middle] as number) <= address) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  if (found < 0) return undefined;
  return [sorted[found] as number, sorted[found + 1] ?? Number.POSITIVE_INFINITY];
}

/** allocated sections that hold data, not code or unwind tables */
function dataSections(elf: ElfFile): ElfSection[] {
  const unwind = new Set(['.eh_frame', '.eh_frame_hdr', '.gcc_except_table']);
  return elf.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0 && (s.flags & SHF_EXECINSTR) === 0 && s.type !== SHT_NOBITS && !unwind.has(s.name));
}

/** the 64-bit words of a pointer array section */
function words(elf: ElfFile, section: ElfSection): number[] {
  const bytes = elf.sectionData(section);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; at += 8) out.push(view.getUint32(at + 4, true) * 0x1_0000_0000 + view.getUint32(at, true));
  return out;
}

/**
 * By a linear sweep of the executable sections: `call rel32` targets, `jmp rel32` (site, target)
 * pairs, and the code addresses `lea reg,[rip+x]` takes.
 */
function codeTargets(elf: ElfFile, sections: readonly ElfSection[]): { calls: number[]; jumps: Array<[number, number]>; addressed: number[] } {
  const calls = new Set<number>();
  const jumps: Array<[number, number]> = [];
  const addressed = new Set<number>();
  const instruction = new Instruction();
  try {
    for (const section of sections) {
      const decoder = new Decoder(64, elf.sectionData(section), DecoderOptions.None);
      decoder.ip = BigInt(section.address);
      try {
        while (decoder.canDecode) {
          decoder.decodeOut(instruction);
          if (instruction.code === Code.Call_rel32_64) calls.add(Number(instruction.nearBranch64));
          else if (instruction.code === Code.Jmp_rel32_64) jumps.push([Number(instruction.ip), Number(instruction.nearBranch64)]);
          else if (instruction.code === Code.Lea_r64_m && instruction.isIpRelMemoryOperand) addressed.add(Number(instruction.ipRelMemoryAddress));
        }
      } finally {
        decoder.free();
      }
    }
  } finally {
    instruction.free();
  }
  return { calls: [...calls], jumps, addressed: [...addressed] };
}

/**
 * The pc ranges of the FDEs in `.eh_frame` (the LSB's format: CIEs and FDEs, pointer encodings
 * from each CIE's 'R' augmentation). A record that cannot be read ends the walk: what was read
 * stays, the rest of the starts come from the other sources.
 */
export function ehFrameRanges(elf: ElfFile, section: ElfSection): SyntheticFunction[] {
  const data = elf.sectionData(section);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: SyntheticFunction[] = [];
  const encodings = new Map<number, number>();
  let at = 0;
  try {
    while (at + 4 <= data.length) {
      let length = view.getUint32(at, true);
      let body = at + 4;
      if (length === 0) break;
      if (length === 0xffffffff) {
        length = Number(view.getBigUint64(body, true));
        body += 8;
      }
      const end = body + length;
      if (end > data.length) break;
      const id = view.getUint32(body, true);
      if (id === 0) encodings.set(at, cieFdeEncoding(data, view, body + 4, end));
      else {
        const cie = body - id;
        const encoding = encodings.get(cie) ?? cieFdeEncoding(data, view, cie + 8, end);
        const pcField = body + 4;
        const begin = readEncoded(data, view, pcField, encoding, section.address + pcField);
        const range = readEncoded(data, view, begin.next, encoding & 0x0f, 0);
        if (range.value > 0) out.push({ start: begin.value, size: range.value });
      }
      at = end;
    }
  } catch {
    // a malformed record: keep what was read
  }
  return out;
}

/** the FDE pointer encoding a CIE declares ('zR…' augmentation), else absolute 8-byte pointers */
function cieFdeEncoding(data: Uint8Array, view: DataView, from: number, end: number): number {
  let at = from + 1; // version
  const start = at;
  while (at < end && data[at] !== 0) at++;
  const augmentation = new TextDecoder('latin1').decode(data.subarray(start, at));
  at++;
  if (augmentation.includes('eh')) at += 8;
  at = uleb(data, at).next; // code alignment
  at = sleb(data, at).next; // data alignment
  at = uleb(data, at).next; // return address register (version 3; one byte in version 1 reads the same below 128)
  if (!augmentation.startsWith('z')) return 0x00;
  at = uleb(data, at).next; // augmentation data length
  for (const letter of augmentation.slice(1)) {
    if (letter === 'R') return data[at] ?? 0x00;
    if (letter === 'P') {
      const encoding = data[at] ?? 0;
      at = readEncoded(data, view, at + 1, encoding, 0).next;
    } else if (letter === 'L') at += 1;
  }
  return 0x00;
}

function readEncoded(data: Uint8Array, view: DataView, at: number, encoding: number, fieldAddress: number): { value: number; next: number } {
  let value: number;
  let next: number;
  switch (encoding & 0x0f) {
    case 0x00:
    case 0x04:
      value = Number(view.getBigUint64(at, true));
      next = at + 8;
      break;
    case 0x0c:
      value = Number(view.getBigInt64(at, true));
      next = at + 8;
      break;
    case 0x03:
      value = view.getUint32(at, true);
      next = at + 4;
      break;
    case 0x0b:
      value = view.getInt32(at, true);
      next = at + 4;
      break;
    case 0x02:
      value = view.getUint16(at, true);
      next = at + 2;
      break;
    case 0x0a:
      value = view.getInt16(at, true);
      next = at + 2;
      break;
    case 0x01:
      ({ value, next } = uleb(data, at));
      break;
    case 0x09:
      ({ value, next } = sleb(data, at));
      break;
    default:
      throw new Error(`pointer encoding 0x${encoding.toString(16)}`);
  }
  if ((encoding & 0x70) === 0x10) value += fieldAddress;
  return { value, next };
}

function uleb(data: Uint8Array, at: number): { value: number; next: number } {
  return leb128(data, at, false);
}

function sleb(data: Uint8Array, at: number): { value: number; next: number } {
  return leb128(data, at, true);
}

function leb128(data: Uint8Array, at: number, signed: boolean): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = data[at++];
    if (byte === undefined) throw new Error('truncated LEB128');
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value: signed && byte & 0x40 ? value - scale : value, next: at };
  }
}
