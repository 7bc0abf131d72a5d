/**
 * Property-based fuzzing of the Kconfig engine's input handling (fast-check).
 *
 * The contract under test: bad input only ever produces a typed `KconfigError` (with a `kind` and a
 * `location`) or diagnostics, never another exception type, never a hang, never a stack overflow;
 * and well-formed input always yields well-formed configuration text.
 *
 * Every property has a fixed seed so CI is reproducible. fast-check prints the seed and the
 * replay path of a failure; to explore further set FUZZ_SEED (one seed for all properties) and/or
 * FUZZ_RUNS=<factor> (multiplies every numRuns), e.g.
 *
 *   FUZZ_SEED=1234 FUZZ_RUNS=20 npx vitest run test/kconfig-fuzz.test.ts
 *
 * Tests named "conformance (regression)" pin engine defects this fuzzer found (now fixed);
 * "documented limit" tests pin where the engine's recursion ends (a typed error, never a crash).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KconfigError, type KconfigErrorKind } from '../src/kconfig/errors.js';
import { Kconfig, type AllMode } from '../src/kconfig/kconfig.js';

// ---------------------------------------------------------------------------------------------
// harness
// ---------------------------------------------------------------------------------------------

const SRCTREE = '/virtual';
const HEADER = '#\n# Automatically generated file; DO NOT EDIT.\n';
const ALL_MODES: readonly AllMode[] = ['allnoconfig', 'allyesconfig', 'allmodconfig', 'alldefconfig'];
const ALL_KINDS: readonly KconfigErrorKind[] = ['syntax', 'macro', 'io', 'dependency', 'config', 'usage'];
/** wall-clock budget for one fuzz input (parse + all modes); generous: 2 cores, other jobs */
const RUN_BUDGET_MS = 2_000;
/** overall time cap per property (fast-check stops generating, and stops shrinking, after it) */
const PROPERTY_CAP_MS = 12_000;

const RUNS_FACTOR = Number(process.env.FUZZ_RUNS ?? 1) || 1;
const runs = (n: number): number => Math.max(1, Math.round(n * RUNS_FACTOR));
const seedFor = (fixed: number): number => (process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : fixed);

function fcOptions(seed: number, numRuns: number): fc.Parameters<unknown> {
  return {
    seed: seedFor(seed),
    numRuns: runs(numRuns),
    plugins: [fc.interruptAfterTimeLimit(PROPERTY_CAP_MS * Math.max(1, RUNS_FACTOR))],
  };
}

type Files = Record<string, string>;

interface TreeOptions {
  env?: Record<string, string>;
  /** what readFile does for a path that is not in `files` (default: ENOENT) */
  missing?: (path: string) => never;
  /** what readFile returns/throws before the lookup (e.g. ENAMETOOLONG) */
  preRead?: (path: string) => void;
  shell?: (cmd: string) => string;
}

function enoent(path: string): never {
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
}

/** Parse an in-memory tree; `files` is keyed by the path relative to the srctree. */
function parseTree(files: Files, opts: TreeOptions = {}): Kconfig {
  return Kconfig.parse({
    srctree: SRCTREE,
    kconfig: 'Kconfig',
    env: opts.env ?? {},
    shell: { run: opts.shell ?? (() => 'fake') },
    stdout: () => {},
    readFile: (path: string) => {
      opts.preRead?.(path);
      const rel = path.startsWith(`${SRCTREE}/`) ? path.slice(SRCTREE.length + 1) : path;
      // own properties only: `source "constructor"` must not find Object.prototype.constructor
      if (Object.hasOwn(files, rel)) return files[rel] as string;
      return (opts.missing ?? enoent)(path);
    },
  });
}

function describeThrown(e: unknown): string {
  if (e instanceof Error) {
    const frames = (e.stack ?? '')
      .split('\n')
      .slice(1, 7)
      .map((l) => l.trim().replace(/\(?file:\/\/\/?.*?\/(src|test)\//, '($1/'))
      .join('\n      ');
    return `${e.constructor.name}: ${e.message.slice(0, 300)}\n      ${frames}`;
  }
  return `non-Error value ${String(e)}`;
}

/** Thrown when the engine throws something that is not an acceptable KconfigError. */
class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: KconfigError };

/**
 * Run `fn`; it may succeed or throw a KconfigError of one of `kinds` that carries a usable
 * location. Anything else (TypeError, RangeError, a location-less error, a wrong kind) is a
 * contract violation.
 */
function typed<T>(what: string, fn: () => T, kinds: readonly KconfigErrorKind[] = ALL_KINDS, needLocation = true): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (!(e instanceof KconfigError)) throw new ContractViolation(`${what}: threw ${describeThrown(e)}\n    (expected success or a KconfigError)`);
    if (!kinds.includes(e.code)) {
      throw new ContractViolation(`${what}: KconfigError of kind '${e.code}' (allowed: ${kinds.join(', ')}): ${e.message}`);
    }
    if (needLocation) {
      const loc = e.location;
      if (!loc || typeof loc.file !== 'string' || loc.file === '' || !Number.isInteger(loc.line) || loc.line < 1) {
        throw new ContractViolation(`${what}: KconfigError '${e.code}' without a usable location (${JSON.stringify(loc)}): ${e.message}`);
      }
    }
    return { ok: false, error: e };
  }
}

/** Run `fn`, which must not throw at all (the modes: every input has a defined result). */
function total<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new ContractViolation(`${what}: threw ${describeThrown(e)}\n    (a mode must not throw)`);
  }
}

/** Run `fn` and fail when it takes longer than `budgetMs` (a hang or super-linear blow-up). */
function timed<T>(what: string, budgetMs: number, fn: () => T): T {
  const t0 = performance.now();
  const r = fn();
  const dt = performance.now() - t0;
  if (dt > budgetMs) throw new ContractViolation(`${what}: took ${dt.toFixed(0)} ms (budget ${budgetMs} ms)`);
  return r;
}

function dump(files: Files): string {
  return Object.entries(files)
    .map(([name, text]) => `----- ${name} -----\n${text}`)
    .join('\n');
}

/** What a .config may hold: nothing, `#` comments, or `CONFIG_NAME=value`. */
function checkConfigShape(what: string, text: string, header = true): void {
  if (header && !text.startsWith(HEADER)) throw new ContractViolation(`${what}: output does not start with the header:\n${text.slice(0, 200)}`);
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new ContractViolation(`${what}: output contains a NUL byte (conf cannot even represent one): ${JSON.stringify(text.slice(Math.max(0, nul - 40), nul + 20))}`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new ContractViolation(`${what}: output does not end with a newline`);
  lines.pop();
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    if (!/^CONFIG_[^=\s]+=/.test(line)) throw new ContractViolation(`${what}: malformed line ${JSON.stringify(line.slice(0, 200))}`);
  }
}

const VALUE_RE: Record<string, RegExp> = {
  bool: /^y$/,
  tristate: /^[ym]$/,
  int: /^(-?(0|[1-9][0-9]*))?$/,
  hex: /^((0[xX])?[0-9a-fA-F]+)?$/,
  string: /^"(?:[^"\\\n]|\\.)*"$/,
};

/**
 * Strict .config check for trees whose defaults are all well-typed: every `CONFIG_X=v` names a
 * known symbol, `v` is valid for its type, no symbol is written twice, and `is not set` is only
 * used for bool/tristate symbols. Returns name → value (n for "is not set").
 */
function checkConfigStrict(what: string, kc: Kconfig, text: string, header = true): Map<string, string> {
  checkConfigShape(what, text, header);
  const seen = new Map<string, string>();
  for (const line of text.split('\n')) {
    let name: string;
    let value: string;
    const set = /^CONFIG_([^=]+)=(.*)$/.exec(line);
    const unset = /^# CONFIG_(\S+) is not set$/.exec(line);
    if (set) {
      name = set[1] as string;
      value = set[2] as string;
    } else if (unset) {
      name = unset[1] as string;
      value = 'n';
    } else continue;
    const sym = kc.symbol(name);
    if (!sym) throw new ContractViolation(`${what}: writes unknown symbol ${name}`);
    if (seen.has(name)) throw new ContractViolation(`${what}: writes ${name} twice`);
    seen.set(name, value);
    const re = VALUE_RE[sym.type];
    if (!re) throw new ContractViolation(`${what}: writes ${name} of type ${sym.type}`);
    if (value === 'n') {
      if (sym.type !== 'bool' && sym.type !== 'tristate') throw new ContractViolation(`${what}: '# ${name} is not set' for a ${sym.type}`);
    } else if (!re.test(value)) {
      throw new ContractViolation(`${what}: invalid ${sym.type} value in ${JSON.stringify(line.slice(0, 200))}`);
    }
  }
  return seen;
}

/** Run every mode on a parsed tree; the outputs must be well-formed (strictly, when asked). */
function runAllModes(kc: Kconfig, strict: boolean): Record<string, string> {
  const check = (what: string, text: string, header = true): void => {
    if (strict) checkConfigStrict(what, kc, text, header);
    else checkConfigShape(what, text, header);
  };
  const out: Record<string, string> = {};
  out.olddefconfig = total('olddefconfig(null)', () => kc.olddefconfig(null));
  check('olddefconfig(null)', out.olddefconfig);
  for (const mode of ALL_MODES) {
    out[mode] = total(`allconfig(${mode})`, () => kc.allconfig(mode));
    check(`allconfig(${mode})`, out[mode]);
  }
  out.savedefconfig = total('savedefconfig(allyesconfig)', () => kc.savedefconfig(out.allyesconfig as string));
  check('savedefconfig(allyesconfig)', out.savedefconfig, false);
  out.defconfig = total('defconfig(savedefconfig)', () => kc.defconfig(out.savedefconfig as string));
  check('defconfig(savedefconfig)', out.defconfig);
  const sync = total('syncconfig(allmodconfig)', () => kc.syncconfig(out.allmodconfig as string));
  check('syncconfig(allmodconfig).config', sync.config);
  if (!sync.autoConf.startsWith(HEADER)) throw new ContractViolation('syncconfig: auto.conf without header');
  if (!sync.autoconfH.startsWith('/*\n * Automatically generated file; DO NOT EDIT.\n')) throw new ContractViolation('syncconfig: autoconf.h without header');
  out.reread = total('olddefconfig(allnoconfig)', () => kc.olddefconfig(out.allnoconfig as string));
  check('olddefconfig(allnoconfig)', out.reread);
  return out;
}

// ---------------------------------------------------------------------------------------------
// grammar-aware tree generator
// ---------------------------------------------------------------------------------------------

type Ty = 'bool' | 'tristate' | 'int' | 'hex' | 'string';
type CmpOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

type ExprSpec =
  | { k: 'sym'; r: number }
  | { k: 'lit'; v: 'y' | 'm' | 'n' }
  | { k: 'undef'; r: number }
  | { k: 'not'; e: ExprSpec }
  | { k: 'bin'; op: '&&' | '||'; l: ExprSpec; r: ExprSpec; paren: boolean }
  | { k: 'cmp'; op: CmpOp; a: number; b: number | string };

interface DefaultSpec {
  e: ExprSpec;
  lit: number;
  ref: boolean;
  cond: ExprSpec | null;
}
interface SelectSpec {
  t: number;
  imply: boolean;
  cond: ExprSpec | null;
}
interface ConfigSpec {
  k: 'config';
  ty: Ty;
  menuconfig: boolean;
  /** 0: `bool "p"`, 1: `bool` + `prompt "p"`, 2: `def_bool expr` (bool/tristate) */
  form: number;
  prompt: { text: number; cond: ExprSpec | null } | null;
  defaults: DefaultSpec[];
  deps: ExprSpec[];
  selects: SelectSpec[];
  range: { lo: number; hi: number; cond: ExprSpec | null } | null;
  help: number;
  trailingComment: boolean;
}
interface MemberSpec {
  prompt: number;
  typeless: boolean;
  boolInTristate: boolean;
  deps: ExprSpec[];
  help: number;
}
interface ChoiceSpec {
  k: 'choice';
  ty: 'bool' | 'tristate';
  typeless: boolean;
  named: boolean;
  optional: boolean;
  prompt: number;
  deps: ExprSpec[];
  def: { m: number; cond: ExprSpec | null } | null;
  members: MemberSpec[];
  help: number;
}
interface BlockSpec {
  k: 'menu' | 'if';
  title: number;
  cond: ExprSpec;
  deps: ExprSpec[];
  visible: ExprSpec | null;
}
interface CommentSpec {
  k: 'comment';
  text: number;
  deps: ExprSpec[];
}
interface MacroSpec {
  k: 'macro';
  v: number;
  op: '=' | ':=' | '+=';
  val: number;
}
interface RedefSpec {
  k: 'redef';
  r: number;
  prompt: number | null;
  def: 'y' | 'm' | 'n' | null;
  dep: ExprSpec | null;
}
type EntrySpec = ConfigSpec | ChoiceSpec | BlockSpec | CommentSpec | MacroSpec | RedefSpec | { k: 'close' } | { k: 'source' };

interface TreeSpec {
  mainmenu: boolean;
  modules: boolean;
  indent: string;
  /** references may point at later symbols (dependency loops become possible) */
  forward: boolean;
  /** write the constant m as y (see roundTripTreeArb) */
  noM?: boolean;
  entries: EntrySpec[];
}

interface GeneratedTree {
  files: Files;
  acyclic: boolean;
}

const PROMPTS = [
  'Feature',
  'Enable the thing',
  'with \\"quotes\\"',
  'back\\\\slash',
  'macro $(V0) and $(V1)',
  'tab\there',
  '',
  ' leading space',
  'ünïcödé ✓',
  "it's",
  '$(filename):$(lineno)',
  '$(shell,echo hi)',
  '# not a comment',
];
const STRINGS = ['', 'abc', 'with space', 'q\\"uote', 'b\\\\s', '$(V1)', '$(shell,uname)', '#hash', 'ü', '$(V0)/$(V2)'];
const MACRO_VALUES = [
  'plain',
  '',
  'a,b,c',
  '$(info,hello from $(filename))',
  '$(warning-if,y,careful)',
  '$(warning-if,n,quiet)',
  '$(error-if,n,never)',
  '$(shell,echo hi)',
  '$(filename):$(lineno)',
  '$(UNDEFINED_VAR)',
  '$(PREV)-x',
  '$(PREV)$(PREV)',
  '$(if-not-a-function,$(PREV))',
  '$$(escaped)',
];
const HELP_LINES = ['Some help.', '  indented more', '', 'Multiple words here', '\tafter a tab', 'ends.'];

const nat = (max: number): fc.Arbitrary<number> => fc.nat({ max });

function exprArb(depth: number): fc.Arbitrary<ExprSpec> {
  const leaf: fc.Arbitrary<ExprSpec> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ k: fc.constant('sym' as const), r: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('lit' as const), v: fc.constantFrom('y' as const, 'm' as const, 'n' as const) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('undef' as const), r: nat(3) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('cmp' as const),
        op: fc.constantFrom<CmpOp>('=', '!=', '<', '<=', '>', '>='),
        a: fc.nat(),
        b: fc.oneof(fc.nat(), fc.constantFrom('"0"', '5', '0x10', '"y"', 'y', 'n', 'm', '""', '-1', '"abc"')),
      }),
    },
  );
  if (depth <= 0) return leaf;
  const sub = exprArb(depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('not' as const), e: sub }) },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.constant('bin' as const), op: fc.constantFrom('&&' as const, '||' as const), l: sub, r: sub, paren: fc.boolean() }),
    },
  );
}

const EXPR = exprArb(2);
const optExpr = fc.option(EXPR, { freq: 3 });
const deps = fc.array(EXPR, { maxLength: 2 });

const configArb: fc.Arbitrary<ConfigSpec> = fc.record({
  k: fc.constant('config' as const),
  ty: fc.constantFrom<Ty>('bool', 'bool', 'tristate', 'tristate', 'int', 'hex', 'string'),
  menuconfig: fc.boolean(),
  form: nat(2),
  prompt: fc.option(fc.record({ text: fc.nat(), cond: optExpr }), { freq: 4 }),
  defaults: fc.array(fc.record({ e: EXPR, lit: fc.integer({ min: -50, max: 600 }), ref: fc.boolean(), cond: optExpr }), { maxLength: 2 }),
  deps,
  selects: fc.array(fc.record({ t: fc.nat(), imply: fc.boolean(), cond: optExpr }), { maxLength: 2 }),
  range: fc.option(fc.record({ lo: fc.integer({ min: -10, max: 300 }), hi: fc.integer({ min: -10, max: 600 }), cond: optExpr }), { freq: 3 }),
  help: nat(3),
  trailingComment: fc.boolean(),
});

const choiceArb: fc.Arbitrary<ChoiceSpec> = fc.record({
  k: fc.constant('choice' as const),
  ty: fc.constantFrom('bool' as const, 'tristate' as const),
  typeless: fc.boolean(),
  named: fc.boolean(),
  optional: fc.boolean(),
  prompt: fc.nat(),
  deps,
  def: fc.option(fc.record({ m: fc.nat(), cond: optExpr }), { freq: 2 }),
  members: fc.array(
    fc.record({ prompt: fc.nat(), typeless: fc.boolean(), boolInTristate: fc.boolean(), deps: fc.array(EXPR, { maxLength: 1 }), help: nat(2) }),
    { minLength: 1, maxLength: 4 },
  ),
  help: nat(2),
});

const entryArb: fc.Arbitrary<EntrySpec> = fc.oneof(
  { weight: 10, arbitrary: configArb },
  { weight: 2, arbitrary: choiceArb },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constantFrom('menu' as const, 'if' as const), title: fc.nat(), cond: EXPR, deps, visible: fc.option(EXPR, { freq: 3 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ k: 'close' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('comment' as const), text: fc.nat(), deps }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('macro' as const), v: nat(3), op: fc.constantFrom('=' as const, ':=' as const, '+=' as const), val: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('redef' as const),
      r: fc.nat(),
      prompt: fc.option(fc.nat()),
      def: fc.option(fc.constantFrom('y' as const, 'm' as const, 'n' as const)),
      dep: fc.option(EXPR),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'source' as const }) },
);

function treeSpecArb(forward: boolean, maxEntries = 24): fc.Arbitrary<TreeSpec> {
  return fc.record({
    mainmenu: fc.boolean(),
    modules: fc.boolean(),
    indent: fc.constantFrom('\t', '  ', '    ', '\t '),
    forward: forward ? fc.boolean() : fc.constant(false),
    entries: fc.array(entryArb, { minLength: 1, maxLength: maxEntries }),
  });
}

interface SymInfo {
  name: string;
  ty: Ty;
  member: boolean;
}

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length] as T;

/**
 * Render a TreeSpec as Kconfig files. Without `forward`, every expression of an entry mentions
 * only symbols defined before it and select/imply only target later symbols, so the tree has no
 * dependency loop (and must parse without any error).
 */
function renderTree(spec: TreeSpec): GeneratedTree {
  const I = spec.indent;
  const syms: SymInfo[] = [];
  if (spec.modules) syms.push({ name: 'MODULES', ty: 'bool', member: false });
  const firstSym: number[] = [];
  for (const e of spec.entries) {
    firstSym.push(syms.length);
    if (e.k === 'config') syms.push({ name: `S${syms.length}`, ty: e.ty, member: false });
    else if (e.k === 'choice') {
      for (const m of e.members) {
        const ty: Ty = e.ty === 'tristate' && m.boolInTristate && !e.typeless ? 'bool' : e.ty;
        syms.push({ name: `S${syms.length}`, ty, member: true });
      }
    }
  }

  const files: Files = {};
  const main: string[] = [];
  let cur = main;
  let subCount = 0;
  if (spec.mainmenu) main.push('mainmenu "Fuzz tree $(V0)"', '');
  if (spec.modules) main.push('config MODULES', `${I}bool "Enable loadable module support"`, `${I}default y`, `${I}modules`, '');

  const pool = (before: number, filter?: (s: SymInfo) => boolean): SymInfo[] => {
    const base = spec.forward ? syms : syms.slice(0, before);
    return filter ? base.filter(filter) : base;
  };
  const symName = (p: SymInfo[], r: number): string => (p.length ? pick(p, r).name : 'y');
  const rx = (e: ExprSpec, p: SymInfo[], top = true): string => {
    switch (e.k) {
      case 'sym':
        return symName(p, e.r);
      case 'lit':
        return spec.noM && e.v === 'm' ? 'y' : e.v;
      case 'undef':
        return `UNDEF${e.r}`;
      case 'not':
        return `!${e.e.k === 'bin' ? `(${rx(e.e, p, false)})` : rx(e.e, p, false)}`;
      case 'bin': {
        const s = `${rx(e.l, p, false)} ${e.op} ${rx(e.r, p, false)}`;
        return e.paren || !top ? `(${s})` : s;
      }
      case 'cmp':
        return `${symName(p, e.a)} ${e.op} ${typeof e.b === 'number' ? symName(p, e.b) : spec.noM && e.b === 'm' ? 'y' : e.b}`;
    }
  };
  const ifx = (c: ExprSpec | null, p: SymInfo[]): string => (c ? ` if ${rx(c, p)}` : '');
  // conf's lexer only sees `NAME = value` as an assignment after an end of line token, and a
  // help text is not one: an assignment right after a help block is a syntax error in conf too
  let afterHelp = false;
  const help = (n: number): void => {
    if (n === 0) return;
    afterHelp = true;
    cur.push(`${I}help`);
    for (let i = 0; i < n; i++) cur.push(`${I}  ${pick(HELP_LINES, i * 7 + n)}`);
  };
  const prompt = (n: number): string => `"${pick(PROMPTS, n)}"`;

  let depth = 0;
  const blocks: Array<'menu' | 'if'> = []; // open blocks; files switch only at the top level
  let curName = 'Kconfig';
  let macroDefined = 0;

  spec.entries.forEach((e, i) => {
    const before = firstSym[i] as number;
    const p = pool(before);
    if (e.k === 'macro' && afterHelp) cur.push('comment "a statement between help text and an assignment"', '');
    const lengthBefore = cur.length;
    const curBefore = cur;
    if (e.k !== 'source' && e.k !== 'close' && e.k !== 'redef') afterHelp = false;
    const emitted = (): boolean => cur !== curBefore || cur.length > lengthBefore;
    switch (e.k) {
      case 'config': {
        const me = syms[before] as SymInfo;
        const logic = me.ty === 'bool' || me.ty === 'tristate';
        cur.push(`${e.menuconfig ? 'menuconfig' : 'config'} ${me.name}${e.trailingComment ? ' # trailing comment' : ''}`);
        let defaults = e.defaults;
        if (e.form === 2 && logic) {
          const d = e.defaults[0];
          cur.push(`${I}def_${me.ty} ${d ? rx(d.e, p) : 'y'}${d ? ifx(d.cond, p) : ''}`);
          defaults = e.defaults.slice(1);
          if (e.prompt) cur.push(`${I}prompt ${prompt(e.prompt.text)}${ifx(e.prompt.cond, p)}`);
        } else if (e.form === 0 && e.prompt) {
          cur.push(`${I}${me.ty} ${prompt(e.prompt.text)}${ifx(e.prompt.cond, p)}`);
        } else {
          cur.push(`${I}${me.ty}`);
          if (e.prompt) cur.push(`${I}prompt ${prompt(e.prompt.text)}${ifx(e.prompt.cond, p)}`);
        }
        for (const d of e.deps) cur.push(`${I}depends on ${rx(d, p)}`);
        for (const d of defaults) {
          let v: string;
          const same = pool(before, (s) => s.ty === me.ty && !s.member);
          if (d.ref && same.length) v = pick(same, d.lit + 50).name;
          else if (logic) v = rx(d.e, p);
          else if (me.ty === 'int') v = String(d.lit);
          else if (me.ty === 'hex') v = `0x${Math.abs(d.lit).toString(16)}`;
          else v = `"${pick(STRINGS, d.lit + 50)}"`;
          cur.push(`${I}default ${v}${ifx(d.cond, p)}`);
        }
        if (logic) {
          const later = (spec.forward ? syms : syms.slice(before + 1)).filter((s) => !s.member && (s.ty === 'bool' || s.ty === 'tristate'));
          for (const s of e.selects) {
            if (!later.length) break;
            cur.push(`${I}${s.imply ? 'imply' : 'select'} ${pick(later, s.t).name}${ifx(s.cond, p)}`);
          }
        }
        if (e.range && (me.ty === 'int' || me.ty === 'hex')) {
          const fmt = (n: number): string => (me.ty === 'int' ? String(n) : `0x${Math.abs(n).toString(16)}`);
          cur.push(`${I}range ${fmt(e.range.lo)} ${fmt(e.range.hi)}${ifx(e.range.cond, p)}`);
        }
        help(e.help);
        cur.push('');
        break;
      }
      case 'choice': {
        const members = syms.slice(before, before + e.members.length);
        cur.push(e.named ? `choice CH${i}` : 'choice');
        if (e.typeless) cur.push(`${I}prompt ${prompt(e.prompt)}`);
        else cur.push(`${I}${e.ty} ${prompt(e.prompt)}`);
        if (e.optional) cur.push(`${I}optional`);
        for (const d of e.deps) cur.push(`${I}depends on ${rx(d, p)}`);
        if (e.def) cur.push(`${I}default ${pick(members, e.def.m).name}${ifx(e.def.cond, p)}`);
        help(e.help);
        cur.push('');
        e.members.forEach((m, j) => {
          const s = members[j] as SymInfo;
          cur.push(`config ${s.name}`);
          const typeless = m.typeless && !e.typeless;
          if (typeless) cur.push(`${I}prompt ${prompt(m.prompt)}`);
          else cur.push(`${I}${s.ty} ${prompt(m.prompt)}`);
          for (const d of m.deps) cur.push(`${I}depends on ${rx(d, p)}`);
          help(m.help);
          cur.push('');
        });
        cur.push('endchoice', '');
        break;
      }
      case 'menu':
      case 'if':
        if (e.k === 'menu') {
          cur.push(`menu ${prompt(e.title)}`);
          if (e.visible) cur.push(`${I}visible if ${rx(e.visible, p)}`);
          for (const d of e.deps) cur.push(`${I}depends on ${rx(d, p)}`);
        } else {
          cur.push(`if ${rx(e.cond, p)}`);
        }
        cur.push('');
        blocks.push(e.k);
        depth++;
        break;
      case 'close':
        if (depth > 0) {
          cur.push(blocks.pop() === 'menu' ? 'endmenu' : 'endif', '');
          depth--;
        }
        break;
      case 'comment':
        cur.push(`comment ${prompt(e.text)}`);
        for (const d of e.deps) cur.push(`${I}depends on ${rx(d, p)}`);
        cur.push('');
        break;
      case 'macro': {
        // a variable only ever refers to variables defined before it (no self reference here)
        const v = Math.min(e.v, macroDefined);
        const ref = v > 0 ? `$(V${v - 1})` : '';
        cur.push(`V${v} ${e.op} ${pick(MACRO_VALUES, e.val).replaceAll('$(PREV)', ref)}`, '');
        if (v === macroDefined) macroDefined++;
        break;
      }
      case 'redef': {
        // only at the top level: enclosing blocks would add dependencies on later symbols
        if (depth !== 0) break;
        // (not MODULES: `m` in its own dependencies means `m && MODULES`, a loop in conf too)
        const logicSyms = syms
          .slice(0, before)
          .map((s, idx) => ({ s, idx }))
          .filter(({ s }) => !s.member && s.name !== 'MODULES' && (s.ty === 'bool' || s.ty === 'tristate'));
        if (!logicSyms.length) break;
        const { s, idx } = pick(logicSyms, e.r);
        const q = pool(idx);
        cur.push(`config ${s.name}`);
        if (e.prompt !== null) cur.push(`${I}prompt ${prompt(e.prompt)}`);
        if (e.def) cur.push(`${I}default ${spec.noM && e.def === 'm' ? 'y' : e.def}`);
        if (e.dep) cur.push(`${I}depends on ${rx(e.dep, q)}`);
        cur.push('');
        break;
      }
      case 'source':
        if (depth !== 0) break;
        if (cur === main) {
          curName = `sub/Kconfig.${subCount++}`;
          main.push(`source "${curName}"`, '');
          cur = [];
        } else {
          files[curName] = `${cur.join('\n')}\n`;
          cur = main;
        }
        break;
    }
    if ((e.k === 'close' || e.k === 'redef' || e.k === 'source') && emitted() && !(e.k === 'source' && cur === main)) afterHelp = false;
  });
  while (depth > 0) {
    cur.push(blocks.pop() === 'menu' ? 'endmenu' : 'endif');
    depth--;
  }
  if (cur !== main) files[curName] = `${cur.join('\n')}\n`;
  files.Kconfig = `${main.join('\n')}\n`;
  return { files, acyclic: !spec.forward };
}

const acyclicTreeArb = treeSpecArb(false).map(renderTree);
const anyTreeArb = treeSpecArb(true).map(renderTree);

/**
 * Trees inside the domain where conf's savedefconfig/defconfig round trip actually holds. conf
 * 6.1 itself (checked with the real scripts/kconfig/conf) loses information, and the engine
 * faithfully does the same, for:
 *  - a bool member of a tristate choice: allyesconfig sets it, savedefconfig writes nothing,
 *    defconfig then leaves the choice in m mode and the member unset;
 *  - a symbol defined twice where one definition is visible and the other's `depends on` is n,
 *    and the symbol is implied: sym_get_string_default() raises the default to the implied value
 *    without bounding it by the (OR-ed, here n) direct dependency, so y is considered the default;
 *  - an inverted `range` (lo > hi) with a symbol defaulting to the ranged one: reading the value
 *    back drops it as out of range and the dependent default changes;
 *  - a tristate whose prompt is visible only at m (`prompt "p" if m`) and that is selected or
 *    has a default: allyesconfig writes m, savedefconfig omits it, defconfig yields y.
 * So: no bool members in tristate choices, no redefinitions, lo <= hi, and the constant m is
 * written as y (m values then only come from the modes, which keeps visibility at n or y).
 */
const roundTripTreeArb = treeSpecArb(false)
  .map((spec) => ({
    ...spec,
    noM: true,
    entries: spec.entries
      .filter((e) => e.k !== 'redef')
      .map((e) =>
        e.k === 'choice'
          ? { ...e, members: e.members.map((m) => ({ ...m, boolInTristate: false })) }
          : e.k === 'config' && e.range && e.range.lo > e.range.hi
            ? { ...e, range: { ...e.range, lo: e.range.hi, hi: e.range.lo } }
            : e,
      ),
  }))
  .map(renderTree);

// ---------------------------------------------------------------------------------------------
// 1. lexer / parser
// ---------------------------------------------------------------------------------------------

const KCONFIG_TOKENS = [
  'config', 'menuconfig', 'choice', 'endchoice', 'menu', 'endmenu', 'if', 'endif', 'source', 'comment', 'mainmenu',
  'bool', 'tristate', 'int', 'hex', 'string', 'def_bool', 'def_tristate', 'default', 'depends', 'on', 'select', 'imply',
  'range', 'prompt', 'help', 'optional', 'modules', 'visible', 'y', 'm', 'n', 'FOO', 'BAR', 'A1', 'S0', '0x10', '-3', '42',
  '&&', '||', '!', '=', '!=', '<', '<=', '>', '>=', '(', ')', ':=', '+=', '"', "'", '"str"', "'s q'", '"$(X)"', '"a\\"b"',
  '$(', '$', ')', ',', '$(info,x)', '$(shell,echo)', '$(X)', '$(1)', '$(X,$(Y))', 'X = $(X)', 'X := y', 'F = $(1)$(2)', '$(F,a,b)',
  '$(error-if,y,boom)', '$(warning-if,y,w)', '$(lineno)', '\\\n', '\\', '\t', '  ', '\n', '\n', '\n', '\r\n', '\r', '#', '# c\n',
  'help\n', '\thelp\n\t  text\n\n\t  more\n', '\0', 'ä', '\u{1F600}', '\uFFFD', 'source "Kconfig"', 'source "sub"', 'source "missing"',
  'source "constructor"', 'source ""', 'config X\n\tbool "x"\n', 'if X\n', 'endif\n', 'menu "m"\n', 'choice\n', 'endchoice\n',
];
const KCONFIG_CHARS = [...'abcxyzACFGXY019_-$(),"\'\\#=!&|<>:+ \t\n\r\0ü'];

const SUB_FILE = 'config SUB\n\tbool "sub"\n\tdefault y\n';

/** Parse `text` as the top Kconfig; success (then every mode is well-formed) or a KconfigError. */
function parseArbitrary(text: string, where: 'top' | 'sourced' | 'after-valid' = 'top'): void {
  const files: Files = { sub: SUB_FILE };
  if (where === 'top') files.Kconfig = text;
  else if (where === 'sourced') {
    files.Kconfig = 'config TOP\n\tbool "top"\nsource "fuzzed"\nconfig AFTER\n\tbool "after"\n';
    files.fuzzed = text;
  } else files.Kconfig = `config TOP\n\tbool "top"\n\tdefault y\n${text}`;
  timed('parse + modes', RUN_BUDGET_MS, () => {
    const r = typed('Kconfig.parse', () => parseTree(files));
    if (r.ok) runAllModes(r.value, false);
  });
}

describe('1. lexer and parser', () => {
  it('1a: arbitrary strings as a Kconfig file parse or throw a located KconfigError', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
      fc.string({ unit: fc.constantFrom(...KCONFIG_CHARS), maxLength: 300 }),
    );
    fc.assert(
      fc.property(text, fc.constantFrom('top' as const, 'sourced' as const, 'after-valid' as const), (t, where) => parseArbitrary(t, where)),
      fcOptions(0x1a01, 2000),
    );
  });

  it('1a: soups of Kconfig tokens, quotes, macros, continuations and help blocks', () => {
    const soup = fc
      .tuple(
        fc.array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KCONFIG_TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 3 }) }), {
          maxLength: 80,
        }),
        fc.constantFrom(' ', '', '\n', '\t'),
      )
      .map(([toks, sep]) => toks.join(sep));
    fc.assert(
      fc.property(soup, fc.constantFrom('top' as const, 'sourced' as const, 'after-valid' as const), (t, where) => parseArbitrary(t, where)),
      fcOptions(0x1a02, 2000),
    );
  });

  it('1b: generated valid-ish trees parse (or report a dependency loop) and every mode writes a valid .config', () => {
    fc.assert(
      fc.property(anyTreeArb, (tree) => {
        timed('parse + modes', RUN_BUDGET_MS, () => {
          const r = typed('Kconfig.parse', () => parseTree(tree.files), ['dependency']);
          if (tree.acyclic && !r.ok) throw new ContractViolation(`acyclic tree reported: ${r.error.format()}\n${dump(tree.files)}`);
          if (r.ok) runAllModes(r.value, true);
        });
      }),
      fcOptions(0x1b01, 300),
    );
  });

  it('1b: defconfig(savedefconfig(x)) === olddefconfig(x) (=== x when x is stable) for x = allyesconfig / alldefconfig of generated trees', () => {
    // savedefconfig(x) is the minimal config of x *as conf reads it back*; that is olddefconfig(x),
    // which differs from x when x is not a fixpoint (e.g. `tristate "p" if !m` + `default y`:
    // allyes/alldef write y, reading it back bounds it to m — conf does exactly the same)
    fc.assert(
      fc.property(roundTripTreeArb, fc.constantFrom<AllMode>('allyesconfig', 'alldefconfig'), (tree, mode) => {
        const kc = parseTree(tree.files);
        const x = kc.allconfig(mode);
        const stable = kc.olddefconfig(x);
        const min = kc.savedefconfig(x);
        const back = kc.defconfig(min);
        if (back !== stable) {
          throw new ContractViolation(
            `round trip of ${mode} lost information\n--- ${mode}\n${x}--- olddefconfig(${mode})\n${stable}--- savedefconfig\n${min}--- defconfig(savedefconfig)\n${back}\n${dump(tree.files)}`,
          );
        }
      }),
      fcOptions(0x1b02, 400),
    );
  });

  it('conformance (regression): `menuconfig` inside a choice is a syntax error, as in conf', () => {
    // conf 6.1's grammar only allows comment, config and if inside a choice ("Kconfig:3: invalid
    // statement"); the engine accepts the menuconfig member silently
    const r = typed('parse', () => parseTree({ Kconfig: 'choice\n\tprompt "c"\nmenuconfig A\n\tbool "a"\nconfig B\n\tbool "b"\nendchoice\n' }), ['syntax']);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.location).toMatchObject({ file: 'Kconfig', line: 3 });
  });

  it('1c: mutated valid trees (truncation, deleted/duplicated lines, inserted tokens) parse or throw a KconfigError', () => {
    const mutation = fc.record({
      file: fc.nat(),
      kind: fc.constantFrom('truncate', 'delete-line', 'dup-line', 'insert', 'swap-lines'),
      pos: fc.nat(),
      pos2: fc.nat(),
      token: fc.constantFrom(...KCONFIG_TOKENS),
    });
    fc.assert(
      fc.property(acyclicTreeArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (tree, muts) => {
        const files = { ...tree.files };
        for (const m of muts) {
          const name = pick(Object.keys(files), m.file);
          const text = files[name] as string;
          const lines = text.split('\n');
          const li = m.pos % lines.length;
          const lj = m.pos2 % lines.length;
          switch (m.kind) {
            case 'truncate':
              files[name] = text.slice(0, m.pos % (text.length + 1));
              break;
            case 'delete-line':
              lines.splice(li, 1);
              files[name] = lines.join('\n');
              break;
            case 'dup-line':
              lines.splice(li, 0, lines[li] as string);
              files[name] = lines.join('\n');
              break;
            case 'swap-lines':
              [lines[li], lines[lj]] = [lines[lj] as string, lines[li] as string];
              files[name] = lines.join('\n');
              break;
            case 'insert': {
              const at = m.pos % (text.length + 1);
              files[name] = `${text.slice(0, at)}${m.token}${text.slice(at)}`;
              break;
            }
          }
        }
        timed('parse + modes', RUN_BUDGET_MS, () => {
          const r = typed('Kconfig.parse', () => parseTree(files));
          if (r.ok) runAllModes(r.value, false);
        });
      }),
      fcOptions(0x1c01, 400),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 2. recursion depth
// ---------------------------------------------------------------------------------------------

/**
 * Parse, then run the modes. Success or a KconfigError are both acceptable here (the engine turns
 * stack exhaustion into a typed "nests too deeply" error); a RangeError or any other exception
 * escaping is a contract violation. The location of such errors is checked separately.
 */
function deepCase(files: Files, budgetMs = 8_000): { parse: Outcome<Kconfig>; modes: Outcome<string> | null } {
  return timed('deep input', budgetMs, () => {
    const parse = typed('Kconfig.parse', () => parseTree(files), ALL_KINDS, false);
    if (!parse.ok) return { parse, modes: null };
    const kc = parse.value;
    const modes = typed(
      'modes',
      () => {
        kc.olddefconfig(null);
        kc.allconfig('allyesconfig');
        const x = kc.allconfig('allmodconfig');
        kc.savedefconfig(x);
        return kc.defconfig(kc.savedefconfig(x));
      },
      ALL_KINDS,
      false,
    );
    return { parse, modes };
  });
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const lines = (xs: string[]): string => `${xs.join('\n')}\n`;

/** Deep inputs. `confOk`: the real conf (6.1) processes this input; otherwise conf fails too. */
const DEEP: Array<{ name: string; confOk: boolean; files: () => Files }> = [
  {
    name: 'a chain of 5,000 symbols each depending on the previous one',
    confOk: true,
    files: () => ({ Kconfig: lines(['config S0', '\tbool "s0"', '\tdefault y', ...range(4999).flatMap((i) => [`config S${i + 1}`, `\tbool "s${i + 1}"`, '\tdefault y', `\tdepends on S${i}`])]) }),
  },
  {
    name: 'a chain of 20,000 symbols each depending on the previous one',
    confOk: true,
    files: () => ({ Kconfig: lines(['config S0', '\tbool "s0"', '\tdefault y', ...range(19999).flatMap((i) => [`config S${i + 1}`, `\tbool "s${i + 1}"`, '\tdefault y', `\tdepends on S${i}`])]) }),
  },
  {
    name: 'a chain of 5,000 int symbols each defaulting to the previous one',
    confOk: true,
    files: () => ({ Kconfig: lines(['config S0', '\tint "s0"', '\tdefault 7', ...range(4999).flatMap((i) => [`config S${i + 1}`, '\tint', `\tdefault S${i}`])]) }),
  },
  {
    name: 'a chain of 5,000 symbols each selecting the previous one',
    confOk: true,
    files: () => ({ Kconfig: lines(['config S0', '\tbool "s0"', ...range(4999).flatMap((i) => [`config S${i + 1}`, `\tbool "s${i + 1}"`, `\tselect S${i}`])]) }),
  },
  {
    name: 'a chain of 20,000 symbols each selecting the previous one',
    confOk: true,
    files: () => ({ Kconfig: lines(['config S0', '\tbool "s0"', ...range(19999).flatMap((i) => [`config S${i + 1}`, `\tbool "s${i + 1}"`, `\tselect S${i}`])]) }),
  },
  {
    name: 'a 20,000-term `depends on A1 && A2 ...` chain',
    confOk: true,
    files: () => ({ Kconfig: `config B\n\tbool "b"\n\tdepends on ${range(20_000).map((i) => `A${i}`).join(' && ')}\n` }),
  },
  {
    name: 'a 20,000-term `||` chain',
    confOk: true,
    files: () => ({ Kconfig: `config B\n\tbool "b"\n\tdepends on ${range(20_000).map((i) => `A${i}`).join(' || ')}\n` }),
  },
  // beyond what conf itself handles (bison: "memory exhausted" at ~5,000 nested blocks and
  // ~20,000 nested parentheses or negations; a segmentation fault on the 100,000-term chain):
  // only a typed error is required
  { name: '5,000 nested parentheses', confOk: false, files: () => ({ Kconfig: `config B\n\tbool "b"\n\tdepends on ${'('.repeat(5000)}A${')'.repeat(5000)}\n` }) },
  { name: '5,000 nested if blocks', confOk: false, files: () => ({ Kconfig: `config A\n\tbool "a"\n${'if A\n'.repeat(5000)}config B\n\tbool "b"\n${'endif\n'.repeat(5000)}` }) },
  { name: '50,000 nested if blocks', confOk: false, files: () => ({ Kconfig: `config A\n\tbool "a"\n${'if A\n'.repeat(50_000)}config B\n\tbool "b"\n${'endif\n'.repeat(50_000)}` }) },
  { name: '50,000 nested menus', confOk: false, files: () => ({ Kconfig: `${'menu "m"\n'.repeat(50_000)}config B\n\tbool "b"\n${'endmenu\n'.repeat(50_000)}` }) },
  { name: 'a 100,000-term `&&` chain', confOk: false, files: () => ({ Kconfig: `config B\n\tbool "b"\n\tdepends on ${range(100_000).map((i) => `A${i}`).join(' && ')}\n` }) },
  { name: '100,000 `depends on` lines on one symbol', confOk: false, files: () => ({ Kconfig: `config B\n\tbool "b"\n${range(100_000).map((i) => `\tdepends on A${i}\n`).join('')}` }) },
  { name: '30,000 symbols selecting one symbol', confOk: false, files: () => ({ Kconfig: `config T\n\tbool\n${range(30_000).map((i) => `config S${i}\n\tbool "s"\n\tselect T\n`).join('')}` }) },
  { name: '100,000 negations `!!!...A`', confOk: false, files: () => ({ Kconfig: `config B\n\tbool "b"\n\tdepends on ${'!'.repeat(100_000)}A\n` }) },
  { name: '50,000 nested parentheses', confOk: false, files: () => ({ Kconfig: `config B\n\tbool "b"\n\tdepends on ${'('.repeat(50_000)}A${')'.repeat(50_000)}\n` }) },
];

describe('2. recursion depth (no stack overflow)', () => {
  // Where the engine's recursion runs out today (measured cold under vitest, parse + modes):
  // ~2,150 nested ifs, ~3,150 parentheses, ~5,600 `&&` terms, ~3,600 selects or ~5,500
  // dependencies in a chain. Optimised (JIT) frames are smaller, so a size right at the cold
  // limit can pass once the functions are warm: the sizes here are well past it, except the
  // 5,000-long chains the brief asks for.
  for (const c of DEEP) {
    it(`never a RangeError: ${c.name}`, () => {
      deepCase(c.files());
    });
  }

  // What conf accepts, the engine should accept (the typed "nests too deeply" error is only
  // the safety net): these fail while the engine recurses over the nesting.
  for (const c of DEEP.filter((d) => d.confOk)) {
    // Known limit: symbol chains are evaluated recursively (one symbol's value asks for the
    // next); past a few thousand links the engine answers with the typed "nests too deeply"
    // error where conf, with its larger C stack, still succeeds. Real trees chain a few dozen.
    const limit = /symbols each depending|symbols each selecting/.test(c.name) && !/^a chain of 5,000 symbols each depending/.test(c.name);
    it(`${limit ? 'documented limit (typed error or success): ' : 'accepted like conf: '}${c.name}`, () => {
      const r = deepCase(c.files());
      if (limit) {
        if (!r.parse.ok) expect(r.parse.error.message).toMatch(/nests too deeply/);
        if (r.modes && !r.modes.ok) expect(r.modes.error.message).toMatch(/nests too deeply/);
        return;
      }
      if (!r.parse.ok) throw new ContractViolation(`parse failed: ${r.parse.error.format()}`);
      if (r.modes && !r.modes.ok) throw new ContractViolation(`a mode failed: ${r.modes.error.format()}`);
    });
  }

  it('4,000 nested `source` levels take linear time', () => {
    // ~2-4 s today on this 2-core machine (5,000 levels: ~6.5 s); linear, it is ~0.2 s
    const files: Files = { Kconfig: 'source "f0"\n' };
    for (const i of range(4000)) files[`f${i}`] = `config F${i}\n\tbool "f"\nsource "f${i + 1}"\n`;
    files.f4000 = 'config LAST\n\tbool "last"\n';
    const r = timed('parse of 4,000 nested sources', 1_000, () => typed('parse', () => parseTree(files)));
    expect(r.ok).toBe(true);
  });

  it('a "nests too deeply" error raised after lexing (finalization, dependency check) has a location', () => {
    // (the overflow happens in rewriteM() during finalization, when the lexer has no file open)
    const r = deepCase({ Kconfig: `config B\n\tbool "b"\n\tdepends on ${range(100_000).map((i) => `A${i}`).join(' && ')}\n` });
    if (!r.parse.ok) expect(r.parse.error.location, r.parse.error.message).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------
// 3. .config reader
// ---------------------------------------------------------------------------------------------

const MINI_TREE: Files = {
  Kconfig: `mainmenu "Fuzz mini tree"

config MODULES
	bool "Enable loadable module support"
	default y
	modules

config B
	bool "b"

config T
	tristate "t"
	default m

config I
	int "i"
	range 0 100
	default 5

config IU
	int "iu"

config H
	hex "h"
	range 0x10 0xff
	default 0x20

config HU
	hex "hu"

config S
	string "s"
	default "dflt"

config D
	bool "d"
	depends on B
	default y

config SEL
	tristate "sel"
	select SELT

config SELT
	tristate

config INV
	int
	default 7

choice
	prompt "c"
	default C2

config C1
	bool "c1"

config C2
	bool "c2"

endchoice

choice CT
	tristate "ct"

config CT1
	tristate "ct1"

config CT2
	tristate "ct2"

endchoice

menu "m"
	depends on T

config MT
	tristate "mt"
	default T

endmenu
`,
};
const MINI_NAMES = ['MODULES', 'B', 'T', 'I', 'IU', 'H', 'HU', 'S', 'D', 'SEL', 'SELT', 'INV', 'C1', 'C2', 'CT', 'CT1', 'CT2', 'MT'];

const triValue = fc.constantFrom('y', 'm', 'n', 'Y', 'M', 'N', 'yes', 'no', '', '0', '1', '2', 'ymn', 'y ', ' y', '"y"', 'y\r', 'x');
const numValue = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String),
  fc.nat({ max: 3000 }).map((n) => '9'.repeat(n + 1)),
  fc.nat().map((n) => `0x${n.toString(16)}`),
  fc.nat().map((n) => `0X${n.toString(16).toUpperCase()}`),
  fc.constantFrom('0x', '0X', 'x', '-', '+5', '05', ' 5', '5 ', '1e3', '-0', '0x-1', '0xg', '--1', '0b101', '0x10\r', '1.5', '١٢'),
);
const strValue = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => `"${s}"`),
  fc.string({ maxLength: 40 }).map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`),
  fc.string({ maxLength: 40 }).map((s) => `"${s}`),
  fc.constantFrom('"a\\"b"', '"trailing\\', '"', '""', '"\\\\"', 'noquote', '"\0"', '"x"junk', "'single'"),
  fc.nat({ max: 20000 }).map((n) => `"${'a'.repeat(n)}"`),
);
const anyValue = fc.oneof(triValue, numValue, strValue, fc.string({ unit: 'binary', maxLength: 30 }));
const symName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...MINI_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom('UNKNOWN', 'b', '', 'B ', ' B', 'B\0', 'Y', 'm', 'y', 'CONFIG_B', 'choice') },
);
const configLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(symName, anyValue).map(([n, v]) => `CONFIG_${n}=${v}`) },
  {
    weight: 3,
    arbitrary: fc.tuple(symName, fc.constantFrom('# CONFIG_%s is not set', '#CONFIG_%s is not set', '# CONFIG_%s is not set junk', '# CONFIG_%s', '# CONFIG_%s is', '#  CONFIG_%s is not set', '# CONFIG_%s=y', '# CONFIG_%s is not set\r')).map(
      ([n, f]) => f.replace('%s', n),
    ),
  },
  { weight: 1, arbitrary: symName.map((n) => `CONFIG_${n}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '#', '\r', '\0', 'config_B=y', 'CONFIG_=y', 'CONFIG_B==y', '=y', ' CONFIG_B=y', 'CONFIG_B=y # comment') },
);
const configText = fc
  .record({
    lines: fc.array(configLine, { maxLength: 40 }),
    eol: fc.constantFrom('\n', '\r\n', '\n\n'),
    finalEol: fc.boolean(),
    truncate: fc.option(fc.nat()),
    nul: fc.option(fc.nat()),
  })
  .map(({ lines, eol, finalEol, truncate, nul }) => {
    let t = lines.join(eol) + (finalEol ? eol : '');
    if (nul !== null) t = `${t.slice(0, nul % (t.length + 1))}\0${t.slice(nul % (t.length + 1))}`;
    if (truncate !== null) t = t.slice(0, truncate % (t.length + 1));
    return t;
  });

/** The .config invariants of MINI_TREE that hold whatever the input was. */
function checkMiniConfig(kc: Kconfig, what: string, text: string): void {
  const v = checkConfigStrict(what, kc, text);
  const get = (n: string): string | undefined => v.get(n);
  const fail = (m: string): never => {
    throw new ContractViolation(`${what}: ${m}\n${text}`);
  };
  const i = get('I');
  if (i === undefined || !(Number(i) >= 0 && Number(i) <= 100)) fail(`CONFIG_I=${i} outside range 0..100`);
  const h = get('H');
  if (h === undefined || !(Number.parseInt(h, 16) >= 0x10 && Number.parseInt(h, 16) <= 0xff)) fail(`CONFIG_H=${h} outside range 0x10..0xff`);
  if (get('INV') !== '7') fail(`invisible CONFIG_INV changed to ${get('INV')}`);
  const rank = (x: string | undefined): number => (x === 'y' ? 2 : x === 'm' ? 1 : 0);
  if (rank(get('SELT')) < rank(get('SEL'))) fail(`SELT=${get('SELT')} below its selector SEL=${get('SEL')}`);
  if (get('B') !== 'y' && get('D') !== undefined) fail(`D written although its dependency B=${get('B')}`);
  const c = [get('C1'), get('C2')].filter((x) => x === 'y').length;
  if (c !== 1) fail(`bool choice has ${c} selected members (C1=${get('C1')}, C2=${get('C2')})`);
  if (get('CT1') === 'y' && get('CT2') === 'y') fail('tristate choice with two y members');
}

describe('3. .config reader', () => {
  const kc = parseTree(MINI_TREE);

  it('olddefconfig of arbitrary .config text returns a valid config (and is a fixpoint)', () => {
    fc.assert(
      fc.property(configText, (text) => {
        timed('olddefconfig', RUN_BUDGET_MS, () => {
          const out = total('olddefconfig', () => kc.olddefconfig(text));
          checkMiniConfig(kc, 'olddefconfig', out);
          const again = total('olddefconfig(olddefconfig)', () => kc.olddefconfig(out));
          if (again !== out) throw new ContractViolation(`olddefconfig is not a fixpoint\n--- input\n${JSON.stringify(text)}\n--- once\n${out}--- twice\n${again}`);
        });
      }),
      fcOptions(0x3001, 500),
    );
  });

  it('every other mode accepts arbitrary .config text without throwing', () => {
    fc.assert(
      fc.property(configText, fc.constantFrom(...ALL_MODES), (text, mode) => {
        timed('modes', RUN_BUDGET_MS, () => {
          checkMiniConfig(kc, `allconfig(${mode}, text)`, total(`allconfig(${mode})`, () => kc.allconfig(mode, text)));
          const min = total('savedefconfig', () => kc.savedefconfig(text));
          checkConfigStrict('savedefconfig', kc, min, false);
          checkMiniConfig(kc, 'defconfig(text)', total('defconfig', () => kc.defconfig(text)));
          checkMiniConfig(kc, 'defconfig(savedefconfig)', total('defconfig', () => kc.defconfig(min)));
          const s = total('syncconfig', () => kc.syncconfig(text));
          checkMiniConfig(kc, 'syncconfig', s.config);
        });
      }),
      fcOptions(0x3002, 250),
    );
  });

  it('conformance (regression): a NUL byte ends a .config line, as in conf (C strings)', () => {
    // checked against conf 6.1: `CONFIG_I=7<NUL>` sets I=7; `CONFIG_S="ab<NUL>c"` is the
    // unterminated string `"ab` and is ignored. The engine rejects the first (I stays 5) and stores
    // the NUL in the second, then writes it into .config (and autoconf.h).
    const i = total('olddefconfig', () => kc.olddefconfig('CONFIG_I=7\0\n'));
    const str = total('olddefconfig', () => kc.olddefconfig('CONFIG_S="ab\0c"\n'));
    expect({ i: i.match(/^CONFIG_I=.*$/m)?.[0], s: str.match(/^CONFIG_S=.*$/m)?.[0] }).toEqual({ i: 'CONFIG_I=7', s: 'CONFIG_S="dflt"' });
  });

  it('conformance (regression): `CONFIG_<named choice>=y` in a .config puts the choice in y mode, as in conf', () => {
    // conf's sym_find() finds named choices, so `CONFIG_CT=y` sets the tristate choice CT to y and
    // its first member becomes y; the engine's symbol table does not index named choices by name
    // and ignores the line (CT1 and CT2 stay n).
    const out = total('olddefconfig', () => kc.olddefconfig('CONFIG_CT=y\n'));
    expect(out).toContain('CONFIG_CT1=y\n');
  });

  it('huge values and 1 MB lines are handled in linear time', () => {
    const huge = `CONFIG_S="${'x'.repeat(1_000_000)}"\nCONFIG_IU=${'9'.repeat(100_000)}\nCONFIG_HU=0x${'f'.repeat(100_000)}\nCONFIG_B=${'y'.repeat(100_000)}\n${'#'.repeat(1_000_000)}\n`;
    const out = timed('olddefconfig(huge)', 3_000, () => total('olddefconfig', () => kc.olddefconfig(huge)));
    checkMiniConfig(kc, 'olddefconfig(huge)', out);
    expect(out).toContain(`CONFIG_S="${'x'.repeat(1_000_000)}"\n`);
    expect(out).toContain(`CONFIG_IU=${'9'.repeat(100_000)}\n`);
  });

  it('the range check of a 100,000-digit int value takes linear time (cStrtol saturates instead of growing a BigInt)', () => {
    const text = `CONFIG_I=${'9'.repeat(100_000)}\n`;
    const out = timed('olddefconfig(100,000-digit CONFIG_I)', 1_000, () => total('olddefconfig', () => kc.olddefconfig(text)));
    expect(out).toContain('CONFIG_I=5\n');
  });
});

// ---------------------------------------------------------------------------------------------
// 4. macro language
// ---------------------------------------------------------------------------------------------

const MACRO_NAMES = ['X', 'Y', 'Z', 'F', 'G', '1', '2', '3', 'info', 'warning-if', 'error-if', 'shell', 'filename', 'lineno', 'UNDEF', 'ENVV', '', ' ', 'X Y'];

const macroTextArb: fc.Arbitrary<string> = fc.letrec<{ text: string; ref: string }>((tie) => ({
  text: fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('a', 'x', ' ', '-', '"', "'", '\\', '$', '(', ')', ',', '$(', '1', '#', 'y', 'n', '$$') },
        { weight: 2, arbitrary: tie('ref') },
        { weight: 1, arbitrary: fc.constantFrom(...MACRO_NAMES).map((n) => `$(${n}`) },
      ),
      { maxLength: 5, depthIdentifier: 'macro' },
    )
    .map((xs) => xs.join('')),
  ref: fc
    .tuple(
      fc.oneof(fc.constantFrom(...MACRO_NAMES), tie('ref')),
      fc.array(tie('text'), { maxLength: 3, depthIdentifier: 'macro' }),
    )
    .map(([name, args]) => `$(${name}${args.map((a) => `,${a}`).join('')})`),
})).text;

const macroFileArb = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom('X', 'Y', 'Z', 'F', 'G'), fc.constantFrom('=', ':=', '+='), macroTextArb).map(([n, op, v]) => `${n} ${op} ${v}`) },
      { weight: 3, arbitrary: fc.tuple(fc.nat({ max: 9 }), macroTextArb).map(([i, t]) => `config A${i}\n\tbool "${t}"`) },
      { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 9 }), macroTextArb).map(([i, t]) => `config W${t}\n\tstring "w"\n\tdefault "${t}"`) },
      { weight: 1, arbitrary: macroTextArb.map((t) => `config B\n\tbool "b"\n\tdepends on ${t}`) },
      { weight: 1, arbitrary: macroTextArb.map((t) => `source "${t}"`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('X = $(X)', 'X = $(Y)', 'Y = $(X)', 'F = $(F,$(1))', 'G = $(1)$(G,$(1)x)', 'X += $(X)', 'X := $(X)$(X)', 'F = $(G,$(1))', 'G = $(F,$(1))'),
      },
    ),
    { maxLength: 12 },
  )
  .map((stmts) => `${stmts.join('\n')}\n`);

describe('4. macro language', () => {
  it('random macro programs parse or throw a located KconfigError (never RangeError)', () => {
    fc.assert(
      fc.property(macroFileArb, (text) => {
        timed('parse + modes', RUN_BUDGET_MS, () => {
          const r = typed('Kconfig.parse', () => parseTree({ Kconfig: text, sub: SUB_FILE }, { env: { ENVV: 'from-env' } }));
          if (r.ok) runAllModes(r.value, false);
        });
      }),
      fcOptions(0x4001, 500),
    );
  });

  it('a self-referencing recursive variable is a macro error with a location', () => {
    for (const text of ['X = $(X)\nconfig A\n\tbool "$(X)"\n', 'X = $(Y)\nY = $(X)\nconfig A\n\tbool "$(X)"\n', 'X = a\nX += $(X)\nconfig A\n\tbool "$(X)"\n']) {
      const r = typed('parse', () => parseTree({ Kconfig: text }), ['macro']);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.location).toMatchObject({ file: 'Kconfig', line: text.split('\n').length - 1 });
    }
  });

  it('a simply-expanded self reference (`X := $(X)`) is not an error', () => {
    const r = typed('parse', () => parseTree({ Kconfig: 'X := $(X)\nX := $(X)b\nconfig A\n\tbool "[$(X)]"\n' }));
    expect(r.ok && r.value.symbol('A')?.props.find((p) => p.type === 'prompt')?.text).toBe('[b]');
  });

  it('unterminated references are macro errors', () => {
    for (const t of ['config A\n\tbool "$(foo"\n', 'X = $(\nconfig A\n\tbool "$(X)"\n', 'config $(A\n', 'config A\n\tbool "$(info,$(X)"\n']) {
      const r = typed('parse', () => parseTree({ Kconfig: t }), ['macro', 'syntax']);
      expect(r.ok, t).toBe(false);
    }
  });

  it('infinite recursion of a user function stops with "Too deep recursive expansion"', () => {
    const r = timed('parse', 5_000, () => typed('parse', () => parseTree({ Kconfig: 'f = $(f,$(1))\nconfig A\n\tbool "$(f,x)"\n' }), ['macro']));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/Too deep recursive expansion/);
  });

  it('conformance (regression): 1,500 nested calls of a terminating function are accepted, as by conf', () => {
    // conf limits the nesting of each variable (exp_count > 1000), not the total nesting
    const r = timed('parse', 5_000, () =>
      typed('parse', () => parseTree({ Kconfig: `f = <$(1)>\nconfig A\n\tbool "${'$(f,'.repeat(1_500)}x${')'.repeat(1_500)}"\n` }), ['macro']),
    );
    if (!r.ok) throw new ContractViolation(`rejected: ${r.error.format()}`);
    expect(r.value.symbol('A')?.props.find((p) => p.type === 'prompt')?.text).toBe(`${'<'.repeat(1_500)}x${'>'.repeat(1_500)}`);
  });

  it('infinite mutual recursion of several user functions is a macro error, not a stack overflow (conf limits each function separately)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), (k) => {
        // f0 calls f1 calls ... calls f(k-1) calls f0: each function's own counter reaches 1000 only after k*1000 levels
        const defs = range(k).map((i) => `f${i} = $(f${(i + 1) % k},$(1))`).join('\n');
        const r = timed('parse', 5_000, () => typed('parse', () => parseTree({ Kconfig: `${defs}\nconfig A\n\tbool "$(f0,x)"\n` }), ['macro']));
        expect(r.ok).toBe(false);
      }),
      fcOptions(0x4002, 7),
    );
  });

  it('8,000 nested references `$($($(...)))` are a macro error or a value, not a stack overflow', () => {
    const r = timed('parse', 5_000, () => typed('parse', () => parseTree({ Kconfig: `config A\n\tbool "${'$('.repeat(8_000)}x${')'.repeat(8_000)}"\n` }), ['macro']));
    expect(r).toBeDefined();
  });

  it('6,000 nested calls of a terminating user function `$(f,$(f,...))` do not overflow the stack', () => {
    const r = timed('parse', 5_000, () =>
      typed('parse', () => parseTree({ Kconfig: `f = <$(1)>\nconfig A\n\tbool "${'$(f,'.repeat(6_000)}x${')'.repeat(6_000)}"\n` }), ['macro']),
    );
    expect(r).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------
// 5. source and dependency loops
// ---------------------------------------------------------------------------------------------

describe('5. source recursion, missing files and dependency loops', () => {
  it('a file sourcing itself, A→B→A, and a missing file are KconfigErrors at the source statement', () => {
    const cases: Array<{ files: Files; kind: KconfigErrorKind; file: string; line: number; msg: RegExp }> = [
      { files: { Kconfig: 'config A\n\tbool "a"\nsource "Kconfig"\n' }, kind: 'syntax', file: 'Kconfig', line: 3, msg: /Recursive inclusion/ },
      { files: { Kconfig: 'source "B"\n', B: '\nsource "Kconfig"\n' }, kind: 'syntax', file: 'B', line: 2, msg: /Recursive inclusion/ },
      { files: { Kconfig: 'source "B"\n', B: 'source "C"\n', C: 'source "B"\n' }, kind: 'syntax', file: 'C', line: 1, msg: /Recursive inclusion/ },
      { files: { Kconfig: 'config A\n\tbool "a"\n\nsource "missing/Kconfig"\n' }, kind: 'io', file: 'Kconfig', line: 4, msg: /can't open file "missing\/Kconfig"/ },
      { files: { Kconfig: 'source "B"\n', B: 'if y\nsource "nope"\nendif\n' }, kind: 'io', file: 'B', line: 2, msg: /can't open file/ },
    ];
    for (const c of cases) {
      const r = typed('parse', () => parseTree(c.files), [c.kind]);
      expect(r.ok, dump(c.files)).toBe(false);
      if (!r.ok) {
        expect(r.error.location).toMatchObject({ file: c.file, line: c.line });
        expect(r.error.message).toMatch(c.msg);
      }
    }
  });

  it('a missing top-level Kconfig and a sourced directory are io errors', () => {
    const top = typed('parse', () => parseTree({}), ['io'], false);
    expect(top.ok).toBe(false);
    const dir = typed(
      'parse',
      () =>
        parseTree(
          { Kconfig: 'source "adir"\n' },
          {
            missing: (p) => {
              throw Object.assign(new Error(`EISDIR: ${p}`), { code: 'EISDIR' });
            },
          },
        ),
      ['io'],
    );
    expect(!dir.ok && dir.error.message).toMatch(/is a directory/);
  });

  it('self-sourcing through a growing macro path (`P := $(P)./` + `source "$(P)Kconfig"`) is detected', () => {
    // The names differ at every inclusion (./Kconfig, ././Kconfig, ...): a check on the raw names
    // never fires, and the reader joins them with the srctree, which normalises them back to
    // /virtual/Kconfig, so the real fs never sees a long path either (this used to run until the
    // heap was exhausted; conf 6.1 itself crashes with a segmentation fault). The reader gives up
    // after 2,500 reads so the test cannot hang.
    const files = { Kconfig: 'P := $(P)./\nconfig A\n\tbool "a"\nsource "$(P)Kconfig"\n' };
    let reads = 0;
    const r = timed('parse', 10_000, () =>
      typed('parse', () =>
        parseTree(files, {
          preRead: (p) => {
            if (++reads > 2_500 || p.length > 4096) throw Object.assign(new Error('ENAMETOOLONG'), { code: 'ENAMETOOLONG' });
          },
        }),
      ),
    );
    expect(r.ok).toBe(false);
    expect(reads, 'the engine kept including the same file').toBeLessThanOrEqual(2_100);
  });

  it('random source graphs: the first cycle or missing file (in parse order) is reported at its source statement', () => {
    const graph = fc.array(fc.array(fc.oneof(fc.nat({ max: 5 }), fc.constant(-1)), { maxLength: 3 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(graph, (g) => {
        // file i sources the files listed in g[i]; -1 is a missing file; indices past the end are missing too
        const name = (i: number): string => (i === 0 ? 'Kconfig' : `k${i}`);
        const files: Files = {};
        g.forEach((targets, i) => {
          files[name(i)] = `config C${i}\n\tbool "c${i}"\n${targets.map((t) => `source "${t < 0 ? 'nope' : name(t)}"\n`).join('')}`;
        });
        // expected: depth-first in statement order, like the lexer
        let expected: { kind: KconfigErrorKind; file: string; line: number } | null = null;
        const visit = (i: number, stack: number[]): void => {
          (g[i] as number[]).forEach((t, j) => {
            if (expected) return;
            const line = 3 + j;
            if (t >= 0 && stack.includes(t)) expected = { kind: 'syntax', file: name(i), line };
            else if (t < 0 || t >= g.length) expected = { kind: 'io', file: name(i), line };
            else visit(t, [...stack, t]);
          });
        };
        visit(0, [0]);
        const r = typed('parse', () => parseTree(files), ['syntax', 'io']);
        if (expected === null) expect(r.ok).toBe(true);
        else {
          expect(r.ok).toBe(false);
          const e = expected as { kind: KconfigErrorKind; file: string; line: number };
          if (!r.ok) expect({ kind: r.error.code, ...r.error.location }).toMatchObject(e);
        }
      }),
      fcOptions(0x5001, 300),
    );
  });

  it('random dependency cycles (depends on / default / prompt-if / range-if / select / imply) are dependency errors with a location', () => {
    const edgeKind = fc.constantFrom('depends', 'default', 'prompt-if', 'range-if', 'select', 'imply');
    fc.assert(
      fc.property(fc.array(edgeKind, { minLength: 1, maxLength: 6 }), fc.nat({ max: 3 }), fc.constantFrom('', 'if', 'menu'), (kinds, noise, block) => {
        // L0 -> L1 -> ... -> L(k-1) -> L0, edge i realised by kinds[i]
        const k = kinds.length;
        const logic = (kd: string): boolean => kd === 'select' || kd === 'imply';
        // select/imply need bool selectors and targets; a range needs an int: fall back to depends
        const eff = kinds.map((kd, i) => (kd === 'range-if' && (logic(kinds[i] as string) || logic(kinds[(i + k - 1) % k] as string)) ? 'depends' : kd));
        const props: string[][] = range(k).map(() => []);
        eff.forEach((kind, i) => {
          const to = `L${(i + 1) % k}`;
          if (kind === 'depends') props[i]?.push(`\tdepends on ${to}`);
          else if (kind === 'default') props[i]?.push(`\tdefault ${to}`);
          else if (kind === 'prompt-if') props[i]?.push(`\tprompt "p" if ${to}`);
          else if (kind === 'range-if') props[i]?.push(`\trange 0 1 if ${to}`);
          // L(i+1) selects/implies L(i): L(i)'s reverse dependency mentions L(i+1)
          else props[(i + 1) % k]?.push(`\t${kind} L${i}`);
        });
        const entries = range(k).map((i) => `config L${i}\n\t${eff[i] === 'range-if' ? 'int' : 'bool'} "l${i}"\n${(props[i] ?? []).join('\n')}\n`);
        const noiseText = range(noise).map((i) => `config N${i}\n\tbool "n"\n\tdepends on L0\n`).join('');
        const body = block === 'if' ? `if N0\n${entries.join('')}endif\n` : block === 'menu' ? `menu "m"\n${entries.join('')}endmenu\n` : entries.join('');
        const files = { Kconfig: `${noiseText}${body}` };
        const r = typed('parse', () => parseTree(files), ['dependency']);
        expect(r.ok, dump(files)).toBe(false);
        if (!r.ok) expect(r.error.message).toMatch(/recursive dependency detected/);
      }),
      fcOptions(0x5002, 300),
    );
  });
});
