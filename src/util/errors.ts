/**
 * The one error model of ukl-trim. Every failure a caller can act on is a UklTrimError: a code
 * (stable, for programs), a one-line message (for people), where it happened when known, and the
 * chain of reasons that led to it. The CLI maps them all in one place (exitCodeOf).
 */

/** Where an error points: a line in a text file, or a byte offset in a binary one. */
export interface ErrorLocation {
  file?: string;
  /** 1-based */
  line?: number;
  /** 1-based; 0 or absent when unknown */
  column?: number;
  /** byte offset in a binary file (ELF, archive, cpio) */
  offset?: number;
}

export interface ErrorDetails {
  location?: ErrorLocation;
  /** why it happened, outermost first: a dependency chain, the requirements in conflict */
  chain?: readonly string[];
  /** the lower-level error this one reports */
  cause?: unknown;
}

export abstract class UklTrimError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly location: ErrorLocation | undefined;
  readonly chain: readonly string[];

  constructor(code: Code, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.location = details.location;
    this.chain = details.chain ?? [];
  }

  /**
   * A fault of ukl-trim rather than of what it was given (a kernel build that fails on a config it
   * made, the solver giving up): exit 1. Everything else, a missing tool included, is the user's
   * to fix: exit 2. Subclasses name their internal codes.
   */
  get internal(): boolean {
    return false;
  }

  /** the one line the CLI prints (messages quote tool output and names read from corrupt files) */
  format(): string {
    return oneLine(this.message);
  }
}

/** control characters and line breaks become single spaces */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

export function isUklTrimError(e: unknown): e is UklTrimError {
  return e instanceof UklTrimError;
}

/** bad input the user can fix: a typed error that is not internal */
export function isUserError(e: unknown): e is UklTrimError {
  return e instanceof UklTrimError && !e.internal;
}

/** 2 for the user's input, 1 for internal faults and anything untyped */
export function exitCodeOf(e: unknown): 1 | 2 {
  return isUserError(e) ? 2 : 1;
}

/** `file: message (at offset N)`: what is wrong in a binary file, and where */
export function atOffset(message: string, location: { file?: string | undefined; offset: number }): { message: string; details: ErrorDetails } {
  const text = `${message} (at offset ${location.offset})`;
  return {
    message: location.file === undefined ? text : `${location.file}: ${text}`,
    details: { location: location.file === undefined ? { offset: location.offset } : { file: location.file, offset: location.offset } },
  };
}
