import { UklTrimError } from '../util/errors.js';
/**
 * A writer for cpio "newc" archives (the format the kernel unpacks as an initramfs, see the
 * kernel's Documentation/driver-api/early-userspace/buffer-format.rst). Written here so that
 * building an initramfs needs no external tool and the output is byte-for-byte reproducible.
 *
 * Each entry: a 110-byte ASCII header ("070701" and 13 eight-digit hex fields), the NUL-terminated
 * name, padding to 4 bytes, the data, padding to 4 bytes. The archive ends with "TRAILER!!!".
 */

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array | string; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'char' | 'block'; path: string; major: number; minor: number; mode?: number };

export interface CpioOptions {
  /** modification time of every entry, seconds since the epoch (default 0: reproducible) */
  mtime?: number;
}

/** an entry the newc format cannot hold, or a tree that is not one */
export class CpioError extends UklTrimError<'bad-entry'> {
  static readonly codes = ['bad-entry'] as const;
}

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const MAX_U32 = 0xffff_ffff;

const DEFAULT_PERMISSIONS: Record<CpioEntry['kind'], number> = {
  dir: 0o755,
  file: 0o644,
  symlink: 0o777,
  char: 0o600,
  block: 0o600,
};

const TYPE_BITS: Record<CpioEntry['kind'], number> = {
  dir: S_IFDIR,
  file: S_IFREG,
  symlink: S_IFLNK,
  char: S_IFCHR,
  block: S_IFBLK,
};

/**
 * The archive path of an entry: relative (the kernel unpacks relative to "/"), no "." or ".."
 * components, no empty components.
 */
export function normalizeCpioPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) throw new CpioError('bad-entry', `cpio: empty path "${path}"`);
  if (parts.includes('..')) throw new CpioError('bad-entry', `cpio: path "${path}" must not contain ".."`);
  if (parts.some((p) => p.includes('\0'))) throw new CpioError('bad-entry', `cpio: path "${path}" contains a NUL byte`);
  return parts.join('/');
}

function hex8(value: number, what: string, path: string): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new CpioError('bad-entry', `cpio: ${what} ${value} of "${path}" does not fit the newc header`);
  }
  return value.toString(16).padStart(8, '0');
}

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

interface HeaderFields {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  fileSize: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

function record(fields: HeaderFields, data: Uint8Array): Buffer[] {
  const name = Buffer.from(`${fields.name}\0`, 'utf8');
  const at = fields.name;
  const header =
    MAGIC +
    hex8(fields.ino, 'inode', at) +
    hex8(fields.mode, 'mode', at) +
    hex8(0, 'uid', at) +
    hex8(0, 'gid', at) +
    hex8(fields.nlink, 'nlink', at) +
    hex8(fields.mtime, 'mtime', at) +
    hex8(fields.fileSize, 'size', at) +
    hex8(0, 'devmajor', at) +
    hex8(0, 'devminor', at) +
    hex8(fields.rdevMajor, 'rdevmajor', at) +
    hex8(fields.rdevMinor, 'rdevminor', at) +
    hex8(name.length, 'name size', at) +
    hex8(0, 'check', at);
  const head = Buffer.from(header, 'ascii');
  const parts: Buffer[] = [head, name, Buffer.alloc(pad4(head.length + name.length))];
  if (data.length > 0) parts.push(Buffer.from(data.buffer, data.byteOffset, data.length), Buffer.alloc(pad4(data.length)));
  return parts;
}

/**
 * Adds the missing parent directories (mode 0755) just before the first entry that needs them:
 * the kernel's unpacker creates nothing implicitly, so "dev/console" without "dev" would be lost.
 */
function withParents(entries: readonly CpioEntry[]): CpioEntry[] {
  const seen = new Map<string, CpioEntry['kind']>();
  const out: CpioEntry[] = [];
  for (const entry of entries) {
    const path = normalizeCpioPath(entry.path);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const kind = seen.get(parent);
      if (kind === undefined) {
        seen.set(parent, 'dir');
        out.push({ kind: 'dir', path: parent });
      } else if (kind !== 'dir') {
        throw new CpioError('bad-entry', `cpio: "${parent}" is a ${kind}, but "${path}" needs it as a directory`);
      }
    }
    if (seen.has(path)) throw new CpioError('bad-entry', `cpio: "${path}" appears twice`);
    seen.set(path, entry.kind);
    out.push({ ...entry, path });
  }
  return out;
}

/** The archive as bytes. Inode numbers count up from 1 in entry order, so equal input gives equal output. */
export function writeCpioNewc(entries: readonly CpioEntry[], options: CpioOptions = {}): Buffer {
  const mtime = options.mtime ?? 0;
  const parts: Buffer[] = [];
  let ino = 0;
  for (const entry of withParents(entries)) {
    ino += 1;
    const permissions = entry.kind === 'symlink' ? DEFAULT_PERMISSIONS.symlink : (entry.mode ?? DEFAULT_PERMISSIONS[entry.kind]);
    if (!Number.isInteger(permissions) || permissions < 0 || permissions > 0o7777) {
      throw new CpioError('bad-entry', `cpio: mode ${permissions.toString(8)} of "${entry.path}" is not a permission mode (0..07777)`);
    }
    const mode = TYPE_BITS[entry.kind] | permissions;
    let data: Uint8Array = new Uint8Array(0);
    if (entry.kind === 'file') data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    // a symlink's target is its data, without a terminating NUL
    if (entry.kind === 'symlink') {
      if (entry.target === '') throw new CpioError('bad-entry', `cpio: symlink "${entry.path}" has an empty target`);
      data = Buffer.from(entry.target, 'utf8');
    }
    const device = entry.kind === 'char' || entry.kind === 'block' ? entry : null;
    parts.push(
      ...record(
        {
          ino,
          mode,
          nlink: entry.kind === 'dir' ? 2 : 1,
          mtime,
          fileSize: data.length,
          rdevMajor: device?.major ?? 0,
          rdevMinor: device?.minor ?? 0,
          name: entry.path,
        },
        data,
      ),
    );
  }
  parts.push(...record({ ino: 0, mode: 0, nlink: 1, mtime: 0, fileSize: 0, rdevMajor: 0, rdevMinor: 0, name: TRAILER }, new Uint8Array(0)));
  return Buffer.concat(parts);
}
