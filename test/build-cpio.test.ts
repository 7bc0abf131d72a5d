import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CpioError, writeCpioNewc, type CpioEntry } from '../src/build/cpio.js';

/** The archive as GNU cpio lists it (`cpio -itv`), one line per entry, whitespace collapsed. */
function listWithCpio(archive: Buffer): string[] {
  const r = spawnSync('cpio', ['-itv'], { input: archive, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' '));
}

function extractOne(archive: Buffer, path: string): Buffer {
  const r = spawnSync('cpio', ['-i', '--to-stdout', '--quiet', path], { input: archive });
  expect(r.status, r.stderr.toString()).toBe(0);
  return r.stdout;
}

const initramfsLike: CpioEntry[] = [
  { kind: 'file', path: '/init', data: '#!/bin/true\n', mode: 0o755 },
  { kind: 'char', path: '/dev/console', major: 5, minor: 1 },
  { kind: 'block', path: 'dev/ram0', major: 1, minor: 0, mode: 0o660 },
  { kind: 'dir', path: 'proc', mode: 0o555 },
  { kind: 'symlink', path: 'bin/sh', target: '../init' },
  { kind: 'file', path: 'etc/empty', data: new Uint8Array(0) },
];

describe('cpio newc writer, read back by GNU cpio', () => {
  it('lists every entry with its type, mode, size, device numbers and link target', () => {
    const archive = writeCpioNewc(initramfsLike, { mtime: 1_700_000_000 });
    expect(listWithCpio(archive)).toEqual([
      '-rwxr-xr-x 1 root root 12 Nov 14 2023 init',
      'drwxr-xr-x 2 root root 0 Nov 14 2023 dev',
      'crw------- 1 root root 5, 1 Nov 14 2023 dev/console',
      'brw-rw---- 1 root root 1, 0 Nov 14 2023 dev/ram0',
      'dr-xr-xr-x 2 root root 0 Nov 14 2023 proc',
      'drwxr-xr-x 2 root root 0 Nov 14 2023 bin',
      'lrwxrwxrwx 1 root root 7 Nov 14 2023 bin/sh -> ../init',
      'drwxr-xr-x 2 root root 0 Nov 14 2023 etc',
      '-rw-r--r-- 1 root root 0 Nov 14 2023 etc/empty',
    ]);
  });

  it('keeps file contents intact for every length modulo 4 (padding)', () => {
    const files: CpioEntry[] = [0, 1, 2, 3, 4, 5, 4097].map((n) => ({
      kind: 'file',
      path: `f${n}`,
      data: Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) % 256)),
    }));
    const archive = writeCpioNewc(files);
    expect(archive.length % 4).toBe(0);
    for (const f of files) {
      if (f.kind !== 'file') continue;
      expect(extractOne(archive, f.path).equals(Buffer.from(f.data))).toBe(true);
    }
  });

  it('is deterministic: equal input gives equal bytes, mtime defaults to 0', () => {
    const a = writeCpioNewc(initramfsLike);
    const b = writeCpioNewc(initramfsLike);
    expect(a.equals(b)).toBe(true);
    expect(listWithCpio(a)[0]).toContain('Jan 1 1970 init');
  });

  it('numbers inodes from 1 in entry order and ends with the trailer', () => {
    const archive = writeCpioNewc([{ kind: 'dir', path: 'a' }, { kind: 'file', path: 'a/b', data: 'x' }]);
    const text = archive.toString('latin1');
    expect(text.startsWith('07070100000001000041ed')).toBe(true);
    expect(text.indexOf('07070100000002000081a4')).toBeGreaterThan(0);
    // trailer: everything 0 except nlink 1 and the name size (11 with the NUL)
    const trailer = `070701${'0'.repeat(8 * 4)}00000001${'0'.repeat(8 * 6)}0000000b${'0'.repeat(8)}TRAILER!!!\0`;
    expect(text.endsWith(`${trailer}\0\0\0`)).toBe(true);
  });

  it('handles names with spaces and non-ASCII characters', () => {
    const archive = writeCpioNewc([{ kind: 'file', path: 'etc/a b/ü.txt', data: 'hi' }]);
    expect(listWithCpio(archive).at(-1)).toBe('-rw-r--r-- 1 root root 2 Jan 1 1970 etc/a b/ü.txt');
  });

  it('rejects paths that escape the root, duplicates, and non-directory parents', () => {
    expect(() => writeCpioNewc([{ kind: 'dir', path: '../x' }])).toThrow(CpioError);
    expect(() => writeCpioNewc([{ kind: 'dir', path: '/' }])).toThrow(/empty path/);
    expect(() => writeCpioNewc([{ kind: 'dir', path: 'a' }, { kind: 'dir', path: '/a/' }])).toThrow(/appears twice/);
    expect(() => writeCpioNewc([{ kind: 'file', path: 'a', data: '' }, { kind: 'file', path: 'a/b', data: '' }])).toThrow(/is a file/);
    expect(() => writeCpioNewc([{ kind: 'file', path: 'a', data: '', mode: 0o10000 }])).toThrow(/permission mode/);
  });
});
