import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readElfSummary, readSectionSizes } from '../src/build/elf.js';
import { buildInitramfs, checkStaticExecutable, compileInit, InitramfsError, parseIncludeSpec, type InitramfsOptions } from '../src/build/initramfs.js';
import { archiveObjects } from '../src/lto/ukl-archive.js';
import { buildImage, buildUklImage, ImageBuildError } from '../src/build/image.js';
import { compileUklTrigger } from '../src/build/ukl-kernel.js';
import { bootKernel, freeLocalPort, qemuArguments } from '../src/build/qemu.js';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/common.js';
import { libraryAndPrograms } from './helpers/shared-library.js';

const work = mkdtempSync(join(tmpdir(), 'ukl-initramfs-'));

function compile(args: string[]): string {
  const out = join(work, `bin-${args.join('-').replace(/[^a-z0-9]/gi, '')}`);
  const r = spawnSync('gcc', [...args, '-O2', '-o', out, 'examples/echo-server/echo.c'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return out;
}

async function withCache<T>(use: () => Promise<T>): Promise<T> {
  const prev = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(work, 'cache');
  try {
    return await use();
  } finally {
    if (prev === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = prev;
  }
}

async function cli(args: string[]): Promise<{ code: number; err: string; out: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), info: (l) => err.push(l) };
  const code = await main(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('static executable check (ELF header and PT_INTERP)', () => {
  it('accepts static and static-pie programs', () => {
    expect(() => checkStaticExecutable(compile(['-static']))).not.toThrow();
    expect(() => checkStaticExecutable(compile(['-static-pie']))).not.toThrow();
  });

  it('rejects a dynamic program, naming its loader and the fix', () => {
    const dynamic = compile([]);
    expect(readElfSummary(dynamic).interpreter).toMatch(/ld-linux-x86-64/);
    expect(() => checkStaticExecutable(dynamic)).toThrow(/dynamically linked \(it asks for \/lib64\/ld-linux-x86-64\.so\.2\).*-static/);
    try {
      checkStaticExecutable(dynamic);
    } catch (e) {
      expect(e).toBeInstanceOf(InitramfsError);
      expect((e as InitramfsError).code).toBe('app-dynamic');
    }
  });

  it('rejects what is not an ELF executable', () => {
    const script = join(work, 'script.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    expect(() => checkStaticExecutable(script)).toThrow(/not an ELF file/);
    expect(() => checkStaticExecutable(join(work, 'missing'))).toThrow(/no such file/);
    expect(() => checkStaticExecutable(work)).toThrow(/not a regular file/);
  });

  it('reads text/data/bss as binutils size does', () => {
    const program = compile(['-static']);
    const size = spawnSync('size', [program], { encoding: 'utf8' });
    if (size.status !== 0) return; // binutils missing: nothing to compare with
    const [text, data, bss] = (size.stdout.split('\n')[1] ?? '').trim().split(/\s+/).map(Number);
    expect(readSectionSizes(program)).toEqual({ text, data, bss });
  });
});

describe('initramfs archive', () => {
  it('holds /init, /app, /dev/console, the mount points, arguments and network settings', async () => {
    const app = compile(['-static']);
    const result = await withCache(() => buildInitramfs({ app, args: ['7777', 'two words'], ip: '192.168.7.2/24', gateway: 'none', out: join(work, 'a.cpio') }));
    const listing = spawnSync('cpio', ['-itv'], { input: readFileSync(result.path), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    const lines = listing.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
    expect(lines.map((l) => l.split(' ').slice(-1)[0])).toEqual(['dev', 'dev/console', 'proc', 'sys', 'init', 'app', 'app.args', 'etc', 'etc/passwd', 'etc/group', 'etc/hosts', 'root', 'tmp', 'ukl.conf']);
    expect(lines[1]).toMatch(/^crw------- 1 root root 5, 1 /);
    expect(lines[4]).toMatch(/^-rwxr-xr-x /);
    const file = (name: string): string => spawnSync('cpio', ['-i', '--to-stdout', '--quiet', name], { input: readFileSync(result.path), encoding: 'utf8' }).stdout;
    expect(file('app.args')).toBe('7777\ntwo words\n');
    // what servers look up before they serve (-u root, nobody, localhost)
    expect(file('etc/passwd')).toMatch(/^root:x:0:0:/m);
    expect(file('etc/group')).toMatch(/^root:x:0:/m);
    expect(file('etc/hosts')).toMatch(/^127\.0\.0\.1\tlocalhost$/m);
    expect(file('ukl.conf')).toBe('ukl.ip=192.168.7.2/24\nukl.gw=none\n');
    expect(result.bytes).toBe(readFileSync(result.path).length);
  });

  it('compiles init once and reuses it from the cache; equal input gives an identical archive', async () => {
    const app = compile(['-static']);
    const [a, b] = await withCache(async () => [await buildInitramfs({ app, out: join(work, 'x.cpio') }), await buildInitramfs({ app, out: join(work, 'y.cpio') })]);
    expect(a?.init).toBe(b?.init);
    expect(a?.init).toContain(join(work, 'cache', 'ukl-trim', 'init'));
    expect(readFileSync(join(work, 'x.cpio')).equals(readFileSync(join(work, 'y.cpio')))).toBe(true);
    const init = await withCache(async () => compileInit());
    expect(readElfSummary(init).interpreter).toBeNull();
  });

  it('rejects bad network settings and unrepresentable arguments', async () => {
    const app = compile(['-static']);
    await expect(buildInitramfs({ app, ip: '10.0.2.300/24' })).rejects.toThrow(/not an IPv4 ADDRESS\/PREFIX/);
    await expect(buildInitramfs({ app, ip: '10.0.2.15/33' })).rejects.toThrow(/not an IPv4/);
    await expect(buildInitramfs({ app, gateway: 'router' })).rejects.toThrow(/gateway "router"/);
    await expect(buildInitramfs({ app, args: ['a\nb'] })).rejects.toThrow(/newlines/);
  });
});

/** a dynamically linked program whose library (libgone.so) was removed after the link */
function appMissingItsLibrary(): string {
  const { library, program } = libraryAndPrograms(join(work, 'gone'), 'gone');
  const app = program(join(work, 'gone', 'needs-gone'));
  rmSync(library);
  return app;
}

describe('initramfs: a dynamically linked app', () => {
  it('goes in with its interpreter and libraries, regular files where its loader looks, byte for byte', async () => {
    const app = compile([]);
    const result = await withCache(() => buildInitramfs({ app, out: join(work, 'dynamic.cpio') }));
    const { lines } = unpack(result.path);
    const entry = (path: string): string | undefined => lines.find((l) => l.endsWith(` ${path}`));
    for (const path of ['lib64/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/libc.so.6']) {
      expect(entry(path), lines.join('\n')).toMatch(/^-rwxr-xr-x /);
      const inArchive = spawnSync('cpio', ['-i', '--to-stdout', '--quiet', path], { input: readFileSync(result.path), maxBuffer: 64 << 20 }).stdout;
      expect(Buffer.compare(inArchive, readFileSync(`/${path}`))).toBe(0);
    }
    // libc.so.6 asks for ld-linux-x86-64.so.2 by name: the loader knows it is itself, one copy is enough
    expect(entry('lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toBeUndefined();
    // a static app brings nothing of the kind
    const plain = unpack((await withCache(() => buildInitramfs({ app: compile(['-static']), out: join(work, 'static.cpio') }))).path);
    expect(plain.names.filter((n) => n.startsWith('lib'))).toEqual([]);
  });
});

/** the archive's listing (cpio -itv: mode, owner, path per line) and a reader for one file */
function unpack(path: string): { lines: string[]; names: string[]; file: (name: string) => string } {
  const archive = readFileSync(path);
  const listing = spawnSync('cpio', ['-itv'], { input: archive, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const lines = listing.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
  const names = lines.map((l) => (l.split(' -> ')[0] ?? '').split(' ').slice(-1)[0] ?? '');
  const file = (name: string): string => spawnSync('cpio', ['-i', '--to-stdout', '--quiet', name], { input: archive, encoding: 'utf8' }).stdout;
  return { lines, names, file };
}

describe('initramfs: the user\'s files (--include) and the app\'s name', () => {
  const host = join(work, 'include-src');
  mkdirSync(join(host, 'www', 'sub'), { recursive: true });
  writeFileSync(join(host, 'redis.conf'), 'port 6379\n', { mode: 0o640 });
  writeFileSync(join(host, 'www', 'index.html'), '<p>hi</p>\n', { mode: 0o644 });
  writeFileSync(join(host, 'www', 'sub', 'run.sh'), '#!/bin/sh\n', { mode: 0o750 });
  symlinkSync('index.html', join(host, 'www', 'home.html'));
  chmodSync(join(host, 'www'), 0o711);
  writeFileSync(join(host, 'passwd'), 'root:x:0:0::/:/app\nredis:x:100:100::/:/app\n');

  it('copies files and folders with their modes (symlinks as symlinks), keeps the default /etc files, and names argv[0] in /ukl.conf', async () => {
    const app = compile(['-static']);
    const result = await withCache(() =>
      buildInitramfs({ app, appName: 'redis-server', includes: [{ host: join(host, 'redis.conf'), guest: '/etc/redis/redis.conf' }, { host: join(host, 'www'), guest: '/srv/www' }], out: join(work, 'inc.cpio') }),
    );
    const { lines, names, file } = unpack(result.path);
    expect(names).toEqual(['dev', 'dev/console', 'proc', 'sys', 'init', 'app', 'etc', 'etc/redis', 'etc/redis/redis.conf', 'srv', 'srv/www', 'srv/www/home.html', 'srv/www/index.html', 'srv/www/sub', 'srv/www/sub/run.sh', 'etc/passwd', 'etc/group', 'etc/hosts', 'root', 'tmp', 'ukl.conf']);
    const line = (name: string): string => lines[names.indexOf(name)] ?? '';
    expect(line('etc/redis/redis.conf')).toMatch(/^-rw-r----- /);
    expect(line('srv/www')).toMatch(/^drwx--x--x /);
    expect(line('srv/www/sub/run.sh')).toMatch(/^-rwxr-x--- /);
    expect(line('srv/www/home.html')).toMatch(/^lrwxrwxrwx .* srv\/www\/home\.html -> index\.html$/);
    expect(file('etc/redis/redis.conf')).toBe('port 6379\n');
    expect(file('srv/www/index.html')).toBe('<p>hi</p>\n');
    expect(file('etc/passwd')).toMatch(/^root:x:0:0:.*\nnobody:x:65534:65534:/);
    expect(file('etc/group')).toMatch(/^root:x:0:\nnogroup:x:65534:/);
    expect(file('etc/hosts')).toBe('127.0.0.1\tlocalhost\n::1\tlocalhost\n');
    expect(file('ukl.conf')).toBe('ukl.name=redis-server\n');
  });

  it("a user's /etc/passwd wins over the default; the other default files stay", async () => {
    const app = compile(['-static']);
    const result = await withCache(() => buildInitramfs({ app, includes: [{ host: join(host, 'passwd'), guest: '/etc/passwd' }], out: join(work, 'passwd.cpio') }));
    const { names, file } = unpack(result.path);
    expect(names.filter((n) => n === 'etc/passwd')).toHaveLength(1);
    expect(file('etc/passwd')).toBe('root:x:0:0::/:/app\nredis:x:100:100::/:/app\n');
    expect(names).toEqual(expect.arrayContaining(['etc', 'etc/group', 'etc/hosts']));
    expect(names).not.toContain('ukl.conf');
  });

  it('HOST[:GUEST]: GUEST after the last colon, else /NAME-OF-HOST', () => {
    expect(parseIncludeSpec('conf/redis.conf:/etc/redis.conf')).toEqual({ host: 'conf/redis.conf', guest: '/etc/redis.conf' });
    expect(parseIncludeSpec('site/www/')).toEqual({ host: 'site/www/', guest: '/www' });
    expect(parseIncludeSpec(join(host, 'www'))).toEqual({ host: join(host, 'www'), guest: '/www' });
  });

  it('refuses a missing HOST, a relative GUEST, "..", our own paths, a path given twice and a bad app name', async () => {
    const app = compile(['-static']);
    const refused = async (opts: Partial<InitramfsOptions>, message: RegExp): Promise<void> => {
      await expect(buildInitramfs({ app, ...opts, out: join(work, 'never.cpio') })).rejects.toMatchObject({ name: 'InitramfsError', message: expect.stringMatching(message) });
    };
    await refused({ includes: [{ host: join(host, 'nope'), guest: '/x' }] }, /^include .*nope:\/x: HOST .*nope: no such file or directory$/);
    await refused({ includes: [{ host: join(host, 'www'), guest: 'srv/www' }] }, /GUEST "srv\/www" is not an absolute path/);
    await refused({ includes: [{ host: join(host, 'www'), guest: '/srv/../www' }] }, /must not contain "\.\."/);
    await refused({ includes: [{ host: join(host, 'www'), guest: '/' }] }, /not \/ itself/);
    await refused({ includes: [{ host: join(host, 'redis.conf'), guest: '/init' }] }, /\/init is ukl-trim's own/);
    await refused({ includes: [{ host: join(host, 'www'), guest: '/x' }, { host: join(host, 'redis.conf'), guest: '/x/index.html' }] }, /\/x\/index\.html is also given by include .*www:\/x/);
    await refused({ appName: 'two words' }, /application name "two words"/);
    expect(existsSync(join(work, 'never.cpio'))).toBe(false);
  });

  it('ukl-trim build: a bad --include or --app-name is one line naming it, exit 2, before any build', async () => {
    const app = compile(['-static']);
    const base = ['build', '--kernel', resolve('fixtures/kernel-mini'), '--config', '/dev/null', '--app', app, '--out', join(work, 'o-inc')];
    const missing = await cli([...base, '--include', `${join(host, 'missing.conf')}:/etc/x.conf`]);
    expect(missing).toMatchObject({ code: 2, err: expect.stringMatching(/^ukl-trim: include .*missing\.conf:\/etc\/x\.conf: HOST .*missing\.conf: no such file or directory$/) });
    const relative = await cli([...base, '--include', `${join(host, 'www')}:srv/www`]);
    expect(relative).toMatchObject({ code: 2, err: expect.stringMatching(/^ukl-trim: include .*www:srv\/www: GUEST "srv\/www" is not an absolute path$/) });
    const dotdot = await cli([...base, '--include', `${join(host, 'www')}:/srv/../../www`]);
    expect(dotdot).toMatchObject({ code: 2, err: expect.stringMatching(/^ukl-trim: include .*: GUEST "\/srv\/\.\.\/\.\.\/www" must not contain "\.\."$/) });
    const name = await cli([...base, '--app-name', 'a"b']);
    expect(name).toMatchObject({ code: 2, err: expect.stringMatching(/^ukl-trim: application name "a\\"b": 1 to 255 characters/) });
    expect(existsSync(join(work, 'o-inc'))).toBe(false);
  });

  it('ukl-trim APP: --include and --app-name need --build, and are checked before the minimisation', async () => {
    const app = compile(['-static']);
    const noBuild = await cli([app, '--kernel', resolve('fixtures/kernel-mini'), '--include', join(host, 'www')]);
    expect(noBuild).toMatchObject({ code: 2, err: expect.stringMatching(/^ukl-trim: --include needs --build OUT/) });
    const bad = await cli([app, '--kernel', resolve('fixtures/kernel-mini'), '--build', join(work, 'o-min'), '--include', `${join(host, 'nope')}:/x`, '-o', join(work, 'never.config')]);
    expect(bad).toMatchObject({ code: 2, err: expect.stringMatching(/^ukl-trim: include .*nope:\/x: HOST .*: no such file or directory$/) });
    expect(existsSync(join(work, 'never.config'))).toBe(false);
  });
});

describe('QEMU command line', () => {
  it('uses an argument array with the serial console, no reboot, and a hostfwd bound to 127.0.0.1', async () => {
    const port = await freeLocalPort();
    const args = qemuArguments({ image: '/k', initrd: '/i', append: 'ukl.args="1 2"', expect: /x/, tcpEcho: { guestPort: 7777 }, timeoutSeconds: 1 }, 'tcg', port);
    expect(args).toEqual(expect.arrayContaining(['-kernel', '/k', '-initrd', '/i', '-no-reboot', '-serial', 'stdio', '-device', 'virtio-net-pci,netdev=n0']));
    expect(args[args.indexOf('-append') + 1]).toBe('console=ttyS0 panic=-1 ukl.args="1 2"');
    expect(args[args.indexOf('-netdev') + 1]).toBe(`user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:7777`);
    expect(args[args.indexOf('-m') + 1]).toBe('256');
    expect(args).not.toContain('-enable-kvm');
  });

  it('forwards the echo to the guest address the kernel command line gives (last ukl.ip= wins)', () => {
    const args = qemuArguments({ image: '/k', append: 'ukl.ip=10.0.2.9/24 ukl.ip=10.0.2.16/24', expect: /x/, tcpEcho: { guestPort: 80 }, timeoutSeconds: 1 }, 'kvm', 5555);
    expect(args[args.indexOf('-netdev') + 1]).toBe('user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:5555-10.0.2.16:80');
    expect(args.slice(0, 3)).toEqual(['-enable-kvm', '-cpu', 'host']);
  });

  it('a UKL kernel gets a CPU without SMAP and SMEP under KVM', () => {
    const args = qemuArguments({ image: '/k', expect: /x/, timeoutSeconds: 1, ukl: true }, 'kvm', undefined);
    expect(args.slice(0, 3)).toEqual(['-enable-kvm', '-cpu', 'host,-smap,-smep']);
  });

  it('reports a missing QEMU as qemu-missing', async () => {
    const report = await bootKernel({ image: '/nonexistent', expect: /x/, timeoutSeconds: 5, qemu: 'qemu-system-x86_64-not-installed', accel: 'tcg' });
    expect(report).toMatchObject({ ok: false, failure: 'qemu-missing', markerSeconds: null, echoSeconds: null });
  });

  it('reports QEMU refusing to start (no such kernel) as exited, with its message', async () => {
    const report = await bootKernel({ image: join(work, 'no-kernel'), expect: /x/, timeoutSeconds: 30, accel: 'tcg' });
    expect(report.failure).toBe('exited');
    expect(report.message).toMatch(/QEMU exited .*before the marker: .*no-kernel/);
  });
});

describe('ukl-trim build / boot: user mistakes', () => {
  it('--mode ukl on a tree without UKL support says so and suggests initramfs mode', async () => {
    const app = compile(['-static']);
    const r = await cli(['build', '--kernel', resolve('fixtures/kernel-mini'), '--config', '/dev/null', '--app', app, '--mode', 'ukl', '--out', join(work, 'o')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/has no UKL support \(no kernel\/Kconfig\.ukl \/ UNIKERNEL_LINUX\); use --mode initramfs/);
  });

  it('--mode ukl takes the config through the engine on the UKL tree: a config that forces PTI on is refused, naming why', async () => {
    const config = join(work, 'pti.config');
    writeFileSync(config, 'CONFIG_SECURE_BOOT_POLICY=y\n');
    const out = join(work, 'ukl-pti');
    const r = await cli(['build', '--kernel', resolve('fixtures/kernel-ukl-mini'), '--config', config, '--app', 'examples/echo-server/echo.c', '--mode', 'ukl', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot take UKL mode: UNIKERNEL_LINUX is n, not y \(unmet: !PAGE_TABLE_ISOLATION\); PAGE_TABLE_ISOLATION stays y \(selected by SECURE_BOOT_POLICY\)/);
    // refused before anything was built
    expect(existsSync(join(out, 'UKL.a'))).toBe(false);
  });

  it('--mode ukl on a UKL tree: UKL.a built, the config set up for it, then the build failure of this mini tree reported', async () => {
    const config = join(work, 'ukl.config');
    writeFileSync(config, 'CONFIG_BLK_DEV_INITRD=y\n');
    const out = join(work, 'ukl-flow');
    const r = await cli(['build', '--kernel', resolve('fixtures/kernel-ukl-mini'), '--config', config, '--app', 'examples/echo-server/echo.c', '--mode', 'ukl', '--libc', 'musl-ukl', '--out', out]);
    // the mini tree has Kconfig files but no kernel Makefile: the engine configures, then make
    // fails at the first target, and says so
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/kernel build failed \(log: .*\n.*No rule to make target 'bzImage'/);
    expect(readFileSync(join(out, 'build.log'), 'utf8')).toMatch(/^ukl-trim: configuration synchronised by the Kconfig engine/m);
    const kernelConfig = readFileSync(join(out, 'kernel', '.config'), 'utf8');
    expect(kernelConfig).toContain('CONFIG_UNIKERNEL_LINUX=y');
    expect(kernelConfig).toContain(`CONFIG_UKL_ARCHIVE_PATH="${join(out, 'UKL.a')}"`);
    expect(kernelConfig).toContain('CONFIG_UKL_NAME="/app"');
    expect(kernelConfig).toContain('# CONFIG_RANDOMIZE_BASE is not set');
    expect(kernelConfig).toContain('# CONFIG_PAGE_TABLE_ISOLATION is not set');
    const [member] = archiveObjects(join(out, 'UKL.a'));
    expect(member?.symbols().some((s) => s.name === 'ukl_main' && s.sectionIndex !== 0)).toBe(true);
    expect(existsSync(join(out, 'build.log'))).toBe(true);
  }, 600_000); // the first use of musl-ukl builds it (about 75 s on 2 cores)

  it('the library reports the same mistakes as typed errors', async () => {
    await expect(buildImage({ tree: resolve('fixtures/kernel-mini'), config: '', app: appMissingItsLibrary(), out: join(work, 'lib-o') })).rejects.toMatchObject({
      name: 'ImageBuildError',
      code: 'bad-input',
      message: expect.stringMatching(/dynamically linked and .* needs the library libgone\.so/),
    });
    await expect(buildUklImage({ tree: resolve('fixtures/kernel-mini'), config: '', app: ['examples/echo-server/echo.c'], out: join(work, 'lib-u') })).rejects.toBeInstanceOf(ImageBuildError);
    await expect(buildUklImage({ tree: resolve('fixtures/kernel-mini'), config: '', app: ['examples/echo-server/echo.c'], out: join(work, 'lib-u') })).rejects.toMatchObject({ code: 'no-ukl-support' });
  });

  it('--mode ukl refuses a linked program as the app, before anything is built', async () => {
    const out = join(work, 'ukl-exe');
    const r = await cli(['build', '--kernel', resolve('fixtures/kernel-ukl-mini'), '--config', '/dev/null', '--app', compile(['-static']), '--mode', 'ukl', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is a linked program: UKL mode needs the app's sources or objects/);
    expect(existsSync(join(out, 'UKL.a'))).toBe(false);
  });

  it('the trigger program at /app says UKL did not take over when it runs', () => {
    const trigger = compileUklTrigger();
    const r = spawnSync(trigger, [], { encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/ran as an ordinary program: this kernel did not start the UKL application/);
    expect(() => checkStaticExecutable(trigger)).not.toThrow();
  });

  it('a dynamic app whose library is not on this machine is refused before any kernel build', async () => {
    const r = await cli(['build', '--kernel', resolve('fixtures/kernel-mini'), '--config', '/dev/null', '--app', appMissingItsLibrary(), '--out', join(work, 'o2')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^ukl-trim: application .* is dynamically linked and .* needs the library libgone\.so, which is not on this machine/);
    expect(existsSync(join(work, 'o2', 'kernel'))).toBe(false);
  });

  it('bad initramfs options are refused before any kernel build', async () => {
    const r = await cli(['build', '--kernel', resolve('fixtures/kernel-mini'), '--config', '/dev/null', '--app', compile(['-static']), '--ip', '10.0.2.15/40', '--out', join(work, 'o3')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ip "10\.0\.2\.15\/40" is not an IPv4 ADDRESS\/PREFIX/);
  });

  it('boot checks its options', async () => {
    mkdirSync(join(work, 'img'), { recursive: true });
    writeFileSync(join(work, 'img', 'bzImage'), '');
    expect((await cli(['boot'])).err).toMatch(/--image is required/);
    expect((await cli(['boot', '--image', join(work, 'nope')])).err).toMatch(/no such file/);
    expect((await cli(['boot', '--image', join(work, 'img', 'bzImage'), '--expect', '('])).err).toMatch(/not a regular expression/);
    expect((await cli(['boot', '--image', join(work, 'img', 'bzImage'), '--tcp-echo', '70000'])).code).toBe(2);
    expect((await cli(['boot', '--image', join(work, 'img', 'bzImage'), '--timeout', '-1'])).code).toBe(2);
  });
});
