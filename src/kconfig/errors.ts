import { UklTrimError } from '../util/errors.js';

/** Where something is in a Kconfig file (1-based line and column; column 0 when unknown). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export type KconfigErrorKind =
  | 'syntax' // the Kconfig grammar rejected a statement
  | 'macro' // the preprocessor (macro language) failed
  | 'io' // a file could not be read or written
  | 'dependency' // recursive dependency between symbols
  | 'config' // a .config / fragment problem
  | 'usage'; // the caller asked for something impossible (unknown arch, missing defconfig)

/**
 * Every failure the engine reports on bad input is a KconfigError: a typed error with a
 * location, so the CLI can print `file:line: error: message` and exit 2 without a stack trace.
 */
export class KconfigError extends UklTrimError<KconfigErrorKind> {
  static readonly codes: readonly KconfigErrorKind[] = ['syntax', 'macro', 'io', 'dependency', 'config', 'usage'];
  declare readonly location: SourceLocation | undefined;

  constructor(code: KconfigErrorKind, message: string, location?: SourceLocation) {
    super(code, message, location ? { location } : {});
  }

  /** `file:line:column: error: message`, the form compilers (and conf) use. */
  override format(): string {
    const loc = this.location;
    if (!loc) return `error: ${this.message}`;
    const col = loc.column > 0 ? `:${loc.column}` : '';
    return `${loc.file}:${loc.line}${col}: error: ${this.message}`;
  }
}

export interface Diagnostic {
  severity: 'warning' | 'info';
  message: string;
  location?: SourceLocation;
}

/** Collects warnings the way conf prints them on stderr, without printing. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  warn(message: string, location?: SourceLocation): void {
    this.items.push(location ? { severity: 'warning', message, location } : { severity: 'warning', message });
  }
  info(message: string, location?: SourceLocation): void {
    this.items.push(location ? { severity: 'info', message, location } : { severity: 'info', message });
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  if (!d.location) return `${d.severity}: ${d.message}`;
  return `${d.location.file}:${d.location.line}: ${d.severity}: ${d.message}`;
}

/**
 * The engine recurses over nesting (blocks, expressions, dependency chains, macro calls). Input
 * nested far beyond anything a kernel tree uses would exhaust the JavaScript stack; report that
 * as a typed error instead of a crash.
 */
export function stackGuard<T>(what: string, fn: () => T, where?: () => SourceLocation | undefined): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new KconfigError('syntax', `${what}: the input nests too deeply (engine stack exhausted)`, where?.());
    }
    throw e;
  }
}
