import { UklTrimError } from '../util/errors.js';

/** What goes wrong making a UKL app archive or its libc: one line for the user, a code for callers. */
export type UklErrorCode = 'no-ukl-support' | 'compile-failed' | 'link-failed' | 'tool-missing' | 'bad-input';

export class UklError extends UklTrimError<UklErrorCode> {
  static readonly codes: readonly UklErrorCode[] = ['no-ukl-support', 'compile-failed', 'link-failed', 'tool-missing', 'bad-input'];
}
