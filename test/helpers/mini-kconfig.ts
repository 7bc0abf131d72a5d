/**
 * Helpers for the Kconfig unit tests on the small trees under fixtures/kconfig/<case>/.
 *
 * Every expected output in the suites was produced by the kernel's own `conf` (Linux 6.1) with
 * test/tools/oracle-mini.sh and is hard-coded in the tests; `runMode` produces our engine's
 * output in exactly the format that script prints, so the two can be compared byte for byte.
 * With ORACLE_CONF=/path/to/conf in the environment the suites also re-run conf on every
 * registered case (see `registerOracleCheck`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Kconfig } from '../../src/kconfig/kconfig.js';
import { KconfigError } from '../../src/kconfig/errors.js';
import type { ShellProvider } from '../../src/kconfig/shell.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/kconfig/', import.meta.url));
export const ORACLE_SCRIPT = fileURLToPath(new URL('../tools/oracle-mini.sh', import.meta.url));

export type Mode =
  | 'allnoconfig'
  | 'allyesconfig'
  | 'allmodconfig'
  | 'alldefconfig'
  | 'olddefconfig'
  | 'savedefconfig'
  | 'defconfig'
  | 'syncconfig';

export function fixtureDir(name: string): string {
  return join(FIXTURES, name);
}

export function readFixture(name: string, file: string): string {
  return readFileSync(join(fixtureDir(name), file), 'utf8');
}

/** The KEY=VALUE lines of fixtures/kconfig/<name>/oracle.env: the environment conf saw. */
export function fixtureEnv(name: string): Record<string, string> {
  const env: Record<string, string> = {};
  const p = join(fixtureDir(name), 'oracle.env');
  if (!existsSync(p)) return env;
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

/**
 * A ShellProvider that never starts a process: it records every command and answers
 * `echo WORDS` with WORDS (what /bin/sh would print for the simple commands the fixtures use),
 * anything else from `answers` or with "".
 */
export class FakeShell implements ShellProvider {
  readonly commands: string[] = [];
  constructor(private readonly answers: Readonly<Record<string, string>> = {}) {}
  run(command: string): string {
    this.commands.push(command);
    const a = this.answers[command];
    if (a !== undefined) return a;
    const m = /^echo (.*)$/.exec(command);
    return m ? (m[1] ?? '') : '';
  }
}

export interface ParsedFixture {
  kc: Kconfig;
  shell: FakeShell;
  info: string[];
}

export function parseFixture(name: string, opts: { env?: Record<string, string>; shell?: FakeShell } = {}): ParsedFixture {
  const shell = opts.shell ?? new FakeShell();
  const info: string[] = [];
  const dir = fixtureDir(name);
  const kc = Kconfig.parse({
    srctree: dir,
    env: { srctree: dir, ...fixtureEnv(name), ...(opts.env ?? {}) },
    shell,
    stdout: (line) => info.push(line),
  });
  return { kc, shell, info };
}

/** Parse a fixture and expect a KconfigError; returns it. */
export function parseError(name: string): KconfigError {
  try {
    parseFixture(name);
  } catch (e) {
    expect(e).toBeInstanceOf(KconfigError);
    return e as KconfigError;
  }
  throw new Error(`fixture ${name} parsed without error`);
}

/** Our engine's output in the format of test/tools/oracle-mini.sh. */
export function runMode(kc: Kconfig, mode: Mode, input: string | null): string {
  switch (mode) {
    case 'allnoconfig':
    case 'allyesconfig':
    case 'allmodconfig':
    case 'alldefconfig':
      return kc.allconfig(mode, input);
    case 'olddefconfig':
      return kc.olddefconfig(input);
    case 'savedefconfig':
      return kc.savedefconfig(input);
    case 'defconfig':
      if (input === null) throw new Error('defconfig needs an input');
      return kc.defconfig(input);
    case 'syncconfig': {
      const r = kc.syncconfig(input);
      return `==> .config <==\n${r.config}==> auto.conf <==\n${r.autoConf}==> autoconf.h <==\n${r.autoconfH}==> rustc_cfg <==\n${r.rustcCfg}`;
    }
  }
}

export interface OracleCase {
  fixture: string;
  mode: Mode;
  /** a file in the fixture directory: the .config (or KCONFIG_ALLCONFIG, or the defconfig) */
  input?: string;
  /** what conf wrote, verbatim */
  expected: string;
}

const registered: OracleCase[] = [];

/** Run `mode` on a fixture and compare with conf's output; the case is kept for re-verification. */
export function runCase(c: OracleCase): ParsedFixture & { out: string } {
  const p = parseFixture(c.fixture);
  const out = runMode(p.kc, c.mode, c.input ? readFixture(c.fixture, c.input) : null);
  return { ...p, out };
}

/** `it(title)` comparing our output with conf's hard-coded output. */
export function oracleCase(title: string, c: OracleCase, extra?: (r: ParsedFixture & { out: string }) => void): void {
  registered.push(c);
  it(title, () => {
    const r = runCase(c);
    expect(r.out).toBe(c.expected);
    extra?.(r);
  });
}

/** An error case: conf must exit 1 on this fixture (only checked when re-verifying). */
export function registerOracleFailure(fixture: string): void {
  failures.push(fixture);
}
const failures: string[] = [];

/**
 * With ORACLE_CONF set (path of a conf binary built from Linux 6.1), re-run conf on every case
 * registered in this file and check that the hard-coded expectations are still what it writes.
 */
export function registerOracleCheck(): void {
  const conf = process.env.ORACLE_CONF;
  describe.runIf(Boolean(conf))('oracle re-verification (ORACLE_CONF)', () => {
    const env = { ...process.env, CONF: conf ?? '' };
    it.each(registered.map((c) => [`${c.fixture} ${c.mode}${c.input ? ` ${c.input}` : ''}`, c] as const))('conf: %s', (_t, c) => {
      const args = [fixtureDir(c.fixture), c.mode, ...(c.input ? [c.input] : [])];
      const r = spawnSync(ORACLE_SCRIPT, args, { env, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(c.expected);
    });
    it.each(failures.map((f) => [f] as const))('conf exits 1 on %s', (f) => {
      const r = spawnSync(ORACLE_SCRIPT, [fixtureDir(f), 'parse'], { env, encoding: 'utf8' });
      expect(r.status).toBe(1);
    });
  });
}
