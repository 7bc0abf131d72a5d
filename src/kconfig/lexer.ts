import { posix } from 'node:path';
import { KconfigError, type DiagnosticSink } from './errors.js';
import type { Preprocessor } from './preprocess.js';

/**
 * Tokenizer for Kconfig files, with the macro expansion of the 6.1 lexer: a word containing
 * `$(...)` is expanded (and dropped when empty), strings expand references in place, a
 * `NAME =|:=|+= value` line is a macro assignment whose value is the raw rest of the line, and
 * help text is collected with tab stops of 8.
 */

export const KEYWORDS = {
  bool: 'BOOL',
  choice: 'CHOICE',
  comment: 'COMMENT',
  config: 'CONFIG',
  def_bool: 'DEF_BOOL',
  def_tristate: 'DEF_TRISTATE',
  default: 'DEFAULT',
  depends: 'DEPENDS',
  endchoice: 'ENDCHOICE',
  endif: 'ENDIF',
  endmenu: 'ENDMENU',
  help: 'HELP',
  hex: 'HEX',
  if: 'IF',
  imply: 'IMPLY',
  int: 'INT',
  mainmenu: 'MAINMENU',
  menu: 'MENU',
  menuconfig: 'MENUCONFIG',
  modules: 'MODULES',
  on: 'ON',
  optional: 'OPTIONAL',
  prompt: 'PROMPT',
  range: 'RANGE',
  select: 'SELECT',
  source: 'SOURCE',
  string: 'STRING',
  tristate: 'TRISTATE',
  visible: 'VISIBLE',
} as const;

export type KeywordToken = (typeof KEYWORDS)[keyof typeof KEYWORDS];
export type TokenType =
  | KeywordToken
  | 'EOF'
  | 'EOL'
  | 'WORD'
  | 'WORD_QUOTE'
  | 'ASSIGN_VAL'
  | 'HELPTEXT'
  | 'OR'
  | 'AND'
  | 'EQUAL'
  | 'UNEQUAL'
  | 'LESS'
  | 'LESS_EQUAL'
  | 'GREATER'
  | 'GREATER_EQUAL'
  | 'NOT'
  | 'OPEN_PAREN'
  | 'CLOSE_PAREN'
  | 'COLON_EQUAL'
  | 'PLUS_EQUAL';

export interface Token {
  type: TokenType;
  value: string;
  file: string;
  line: number;
  column: number;
}

interface FileFrame {
  name: string;
  /** normalised name, for the recursive-inclusion check */
  norm: string;
  text: string;
  pos: number;
  line: number;
  lineStart: number;
  parent: FileFrame | null;
  /** line of the `source` statement in the parent that opened this file */
  includedAt: number;
}

/** [A-Za-z0-9_-]: the characters of an unquoted word */
const isWordCode = (k: number): boolean =>
  (k >= 97 && k <= 122) || (k >= 65 && k <= 90) || (k >= 48 && k <= 57) || k === 95 || k === 45;

const KEYWORD_MAP = new Map<string, KeywordToken>(Object.entries(KEYWORDS) as Array<[string, KeywordToken]>);

export interface FileReader {
  /** Returns the file's text, or throws a KconfigError('io'). */
  read(name: string, from: { file: string; line: number } | null): string;
}

export class Lexer {
  private frame: FileFrame | null = null;
  private prev: TokenType = 'EOL';
  private prevPrev: TokenType = 'EOL';
  private assignValue = false;
  private emittedEolAtEof = false;
  /** every file opened, in opening order */
  readonly files: string[] = [];

  constructor(
    private readonly reader: FileReader,
    private readonly pp: Preprocessor,
    private readonly diag: DiagnosticSink,
  ) {}

  currentFile(): string {
    return this.frame?.name ?? '';
  }
  currentLine(): number {
    return this.frame?.line ?? 0;
  }

  /** Open a file: the root Kconfig, or a `source` target (then lexing continues in it). */
  open(name: string, from: { file: string; line: number } | null): void {
    // `./Kconfig` and `Kconfig` are the same file: compare normalised names
    const norm = posix.normalize(name);
    for (let f = this.frame; f; f = f.parent) {
      if (f.norm === norm) {
        const chain: string[] = [];
        let it: FileFrame | null = this.frame;
        let line = from?.line ?? 0;
        while (it) {
          chain.push(`  included from: ${it.name}:${line}`);
          if (it.name === name) break;
          line = it.includedAt;
          it = it.parent;
        }
        throw new KconfigError(
          'syntax',
          `Recursive inclusion detected.\nInclusion path:\n  current file : ${name}\n${chain.join('\n')}`,
          from ? { file: from.file, line: from.line, column: 0 } : undefined,
        );
      }
    }
    const text = this.reader.read(name, from);
    this.files.push(name);
    this.frame = { name, norm, text, pos: 0, line: 1, lineStart: 0, parent: this.frame, includedAt: from?.line ?? 0 };
    this.emittedEolAtEof = false;
  }

  /** Next token for the parser: redundant end-of-lines are skipped, assignments detected. */
  next(): Token {
    for (;;) {
      const tok = this.raw();
      if ((this.prev === 'EOL' || this.prev === 'HELPTEXT') && tok.type === 'EOL') continue;
      if (
        this.prevPrev === 'EOL' &&
        this.prev === 'WORD' &&
        (tok.type === 'EQUAL' || tok.type === 'COLON_EQUAL' || tok.type === 'PLUS_EQUAL')
      ) {
        this.assignValue = true;
      }
      this.prevPrev = this.prev;
      this.prev = tok.type;
      return tok;
    }
  }

  private tok(type: TokenType, value: string, start: number): Token {
    const f = this.frame as FileFrame;
    return { type, value, file: f.name, line: f.line, column: start - f.lineStart + 1 };
  }

  private newline(f: FileFrame): void {
    f.pos++;
    f.line++;
    f.lineStart = f.pos;
  }

  private lineEnd(f: FileFrame): number {
    const i = f.text.indexOf('\n', f.pos);
    return i < 0 ? f.text.length : i;
  }

  private raw(): Token {
    for (;;) {
      const f = this.frame;
      if (!f) return { type: 'EOF', value: '', file: '', line: 0, column: 0 };
      const text = f.text;
      if (f.pos >= text.length) {
        // a file that does not end in a newline still ends its last statement
        if (this.prev !== 'EOL' && this.prev !== 'HELPTEXT' && !this.emittedEolAtEof) {
          this.emittedEolAtEof = true;
          this.assignValue = false;
          return this.tok('EOL', '', f.pos);
        }
        this.frame = f.parent;
        this.emittedEolAtEof = false;
        if (!this.frame) return { type: 'EOF', value: '', file: f.name, line: f.line, column: 0 };
        continue;
      }
      if (this.assignValue) {
        while (f.pos < text.length && (text[f.pos] === ' ' || text[f.pos] === '\t')) f.pos++;
        if (f.pos >= text.length || text[f.pos] === '\n') {
          this.assignValue = false;
          const t = this.tok('EOL', '', f.pos);
          if (f.pos < text.length) this.newline(f);
          return t;
        }
        const start = f.pos;
        const end = this.lineEnd(f);
        f.pos = end;
        return this.tok('ASSIGN_VAL', text.slice(start, end), start);
      }
      const code = text.charCodeAt(f.pos);
      if (code === 35 /* # */) {
        f.pos = this.lineEnd(f);
        continue;
      }
      if (code === 32 || code === 9) {
        f.pos++;
        continue;
      }
      if (code === 92 /* \\ */ && text.charCodeAt(f.pos + 1) === 10) {
        f.pos++;
        this.newline(f);
        continue;
      }
      if (code === 10) {
        const t = this.tok('EOL', '', f.pos);
        this.newline(f);
        return t;
      }
      if (code === 34 || code === 39) return this.string(f, code === 34 ? '"' : "'");
      if (isWordCode(code) || code === 36 /* $ */) {
        const start = f.pos;
        let q = f.pos;
        let dollar = false;
        for (; q < text.length; q++) {
          const k = text.charCodeAt(q);
          if (k === 36) dollar = true;
          else if (!isWordCode(k)) break;
        }
        if (!dollar) {
          f.pos = q;
          const word = text.slice(start, q);
          const kw = KEYWORD_MAP.get(word);
          return this.tok(kw ?? 'WORD', word, start);
        }
        const end = this.lineEnd(f);
        const line = text.slice(start, end);
        const r = this.pp.expandToken(line, 0);
        f.pos = start + r.end;
        if (r.value.length === 0) continue; // an empty expansion drops the token
        return this.tok('WORD', r.value, start);
      }
      const start = f.pos;
      const n = text.charCodeAt(f.pos + 1);
      let type: TokenType | null = null;
      let len = 1;
      switch (code) {
        case 124 /* | */:
          if (n === 124) (type = 'OR'), (len = 2);
          break;
        case 38 /* & */:
          if (n === 38) (type = 'AND'), (len = 2);
          break;
        case 61 /* = */:
          type = 'EQUAL';
          break;
        case 33 /* ! */:
          if (n === 61) (type = 'UNEQUAL'), (len = 2);
          else type = 'NOT';
          break;
        case 60 /* < */:
          if (n === 61) (type = 'LESS_EQUAL'), (len = 2);
          else type = 'LESS';
          break;
        case 62 /* > */:
          if (n === 61) (type = 'GREATER_EQUAL'), (len = 2);
          else type = 'GREATER';
          break;
        case 40:
          type = 'OPEN_PAREN';
          break;
        case 41:
          type = 'CLOSE_PAREN';
          break;
        case 58 /* : */:
          if (n === 61) (type = 'COLON_EQUAL'), (len = 2);
          break;
        case 43 /* + */:
          if (n === 61) (type = 'PLUS_EQUAL'), (len = 2);
          break;
        default:
          break;
      }
      if (type) {
        f.pos += len;
        return this.tok(type, text.slice(start, start + len), start);
      }
      const c = text[f.pos] as string;
      this.diag.warn(`ignoring unsupported character '${c === '\r' ? '\\r' : c}'`, {
        file: f.name,
        line: f.line,
        column: start - f.lineStart + 1,
      });
      f.pos++;
    }
  }

  private string(f: FileFrame, quote: string): Token {
    const start = f.pos;
    const text = f.text;
    f.pos++;
    let out = '';
    for (;;) {
      if (f.pos >= text.length) return this.tok('WORD_QUOTE', out, start);
      const c = text[f.pos] as string;
      if (c === '$') {
        const end = this.lineEnd(f);
        const r = this.pp.expandDollar(text.slice(f.pos, end), 0);
        out += r.value;
        f.pos += r.end;
        continue;
      }
      if (c === '\\') {
        const n = text[f.pos + 1];
        if (n !== undefined && n !== '\n') {
          out += n;
          f.pos += 2;
        } else f.pos++;
        continue;
      }
      if (c === quote) {
        f.pos++;
        return this.tok('WORD_QUOTE', out, start);
      }
      if (c === '\n') {
        this.diag.warn('multi-line strings not supported', { file: f.name, line: f.line, column: 0 });
        return this.tok('WORD_QUOTE', out, start);
      }
      out += c;
      f.pos++;
    }
  }

  /**
   * Collect a help text; called by the parser right after `help` and its end of line. The
   * text ends at a line indented less than its first line, or at a line starting in column 1.
   */
  readHelp(): string {
    const f = this.frame;
    if (!f) return '';
    const text = f.text;
    let out = '';
    let firstTs = 0;
    let lastTs = 0;
    for (;;) {
      if (f.pos >= text.length) break;
      const c = text[f.pos];
      if (c === ' ' || c === '\t' || c === '\n') {
        let q = f.pos;
        while (q < text.length && (text[q] === ' ' || text[q] === '\t')) q++;
        if (q < text.length && text[q] === '\n') {
          const after = text[q + 1];
          f.pos = q;
          this.newline(f);
          if (after !== undefined && after !== ' ' && after !== '\t' && after !== '\n') break;
          out += '\n';
          continue;
        }
        // a run of blanks before text (or EOF)
        let ts = 0;
        for (let i = f.pos; i < q; i++) ts = text[i] === '\t' ? (ts & ~7) + 8 : ts + 1;
        lastTs = ts;
        f.pos = q;
        if (firstTs) {
          if (ts < firstTs) break;
          out += ' '.repeat(ts - firstTs);
        }
        continue;
      }
      const end = this.lineEnd(f);
      let e = end;
      while (e > f.pos && (text[e - 1] === ' ' || text[e - 1] === '\t')) e--;
      out += text.slice(f.pos, e);
      f.pos = end;
      if (!firstTs) firstTs = lastTs;
    }
    this.prevPrev = this.prev;
    this.prev = 'HELPTEXT';
    return out;
  }
}
