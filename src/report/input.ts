import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BuildReportSchema } from '../build/image.js';
import { BootReportSchema, type BootReport } from '../build/qemu.js';
import { MinimizeReportSchema, type MinimizeReport } from '../minimize/minimize.js';
import { ReportError } from './errors.js';

/**
 * What a report is made from: the `--json` output of `ukl-trim APP … --json` (the minimizer's
 * report with the build and boot that followed), or a bare minimizer report.
 */

const MinimizeOutputSchema = z.object({
  report: MinimizeReportSchema,
  build: BuildReportSchema.nullable().optional(),
  boot: BootReportSchema.nullable().optional(),
});

export interface MinimizeOutput {
  minimize: MinimizeReport;
  /** the build folder and time of the kernel the output says was built */
  build: { buildDir: string; seconds: number; reused: boolean } | null;
  boot: BootReport | null;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'not a minimizer report';
}

export function parseMinimizeOutput(text: string, name: string): MinimizeOutput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ReportError('bad-input', `${name}: not JSON (${(e as Error).message})`);
  }
  const whole = MinimizeOutputSchema.safeParse(json);
  if (whole.success) {
    const b = whole.data.build;
    return { minimize: whole.data.report, build: b ? { buildDir: b.buildDir, seconds: b.buildSeconds, reused: b.reused } : null, boot: whole.data.boot ?? null };
  }
  const bare = MinimizeReportSchema.safeParse(json);
  if (bare.success) return { minimize: bare.data, build: null, boot: null };
  throw new ReportError('bad-input', `${name}: not the --json output of 'ukl-trim APP' (${firstIssue(whole.error)})`);
}

export function readMinimizeOutput(path: string): MinimizeOutput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReportError('bad-input', `${path}: ${(e as Error).message}`);
  }
  return parseMinimizeOutput(text, path);
}
