import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Archive, ArchiveError, isArchive, parseArchive, readArchiveFile } from '../src/lto/archive.js';
import { parseElf } from '../src/lto/elf.js';

const GLIBC_LIBC_A = '/usr/lib/x86_64-linux-gnu/libc.a';
// Debian's musl-dev puts it here; upstream musl-gcc setups use /usr/lib/musl/lib
const MUSL_LIBC_A = ['/usr/lib/musl/lib/libc.a', '/usr/lib/x86_64-linux-musl/libc.a'].find((p) => existsSync(p));
const inCi = process.env.CI === 'true';
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasAr = spawnSync('ar', ['--version']).status === 0;

let dir = '';

/** member names as `ar t` lists them */
function arList(path: string): string[] {
  return execFileSync('ar', ['t', path], { encoding: 'utf8' }).trim().split('\n');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ukl-ar-'));
  if (!hasGcc || !hasAr) return;
  const files: Record<string, string> = {
    'a.c': 'int alpha(int x) { return x + 1; }\n',
    'a_member_with_a_really_long_name.c': 'int beta(int x) { return x * 2; }\nint gamma_value = 3;\n',
    'another_long_member_name_here.c': 'extern int alpha(int);\nint delta(void) { return alpha(4); }\n',
    'odd.c': 'char odd_sized_data[3] = "ab";\n',
  };
  const objects: string[] = [];
  for (const [name, source] of Object.entries(files)) {
    writeFileSync(join(dir, name), source);
    const object = name.replace(/\.c$/, '.o');
    execFileSync('gcc', ['-O2', '-c', name, '-o', object], { cwd: dir, stdio: 'pipe' });
    objects.push(object);
  }
  execFileSync('ar', ['rcs', 'lib.a', ...objects], { cwd: dir, stdio: 'pipe' });
  execFileSync('ar', ['rcS', 'noindex.a', ...objects], { cwd: dir, stdio: 'pipe' });
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasGcc || !hasAr)('ar archives we build', () => {
  it('lists the members ar lists, with GNU long names, as views of the archive', () => {
    const path = join(dir, 'lib.a');
    const archive = readArchiveFile(path);
    const members = [...archive.members()];
    expect(members.map((m) => m.name)).toEqual(arList(path));
    expect(members.map((m) => m.name)).toContain('a_member_with_a_really_long_name.o');
    for (const member of members) {
      expect(member.data.buffer).toBe(archive.bytes.buffer);
      expect(Buffer.from(member.data).equals(readFileSync(join(dir, member.name)))).toBe(true);
      expect(parseElf(member.data, member.name).type).toBe('REL');
    }
  });

  it('maps the GNU symbol index to members', () => {
    const archive = readArchiveFile(join(dir, 'lib.a'));
    const owners = new Map(archive.symbols().map((s) => [s.name, archive.memberAt(s.memberHeaderOffset).name]));
    expect(Object.fromEntries(owners)).toEqual({
      alpha: 'a.o',
      beta: 'a_member_with_a_really_long_name.o',
      gamma_value: 'a_member_with_a_really_long_name.o',
      delta: 'another_long_member_name_here.o',
      odd_sized_data: 'odd.o',
    });
    expect(readArchiveFile(join(dir, 'noindex.a')).symbols()).toEqual([]);
  });

  it('reads BSD #1/ names', () => {
    const body = Buffer.from('hello world!');
    const name = 'a_long_bsd_member_name.o';
    const header = (field: string, size: number): string =>
      `${field.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'644'.padEnd(8)}${String(size).padEnd(10)}\`\n`;
    const bytes = Buffer.concat([
      Buffer.from('!<arch>\n'),
      Buffer.from(header(`#1/${name.length}`, name.length + body.length)),
      Buffer.from(name),
      body,
      Buffer.from(header('short.o/', 3)),
      Buffer.from('abc\n'),
    ]);
    const members = [...parseArchive(bytes).members()];
    expect(members.map((m) => [m.name, Buffer.from(m.data).toString()])).toEqual([
      [name, 'hello world!'],
      ['short.o', 'abc'],
    ]);
  });

  it('rejects what it cannot read with an ArchiveError naming the offset', () => {
    const good = readFileSync(join(dir, 'lib.a'));
    expect(isArchive(good)).toBe(true);
    expect(() => parseArchive(Buffer.from('!<thin>\n'), 'thin.a')).toThrow(/thin archives/);
    expect(() => parseArchive(Buffer.from('not an archive'), 'x.a')).toThrow(/^x\.a: not an ar archive \(bad magic\) \(at offset 0\)$/);
    const truncated = good.subarray(0, good.length - 10);
    const error = (() => {
      try {
        [...parseArchive(truncated, 'cut.a').members()];
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as ArchiveError).location?.offset).toBeGreaterThan(8);
    expect((error as ArchiveError).message).toMatch(/runs past the end/);
  });

  it('fuzz: truncations and bit flips raise only ArchiveError', () => {
    const original = readFileSync(join(dir, 'lib.a'));
    const exercise = (bytes: Uint8Array): void => {
      try {
        const archive = Archive.parse(bytes, 'fuzz.a');
        for (const member of archive.members()) void member.name;
        for (const symbol of archive.symbols()) void symbol.name;
      } catch (e) {
        if (!(e instanceof ArchiveError)) throw e;
        expect(e.message.includes('\n')).toBe(false);
      }
    };
    fc.assert(fc.property(fc.integer({ min: 0, max: original.length }), (length) => exercise(original.subarray(0, length))), { numRuns: 300 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }), (flips) => {
        const bytes = Buffer.from(original);
        for (const [at, xor] of flips) bytes[at] = (bytes[at] ?? 0) ^ xor;
        exercise(bytes);
      }),
      { numRuns: 500 },
    );
    // aimed at the symbol index and the first headers, where the structure is
    fc.assert(
      fc.property(fc.nat({ max: Math.min(original.length, 400) - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bytes = Buffer.from(original);
        bytes[at] = (bytes[at] ?? 0) ^ xor;
        exercise(bytes);
      }),
      { numRuns: 400 },
    );
  });
});

describe.skipIf(!existsSync(GLIBC_LIBC_A) && !inCi)("glibc's libc.a", () => {
  it('has the members ar lists, and write.o defines __libc_write and write', () => {
    const archive = readArchiveFile(GLIBC_LIBC_A);
    const names = [...archive.members()].map((m) => m.name);
    if (hasAr) expect(names).toEqual(arList(GLIBC_LIBC_A));
    expect(names.length).toBeGreaterThan(1500);
    const index = archive.symbols();
    const owner = (symbol: string): string | undefined => {
      const entry = index.find((s) => s.name === symbol);
      return entry === undefined ? undefined : archive.memberAt(entry.memberHeaderOffset).name;
    };
    expect(owner('__libc_write')).toBe('write.o');
    expect(owner('write')).toBe('write.o');
    const writeMember = [...archive.members()].find((m) => m.name === 'write.o');
    const symbols = parseElf(writeMember?.data ?? new Uint8Array(), 'write.o').symbols();
    expect(symbols.filter((s) => s.type === 'FUNC').map((s) => s.name)).toEqual(expect.arrayContaining(['__libc_write', 'write', '__write']));
  });
});

describe.skipIf(MUSL_LIBC_A === undefined && !inCi)("musl's libc.a", () => {
  it('has the members ar lists (*.lo), and write.lo defines write', () => {
    if (MUSL_LIBC_A === undefined) throw new Error('musl libc.a not found (install musl-tools)');
    const archive = readArchiveFile(MUSL_LIBC_A);
    const names = [...archive.members()].map((m) => m.name);
    if (hasAr) expect(names).toEqual(arList(MUSL_LIBC_A));
    expect(names.length).toBeGreaterThan(1000);
    expect(names.every((n) => n.endsWith('.lo') || n.endsWith('.o'))).toBe(true);
    const entry = archive.symbols().find((s) => s.name === 'write');
    expect(entry === undefined ? undefined : archive.memberAt(entry.memberHeaderOffset).name).toBe('write.lo');
  });
});
