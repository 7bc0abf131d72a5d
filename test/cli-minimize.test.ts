import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';
import { kernelTreeForTests } from '../src/kconfig/oracle.js';
import { uklTreeForTests } from './helpers/ukl-tree.js';

/** `ukl-trim APP…` on the 6.1 tree: output files, explanations, and bad input (exit 2, nothing written). */
const tree = kernelTreeForTests();
const uklTree = uklTreeForTests();
const available = tree !== null || process.env.CI === 'true';

/** a static program from C source written into dir as NAME.c */
function staticProgram(dir: string, name: string, code: string): string {
  const source = join(dir, `${name}.c`);
  writeFileSync(source, code);
  const program = join(dir, name);
  const cc = spawnSync('gcc', ['-static', '-O2', '-o', program, source], { encoding: 'utf8' });
  expect(cc.status, cc.stderr).toBe(0);
  return program;
}

function capture(): { io: CliIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l), info: () => {} }, out, err };
}

describe.skipIf(!available)('ukl-trim APP (the main command)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukl-cli-min-'));
  const echo = join(dir, 'echo');
  const dynamic = join(dir, 'dynamic');

  beforeAll(() => {
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', echo, 'examples/echo-server/echo.c'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(cc.stderr);
    const dyn = spawnSync('gcc', ['-O2', '-o', dynamic, 'examples/echo-server/echo.c'], { encoding: 'utf8' });
    if (dyn.status !== 0) throw new Error(dyn.stderr);
  });

  it('writes the config (keeping the old one as .old) and the fragment, and prints the summary and chains', async () => {
    if (!tree) throw new Error('no kernel tree');
    const config = join(dir, '.config');
    writeFileSync(config, 'CONFIG_OLD=y\n');
    const { io, out, err } = capture();
    const code = await main([echo, '--kernel', tree, '-o', config, '--fragment', join(dir, 'echo.fragment'), '--explain', 'VIRTIO', '--explain', 'IPV6'], io);
    expect(code, err.join('\n')).toBe(0);
    expect(readFileSync(`${config}.old`, 'utf8')).toBe('CONFIG_OLD=y\n');
    expect(readFileSync(config, 'utf8')).toMatch(/^CONFIG_EPOLL=y$/m);
    expect(readFileSync(join(dir, 'echo.fragment'), 'utf8')).toMatch(/^CONFIG_VIRTIO_NET=y$/m);
    const text = out.join('\n');
    expect(text).toMatch(/options on, \d+ lines in the minimal form \(previous kept as .*\.config\.old\)/);
    expect(text).toMatch(/all hold: yes/);
    expect(text).toMatch(/olddefconfig-stable yes, model = engine yes, 1-minimal yes/);
    expect(text).toMatch(/^VIRTIO: (selected by VIRTIO_PCI|VIRTIO_NET depends on it)$/m);
    expect(text).toMatch(/^IPV6: off/m);
    // every syscall site of the glibc echo server has a known number
    expect(text).not.toMatch(/^warning: syscall site/m);
  }, 300_000);

  it('a syscall site whose number is computed is printed as a warning ("may be any syscall")', async () => {
    if (!tree) throw new Error('no kernel tree');
    const program = staticProgram(dir, 'computed', '#include <unistd.h>\nint main(int argc, char **argv) { (void)argv; return (int)syscall(argc + 1000); }\n');
    const { io, out, err } = capture();
    expect(await main([program, '--kernel', tree, '-o', join(dir, 'computed.config'), '--no-check', '--assume-syscall', 'timerfd_create', '--explain', 'TIMERFD'], io), err.join('\n')).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/^warning: syscall site in main .* may be any syscall/m);
    expect(text).toMatch(/^unresolved: 1 place the analysis could not rule out .*--assume-syscall NAME.*--strict$/m);
    // the user's assumption is required, and its reason says whose it is
    expect(readFileSync(join(dir, 'computed.config'), 'utf8')).toMatch(/^CONFIG_TIMERFD=y$/m);
    expect(text).toMatch(/^TIMERFD: required by syscall timerfd_create, assumed by the user \(--assume-syscall\)$/m);

    // --strict: the same app is refused, with the place, and nothing is written
    const strict = capture();
    const config = join(dir, 'strict.config');
    expect(await main([program, '--kernel', tree, '-o', config, '--strict'], strict.io)).toBe(2);
    expect(strict.err).toHaveLength(1);
    expect(strict.err[0]).toMatch(/^ukl-trim: --strict: the analysis leaves 1 place unresolved \(main at 0x[0-9a-f]+: may be any syscall.*\); add what they need with --assume-syscall NAME/);
    expect(existsSync(config)).toBe(false);
    const unknown = capture();
    expect(await main([program, '--kernel', tree, '-o', config, '--assume-syscall', 'no_such_call'], unknown.io)).toBe(2);
    expect(unknown.err).toEqual([expect.stringMatching(/^ukl-trim: --assume-syscall no_such_call: x86_64 6\.1\.\d+ has no such syscall$/)]);
  }, 300_000);

  it("a syscall only loadable modules provide (busybox's insmod): a warning and the config; --strict or --assume-syscall refuse it", async () => {
    if (!tree) throw new Error('no kernel tree');
    const program = staticProgram(dir, 'insmod', '#include <sys/syscall.h>\n#include <unistd.h>\nint main(void) { return (int)syscall(SYS_finit_module, 0, "", 0); }\n');
    const config = join(dir, 'insmod.config');
    const { io, out, err } = capture();
    expect(await main([program, '--kernel', tree, '-o', config, '--no-check'], io), err.join('\n')).toBe(0);
    expect(out.join('\n')).toMatch(/^warning: syscall finit_module \(reached by .*main → syscall\) needs MODULES, and kernels made by ukl-trim load no modules .*ENOSYS there$/m);
    expect(readFileSync(config, 'utf8')).toMatch(/^# CONFIG_MODULES is not set$/m);
    for (const [flags, message] of [
      [['--strict'], /^ukl-trim: --strict: the app can reach finit_module \(finit_module by .*main → syscall\), which only a kernel with loadable modules has/],
      [['--assume-syscall', 'init_module'], /^ukl-trim: syscall init_module needs MODULES, which cannot hold: MODULES is always off: ukl-trim builds every option in/],
    ] as const) {
      const refused = capture();
      const other = join(dir, 'insmod-refused.config');
      expect(await main([program, '--kernel', tree, '-o', other, '--no-check', ...flags], refused.io)).toBe(2);
      expect(refused.err).toEqual([expect.stringMatching(message)]);
      expect(existsSync(other)).toBe(false);
    }
  }, 300_000);

  it('a dynamically linked program: trimmed with its libraries; what libc.so alone reaches shows as warnings', async () => {
    if (!tree) throw new Error('no kernel tree');
    const config = join(dir, 'dynamic.config');
    const { io, out, err } = capture();
    expect(await main([dynamic, '--kernel', tree, '-o', config, '--no-check', '--explain', 'EPOLL'], io), err.join('\n')).toBe(0);
    const text = out.join('\n');
    expect(readFileSync(config, 'utf8')).toMatch(/^CONFIG_EPOLL=y$/m);
    expect(text).toMatch(/^dynamically linked: analysed with \/lib64\/ld-linux-x86-64\.so\.2, libc\.so\.6 \(an initramfs holds them too/m);
    // witness paths in a library start at the library's function
    expect(text).toMatch(/^EPOLL: required by syscall epoll_\w+, reached by libc\.so\.6:\w+/m);
    // libc.so.6 exports wrappers for syscalls x86_64 6.1 no longer has
    expect(text).toMatch(/^warning: syscall uselib \(134, reached by libc\.so\.6:.*\) is not in x86_64 6\.1\.\d+: the app gets ENOSYS there on any kernel built from this tree$/m);
    expect(text).toMatch(/^warning: syscall site in libc\.so\.6:syscall at 0x[0-9a-f]+ may be any syscall/m);
  }, 300_000);

  it('--observe: what strace sees while the workload runs is required, marked as observed', async () => {
    if (!tree) throw new Error('no kernel tree');
    // 282 + argc (1) = 283, timerfd_create on x86_64: computed, so the analysis cannot name it
    const program = staticProgram(dir, 'computed-timerfd', '#include <unistd.h>\nint main(int argc, char **argv) { (void)argv; syscall(argc + 282, 1, 0); return 0; }\n');
    const config = join(dir, 'observed.config');
    const { io, out, err } = capture();
    expect(await main([program, '--kernel', tree, '-o', config, '--observe', 'true', '--explain', 'TIMERFD'], io), err.join('\n')).toBe(0);
    const text = out.join('\n');
    expect(readFileSync(config, 'utf8')).toMatch(/^CONFIG_TIMERFD=y$/m);
    expect(text).toMatch(/^warning: --observe: strace saw timerfd_create, which the analysis did not find; required as observed$/m);
    expect(text).toMatch(/^TIMERFD: required by syscall timerfd_create, observed under strace \(--observe\)$/m);
    const failing = capture();
    expect(await main([program, '--kernel', tree, '-o', join(dir, 'never.config'), '--observe', 'exit 4'], failing.io)).toBe(2);
    expect(failing.err).toEqual(['ukl-trim: --observe: the workload exited 4']);
    expect(existsSync(join(dir, 'never.config'))).toBe(false);
  }, 300_000);

  it('batch: several apps in one call, one parse of the tree, a config per app', async () => {
    if (!tree) throw new Error('no kernel tree');
    const unix = join(dir, 'unix-socket');
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', unix, 'fixtures/apps/unix-socket.c'], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const out = join(dir, 'batch');
    const { io, out: lines, err } = capture();
    expect(await main(['batch', echo, unix, '--kernel', tree, '--out', out], io), err.join('\n')).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^echo: .*\/batch\/echo\/\.config: \d+ options on$/), expect.stringMatching(/^unix-socket: .*\/batch\/unix-socket\/\.config: \d+ options on$/)]);
    const echoConfig = readFileSync(join(out, 'echo', '.config'), 'utf8');
    const unixConfig = readFileSync(join(out, 'unix-socket', '.config'), 'utf8');
    expect(echoConfig).toMatch(/^CONFIG_INET=y$/m);
    expect(unixConfig).toMatch(/^CONFIG_UNIX=y$/m);
    expect(unixConfig).not.toMatch(/^CONFIG_INET=y$/m);
    // the same as trimming each alone
    const alone = capture();
    expect(await main([unix, '--kernel', tree, '-o', join(dir, 'unix-alone.config')], alone.io)).toBe(0);
    expect(readFileSync(join(dir, 'unix-alone.config'), 'utf8')).toBe(unixConfig);
    const clash = capture();
    expect(await main(['batch', echo, join(dir, 'echo'), '--kernel', tree, '--out', out], clash.io)).toBe(2);
    expect(clash.err[0]).toMatch(/^ukl-trim: .*echo/);
    expect(await main(['batch', echo, '--kernel', tree], clash.io)).toBe(2);
    expect(clash.err[1]).toMatch(/^ukl-trim: --out DIR is required/);
  }, 300_000);

  it('an --enable that needs a --disabled option: exit 2, the chain named, no file written', async () => {
    if (!tree) throw new Error('no kernel tree');
    const config = join(dir, 'conflict.config');
    const { io, err } = capture();
    const code = await main([echo, '--kernel', tree, '-o', config, '--enable', 'VIRTIO_BLK', '--disable', 'VIRTIO'], io);
    expect(code).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^ukl-trim: requirements that cannot hold together: .*--enable VIRTIO_BLK.*--disable VIRTIO/);
    expect(err[0]).toMatch(/VIRTIO_BLK depends on VIRTIO/);
    expect(existsSync(config)).toBe(false);
  }, 300_000);

  it('unknown options, missing apps and bad flags: exit 2, one line, no file written', async () => {
    if (!tree) throw new Error('no kernel tree');
    const config = join(dir, 'bad.config');
    for (const [args, message] of [
      [[echo, '--kernel', tree, '-o', config, '--enable', 'NO_SUCH_OPTION'], /--enable NO_SUCH_OPTION: no such option/],
      [[join(dir, 'missing.o'), '--kernel', tree, '-o', config], /missing\.o: no such file/],
      [[dynamic, echo, '--kernel', tree, '-o', config], /dynamic: an executable cannot be linked with other inputs \(and this one is dynamically linked/],
      [[echo, '--kernel', tree, '-o', config, '--mode', 'sideways'], /--mode sideways/],
      [[echo, '--kernel', tree, '-o', config, '--mode', 'ukl'], /has no UKL support .* use --mode initramfs/],
      [[echo, '--kernel', tree, '-o', config, '--boot'], /--boot needs --build/],
      [[echo, '--kernel', tree, '-o', config, '--mode', 'ukl', '--build', join(dir, 'ukl-out')], /has no UKL support .* use --mode initramfs/],
      [[echo, '--kernel', tree, '-o', config, '--libc', 'none'], /--libc none is for --mode ukl/],
      ...(uklTree ? ([[[echo, '--kernel', uklTree, '-o', config, '--mode', 'ukl'], /is a linked program: UKL mode needs the app's sources or objects/]] as const) : []),
      ...(uklTree ? ([[[echo, '--kernel', uklTree, '-o', config, '--mode', 'ukl', '--build', join(dir, 'u'), '--boot'], /--boot in UKL mode needs --tcp-echo PORT or --expect REGEX/]] as const) : []),
    ] as const) {
      const { io, err } = capture();
      expect(await main([...args], io), err.join('\n')).toBe(2);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(message);
      expect(existsSync(config)).toBe(false);
    }
  }, 300_000);
});
