import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cacheHome } from '../../src/util/cache-home.js';

/**
 * A Debian source package for the tests, fetched once into the cache with `apt-get source
 * --download-only` (scripts/setup.sh adds the deb-src entry), and unpacked into `into`: the
 * upstream tarball, which for the packages used here is what Debian builds (no patches that
 * matter to the build).
 */
export function debianSourceTree(pkg: string, into: string): string {
  const tree = join(into, pkg);
  mkdirSync(tree, { recursive: true });
  const tar = spawnSync('tar', ['-x', '-f', debianSourceTarball(pkg), '-C', tree, '--strip-components=1'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`unpacking ${pkg}: ${tar.stderr}`);
  return tree;
}

/** the upstream tarball of a Debian source package, fetched once into the cache */
function debianSourceTarball(pkg: string): string {
  const dir = join(cacheHome(), 'debian-sources', pkg);
  const orig = (): string | undefined => (existsSync(dir) ? readdirSync(dir).find((n) => n.startsWith(`${pkg}_`) && /\.orig\.tar\.(gz|xz|bz2)$/.test(n)) : undefined);
  if (orig() === undefined) {
    mkdirSync(dir, { recursive: true });
    const apt = spawnSync('apt-get', ['source', '--download-only', '-qq', pkg], { cwd: dir, encoding: 'utf8' });
    if (orig() === undefined) throw new Error(`apt-get source ${pkg} failed (is there a deb-src entry? scripts/setup.sh adds one): ${apt.stderr || apt.error?.message}`);
  }
  return join(dir, orig() as string);
}

/** how to build one program of a source package: commands (argument arrays) run in the tree, and the file they make */
export interface DebianBuildRecipe {
  steps: readonly (readonly string[])[];
  /** the program, relative to the tree */
  output: string;
}

/**
 * A program built from a Debian source package (unpacked under `work`), cached in
 * $XDG_CACHE_HOME/ukl-trim/debian-builds/ by source tarball, recipe and compiler: a warm test run
 * compiles nothing.
 */
export function debianProgram(pkg: string, recipe: DebianBuildRecipe, work: string): string {
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
  const key = createHash('sha256').update(`${basename(debianSourceTarball(pkg))}\0${JSON.stringify(recipe)}\0${gcc}`).digest('hex').slice(0, 24);
  const program = join(cacheHome(), 'debian-builds', `${pkg}-${key}`, basename(recipe.output));
  if (existsSync(program)) return program;
  const tree = debianSourceTree(pkg, work);
  for (const [command, ...args] of recipe.steps) {
    const r = spawnSync(command as string, args, { cwd: tree, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${pkg}: ${[command, ...args].join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr || r.stdout).slice(-3000)}`);
  }
  mkdirSync(dirname(program), { recursive: true });
  const tmp = `${program}.${process.pid}.tmp`;
  copyFileSync(join(tree, recipe.output), tmp);
  renameSync(tmp, program);
  return program;
}

/**
 * A program as Debian ships it in a binary package (e.g. busybox-static's /bin/busybox), fetched
 * once with `apt-get download` and unpacked with `dpkg-deb -x` into the cache; nothing is
 * installed on this machine.
 */
export function debianBinary(pkg: string, pathInPackage: string): string {
  const dir = join(cacheHome(), 'debian-binaries', pkg);
  const program = join(dir, 'root', pathInPackage);
  if (existsSync(program)) return program;
  mkdirSync(dir, { recursive: true });
  const deb = (): string | undefined => readdirSync(dir).find((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
  if (deb() === undefined) {
    const apt = spawnSync('apt-get', ['download', '-qq', pkg], { cwd: dir, encoding: 'utf8' });
    if (deb() === undefined) throw new Error(`apt-get download ${pkg} failed: ${apt.stderr || apt.error?.message}`);
  }
  const tmp = join(dir, `root.${process.pid}.tmp`);
  const unpack = spawnSync('dpkg-deb', ['-x', join(dir, deb() as string), tmp], { encoding: 'utf8' });
  if (unpack.status !== 0) throw new Error(`dpkg-deb -x ${deb()}: ${unpack.stderr}`);
  renameSync(tmp, join(dir, 'root'));
  return program;
}
