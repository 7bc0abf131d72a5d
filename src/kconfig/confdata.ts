import type { DiagnosticSink } from './errors.js';
import type { Evaluator } from './evaluate.js';
import { F, type KSymbol, type MenuNode } from './model.js';

/**
 * Reading and writing configuration files in the formats conf uses: `.config` (menu order),
 * `include/config/auto.conf` and `include/generated/autoconf.h` (hash order), the rustc cfg
 * list, and the minimal defconfig of savedefconfig.
 */

export interface ReadOptions {
  /** the prefix, normally `CONFIG_` (conf honours $CONFIG_) */
  prefix?: string;
  /** file name used in warnings */
  name?: string;
  warnUnknown?: boolean;
}

/** `conf_read_simple(name, S_DEF_USER)`: load user values from .config text. */
export function readConfigSimple(ev: Evaluator, text: string, diag: DiagnosticSink, opts: ReadOptions = {}): void {
  const prefix = opts.prefix ?? 'CONFIG_';
  const fname = opts.name ?? '.config';
  const warn = (line: number, msg: string): void => diag.warn(msg, { file: fname, line, column: 0 });

  for (const sym of ev.syms.all()) {
    sym.flags |= F.CHANGED;
    sym.flags &= ~(F.DEF_USER | F.VALID);
    if (sym.isChoice) sym.flags |= F.DEF_USER;
    sym.userVal = null;
    sym.userTri = 0;
    sym.userChoice = null;
  }

  const lines = text.split('\n');
  // a final newline does not start another line
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let lineno = 0;
  for (const raw of lines) {
    lineno++;
    let sym: KSymbol | undefined;
    // conf reads lines as C strings: a NUL ends the line
    const nul = raw.indexOf('\0');
    const line = nul >= 0 ? raw.slice(0, nul) : raw;
    if (line[0] === '#') {
      if (!line.startsWith(prefix, 2)) continue;
      const sp = line.indexOf(' ', 2 + prefix.length);
      if (sp < 0) continue;
      if (!line.startsWith('is not set', sp + 1)) continue;
      const name = line.slice(2 + prefix.length, sp);
      sym = ev.syms.find(name);
      if (!sym) {
        if (opts.warnUnknown) warn(lineno, `unknown symbol: ${name}`);
        ev.changed = true;
        continue;
      }
      if (sym.flags & F.DEF_USER) warn(lineno, `override: reassigning to symbol ${sym.name}`);
      if (sym.type === 'bool' || sym.type === 'tristate') {
        sym.userTri = 0;
        sym.flags |= F.DEF_USER;
      }
    } else if (line.startsWith(prefix)) {
      const eq = line.indexOf('=', prefix.length);
      if (eq < 0) continue;
      const name = line.slice(prefix.length, eq);
      let val = line.slice(eq + 1);
      if (val.endsWith('\r')) val = val.slice(0, -1);
      sym = ev.syms.find(name);
      if (!sym) {
        if (opts.warnUnknown) warn(lineno, `unknown symbol: ${name}`);
        ev.changed = true;
        continue;
      }
      if (sym.flags & F.DEF_USER) warn(lineno, `override: reassigning to symbol ${sym.name}`);
      if (!setSymbolValue(ev, sym, val, (m) => warn(lineno, m))) continue;
    } else {
      if (line[0] !== '\r' && line.length > 0) warn(lineno, `unexpected data: ${line.replace(/\r$/, '')}`);
      continue;
    }

    if (sym && sym.isChoiceValue) {
      const cs = ev.choicePropSym(sym);
      switch (sym.userTri) {
        case 0:
          break;
        case 1:
          if (cs.userTri === 2) {
            warn(lineno, `${sym.name} creates inconsistent choice state`);
            cs.flags &= ~F.DEF_USER;
          }
          break;
        case 2:
          if (cs.userTri !== 0) warn(lineno, `override: ${sym.name} changes choice state`);
          cs.userChoice = sym;
          break;
      }
      cs.userTri = cs.userTri > sym.userTri ? cs.userTri : sym.userTri;
    }
  }
}

/** conf_set_sym_val: returns false when the value was rejected (the line is then ignored). */
function setSymbolValue(ev: Evaluator, sym: KSymbol, p: string, warn: (m: string) => void): boolean {
  switch (sym.type) {
    case 'tristate':
    case 'bool':
      if (sym.type === 'tristate' && p[0] === 'm') {
        sym.userTri = 1;
        sym.flags |= F.DEF_USER;
        return true;
      }
      if (p[0] === 'y') {
        sym.userTri = 2;
        sym.flags |= F.DEF_USER;
        return true;
      }
      if (p[0] === 'n') {
        sym.userTri = 0;
        sym.flags |= F.DEF_USER;
        return true;
      }
      warn(`symbol value '${p}' invalid for ${sym.name}`);
      return false;
    case 'string': {
      if (p[0] !== '"') return true; // silently ignored, like conf
      let out = '';
      let i = 1;
      let closed = false;
      for (; i < p.length; i++) {
        const c = p[i];
        if (c === '"') {
          closed = true;
          break;
        }
        if (c === '\\') {
          i++;
          if (i < p.length) out += p[i];
          else break;
          continue;
        }
        out += c;
      }
      if (!closed) {
        warn('invalid string found');
        return false;
      }
      sym.userVal = out;
      sym.flags |= F.DEF_USER;
      return true;
    }
    case 'int':
    case 'hex':
      if (ev.stringValid(sym, p)) {
        sym.userVal = p;
        sym.flags |= F.DEF_USER;
        return true;
      }
      warn(`symbol value '${p}' invalid for ${sym.name}`);
      return false;
    default:
      return true;
  }
}

/**
 * `conf_read`: read user values, then compute everything; user values of invisible symbols are
 * forgotten when the file was complete, out-of-range int/hex values are dropped.
 */
export function readConfig(ev: Evaluator, text: string, diag: DiagnosticSink, opts: ReadOptions = {}): void {
  ev.changed = false;
  readConfigSimple(ev, text, diag, opts);
  ev.calcValue(ev.modulesSym);
  let unsaved = 0;
  for (const sym of ev.syms.all()) {
    ev.calcValue(sym);
    if (sym.isChoice || sym.flags & F.NO_WRITE) continue;
    if (sym.hasUserValue && sym.flags & F.WRITE) {
      if (sym.type === 'bool' || sym.type === 'tristate') {
        if (sym.userTri === sym.currTri) continue;
      } else if (sym.currVal === sym.userVal) continue;
    } else if (!sym.hasUserValue && !(sym.flags & F.WRITE)) continue;
    unsaved++;
  }
  for (const sym of ev.syms.all()) {
    if (sym.hasUserValue && !sym.isChoiceValue) {
      if (sym.visible === 0 && !unsaved) sym.flags &= ~F.DEF_USER;
      if (sym.type === 'string' || sym.type === 'int' || sym.type === 'hex') {
        if (ev.stringWithinRange(sym, sym.userVal ?? '')) continue;
        sym.flags &= ~(F.VALID | F.DEF_USER);
        unsaved++;
      }
    }
  }
  ev.changed = unsaved > 0;
}

export function escapeString(v: string): string {
  return `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

function printForDotconfig(ev: Evaluator, sym: KSymbol, prefix: string): string {
  if (sym.type === 'unknown') return '';
  const val = ev.stringValue(sym);
  if ((sym.type === 'bool' || sym.type === 'tristate') && val[0] === 'n') return `# ${prefix}${sym.name} is not set\n`;
  return `${prefix}${sym.name}=${sym.type === 'string' ? escapeString(val) : val}\n`;
}

function menuIsVisible(ev: Evaluator, menu: MenuNode): boolean {
  if (!menu.prompt) return false;
  if (menu.visibility && ev.exprValue(menu.visibility) === 0) return false;
  const sym = menu.sym;
  let visible: number;
  if (sym) {
    ev.calcValue(sym);
    visible = menu.prompt.visibleTri;
  } else {
    visible = menu.prompt.visibleTri = ev.exprValue(menu.prompt.visibleExpr);
  }
  if (visible !== 0) return true;
  if (!sym || sym.currTri === 0) return false;
  for (let c = menu.list; c; c = c.next) {
    if (menuIsVisible(ev, c)) {
      sym.flags |= F.DEF_USER;
      return true;
    }
  }
  return false;
}

export { menuIsVisible };

export function heading(mainmenu: string, style: 'pound' | 'c'): string {
  if (style === 'pound') return `#\n# Automatically generated file; DO NOT EDIT.\n# ${mainmenu}\n#\n`;
  return `/*\n * Automatically generated file; DO NOT EDIT.\n * ${mainmenu}\n */\n`;
}

/** `conf_write`: the full .config text in menu order. */
export function writeConfig(ev: Evaluator, mainmenu: string, prefix = 'CONFIG_'): string {
  const out: string[] = [heading(mainmenu, 'pound')];
  if (!ev.changed) ev.clearAllValid();
  let needNewline = false;
  let menu: MenuNode | null = ev.root.list;
  const written: KSymbol[] = [];
  while (menu) {
    const sym = menu.sym;
    let descend = true;
    if (!sym) {
      if (menuIsVisible(ev, menu)) {
        out.push(`\n#\n# ${menu.prompt?.text ?? ''}\n#\n`);
        needNewline = false;
      }
    } else if (!sym.isChoice && !(sym.flags & F.WRITTEN)) {
      ev.calcValue(sym);
      if (sym.flags & F.WRITE) {
        if (needNewline) {
          out.push('\n');
          needNewline = false;
        }
        sym.flags |= F.WRITTEN;
        written.push(sym);
        out.push(printForDotconfig(ev, sym, prefix));
      }
    }
    if (descend && menu.list) {
      menu = menu.list;
      continue;
    }
    // leave nodes until one has a next sibling
    for (;;) {
      const m: MenuNode = menu as MenuNode;
      if (!m.sym && m !== ev.root && m.prompt && m.prompt.type === 'menu' && menuIsVisible(ev, m)) {
        out.push(`# end of ${m.prompt.text ?? ''}\n`);
        needNewline = true;
      }
      if (m.next) {
        menu = m.next;
        break;
      }
      menu = m.parent;
      if (!menu || menu === ev.root) {
        menu = null;
        break;
      }
    }
    descend = true;
  }
  for (const s of written) s.flags &= ~F.WRITTEN;
  ev.changed = false;
  return out.join('');
}

/** `conf_write_defconfig`: only what differs from the defaults, no comments. */
export function writeDefconfig(ev: Evaluator, prefix = 'CONFIG_'): string {
  const out: string[] = [];
  ev.clearAllValid();
  let menu: MenuNode | null = ev.root.list;
  while (menu) {
    const sym = menu.sym;
    if (!sym) {
      menuIsVisible(ev, menu);
    } else if (!sym.isChoice) {
      ev.calcValue(sym);
      let emit = false;
      if (sym.flags & F.WRITE) {
        sym.flags &= ~F.WRITE;
        emit = true;
        if (!ev.isChangeable(sym)) emit = false;
        else if (ev.stringValue(sym) === ev.stringDefault(sym)) emit = false;
        else if (sym.isChoiceValue) {
          const cs = ev.choicePropSym(sym);
          const ds = ev.choiceDefault(cs);
          if (!(cs.flags & F.OPTIONAL) && sym === ds && sym.type === 'bool' && sym.currTri === 2) emit = false;
        }
      }
      if (emit) out.push(printForDotconfig(ev, sym, prefix));
    }
    if (menu.list) menu = menu.list;
    else if (menu.next) menu = menu.next;
    else {
      let m: MenuNode | null = menu.parent;
      menu = null;
      while (m) {
        if (m.next) {
          menu = m.next;
          break;
        }
        m = m.parent;
      }
    }
  }
  return out.join('');
}

export interface AutoconfOutputs {
  autoConf: string;
  autoconfH: string;
  rustcCfg: string;
}

/**
 * `include/config/auto.conf.cmd`, the make fragment that reruns syncconfig when a Kconfig file
 * changes or a variable the Kconfig files read has another value in make: every file parsed,
 * newest first as conf lists them, then the variables in the order they were first read.
 */
export function autoconfCmd(files: readonly string[], envUsed: ReadonlyMap<string, string>, autoconfName = 'include/config/auto.conf'): string {
  const out = ['deps_config := \\\n'];
  for (const f of [...new Set(files)].reverse()) out.push(`\t${f} \\\n`);
  out.push(`\n${autoconfName}: $(deps_config)\n\n`);
  for (const [name, value] of envUsed) out.push(`ifneq "$(${name})" "${value}"\n${autoconfName}: FORCE\nendif\n`);
  out.push('\n$(deps_config): ;\n');
  return out.join('');
}

/** The syncconfig outputs, in conf's symbol-table (hash) order. */
export function writeAutoconf(ev: Evaluator, mainmenu: string, prefix = 'CONFIG_'): AutoconfOutputs {
  // conf re-reads the previous auto.conf first, which invalidates every value
  for (const s of ev.syms.all()) s.flags &= ~F.VALID;
  ev.calcValue(ev.modulesSym);
  for (const s of ev.syms.all()) ev.calcValue(s);
  const conf: string[] = [heading(mainmenu, 'pound')];
  const h: string[] = [heading(mainmenu, 'c')];
  const rust: string[] = [];
  for (const sym of ev.syms.all()) {
    if (!(sym.flags & F.WRITE) || sym.name === null || sym.type === 'unknown') continue;
    const val = ev.stringValue(sym);
    const isTri = sym.type === 'bool' || sym.type === 'tristate';
    // auto.conf: n omitted, strings neither quoted nor escaped (6.1)
    if (!(isTri && val[0] === 'n')) conf.push(`${prefix}${sym.name}=${val}\n`);
    // autoconf.h
    if (isTri) {
      if (val[0] !== 'n') h.push(`#define ${prefix}${sym.name}${val[0] === 'm' ? '_MODULE' : ''} 1\n`);
    } else if (sym.type === 'hex') {
      const pre = val[0] !== '0' || (val[1] !== 'x' && val[1] !== 'X') ? '0x' : '';
      h.push(`#define ${prefix}${sym.name} ${pre}${val}\n`);
    } else if (sym.type === 'string') {
      h.push(`#define ${prefix}${sym.name} ${escapeString(val)}\n`);
    } else {
      h.push(`#define ${prefix}${sym.name} ${val}\n`);
    }
    // rustc_cfg
    if (isTri) {
      if (val[0] === 'n') continue;
      rust.push(`--cfg=${prefix}${sym.name}\n`);
      rust.push(`--cfg=${prefix}${sym.name}=${escapeString(val)}\n`);
    } else {
      const pre = sym.type === 'hex' && (val[0] !== '0' || (val[1] !== 'x' && val[1] !== 'X')) ? '0x' : '';
      rust.push(`--cfg=${prefix}${sym.name}=${escapeString(pre + val)}\n`);
    }
  }
  return { autoConf: conf.join(''), autoconfH: h.join(''), rustcCfg: rust.join('') };
}

/** `CONFIG_X=...` lines of a .config, by symbol (no prefix); `is not set` as 'n' */
export function configValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^CONFIG_(\w+)=(.*)$/.exec(line);
    if (set?.[1] !== undefined) values.set(set[1], set[2] ?? '');
    const unset = /^# CONFIG_(\w+) is not set$/.exec(line);
    if (unset?.[1] !== undefined) values.set(unset[1], 'n');
  }
  return values;
}

/** the options a .config text sets to y, in file order */
export function enabledOptions(config: string): string[] {
  return [...config.matchAll(/^CONFIG_(\w+)=y$/gm)].map((m) => m[1] as string);
}
