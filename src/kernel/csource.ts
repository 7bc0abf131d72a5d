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

const CONFIG_TESTS: Readonly<Record<string, Extract<Guard, { kind: 'config' }>['test']>> = {
  IS_ENABLED: 'enabled',
  IS_BUILTIN: 'builtin',
  IS_MODULE: 'module',
  IS_REACHABLE: 'reachable',
};

const COMPARISON_OPERATORS = new Set(['==', '!=', '<', '<=', '>', '>=']);

/** Nodes whose own condition applies to their body; `alternative` holds the next #elif/#else. */
const CONDITIONAL_NODES = new Set(['preproc_if', 'preproc_ifdef', 'preproc_elif', 'preproc_elifdef']);

/**
 * Where a macro name can sit while still being part of a directive (its own #define, an #ifdef name,
 * `defined(X)`) rather than a use in code.
 */
const DIRECTIVE_NODES = new Set(['preproc_def', 'preproc_function_def', 'preproc_params', 'preproc_defined', 'preproc_call', 'preproc_include']);

let runtimeReady: Promise<Language> | undefined;

/** The WASM runtime and the C grammar are loaded once per process and shared by every scanner. */
function loadCLanguage(): Promise<Language> {
  runtimeReady ??= (async () => {
    await Parser.init();
    const wasmPath = createRequire(import.meta.url).resolve('tree-sitter-c/tree-sitter-c.wasm');
    return Language.load(wasmPath);
  })();
  // a failed load should not poison later attempts (e.g. a test that first runs without the package)
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

function scanSource(parser: Parser, source: string): CSourceScan {
  const result = emptyScan();
  if (!WORTH_PARSING.test(source)) return result;

  const tree = parser.parse(source);
  if (tree === null) throw new Error('tree-sitter returned no tree');
  try {
    const root = tree.rootNode;
    const guards = new GuardBuilder(findIncludeGuard(root));
    result.includeGuard = guards.includeGuardMacro;

    // Sites are found in the text (cheap, and immune to how error recovery shaped the tree), then
    // confirmed in the tree: a hit in a comment, a string or a macro definition is not a leaf
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

    if (/#[ \t]*define\b/.test(source)) {
      for (const definition of root.descendantsOfType('preproc_def')) {
        const nameNode = definition.childForFieldName('name');
        if (nameNode === null) continue;
        result.defines.push({
          name: nameNode.text,
          value: normaliseText(definition.childForFieldName('value')?.text ?? ''),
          line: definition.startPosition.row + 1,
          guard: guards.around(definition),
        });
      }
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
 * A header's `#ifndef X` / `#define X` … `#endif` wrapper (or `#if !defined(X)`): the only top-level
 * node besides comments, without an #else, and defining X first.
 */
function findIncludeGuard(root: Node): { node: Node; macro: string } | null {
  const topLevel = root.namedChildren.filter((child) => child.type !== 'comment');
  const wrapper = topLevel[0];
  if (topLevel.length !== 1 || wrapper === undefined) return null;
  if (wrapper.childForFieldName('alternative') !== null) return null;
  const condition = conditionOf(wrapper);
  if (condition?.kind !== 'not' || condition.operand.kind !== 'defined') return null;
  const macro = condition.operand.macro;
  const firstInside = wrapper.namedChildren.find(
    (child) => child.type !== 'comment' && !isConditionPart(wrapper, child),
  );
  if (firstInside?.type !== 'preproc_def' || firstInside.childForFieldName('name')?.text !== macro) return null;
  return { node: wrapper, macro };
}

function isConditionPart(conditional: Node, child: Node): boolean {
  const field = conditional.type === 'preproc_ifdef' || conditional.type === 'preproc_elifdef' ? 'name' : 'condition';
  return conditional.childForFieldName(field)?.equals(child) ?? false;
}

/** The condition a conditional node tests (for #ifdef/#ifndef/#elifdef/#elifndef too). */
function conditionOf(conditional: Node): Guard | null {
  switch (conditional.type) {
    case 'preproc_if':
    case 'preproc_elif': {
      const condition = conditional.childForFieldName('condition');
      return condition === null ? { kind: 'unknown', text: '' } : expressionToGuard(condition);
    }
    case 'preproc_ifdef':
    case 'preproc_elifdef': {
      const name = conditional.childForFieldName('name');
      if (name === null) return { kind: 'unknown', text: normaliseText(conditional.text.split('\n', 1)[0] ?? '') };
      const directive = conditional.child(0)?.type ?? '';
      const defined: Guard = { kind: 'defined', macro: name.text };
      return directive.endsWith('ndef') ? negate(defined) : defined;
    }
    default:
      return null;
  }
}

/** Builds guards from ancestor chains, converting each #if condition once per file. */
class GuardBuilder {
  readonly includeGuardMacro: string | null;
  private readonly includeGuardNodeId: number | null;
  private readonly conditions = new Map<number, Guard>();

  constructor(includeGuard: { node: Node; macro: string } | null) {
    this.includeGuardMacro = includeGuard?.macro ?? null;
    this.includeGuardNodeId = includeGuard?.node.id ?? null;
  }

  around(node: Node): Guard | null {
    const terms: Guard[] = [];
    let child = node;
    for (let parent = node.parent; parent !== null; child = parent, parent = parent.parent) {
      if (!CONDITIONAL_NODES.has(parent.type) || parent.id === this.includeGuardNodeId) continue;
      // code in the condition itself (only a stray match could be there) is not guarded by it
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
      condition = conditionOf(conditional) ?? { kind: 'unknown', text: '' };
      this.conditions.set(conditional.id, condition);
    }
    return condition;
  }
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

/** Joins continuation lines, drops comments' line structure and collapses whitespace. */
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
