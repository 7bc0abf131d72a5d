import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type WriteOutcome = 'written' | 'unchanged';

/**
 * Write a file atomically (temp file + rename). With `keepOld`, an existing different file is
 * kept as `<path>.old`, as conf keeps `.config.old`; an identical file is left untouched.
 */
export function writeFileAtomic(path: string, text: string, opts: { keepOld?: boolean } = {}): WriteOutcome {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  if (existsSync(path)) {
    try {
      if (readFileSync(path, 'utf8') === text) return 'unchanged';
    } catch {
      // unreadable: overwrite it
    }
  }
  writeBytesAtomic(path, text, opts);
  return 'written';
}

/** Temp file in the same folder, then rename (keeping an existing file as `.old` if asked). */
export function writeBytesAtomic(path: string, data: string | Uint8Array, opts: { keepOld?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    if (opts.keepOld && existsSync(path)) renameSync(path, `${path}.old`);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean
    }
    throw e;
  }
}
