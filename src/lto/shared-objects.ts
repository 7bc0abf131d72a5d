import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { UklTrimError } from '../util/errors.js';
import { ElfError, parseElf, type ElfFile } from './elf.js';

/**
 * The files a dynamically linked executable loads before `main`: its program interpreter
 * (PT_INTERP) and every DT_NEEDED library, transitively, found the way glibc's loader finds
 * them (DT_RUNPATH, else DT_RPATH, then the folders of /etc/ld.so.conf, then the system
 * folders). The analysis reads each of them; the initramfs holds each where the guest's loader,
 * which has no ld.so.cache, looks: a library from a system folder at the same path, any other
 * in the first system folder. Libraries opened later with dlopen are not among them.
 */

export interface SharedObject {
  /** as asked for: the DT_NEEDED name, or the interpreter's path */
  name: string;
  /** the file on this machine */
  host: string;
  /** where the loader in the guest opens it */
  guest: string;
  /** the program interpreter (ld.so) rather than a library */
  interpreter: boolean;
}

export type SharedObjectErrorCode = 'not-found' | 'unreadable';

export class SharedObjectError extends UklTrimError<SharedObjectErrorCode> {
  static readonly codes: readonly SharedObjectErrorCode[] = ['not-found', 'unreadable'];
}

/** glibc's built-in search folders on Debian amd64 (`ld.so --help`), in order */
export const SYSTEM_LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib'];
const LD_SO_CONF = '/etc/ld.so.conf';

/** The interpreter and the libraries of `exe`, in load order (breadth first), each once. */
export function sharedObjectsOf(exe: string, elf: ElfFile = readModule(exe, exe)): SharedObject[] {
  const objects: SharedObject[] = [];
  if (elf.interpreter !== null) {
    readModule(elf.interpreter, `${exe}'s program interpreter`);
    objects.push({ name: elf.interpreter, host: elf.interpreter, guest: elf.interpreter, interpreter: true });
  }
  const configured = ldSoConfDirs(LD_SO_CONF, new Set());
  const seen = new Set<string>();
  // the loader knows a file it has loaded by its soname: libc's DT_NEEDED ld-linux-x86-64.so.2 is the interpreter
  const files = new Set(objects.map((o) => realpathSync(o.host)));
  // DT_RPATH (not DT_RUNPATH) of the executable applies to every library it loads
  const exeInfo = elf.dynamicInfo();
  const inherited = exeInfo.runPath === null ? searchDirs(exeInfo.rPath, exe) : [];
  const queue: Array<{ path: string; elf: ElfFile }> = [{ path: exe, elf }];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const info = next.elf.dynamicInfo();
    const own = info.runPath !== null ? searchDirs(info.runPath, next.path) : [...searchDirs(info.rPath, next.path), ...inherited];
    for (const name of info.needed) {
      if (seen.has(name)) continue;
      seen.add(name);
      const found = findLibrary(name, next.path, own, configured);
      const file = realpathSync(found.object.host);
      if (files.has(file)) continue;
      files.add(file);
      objects.push(found.object);
      queue.push({ path: found.object.host, elf: found.elf });
    }
  }
  return objects;
}

/** a colon-separated run path's folders, $ORIGIN and the like expanded for the file that holds it */
function searchDirs(path: string | null, holder: string): string[] {
  return (path ?? '').split(':').filter((d) => d !== '').map((d) => expandOrigin(d, holder));
}

function findLibrary(name: string, neededBy: string, own: readonly string[], configured: readonly string[]): { object: SharedObject; elf: ElfFile } {
  if (name.includes('/')) {
    const elf = readModule(name, `${neededBy} needs ${name}:`);
    return { object: { name, host: name, guest: isAbsolute(name) ? name : `/${name}`, interpreter: false }, elf };
  }
  for (const dir of [...own, ...configured, ...SYSTEM_LIBRARY_DIRS]) {
    const host = join(dir, name);
    const elf = tryModule(host);
    if (elf === null) continue;
    const guest = SYSTEM_LIBRARY_DIRS.includes(dir) ? host : posix.join(SYSTEM_LIBRARY_DIRS[0] as string, name);
    return { object: { name, host, guest, interpreter: false }, elf };
  }
  throw new SharedObjectError('not-found', `${neededBy} needs the library ${name}, which is not on this machine (searched its run path, /etc/ld.so.conf and ${SYSTEM_LIBRARY_DIRS.join(', ')}): install it`);
}

/** $ORIGIN (the needing file's folder), $LIB and $PLATFORM as the loader expands them */
function expandOrigin(dir: string, neededBy: string): string {
  return dir
    .replace(/\$(ORIGIN|\{ORIGIN\})/g, dirname(neededBy))
    .replace(/\$(LIB|\{LIB\})/g, 'lib/x86_64-linux-gnu')
    .replace(/\$(PLATFORM|\{PLATFORM\})/g, 'x86_64');
}

/** an x86-64 ELF file at `path`, or null when there is none (the loader skips other files too) */
function tryModule(path: string): ElfFile | null {
  try {
    if (!statSync(path).isFile()) return null;
    return parseElf(readFileSync(path), path);
  } catch {
    return null;
  }
}

function readModule(path: string, what: string): ElfFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SharedObjectError('unreadable', `${what} ${path}: cannot read: ${(e as Error).message}`);
  }
  try {
    return parseElf(bytes, path);
  } catch (e) {
    if (e instanceof ElfError) throw new SharedObjectError('unreadable', `${what} ${e.message}`);
    throw e;
  }
}

/** the folders /etc/ld.so.conf names, following `include GLOB` (a `*` in the last part) */
function ldSoConfDirs(file: string, visiting: Set<string>): string[] {
  if (visiting.has(file)) return [];
  visiting.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '' || line.startsWith('hwcap ')) continue;
    const include = /^include\s+(.+)$/.exec(line);
    if (include === null) {
      dirs.push(line);
      continue;
    }
    for (const pattern of (include[1] as string).split(/\s+/)) {
      for (const path of globLastPart(isAbsolute(pattern) ? pattern : join(dirname(file), pattern))) dirs.push(...ldSoConfDirs(path, visiting));
    }
  }
  return dirs;
}

function globLastPart(pattern: string): string[] {
  const dir = dirname(pattern);
  const last = pattern.slice(dir.length + 1);
  if (!last.includes('*')) return [pattern];
  const re = new RegExp(`^${last.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  try {
    return readdirSync(dir).filter((n) => re.test(n)).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}
