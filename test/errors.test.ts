import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { reportError, UsageError, type CliIO } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';
import { UklTrimError } from '../src/util/errors.js';

type ErrorClass = (abstract new (...args: never[]) => UklTrimError) & { codes: readonly string[] };

/** every typed error class the library exports, found by walking the public API */
function publicErrorClasses(): Map<string, ErrorClass> {
  const found = new Map<string, ErrorClass>();
  for (const [name, value] of Object.entries(api)) {
    if (typeof value === 'function' && value.prototype instanceof UklTrimError) found.set(name, value as unknown as ErrorClass);
  }
  return found;
}

function capture(): CliIO & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(`out:${l}`), err: (l) => lines.push(l), info: (l) => lines.push(l) };
}

/** the codes that are ukl-trim's fault, not the input's (exit 1); everything else, missing tools included, exits 2 */
const INTERNAL: Record<string, readonly string[]> = {
  MinimizeError: ['solver', 'internal'],
  KernelBuildError: ['build-failed'],
  ImageBuildError: ['build-failed'],
  ReportError: ['baseline-build-failed'],
};

describe('one error model', () => {
  it('every public error class extends the shared base and lists its codes', () => {
    const classes = publicErrorClasses();
    expect([...classes.keys()].sort()).toEqual([
      'AnalysisError',
      'ArchiveError',
      'CpioError',
      'ElfError',
      'ImageBuildError',
      'InitramfsError',
      'KconfigError',
      'KernelBuildError',
      'KernelTreeError',
      'LinkError',
      'MinimizeError',
      'ObserveError',
      'ReportError',
      'SyscallMapError',
      'UklError',
    ]);
    for (const [name, cls] of classes) expect(cls.codes.length, name).toBeGreaterThan(0);
  });

  it('every public error code reaches the CLI as one line, exit 2 for bad input and 1 for faults of ukl-trim', () => {
    for (const [name, cls] of publicErrorClasses()) {
      for (const code of cls.codes) {
        const Concrete = cls as unknown as new (code: string, message: string) => UklTrimError;
        // Kconfig errors print as conf prints them, and conf spells a recursive inclusion over several lines
        const text = name === 'KconfigError' ? 'what went wrong with tool output [0m on a second line' : 'what went wrong\nwith tool output\x1b[0m on a second line';
        const error = new Concrete(code, text);
        const io = capture();
        const exit = reportError(error, io);
        const internal = INTERNAL[name]?.includes(code) ?? false;
        expect(exit, `${name} ${code}`).toBe(internal ? 1 : 2);
        expect(io.lines, `${name} ${code}`).toHaveLength(1);
        expect(io.lines[0], `${name} ${code}`).toMatch(/what went wrong with tool output \[0m on a second line$/);
        expect(error.name).toBe(name);
        expect(error.code).toBe(code);
      }
    }
    for (const [name, codes] of Object.entries(INTERNAL)) {
      const cls = publicErrorClasses().get(name) as ErrorClass;
      for (const code of codes) expect(cls.codes, name).toContain(code);
    }
  });

  it('usage errors and parseArgs errors are one line and exit 2', () => {
    const io = capture();
    expect(reportError(new UsageError('--timeout x: expected seconds > 0'), io)).toBe(2);
    expect(reportError(Object.assign(new TypeError("Unknown option '--frobnicate'"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }), io)).toBe(2);
    expect(io.lines).toEqual(['ukl-trim: --timeout x: expected seconds > 0', "ukl-trim: Unknown option '--frobnicate'"]);
  });

  it('an internal typed error prints its chain under the line; an untyped one is a bug with its stack', () => {
    const io = capture();
    const build = new api.KernelBuildError('build-failed', 'kernel build failed (log: /tmp/x/build.log)', { location: { file: '/tmp/x/build.log' }, chain: ['fs/x.c:1:1: error: boom'] });
    expect(reportError(build, io)).toBe(1);
    expect(io.lines).toEqual(['ukl-trim: kernel build failed (log: /tmp/x/build.log)', '  fs/x.c:1:1: error: boom']);
    const bug = capture();
    expect(reportError(new RangeError('index out of range'), bug)).toBe(1);
    expect(bug.lines[0]).toMatch(/^ukl-trim: internal error: RangeError: index out of range\n\s+at /);
  });

  it('a Kconfig error keeps the compiler form file:line: error: message', () => {
    const io = capture();
    expect(reportError(new api.KconfigError('syntax', "unexpected 'foo' statement", { file: 'Kconfig', line: 3, column: 1 }), io)).toBe(2);
    expect(io.lines).toEqual(["Kconfig:3:1: error: unexpected 'foo' statement"]);
  });

  it('errors raised deep inside a command reach main as one line naming the bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-trim-errors-'));
    const truncated = join(dir, 'truncated.elf');
    writeFileSync(truncated, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    const io = capture();
    expect(await main(['analyze', truncated], io)).toBe(2);
    expect(io.lines).toEqual([`ukl-trim: ${truncated}: truncated ELF header: 8 of 64 bytes (at offset 0)`]);
    const unknown = capture();
    expect(await main(['build', '--frobnicate'], unknown)).toBe(2);
    expect(unknown.lines).toEqual(["ukl-trim: Unknown option '--frobnicate'"]);
  });
});
