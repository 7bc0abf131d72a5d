import { srcarchOf } from '../kconfig/env.js';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { and, FALSE, not, or, orAll, sym, TRUE, type Cond } from './cond.js';

/**
 * Which Kconfig options make Kbuild compile a given file into vmlinux.
 *
 * Each `Makefile`/`Kbuild` is evaluated symbolically, in order: a variable such as
 * `obj-$(CONFIG_X)` is the conditional part of `obj-y`; `:=` replaces what was there under its
 * condition, `+=` appends; `$(var)` references splice the referenced entries in (so
 * `mmu-$(CONFIG_MMU) := ... mprotect.o` used as `obj-y += $(mmu-y)` gives MMU); `ifdef`/`ifeq`
 * blocks add their condition. Composite objects (`foo-y`, `foo-objs`) and sub-directories
 * chain the conditions up to the top-level Kbuild.
 */

interface Entry {
  word: string;
  cond: Cond;
}

export interface MakefileModel {
  file: string;
  /** effective variable (`obj-y`, `mmu-y`, `foo-y`...) → words with their conditions */
  vars: Map<string, Entry[]>;
  unknownConditions: string[];
}

export interface KbuildContext {
  /** make variables known for the architecture: SRCARCH, ARCH, BITS, ... */
  vars: Record<string, string>;
}

/** The make variables Kbuild Makefiles test, for `make ARCH=arch`. */
export function kbuildContextFor(arch: string): KbuildContext {
  return { vars: { SRCARCH: srcarchOf(arch), ARCH: arch, BITS: arch.endsWith('64') ? '64' : '32', UTS_MACHINE: arch } };
}

/** `$(CONFIG_X)` / `$(subst m,y,$(CONFIG_X))` as a suffix → (effective suffix, condition) */
function suffixCond(suffix: string): { eff: string; cond: Cond } | null {
  if (suffix === 'y' || suffix === 'objs') return { eff: 'y', cond: TRUE };
  if (suffix === 'm') return { eff: 'y', cond: FALSE };
  let m = /^\$\(CONFIG_([A-Za-z0-9_]+)\)$/.exec(suffix);
  if (m) return { eff: 'y', cond: sym(m[1] as string, 'y') };
  m = /^\$\(SUBST_MY__([A-Za-z0-9_]+)\)$/.exec(suffix);
  if (m) return { eff: 'y', cond: sym(m[1] as string, 'set') };
  return null;
}

function joinContinuations(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    if (raw.endsWith('\\')) {
      cur += `${raw.slice(0, -1)} `;
      continue;
    }
    out.push(cur + raw);
    cur = '';
  }
  if (cur) out.push(cur);
  return out;
}

function stripComment(line: string): string {
  const i = line.indexOf('#');
  return i >= 0 ? line.slice(0, i) : line;
}

export function parseMakefile(file: string, text: string, ctx: KbuildContext): MakefileModel {
  const vars = new Map<string, Entry[]>();
  const unknown: string[] = [];
  // each open conditional: its condition and whether we are in the else branch
  const stack: Array<{ cond: Cond; inElse: boolean; prevBranches: Cond }> = [];
  const blockCond = (): Cond => stack.reduce<Cond>((acc, s) => and(acc, s.inElse ? and(not(s.prevBranches), TRUE) : s.cond), TRUE);

  const expandWord = (w: string): string =>
    w.replace(/\$\(([A-Za-z0-9_]+)\)/g, (all, name: string) => (ctx.vars[name] !== undefined ? (ctx.vars[name] as string) : all));

  const makeCond = (kind: string, args: string): Cond => {
    if (kind === 'ifdef' || kind === 'ifndef') {
      const v = args.trim();
      const m = /^CONFIG_([A-Za-z0-9_]+)$/.exec(v);
      const c = m ? sym(m[1] as string, 'set') : ctx.vars[v] !== undefined ? (ctx.vars[v] ? TRUE : FALSE) : ({ k: 'unknown', text: `${kind} ${v}` } as Cond);
      if (!m && ctx.vars[v] === undefined) unknown.push(`${file}: ${kind} ${v}`);
      return kind === 'ifdef' ? c : not(c);
    }
    // ifeq/ifneq (a,b) or "a" "b"
    let a: string | undefined;
    let b: string | undefined;
    const paren = /^\s*\((.*),(.*)\)\s*$/.exec(args);
    if (paren) {
      a = paren[1]?.trim();
      b = paren[2]?.trim();
    } else {
      const q = /^\s*["'](.*)["']\s+["'](.*)["']\s*$/.exec(args);
      if (q) {
        a = q[1]?.trim();
        b = q[2]?.trim();
      }
    }
    let c: Cond | null = null;
    if (a !== undefined && b !== undefined) {
      const cfgA = /^\$\(CONFIG_([A-Za-z0-9_]+)\)$/.exec(a);
      const cfgB = /^\$\(CONFIG_([A-Za-z0-9_]+)\)$/.exec(b);
      const cfg = cfgA ?? cfgB;
      const other = cfgA ? b : a;
      if (cfg) {
        const name = cfg[1] as string;
        if (other === 'y') c = sym(name, 'y');
        else if (other === 'm') c = sym(name, 'm');
        else if (other === '') c = not(sym(name, 'set'));
        else c = { k: 'cmp', op: '=', left: name, right: other.startsWith('"') ? other : `"${other}"` };
      } else {
        const ea = expandWord(a);
        const eb = expandWord(b);
        if (!ea.includes('$(') && !eb.includes('$(')) c = ea === eb ? TRUE : FALSE;
      }
    }
    if (!c) {
      unknown.push(`${file}: ${kind} ${args.trim()}`);
      c = { k: 'unknown', text: `${kind} ${args.trim()}` };
      return c;
    }
    return kind === 'ifeq' ? c : not(c);
  };

  const lookupRef = (name: string): Entry[] | undefined => {
    const s = /^(.*)-(y|objs)$/.exec(name);
    return vars.get(s ? `${s[1]}-y` : name);
  };

  // a tab-led line is a recipe only after a rule; inside ifdef blocks it is an ordinary line
  let inRecipe = false;
  for (const rawLine of joinContinuations(text)) {
    // `$(subst m,y,$(CONFIG_X))` (y or m builds it in) has blanks; give it a one-word form
    const line = stripComment(rawLine).replace(/\$\(subst m,y,\$\(CONFIG_([A-Za-z0-9_]+)\)\)/g, '$$(SUBST_MY__$1)');
    const t = line.trim();
    if (/^\t/.test(rawLine) && inRecipe) continue;
    if (!t) continue;
    inRecipe = false;
    if (!/^(ifdef|ifndef|ifeq|ifneq|else|endif)\b/.test(t) && /^[^=#]*[^:=+?]:(?!=)/.test(t) && !/^[A-Za-z0-9_.$()/,-]+\s*(:=|\+=|\?=|=)/.test(t)) {
      inRecipe = true; // a rule: its recipe follows
      continue;
    }
    let m = /^(ifdef|ifndef|ifeq|ifneq)\s+(.*)$/.exec(t);
    if (m) {
      stack.push({ cond: makeCond(m[1] as string, m[2] as string), inElse: false, prevBranches: FALSE });
      continue;
    }
    m = /^else(?:\s+(ifdef|ifndef|ifeq|ifneq)\s+(.*))?$/.exec(t);
    if (m) {
      const top = stack[stack.length - 1];
      if (!top) continue;
      if (m[1]) {
        // `else ifeq`: a new branch whose condition excludes the earlier ones
        const prev = or(top.prevBranches, top.cond);
        top.prevBranches = prev;
        top.cond = and(not(prev), makeCond(m[1], m[2] as string));
        top.inElse = false;
      } else {
        top.prevBranches = or(top.prevBranches, top.cond);
        top.inElse = true;
      }
      continue;
    }
    if (t === 'endif') {
      stack.pop();
      continue;
    }
    m = /^([A-Za-z0-9_.$()/,-]+?)\s*(:=|\+=|\?=|=)\s*(.*)$/.exec(t);
    if (!m) continue;
    const lhs = expandWord(m[1] as string);
    const op = m[2] as string;
    const rhs = m[3] as string;
    // split `prefix-suffix`: the suffix carries the condition
    const dash = /^(.*?)-(y|m|objs|\$\(CONFIG_[A-Za-z0-9_]+\)|\$\(SUBST_MY__[A-Za-z0-9_]+\))$/.exec(lhs);
    let eff: string;
    let cond = blockCond();
    if (dash) {
      const sc = suffixCond(dash[2] as string);
      if (!sc) continue;
      eff = `${dash[1]}-y`;
      cond = and(cond, sc.cond);
    } else eff = lhs;
    const words: Entry[] = [];
    for (const w of rhs.split(/\s+/).filter(Boolean)) {
      const ref = /^\$\(([A-Za-z0-9_.-]+)\)$/.exec(w);
      if (ref) {
        const entries = lookupRef(ref[1] as string);
        if (entries) {
          for (const e of entries) words.push({ word: e.word, cond: and(cond, e.cond) });
          continue;
        }
      }
      words.push({ word: expandWord(w), cond });
    }
    const list = vars.get(eff) ?? [];
    if (op === '+=' || (op === '?=' && list.length > 0)) {
      vars.set(eff, op === '?=' ? list : [...list, ...words]);
    } else {
      // `:=`/`=` replace the variable whenever this assignment is in effect
      vars.set(eff, [...list.map((e) => ({ word: e.word, cond: and(e.cond, not(cond)) })), ...words]);
    }
  }
  return { file, vars, unknownConditions: unknown };
}

/** The Kbuild map of one tree and architecture; Makefiles are parsed on demand and cached. */
export class KbuildMap {
  private readonly models = new Map<string, MakefileModel | null>();
  private readonly dirConds = new Map<string, Cond>();
  readonly unknownConditions: string[] = [];

  constructor(
    private readonly tree: string,
    private readonly ctx: KbuildContext,
  ) {}

  model(dir: string): MakefileModel | null {
    if (this.models.has(dir)) return this.models.get(dir) ?? null;
    let model: MakefileModel | null = null;
    for (const name of ['Kbuild', 'Makefile']) {
      const p = join(this.tree, dir, name);
      if (existsSync(p)) {
        model = parseMakefile(posix.join(dir, name), readFileSync(p, 'utf8'), this.ctx);
        this.unknownConditions.push(...model.unknownConditions);
        break;
      }
    }
    this.models.set(dir, model);
    return model;
  }

  /** Condition for `word` (an object `x.o` or a directory `sub/`) being built in via `dir`'s Makefile. */
  private inDir(dir: string, word: string, depth = 0): Cond | null {
    const m = this.model(dir);
    if (!m || depth > 8) return null;
    const terms: Cond[] = [];
    for (const list of [m.vars.get('obj-y'), m.vars.get('lib-y')]) {
      for (const e of list ?? []) if (e.word === word || e.word === `./${word}`) terms.push(e.cond);
    }
    // composite objects: foo-y / foo-objs containing word, with foo.o built
    if (word.endsWith('.o')) {
      for (const [name, entries] of m.vars) {
        if (name === 'obj-y' || name === 'lib-y' || !name.endsWith('-y')) continue;
        const hits = entries.filter((e) => e.word === word);
        if (!hits.length) continue;
        const base = name.slice(0, -2);
        const outer = this.inDir(dir, `${base}.o`, depth + 1);
        if (outer) for (const h of hits) terms.push(and(outer, h.cond));
      }
    }
    return terms.length ? orAll(terms) : null;
  }

  /** Condition under which directory `dir` (relative to the tree) is descended into. */
  dirCondition(dir: string): Cond {
    if (dir === '' || dir === '.') return TRUE;
    const cached = this.dirConds.get(dir);
    if (cached) return cached;
    let result: Cond | null = null;
    // libs-y of the top Makefile and the arch Makefile: archives linked into vmlinux
    if (dir === 'lib' || dir === `arch/${this.ctx.vars.SRCARCH}/lib`) result = TRUE;
    let parent = dir;
    while (!result && parent !== '.' && parent !== '') {
      parent = dirname(parent);
      const p = parent === '.' ? '' : parent;
      const rel = posix.relative(p, dir);
      const c = this.inDir(p, `${rel}/`);
      if (c) result = and(this.dirCondition(p), c);
      if (p === '') break;
    }
    const r = result ?? FALSE;
    this.dirConds.set(dir, r);
    return r;
  }

  /**
   * Condition for a C file being compiled into vmlinux; `null` when no Makefile mentions it
   * (then callers look for a C file that #includes it).
   */
  fileCondition(relPath: string): Cond | null {
    const dir = dirname(relPath) === '.' ? '' : dirname(relPath);
    const obj = `${posix.basename(relPath).replace(/\.[cS]$/, '')}.o`;
    const c = this.inDir(dir, obj);
    if (!c) return null;
    return and(this.dirCondition(dir), c);
  }

  /** C files in the same directory that `#include "<base>"` the given file. */
  includers(relPath: string): string[] {
    const dir = dirname(relPath);
    const base = posix.basename(relPath);
    const out: string[] = [];
    let files: string[] = [];
    try {
      files = readdirSync(join(this.tree, dir));
    } catch {
      return out;
    }
    for (const f of files) {
      if (!f.endsWith('.c') || f === base) continue;
      const text = readFileSync(join(this.tree, dir, f), 'utf8');
      if (new RegExp(`^\\s*#\\s*include\\s+"${base.replace(/[.]/g, "\\.")}"`, "m").test(text)) out.push(posix.join(dir, f));
    }
    return out;
  }
}

export { not, or, and };
