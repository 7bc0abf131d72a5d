import { existsSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { BootReport } from '../build/qemu.js';
import type { MinimizeReport } from '../minimize/minimize.js';
import { writeFileAtomic } from '../util/fs.js';
import { resolveBaseline, type BaselineChoice } from './baseline.js';
import type { ReportData } from './data.js';
import { ReportError } from './errors.js';
import { renderReportHtml } from './render.js';
import { collectKernelSizes } from './sizes.js';

/** The report of one trimmed kernel: its data collected from the build folders, and the page written. */

export interface KernelReportOptions {
  minimize: MinimizeReport;
  /** the trimmed kernel's build folder (make O=) */
  buildDir: string;
  /** the tree a baseline is built from (default: the build folder's `source` link) */
  tree?: string;
  /** default: tinyconfig + the boot profile the minimizer used */
  baseline?: BaselineChoice;
  build?: { seconds: number; reused: boolean } | null;
  boot?: BootReport | null;
  title?: string;
  onPhase?: (phase: string) => void;
  onBuildProgress?: (compiled: number, expected: number | null) => void;
}

/** kbuild leaves `source` → the tree in every out-of-tree build folder */
function treeOf(buildDir: string): string | null {
  const link = join(buildDir, 'source');
  return existsSync(link) ? realpathSync(link) : null;
}

function titleOf(report: MinimizeReport): string {
  return `ukl-trim report${report.app ? `: ${basename(report.app)}` : ''}`;
}

export async function collectReportData(opts: KernelReportOptions): Promise<ReportData> {
  const buildDir = resolve(opts.buildDir);
  if (!existsSync(buildDir)) throw new ReportError('bad-input', `${opts.buildDir}: no such build folder`);
  const m = opts.minimize;
  // the trimmed kernel first: a folder that is no build fails before a baseline is built
  opts.onPhase?.('reading symbol sizes');
  const trimmed = await collectKernelSizes(buildDir);
  const baseline = await resolveBaseline({
    choice: opts.baseline ?? { kind: 'default' },
    tree: opts.tree ?? treeOf(buildDir),
    arch: m.arch,
    profileExpressions: m.requirements.filter((r) => r.kind === 'profile').map((r) => r.expression),
    profile: m.profile,
    ...(opts.onPhase ? { onPhase: opts.onPhase } : {}),
    ...(opts.onBuildProgress ? { onBuildProgress: opts.onBuildProgress } : {}),
  });
  if (baseline) opts.onPhase?.("reading the baseline's symbol sizes");
  const base = baseline ? await collectKernelSizes(baseline.buildDir) : null;
  return {
    title: opts.title ?? titleOf(m),
    generatedAt: new Date().toISOString(),
    minimize: m,
    trimmed: { label: 'trimmed', sizes: trimmed },
    baseline: baseline && base ? { label: 'baseline', description: baseline.description, sizes: base, unmet: baseline.unmet } : null,
    build: opts.build ?? null,
    boot: opts.boot ?? null,
  };
}

/** Collect, render and write the page atomically. */
export async function writeKernelReport(opts: KernelReportOptions & { out: string }): Promise<{ path: string; data: ReportData; bytes: number }> {
  const data = await collectReportData(opts);
  const page = renderReportHtml(data);
  const path = resolve(opts.out);
  writeFileAtomic(path, page);
  return { path, data, bytes: Buffer.byteLength(page) };
}
