import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheHome } from '../../src/util/cache-home.js';

/**
 * code-server, VS Code in the browser, from npm: scripts/setup.sh installs this version into
 * ukl-trim's cache (the newest whose postinstall accepts Node 20; it builds VS Code's native
 * modules, so it is not a devDependency). UKL_TRIM_CODE_SERVER points at another copy.
 */
export const CODE_SERVER_VERSION = '4.100.3';

export function codeServerBin(): string {
  const fromEnv = process.env.UKL_TRIM_CODE_SERVER;
  if (fromEnv) return fromEnv;
  return join(cacheHome(), `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
}

export function codeServerAvailable(): boolean {
  return existsSync(codeServerBin());
}
