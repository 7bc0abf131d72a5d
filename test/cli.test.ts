import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/common.js';
import { SyscallMapSchema } from '../src/kernel/syscalls.js';

const mini = resolve('fixtures/kernel-mini');
const bad = resolve('fixtures/kernel-bad');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), info: (l) => err.push(l) };
  const cache = mkdtempSync(join(tmpdir(), 'ukl-cli-cache-'));
  const prev = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  try {
    const code = await main(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    if (prev === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = prev;
  }
}

describe('ukl-trim conf', () => {
  it('writes a .config, keeps the previous one as .config.old, and leaves an unchanged file alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-'));
    const out = join(dir, '.config');
    expect((await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--alldefconfig', '--out', out])).code).toBe(0);
    const first = readFileSync(out, 'utf8');
    expect(first).toMatch(/^#\n# Automatically generated file; DO NOT EDIT.\n# Mini x86_64\n#\n/);
    expect((await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--allyesconfig', '--out', out])).code).toBe(0);
    expect(readFileSync(`${out}.old`, 'utf8')).toBe(first);
    const again = await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--olddefconfig', '--out', out]);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/No change to/);
  });

  it('savedefconfig and defconfig FILE round trip', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-'));
    const cfg = join(dir, '.config');
    const min = join(dir, 'min');
    await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--allyesconfig', '--out', cfg]);
    expect((await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--savedefconfig', min, '--config', cfg])).code).toBe(0);
    const back = join(dir, 'back');
    expect((await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--defconfig', min, '--out', back])).code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe(readFileSync(cfg, 'utf8'));
  });

  it('syncconfig writes auto.conf, auto.conf.cmd, autoconf.h and the option files next to the output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-'));
    const r = await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--syncconfig', '--out', join(dir, '.config')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'include/config/auto.conf'), 'utf8')).toMatch(/CONFIG_64BIT=y/);
    expect(readFileSync(join(dir, 'include/generated/autoconf.h'), 'utf8')).toMatch(/#define CONFIG_64BIT 1/);
    expect(readFileSync(join(dir, 'include/config/auto.conf.cmd'), 'utf8')).toMatch(/^deps_config := \\\n(\t\S+ \\\n)*\tKconfig \\\n\ninclude\/config\/auto.conf: \$\(deps_config\)\n/);
    expect(existsSync(join(dir, 'include/config/64BIT'))).toBe(true);
  });

  it('merges fragments, then runs olddefconfig', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-'));
    const frag = join(dir, 'frag');
    writeFileSync(frag, 'CONFIG_EPOLL=y\nCONFIG_NET=y\n');
    const out = join(dir, '.config');
    expect((await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--allnoconfig', '--merge', frag, '--out', out])).code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^CONFIG_EPOLL=y$/m);
    expect(text).toMatch(/^CONFIG_NET=y$/m);
    expect(text).toMatch(/^# CONFIG_SYSVIPC is not set$/m);
  });

  it('explains a symbol', async () => {
    const r = await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--explain', 'X86_32', '--config', '/nonexistent']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/X86_32 \(bool\) = n/);
  });

  it('bad input: one line with file:line, exit 2, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-'));
    const out = join(dir, '.config');
    const r = await run(['conf', '--kernel', bad, '--arch', 'x86_64', '--alldefconfig', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^Kconfig:5:\d+: error: /);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect((await run(['conf', '--kernel', mini, '--arch', 'nosuch', '--alldefconfig', '--out', out])).err).toMatch(/unknown architecture 'nosuch'/);
    const usage: [string[], string][] = [
      [['conf', '--kernel', mini, '--alldefconfig'], "ukl-trim: --arch is required; see 'ukl-trim conf --help'"],
      [['conf', '--kernel', mini, '--arch', 'x86_64'], 'ukl-trim: exactly one mode is needed (--olddefconfig, --allnoconfig, --allyesconfig, --allmodconfig, --alldefconfig, --tinyconfig, --defconfig, --savedefconfig, --syncconfig)'],
      [['conf', '--kernel', mini, '--arch', 'x86_64', '--alldefconfig', '--tinyconfig'], 'ukl-trim: exactly one mode is needed (given: --alldefconfig, --tinyconfig)'],
      [['conf', '--kernel', mini, '--arch', 'x86_64', '--defconfig', join(dir, 'missing'), '--out', out], `ukl-trim: can't read defconfig "${join(dir, 'missing')}"`],
      [['conf', '--kernel', join(dir, 'nope'), '--arch', 'x86_64', '--alldefconfig'], `ukl-trim: --kernel ${join(dir, 'nope')}: no such file or directory`],
      [['conf', '--bogus'], "ukl-trim: Unknown option '--bogus'"],
      [['frobnicate'], "ukl-trim: unknown command 'frobnicate' (and no such file); see 'ukl-trim --help'"],
    ];
    for (const [args, line] of usage) expect(await run(args), args.join(' ')).toMatchObject({ code: 2, err: line });
  });

  it('a damaged .config gives warnings, not a failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-'));
    const cfg = join(dir, '.config');
    writeFileSync(cfg, 'CONFIG_EPOLL=maybe\ngarbage line\nCONFIG_MMU=y\nCONFIG_NET="unterminated\n# CONFIG_SYSVIPC is');
    const r = await run(['conf', '--kernel', mini, '--arch', 'x86_64', '--olddefconfig', '--out', cfg]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/symbol value 'maybe' invalid for EPOLL/);
    expect(r.err).toMatch(/unexpected data: garbage line/);
  });
});

describe('ukl-trim syscalls', () => {
  it('prints the map as JSON that the exported schema accepts, with enabled under --config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-'));
    const cfg = join(dir, '.config');
    writeFileSync(cfg, 'CONFIG_EPOLL=y\n');
    const r = await run(['syscalls', '--kernel', mini, '--config', cfg, '--json', '--no-cache']);
    expect(r.code).toBe(0);
    const map = SyscallMapSchema.parse(JSON.parse(r.out));
    expect(map.syscalls.find((s) => s.name === 'epoll_wait')).toMatchObject({ nr: 1, entry: 'sys_epoll_wait', condition: 'EPOLL', enabled: true, sites: ['fs/eventpoll.c:1'] });
    expect(map.syscalls.find((s) => s.name === 'socket')?.enabled).toBe(false);
  });

  it('reports an unsupported arch and a tree without a table as bad input', async () => {
    expect(await run(['syscalls', '--kernel', mini, '--arch', 'arm64'])).toMatchObject({ code: 2, err: `error: unknown architecture 'arm64': ${mini}/arch/arm64/Kconfig does not exist` });
    expect(await run(['syscalls', '--kernel', bad])).toMatchObject({ code: 2, err: "Kconfig:5:15: error: syntax error: expected ')'" });
  });
});

describe('the installed command', () => {
  it('exits 2 with one line on stderr for bad input (real process)', () => {
    const r = spawnSync(process.execPath, ['bin/ukl-trim.js', 'conf', '--kernel', bad, '--arch', 'x86_64', '--alldefconfig', '--out', join(tmpdir(), 'never.config')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('shared boot flags and app arguments', () => {
  it('`ukl-trim boot` and `ukl-trim APP --build --boot` check the boot flags alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-boot-'));
    const image = join(dir, 'bzImage');
    const app = join(dir, 'app');
    writeFileSync(image, 'not a kernel');
    writeFileSync(app, 'not an app');
    for (const [flags, line] of [
      [['--timeout', '0'], 'ukl-trim: --timeout 0: expected a positive number'],
      [['--tcp-echo', '70000'], 'ukl-trim: --tcp-echo 70000: not a TCP port'],
      [['--expect', '('], /^ukl-trim: --expect: not a regular expression: /],
      [['--memory', '1.5'], 'ukl-trim: --memory 1.5: expected a positive integer'],
      [['--guest-ip', '10.0.2'], 'ukl-trim: --guest-ip 10.0.2: not an IPv4 address'],
    ] as const) {
      const boot = await run(['boot', '--image', image, ...flags]);
      const trim = await run([app, '--kernel', mini, '--build', join(dir, 'out'), '--boot', ...flags]);
      expect(boot, flags.join(' ')).toMatchObject({ code: 2, err: line });
      expect(trim, flags.join(' ')).toMatchObject({ code: 2, err: line });
    }
  });

  it('`--app-arg -u` passes -u to the app, like `--app-arg=-u`', async () => {
    const { joinFlagValues } = await import('../src/cli/common.js');
    expect(joinFlagValues(['app', '--app-arg', '-u', '--app-arg=root', '--json', '--', '--app-arg', '-x'], ['--app-arg'])).toEqual(['app', '--app-arg=-u', '--app-arg=root', '--json', '--', '--app-arg', '-x']);
    // the build command gets as far as its own checks instead of refusing -u as ambiguous
    expect(await run(['build', '--app-arg', '-u', '--app-arg', 'root'])).toMatchObject({ code: 2, err: "ukl-trim: --config is required; see 'ukl-trim build --help'" });
  });
});
