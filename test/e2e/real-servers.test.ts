import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { BuildReport } from '../../src/build/image.js';
import { bootKernel, type BootReport } from '../../src/build/qemu.js';
import type { CliIO } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';
import type { MinimizeReport } from '../../src/minimize/minimize.js';
import { cacheHome } from '../../src/util/cache-home.js';
import { debianBinary, debianProgram } from '../helpers/debian-source.js';
import { minimizedTogether } from '../helpers/test-kernels.js';

/**
 * Real servers in initramfs mode: redis and memcached from Debian's source packages, built
 * statically here, and two programs as Debian's binary packages ship them: memcached,
 * dynamically linked (its libraries go into the initramfs), and busybox-static (its nc applet as
 * a TCP echo server), each minimised by `ukl-trim APP`, then one kernel minimised for all of them together
 * and built by `ukl-trim build` with each server in its initramfs (their config file, argv[0] and
 * arguments through --include, --app-name and --app-arg), booted, and asked by Debian's own
 * clients of their protocols from the host: what was stored must come back (busybox: the line
 * sent must come back).
 *
 * One kernel for all (CI time): their own configs differ in options that headers almost every
 * file includes test (POSIX_TIMERS in sched.h, MULTIUSER), so a kernel each meant a cold build
 * each (a shared folder recompiled 793 files when switching). The later servers' builds reuse
 * the kernel and only write their initramfs. The folder sits as deep as the other suites'
 * (e2e-kernels/NAME/kernel): ccache sees the tree through relative paths, which differ with depth.
 */
const tree = kernelTreeForTests();
// the clients and libevent.a come from scripts/setup.sh; under CI=true global-setup requires them
const tools = ['redis-cli', 'memccp', 'memccat', 'memcstat', 'apt-get', 'dpkg-deb'].every((t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status === 0) && existsSync('/usr/lib/x86_64-linux-gnu/libevent.a');
const available = (tree !== null && tools) || process.env.CI === 'true';
const work = mkdtempSync(join(tmpdir(), 'ukl-real-servers-'));
const run = promisify(execFile);

interface Server {
  name: string;
  /** the static program, built from its Debian source or taken from its binary package */
  program: () => string;
  /** options the server cannot do without */
  options: string[];
  guestPort: number;
  /** what `ukl-trim build` gets besides the config and the app (the program's path) */
  buildFlags: (app: string) => string[];
  /** the client against the forwarded port: null once the answer is right; without one, a line must come back (an echo) */
  client?: (port: number) => Promise<string | null>;
}

/** one run of a client, its output or why it failed (a refused connection before the server listens) */
async function client(command: string, args: string[]): Promise<{ out: string; error: string | null }> {
  try {
    const { stdout } = await run(command, args, { timeout: 10_000, encoding: 'utf8' });
    return { out: stdout.trim(), error: null };
  } catch (e) {
    const failed = e as { stdout?: string; stderr?: string; message: string };
    return { out: (failed.stdout ?? '').trim(), error: `${command} ${args.join(' ')}: ${(failed.stderr ?? '').trim() || failed.message}` };
  }
}

const VALUE = `stored in a trimmed kernel ${process.pid}`;

/** redis-cli: SET, then GET gives the value back, and INFO shows the config file and argv[0] we chose */
async function redisClient(port: number): Promise<string | null> {
  const cli = (...args: string[]): Promise<{ out: string; error: string | null }> => client('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  const set = await cli('SET', 'ukl-trim:key', VALUE);
  if (set.error !== null || set.out !== 'OK') return set.error ?? `SET answered ${JSON.stringify(set.out)}`;
  const get = await cli('GET', 'ukl-trim:key');
  if (get.out !== VALUE) return get.error ?? `GET answered ${JSON.stringify(get.out)}`;
  const info = await cli('INFO', 'server');
  if (!/^executable:\/redis-server\r?$/m.test(info.out) || !/^config_file:\/etc\/redis\/redis\.conf\r?$/m.test(info.out)) return `INFO server: ${info.error ?? info.out}`;
  return null;
}

/** libmemcached's memccp stores a file under its name, memccat reads it back; memcstat names the version */
async function memcachedClient(port: number): Promise<string | null> {
  const servers = `--servers=127.0.0.1:${port}`;
  const file = join(work, 'ukl-trim-key');
  writeFileSync(file, VALUE);
  const stored = await client('memccp', [servers, file]);
  if (stored.error !== null) return stored.error;
  const read = await client('memccat', [servers, 'ukl-trim-key']);
  if (read.out !== VALUE) return read.error ?? `memccat answered ${JSON.stringify(read.out)}`;
  const stats = await client('memcstat', [servers]);
  if (!/version: 1\.6\.\d+/.test(stats.out) || !/curr_items: 1\b/.test(stats.out)) return `memcstat: ${stats.error ?? stats.out}`;
  return null;
}

const REDIS_CONF = ['bind 0.0.0.0', 'protected-mode no', 'port 6379', 'save ""', 'appendonly no', 'daemonize no', ''].join('\n');

const SERVERS: Server[] = [
  {
    name: 'redis',
    // jemalloc and systemd off: glibc's malloc links statically; no TLS (no OpenSSL in the guest)
    program: () => debianProgram('redis', { steps: [['make', '-j2', 'MALLOC=libc', 'USE_SYSTEMD=no', 'BUILD_TLS=no', 'LDFLAGS=-static', 'redis-server']], output: 'src/redis-server' }, work),
    options: ['INET', 'EPOLL', 'FUTEX', 'UNIX'],
    guestPort: 6379,
    // redis is a multi-call program (redis-server, redis-sentinel, redis-check-rdb): argv[0] picks
    buildFlags: () => ['--include', `${join(work, 'redis.conf')}:/etc/redis/redis.conf`, '--app-name', 'redis-server', '--app-arg', '/etc/redis/redis.conf'],
    client: redisClient,
  },
  {
    name: 'memcached',
    // --enable-static links libevent from libevent-dev's libevent.a
    program: () => debianProgram('memcached', { steps: [['./configure', '--enable-static', '--disable-docs'], ['make', '-j2', 'memcached']], output: 'memcached' }, work),
    // -u root: setuid/setgid (MULTIUSER) and /etc/passwd; libevent's eventfd and epoll; worker threads
    options: ['INET', 'EPOLL', 'FUTEX', 'EVENTFD', 'MULTIUSER'],
    guestPort: 11211,
    buildFlags: () => ['--app-arg', '-u', '--app-arg', 'root', '--app-arg=-p', '--app-arg', '11211', '--app-arg', '-U', '--app-arg', '0', '--app-arg', '-m', '--app-arg', '32'],
    client: memcachedClient,
  },
  {
    // Debian's memcached binary as shipped: dynamically linked (libevent, libsasl2, libssl,
    // libcrypto, libc.so.6), analysed with its libraries, which go into the initramfs with it
    name: 'memcached-debian',
    program: () => debianBinary('memcached', 'usr/bin/memcached'),
    options: ['INET', 'EPOLL', 'FUTEX', 'EVENTFD', 'MULTIUSER'],
    guestPort: 11211,
    buildFlags: () => ['--app-arg', '-u', '--app-arg', 'root', '--app-arg=-p', '--app-arg', '11211', '--app-arg', '-U', '--app-arg', '0', '--app-arg', '-m', '--app-arg', '32'],
    client: memcachedClient,
  },
  {
    // Debian's busybox-static as shipped (stripped, every applet): its insmod reaches
    // init_module, a warning since ukl-trim builds everything in; `nc -ll -e /bin/cat` forks and
    // execs busybox again as cat for each connection
    name: 'busybox',
    program: () => debianBinary('busybox-static', 'bin/busybox'),
    options: ['INET'],
    guestPort: 7777,
    buildFlags: (app) => ['--app-name', 'nc', '--app-arg=-ll', '--app-arg=-p', '--app-arg', '7777', '--app-arg=-e', '--app-arg', '/bin/cat', '--include', `${app}:/bin/cat`],
  },
];

/** main() in this process, its stdout parsed as JSON */
async function cliJson<T>(args: string[]): Promise<T> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), info: () => {} };
  const code = await main([...args, '--json'], io);
  expect(code, err.join('\n')).toBe(0);
  return JSON.parse(out.join('\n')) as T;
}

/** each server built from its Debian source and minimised on its own; then one config for all of them together */
interface Minimised {
  apps: Map<string, { app: string; report: MinimizeReport }>;
  /** the config minimised for every server's requirements together */
  config: string;
  enabled: number;
}

async function minimiseAll(servers: readonly Server[]): Promise<Minimised> {
  if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
  const apps = new Map<string, { app: string; report: MinimizeReport }>();
  for (const server of servers) {
    const app = server.program();
    const config = join(work, `${server.name}.config`);
    const { report } = await cliJson<{ report: MinimizeReport }>([app, '--kernel', tree, '-o', config]);
    expect(report.check, server.name).toMatchObject({ stable: true, requirementsHold: true, modelMismatches: [] });
    const text = readFileSync(config, 'utf8');
    for (const option of server.options) expect(text, `${server.name}: ${option}`).toMatch(new RegExp(`^CONFIG_${option}=y$`, 'm'));
    apps.set(server.name, { app, report });
  }
  const together = await minimizedTogether(tree, [...apps.values()]);
  expect(together.report.check.requirementsHold).toBe(true);
  for (const server of servers) for (const option of server.options) expect(together.config, option).toMatch(new RegExp(`^CONFIG_${option}=y$`, 'm'));
  const config = join(work, 'together.config');
  writeFileSync(config, together.config);
  return { apps, config, enabled: together.report.counts.enabled };
}

describe.skipIf(!available)('real servers from Debian sources in initramfs mode, asked by real clients', () => {
  writeFileSync(join(work, 'redis.conf'), REDIS_CONF);
  let minimised: Promise<Minimised> | null = null;

  for (const server of SERVERS) {
    it(`${server.name}: minimised, built into the kernel for all servers, booted, and its client gets back what it stored`, async () => {
      if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
      const all = await (minimised ??= minimiseAll(SERVERS));
      const { app, report } = all.apps.get(server.name) as { app: string; report: MinimizeReport };
      const out = join(cacheHome(), 'e2e-kernels', 'real-servers');
      mkdirSync(out, { recursive: true });
      const build = await cliJson<BuildReport>(['build', '--kernel', tree, '--config', all.config, '--app', app, '--out', out, ...server.buildFlags(app)]);
      const boot: BootReport = await bootKernel({
        image: build.bzImage,
        initrd: build.initramfs,
        expect: /ukl-init: network up/,
        timeoutSeconds: 240,
        ...(server.client ? { tcpClient: { guestPort: server.guestPort, budgetSeconds: 120, run: server.client } } : { tcpEcho: { guestPort: server.guestPort } }),
      });
      expect(boot.ok, `${boot.message}\n${boot.consoleTail.join('\n')}`).toBe(true);
      console.log(
        `${server.name}: ${report.counts.enabled} options =y on its own, ${all.enabled} for all; bzImage ${build.bzImageBytes} B, build ${build.reused ? 'reused' : `${build.buildSeconds} s`}${build.compilerCache ? ` (ccache ${build.compilerCache.hits} hits, ${build.compilerCache.misses} misses)` : ''}, QEMU start → first right answer ${boot.echoSeconds} s (marker ${boot.markerSeconds} s)`,
      );
    }, 1_800_000);
  }
});
