import { describe, expect, it } from 'vitest';
import { conditionToKconfig, inactiveRegions } from '../src/lsp/ifdef.js';

const kinds: Record<string, 'bool' | 'other'> = { NET: 'bool', INET: 'bool', IPV6: 'bool', NR_CPUS: 'other' };
const kindOf = (n: string): 'bool' | 'other' | 'none' => kinds[n] ?? 'none';
const values: Record<string, boolean> = { NET: true, INET: true, IPV6: false };

/** a tiny evaluator over the translated expression, enough for these cases */
function evaluate(cond: string): boolean | undefined {
  const expr = conditionToKconfig(cond, kindOf);
  if (expr === undefined) return undefined;
  const js = expr.replace(/\b[A-Z_][A-Z0-9_]*\b/g, (n) => String(values[n] ?? false)).replace(/\bn\b/g, 'false');
  return Boolean(new Function(`return (${js});`)());
}

describe('#if regions compiled out by a configuration', () => {
  it('translates CONFIG_-only conditions and refuses the rest', () => {
    expect(conditionToKconfig('defined(CONFIG_NET) && !IS_ENABLED(CONFIG_IPV6)', kindOf)).toBe('NET && ! IPV6');
    expect(conditionToKconfig('IS_MODULE(CONFIG_NET) || CONFIG_INET', kindOf)).toBe('n || INET');
    expect(conditionToKconfig('defined(CONFIG_NOT_IN_THIS_TREE)', kindOf)).toBe('n');
    expect(conditionToKconfig('CONFIG_NR_CPUS > 1', kindOf)).toBeUndefined();
    expect(conditionToKconfig('BITS_PER_LONG == 64', kindOf)).toBeUndefined();
  });

  it('marks false branches, follows #elif/#else, and says nothing inside unknown or dead branches', () => {
    const src = [
      '#include <x.h>', // 0
      '#ifdef CONFIG_IPV6', // 1
      'ipv6();', // 2
      '#elif defined(CONFIG_INET)', // 3
      'inet();', // 4
      '#else', // 5
      'none();', // 6
      '#endif', // 7
      '#if BITS_PER_LONG == 64', // 8
      '#ifdef CONFIG_IPV6', // 9
      'x();', // 10
      '#endif', // 11
      '#else', // 12
      'y();', // 13
      '#endif', // 14
      '#ifndef CONFIG_NET', // 15
      '#ifdef CONFIG_INET', // 16
      'z();', // 17
      '#endif', // 18
      '#endif /* !CONFIG_NET */', // 19
      '#if IS_ENABLED(CONFIG_IPV6) && \\', // 20
      '    defined(CONFIG_NET)', // 21
      'w();', // 22
      '#endif', // 23
    ].join('\n');
    const r = inactiveRegions(src, evaluate);
    expect(r).toEqual([
      { startLine: 2, endLine: 2, condition: '#ifdef CONFIG_IPV6' },
      { startLine: 6, endLine: 6, condition: '#else of #elif defined(CONFIG_INET)' },
      { startLine: 16, endLine: 18, condition: '#ifndef CONFIG_NET' },
      { startLine: 22, endLine: 22, condition: '#if IS_ENABLED(CONFIG_IPV6) && defined(CONFIG_NET)' },
    ]);
  });
});
