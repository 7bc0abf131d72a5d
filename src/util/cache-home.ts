import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** ukl-trim's cache folder: $XDG_CACHE_HOME/ukl-trim, else ~/.cache/ukl-trim (every layer keeps its entries here) */
export function cacheHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir() || tmpdir(), '.cache'), 'ukl-trim');
}
