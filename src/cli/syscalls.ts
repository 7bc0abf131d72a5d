import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadKconfigAsync } from '../kconfig/load.js';
import { deriveSyscallMap, enabledUnder, SyscallMapSchema } from '../kernel/syscalls.js';
import { probeOptions } from './conf.js';
import { resolveKernelForCli, UsageError, type CliIO } from './common.js';

export const SYSCALLS_USAGE = `usage: ukl-trim syscalls --kernel DIR|TARBALL [--arch x86_64|i386] [--config FILE] [--json] [--no-cache]
  prints each syscall of the arch's table with the Kconfig condition that builds it;
  with --config, also whether it is enabled under that .config`;

export async function runSyscalls(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kernel: { type: 'string' },
      patch: { type: 'string', multiple: true },
      arch: { type: 'string', default: 'x86_64' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      'no-cache': { type: 'boolean' },
      probes: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(SYSCALLS_USAGE);
    return 0;
  }
  const arch = values.arch as string;
  const tree = await resolveKernelForCli(values.kernel, io, values.patch ?? []);
  let configText: string | null = null;
  if (values.config) {
    try {
      configText = readFileSync(values.config, 'utf8');
    } catch {
      throw new UsageError(`can't read configuration "${values.config}"`);
    }
  }
  const loaded = await loadKconfigAsync({ tree, arch, probes: probeOptions(values.probes) });
  let map = await deriveSyscallMap({ tree, arch, kconfig: loaded.kconfig, kernelVersion: loaded.kbuild.kernelVersion, cache: !values['no-cache'] });
  if (configText !== null) map = enabledUnder(map, loaded.kconfig, configText);
  SyscallMapSchema.parse(map);
  if (values.json) {
    io.out(JSON.stringify(map, null, 2));
    return 0;
  }
  for (const s of map.syscalls) {
    const en = s.enabled === undefined ? '' : s.enabled ? '  [on]' : '  [off]';
    io.out(`${String(s.nr).padStart(3)} ${s.name.padEnd(24)} ${s.condition ?? 'always'}${en}`);
  }
  const cond = map.syscalls.filter((s) => s.condition !== null).length;
  io.info(`${map.syscalls.length} syscalls, ${cond} conditional${configText !== null ? `, ${map.syscalls.filter((s) => s.enabled).length} enabled under ${values.config}` : ''}`);
  return 0;
}
