/** What stops a report: the user's input (bad-input: exit 2) or the machine's (a tool, a baseline build: exit 1). */
export type ReportErrorCode = 'bad-input' | 'tool-missing' | 'tool-failed' | 'baseline-build-failed';

export class ReportError extends Error {
  constructor(
    readonly code: ReportErrorCode,
    message: string,
  ) {
    // one line: tool output may carry newlines
    super(message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim());
    this.name = 'ReportError';
  }

  /** a fault of this machine, not of the input */
  get internal(): boolean {
    return this.code !== 'bad-input';
  }
}
