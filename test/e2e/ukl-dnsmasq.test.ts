import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildUklImage } from '../../src/build/image.js';
import { bootKernel } from '../../src/build/qemu.js';
import { cacheHome } from '../../src/util/cache-home.js';
import { archiveObjects } from '../../src/lto/ukl-archive.js';
import { countSyscallInstructions } from '../../src/lto/musl-ukl.js';
import { minimizeConfig } from '../../src/minimize/minimize.js';
import { debianSourceTree } from '../helpers/debian-source.js';
import { uklTreeForTests } from '../helpers/ukl-tree.js';

/**
 * A real program nobody here wrote, made into a UKL app: dnsmasq 2.90 from Debian's source
 * package, built unchanged with `make CC='ukl-trim cc'` (musl for UKL), minimised from the UKL
 * archive that link writes, built into a kernel, booted, and asked by dig from the host over TCP.
 *
 * Why dnsmasq: UKL's own project runs it; it is a multi-file C server (40 files) whose only
 * dependency is the C library; with -d (no daemon, debug) it serves TCP in its one process (no
 * fork). It opens files by literal paths and keeps buffers in globals, which UKL's kernel reads
 * only through musl-ukl's bounce buffers, and its errno lives in musl's thread area.
 */
const tree = uklTreeForTests();
const available = tree !== null || process.env.CI === 'true';
const CLI = resolve('bin/ukl-trim.js');
const work = mkdtempSync(join(tmpdir(), 'ukl-dnsmasq-'));

describe.skipIf(!available)('a real program in UKL mode: dnsmasq, built with make CC="ukl-trim cc"', () => {
  it('builds unchanged into a UKL archive without one syscall instruction, is minimised from it, boots as a unikernel and answers dig over TCP', async () => {
    if (!tree) throw new Error('no UKL tree (UKL_TRIM_UKL_KERNEL)');
    const source = debianSourceTree('dnsmasq', work);
    const make = spawnSync('make', ['-j2', `CC=${process.execPath} ${CLI} cc`], { cwd: source, encoding: 'utf8' });
    expect(make.status, make.stderr.slice(-3000)).toBe(0);
    // forking is linked in (daemon mode, scripts) and said so; --no-daemon never takes it
    expect(make.stderr).toMatch(/ukl-trim cc: warning: the app links fork/);
    const archive = join(source, 'src', 'dnsmasq');
    for (const member of archiveObjects(archive)) expect(countSyscallInstructions(member)).toBe(0);

    const result = await minimizeConfig({ kernel: tree, mode: 'ukl', app: [archive] });
    const r = result.report;
    expect(r.check).toMatchObject({ stable: true, requirementsHold: true, modelMismatches: [] });
    const families = r.requirements.filter((q) => q.kind === 'socket-family').map((q) => q.detail);
    expect(families).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']));
    for (const option of ['UNIKERNEL_LINUX', 'INET', 'IPV6', 'UNIX', 'VIRTIO_NET']) expect(result.config).toMatch(new RegExp(`^CONFIG_${option}=y$`, 'm'));
    expect(result.config).toMatch(/^# CONFIG_UKL_TLS is not set$/m);
    console.log(`dnsmasq (UKL.a): ${r.counts.enabled} options =y, ${r.requirements.filter((q) => q.kind === 'syscall').length} syscall requirements, families ${families.join(' ')}, ${r.warnings.length} warnings`);

    const build = await buildUklImage({ tree, config: result.config, app: [archive], args: DNSMASQ_ARGS, out: join(cacheHome(), 'e2e-kernels', 'ukl-dnsmasq') });
    const answers: string[] = [];
    const boot = await bootKernel({
      image: build.bzImage,
      initrd: build.initramfs,
      ukl: true,
      expect: /^UKL BOOTED$/,
      timeoutSeconds: 240,
      tcpClient: { guestPort: 53, budgetSeconds: 90, run: async (port) => digOverTcp(port, answers) },
    });
    expect(boot.ok, `${boot.message}\n${boot.consoleTail.join('\n')}`).toBe(true);
    expect(boot.consoleTail.join('\n')).toMatch(/dnsmasq: started, version 2\.90/);
    expect(answers.at(-1)).toBe(ANSWER);
    console.log(`dnsmasq as a unikernel: bzImage ${build.bzImageBytes} B, build ${build.reused ? 'reused' : `${build.buildSeconds} s`}, QEMU start → first answer ${boot.echoSeconds} s`);
  }, 1_800_000);
});

const ANSWER = '10.9.8.7';
/** no daemon, no upstream, one local name; root needs no user switch; only the guest's address */
const DNSMASQ_ARGS = ['-d', '--no-resolv', '--no-hosts', `--address=/ukl.test/${ANSWER}`, '--port=53', '--user=root', '--group=root', '--bind-interfaces', '--listen-address=10.0.2.15'];

/** dig over TCP: null once the answer is the configured address */
async function digOverTcp(port: number, answers: string[]): Promise<string | null> {
  const dig = spawnSync('dig', ['+tcp', '+time=5', '+tries=1', '+short', '-p', String(port), '@127.0.0.1', 'ukl.test', 'A'], { encoding: 'utf8' });
  const answer = dig.stdout.trim();
  answers.push(answer);
  return answer === ANSWER ? null : `dig answered ${JSON.stringify(answer)} ${dig.stderr.trim()}`;
}
