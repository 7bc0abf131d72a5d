import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isLlvmBitcode, parseElf } from './elf.js';

/**
 * Turning what the user compiled into the static executable the analysis reads. The static
 * linker itself decides which archive members, weak definitions and IFUNC resolvers end up in
 * the program, so the analysis sees exactly the code that would run; LTO objects (GCC slim or
 * fat, clang bitcode) go through the compiler driver's LTO link for the same reason.
 */
export type LinkErrorCode = 'missing-input' | 'missing-tool' | 'link-failed' | 'bad-libc';

export class LinkError extends Error {
  constructor(
    readonly code: LinkErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

export interface LinkOptions {
  /** glibc (the system's), musl (Debian's musl-tools), or the path of a libc.a (crt files beside it) */
  libc?: string;
  /** where the executable goes (default: a fresh temporary directory) */
  out?: string;
}

export interface LinkedApp {
  executable: string;
  /** false when the single input already was a static executable */
  linked: boolean;
  /** the driver command that linked it */
  command: string[];
}

const MUSL_DIR = '/usr/lib/x86_64-linux-musl';

type InputKind = 'static-exec' | 'dynamic-exec' | 'object' | 'bitcode' | 'archive' | 'other';

function kindOf(path: string): InputKind {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LinkError('missing-input', `${path}: cannot read: ${(e as Error).message}`);
  }
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 8));
  if (head === '!<arch>\n' || head === '!<thin>\n') return 'archive';
  if (isLlvmBitcode(bytes)) return 'bitcode';
  if (head.startsWith('\x7fELF')) {
    const elf = parseElf(bytes, path);
    if (elf.type === 'REL') return 'object';
    if (elf.type === 'EXEC' || elf.type === 'DYN') return elf.isStatic ? 'static-exec' : 'dynamic-exec';
  }
  return 'other';
}

function toolExists(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return !r.error;
}

/** Link the inputs into one static executable, unless the single input already is one. */
export function linkForAnalysis(inputs: readonly string[], opts: LinkOptions = {}): LinkedApp {
  if (inputs.length === 0) throw new LinkError('missing-input', 'no application input');
  for (const i of inputs) if (!existsSync(i)) throw new LinkError('missing-input', `${i}: no such file`);
  const kinds = inputs.map(kindOf);
  if (inputs.length === 1 && kinds[0] === 'static-exec') return { executable: resolve(inputs[0] as string), linked: false, command: [] };
  kinds.forEach((k, i) => {
    if (k === 'static-exec' || k === 'dynamic-exec') throw new LinkError('link-failed', `${inputs[i]}: an executable cannot be linked with other inputs${k === 'dynamic-exec' ? ' (and this one is dynamically linked: relink it with -static)' : ''}`);
    if (k === 'other') throw new LinkError('link-failed', `${inputs[i]}: neither an ELF object, an archive nor LLVM bitcode`);
  });
  const bitcode = kinds.includes('bitcode');
  const driver = bitcode ? 'clang' : 'gcc';
  if (!toolExists(driver)) {
    throw new LinkError('missing-tool', `${driver} is needed to link ${bitcode ? 'LLVM bitcode (clang -flto)' : 'the objects'} but is not installed (Debian: apt-get install ${driver === 'clang' ? 'clang llvm' : 'gcc'})`);
  }
  const out = opts.out ?? join(mkdtempSync(join(tmpdir(), 'ukl-trim-app-')), basename(inputs[0] as string).replace(/\.[^.]*$/, '') || 'app');
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
