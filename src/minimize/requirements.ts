import { z } from 'zod';
import type { AnalysisReport } from '../callgraph/analyze.js';
import type { SyscallMap } from '../kernel/syscalls.js';

/**
 * What the kernel must provide, each item a Kconfig expression that must hold in the result,
 * with where it comes from: a syscall the app reaches (with its witness path), a socket family,
 * a pseudo-file, the boot profile, the mode, or the user.
 */
export const RequirementSchema = z.object({
  expression: z.string(),
  kind: z.enum(['syscall', 'socket-family', 'pseudo-file', 'profile', 'mode', 'enable', 'disable']),
  /** the syscall, family, path, or profile item */
  detail: z.string(),
  /** for syscalls: app function → … → the function holding the syscall instruction */
  path: z.array(z.string()).optional(),
  /** named by the user (--assume-syscall), not found by the analysis */
  assumed: z.literal(true).optional(),
  /** seen under strace while the user's workload ran (--observe) */
  observed: z.literal(true).optional(),
});
export type Requirement = z.infer<typeof RequirementSchema>;

/** Socket families → the option that implements them (net/Kconfig and its children, 6.x). */
export const SOCKET_FAMILY_OPTIONS: Readonly<Record<string, string>> = {
  AF_UNIX: 'UNIX',
  AF_LOCAL: 'UNIX',
  AF_INET: 'INET',
  AF_INET6: 'IPV6',
  AF_PACKET: 'PACKET',
  AF_NETLINK: 'NET',
  AF_KEY: 'NET_KEY',
  AF_ALG: 'CRYPTO_USER_API',
  AF_VSOCK: 'VSOCKETS',
  AF_XDP: 'XDP_SOCKETS',
  AF_TIPC: 'TIPC',
  AF_CAN: 'CAN',
  AF_BLUETOOTH: 'BT',
  AF_RDS: 'RDS',
  AF_SMC: 'SMC',
  AF_MPTCP: 'MPTCP',
  AF_LLC: 'LLC2',
  AF_PPPOX: 'PPPOE',
  AF_APPLETALK: 'ATALK',
  AF_X25: 'X25',
  AF_PHONET: 'PHONET',
  AF_IEEE802154: 'IEEE802154_SOCKET',
  AF_QIPCRTR: 'QRTR',
  AF_NFC: 'NFC',
  AF_KCM: 'AF_KCM',
  AF_RXRPC: 'AF_RXRPC',
  AF_IUCV: 'AFIUCV',
  AF_CAIF: 'CAIF',
  AF_ISDN: 'MISDN',
  AF_AX25: 'AX25',
  AF_NETROM: 'NETROM',
  AF_ROSE: 'ROSE',
  AF_ATMPVC: 'ATM',
  AF_ATMSVC: 'ATM',
  AF_MCTP: 'MCTP',
};

/**
 * Pseudo-file prefixes → the filesystem that serves them. The most specific prefix wins. A
 * file under /dev needs devtmpfs: the init mounts it on /dev; without it only /dev/console
 * (from the archive) exists.
 */
export const PSEUDO_FILE_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['/proc/sys/', 'PROC_SYSCTL'],
  ['/proc/', 'PROC_FS'],
  ['/sys/kernel/debug/', 'DEBUG_FS'],
  ['/sys/kernel/tracing/', 'TRACING'],
  ['/sys/fs/cgroup/', 'CGROUPS'],
  ['/sys/', 'SYSFS'],
  ['/dev/shm/', 'SHMEM'],
  ['/dev/mqueue/', 'POSIX_MQUEUE'],
  ['/dev/pts/', 'UNIX98_PTYS'],
  ['/dev/', 'DEVTMPFS'],
];

export interface AnalysisRequirementOptions {
  /** collects what the analysis could not turn into requirements (unknown families, unresolved sites) */
  warnings?: string[];
  /** collects the reached syscalls only loadable modules provide (see moduleOnly) */
  moduleSyscalls?: Array<{ name: string; path: string[] }>;
}

/**
 * A syscall whose code is built only with MODULES (init_module, finit_module, delete_module).
 * ukl-trim's kernels have MODULES off, every option built in, so no kernel it makes provides it:
 * a multi-call program such as busybox reaches it through its insmod applet. It is shown as a
 * warning (the app gets ENOSYS there) rather than refusing the whole app; --strict refuses.
 */
function moduleOnly(info: SyscallEntry): boolean {
  return info.condition !== null && info.condition.split('&&').some((conjunct) => conjunct.trim() === 'MODULES');
}

/** The requirements an analysed application imposes, through the tree's syscall map. */
export function requirementsFromAnalysis(analysis: AnalysisReport, map: SyscallMap, opts: AnalysisRequirementOptions = {}): Requirement[] {
  const warnings = opts.warnings ?? [];
  const byNr = new Map(map.syscalls.map((s) => [s.nr, s]));
  const out: Requirement[] = [];
  for (const sc of analysis.syscalls) {
    const info = byNr.get(sc.nr);
    if (!info) {
      // no configuration of this tree has it (uselib in libc.so, a syscall newer than the tree):
      // the app gets ENOSYS there whatever the options, as programs probing for a syscall expect
      warnings.push(`syscall ${sc.name} (${sc.nr}, reached by ${sc.path.join(' → ')}) is not in ${map.arch} ${map.kernelVersion}: the app gets ENOSYS there on any kernel built from this tree`);
      continue;
    }
    if (moduleOnly(info)) {
      opts.moduleSyscalls?.push({ name: sc.name, path: sc.path });
      warnings.push(`syscall ${sc.name} (reached by ${sc.path.join(' → ')}) needs MODULES, and kernels made by ukl-trim load no modules (everything is built in): the app gets ENOSYS there`);
      continue;
    }
    const requirement = syscallRequirement(info, sc.path);
    if (requirement !== null) out.push(requirement);
  }
  for (const fam of analysis.socketFamilies) {
    const opt = SOCKET_FAMILY_OPTIONS[fam];
    if (!opt) {
      warnings.push(`socket family ${fam}: no option known for it; add it with --enable`);
      continue;
    }
    const path = analysis.socketFamilyPaths?.[fam];
    out.push({ expression: opt, kind: 'socket-family', detail: fam, ...(path !== undefined && path.length > 0 ? { path } : {}) });
  }
  for (const u of analysis.unknownSocketFamilies) {
    warnings.push(`socket() in ${u.function} at 0x${u.address.toString(16)} takes a family that is not a constant: no family option added for it`);
  }
  for (const u of analysis.unresolved) {
    warnings.push(`syscall site in ${u.function ?? '?'} at 0x${u.address.toString(16)} may be any syscall (${u.reason.replace(/^may be any syscall:\s*/, '')}); only what the analysis proved is required`);
  }
  const seen = new Set<string>();
  for (const file of analysis.pseudoFiles) {
    const hit = PSEUDO_FILE_OPTIONS.find(([prefix]) => file.startsWith(prefix) || `${file}/` === prefix);
    if (!hit) continue;
    if (seen.has(hit[1])) continue;
    seen.add(hit[1]);
    out.push({ expression: hit[1], kind: 'pseudo-file', detail: file });
  }
  return dedupe(out);
}

type SyscallEntry = SyscallMap['syscalls'][number];

/** the syscall's condition (an -ENOSYS stub does not count), or null when it is always built */
function syscallRequirement(info: SyscallEntry, path: string[]): Requirement | null {
  let expression = info.condition;
  if (info.stubCondition) expression = `(${expression ?? 'y'}) && !(${info.stubCondition})`;
  if (expression === null) return null;
  return { expression, kind: 'syscall', detail: info.name, path };
}

/** --assume-syscall NAME: required like a reached one, marked as assumed; null when always built, undefined for an unknown name */
export function assumedSyscallRequirement(map: SyscallMap, name: string): Requirement | null | undefined {
  const info = map.syscalls.find((s) => s.name === name || s.name === name.replace(/^sys_/, ''));
  if (info === undefined) return undefined;
  const requirement = syscallRequirement(info, []);
  return requirement === null ? null : { expression: requirement.expression, kind: 'syscall', detail: requirement.detail, assumed: true };
}

/** --observe: a syscall strace saw, required like a reached one and marked as observed; null and undefined as for assumed ones */
export function observedSyscallRequirement(map: SyscallMap, name: string): Requirement | null | undefined {
  const assumed = assumedSyscallRequirement(map, name);
  if (!assumed) return assumed;
  const { assumed: _, ...requirement } = assumed;
  return { ...requirement, observed: true };
}

/** the places the analysis could not turn into requirements */
export function unresolvedOf(analysis: AnalysisReport): Array<{ kind: 'syscall-site' | 'socket-family'; function: string | null; address: number; reason: string }> {
  return [
    ...analysis.unresolved.map((u) => ({ kind: 'syscall-site' as const, function: u.function, address: u.address, reason: u.reason })),
    ...analysis.unknownSocketFamilies.map((u) => ({ kind: 'socket-family' as const, function: u.function, address: u.address, reason: 'socket() takes a family that is not a constant' })),
  ];
}

/** One requirement per kind, expression and detail, keeping the shortest witness. */
export function dedupe(reqs: readonly Requirement[]): Requirement[] {
  const seen = new Map<string, Requirement>();
  for (const r of reqs) {
    const key = `${r.kind}\0${r.expression}\0${r.detail}`;
    const prev = seen.get(key);
    if (!prev || (r.path && prev.path && r.path.length < prev.path.length)) seen.set(key, r);
  }
  return [...seen.values()];
}
