import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheHome } from '../../src/util/cache-home.js';

/**
 * A Debian source package for the tests, fetched once into the cache with `apt-get source
 * --download-only` (scripts/setup.sh adds the deb-src entry), and unpacked into `into`: the
 * upstream tarball, which for the packages used here is what Debian builds (no patches that
 * matter to the build).
 */
export function debianSourceTree(pkg: string, into: string): string {
  const dir = join(cacheHome(), 'debian-sources', pkg);
  const orig = (): string | undefined => (existsSync(dir) ? readdirSync(dir).find((n) => n.startsWith(`${pkg}_`) && /\.orig\.tar\.(gz|xz|bz2)$/.test(n)) : undefined);
  if (orig() === undefined) {
    mkdirSync(dir, { recursive: true });
    const apt = spawnSync('apt-get', ['source', '--download-only', '-qq', pkg], { cwd: dir, encoding: 'utf8' });
    if (orig() === undefined) throw new Error(`apt-get source ${pkg} failed (is there a deb-src entry? scripts/setup.sh adds one): ${apt.stderr || apt.error?.message}`);
  }
  const tree = join(into, pkg);
  mkdirSync(tree, { recursive: true });
  const tar = spawnSync('tar', ['-x', '-f', join(dir, orig() as string), '-C', tree, '--strip-components=1'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`unpacking ${pkg}: ${tar.stderr}`);
  return tree;
}
