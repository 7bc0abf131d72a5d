import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { ElfFile } from '../lto/elf.js';
import { writeBytesAtomic } from '../util/fs.js';
import { FunctionIndex, type CodeFunction } from './function-index.js';
import type { AddressFacts } from './graph.js';
import type { CodeScan } from './syscall-sites.js';

/**
 * The code scan and address facts of a shared library, kept between runs: disassembling a file
 * and following its registers is ~90% of analysing it (libc.so.6 about 1.5 s, libcrypto.so.3
 * several seconds), and the system's libraries stay the same from one trim of a program to the
 * next. An entry is keyed by the file's bytes, what the scan is asked, and this analysis code
 * itself (a hash of its files and of iced-x86's version), so a changed library or another
 * ukl-trim never reads an old entry. The program is not cached: it changes with every edit.
 */

export interface ScanWithFacts {
  scan: CodeScan;
  facts: AddressFacts;
}

interface StoredScan {
  scan: Omit<CodeScan, 'functions'>;
  functions: CodeFunction[];
  facts: AddressFacts;
}

/** entries kept: a program with all its libraries needs a few, a machine trimming many apps a few dozen */
const KEEP = 64;

export function cachedScan(elf: ElfFile, bytes: Uint8Array, question: string, dir: string, make: () => ScanWithFacts): ScanWithFacts {
  const file = join(dir, `${createHash('sha256').update(codeFingerprint()).update('\0').update(question).update('\0').update(bytes).digest('hex').slice(0, 40)}.v8`);
  const stored = readEntry(file);
  if (stored !== null) return { scan: { ...stored.scan, functions: FunctionIndex.restore(elf, stored.functions) }, facts: stored.facts };
  const made = make();
  const { functions, ...scan } = made.scan;
  try {
    writeBytesAtomic(file, serialize({ scan, functions: functions.all(), facts: made.facts } satisfies StoredScan));
    evictOldEntries(dir);
  } catch {
    // a cache that cannot be written costs the next run time, nothing else
  }
  return made;
}

function readEntry(file: string): StoredScan | null {
  if (!existsSync(file)) return null;
  try {
    const stored = deserialize(readFileSync(file)) as StoredScan;
    if (!Array.isArray(stored.functions) || !Array.isArray(stored.scan?.edges) || !(stored.facts?.addressTaken instanceof Set)) return null;
    const now = new Date();
    utimesSync(file, now, now);
    return stored;
  } catch {
    // unreadable or cut short: made again and overwritten
    return null;
  }
}

function evictOldEntries(dir: string): void {
  const entries = readdirSync(dir)
    .filter((f) => f.endsWith('.v8'))
    .map((f) => ({ path: join(dir, f), at: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of entries.slice(KEEP)) unlinkSync(old.path);
}

let fingerprint: string | undefined;

/** this folder's code, the ELF reader and the disassembler's version: what a scan's result depends on */
function codeFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const here = dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  for (const dir of [here, join(here, '..', 'lto')]) {
    for (const name of readdirSync(dir).sort()) {
      if (!/\.(js|ts)$/.test(name)) continue;
      h.update(name).update(readFileSync(join(dir, name)));
    }
  }
  const require = createRequire(import.meta.url);
  h.update((require('iced-x86/package.json') as { version: string }).version);
  fingerprint = h.digest('hex');
  return fingerprint;
}
