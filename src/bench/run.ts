/**
 * `npm run bench`: x86_64 olddefconfig of Debian's kernel config, our CLI against the tree's
 * conf as whole processes, alternating runs, medians. Warm = probe cache filled; cold = an empty
 * cache directory for each run (every `$(shell)` probe executed). Peak RSS from GNU time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKconfig } from '../kconfig/load.js';
import { buildConf } from '../kconfig/oracle.js';
import { resolveKernelTree } from '../kernel/tree.js';
import { deriveSyscallMap } from '../kernel/syscalls.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'bin', 'ukl-trim.js');

interface Sample {
  seconds: number;
  maxRssKb: number;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Sample {
  const out = join(cwd, '.time');
  const hasTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = hasTime
    ? spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, cmd, ...args], { env, cwd, encoding: 'utf8' })
    : spawnSync(cmd, args, { env, cwd, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  let maxRssKb = Number.NaN;
  if (hasTime) {
    try {
      maxRssKb = Number(execFileSync('tail', ['-n1', out], { encoding: 'utf8' }).trim());
    } catch {
      // no measurement
    }
  }
  return { seconds, maxRssKb };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function main(): Promise<void> {
  const tree = (await resolveKernelTree({})).root;
  const conf = buildConf(tree);
  const debian = execFileSync('xz', ['-dc', '/usr/src/linux-config-6.1/config.amd64_none_amd64.xz'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const work = mkdtempSync(join(tmpdir(), 'ukl-bench-'));
  const input = join(work, 'debian.config');
  writeFileSync(input, debian);
  // the same environment for both sides: what make would pass to conf
  const kb = loadKconfig({ tree, arch: 'x86_64' }).kbuild;
  const confEnv: NodeJS.ProcessEnv = { ...kb.env, KCONFIG_CONFIG: join(work, 'conf.config') };
  const warmCache = join(work, 'warm-cache');
  const ours = (cache: string): Sample =>
    timed(process.execPath, [cli, 'conf', '--kernel', tree, '--arch', 'x86_64', '--olddefconfig', '--config', input, '--out', join(work, 'ours.config')], { ...process.env, XDG_CACHE_HOME: cache }, work);
  ours(warmCache); // fill the probe cache
  const samples = { conf: [] as Sample[], warm: [] as Sample[], cold: [] as Sample[] };
  for (let i = 0; i < RUNS; i++) {
    writeFileSync(join(work, 'conf.config'), debian);
    samples.conf.push(timed(conf, ['-s', '--olddefconfig', join(tree, 'Kconfig')], confEnv, work));
    samples.warm.push(ours(warmCache));
    const cold = mkdtempSync(join(work, 'cold-'));
    samples.cold.push(ours(cold));
    rmSync(cold, { recursive: true, force: true });
  }
  const same = spawnSync('cmp', ['-s', join(work, 'conf.config'), join(work, 'ours.config')]).status === 0;
  const c = median(samples.conf.map((s) => s.seconds));
  const w = median(samples.warm.map((s) => s.seconds));
  const k = median(samples.cold.map((s) => s.seconds));
  const rss = (xs: Sample[]): string => `${(Math.max(...xs.map((s) => s.maxRssKb)) / 1024).toFixed(0)} MiB`;
  const lines = [
    `x86_64 olddefconfig of Debian's amd64 config, ${RUNS} alternating runs (medians, whole processes)`,
    `  conf (C)            ${c.toFixed(3)} s   peak RSS ${rss(samples.conf)}`,
    `  ukl-trim, warm      ${w.toFixed(3)} s   ${(w / c).toFixed(2)}x conf   peak RSS ${rss(samples.warm)}   (target <= 0.5x)`,
    `  ukl-trim, cold      ${k.toFixed(3)} s   ${(k / c).toFixed(2)}x conf   peak RSS ${rss(samples.cold)}   (target <= 1.0x)`,
    `  outputs identical: ${same ? 'yes' : 'NO'}`,
  ];
  // syscall map derivation (uncached): table + SYSCALL_DEFINE scan + Kbuild walk for x86_64
  const loaded = loadKconfig({ tree, arch: 'x86_64' });
  const times: number[] = [];
  let conditional = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const map = await deriveSyscallMap({ tree, arch: 'x86_64', kconfig: loaded.kconfig, kernelVersion: loaded.kbuild.kernelVersion, cache: false });
    times.push((performance.now() - t0) / 1000);
    conditional = map.syscalls.filter((x) => x.condition !== null).length;
  }
  lines.push(`syscall map, x86_64, uncached: ${median(times).toFixed(2)} s (median of 3), ${conditional} of 347 entries conditional`);
  process.stdout.write(`${lines.join('\n')}\n`);
  rmSync(work, { recursive: true, force: true });
}

await main();
