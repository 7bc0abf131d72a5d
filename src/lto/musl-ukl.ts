import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Decoder, DecoderOptions, Instruction, Mnemonic } from 'iced-x86';
import { parseArchive } from './archive.js';
import { isElf, parseElf, type ElfFile } from './elf.js';
import { BOUNCE_SOURCE, bounceCheck, bounceHeader } from './musl-ukl-bounce.js';
import { UklError } from './ukl-error.js';
import { runTool, type ToolResult } from '../util/tool.js';

/**
 * A C library that runs inside UKL, built by ukl-trim itself: musl (MIT) from Debian's source
 * package, compiled with UKL's flags (kernel code model, no red zone, no PIC/PIE), with every
 * system call made as `call entry_SYSCALL_64` with the registers the `syscall` instruction would
 * carry. UKL's own answer is a glibc 2.31 fork; musl keeps its system calls in one header of
 * inline-asm macros (`arch/x86_64/syscall_arch.h`) and a handful of assembly files, so the change
 * is mechanical and checked: the built archive must hold no `syscall` instruction at all.
 *
 * What does not work (and where it is caught):
 * - threads: the child of `clone` would return through `ret` on its fresh stack; an app that
 *   links `pthread_create` is refused when its UKL.a is built;
 * - the app's own `__thread` variables: the UKL exec reads no ELF header (auxv AT_PHNUM is 0),
 *   so musl finds no TLS segment and makes a thread area for its own data only; refused at
 *   UKL.a time too;
 * - fork, vfork, posix_spawn, system: one address space; linking them gives a warning.
 */

export interface UklMusl {
  /** the cache entry: lib/ (libc.a, crt1.o, crti.o, crtn.o) and include/ */
  dir: string;
  libc: string;
  include: string;
  /** the kernel's UAPI headers (<linux/…>, <asm/…>) from linux-libc-dev, searched after musl's, or null */
  kernelHeaders: string | null;
  version: string;
  /** the entry was there already */
  reused: boolean;
}

export interface UklMuslOptions {
  /** musl's source: an extracted tree or a tarball (default $UKL_TRIM_MUSL_SOURCE, then Debian's source package) */
  source?: string;
  /** ukl-trim's cache root (default $XDG_CACHE_HOME/ukl-trim) */
  cacheDir: string;
  cc?: string;
  jobs?: number;
  onLine?: (line: string) => void;
}

/** bumped when the transformation below changes: a new cache entry */
const TRANSFORM_VERSION = 4;
const UKL_SYSCALL = 'call entry_SYSCALL_64';
/** UKL's app flags (docs/ukl-and-peers.md §1.2), for all of musl */
const MUSL_CFLAGS = '-O2 -mcmodel=kernel -mno-red-zone -fno-PIC -fno-PIE -fno-stack-protector';
const TARGETS = ['lib/libc.a', 'lib/crt1.o', 'lib/crti.o', 'lib/crtn.o'];
export const MUSL_UKL = 'musl-ukl';

/** musl for UKL, built once per source and compiler and cached. */
export async function buildUklMusl(opts: UklMuslOptions): Promise<UklMusl> {
  const cc = opts.cc ?? 'gcc';
  const source = opts.source ?? process.env.UKL_TRIM_MUSL_SOURCE ?? debianMuslSource(opts.cacheDir);
  const key = sourceKey(source, cc);
  const dir = join(opts.cacheDir, 'libc', `musl-ukl-${key.slice(0, 24)}`);
  const result = (reused: boolean): UklMusl => ({
    dir,
    libc: join(dir, 'lib', 'libc.a'),
    include: join(dir, 'include'),
    kernelHeaders: linkKernelHeaders(dir),
    version: readFileSync(join(dir, 'VERSION'), 'utf8').trim(),
    reused,
  });
  if (existsSync(join(dir, '.complete'))) return result(true);

  const work = mkdtempSync(join(tmpdir(), 'ukl-trim-musl-'));
  const partial = `${dir}.partial-${process.pid}`;
  try {
    const tree = unpackSource(source, work);
    transformForUkl(tree);
    await run('./configure', ['--disable-shared', '--prefix=/', `CC=${cc}`, `CFLAGS=${MUSL_CFLAGS}`], tree, opts.onLine);
    await run('make', [`-j${opts.jobs ?? 2}`, 'AR=ar', 'RANLIB=ranlib', ...TARGETS], tree, opts.onLine);
    rmSync(partial, { recursive: true, force: true });
    await run('make', ['install-headers', `DESTDIR=${partial}`], tree, opts.onLine);
    mkdirSync(join(partial, 'lib'), { recursive: true });
    for (const target of TARGETS) cpSync(join(tree, target), join(partial, target));
    writeFileSync(join(partial, 'VERSION'), `${readFileSync(join(tree, 'VERSION'), 'utf8').trim()}\n`);
    checkNoSyscallInstruction(partial);
    writeFileSync(join(partial, '.complete'), `${key}\n`);
    mkdirSync(join(dir, '..'), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    return result(false);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(partial, { recursive: true, force: true });
  }
}

/** the UAPI header folders linux-libc-dev installs (asm under the multiarch folder) */
const KERNEL_HEADER_DIRS: ReadonlyArray<[string, string]> = [
  ['linux', '/usr/include/linux'],
  ['asm', '/usr/include/x86_64-linux-gnu/asm'],
  ['asm-generic', '/usr/include/asm-generic'],
  ['drm', '/usr/include/drm'],
  ['misc', '/usr/include/misc'],
  ['mtd', '/usr/include/mtd'],
  ['rdma', '/usr/include/rdma'],
  ['sound', '/usr/include/sound'],
  ['video', '/usr/include/video'],
  ['xen', '/usr/include/xen'],
];

/**
 * A folder of links to the system's kernel UAPI headers, beside musl's own headers, as musl
 * distributions ship them separately (programs include <linux/…> next to libc headers); glibc's
 * own headers in /usr/include are never on the path. null when linux-libc-dev is not installed.
 */
function linkKernelHeaders(dir: string): string | null {
  if (!existsSync('/usr/include/linux/version.h')) return null;
  const headers = join(dir, 'kernel-headers');
  mkdirSync(headers, { recursive: true });
  for (const [name, target] of KERNEL_HEADER_DIRS) {
    const link = join(headers, name);
    if (existsSync(target) && !existsSync(link)) symlinkSync(target, link);
  }
  return headers;
}

/**
 * Debian's musl source, fetched once into the cache with `apt-get source --download-only musl`
 * (it needs a deb-src entry: scripts/setup.sh adds one for bookworm).
 */
function debianMuslSource(cacheDir: string): string {
  const dir = join(cacheDir, 'libc', 'debian-source');
  const existing = (): string | undefined => (existsSync(dir) ? readdirSync(dir).find((n) => /^musl_[\d.]+\.orig\.tar\.gz$/.test(n)) : undefined);
  let found = existing();
  if (found === undefined) {
    mkdirSync(dir, { recursive: true });
    const apt = spawnSync('apt-get', ['source', '--download-only', '-qq', 'musl'], { cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    found = existing();
    if (found === undefined) {
      const why = apt.error !== undefined ? `apt-get cannot run (${apt.error.message})` : (apt.stderr.trim().split('\n').pop() ?? `apt-get exited with ${apt.status}`);
      throw new UklError('tool-missing', `musl-ukl: no musl source: ${why}; run scripts/setup.sh (it adds Debian's deb-src entry) or set UKL_TRIM_MUSL_SOURCE to a musl tree or tarball`);
    }
  }
  return join(dir, found);
}

/** what the cache entry depends on: the source's bytes, the compiler, and this transformation */
function sourceKey(source: string, cc: string): string {
  const hash = createHash('sha256').update(`musl-ukl ${TRANSFORM_VERSION}\0${MUSL_CFLAGS}\0`);
  const version = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (version.error !== undefined) throw new UklError('tool-missing', `musl-ukl: ${cc} not found`);
  hash.update(version.stdout);
  if (!existsSync(source)) throw new UklError('bad-input', `musl-ukl: musl source ${source} not found`);
  if (statSync(source).isDirectory()) {
    for (const file of listFiles(source)) hash.update(`${file}\0`).update(readFileSync(join(source, file)));
  } else {
    hash.update(readFileSync(source));
  }
  return hash.digest('hex');
}

function listFiles(root: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'obj' && entry.name !== 'lib' && !entry.name.startsWith('.')) out.push(...listFiles(root, path));
    } else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** the source as a fresh tree under `work` (a tarball is unpacked, a directory copied) */
function unpackSource(source: string, work: string): string {
  const tree = join(work, 'musl');
  if (statSync(source).isDirectory()) {
    cpSync(source, tree, { recursive: true, filter: (path) => !/\/(obj|lib)$/.test(path) });
  } else {
    mkdirSync(tree);
    const tar = spawnSync('tar', ['-x', '-f', source, '-C', tree, '--strip-components=1', '--no-same-owner'], { encoding: 'utf8' });
    if (tar.status !== 0) throw new UklError('bad-input', `musl-ukl: cannot unpack ${source}: ${tar.stderr.trim().split('\n').pop() ?? tar.error?.message ?? 'tar failed'}`);
  }
  if (!existsSync(join(tree, 'arch', 'x86_64', 'syscall_arch.h'))) throw new UklError('bad-input', `musl-ukl: ${source} is not a musl source tree (no arch/x86_64/syscall_arch.h)`);
  return tree;
}

/**
 * Every system call of the x86_64 port through UKL's entry: the inline macros, and each
 * assembly line that is a `syscall` instruction (cancellation points, clone, thread area,
 * signal return, vfork, unmapself). Three more changes for code that runs in kernel mode:
 * - crt1's `_start` stops naming `_DYNAMIC`: a static program has none, and the weak reference
 *   would resolve to 0, out of a PC-relative reach from kernel addresses;
 * - the thread area is always mmap'ed: `arch_prctl(ARCH_SET_FS)` refuses an address at or
 *   above TASK_SIZE_MAX, so musl's built-in area (in the app's .bss, inside the kernel image)
 *   cannot be the thread pointer; without this, the FS base stays the one of the program that
 *   exec'ed the app (UKL's exec keeps it) and the first errno access faults;
 * - `a_crash` is `ud2`, not `hlt`: in kernel mode `hlt` only waits for the next interrupt and
 *   execution goes on; `ud2` oopses, a failure the boot report shows;
 * - no vDSO for clock_gettime and sched_getcpu: its code is in user pages, and when the
 *   clocksource cannot be read there (TCG under load marks the TSC unstable) it falls back to the
 *   `syscall` instruction, whose `sysret` returns to the app's kernel address in user mode (seen:
 *   dnsmasq killed by a fault at the instruction after the vDSO call);
 * - strings and scalars in the app's static data are copied to the stack for the system calls
 *   whose kernel side range-checks them (musl-ukl-bounce.ts).
 */
export function transformForUkl(tree: string): { files: string[] } {
  const files: string[] = [];
  const edit = (path: string, change: (text: string) => string): void => {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const changed = change(text);
    if (changed !== text) {
      writeFileSync(path, changed);
      const name = path.slice(tree.length + 1);
      if (!files.includes(name)) files.push(name);
    }
  };
  const mustEdit = (path: string, from: string | RegExp, to: string): void => {
    edit(join(tree, path), (t) => {
      const changed = t.replace(from, to);
      if (changed === t) throw new UklError('compile-failed', `musl-ukl: ${path} does not have the code the UKL transformation changes (${String(from)}): not musl 1.2.x?`);
      return changed;
    });
  };
  mustEdit('arch/x86_64/syscall_arch.h', /"syscall"/g, `"${UKL_SYSCALL}"`);
  bounceKernelHalfArguments(tree, edit);
  mustEdit('arch/x86_64/crt_arch.h', 'lea _DYNAMIC(%rip),%rsi', 'xor %esi,%esi');
  mustEdit('arch/x86_64/syscall_arch.h', /#define VDSO_CGT_SYM .*\n#define VDSO_CGT_VER .*\n#define VDSO_GETCPU_SYM .*\n#define VDSO_GETCPU_VER .*\n/, '/* UKL: no vDSO (see transformForUkl) */\n');
  mustEdit('arch/x86_64/atomic_arch.h', /(a_crash\(\)\s*\{\s*__asm__ __volatile__\(\s*)"hlt"/, '$1"ud2"');
  mustEdit('src/env/__init_tls.c', 'if (libc.tls_size > sizeof builtin_tls) {', 'if (1) { /* UKL: the thread pointer must be a user address */');
  for (const file of listFiles(tree).filter((f) => /\/x86_64\/[^/]+\.s$/i.test(f))) {
    edit(join(tree, file), (t) => t.replace(/^(\s*)syscall\b/gm, `$1${UKL_SYSCALL}`));
  }
  return { files };
}

/** every `__syscallN` of syscall_arch.h first asks whether its call needs a bounce (musl-ukl-bounce.ts) */
function bounceKernelHalfArguments(tree: string, edit: (path: string, change: (text: string) => string) => void): void {
  const header = join(tree, 'arch', 'x86_64', 'syscall_arch.h');
  edit(header, (text) => {
    let found = 0;
    const checked = text.replace(/(static __inline long __syscall(\d)\(long n[^)]*\)\s*\{\n)/g, (fn: string, _: string, count: string) => {
      found++;
      return fn + bounceCheck(Number(count));
    });
    if (found !== 7) throw new UklError('compile-failed', `musl-ukl: arch/x86_64/syscall_arch.h has ${found} of the 7 __syscallN functions the UKL transformation changes: not musl 1.2.x?`);
    return bounceHeader(UKL_SYSCALL) + checked;
  });
  edit(join(tree, 'src', 'internal', 'ukl_bounce.c'), () => BOUNCE_SOURCE);
}

/** the built objects must not execute `syscall` anywhere: that would trap in kernel mode */
function checkNoSyscallInstruction(dir: string): void {
  const objects: Array<{ name: string; elf: ElfFile }> = [];
  for (const member of parseArchive(readFileSync(join(dir, 'lib', 'libc.a')), 'libc.a').members()) {
    if (isElf(member.data)) objects.push({ name: `libc.a(${member.name})`, elf: parseElf(member.data, `libc.a(${member.name})`) });
  }
  for (const crt of ['crt1.o', 'crti.o', 'crtn.o']) objects.push({ name: crt, elf: parseElf(readFileSync(join(dir, 'lib', crt)), crt) });
  const found = objects.filter((o) => countSyscallInstructions(o.elf) > 0).map((o) => o.name);
  if (found.length > 0) throw new UklError('link-failed', `musl-ukl: ${found.slice(0, 5).join(', ')} still execute the syscall instruction after the UKL transformation`);
}

/** `syscall` instructions in an object's code, by a linear sweep of its executable sections */
export function countSyscallInstructions(elf: ElfFile): number {
  let count = 0;
  const instruction = new Instruction();
  try {
    for (const section of elf.executableSections()) {
      const decoder = new Decoder(64, elf.sectionData(section), DecoderOptions.None);
      try {
        while (decoder.canDecode) {
          decoder.decodeOut(instruction);
          if (instruction.mnemonic === Mnemonic.Syscall) count++;
        }
      } finally {
        decoder.free();
      }
    }
  } finally {
    instruction.free();
  }
  return count;
}

/** a step of the musl build; a failure names the step and its first error line */
async function run(command: string, args: string[], cwd: string, onLine?: (line: string) => void): Promise<void> {
  let result: ToolResult;
  try {
    result = await runTool(command, args, { cwd, ...(onLine ? { onLine } : {}) });
  } catch (e) {
    throw new UklError('tool-missing', `musl-ukl: cannot run ${command}: ${(e as Error).message}`);
  }
  if (result.code === 0) return;
  const tail = `${result.stdout}\n${result.stderr}`.slice(-4000);
  const error = tail.split('\n').find((l) => /error/i.test(l)) ?? tail.trim().split('\n').pop() ?? '';
  throw new UklError('compile-failed', `musl-ukl: ${command} ${args[0] ?? ''} failed in ${resolve(cwd)}: ${error}`);
}
