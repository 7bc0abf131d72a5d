import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { DiagnosticSink, KconfigError, stackGuard } from './errors.js';
import { Evaluator } from './evaluate.js';
import { exprToString } from './expr.js';
import { Finalizer } from './finalize.js';
import { Lexer, type FileReader } from './lexer.js';
import { F, type Expr, type KSymbol, type MenuNode, type Tristate } from './model.js';
import { Parser } from './parser.js';
import { Preprocessor } from './preprocess.js';
import { autoconfCmd, menuIsVisible, readConfig, readConfigSimple, writeAutoconf, writeConfig, writeDefconfig } from './confdata.js';
import type { SyncconfigFiles } from './sync-files.js';
import type { ShellProvider } from './shell.js';
import { SymbolTable } from './symtab.js';
import { checkDependencyLoops } from './deps.js';

export type AllMode = 'allnoconfig' | 'allyesconfig' | 'allmodconfig' | 'alldefconfig';

export interface ParseOptions {
  /** the source tree (srctree): relative `source` paths resolve against it */
  srctree: string;
  /** top-level Kconfig file, relative to srctree (default `Kconfig`) */
  kconfig?: string;
  /** environment seen by the macro language */
  env: Readonly<Record<string, string | undefined>>;
  shell: ShellProvider;
  /** where `$(info)` output goes (default: collected as diagnostics) */
  stdout?: (line: string) => void;
  /** read files through this (tests use it for in-memory trees) */
  readFile?: (path: string) => string;
}

/**
 * A parsed Kconfig tree with its evaluator: the engine's public object. Modes reset the state
 * first, so one parse serves any number of runs (conf, in contrast, parses once per process).
 */
export class Kconfig {
  readonly syms: SymbolTable;
  readonly root: MenuNode;
  readonly modulesSym: KSymbol;
  readonly mainmenu: string;
  readonly files: readonly string[];
  readonly envUsed: ReadonlyMap<string, string>;
  readonly diagnostics: DiagnosticSink;
  readonly shellCalls: number;
  readonly srctree: string;
  ev: Evaluator;
  /** CONFIG_ prefix ($CONFIG_ in conf's environment) */
  prefix = 'CONFIG_';

  private constructor(init: {
    syms: SymbolTable;
    root: MenuNode;
    modulesSym: KSymbol;
    mainmenu: string;
    files: string[];
    envUsed: Map<string, string>;
    diag: DiagnosticSink;
    shellCalls: number;
    srctree: string;
  }) {
    this.syms = init.syms;
    this.root = init.root;
    this.modulesSym = init.modulesSym;
    this.mainmenu = init.mainmenu;
    this.files = init.files;
    this.envUsed = init.envUsed;
    this.diagnostics = init.diag;
    this.shellCalls = init.shellCalls;
    this.srctree = init.srctree;
    this.ev = new Evaluator(this.syms, this.root, this.modulesSym, this.diagnostics);
    this.ev.changed = true;
  }

  /** Parse a Kconfig tree. Throws KconfigError with file:line on bad input. */
  static parse(opts: ParseOptions): Kconfig {
    let where: (() => { file: string; line: number; column: number } | undefined) | undefined;
    // after lexing (finalization, the loop check) point at the top-level file
    const top = { file: opts.kconfig ?? 'Kconfig', line: 1, column: 0 };
    return stackGuard('parsing', () => Kconfig.parseUnguarded(opts, (w) => (where = w)), () => where?.() ?? top);
  }

  private static parseUnguarded(opts: ParseOptions, setWhere: (w: () => { file: string; line: number; column: number } | undefined) => void): Kconfig {
    const diag = new DiagnosticSink();
    const syms = new SymbolTable();
    const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
    const reader: FileReader = {
      read(name, from) {
        const candidates = isAbsolute(name) ? [name] : [join(opts.srctree, name)];
        for (const c of candidates) {
          try {
            return read(c);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'EISDIR') throw new KconfigError('io', `can't open file "${name}": is a directory`, from ? { ...from, column: 0 } : undefined);
          }
        }
        throw new KconfigError('io', `can't open file "${name}"`, from ? { ...from, column: 0 } : undefined);
      },
    };
    let lexer: Lexer | null = null;
    const pp = new Preprocessor(
      opts.env,
      opts.shell,
      { file: () => lexer?.currentFile() ?? '', line: () => lexer?.currentLine() ?? 0 },
      diag,
      opts.stdout ?? ((line) => diag.info(line)),
    );
    lexer = new Lexer(reader, pp, diag);
    const lx = lexer;
    setWhere(() => (lx.currentFile() ? { file: lx.currentFile(), line: lx.currentLine(), column: 0 } : undefined));
    const top = opts.kconfig ?? 'Kconfig';
    lexer.open(top, null);
    const parser = new Parser(lexer, pp, syms, diag, top);
    const { root, modulesSym } = parser.parse();
    const modules = modulesSym ?? syms.no;
    if (!root.prompt) {
      root.prompt = {
        type: 'menu',
        text: 'Main menu',
        expr: null,
        range: undefined,
        visibleExpr: null,
        visibleTri: 0,
        menu: root,
        file: top,
        line: 0,
      };
    }
    new Finalizer({ yes: syms.yes, mod: syms.mod, no: syms.no }, modules, diag).finalize(root);
    checkDependencyLoops(syms);
    return new Kconfig({
      syms,
      root,
      modulesSym: modules,
      mainmenu: root.prompt.text ?? 'Main menu',
      files: lexer.files,
      envUsed: pp.envUsed,
      diag,
      shellCalls: pp.shellCalls,
      srctree: opts.srctree,
    });
  }

  /** Back to the state right after parsing: no values computed, no user values. */
  reset(): void {
    const keep = F.CONST | F.CHOICE | F.CHOICEVAL | F.OPTIONAL | F.NO_WRITE | F.WARNED;
    for (const s of this.syms.all()) {
      s.flags &= keep;
      s.currVal = null;
      s.currTri = 0;
      s.currChoice = null;
      s.userTri = 0;
      s.userVal = null;
      s.userChoice = null;
      s.visible = 0;
      s.dirDep.tri = 0;
      s.revDep.tri = 0;
      s.implied.tri = 0;
      for (const p of s.props) p.visibleTri = 0;
    }
    const clearMenus = (m: MenuNode | null): void => {
      for (let n = m; n; n = n.next) {
        if (n.prompt) n.prompt.visibleTri = 0;
        clearMenus(n.list);
      }
    };
    clearMenus(this.root.list);
    this.ev = new Evaluator(this.syms, this.root, this.modulesSym, this.diagnostics);
    this.ev.changed = true;
  }

  // ---- conf's modes, each returning the text conf would write ----

  /** `conf --olddefconfig` with `.config` = text (null: no .config, use the default list). */
  olddefconfig(config: string | null, fallback?: { name: string; text: string } | null): string {
    return stackGuard('olddefconfig', () => {
      this.reset();
      this.loadForUpdate(config, fallback);
      return writeConfig(this.ev, this.mainmenu, this.prefix);
    });
  }

  private loadForUpdate(config: string | null, fallback?: { name: string; text: string } | null): void {
    if (config !== null) readConfig(this.ev, config, this.diagnostics, { prefix: this.prefix });
    else if (fallback) {
      this.diagnostics.info(`using defaults found in ${fallback.name}`);
      readConfig(this.ev, fallback.text, this.diagnostics, { prefix: this.prefix, name: fallback.name });
      this.ev.changed = true;
    } else {
      this.ev.changed = true;
      this.ev.calcValue(this.modulesSym);
    }
  }

  /** `conf --defconfig=FILE` */
  defconfig(defconfigText: string): string {
    return stackGuard('defconfig', () => {
      this.reset();
      readConfig(this.ev, defconfigText, this.diagnostics, { prefix: this.prefix });
      this.setAllNewSymbols('alldefconfig');
      return writeConfig(this.ev, this.mainmenu, this.prefix);
    });
  }

  /** `conf --allnoconfig` etc., optionally with KCONFIG_ALLCONFIG text. */
  allconfig(mode: AllMode, allconfig?: string | null): string {
    return stackGuard(mode, () => {
      this.reset();
      if (allconfig != null) readConfigSimple(this.ev, allconfig, this.diagnostics, { prefix: this.prefix });
      this.setAllNewSymbols(mode);
      return writeConfig(this.ev, this.mainmenu, this.prefix);
    });
  }

  /** `conf --savedefconfig`: the minimal config of `.config` = text. */
  savedefconfig(config: string | null, fallback?: { name: string; text: string } | null): string {
    return stackGuard('savedefconfig', () => {
      this.reset();
      this.loadForUpdate(config, fallback);
      return writeDefconfig(this.ev, this.prefix);
    });
  }

  /** `conf --syncconfig`: the updated .config plus auto.conf, autoconf.h, rustc_cfg and auto.conf.cmd. */
  syncconfig(config: string | null, fallback?: { name: string; text: string } | null): SyncconfigFiles {
    return stackGuard('syncconfig', () => {
      this.reset();
      this.loadForUpdate(config, fallback);
      this.answerNewSymbols();
      const text = writeConfig(this.ev, this.mainmenu, this.prefix);
      return { config: text, ...writeAutoconf(this.ev, this.mainmenu, this.prefix), autoConfCmd: autoconfCmd(this.files, this.envUsed) };
    });
  }

  /**
   * syncconfig asks about every visible, changeable symbol that has no value yet; without a
   * terminal the answer is the current value, which then becomes a user value (a hex value
   * gains its `0x` on the way). Repeated until nothing new appears, like conf's restart loop.
   */
  private answerNewSymbols(): void {
    const ev = this.ev;
    const done = new Set<KSymbol>();
    for (let round = 0; round < 100; round++) {
      let asked = false;
      const visit = (menu: MenuNode): void => {
        if (menu !== this.root && !menuIsVisible(ev, menu)) return;
        const sym = menu.sym;
        if (sym && !sym.hasUserValue && !done.has(sym)) {
          ev.calcValue(sym);
          if (sym.isChoice) {
            if (sym.currTri === 2 && sym.currChoice) {
              done.add(sym);
              if (this.setValue(sym.currChoice.name as string, 'y')) asked = true;
            }
          } else if (ev.isChangeable(sym)) {
            done.add(sym);
            const cur = ev.stringValue(sym);
            const v = sym.type === 'hex' && !/^0[xX]/.test(cur) ? `0x${cur}` : cur;
            if (this.setValue(sym.name as string, v)) asked = true;
          }
        }
        for (let c = menu.list; c; c = c.next) visit(c);
      };
      visit(this.root);
      if (!asked) break;
    }
  }

  /** `conf_set_all_new_symbols` */
  private setAllNewSymbols(mode: AllMode): void {
    const ev = this.ev;
    for (const sym of this.syms.all()) {
      if (sym.hasUserValue || sym.flags & F.VALID) continue;
      const t = ev.getType(sym);
      if (t !== 'bool' && t !== 'tristate') continue;
      if (mode === 'allyesconfig') sym.userTri = 2;
      else if (mode === 'allmodconfig') sym.userTri = 1;
      else if (mode === 'allnoconfig') sym.userTri = 0;
      else continue;
      sym.flags |= F.DEF_USER;
    }
    ev.clearAllValid();
    for (const c of this.syms.all()) {
      if ((c.isChoice && !c.hasUserValue) || c.isChoiceValue) c.flags |= F.NEED_SET_CHOICE_VALUES;
    }
    for (const c of this.syms.all()) {
      if (c.hasUserValue || !c.isChoice) continue;
      ev.calcValue(c);
      ev.setAllChoiceValues(c);
    }
  }

  // ---- querying ----

  /** A defined or referenced symbol by name. */
  symbol(name: string): KSymbol | undefined {
    return this.syms.find(name);
  }

  /** Defined symbols (with at least one `config` entry), in first-definition order. */
  definedSymbols(): KSymbol[] {
    return [...this.syms.named()].filter((s) => s.menus.length > 0).sort((a, b) => a.seq - b.seq);
  }

  value(name: string): string | undefined {
    const s = this.syms.find(name);
    if (!s) return undefined;
    this.ev.calcValue(s);
    return this.ev.stringValue(s);
  }

  /**
   * Set a user value, like answering conf's prompt. Returns false when the value is not
   * assignable (invisible symbol, outside range, below what selects force).
   */
  setValue(name: string, value: string): boolean {
    const s = this.syms.find(name);
    if (!s || s.isConst) return false;
    const ev = this.ev;
    ev.calcValue(s);
    if (s.type === 'bool' || s.type === 'tristate') {
      const v: Tristate | undefined = value === 'y' ? 2 : value === 'm' ? 1 : value === 'n' ? 0 : undefined;
      if (v === undefined) return false;
      if (s.currTri !== v && !ev.tristateWithinRange(s, v)) return false;
      s.flags |= F.DEF_USER;
      if (s.isChoiceValue && v === 2) {
        const cs = ev.choicePropSym(s);
        cs.userChoice = s;
        cs.flags |= F.DEF_USER;
        for (const m of cs.choiceMembers) if (m.hasUserValue) m.userTri = m === s ? 2 : 0;
        cs.userTri = 2;
      }
      s.userTri = v;
      ev.clearAllValid();
      return true;
    }
    if (!ev.stringWithinRange(s, value)) return false;
    s.userVal = value;
    s.flags |= F.DEF_USER;
    ev.clearAllValid();
    return true;
  }

  /** Load a .config into the current state (conf_read), without resetting first. */
  load(config: string): void {
    stackGuard('reading the configuration', () => {
      this.reset();
      readConfig(this.ev, config, this.diagnostics, { prefix: this.prefix });
    });
  }

  /** The .config text for the current state. */
  write(): string {
    return stackGuard('writing the configuration', () => writeConfig(this.ev, this.mainmenu, this.prefix));
  }

  /** Evaluate an expression in Kconfig syntax against the current values. */
  evaluate(expression: string): Tristate {
    return stackGuard('evaluating an expression', () => this.ev.exprValue(this.parseExpression(expression)));
  }

  parseExpression(expression: string): Expr {
    // expressions reuse the real lexer and parser on a one-line synthetic file
    const diag = new DiagnosticSink();
    const pp = new Preprocessor({}, { run: () => '' }, { file: () => '<expr>', line: () => 1 }, diag, () => {});
    // a leading `if` keeps `A = y` from looking like a macro assignment to the lexer
    const lexer = new Lexer({ read: () => `if ${expression}\n` }, pp, diag);
    lexer.open('<expr>', null);
    // names are looked up in the tree's table (a name it never saw becomes an undefined symbol, as in conf)
    const parser = new Parser(lexer, pp, this.syms, diag, '<expr>');
    const internal = parser as unknown as { expr(): Expr; peek(): { type: string; value: string }; take(): unknown };
    let e: Expr;
    try {
      internal.take();
      e = internal.expr();
    } catch (err) {
      throw new KconfigError('syntax', `invalid expression '${expression}': ${(err as Error).message}`);
    }
    const rest = internal.peek();
    if (rest.type !== 'EOL' && rest.type !== 'EOF') throw new KconfigError('syntax', `invalid expression '${expression}': unexpected '${rest.value}'`);
    return e;
  }

  exprToString(e: Expr | null): string {
    return exprToString(e);
  }
}
