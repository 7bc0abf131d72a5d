import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { basename, join, posix } from 'node:path';
import type { CpioEntry } from './cpio.js';
import { InitramfsError } from './initramfs-error.js';

/**
 * Host files and folders copied into the initramfs (`--include HOST[:GUEST]`): a server's config
 * file, a document root. Folders are copied whole, with each entry's permission bits; symlinks
 * stay symlinks (their target as written, resolved in the guest).
 */

export interface InitramfsInclude {
  /** a file or folder on this machine */
  host: string;
  /** where it goes in the guest: an absolute path below / */
  guest: string;
}

/**
 * `HOST[:GUEST]`: a spec naming an existing path is all HOST (paths may hold colons); else GUEST
 * follows the last colon. Without GUEST the file or folder lands at /its-name.
 */
export function parseIncludeSpec(spec: string): InitramfsInclude {
  const colon = spec.lastIndexOf(':');
  if (colon < 0 || exists(spec)) return { host: spec, guest: `/${basename(spec.replace(/\/+$/, ''))}` };
  return { host: spec.slice(0, colon), guest: spec.slice(colon + 1) };
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** the archive path (relative, normalised) of a GUEST, or an InitramfsError('bad-include') saying what is wrong with it */
export function guestArchivePath(include: InitramfsInclude): string {
  const { guest } = include;
  const what = `include ${include.host}:${guest}`;
  if (!guest.startsWith('/')) throw new InitramfsError('bad-include', `${what}: GUEST "${guest}" is not an absolute path`);
  const parts = guest.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new InitramfsError('bad-include', `${what}: GUEST "${guest}" must not contain ".."`);
  if (parts.length === 0) throw new InitramfsError('bad-include', `${what}: GUEST must name a path below /, not / itself`);
  if (/[\0\n]/.test(guest)) throw new InitramfsError('bad-include', `${what}: GUEST holds a NUL or newline`);
  return parts.join('/');
}

/**
 * The archive entries of one include: the file, or the folder and everything under it (sorted, so
 * the archive does not depend on the order the file system lists them in).
 */
export function includeEntries(include: InitramfsInclude): CpioEntry[] {
  const path = guestArchivePath(include);
  let st: Stats;
  try {
    st = lstatSync(include.host);
  } catch {
    throw new InitramfsError('bad-include', `include ${include.host}:${include.guest}: HOST ${include.host}: no such file or directory`);
  }
  const out: CpioEntry[] = [];
  walk(include.host, st, path, out, include);
  return out;
}

function walk(host: string, st: Stats, path: string, out: CpioEntry[], include: InitramfsInclude): void {
  const mode = st.mode & 0o7777;
  if (st.isSymbolicLink()) {
    out.push({ kind: 'symlink', path, target: readlinkSync(host) });
  } else if (st.isFile()) {
    out.push({ kind: 'file', path, data: readFileSync(host), mode });
  } else if (st.isDirectory()) {
    out.push({ kind: 'dir', path, mode });
    for (const name of readdirSync(host).sort()) walk(join(host, name), lstatSync(join(host, name)), posix.join(path, name), out, include);
  } else {
    // devices, fifos and sockets mean nothing copied out of this machine
    throw new InitramfsError('bad-include', `include ${include.host}:${include.guest}: ${host} is not a file, folder or symlink`);
  }
}
