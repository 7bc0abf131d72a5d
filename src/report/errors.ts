import { UklTrimError } from '../util/errors.js';

/** What stops a report: the input (not a build folder, an unreadable config, nm refusing a file) or, exit 1, a baseline that does not build. */
export type ReportErrorCode = 'bad-input' | 'tool-missing' | 'tool-failed' | 'baseline-build-failed';

export class ReportError extends UklTrimError<ReportErrorCode> {
  static readonly codes: readonly ReportErrorCode[] = ['bad-input', 'tool-missing', 'tool-failed', 'baseline-build-failed'];
  override get internal(): boolean {
    return this.code === 'baseline-build-failed';
  }
}
