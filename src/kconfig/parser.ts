import { KconfigError, type DiagnosticSink, type SourceLocation } from './errors.js';
import type { Lexer, Token, TokenType } from './lexer.js';
import { F, type CompareOp, type Expr, type KSymbol, type MenuKind, type MenuNode, type Property, type PropertyType, type SymbolType } from './model.js';
import type { Preprocessor } from './preprocess.js';
import type { SymbolTable } from './symtab.js';

/**
 * Recursive-descent parser for the Kconfig language of Linux 6.1. It builds the menu tree and
 * the symbols' property lists in the same order as the kernel's parser (symbols are created in
 * the order their names appear, which fixes conf's hash-table iteration order).
 */

export interface ParseResult {
  root: MenuNode;
  modulesSym: KSymbol | null;
}

export function newMenu(kind: MenuKind, sym: KSymbol | null, parent: MenuNode | null, file: string, line: number): MenuNode {
  return { kind, parent, next: null, list: null, sym, prompt: null, dep: null, visibility: null, help: undefined, file, line };
}

export function exprAnd(a: Expr | null, b: Expr | null): Expr | null {
  if (!a) return b;
  if (!b) return a;
  return { kind: 'and', left: a, right: b };
}

export function exprOr(a: Expr | null, b: Expr | null): Expr | null {
  if (!a) return b;
  if (!b) return a;
  return { kind: 'or', left: a, right: b };
}

const TYPE_NAMES: Partial<Record<TokenType, SymbolType>> = {
  BOOL: 'bool',
  TRISTATE: 'tristate',
  INT: 'int',
  HEX: 'hex',
  STRING: 'string',
};

const COMPARE: Partial<Record<TokenType, CompareOp>> = {
  EQUAL: '=',
  UNEQUAL: '!=',
  LESS: '<',
  LESS_EQUAL: '<=',
  GREATER: '>',
  GREATER_EQUAL: '>=',
};

class SyntaxError_ extends Error {
  constructor(
    readonly msg: string,
    readonly tok: Token,
  ) {
    super(msg);
  }
}

export class Parser {
  private look: Token | null = null;
  private readonly root: MenuNode;
  private currentMenu: MenuNode;
  private currentEntry: MenuNode;
  private readonly tails = new Map<MenuNode, MenuNode>();
  private modulesSym: KSymbol | null = null;
  private stmtLine = 0;
  private stmtFile = '';
  readonly errors: KconfigError[] = [];

  constructor(
    private readonly lex: Lexer,
    private readonly pp: Preprocessor,
    private readonly syms: SymbolTable,
    private readonly diag: DiagnosticSink,
    rootFile: string,
  ) {
    this.root = newMenu('root', null, null, rootFile, 0);
    this.currentMenu = this.root;
    this.currentEntry = this.root;
  }

  private peek(): Token {
    if (!this.look) this.look = this.lex.next();
    return this.look;
  }
  private take(): Token {
    const t = this.peek();
    this.look = null;
    return t;
  }
  private fail(msg: string, tok?: Token): never {
    throw new SyntaxError_(msg, tok ?? this.peek());
  }
  private expect(type: TokenType, what?: string): Token {
    const t = this.peek();
    if (t.type !== type) this.fail(what ? `syntax error: expected ${what}` : 'syntax error', t);
    return this.take();
  }
  private eol(): void {
    const t = this.peek();
    if (t.type !== 'EOL' && t.type !== 'EOF') this.fail(`syntax error: unexpected '${t.value || t.type.toLowerCase()}'`, t);
    if (t.type === 'EOL') this.take();
  }
  private loc(): SourceLocation {
    return { file: this.stmtFile, line: this.stmtLine, column: 0 };
  }
  private startStmt(t: Token): void {
    this.stmtFile = t.file;
    this.stmtLine = t.line;
  }

  parse(): ParseResult {
    const first = this.peek();
    if (first.type === 'MAINMENU') {
      this.startStmt(first);
      this.guard(() => {
        this.take();
        const text = this.expect('WORD_QUOTE', 'a quoted prompt').value;
        this.eol();
        this.addPrompt('menu', text, null);
      });
    }
    this.stmtList(false);
    const t = this.peek();
    if (t.type !== 'EOF') {
      this.errors.push(new KconfigError('syntax', `unexpected '${t.value}' statement`, { file: t.file, line: t.line, column: t.column }));
    }
    if (this.errors.length > 0) {
      const e = this.errors[0] as KconfigError;
      if (this.errors.length > 1) {
        const more = new KconfigError(e.code, `${e.message} (and ${this.errors.length - 1} more error(s))`, e.location);
        (more as { details?: KconfigError[] }).details = this.errors;
        throw more;
      }
      throw e;
    }
    return { root: this.root, modulesSym: this.modulesSym };
  }

  /** Run one statement; on a syntax error record it, skip to the end of the line and go on (like conf). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof SyntaxError_) {
        this.errors.push(new KconfigError('syntax', e.msg, { file: e.tok.file, line: e.tok.line, column: e.tok.column }));
        if (this.errors.length > 50) throw this.errors[0];
        for (;;) {
          const t = this.peek();
          if (t.type === 'EOF') break;
          this.take();
          if (t.type === 'EOL') break;
        }
        return;
      }
      throw e;
    }
  }

  // ---- menu tree construction (menu.c's menu_add_* family) ----

  private addEntry(kind: MenuKind, sym: KSymbol | null): MenuNode {
    const m = newMenu(kind, sym, this.currentMenu, this.stmtFile, this.stmtLine);
    const tail = this.tails.get(this.currentMenu);
    if (tail) tail.next = m;
    else this.currentMenu.list = m;
    this.tails.set(this.currentMenu, m);
    this.currentEntry = m;
    if (sym) {
      sym.menus.push(m);
      this.addProp('symbol', { kind: 'symbol', sym }, null);
    }
    return m;
  }

  private beginBlock(): void {
    this.currentMenu = this.currentEntry;
  }

  private endBlock(): void {
    this.currentMenu = this.currentMenu.parent as MenuNode;
  }

  private addProp(type: PropertyType, expr: Expr | null, dep: Expr | null): Property {
    const prop: Property = {
      type,
      text: undefined,
      expr,
      range: undefined,
      visibleExpr: dep,
      visibleTri: 0,
      menu: this.currentEntry,
      file: this.stmtFile,
      line: this.stmtLine,
    };
    if (this.currentEntry.sym) this.currentEntry.sym.props.push(prop);
    return prop;
  }

  private addPrompt(type: 'prompt' | 'menu' | 'comment', text: string, dep: Expr | null): Property {
    const prop = this.addProp(type, null, dep);
    if (/^\s/.test(text)) {
      this.diag.warn('leading whitespace ignored', this.loc());
      text = text.replace(/^\s+/, '');
    }
    if (this.currentEntry.prompt) this.diag.warn('prompt redefined', this.loc());
    if (type === 'prompt') {
      // visibility of all enclosing menus applies to real prompts
      for (let m = this.currentEntry.parent; m; m = m.parent) {
        if (m.visibility) prop.visibleExpr = exprAnd(prop.visibleExpr, m.visibility);
      }
    }
    this.currentEntry.prompt = prop;
    prop.text = text;
    return prop;
  }

  private setType(type: SymbolType): void {
    const sym = this.currentEntry.sym as KSymbol;
    if (sym.type === type) return;
    if (sym.type === 'unknown') {
      sym.type = type;
      return;
    }
    this.diag.warn(`ignoring type redefinition of '${sym.name ?? '<choice>'}' from '${sym.type === 'bool' ? 'boolean' : sym.type}' to '${type === 'bool' ? 'boolean' : type}'`, this.loc());
  }

  private addDep(e: Expr): void {
    this.currentEntry.dep = exprAnd(this.currentEntry.dep, e);
  }

  // ---- statements ----

  private stmtList(inChoice: boolean): void {
    for (;;) {
      const t = this.peek();
      this.startStmt(t);
      switch (t.type) {
        case 'EOF':
        case 'ENDMENU':
        case 'ENDCHOICE':
        case 'ENDIF':
          return;
        case 'CONFIG':
        case 'MENUCONFIG': {
          if (inChoice && t.type === 'MENUCONFIG') {
            this.guard(() => this.fail('invalid statement'));
            break;
          }
          let ok = false;
          this.guard(() => {
            this.configEntry(t.type === 'MENUCONFIG');
            ok = true;
          });
          if (!ok) break;
          this.configOptions();
          if (t.type === 'MENUCONFIG') {
            if (this.currentEntry.prompt) (this.currentEntry.prompt as { type: PropertyType }).type = 'menu';
            else this.diag.warn('menuconfig statement without prompt', { file: t.file, line: t.line, column: 0 });
          }
          break;
        }
        case 'COMMENT':
          this.guard(() => {
            this.take();
            const text = this.expect('WORD_QUOTE', 'a quoted comment').value;
            this.eol();
            this.addEntry('comment', null);
            this.addPrompt('comment', text, null);
          });
          this.dependsList();
          break;
        case 'IF':
          this.ifStmt(inChoice);
          break;
        case 'CHOICE':
          if (inChoice) {
            this.guard(() => this.fail('invalid statement'));
            break;
          }
          this.choiceStmt();
          break;
        case 'MENU':
          if (inChoice) {
            this.guard(() => this.fail('invalid statement'));
            break;
          }
          this.menuStmt();
          break;
        case 'SOURCE':
          if (inChoice) {
            this.guard(() => this.fail('invalid statement'));
            break;
          }
          this.guard(() => {
            this.take();
            const name = this.expect('WORD_QUOTE', 'a quoted file name');
            const end = this.peek();
            if (end.type !== 'EOL' && end.type !== 'EOF') this.fail('syntax error', end);
            // take the end of line before switching, so the new file is lexed next
            if (end.type === 'EOL') this.take();
            this.lex.open(name.value, { file: name.file, line: name.line });
          });
          break;
        case 'WORD': {
          if (inChoice) {
            this.guard(() => this.fail(`unknown statement "${t.value}"`));
            break;
          }
          this.guard(() => {
            const name = this.take();
            const op = this.peek();
            if (op.type !== 'EQUAL' && op.type !== 'COLON_EQUAL' && op.type !== 'PLUS_EQUAL') {
              this.fail(`unknown statement "${name.value}"`, name);
            }
            this.take();
            let value = '';
            if (this.peek().type === 'ASSIGN_VAL') value = this.take().value;
            this.eol();
            this.pp.addVariable(name.value, value, op.type === 'EQUAL' ? '=' : op.type === 'COLON_EQUAL' ? ':=' : '+=');
          });
          break;
        }
        case 'MAINMENU':
          this.guard(() => this.fail('invalid statement: mainmenu must be the first statement'));
          break;
        default:
          this.guard(() => this.fail('invalid statement'));
      }
    }
  }

  private configEntry(isMenuconfig: boolean): void {
    this.take();
    const nameTok = this.expect('WORD', 'a symbol name');
    const sym = this.syms.lookup(nameTok.value, 0);
    this.eol();
    sym.flags |= F.OPTIONAL;
    this.addEntry(isMenuconfig ? 'menuconfig' : 'config', sym);
  }

  private configOptions(): void {
    for (;;) {
      const t = this.peek();
      this.startStmt(t);
      const ty = TYPE_NAMES[t.type];
      if (ty) {
        this.guard(() => {
          this.take();
          this.promptOpt();
          this.eol();
          this.setType(ty);
        });
        continue;
      }
      switch (t.type) {
        case 'PROMPT':
          this.guard(() => {
            this.take();
            const text = this.expect('WORD_QUOTE', 'a quoted prompt').value;
            const cond = this.ifExpr();
            this.eol();
            this.addPrompt('prompt', text, cond);
          });
          continue;
        case 'DEFAULT':
        case 'DEF_BOOL':
        case 'DEF_TRISTATE':
          this.guard(() => {
            this.take();
            const e = this.expr();
            const cond = this.ifExpr();
            this.eol();
            this.addProp('default', e, cond);
            if (t.type !== 'DEFAULT') this.setType(t.type === 'DEF_BOOL' ? 'bool' : 'tristate');
          });
          continue;
        case 'SELECT':
        case 'IMPLY':
          this.guard(() => {
            this.take();
            const target = this.syms.lookup(this.expect('WORD', 'a symbol name').value, 0);
            const cond = this.ifExpr();
            this.eol();
            this.addProp(t.type === 'SELECT' ? 'select' : 'imply', { kind: 'symbol', sym: target }, cond);
          });
          continue;
        case 'RANGE':
          this.guard(() => {
            this.take();
            const lo = this.symbol();
            const hi = this.symbol();
            const cond = this.ifExpr();
            this.eol();
            const p = this.addProp('range', null, cond);
            p.range = [lo, hi];
          });
          continue;
        case 'MODULES':
          this.guard(() => {
            this.take();
            this.eol();
            const sym = this.currentEntry.sym as KSymbol;
            if (this.modulesSym) {
              this.fail(`symbol '${sym.name}' redefines option 'modules' already defined by symbol '${this.modulesSym.name}'`, t);
            }
            this.modulesSym = sym;
          });
          continue;
        case 'DEPENDS':
          this.guard(() => this.depends());
          continue;
        case 'HELP':
          this.guard(() => this.help());
          continue;
        default:
          return;
      }
    }
  }

  private promptOpt(): void {
    if (this.peek().type === 'WORD_QUOTE') {
      const text = this.take().value;
      const cond = this.ifExpr();
      this.addPrompt('prompt', text, cond);
    }
  }

  private depends(): void {
    this.take();
    this.expect('ON', "'on'");
    const e = this.expr();
    this.eol();
    this.addDep(e);
  }

  private help(): void {
    const t = this.take();
    if (this.peek().type !== 'EOL') this.fail('syntax error: help must be alone on its line');
    this.look = null;
    const text = this.lex.readHelp();
    const entry = this.currentEntry;
    const who = entry.sym?.name ?? '<choice>';
    if (entry.help !== undefined) {
      this.diag.warn(`'${who}' defined with more than one help text -- only the last one will be used`, { file: t.file, line: t.line, column: 0 });
    }
    if (/^[ \f\n\r\t\v]*$/.test(text)) this.diag.warn(`'${who}' defined with blank help text`, { file: t.file, line: t.line, column: 0 });
    entry.help = text;
  }

  private dependsList(): void {
    for (;;) {
      const t = this.peek();
      this.startStmt(t);
      if (t.type !== 'DEPENDS') return;
      this.guard(() => this.depends());
    }
  }

  private endToken(expected: 'menu' | 'choice' | 'if', opener: MenuNode): void {
    const t = this.peek();
    this.startStmt(t);
    if (t.type === 'EOF') {
      throw new KconfigError('syntax', `missing 'end${expected}' for the '${expected}' at ${opener.file}:${opener.line}`, {
        file: t.file || opener.file,
        line: t.line || opener.line,
        column: 0,
      });
    }
    const got = t.type === 'ENDMENU' ? 'menu' : t.type === 'ENDCHOICE' ? 'choice' : 'if';
    this.guard(() => {
      this.take();
      this.eol();
      if (got !== expected) this.fail(`unexpected 'end${got}' within ${expected} block`, t);
      if (opener.file !== t.file) this.fail(`'end${got}' in different file than '${expected}' (opened at ${opener.file}:${opener.line})`, t);
    });
    this.endBlock();
  }

  private ifStmt(inChoice: boolean): void {
    let ok = false;
    this.guard(() => {
      this.take();
      const e = this.expr();
      this.eol();
      this.addEntry('if', null);
      this.addDep(e);
      ok = true;
    });
    if (!ok) {
      // keep the block structure even when its condition was malformed
      this.addEntry('if', null);
    }
    const opener = this.currentEntry;
    this.beginBlock();
    this.stmtList(inChoice);
    this.endToken('if', opener);
  }

  private menuStmt(): void {
    let ok = false;
    this.guard(() => {
      this.take();
      const text = this.expect('WORD_QUOTE', 'a quoted menu title').value;
      this.eol();
      this.addEntry('menu', null);
      this.addPrompt('menu', text, null);
      ok = true;
    });
    if (!ok) this.addEntry('menu', null);
    const opener = this.currentEntry;
    for (;;) {
      const t = this.peek();
      this.startStmt(t);
      if (t.type === 'VISIBLE') {
        this.guard(() => {
          this.take();
          const cond = this.ifExpr();
          this.eol();
          this.currentEntry.visibility = exprAnd(this.currentEntry.visibility, cond);
        });
      } else if (t.type === 'DEPENDS') {
        this.guard(() => this.depends());
      } else break;
    }
    this.beginBlock();
    this.stmtList(false);
    this.endToken('menu', opener);
  }

  private choiceStmt(): void {
    const t = this.take();
    this.startStmt(t);
    let name: string | null = null;
    this.guard(() => {
      if (this.peek().type === 'WORD') name = this.take().value;
      this.eol();
    });
    const sym = this.syms.lookup(name, F.CHOICE);
    sym.flags |= F.NO_WRITE;
    this.addEntry('choice', sym);
    this.addProp('choice', null, null);
    const opener = this.currentEntry;
    for (;;) {
      const o = this.peek();
      this.startStmt(o);
      if (o.type === 'PROMPT') {
        this.guard(() => {
          this.take();
          const text = this.expect('WORD_QUOTE', 'a quoted prompt').value;
          const cond = this.ifExpr();
          this.eol();
          this.addPrompt('prompt', text, cond);
        });
      } else if (o.type === 'BOOL' || o.type === 'TRISTATE') {
        this.guard(() => {
          this.take();
          this.promptOpt();
          this.eol();
          this.setType(o.type === 'BOOL' ? 'bool' : 'tristate');
        });
      } else if (o.type === 'OPTIONAL') {
        this.guard(() => {
          this.take();
          this.eol();
          sym.flags |= F.OPTIONAL;
        });
      } else if (o.type === 'DEFAULT') {
        this.guard(() => {
          this.take();
          const target = this.syms.lookup(this.expect('WORD', 'a symbol name').value, 0);
          const cond = this.ifExpr();
          this.eol();
          this.addProp('default', { kind: 'symbol', sym: target }, cond);
        });
      } else if (o.type === 'DEPENDS') {
        this.guard(() => this.depends());
      } else if (o.type === 'HELP') {
        this.guard(() => this.help());
      } else break;
    }
    this.beginBlock();
    this.stmtList(true);
    this.endToken('choice', opener);
  }

  // ---- expressions ----

  private ifExpr(): Expr | null {
    if (this.peek().type !== 'IF') return null;
    this.take();
    return this.expr();
  }

  private symbol(): KSymbol {
    const t = this.peek();
    if (t.type === 'WORD') return this.syms.lookup(this.take().value, 0);
    if (t.type === 'WORD_QUOTE') return this.syms.lookup(this.take().value, F.CONST);
    this.fail(t.type === 'EOL' ? 'syntax error: expression expected' : `syntax error: unexpected '${t.value || t.type.toLowerCase()}' in expression`, t);
  }

  expr(): Expr {
    let left = this.andExpr();
    while (this.peek().type === 'OR') {
      this.take();
      left = { kind: 'or', left, right: this.andExpr() };
    }
    return left;
  }

  private andExpr(): Expr {
    let left = this.unary();
    while (this.peek().type === 'AND') {
      this.take();
      left = { kind: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.type === 'NOT') {
      this.take();
      return { kind: 'not', operand: this.unary() };
    }
    if (t.type === 'OPEN_PAREN') {
      this.take();
      const e = this.expr();
      this.expect('CLOSE_PAREN', "')'");
      return e;
    }
    const left = this.symbol();
    const op = COMPARE[this.peek().type];
    if (op) {
      this.take();
      return { kind: 'compare', op, left, right: this.symbol() };
    }
    return { kind: 'symbol', sym: left };
  }
}
