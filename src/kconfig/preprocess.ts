import { KconfigError, type DiagnosticSink } from './errors.js';
import type { ShellProvider } from './shell.js';

/**
 * The Kconfig macro language (Documentation/kbuild/kconfig-macro-language.rst, Linux 6.1):
 * variables (`=` recursive, `:=` simple, `+=` append), `$(name,arg,...)` references with
 * arguments, `$(1)`..`$(n)`, built-in functions and the environment as the last fallback.
 */

type Flavor = 'recursive' | 'simple';

interface Variable {
  flavor: Flavor;
  value: string;
  expCount: number;
}

export interface MacroPosition {
  file(): string;
  line(): number;
}

const MAX_ARGS = 16;

const isWordChar = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '-');

export class Preprocessor {
  private readonly vars = new Map<string, Variable>();
  /** environment variables that were looked up and found, in first-use order (for auto.conf.cmd) */
  readonly envUsed = new Map<string, string>();
  shellCalls = 0;

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly shell: ShellProvider,
    private readonly pos: MacroPosition,
    private readonly diag: DiagnosticSink,
    private readonly stdout: (line: string) => void,
  ) {}

  private fail(message: string): never {
    throw new KconfigError('macro', message, { file: this.pos.file(), line: this.pos.line(), column: 0 });
  }

  addVariable(name: string, value: string, op: '=' | ':=' | '+='): void {
    const existing = this.vars.get(name);
    let flavor: Flavor;
    let append = false;
    if (existing) {
      if (op === '+=') {
        flavor = existing.flavor;
        append = true;
      } else flavor = op === ':=' ? 'simple' : 'recursive';
    } else {
      flavor = op === ':=' ? 'simple' : 'recursive';
    }
    const v: Variable = existing ?? { flavor, value: '', expCount: 0 };
    v.flavor = flavor;
    const newValue = flavor === 'simple' ? this.expandString(value) : value;
    v.value = append ? `${v.value} ${newValue}` : newValue;
    if (!existing) this.vars.set(name, v);
  }

  /** Expand a whole string (every `$(...)` in it). */
  expandString(s: string, args: readonly string[] = []): string {
    return this.expandUntil(s, 0, () => false, args).value;
  }

  /**
   * Expand one unquoted word starting at `start`: the expansion runs until a character that
   * cannot be part of a word appears outside a reference. Returns the value and the index after
   * the consumed text (the rest of the line is left for the lexer).
   */
  expandToken(s: string, start: number): { value: string; end: number } {
    return this.expandUntil(s, start, (c) => !isWordChar(c), []);
  }

  /** Expand the single reference (or literal `$`) at s[start] === '$'. */
  expandDollar(s: string, start: number): { value: string; end: number } {
    return this.expandDollarWithArgs(s, start + 1, []);
  }

  private expandUntil(
    s: string,
    start: number,
    isEnd: (c: string) => boolean,
    args: readonly string[],
  ): { value: string; end: number } {
    let out = '';
    let p = start;
    let segStart = start;
    for (;;) {
      const c = s[p];
      if (c === '$') {
        out += s.slice(segStart, p);
        const r = this.expandDollarWithArgs(s, p + 1, args);
        out += r.value;
        p = r.end;
        segStart = p;
        continue;
      }
      if (c === undefined || isEnd(c)) break;
      p++;
    }
    out += s.slice(segStart, p);
    return { value: out, end: p };
  }

  /** `p` points just after the `$`. */
  private expandDollarWithArgs(s: string, p: number, args: readonly string[]): { value: string; end: number } {
    if (s[p] !== '(') return { value: '$', end: p };
    p++;
    let q = p;
    let nest = 0;
    for (; q < s.length; q++) {
      const c = s[q];
      if (c === '(') nest++;
      else if (c === ')') {
        if (nest-- === 0) break;
      }
    }
    if (q >= s.length) this.fail(`unterminated reference to '${s.slice(p)}': missing ')'`);
    return { value: this.evalClause(s.slice(p, q), args), end: q + 1 };
  }

  private depth = 0;

  private evalClause(clause: string, args: readonly string[]): string {
    // conf limits each variable to 1000 nested expansions; a limit on the total nesting also
    // ends mutual recursion of several functions and absurdly nested references
    if (this.depth > 5000) this.fail('Too deep recursive expansion');
    this.depth++;
    try {
      return this.evalClauseInner(clause, args);
    } catch (e) {
      // unwound to the outermost reference: report stack exhaustion as the macro error it is
      if (this.depth === 1 && e instanceof RangeError && /call stack/i.test(e.message)) this.fail('Too deep recursive expansion (stack exhausted)');
      throw e;
    } finally {
      this.depth--;
    }
  }

  private evalClauseInner(clause: string, args: readonly string[]): string {
    const parts: string[] = [];
    let nest = 0;
    let prev = 0;
    for (let i = 0; i < clause.length; i++) {
      const c = clause[i];
      if (nest === 0 && c === ',') {
        if (parts.length >= MAX_ARGS) this.fail('too many function arguments');
        parts.push(clause.slice(prev, i));
        prev = i + 1;
      } else if (c === '(') nest++;
      else if (c === ')') nest--;
    }
    if (parts.length >= MAX_ARGS) this.fail('too many function arguments');
    parts.push(clause.slice(prev));

    const name = this.expandString(parts[0] ?? '', args);
    const newArgs = parts.slice(1).map((a) => this.expandString(a, args));

    // $(1), $(2), ... refer to the arguments of the user function being expanded
    if (newArgs.length === 0 && args.length > 0 && /^[0-9]+$/.test(name)) {
      const n = Number.parseInt(name, 10);
      if (n > 0 && n <= args.length) return args[n - 1] as string;
    }

    const v = this.vars.get(name);
    if (v) {
      if (newArgs.length === 0 && v.expCount > 0) this.fail(`Recursive variable '${name}' references itself (eventually)`);
      if (v.expCount > 1000) this.fail('Too deep recursive expansion');
      v.expCount++;
      try {
        return v.flavor === 'recursive' ? this.expandString(v.value, newArgs) : v.value;
      } finally {
        v.expCount--;
      }
    }

    const fn = this.builtin(name, newArgs);
    if (fn !== undefined) return fn;

    if (newArgs.length === 0) {
      const e = this.env[name];
      if (e !== undefined) {
        if (!this.envUsed.has(name)) this.envUsed.set(name, e);
        return e;
      }
    }
    return '';
  }

  private checkArgs(name: string, args: readonly string[], min: number, max: number): void {
    if (args.length < min) this.fail(`too few function arguments passed to '${name}'`);
    if (args.length > max) this.fail(`too many function arguments passed to '${name}'`);
  }

  private builtin(name: string, args: readonly string[]): string | undefined {
    switch (name) {
      case 'error-if':
        this.checkArgs(name, args, 2, 2);
        if (args[0] === 'y') this.fail(args[1] ?? '');
        return '';
      case 'filename':
        this.checkArgs(name, args, 0, 0);
        return this.pos.file();
      case 'info':
        this.checkArgs(name, args, 1, 1);
        this.stdout(args[0] ?? '');
        return '';
      case 'lineno':
        this.checkArgs(name, args, 0, 0);
        return String(this.pos.line());
      case 'shell':
        this.checkArgs(name, args, 1, 1);
        this.shellCalls++;
        return this.shell.run(args[0] ?? '');
      case 'warning-if':
        this.checkArgs(name, args, 2, 2);
        if (args[0] === 'y') this.diag.warn(args[1] ?? '', { file: this.pos.file(), line: this.pos.line(), column: 0 });
        return '';
      default:
        return undefined;
    }
  }
}
