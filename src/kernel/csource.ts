import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

/**
 * A preprocessor condition, as written in `#if`/`#ifdef`/`#elif` lines. It is kept symbolic: evaluating
 * it needs a configuration (and arch headers for `__ARCH_WANT_*`), which is the caller's business.
 */
export type Guard =
  | { kind: 'const'; value: boolean }
  | { kind: 'defined'; macro: string }
  /** IS_ENABLED(CONFIG_X) and friends; `name` without the CONFIG_ prefix */
  | { kind: 'config'; test: 'enabled' | 'builtin' | 'module' | 'reachable'; name: string }
  /** a bare macro used as a value (`#if CONFIG_X`): true when defined and nonzero */
  | { kind: 'macro'; name: string }
  /** a comparison, both sides kept as (whitespace-normalised) text, e.g. `BITS_PER_LONG == 64` */
  | { kind: 'compare'; op: string; left: string; right: string }
  | { kind: 'not'; operand: Guard }
  | { kind: 'and' | 'or'; left: Guard; right: Guard }
  /** anything else, kept verbatim (whitespace-normalised) */
  | { kind: 'unknown'; text: string };

export interface SyscallSite {
  /** SYSCALL_DEFINE0..6 or COMPAT_SYSCALL_DEFINE0..6 */
  macro: string;
  /** first macro argument, e.g. 'read' */
  name: string;
  compat: boolean;
  /** 1-based line of the macro */
  line: number;
  /**
   * Conjunction of all enclosing conditions, outermost first, innermost last; inside an `#elif`/`#else`
   * branch, the negations of the earlier branches come before the branch's own condition.
   * null = unconditional.
   */
  guard: Guard | null;
}

export interface CondSyscall {
  name: string;
  compat: boolean;
  line: number;
  guard: Guard | null;
}

export interface CDefine {
  name: string;
  /** the replacement text, continuation lines joined and whitespace collapsed; '' for `#define X` */
  value: string;
  line: number;
  guard: Guard | null;
}

export interface CInclude {
  /** as written between the quotes */
  path: string;
  line: number;
  guard: Guard | null;
}

export interface CSourceScan {
  sites: SyscallSite[];
  /** `#include "foo.c"` (C files included into others: their sites belong to the includer) */
  includedCFiles: string[];
  /** the same includes with their line and guard (an includer may include a .c file only under a condition) */
  cIncludes: CInclude[];
  /** COND_SYSCALL(x) / COND_SYSCALL_COMPAT(x) names (kernel/sys_ni.c) */
  condSyscalls: CondSyscall[];
  /** object-like `#define NAME [value]` lines with their guard (function-like macros are left out) */
  defines: CDefine[];
  /**
   * The macro of a whole-file include guard (`#ifndef X` + `#define X` … `#endif`), or null. Its
   * condition is left out of every guard above: it only says "first inclusion".
   */
  includeGuard: string | null;
  /** count of ERROR nodes (informational: kernel macros always produce some) */
  errors: number;
}

export interface CScanner {
  scan(source: string): CSourceScan;
  /** frees the parser; scan() must not be called afterwards */
  dispose(): void;
}

// Files without any of these can't contribute anything, so they are not parsed at all.
const WORTH_PARSING = /SYSCALL_DEFINE|COND_SYSCALL|#[ \t]*define\b|#[ \t]*include[ \t]*"[^"\n]*\.c"/;

const SYSCALL_MACRO = /\b(COMPAT_)?SYSCALL_DEFINE[0-6](?=\s*\(\s*([A-Za-z_]\w*))/g;
const COND_SYSCALL_CALL = /\bCOND_SYSCALL(_COMPAT)?(?=\s*\(\s*([A-Za-z_]\w*)\s*\))/g;
const C_FILE_INCLUDE = /^[ \t]*#[ \t]*include[ \t]*("([^"\n]+\.c)")/gm;

// Comments and string/char literals, which are blanked before looking for directive lines.
const COMMENT_OR_LITERAL = /\/\*[\s\S]*?(?:\*\/|$)|\/\/(?:[^\n\\]|\\[\s\S])*|"(?:[^"\\\n]|\\[\s\S])*"|'(?:[^'\\\n]|\\[\s\S])*'/g;
// A directive with its continuation lines; group 1 is the keyword, group 2 the rest.
const DIRECTIVE_LINE = /^[ \t]*#[ \t]*([a-z]+)\b((?:[^\n\\]|\\[\s\S])*)/gm;

const CONFIG_TESTS: Readonly<Record<string, Extract<Guard, { kind: 'config' }>['test']>> = {
  IS_ENABLED: 'enabled',
  IS_BUILTIN: 'builtin',
  IS_MODULE: 'module',
  IS_REACHABLE: 'reachable',
};

const COMPARISON_OPERATORS = new Set(['==', '!=', '<', '<=', '>', '>=']);

/** Nodes whose own condition applies to their body; `alternative` holds the next #elif/#else. */
const CONDITIONAL_NODES = new Set(['preproc_if', 'preproc_ifdef', 'preproc_elif', 'preproc_elifdef']);
const BRANCH_NODES = [...CONDITIONAL_NODES, 'preproc_else'];

/** Where a macro name can sit while still being part of a directive rather than a use in code. */
const DIRECTIVE_NODES = new Set(['preproc_def', 'preproc_function_def', 'preproc_params', 'preproc_defined', 'preproc_call', 'preproc_include']);

type BranchRole = 'open' | 'elif' | 'else' | 'endif';

const BRANCH_ROLES: Readonly<Record<string, BranchRole>> = {
  if: 'open',
  ifdef: 'open',
  ifndef: 'open',
  elif: 'elif',
  elifdef: 'elif',
  elifndef: 'elif',
  else: 'else',
  endif: 'endif',
};

let runtimeReady: Promise<Language> | undefined;

/** The WASM runtime and the C grammar are loaded once per process and shared by every scanner. */
function loadCLanguage(): Promise<Language> {
  runtimeReady ??= (async () => {
    await Parser.init();
    const wasmPath = createRequire(import.meta.url).resolve('tree-sitter-c/tree-sitter-c.wasm');
    return Language.load(wasmPath);
  })();
  // a failed load should not poison later attempts
  runtimeReady.catch(() => {
    runtimeReady = undefined;
  });
  return runtimeReady;
}

export async function createCScanner(): Promise<CScanner> {
  const language = await loadCLanguage();
  const parser = new Parser();
  parser.setLanguage(language);
  let disposed = false;
  return {
    scan(source: string): CSourceScan {
      if (disposed) throw new Error('C scanner used after dispose()');
      return scanSource(parser, source);
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      parser.delete();
    },
  };
}

function emptyScan(): CSourceScan {
  return { sites: [], includedCFiles: [], cIncludes: [], condSyscalls: [], defines: [], includeGuard: null, errors: 0 };
}

/** Answers "which conditions enclose this node". */
interface GuardSource {
  around(node: Node): Guard | null;
}

function scanSource(parser: Parser, source: string): CSourceScan {
  const result = emptyScan();
  if (!WORTH_PARSING.test(source)) return result;

  const tree = parser.parse(source);
  if (tree === null) throw new Error('tree-sitter returned no tree');
  try {
    const root = tree.rootNode;
    const { directives, blanked } = indexDirectives(source);
    const includeGuard = findIncludeGuard(directives, blanked);
    result.includeGuard = includeGuard?.macro ?? null;
    const conditions = new ConditionParser(parser);
    // Preprocessing happens before C parsing, and tree-sitter's C grammar only knows conditionals
    // at places where declarations or statements may stand (not in initialisers, not around
    // unbalanced braces or assembler). When its conditional nodes don't sit exactly on the
    // directive lines, the nesting is taken from the directive lines instead.
    const consistent = process.env.FORCE_LINES ? false : treeMatchesDirectives(root, directives);
    if (!consistent) (globalThis as any).__fallbacks = ((globalThis as any).__fallbacks ?? 0) + 1;
    const guards: GuardSource = consistent
      ? new TreeGuards(includeGuard?.row ?? null)
      : new LineGuards(directives, includeGuard?.row ?? null, conditions);

    // Sites are found in the text (cheap, and immune to how error recovery shaped the tree), then
    // confirmed in the tree: a hit in a comment, a string or a macro definition is not an
    // identifier used in code.
    for (const match of source.matchAll(SYSCALL_MACRO)) {
      const macro = match[0];
      const node = codeIdentifierAt(root, match.index, macro.length);
      if (node === null) continue;
      const compat = match[1] !== undefined;
      result.sites.push({ macro, name: match[2] ?? '', compat, line: node.startPosition.row + 1, guard: guards.around(node) });
    }

    for (const match of source.matchAll(COND_SYSCALL_CALL)) {
      const node = codeIdentifierAt(root, match.index, match[0].length);
      if (node === null) continue;
      result.condSyscalls.push({
        name: match[2] ?? '',
        compat: match[1] !== undefined,
        line: node.startPosition.row + 1,
        guard: guards.around(node),
      });
    }

    for (const match of source.matchAll(C_FILE_INCLUDE)) {
      const quoted = match[1] ?? '';
      const quoteStart = match.index + match[0].length - quoted.length;
      const include = enclosingOfType(root.descendantForIndex(quoteStart, quoteStart + quoted.length), 'preproc_include', 3);
      if (include === null) continue;
      const path = match[2] ?? '';
      result.includedCFiles.push(path);
      result.cIncludes.push({ path, line: include.startPosition.row + 1, guard: guards.around(include) });
    }

    if (directives.some((directive) => directive.keyword === 'define')) {
      result.defines = collectDefines(root, source, directives, guards, conditions);
    }

    result.errors = root.hasError ? root.descendantsOfType('ERROR').length : 0;
    return result;
  } finally {
    tree.delete();
  }
}

/** The identifier exactly covering [start, start+length), when it is code rather than part of a directive. */
function codeIdentifierAt(root: Node, start: number, length: number): Node | null {
  const node = root.descendantForIndex(start, start + length);
  if (node === null || node.startIndex !== start || node.endIndex !== start + length) return null;
  // `SYSCALL_DEFINE0(fork) {` has no return type, so the grammar reads the macro as a type name
  if (node.type !== 'identifier' && node.type !== 'type_identifier') return null;
  const parent = node.parent;
  if (parent === null) return node;
  if (DIRECTIVE_NODES.has(parent.type)) return null;
  if ((parent.type === 'preproc_ifdef' || parent.type === 'preproc_elifdef') && isConditionPart(parent, node)) return null;
  return node;
}

function enclosingOfType(node: Node | null, type: string, maxSteps: number): Node | null {
  for (let current = node, steps = 0; current !== null && steps <= maxSteps; current = current.parent, steps++) {
    if (current.type === type) return current;
  }
  return null;
}

/**
 * Object-like #defines. The tree has most of them; a #define in a spot the C grammar doesn't expect
 * (inside an initialiser or enum, after an unterminated macro call) is lost in an ERROR node, so
 * directive lines the tree has no node for are parsed on their own.
 */
function collectDefines(root: Node, source: string, directives: readonly Directive[], guards: GuardSource, conditions: ConditionParser): CDefine[] {
  const defines: CDefine[] = [];
  const rowsInTree = new Set<number>();
  for (const definition of root.descendantsOfType(['preproc_def', 'preproc_function_def'])) {
    const row = definition.startPosition.row;
    rowsInTree.add(row);
    if (definition.type !== 'preproc_def') continue;
    const name = definition.childForFieldName('name');
    if (name === null) continue;
    defines.push({ name: name.text, value: defineValue(definition), line: row + 1, guard: guards.around(definition) });
  }
  const missed = directives.filter((directive) => directive.keyword === 'define' && !rowsInTree.has(directive.row));
  if (missed.length === 0) return defines;
  for (const directive of missed) {
    const parsed = conditions.parseDefine(source.slice(directive.start, directive.end));
    // whatever token the tree has at the `#` still lies inside every enclosing conditional node
    const hash = source.indexOf('#', directive.start);
    const token = root.descendantForIndex(hash, hash + 1);
    if (parsed !== null && token !== null) defines.push({ ...parsed, line: directive.row + 1, guard: guards.around(token) });
  }
  return defines.sort((a, b) => a.line - b.line);
}

function defineValue(definition: Node): string {
  const value = definition.childForFieldName('value')?.text ?? '';
  // the grammar's macro-body token stops at `/*` but keeps a trailing `// comment`
  return normaliseText(value.replace(COMMENT_OR_LITERAL, (text) => (text.startsWith('/') ? ' ' : text)));
}

/** A conditional or #define directive line (continuations included), found in the text. */
interface Directive {
  /** 0-based row of the `#` */
  row: number;
  /** `if`, `ifdef`, `elif`, `else`, `endif`, `define`, … */
  keyword: string;
  /** everything after the keyword, comments blanked */
  rest: string;
  /** offsets of the directive in the source */
  start: number;
  end: number;
}

const INDEXED_KEYWORDS = new Set([...Object.keys(BRANCH_ROLES), 'define']);

/** Directive lines, and the source with comments blanked (offsets and rows unchanged). */
function indexDirectives(source: string): { directives: Directive[]; blanked: string } {
  // strings are kept: they cannot span lines, and matching them stops a `"/*"` from opening a comment
  const blanked = source.replace(COMMENT_OR_LITERAL, (text) => (text.startsWith('/') ? text.replace(/[^\n]/g, ' ') : text));
  const directives: Directive[] = [];
  let row = 0;
  let counted = 0;
  for (const match of blanked.matchAll(DIRECTIVE_LINE)) {
    const keyword = match[1] ?? '';
    if (!INDEXED_KEYWORDS.has(keyword)) continue;
    row += countNewlines(blanked, counted, match.index);
    counted = match.index;
    directives.push({ row, keyword, rest: match[2] ?? '', start: match.index, end: match.index + match[0].length });
  }
  return { directives, blanked };
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/**
 * `#ifndef X` (or `#if !defined(X)`) + `#define X` as the first directives, its `#endif` the last,
 * no `#else`, and nothing but comments outside.
 */
function findIncludeGuard(directives: readonly Directive[], blanked: string): { macro: string; row: number } | null {
  const branches = directives.filter((directive) => directive.keyword !== 'define');
  const opener = branches[0];
  const firstDefine = directives[1];
  if (opener === undefined || directives[0] !== opener || firstDefine?.keyword !== 'define') return null;
  if (blanked.slice(0, opener.start).trim() !== '') return null;
  const macro =
    opener.keyword === 'ifndef'
      ? /^\s*(\w+)\s*$/.exec(opener.rest)?.[1]
      : opener.keyword === 'if'
        ? /^\s*!\s*defined\s*(?:\(\s*(\w+)\s*\)|(\w+))\s*$/.exec(opener.rest)?.slice(1).find((name) => name !== undefined)
        : undefined;
  if (macro === undefined || /^\s*(\w+)/.exec(firstDefine.rest)?.[1] !== macro) return null;
  let depth = 0;
  for (const [index, directive] of branches.entries()) {
    const role = BRANCH_ROLES[directive.keyword];
    if (role === 'open') depth++;
    else if (role === 'endif') depth--;
    else if (depth === 1) return null;
    if (depth === 0) {
      const outside = blanked.slice(directive.end).trim() === '' && index === branches.length - 1;
      return outside ? { macro, row: opener.row } : null;
    }
  }
  return null;
}

/**
 * True when the tree has a branch node on exactly the rows where the text has #if/#elif/#else, and
 * every #if node ends on a real `#endif` row: then the tree's nesting is the preprocessor's.
 */
function treeMatchesDirectives(root: Node, directives: readonly Directive[]): boolean {
  const expected = new Set<string>();
  for (const directive of directives) {
    const role = BRANCH_ROLES[directive.keyword];
    if (role !== undefined) expected.add(`${directive.row}:${role}`);
  }
  let seen = 0;
  for (const branch of root.descendantsOfType(BRANCH_NODES)) {
    const role: BranchRole = branch.type === 'preproc_else' ? 'else' : branch.type.startsWith('preproc_elif') ? 'elif' : 'open';
    if (!expected.has(`${branch.startPosition.row}:${role}`)) return false;
    seen++;
    if (role !== 'open') continue;
    const endif = branch.lastChild;
    if (endif === null || endif.type !== '#endif' || endif.isMissing) return false;
    if (!expected.has(`${endif.startPosition.row}:endif`)) return false;
    seen++;
  }
  return seen === expected.size;
}

/** Guards read from the tree: the conditional nodes among a node's ancestors. */
class TreeGuards implements GuardSource {
  private readonly conditions = new Map<number, Guard>();

  constructor(private readonly includeGuardRow: number | null) {}

  around(node: Node): Guard | null {
    const terms: Guard[] = [];
    let child = node;
    for (let parent = node.parent; parent !== null; child = parent, parent = parent.parent) {
      if (!CONDITIONAL_NODES.has(parent.type) || parent.startPosition.row === this.includeGuardRow) continue;
      if (isConditionPart(parent, child)) continue;
      const condition = this.condition(parent);
      // reached through `alternative`: we are in a later #elif/#else, so this branch was not taken
      const inAlternative = parent.childForFieldName('alternative')?.equals(child) ?? false;
      terms.push(inAlternative ? negate(condition) : condition);
    }
    terms.reverse();
    return conjunction(terms);
  }

  private condition(conditional: Node): Guard {
    let condition = this.conditions.get(conditional.id);
    if (condition === undefined) {
      condition = conditionOf(conditional);
      this.conditions.set(conditional.id, condition);
    }
    return condition;
  }
}

interface BranchFrame {
  readonly previous: readonly Guard[];
  readonly current: Guard | null;
  readonly isIncludeGuard: boolean;
}

/** Guards read from directive lines, for files whose tree lost the preprocessor nesting. */
class LineGuards implements GuardSource {
  /** after directive i (sorted by row), the guard in force on the following lines */
  private readonly rows: number[] = [];
  private readonly guards: (Guard | null)[] = [];

  constructor(directives: readonly Directive[], includeGuardRow: number | null, conditions: ConditionParser) {
    const stack: BranchFrame[] = [];
    for (const directive of directives) {
      const role = BRANCH_ROLES[directive.keyword];
      if (role === undefined) continue;
      const top = stack.at(-1);
      if (role === 'open') {
        stack.push({ previous: [], current: conditions.directive(directive), isIncludeGuard: directive.row === includeGuardRow });
      } else if (top === undefined) {
        continue; // a stray #elif/#else/#endif: nothing to close
      } else if (role === 'endif') {
        stack.pop();
      } else {
        const previous = top.current === null ? top.previous : [...top.previous, top.current];
        stack[stack.length - 1] = { ...top, previous, current: role === 'else' ? null : conditions.directive(directive) };
      }
      this.rows.push(directive.row);
      this.guards.push(conjunction(stack.filter((frame) => !frame.isIncludeGuard).flatMap(frameTerms)));
    }
  }

  around(node: Node): Guard | null {
    const row = node.startPosition.row;
    // the last directive above `row`
    let low = 0;
    let high = this.rows.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.rows[middle] ?? Infinity) < row) low = middle + 1;
      else high = middle;
    }
    return low === 0 ? null : (this.guards[low - 1] ?? null);
  }
}

function frameTerms(frame: BranchFrame): Guard[] {
  const terms = frame.previous.map(negate);
  if (frame.current !== null) terms.push(frame.current);
  return terms;
}

/** Parses directive text on its own with the scanner's parser (the file's tree stays alive meanwhile). */
class ConditionParser {
  private readonly cache = new Map<string, Guard>();

  constructor(private readonly parser: Parser) {}

  /** The condition of an #if/#ifdef/#elif… line. */
  directive(directive: Directive): Guard {
    const text = normaliseText(directive.rest);
    switch (directive.keyword) {
      case 'ifdef':
      case 'elifdef':
        return { kind: 'defined', macro: text };
      case 'ifndef':
      case 'elifndef':
        return negate({ kind: 'defined', macro: text });
      default:
        return this.expression(text);
    }
  }

  private expression(text: string): Guard {
    let guard = this.cache.get(text);
    if (guard === undefined) {
      guard = this.withTree(`#if ${text}\n#endif\n`, (root) => {
        const condition = root.firstNamedChild?.type === 'preproc_if' ? root.firstNamedChild.childForFieldName('condition') : null;
        return condition === null || condition.hasError ? { kind: 'unknown', text } : expressionToGuard(condition);
      });
      this.cache.set(text, guard);
    }
    return guard;
  }

  /** name and value of an object-like `#define`, null for a function-like one */
  parseDefine(text: string): { name: string; value: string } | null {
    return this.withTree(`${text}\n`, (root) => {
      const definition = root.firstNamedChild;
      const name = definition?.type === 'preproc_def' ? definition.childForFieldName('name') : null;
      return definition == null || name === null ? null : { name: name.text, value: defineValue(definition) };
    });
  }

  private withTree<T>(text: string, use: (root: Node) => T): T {
    const tree = this.parser.parse(text);
    if (tree === null) throw new Error('tree-sitter returned no tree');
    try {
      return use(tree.rootNode);
    } finally {
      tree.delete();
    }
  }
}

function isConditionPart(conditional: Node, child: Node): boolean {
  const field = conditional.type === 'preproc_ifdef' || conditional.type === 'preproc_elifdef' ? 'name' : 'condition';
  return conditional.childForFieldName(field)?.equals(child) ?? false;
}

/** The condition a conditional node tests (for #ifdef/#ifndef/#elifdef/#elifndef too). */
function conditionOf(conditional: Node): Guard {
  if (conditional.type === 'preproc_ifdef' || conditional.type === 'preproc_elifdef') {
    const name = conditional.childForFieldName('name');
    if (name === null) return { kind: 'unknown', text: normaliseText(conditional.text.split('\n', 1)[0] ?? '') };
    const defined: Guard = { kind: 'defined', macro: name.text };
    return conditional.child(0)?.type.endsWith('ndef') === true ? negate(defined) : defined;
  }
  const condition = conditional.childForFieldName('condition');
  return condition === null ? { kind: 'unknown', text: '' } : expressionToGuard(condition);
}

/** `a && b && c` as a left-leaning chain; `#if 1` terms say nothing and are dropped. */
function conjunction(terms: readonly Guard[]): Guard | null {
  let result: Guard | null = null;
  for (const term of terms) {
    if (term.kind === 'const' && term.value) continue;
    result = result === null ? term : { kind: 'and', left: result, right: term };
  }
  return result;
}

function negate(guard: Guard): Guard {
  if (guard.kind === 'not') return guard.operand;
  if (guard.kind === 'const') return { kind: 'const', value: !guard.value };
  return { kind: 'not', operand: guard };
}

/** Maps tree-sitter-c's preprocessor expression nodes to a Guard; anything unexpected stays verbatim. */
function expressionToGuard(node: Node): Guard {
  switch (node.type) {
    case 'number_literal': {
      const value = parseCInteger(node.text);
      return value === null ? unknown(node) : { kind: 'const', value: value !== 0 };
    }
    case 'identifier':
      return { kind: 'macro', name: node.text };
    case 'preproc_defined': {
      const name = node.namedChildren.find((child) => child.type === 'identifier');
      return name === undefined ? unknown(node) : { kind: 'defined', macro: name.text };
    }
    case 'parenthesized_expression': {
      const inner = codeChildren(node);
      return inner.length === 1 && inner[0] !== undefined ? expressionToGuard(inner[0]) : unknown(node);
    }
    case 'unary_expression': {
      const operator = node.childForFieldName('operator')?.type;
      const argument = node.childForFieldName('argument');
      if (operator === '!' && argument !== null) return negate(expressionToGuard(argument));
      return unknown(node);
    }
    case 'binary_expression': {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      const operator = node.childForFieldName('operator')?.type ?? '';
      if (left === null || right === null) return unknown(node);
      if (operator === '&&' || operator === '||') {
        return { kind: operator === '&&' ? 'and' : 'or', left: expressionToGuard(left), right: expressionToGuard(right) };
      }
      if (COMPARISON_OPERATORS.has(operator)) {
        return { kind: 'compare', op: operator, left: normaliseText(left.text), right: normaliseText(right.text) };
      }
      return unknown(node);
    }
    case 'call_expression': {
      const test = CONFIG_TESTS[node.childForFieldName('function')?.text ?? ''];
      const args = node.childForFieldName('arguments');
      const only = args === null ? [] : codeChildren(args);
      if (test !== undefined && only.length === 1 && only[0]?.type === 'identifier') {
        return { kind: 'config', test, name: only[0].text.replace(/^CONFIG_/, '') };
      }
      return unknown(node);
    }
    default:
      return unknown(node);
  }
}

function codeChildren(node: Node): Node[] {
  return node.namedChildren.filter((child) => child.type !== 'comment');
}

function unknown(node: Node): Guard {
  return { kind: 'unknown', text: normaliseText(node.text) };
}

/** 0, 1, 0x10, 64UL, 010 … → number; null when it is not an integer literal. */
function parseCInteger(text: string): number | null {
  const digits = text.replace(/[uUlL]+$/, '');
  if (/^0[0-7]+$/.test(digits)) return Number.parseInt(digits, 8);
  if (!/^(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)$/.test(digits)) return null;
  return Number(digits);
}

/** Joins continuation lines and collapses whitespace. */
function normaliseText(text: string): string {
  return text.replace(/\\\r?\n/g, ' ').replace(/\s+/g, ' ').trim();
}

const CONFIG_TEST_MACROS: Readonly<Record<Extract<Guard, { kind: 'config' }>['test'], string>> = {
  enabled: 'IS_ENABLED',
  builtin: 'IS_BUILTIN',
  module: 'IS_MODULE',
  reachable: 'IS_REACHABLE',
};

/** C-like text of a guard, for reports; null (unconditional) prints as `1`. */
export function guardToString(guard: Guard | null): string {
  if (guard === null) return '1';
  switch (guard.kind) {
    case 'const':
      return guard.value ? '1' : '0';
    case 'defined':
      return `defined(${guard.macro})`;
    case 'config':
      return `${CONFIG_TEST_MACROS[guard.test]}(CONFIG_${guard.name})`;
    case 'macro':
      return guard.name;
    case 'compare':
      return `${guard.left} ${guard.op} ${guard.right}`;
    case 'unknown':
      return guard.text;
    case 'not':
      return `!${operandToString(guard.operand, 'not')}`;
    case 'and':
    case 'or':
      return `${operandToString(guard.left, guard.kind)} ${guard.kind === 'and' ? '&&' : '||'} ${operandToString(guard.right, guard.kind)}`;
  }
}

/** Parenthesises where C precedence needs it, and also `a || b` inside `&&`, for readability. */
function operandToString(operand: Guard, context: 'not' | 'and' | 'or'): string {
  const text = guardToString(operand);
  const needsParens =
    context === 'not'
      ? operand.kind === 'and' || operand.kind === 'or' || operand.kind === 'compare' || (operand.kind === 'unknown' && !/^\w+$/.test(text))
      : (operand.kind === 'and' || operand.kind === 'or') ? operand.kind !== context : operand.kind === 'unknown' && !/^[\w()]+$/.test(text);
  return needsParens ? `(${text})` : text;
}
