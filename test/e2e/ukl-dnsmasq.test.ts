import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildUklImage } from '../../src/build/image.js';
import { bootKernel } from '../../src/build/qemu.js';
import { cacheHome } from '../../src/kconfig/load.js';
import { minimizeConfig } from '../../src/minimize/minimize.js';
import { debianSourceTree } from '../helpers/debian-source.js';
import { uklTreeForTests } from '../helpers/ukl-tree.js';

/**
 * A real program nobody here wrote, as a unikernel: dnsmasq 2.90 from Debian's source package,
 * built unchanged with `make CC='ukl-trim cc'` (musl for UKL), minimised from the UKL archive that
 * link writes, linked into the kernel, booted, and asked by dig over TCP from the host.
 *
 * Why dnsmasq: UKL's own project runs it; it is a multi-file C server (40 files) whose only
 * dependency is the C library; with --no-daemon it serves TCP in its one process (no fork), which
 * a UKL app, the only process of its kernel, needs.
 */
const tree = uklTreeForTests();
const available = tree !== null || process.env.CI === 'true';
const CLI = resolve('bin/ukl-trim.js');
const work = mkdtempSync(join(tmpdir(), 'ukl-dnsmasq-'));

/** dig over TCP against the forwarded port: null when the answer is the configured address */
function dig(hostPort: number): Promise<string | null> {
  return new Promise((done) => {
    const child = spawn('dig', ['+tcp', '+short', '+time=3', '+tries=1', '-p', String(hostPort), '@127.0.0.1', 'unikernel.ukl.test', 'A'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', (e) => done(`dig: ${e.message}`));
    child.on('close', () => done(out.trim() === '10.7.7.7' ? null : `dig answered ${JSON.stringify(out.trim())}`));
  });
}

describe.skipIf(!available)('a real program in UKL mode: dnsmasq, built with make CC="ukl-trim cc"', () => {
  it('builds unchanged, is minimised from its UKL.a, boots as the kernel and answers dig over TCP', async () => {
    if (!tree) throw new Error('no UKL tree (UKL_TRIM_UKL_KERNEL)');
    const source = debianSourceTree('dnsmasq', work);
    const make = spawnSync('make', ['-j2', `CC=${process.execPath} ${CLI} cc`], { cwd: source, encoding: 'utf8' });
    expect(make.status, make.stderr.slice(-3000)).toBe(0);
    // forking is linked in (daemon mode, scripts) and said so; --no-daemon never takes it
    expect(make.stderr).toMatch(/ukl-trim cc: warning: the app links fork/);
    const archive = join(source, 'src', 'dnsmasq');

    const result = await minimizeConfig({ kernel: tree, mode: 'ukl', app: [archive] });
    const r = result.report;
    expect(r.check).toMatchObject({ stable: true, requirementsHold: true, modelMismatches: [] });
    const families = r.requirements.filter((q) => q.kind === 'socket-family').map((q) => q.detail);
    expect(families).toEqual(expect.arrayContaining(['AF_INET', 'AF_NETLINK']));
    expect(result.config).toMatch(/^# CONFIG_UKL_TLS is not set$/m);

    const image = await buildUklImage({
      tree,
      config: result.config,
      app: [archive],
      args: ['--no-daemon', '--user=root', '--group=root', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--address=/ukl.test/10.7.7.7', '--port=53'],
      out: join(cacheHome(), 'e2e-kernels', 'ukl-dnsmasq'),
    });
    const boot = await bootKernel({ image: image.bzImage, initrd: image.initramfs, expect: /dnsmasq: started, version 2\.90/, tcpClient: { guestPort: 53, run: dig }, timeoutSeconds: 240, ukl: true });
    console.log(`dnsmasq (UKL): ${r.counts.enabled} options =y, ${r.requirements.filter((q) => q.kind === 'syscall').length} syscalls, bzImage ${image.bzImageBytes} B, build ${image.reused ? 'reused' : `${image.buildSeconds} s`}, started after ${boot.markerSeconds} s, dig answered after ${boot.echoSeconds} s`);
    expect(boot.ok, `${boot.failure}: ${boot.message}\n${boot.consoleTail.join('\n')}`).toBe(true);
    expect(boot.consoleTail).toContain('UKL BOOTED');
  }, 3_600_000);
});
