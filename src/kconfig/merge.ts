/**
 * Fragment merging as scripts/kconfig/merge_config.sh does it: for every symbol a fragment
 * sets, lines of the base that mention it are deleted, then the fragment is appended (after a
 * blank line). The result is meant to be read by olddefconfig, where the last assignment wins.
 */
export function mergeConfigFragments(base: string, fragments: readonly string[], prefix = 'CONFIG_'): string {
  let tmp = base;
  const esc = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const setRe = new RegExp(`^(${esc}[a-zA-Z0-9_]*)=.*`);
  const unsetRe = new RegExp(`^# (${esc}[a-zA-Z0-9_]*) is not set$`);
  for (const frag of fragments) {
    const names: string[] = [];
    for (const line of frag.split('\n')) {
      const m = setRe.exec(line) ?? unsetRe.exec(line);
      if (m?.[1]) names.push(m[1]);
    }
    for (const name of names) {
      // grep -w: the name must appear as a whole word
      const word = new RegExp(`(^|[^A-Za-z0-9_])${name}($|[^A-Za-z0-9_])`, 'm');
      if (!word.test(tmp)) continue;
      // sed "/NAME[ =]/d"
      const del = new RegExp(`${name}[ =]`);
      const lines = tmp.split('\n');
      const trailing = tmp.endsWith('\n');
      const kept = (trailing ? lines.slice(0, -1) : lines).filter((l) => !del.test(l));
      tmp = kept.join('\n') + (kept.length > 0 && trailing ? '\n' : '');
    }
    tmp += '\n';
    tmp += frag;
  }
  return tmp;
}
