import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { ElfError } from '../lto/elf.js';

/**
 * Just enough of an ELF reader for the build step: is a file a static x86-64 executable (the
 * initramfs has no shared libraries), and how big are a kernel's text, data and bss (the numbers
 * `size` prints). Its errors are the analysis reader's ElfError, but the reader is kept apart from src/lto/elf.ts on purpose: this one reads
 * only the headers it needs from files of tens of megabytes (vmlinux) and accepts kernel
 * addresses above 2^53, which the analysis reader rejects.
 */

const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;
const PT_INTERP = 3;
const SHT_NOBITS = 8;
const SHF_WRITE = 0x1;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;

export interface ElfSummary {
  type: number;
  machine: number;
  entry: bigint;
  /** PT_INTERP: the dynamic loader a dynamically linked program asks for, else null */
  interpreter: string | null;
}

function readAt(fd: number, offset: number, length: number, path: string): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  if (n !== length) throw ElfError.at('malformed', `ELF file is truncated (wanted ${length} bytes)`, offset, path);
  return buf;
}

function withFile<T>(path: string, use: (fd: number, size: number) => T): T {
  let fd: number;
  let size: number;
  try {
    size = statSync(path).size;
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ElfError('unreadable', `${path}: ${(e as Error).message}`, { location: { file: path } });
  }
  try {
    return use(fd, size);
  } finally {
    closeSync(fd);
  }
}

/** The 64-byte header of a little-endian ELF64 file; anything else is an ElfError. */
function header(fd: number, size: number, path: string): Buffer {
  if (size < 64) throw new ElfError('not-elf', `${path} is not an ELF file (${size} bytes)`, { location: { file: path } });
  const h = readAt(fd, 0, 64, path);
  if (h.readUInt32BE(0) !== 0x7f454c46) throw new ElfError('not-elf', `${path} is not an ELF file`, { location: { file: path } });
  if (h[4] !== ELFCLASS64 || h[5] !== ELFDATA2LSB) throw new ElfError('unsupported', `${path} is not a little-endian 64-bit ELF file`, { location: { file: path } });
  return h;
}

export function readElfSummary(path: string): ElfSummary {
  return withFile(path, (fd, size) => {
    const h = header(fd, size, path);
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    let interpreter: string | null = null;
    for (let i = 0; i < phnum; i++) {
      const ph = readAt(fd, phoff + i * phentsize, 56, path);
      if (ph.readUInt32LE(0) !== PT_INTERP) continue;
      const offset = Number(ph.readBigUInt64LE(8));
      const length = Number(ph.readBigUInt64LE(32));
      interpreter = readAt(fd, offset, Math.min(length, 4096), path).toString('utf8').replace(/\0.*$/s, '');
    }
    return { type: h.readUInt16LE(16), machine: h.readUInt16LE(18), entry: h.readBigUInt64LE(24), interpreter };
  });
}

export interface SectionSizes {
  text: number;
  data: number;
  bss: number;
}

/**
 * Berkeley-style sizes from the section headers, as binutils' `size` counts them: allocated
 * sections that are executable or read-only are text, the other allocated ones data, or bss
 * when they occupy no file space.
 */
export function readSectionSizes(path: string): SectionSizes {
  return withFile(path, (fd, size) => {
    const h = header(fd, size, path);
    const shoff = Number(h.readBigUInt64LE(40));
    const shentsize = h.readUInt16LE(58);
    const shnum = h.readUInt16LE(60);
    const sizes: SectionSizes = { text: 0, data: 0, bss: 0 };
    for (let i = 0; i < shnum; i++) {
      const sh = readAt(fd, shoff + i * shentsize, 64, path);
      const type = sh.readUInt32LE(4);
      const flags = sh.readBigUInt64LE(8);
      const bytes = Number(sh.readBigUInt64LE(32));
      if ((flags & BigInt(SHF_ALLOC)) === 0n) continue;
      if ((flags & BigInt(SHF_EXECINSTR)) !== 0n || (flags & BigInt(SHF_WRITE)) === 0n) sizes.text += bytes;
      else if (type !== SHT_NOBITS) sizes.data += bytes;
      else sizes.bss += bytes;
    }
    return sizes;
  });
}
