/**
 * `#if` regions of a C file that a configuration compiles out. Only conditions made of CONFIG_
 * options (`#ifdef CONFIG_X`, `defined(CONFIG_X)`, `IS_ENABLED(CONFIG_X)`, `&&`, `||`, `!`,
 * parentheses) are judged; any other condition makes its branches "unknown", and nothing inside
 * an unknown branch is marked (never fade code that may be built).
 */
export interface InactiveRegion {
  /** 0-based, first line inside the branch */
  startLine: number;
  /** 0-based, last line inside the branch */
  endLine: number;
  /** the branch's condition as written */
  condition: string;
}

/**
 * A CONFIG_-only preprocessor condition as a Kconfig expression, or undefined. `kindOf` says
 * what the option is in the tree: a bool/tristate (its value decides), another type (its value
 * would matter: unknown), or none (never defined: false).
 */
export function conditionToKconfig(text: string, kindOf: (name: string) => 'bool' | 'other' | 'none'): string | undefined {
  const out: string[] = [];
  const re = /\s+|defined\s*\(\s*CONFIG_(\w+)\s*\)|defined\s+CONFIG_(\w+)|IS_(ENABLED|BUILTIN|REACHABLE|MODULE)\s*\(\s*CONFIG_(\w+)\s*\)|CONFIG_(\w+)|&&|\|\||!|\(|\)/y;
  let i = 0;
  while (i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return undefined;
    i = re.lastIndex;
    const tok = m[0];
    if (/^\s+$/.test(tok)) continue;
    const name = m[1] ?? m[2] ?? m[4] ?? m[5];
    if (name === undefined) {
      out.push(tok);
      continue;
    }
    const kind = kindOf(name);
    if (kind === 'other') return undefined;
    // without modules nothing is built as a module
    out.push(kind === 'none' || m[3] === 'MODULE' ? 'n' : name);
  }
  return out.length ? out.join(' ') : undefined;
}

interface Frame {
  /** value of the current branch: true, false, or unknown */
  value: boolean | undefined;
  /** some earlier branch was taken (or may have been) */
  taken: boolean | undefined;
  start: number;
  condition: string;
  /** an enclosing branch is compiled out or unknown: report nothing inside */
  quiet: boolean;
}

export function inactiveRegions(source: string, evaluate: (condition: string) => boolean | undefined): InactiveRegion[] {
  const lines = source.split('\n');
  const out: InactiveRegion[] = [];
  const stack: Frame[] = [];
  const close = (f: Frame, endLine: number): void => {
    if (!f.quiet && f.value === false && endLine >= f.start) out.push({ startLine: f.start, endLine, condition: f.condition });
  };
  const quietNow = (): boolean => {
    const top = stack[stack.length - 1];
    return top !== undefined && (top.quiet || top.value !== true);
  };
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    const first = i;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]}`;
    const m = /^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$/.exec(line.replace(/\/\*.*?\*\//g, ' ').replace(/\/\/.*$/, ''));
    if (!m) continue;
    const kw = m[1] as string;
    const rest = (m[2] ?? '').replace(/\s+/g, ' ').trim();
    const judge = (): boolean | undefined => (kw === 'ifdef' ? evaluate(`defined(${rest})`) : kw === 'ifndef' ? negate(evaluate(`defined(${rest})`)) : evaluate(rest));
    if (kw === 'if' || kw === 'ifdef' || kw === 'ifndef') {
      const quiet = quietNow();
      const value = judge();
      stack.push({ value, taken: value, start: i + 1, condition: `#${kw} ${rest}`, quiet });
      continue;
    }
    const top = stack[stack.length - 1];
    if (!top) continue; // unbalanced: ignore
    close(top, first - 1);
    if (kw === 'endif') {
      stack.pop();
      continue;
    }
    const before = top.taken;
    let value: boolean | undefined;
    if (before === true) value = false;
    else if (before === undefined) value = undefined;
    else value = kw === 'else' ? true : judge();
    top.value = value;
    top.taken = before === true || value === true ? true : before === undefined || value === undefined ? undefined : false;
    top.start = i + 1;
    top.condition = kw === 'else' ? `#else of ${top.condition}` : `#elif ${rest}`;
  }
  return out;
}

function negate(v: boolean | undefined): boolean | undefined {
  return v === undefined ? undefined : !v;
}
