import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isArchive, parseArchive } from './archive.js';
import { isElf, isLlvmBitcode, parseElf, SHN_UNDEF } from './elf.js';
import { UklTrimError } from '../util/errors.js';

/**
 * Turning what the user compiled into the static executable the analysis reads. The static
 * linker itself decides which archive members, weak definitions and IFUNC resolvers end up in
 * the program, so the analysis sees exactly the code that would run; LTO objects (GCC slim or
 * fat, clang bitcode) go through the compiler driver's LTO link for the same reason.
 */
export type LinkErrorCode = 'missing-input' | 'missing-tool' | 'link-failed' | 'bad-libc';

export class LinkError extends UklTrimError<LinkErrorCode> {
  static readonly codes: readonly LinkErrorCode[] = ['missing-input', 'missing-tool', 'link-failed', 'bad-libc'];
}

export interface LinkOptions {
  /** glibc (the system's), musl (Debian's musl-tools), or the path of a libc.a (crt files beside it) */
  libc?: string;
  /** where the executable goes (default: a fresh temporary directory) */
  out?: string;
}

export interface LinkedApp {
  executable: string;
  /** false when the single input already was an executable */
  linked: boolean;
  /** the single input is a dynamically linked executable: it is analysed with its libraries */
  dynamic?: boolean;
  /** the driver command that linked it */
  command: string[];
  /**
   * set when the input was UKL's `UKL.a` (every symbol prefixed `ukl_`): the kernel-side names
   * its code calls (`ukl_entry_SYSCALL_64`, `ukl_bp_<name>`, kept kernel functions), which the
   * analysis link defines as stubs so that calls to them stay visible as call edges
   */
  ukl?: { kernelSymbols: string[] };
}

const MUSL_DIR = '/usr/lib/x86_64-linux-musl';

type InputKind = 'static-exec' | 'dynamic-exec' | 'shared-library' | 'object' | 'bitcode' | 'archive' | 'ukl-archive' | 'other';

/** UKL's symbol prefix (objcopy --prefix-symbols=ukl_ in UKL's build) */
const UKL_PREFIX = 'ukl_';
/** where UKL's kernel enters the app, and the app's main, after prefixing */
const UKL_ENTRY_NAMES = new Set(['ukl__start', 'ukl_main']);
/** names the static linker's default script defines itself (PROVIDE): no stub for them */
const LINKER_DEFINED = /^__(preinit|init|fini)_array_(start|end)$|^__rela_iplt_(start|end)$/;

function kindOf(path: string): InputKind {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LinkError('missing-input', `${path}: cannot read: ${(e as Error).message}`);
  }
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 8));
  if (head === '!<arch>\n' || head === '!<thin>\n') return isUklArchive(bytes, path) ? 'ukl-archive' : 'archive';
  if (isLlvmBitcode(bytes)) return 'bitcode';
  if (isElf(bytes)) {
    const elf = parseElf(bytes, path);
    if (elf.type === 'REL') return 'object';
    // a shared library: ET_DYN with neither an interpreter nor an entry point (a static PIE has one)
    if (elf.type === 'DYN' && elf.interpreter === null && elf.entry === 0) return 'shared-library';
    if (elf.type === 'EXEC' || elf.type === 'DYN') return elf.isStatic ? 'static-exec' : 'dynamic-exec';
  }
  return 'other';
}

function toolExists(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return !r.error;
}

/** an archive whose members define `ukl__start` or `ukl_main`: UKL's prefixed app archive */
export function isUklArchive(bytes: Uint8Array, path: string): boolean {
  if (!isArchive(bytes)) return false;
  for (const member of parseArchive(bytes, path).members()) {
    if (!isElf(member.data)) continue;
    const elf = parseElf(member.data, `${path}(${member.name})`);
    if (elf.symbols().some((s) => s.sectionIndex !== SHN_UNDEF && s.bind !== 'LOCAL' && UKL_ENTRY_NAMES.has(s.name))) return true;
  }
  return false;
}

/**
 * UKL.a already holds the app, its libc and libgcc (`ld -r`), but calls kernel symbols: UKL's
 * syscall entry, bypass syscalls, kept kernel functions. Link it into a static executable whose
 * entry is `ukl__start`, with a stub function for each such symbol, so the analysis sees the
 * calls as edges to named functions (the number in rax, the syscall in the bypass name).
 */
function linkUklArchive(path: string, out: string): LinkedApp {
  const { command, stubs } = linkWithStubs(path, out, `${UKL_PREFIX}_start`, 'UKL archive');
  return { executable: out, linked: true, command, ukl: { kernelSymbols: stubs } };
}

/**
 * A static executable from one archive or relocatable object whose strong undefined symbols
 * (other than those the linker script defines) become stub functions (a bare `ret`: the kernel
 * side returns to its caller, so code after the call stays reachable): calls to them stay
 * edges to named functions. Weak undefined symbols resolve to 0, as in any static link.
 */
export function linkWithStubs(path: string, out: string, entry: string | undefined, what: string): { command: string[]; stubs: string[] } {
  const bytes = readFileSync(path);
  const strongUndefined = new Set<string>();
  const defined = new Set<string>();
  const objects = isArchive(bytes) ? [...parseArchive(bytes, path).members()].map((m) => ({ data: m.data, name: `${path}(${m.name})` })) : [{ data: bytes, name: path }];
  for (const object of objects) {
    if (!isElf(object.data)) continue;
    const elf = parseElf(object.data, object.name);
    for (const symbol of elf.symbols()) {
      if (symbol.index === 0 || symbol.bind === 'LOCAL' || symbol.name === '') continue;
      if (symbol.sectionIndex !== SHN_UNDEF) defined.add(symbol.name);
      else if (symbol.bind === 'GLOBAL') strongUndefined.add(symbol.name);
    }
  }
  const stubs = [...strongUndefined].filter((name) => !defined.has(name) && !LINKER_DEFINED.test(name)).sort();
  const stubDir = mkdtempSync(join(tmpdir(), 'ukl-trim-stubs-'));
  try {
    const stubSource = join(stubDir, 'stubs.s');
    const quoted = (name: string): string => `"${name.replace(/["\\]/g, '\\$&')}"`;
    writeFileSync(
      stubSource,
      ['\t.section .text.ukl_trim_stubs,"ax",@progbits', ...stubs.flatMap((name) => [`\t.globl ${quoted(name)}`, `\t.type ${quoted(name)},@function`, `${quoted(name)}:`, '\tret', `\t.size ${quoted(name)},1`]), ''].join('\n'),
    );
    const stubObject = join(stubDir, 'stubs.o');
    const assemble = spawnSync('as', ['--64', '-o', stubObject, stubSource], { encoding: 'utf8' });
    if (assemble.error !== undefined) throw new LinkError('missing-tool', `as (binutils) is needed to analyse ${path} but cannot run: ${assemble.error.message}`);
    if (assemble.status !== 0) throw new LinkError('link-failed', `${path}: assembling the stubs for its undefined symbols failed: ${(assemble.stderr ?? '').split('\n')[0]}`);
    // without an entry ld starts at the text section's beginning (a warning only)
    const args = ['-static', ...(entry !== undefined ? ['-e', entry] : []), '-o', out, '--whole-archive', resolve(path), '--no-whole-archive', stubObject];
    const link = spawnSync('ld', args, { encoding: 'utf8' });
    if (link.error !== undefined) throw new LinkError('missing-tool', `ld (binutils) is needed to analyse ${path} but cannot run: ${link.error.message}`);
    if (link.status !== 0) {
      const first = (link.stderr ?? '').split('\n').filter((l) => /error|undefined reference|multiple definition/i.test(l)).slice(0, 3);
      throw new LinkError('link-failed', `linking ${what} ${path} for analysis failed: ${first.join('; ') || (link.stderr ?? '').trim().split('\n')[0] || `exit ${link.status}`}`);
    }
    return { command: ['ld', ...args], stubs };
  } finally {
    rmSync(stubDir, { recursive: true, force: true });
  }
}

/** Link the inputs into one static executable, unless the single input already is one. */
export function linkForAnalysis(inputs: readonly string[], opts: LinkOptions = {}): LinkedApp {
  if (inputs.length === 0) throw new LinkError('missing-input', 'no application input');
  for (const i of inputs) if (!existsSync(i)) throw new LinkError('missing-input', `${i}: no such file`);
  const kinds = inputs.map(kindOf);
  if (inputs.length === 1 && kinds[0] === 'static-exec') return { executable: resolve(inputs[0] as string), linked: false, command: [] };
  if (inputs.length === 1 && kinds[0] === 'dynamic-exec') return { executable: resolve(inputs[0] as string), linked: false, command: [], dynamic: true };
  const out = opts.out ?? join(mkdtempSync(join(tmpdir(), 'ukl-trim-app-')), basename(inputs[0] as string).replace(/\.[^.]*$/, '') || 'app');
  if (kinds.includes('ukl-archive')) {
    // it carries its libc; anything else would be a second copy of the runtime
    if (inputs.length > 1) throw new LinkError('link-failed', `${inputs[kinds.indexOf('ukl-archive')]}: a UKL archive (UKL.a) already holds the whole app and its libc: analyse it alone`);
    return linkUklArchive(inputs[0] as string, out);
  }
  kinds.forEach((k, i) => {
    if (k === 'static-exec' || k === 'dynamic-exec') throw new LinkError('link-failed', `${inputs[i]}: an executable cannot be linked with other inputs${k === 'dynamic-exec' ? ' (and this one is dynamically linked: relink it with -static)' : ''}`);
    if (k === 'shared-library') throw new LinkError('link-failed', `${inputs[i]}: a shared library: give the program that loads it (its libraries are analysed with it)`);
    if (k === 'other') throw new LinkError('link-failed', `${inputs[i]}: neither an ELF object, an archive nor LLVM bitcode`);
  });
  const bitcode = kinds.includes('bitcode');
  const driver = bitcode ? 'clang' : 'gcc';
  if (!toolExists(driver)) {
    throw new LinkError('missing-tool', `${driver} is needed to link ${bitcode ? 'LLVM bitcode (clang -flto)' : 'the objects'} but is not installed (Debian: apt-get install ${driver === 'clang' ? 'clang llvm' : 'gcc'})`);
  }
  const libc = opts.libc ?? 'glibc';
  const abs = inputs.map((i) => resolve(i));
  let args: string[];
  if (libc === 'glibc') {
    args = ['-static', ...(bitcode ? ['-flto'] : []), '-o', out, ...abs];
  } else {
    const libcA = libc === 'musl' ? join(MUSL_DIR, 'libc.a') : resolve(libc);
    if (!existsSync(libcA) || !statSync(libcA).isFile()) {
      throw new LinkError('bad-libc', libc === 'musl' ? `musl's libc.a is not at ${libcA} (Debian: apt-get install musl-tools)` : `--libc ${libc}: no such libc.a`);
    }
    const dir = dirname(libcA);
    const crt = (name: string): string => {
      const p = join(dir, name);
      if (!existsSync(p)) throw new LinkError('bad-libc', `${name} is missing beside ${libcA}: a static link needs the libc's start files`);
      return p;
    };
    const libgcc = spawnSync('gcc', ['-print-libgcc-file-name'], { encoding: 'utf8' }).stdout.trim();
    const libgccEh = libgcc ? join(dirname(libgcc), 'libgcc_eh.a') : '';
    args = [
      '-static',
      '-nostdlib',
      ...(bitcode ? ['-flto'] : []),
      '-o',
      out,
      crt('crt1.o'),
      crt('crti.o'),
      ...abs,
      '-Wl,--start-group',
      libcA,
      ...(libgcc ? [libgcc] : []),
      ...(libgccEh && existsSync(libgccEh) ? [libgccEh] : []),
      '-Wl,--end-group',
      crt('crtn.o'),
    ];
  }
  const r = spawnSync(driver, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    const first = (r.stderr || r.error?.message || '').split('\n').filter((l) => /error|undefined reference|cannot find/i.test(l)).slice(0, 3);
    throw new LinkError('link-failed', `linking ${inputs.join(' ')} with ${libc} failed: ${first.join('; ') || (r.stderr ?? '').trim().split('\n')[0] || `exit ${r.status}`}`);
  }
  return { executable: out, linked: true, command: [driver, ...args] };
}
