import { z } from 'zod';
import { BootReportSchema } from '../build/qemu.js';
import { MinimizeReportSchema } from '../minimize/minimize.js';
import { KernelSizesSchema } from './sizes.js';

/** Everything the HTML report shows: the page is a pure function of this. */
export const ReportDataSchema = z.object({
  title: z.string(),
  /** when the data was collected (ISO 8601) */
  generatedAt: z.string(),
  minimize: MinimizeReportSchema,
  trimmed: z.object({ label: z.string(), sizes: KernelSizesSchema }),
  baseline: z
    .object({
      label: z.string(),
      /** how it was made: `tinyconfig + boot profile qemu-x86_64`, a config file, a build folder */
      description: z.string(),
      sizes: KernelSizesSchema,
      /** profile requirements the baseline config does not satisfy */
      unmet: z.array(z.string()),
    })
    .nullable(),
  build: z.object({ seconds: z.number(), reused: z.boolean() }).nullable(),
  boot: BootReportSchema.nullable(),
});
export type ReportData = z.infer<typeof ReportDataSchema>;
