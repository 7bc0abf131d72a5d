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
// A conditional or #define line with its continuation lines: group 1 the keyword, group 2 the rest.
const DIRECTIVE_LINE = /^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif|define)\b((?:[^\n\\]|\\[\s\S])*)/gm;
const COMMENT = /\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;
// A trailing `// comment`; string and char literals are matched too so that `"http://"` stays intact.
const LINE_COMMENT_OUTSIDE_LITERALS = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\/\/.*$/gm;

const CONFIG_TESTS: Readonly<Record<string, Extract<Guard, { kind: 'config' }>['test']>> = {
  IS_ENABLED: 'enabled',
  IS_BUILTIN: 'builtin',
  IS_MODULE: 'module',
  IS_REACHABLE: 'reachable',
};

const COMPARISON_OPERATORS = new Set(['==', '!=', '<', '<=', '>', '>=']);

/** Nodes whose own condition applies to their body; `alternative` holds the next #elif/#else. */
const CONDITIONAL_NODES = new Set(['preproc_if', 'preproc_ifdef', 'preproc_elif', 'preproc_elifdef']);

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

/** The node types tree-sitter-c gives a directive token's parent when it understood the directive. */
const BRANCH_OWNERS: Readonly<Record<BranchRole, readonly string[]>> = {
  open: ['preproc_if', 'preproc_ifdef'],
  elif: ['preproc_elif', 'preproc_elifdef'],
  else: ['preproc_else'],
  endif: ['preproc_if', 'preproc_ifdef'],
};

let languageLoading: Promise<Language> | undefined;

/** The WASM runtime and the C grammar are loaded once per process and shared by every scanner. */
function loadCLanguage(): Promise<Language> {
  if (languageLoading === undefined) {
    languageLoading = (async () => {
      await Parser.init();
      const wasmPath = createRequire(import.meta.url).resolve('tree-sitter-c/tree-sitter-c.wasm');
      return Language.load(wasmPath);
    })();
    // a failed load should not poison later attempts
    languageLoading.catch(() => {
      languageLoading = undefined;
    });
  }
  return languageLoading;
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
    const directives = findDirectives(source, root);
    const includeGuard = findIncludeGuard(source, directives);
    result.includeGuard = includeGuard?.macro ?? null;
    const snippets = new SnippetParser(parser);
    // Preprocessing happens before C parsing, and tree-sitter's C grammar only knows conditionals
    // where a declaration or statement may stand (not inside initialisers, not around unbalanced
    // braces or assembler). When its conditional nodes don't own exactly the directive lines, the
    // nesting is taken from the directive lines instead.
    const guards: GuardSource = treeOwnsDirectives(directives)
      ? new TreeGuards(includeGuard?.row ?? null)
      : new LineGuards(directives, includeGuard?.row ?? null, snippets);

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

    for (const directive of directives) {
      if (directive.keyword !== 'define') continue;
      const owner = directive.token.parent;
      // a #define where the C grammar doesn't expect one (in an initialiser or enum, after an
      // unterminated macro call) ends up in an ERROR node: parse its line on its own
      const parsed =
        owner?.type === 'preproc_def' || owner?.type === 'preproc_function_def'
          ? objectLikeDefine(owner)
          : snippets.define(source.slice(directive.start, directive.end));
      if (parsed === null) continue;
      result.defines.push({ ...parsed, line: directive.row + 1, guard: guards.around(directive.token) });
    }

    result.errors = countErrors(root);
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

/** ERROR nodes, visiting only subtrees that have one (a full walk costs as much as a tenth of the parse). */
function countErrors(node: Node): number {
  if (!node.hasError) return 0;
  let count = node.isError ? 1 : 0;
  for (const child of node.children) count += countErrors(child);
  return count;
}

function objectLikeDefine(definition: Node): { name: string; value: string } | null {
  if (definition.type !== 'preproc_def') return null;
  const name = definition.childForFieldName('name');
  if (name === null) return null;
  // the grammar's macro-body token stops before `/*` but keeps a trailing `// comment`
  const value = definition.childForFieldName('value')?.text ?? '';
  return { name: name.text, value: normaliseText(value.replace(LINE_COMMENT_OUTSIDE_LITERALS, (text) => (text.startsWith('//') ? '' : text))) };
}

/** A conditional or #define directive line (continuations included), found in the text. */
interface Directive {
  /** 0-based row of the `#` */
  row: number;
  /** `if`, `ifdef`, `elif`, `else`, `endif`, `define`, … */
  keyword: string;
  /** everything after the keyword, comments included */
  rest: string;
  /** offsets of the directive line in the source */
  start: number;
  end: number;
  /** the tree's token at the `#` (e.g. `#ifdef`, or whatever error recovery made of it) */
  token: Node;
}

/** Conditional and #define lines; a `#` line inside a comment is not a directive, and the tree knows comments. */
function findDirectives(source: string, root: Node): Directive[] {
  const directives: Directive[] = [];
  for (const match of source.matchAll(DIRECTIVE_LINE)) {
    const hash = source.indexOf('#', match.index);
    const token = root.descendantForIndex(hash, hash + 1);
    // (a `#` starting a continuation line of a macro body is no directive either)
    if (token === null || token.type === 'comment' || token.type === 'preproc_arg') continue;
    directives.push({
      row: token.startPosition.row,
      keyword: match[1] ?? '',
      rest: match[2] ?? '',
      start: match.index,
      end: match.index + match[0].length,
      token,
    });
  }
  return directives;
}

/**
 * `#ifndef X` (or `#if !defined(X)`) + `#define X` as the first directives, its `#endif` the last,
 * no `#else`, and nothing but comments outside.
 */
function findIncludeGuard(source: string, directives: readonly Directive[]): { macro: string; row: number } | null {
  const opener = directives[0];
  const firstDefine = directives[1];
  if (opener === undefined || firstDefine?.keyword !== 'define') return null;
  const macro = includeGuardMacro(opener);
  if (macro === undefined || /^\s*(\w+)/.exec(firstDefine.rest)?.[1] !== macro) return null;
  if (!onlyComments(source.slice(0, opener.start))) return null;
  let depth = 0;
  for (const directive of directives) {
    const role = BRANCH_ROLES[directive.keyword];
    if (role === 'open') depth++;
    else if (role === 'endif') depth--;
    else if (role !== undefined && depth === 1) return null;
    if (depth === 0 && role !== undefined) {
      const last = directive === directives.at(-1);
      return last && onlyComments(source.slice(directive.end)) ? { macro, row: opener.row } : null;
    }
  }
  return null;
}

function onlyComments(text: string): boolean {
  return text.replace(COMMENT, '').trim() === '';
}

function includeGuardMacro(opener: Directive): string | undefined {
  if (opener.keyword === 'ifndef') return /^\s*(\w+)/.exec(opener.rest)?.[1];
  if (opener.keyword !== 'if') return undefined;
  const negatedDefined = /^\s*!\s*defined\s*(?:\(\s*(\w+)\s*\)|(\w+))\s*(?:\/\*.*\*\/\s*)?$/.exec(opener.rest);
  return negatedDefined?.[1] ?? negatedDefined?.[2];
}

/**
 * True when every conditional directive line is a token of the matching tree-sitter node, and each
 * `#endif` closes the node opened by its own `#if`: then the tree nests code as the preprocessor does.
 */
function treeOwnsDirectives(directives: readonly Directive[]): boolean {
  const openRows: number[] = [];
  for (const directive of directives) {
    const role = BRANCH_ROLES[directive.keyword];
    if (role === undefined) continue;
    const owner = directive.token.parent;
    if (directive.token.type !== `#${directive.keyword}` || owner === null || !BRANCH_OWNERS[role].includes(owner.type)) return false;
    if (role === 'open') openRows.push(directive.row);
    if (role === 'endif' && owner.startPosition.row !== openRows.pop()) return false;
  }
  return openRows.length === 0;
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
  /** conditions of the earlier branches of this #if chain, which were not taken */
  readonly previous: readonly Guard[];
  /** this branch's own condition; null in #else */
  readonly current: Guard | null;
  readonly isIncludeGuard: boolean;
}

/** Guards read from directive lines, for files whose tree lost the preprocessor nesting. */
class LineGuards implements GuardSource {
  /** rows of the conditional directives, and the guard in force on the lines after each */
  private readonly rows: number[] = [];
  private readonly guards: (Guard | null)[] = [];

  constructor(directives: readonly Directive[], includeGuardRow: number | null, snippets: SnippetParser) {
    const stack: BranchFrame[] = [];
    for (const directive of directives) {
      const role = BRANCH_ROLES[directive.keyword];
      if (role === undefined) continue;
      const top = stack.at(-1);
      if (role === 'open') {
        stack.push({ previous: [], current: conditionFor(directive, snippets), isIncludeGuard: directive.row === includeGuardRow });
      } else if (top === undefined) {
        continue; // a stray #elif/#else/#endif: nothing to close
      } else if (role === 'endif') {
        stack.pop();
      } else {
        const previous = top.current === null ? top.previous : [...top.previous, top.current];
        stack[stack.length - 1] = { ...top, previous, current: role === 'else' ? null : conditionFor(directive, snippets) };
      }
      this.rows.push(directive.row);
      this.guards.push(conjunction(stack.filter((frame) => !frame.isIncludeGuard).flatMap(frameTerms)));
    }
  }

  around(node: Node): Guard | null {
    const row = node.startPosition.row;
    // binary search for the last directive above `row`
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

/** From the tree's node when it parsed this directive, else from the directive's text alone. */
function conditionFor(directive: Directive, snippets: SnippetParser): Guard {
  const owner = directive.token.parent;
  const understood = owner !== null && CONDITIONAL_NODES.has(owner.type) && directive.token.type === `#${directive.keyword}`;
  return understood ? conditionOf(owner) : snippets.condition(directive);
}

function frameTerms(frame: BranchFrame): Guard[] {
  const terms = frame.previous.map(negate);
  if (frame.current !== null) terms.push(frame.current);
  return terms;
}

/** Parses a directive's text on its own with the scanner's parser (the file's tree stays alive meanwhile). */
class SnippetParser {
  private readonly conditions = new Map<string, Guard>();

  constructor(private readonly parser: Parser) {}

  /** The condition of an #if/#ifdef/#elif… line. */
  condition(directive: Directive): Guard {
    if (directive.keyword.endsWith('def')) {
      const name = /^\s*(\w+)/.exec(directive.rest)?.[1];
      if (name === undefined) return { kind: 'unknown', text: normaliseText(directive.rest) };
      const defined: Guard = { kind: 'defined', macro: name };
      return directive.keyword.endsWith('ndef') ? negate(defined) : defined;
    }
    const text = normaliseText(directive.rest);
    let guard = this.conditions.get(text);
    if (guard === undefined) {
      guard = this.withTree(`#if ${text}\n#endif\n`, (root) => {
        const opener = root.firstNamedChild;
        const condition = opener?.type === 'preproc_if' ? opener.childForFieldName('condition') : null;
        return condition === null || condition.hasError ? { kind: 'unknown', text } : expressionToGuard(condition);
      });
      this.conditions.set(text, guard);
    }
    return guard;
  }

  /** Name and value of an object-like `#define` line; null for a function-like one. */
  define(text: string): { name: string; value: string } | null {
    return this.withTree(`${text}\n`, (root) => {
      const definition = root.firstNamedChild;
      return definition === null ? null : objectLikeDefine(definition);
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
