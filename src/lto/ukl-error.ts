/** What goes wrong making a UKL app archive or its libc: one line for the user, a code for callers. */
export type UklErrorCode = 'no-ukl-support' | 'compile-failed' | 'link-failed' | 'tool-missing' | 'bad-input';

export class UklError extends Error {
  constructor(
    readonly code: UklErrorCode,
    message: string,
  ) {
    // one line: tool output may carry newlines or control characters
    super(message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim());
    this.name = 'UklError';
  }
}
