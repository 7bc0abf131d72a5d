import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfError, isLlvmBitcode, parseElf, readElfFile, relocationTypeName } from '../src/lto/elf.js';
import type { ElfFile } from '../src/lto/elf.js';

/** A small program with what a reader must get right: statics, weak symbols, an IFUNC, COMMON,
 * function pointers in data (section symbol + addend relocations) and several text sections. */
const SOURCE = `
#include <stdio.h>
#include <unistd.h>
int counter;
static int helper(int x) { return x * 3 + counter; }
__attribute__((weak)) int weak_hook(int x) { return x + 1; }
static int impl_a(void) { return 1; }
static void *resolve_pick(void) { return (void *)impl_a; }
int pick(void) __attribute__((ifunc("resolve_pick")));
static int (*const table[])(int) = { helper, weak_hook };
__attribute__((noinline)) int use_table(int i, int v) { return table[i & 1](v); }
int main(int argc, char **argv) {
  (void)argv;
  printf("%d\\n", use_table(argc, 4) + pick());
  write(1, "x", 1);
  return 0;
}
`;

let dir = '';
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasClang = spawnSync('clang', ['--version']).status === 0;

function gcc(args: string[]): void {
  execFileSync('gcc', args, { cwd: dir, stdio: 'pipe' });
}

interface ReadelfSymbol {
  index: number;
  value: number;
  size: number;
  type: string;
  bind: string;
  ndx: string;
  name: string;
}

/** `readelf -sW`, the first symbol table only (.symtab) */
function readelfSymbols(path: string): ReadelfSymbol[] {
  const text = execFileSync('readelf', ['-sW', path], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const table = text.split(/\nSymbol table /).find((part) => part.startsWith("'.symtab'")) ?? '';
  const symbols: ReadelfSymbol[] = [];
  for (const line of table.split('\n')) {
    const m = /^\s*(\d+): ([0-9a-f]+)\s+(\S+) (\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m === null) continue;
    symbols.push({
      index: Number(m[1]),
      value: Number.parseInt(m[2] ?? '', 16),
      size: (m[3] ?? '').startsWith('0x') ? Number.parseInt(m[3] ?? '', 16) : Number(m[3]),
      type: m[4] ?? '',
      bind: m[5] ?? '',
      ndx: m[7] ?? '',
      name: m[8] ?? '',
    });
  }
  return symbols;
}

interface ReadelfRelocation {
  section: string;
  offset: number;
  symbolIndex: number;
  type: number;
  typeName: string;
  addend: number;
}

/** `readelf -rW`: every RELA entry with the section it came from */
function readelfRelocations(path: string): ReadelfRelocation[] {
  const text = execFileSync('readelf', ['-rW', path], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const relocations: ReadelfRelocation[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^Relocation section '([^']+)'/.exec(line);
    if (header !== null) {
      section = header[1] ?? '';
      continue;
    }
    const m = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)\s*(.*)$/.exec(line);
    if (m === null) continue;
    const info = BigInt(`0x${m[2]}`);
    const rest = m[4] ?? '';
    const signed = /([+-]) ([0-9a-f]+)$/.exec(rest);
    const addend = signed !== null ? (signed[1] === '-' ? -1 : 1) * Number.parseInt(signed[2] ?? '', 16) : Number.parseInt(rest.trim() || '0', 16);
    relocations.push({
      section,
      offset: Number.parseInt(m[1] ?? '', 16),
      symbolIndex: Number(info >> 32n),
      type: Number(info & 0xffffffffn),
      typeName: m[3] ?? '',
      addend,
    });
  }
  return relocations;
}

function expectSymbolsMatchReadelf(elf: ElfFile, path: string): void {
  const ours = elf.symbols();
  const theirs = readelfSymbols(path);
  expect(ours.length).toBe(theirs.length);
  for (const expected of theirs) {
    const actual = ours[expected.index];
    expect(actual, `symbol ${expected.index}`).toBeDefined();
    if (actual === undefined) continue;
    const ndx = actual.sectionIndex === 0 ? 'UND' : actual.sectionIndex === 0xfff1 ? 'ABS' : actual.sectionIndex === 0xfff2 ? 'COM' : String(actual.sectionIndex);
    const row = { value: actual.value, size: actual.size, type: actual.type, bind: actual.bind, ndx };
    expect(row, `symbol ${expected.index} ${expected.name}`).toEqual({
      value: expected.value,
      size: expected.size,
      type: expected.type,
      bind: expected.bind,
      ndx: expected.ndx,
    });
    // readelf prints section names for section symbols; their st_name is empty
    if (actual.type !== 'SECTION') expect(actual.name).toBe(expected.name);
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ukl-elf-'));
  writeFileSync(join(dir, 'app.c'), SOURCE);
  if (!hasGcc) return;
  gcc(['-O2', '-c', 'app.c', '-o', 'app.o']);
  gcc(['-O2', '-ffunction-sections', '-fdata-sections', '-c', 'app.c', '-o', 'app_sections.o']);
  gcc(['-O2', '-static', 'app.c', '-o', 'app_static']);
  gcc(['-O2', 'app.c', '-o', 'app_dynamic']);
  gcc(['-O2', '-flto', '-c', 'app.c', '-o', 'app_slim.o']);
  gcc(['-O2', '-flto', '-ffat-lto-objects', '-c', 'app.c', '-o', 'app_fat.o']);
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasGcc)('ELF reader against readelf', () => {
  it.each(['app.o', 'app_sections.o', 'app_static', 'app_fat.o'])('%s: every symbol as readelf -sW prints it', (name) => {
    const path = join(dir, name);
    expectSymbolsMatchReadelf(readElfFile(path), path);
  });

  it.each(['app.o', 'app_sections.o', 'app_fat.o'])('%s: every RELA entry as readelf -rW prints it', (name) => {
    const path = join(dir, name);
    const elf = readElfFile(path);
    const ours = elf.relocationSections().flatMap((rs) =>
      rs.relocations.map((r) => ({ section: rs.section.name, offset: r.offset, symbolIndex: r.symbolIndex, type: r.type, typeName: relocationTypeName(r.type), addend: r.addend })),
    );
    const theirs = readelfRelocations(path);
    expect(theirs.length).toBeGreaterThan(5);
    expect(ours).toEqual(theirs);
  });

  it('reads the header, sections and kinds of file', () => {
    const object = readElfFile(join(dir, 'app.o'));
    expect(object.type).toBe('REL');
    expect(object.isStatic).toBe(false);
    expect(object.programHeaders).toEqual([]);
    expect(object.sectionByName('.text')?.type).toBe(1);
    expect(object.executableSections().map((s) => s.name)).toContain('.text');
    const ifunc = object.symbols().find((s) => s.name === 'pick');
    expect(ifunc?.type).toBe('IFUNC');
    expect(object.symbols().find((s) => s.name === 'weak_hook')?.bind).toBe('WEAK');
    expect(object.symbols().find((s) => s.name === 'helper')?.bind).toBe('LOCAL');

    const sections = readElfFile(join(dir, 'app_sections.o'));
    expect(sections.executableSections().map((s) => s.name)).toEqual(expect.arrayContaining(['.text.use_table', '.text.startup.main']));
    // a relocation section names the section it patches
    const rela = sections.relocationSections().find((rs) => rs.section.name === '.rela.text.startup.main');
    expect(sections.section(rela?.targetSectionIndex ?? -1)?.name).toBe('.text.startup.main');

    const staticExe = readElfFile(join(dir, 'app_static'));
    expect(staticExe.type).toBe('EXEC');
    expect(staticExe.isStatic).toBe(true);
    expect(staticExe.interpreter).toBeNull();
    expect(staticExe.programHeaders.some((p) => p.type === 1)).toBe(true);
    expect(staticExe.entry).toBe(staticExe.symbols().find((s) => s.name === '_start')?.value);

    const dynamic = readElfFile(join(dir, 'app_dynamic'));
    expect(['EXEC', 'DYN']).toContain(dynamic.type);
    expect(dynamic.isStatic).toBe(false);
    expect(dynamic.interpreter).toMatch(/ld-linux-x86-64\.so\.2$/);
  });

  it('tells slim and fat GCC LTO objects apart from plain ones', () => {
    const plain = readElfFile(join(dir, 'app.o'));
    const slim = readElfFile(join(dir, 'app_slim.o'));
    const fat = readElfFile(join(dir, 'app_fat.o'));
    expect([plain.isLtoObject(), slim.isLtoObject(), fat.isLtoObject()]).toEqual([false, true, true]);
    expect([plain.isSlimLtoObject(), slim.isSlimLtoObject(), fat.isSlimLtoObject()]).toEqual([false, true, false]);
    expect(isLlvmBitcode(readFileSync(join(dir, 'app.o')))).toBe(false);
  });

  it.skipIf(!hasClang)('recognises clang -flto bitcode (raw and wrapped magic)', () => {
    execFileSync('clang', ['-O2', '-flto', '-c', 'app.c', '-o', 'app_clang.o'], { cwd: dir, stdio: 'pipe' });
    const bitcode = readFileSync(join(dir, 'app_clang.o'));
    expect(isLlvmBitcode(bitcode)).toBe(true);
    expect(isLlvmBitcode(Uint8Array.from([0xde, 0xc0, 0x17, 0x0b, 0, 0, 0, 0]))).toBe(true);
    expect(() => parseElf(bitcode, 'app_clang.o')).toThrow(ElfError);
  });
});

function errorOf(run: () => unknown): ElfError {
  try {
    run();
  } catch (e) {
    if (e instanceof ElfError) return e;
    throw e;
  }
  throw new Error('expected an ElfError');
}

describe.skipIf(!hasGcc)('malformed ELF input is an ElfError with an offset', () => {
  const patched = (edit: (b: Buffer) => void): Buffer => {
    const bytes = Buffer.from(readFileSync(join(dir, 'app.o')));
    edit(bytes);
    return bytes;
  };

  it('names the problem, the file and the offset on one line', () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['empty', Buffer.alloc(0), /truncated ELF header/],
      ['bad magic', patched((b) => b.write('\x7fELG', 0, 'latin1')), /bad magic/],
      ['32-bit', patched((b) => b.writeUInt8(1, 4)), /not ELF64/],
      ['big-endian', patched((b) => b.writeUInt8(2, 5)), /not little-endian/],
      ['aarch64', patched((b) => b.writeUInt16LE(183, 18)), /not x86-64/],
      ['section table past the end', patched((b) => b.writeUInt32LE(0x7fff_0000, 40)), /section header table/],
      ['section-name table index', patched((b) => b.writeUInt16LE(900, 62)), /section-name table index 900/],
    ];
    for (const [what, bytes, message] of cases) {
      const error = errorOf(() => parseElf(bytes, 'bad.o'));
      expect(error.message, what).toMatch(message);
      expect(error.message, what).toMatch(/^bad\.o: .* \(at offset \d+\)$/);
      expect(error.message.includes('\n')).toBe(false);
      expect(error.location?.file).toBe('bad.o');
    }
  });

  it('catches a symbol name index beyond the string table', () => {
    const good = readElfFile(join(dir, 'app.o'));
    const symtab = good.sections.find((s) => s.type === 2);
    expect(symtab).toBeDefined();
    if (symtab === undefined) return;
    // st_name of symbol 1
    const bytes = patched((b) => b.writeUInt32LE(0x00ff_ffff, symtab.offset + 24));
    const error = errorOf(() => parseElf(bytes, 'bad.o').symbols());
    expect(error.message).toMatch(/string index 16777215 beyond string table/);
  });

  it('catches a relocation naming a symbol that does not exist', () => {
    const good = readElfFile(join(dir, 'app.o'));
    const rela = good.sections.find((s) => s.type === 4);
    if (rela === undefined) throw new Error('no RELA section');
    const bytes = patched((b) => b.writeUInt32LE(5000, rela.offset + 12));
    expect(() => parseElf(bytes, 'bad.o').relocationSections()).toThrow(/names symbol 5000/);
  });

  it('fuzz: truncations and bit flips of a real object raise only ElfError', () => {
    const original = readFileSync(join(dir, 'app_sections.o'));
    const exercise = (bytes: Uint8Array): void => {
      try {
        const elf = parseElf(bytes, 'fuzz.o');
        elf.symbols();
        elf.relocationSections();
        for (const section of elf.sections) elf.sectionData(section);
        elf.isLtoObject();
      } catch (e) {
        if (!(e instanceof ElfError)) throw e;
        expect(e.message.includes('\n')).toBe(false);
      }
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: original.length }), (length) => exercise(original.subarray(0, length))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }), (flips) => {
        const bytes = Buffer.from(original);
        for (const [at, bit] of flips) bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
        exercise(bytes);
      }),
      { numRuns: 500 },
    );
    // flips aimed at the header and section table, where structure lives
    const header = readElfFile(join(dir, 'app_sections.o'));
    const tableStart = header.sections[0] === undefined ? 0 : original.readUInt32LE(40);
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.nat({ max: header.sections.length * 64 - 1 }), fc.integer({ min: 1, max: 255 }), (h, s, xor) => {
        const bytes = Buffer.from(original);
        bytes[h] = (bytes[h] ?? 0) ^ xor;
        bytes[tableStart + s] = (bytes[tableStart + s] ?? 0) ^ xor;
        exercise(bytes);
      }),
      { numRuns: 500 },
    );
  });
});
