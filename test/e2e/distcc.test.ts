import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeLocalPort } from '../../src/build/qemu.js';
import { buildKernel } from '../../src/build/kernel-build.js';
import { loadKconfig, tinyconfig } from '../../src/kconfig/load.js';
import { kernelTreeForTests } from '../../src/kconfig/oracle.js';

/**
 * Kernel compiles on a distcc farm, for real: a distccd this test starts on 127.0.0.1, ccache in
 * front with an empty cache (so every compile is a miss that goes to the farm), and distccd's own
 * statistics as the proof. One directory of a tinyconfig kernel keeps it short.
 */
const tree = kernelTreeForTests();
const hasDistcc = spawnSync('sh', ['-c', 'command -v distccd && command -v distcc']).status === 0;
const available = (tree !== null && hasDistcc) || process.env.CI === 'true';
const work = mkdtempSync(join(tmpdir(), 'ukl-distcc-'));
let daemon: ChildProcess | undefined;

afterAll(() => {
  if (daemon?.pid !== undefined) process.kill(-daemon.pid, 'SIGTERM');
});

/** distccd's statistics page (its HTTP is too loose for node:http: read the raw reply) */
function stats(port: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('GET / HTTP/1.0\r\n\r\n'));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(Object.fromEntries([...text.matchAll(/^(dcc_\w+) (\d+)\s*$/gm)].map((m) => [m[1] as string, Number(m[2])]))));
    socket.on('error', reject);
  });
}

describe.skipIf(!available)('kernel builds on a distcc farm', () => {
  it('sends the compiles to the distccd named by --distcc (its statistics count them), ccache in front', async () => {
    if (!tree) throw new Error('no kernel tree (UKL_TRIM_KERNEL)');
    if (!hasDistcc) throw new Error('distcc is not installed (scripts/setup.sh installs it)');
    const [port, statsPort] = [await freeLocalPort(), await freeLocalPort()];
    daemon = spawn('distccd', ['--daemon', '--no-detach', '--listen', '127.0.0.1', '--port', String(port), '--allow', '127.0.0.1', '--stats', '--stats-port', String(statsPort), '--jobs', '2', '--user', 'nobody', '--log-stderr'], { detached: true, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    const before = await stats(statsPort);
    expect(before.dcc_compile_ok).toBe(0);

    const loaded = loadKconfig({ tree, arch: 'x86_64' });
    const config = loaded.kconfig.olddefconfig(tinyconfig(loaded));
    const build = await buildKernel({ tree, arch: 'x86_64', config, outDir: join(work, 'kernel'), targets: ['lib/'], cacheRoot: join(work, 'cache'), distccHosts: [`127.0.0.1:${port}/2`] });
    const after = await stats(statsPort);
    console.log(`distcc: ${after.dcc_compile_ok} compiles on the farm, ccache ${build.compilerCache?.hits} hits ${build.compilerCache?.misses} misses, ${build.seconds.toFixed(0)} s`);
    expect(build.distccHosts).toEqual([`127.0.0.1:${port}/2`]);
    // the kernel's own objects go to the farm (host tools and probes stay local; what the farm
    // refuses, distcc compiles here, so the build succeeds either way)
    expect(after.dcc_compile_ok).toBeGreaterThan(10);
    expect(build.compilerCache?.misses).toBeGreaterThanOrEqual(after.dcc_compile_ok as number);
  }, 900_000);
});
