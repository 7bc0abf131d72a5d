import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { isArchive } from '../lto/archive.js';
import { isUklArchive, LinkError } from '../lto/link.js';
import { buildUklArchive, type BuildUklArchiveResult } from '../lto/ukl-archive.js';
import { analyzeApplication, type AnalysisReport, type AnalyzeOptions } from './analyze.js';

/**
 * A UKL app analysed as the kernel will run it: the sources and objects are first made into
 * UKL.a (UKL's flags, `ld -r` with the chosen libc, the `ukl_` prefix), and that archive, the
 * very file the kernel links, is what the analysis reads. A ready UKL.a is analysed as it is.
 */

export interface UklAppOptions extends AnalyzeOptions {
  /** the libc UKL.a is linked with: glibc, musl, none (a libc-free app) or a libc.a; default glibc */
  libc?: string;
  /** where UKL.a is written (default: a fresh temporary directory) */
  archiveOut?: string;
  /** extra compiler flags for the sources */
  cflags?: string[];
}

export interface UklAppAnalysis extends AnalysisReport {
  linkedExecutable: string;
  /** the UKL.a that was analysed, and that the kernel build links */
  archive: string;
  /** what building UKL.a found (null when a ready UKL.a was given) */
  built: BuildUklArchiveResult | null;
}

const SOURCE_EXTENSIONS = new Set(['.c', '.S', '.s']);

/** C and assembler sources by their name; everything else is an object or an archive */
export function isSourceFile(path: string): boolean {
  return SOURCE_EXTENSIONS.has(extname(path));
}

export async function analyzeUklApplication(inputs: readonly string[], opts: UklAppOptions = {}): Promise<UklAppAnalysis> {
  if (inputs.length === 0) throw new LinkError('missing-input', 'no application input');
  const given = inputs.length === 1 && !isSourceFile(inputs[0] as string) ? readyUklArchive(inputs[0] as string) : undefined;
  let archive: string;
  let built: BuildUklArchiveResult | null = null;
  if (given !== undefined) {
    archive = given;
  } else {
    const sources = inputs.filter(isSourceFile);
    const rest = inputs.filter((f) => !isSourceFile(f));
    const archives = rest.filter(isPlainArchive);
    const objects = rest.filter((f) => !archives.includes(f));
    archive = resolve(opts.archiveOut ?? join(mkdtempSync(join(tmpdir(), 'ukl-trim-ukl-')), 'UKL.a'));
    built = await buildUklArchive({
      sources,
      objects,
      extraArchives: archives,
      out: archive,
      ...(opts.libc !== undefined ? { libc: opts.libc } : {}),
      ...(opts.cflags !== undefined ? { cflags: opts.cflags } : {}),
    });
  }
  const report = analyzeApplication([archive], { ...(opts.kernelTree !== undefined ? { kernelTree: opts.kernelTree } : {}), ...(opts.unistdHeader !== undefined ? { unistdHeader: opts.unistdHeader } : {}) });
  return { ...report, input: inputs.join(' '), archive, built };
}

/** the path when the file is a UKL.a (defines ukl__start or ukl_main), else undefined */
function readyUklArchive(path: string): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LinkError('missing-input', `${path}: cannot read: ${(e as Error).message}`);
  }
  return isUklArchive(bytes, path) ? resolve(path) : undefined;
}

function isPlainArchive(path: string): boolean {
  try {
    return isArchive(readFileSync(path));
  } catch {
    return false;
  }
}
