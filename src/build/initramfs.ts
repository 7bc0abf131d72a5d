import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBytesAtomic } from '../util/fs.js';
import { cacheHome } from '../util/cache-home.js';
import { writeCpioNewc, type CpioEntry } from './cpio.js';
import { EM_X86_64, ET_DYN, ET_EXEC, readElfSummary } from './elf.js';
import { ElfError } from '../lto/elf.js';
import { InitramfsError } from './initramfs-error.js';
import { includeEntries, type InitramfsInclude } from './initramfs-include.js';
import { sharedObjectsOf, SharedObjectError, type SharedObject } from '../lto/shared-objects.js';

/**
 * The initramfs of initramfs mode: our own init (src/build/init/init.c, compiled here and cached)
 * as /init, the application as /app (and, when it is dynamically linked, its interpreter and
 * libraries where its loader looks), /dev/console so the kernel gives init a console,
 * the mount points init uses, the user's files and folders (includes), and a minimal /etc.
 */

export { InitramfsError, type InitramfsErrorCode } from './initramfs-error.js';
export { parseIncludeSpec, type InitramfsInclude } from './initramfs-include.js';

export interface InitramfsOptions {
  /** the application: an x86-64 ELF executable; when dynamically linked, its interpreter and libraries go in too */
  app: string;
  /** its arguments (stored as /app.args; `ukl.args=` on the kernel command line overrides them) */
  args?: string[];
  /** eth0's address with prefix length, default 10.0.2.15/24 (QEMU user networking) */
  ip?: string;
  /** the default route's gateway, default 10.0.2.2; "none" for no default route */
  gateway?: string;
  /** more entries for the archive (config files, data the app reads) */
  extraFiles?: CpioEntry[];
  /** host files and folders copied in (`--include HOST:GUEST`); they win over the default /etc files */
  includes?: readonly InitramfsInclude[];
  /** argv[0] the app is started under (multi-call programs pick their role by it), default /app */
  appName?: string;
  /** a ready-made /init to use instead of compiling ours */
  init?: string;
  /** where to write the archive; default: the cache, named by content hash */
  out?: string;
  /**
   * UKL mode: /app is the trigger of a UKL kernel (UKL_NAME="/app"), and init prints UKL's
   * "UKL BOOTED" marker before it execs it (`ukl.mode=ukl` in /ukl.conf)
   */
  ukl?: boolean;
}

export interface InitramfsResult {
  path: string;
  bytes: number;
  /** the /init that went in (a cached build of init.c unless one was given) */
  init: string;
}

/** Throws an InitramfsError unless `path` is an x86-64 ELF executable that needs no dynamic loader. */
export function checkStaticExecutable(path: string, role = 'application'): void {
  checkExecutable(path, role, false);
}

/**
 * Throws an InitramfsError unless `path` is an x86-64 ELF executable; one that asks for a
 * dynamic loader only with `allowDynamic`, and only when its libraries are on this machine.
 */
export function checkExecutable(path: string, role: string, allowDynamic: boolean): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InitramfsError('app-missing', `${role} ${path}: no such file`);
  }
  if (!st.isFile()) throw new InitramfsError('app-not-executable', `${role} ${path} is not a regular file`);
  let elf;
  try {
    elf = readElfSummary(path);
  } catch (e) {
    if (e instanceof ElfError) throw new InitramfsError('app-not-elf', `${role} ${e.message}; an ELF executable built for x86-64 is needed`);
    throw e;
  }
  if (elf.machine !== EM_X86_64) throw new InitramfsError('app-wrong-arch', `${role} ${path} is not built for x86-64 (ELF machine ${elf.machine})`);
  if (elf.interpreter !== null && !allowDynamic) {
    throw new InitramfsError('app-dynamic', `${role} ${path} is dynamically linked (it asks for ${elf.interpreter}); it must be linked statically (gcc -static or musl-gcc -static)`);
  }
  // a static-pie program is ET_DYN without an interpreter; a shared library has no entry point
  if (elf.type !== ET_EXEC && !(elf.type === ET_DYN && elf.entry !== 0n)) {
    throw new InitramfsError('app-not-executable', `${role} ${path} is not an executable (ELF type ${elf.type})`);
  }
  if (elf.interpreter !== null) appSharedObjects(path);
}

/** the interpreter and libraries a dynamically linked app loads (none for a static one) */
function appSharedObjects(app: string): SharedObject[] {
  if (readElfSummary(app).interpreter === null) return [];
  try {
    return sharedObjectsOf(app);
  } catch (e) {
    if (e instanceof SharedObjectError) throw new InitramfsError('app-dynamic', `application ${app} is dynamically linked and ${e.message}`);
    throw e;
  }
}

function checkNetworkOptions(ip: string | undefined, gateway: string | undefined): void {
  const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
  if (ip !== undefined) {
    const [address = '', prefix, ...rest] = ip.split('/');
    const prefixOk = prefix === undefined || (/^\d{1,2}$/.test(prefix) && Number(prefix) <= 32);
    if (!ipv4.test(address) || !prefixOk || rest.length > 0) throw new InitramfsError('bad-option', `ip "${ip}" is not an IPv4 ADDRESS/PREFIX such as 10.0.2.15/24`);
  }
  if (gateway !== undefined && gateway !== 'none' && !ipv4.test(gateway)) {
    throw new InitramfsError('bad-option', `gateway "${gateway}" is not an IPv4 address (or "none")`);
  }
}

/** one of our C helpers (init.c, ukl-trigger.c) next to this module (running from src/) or in the source tree (running from dist/) */
export function helperSourcePath(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, 'init', name), join(here, '..', '..', 'src', 'build', 'init', name)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new InitramfsError('init-compile', `${name} not found next to ${here}`);
}

function compilerVersion(command: string): string | null {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0] ?? '';
}

/**
 * Our init, compiled statically (gcc, else musl-gcc when glibc's static libraries are missing)
 * and cached under $XDG_CACHE_HOME/ukl-trim/init/ by the hash of source, compiler and flags.
 */
export function compileInit(): string {
  return compileHelper('init.c', 'init');
}

/** compile one of our C helpers statically, cached as compileInit describes */
export function compileHelper(sourceName: string, binaryName: string): string {
  const sourcePath = helperSourcePath(sourceName);
  const source = readFileSync(sourcePath);
  const flags = ['-static', '-Os', '-Wall'];
  const failures: string[] = [];
  for (const command of ['gcc', 'musl-gcc']) {
    const version = compilerVersion(command);
    if (version === null) {
      failures.push(`${command}: not found`);
      continue;
    }
    const key = createHash('sha256').update(source).update(`\0${command}\0${version}\0${flags.join(' ')}`).digest('hex').slice(0, 32);
    const dir = join(cacheHome(), 'init', key);
    const binary = join(dir, binaryName);
    if (existsSync(binary)) return binary;
    mkdirSync(dir, { recursive: true });
    // compile to a temporary name and rename, so a half-written binary is never picked up
    const tmp = `${binary}.${process.pid}.tmp`;
    const r = spawnSync(command, [...flags, '-o', tmp, sourcePath], { encoding: 'utf8' });
    if (r.status === 0) {
      renameSync(tmp, binary);
      return binary;
    }
    try {
      unlinkSync(tmp);
    } catch {
      // the compiler wrote nothing
    }
    const firstError = (r.stderr || r.error?.message || '').split('\n').filter((l) => /error|cannot find/.test(l)).slice(0, 3).join('; ');
    failures.push(`${command}: ${firstError || `exit ${r.status}`}`);
  }
  throw new InitramfsError('init-compile', `could not compile ${sourceName} statically for the initramfs (${failures.join(' | ')}); install gcc with glibc's static libraries (libc6-dev) or musl-tools`);
}

/**
 * What servers look up before they serve: the users and groups they switch to (`-u root`,
 * nobody), localhost, and a /tmp. Files the caller adds under the same names win.
 */
const BASE_SYSTEM: readonly CpioEntry[] = [
  { kind: 'dir', path: 'etc' },
  { kind: 'file', path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n', mode: 0o644 },
  { kind: 'file', path: 'etc/group', data: 'root:x:0:\nnogroup:x:65534:\n', mode: 0o644 },
  { kind: 'file', path: 'etc/hosts', data: '127.0.0.1\tlocalhost\n::1\tlocalhost\n', mode: 0o644 },
  { kind: 'dir', path: 'root', mode: 0o700 },
  { kind: 'dir', path: 'tmp', mode: 0o1777 },
];

/** ukl-trim's own entries before the app's files: the console, mount points, init and the app */
function ownEntries(opts: InitramfsOptions & { init: string }): CpioEntry[] {
  const entries: CpioEntry[] = [
    { kind: 'dir', path: 'dev' },
    // the kernel opens /dev/console for init before any devtmpfs is mounted
    { kind: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { kind: 'dir', path: 'proc', mode: 0o555 },
    { kind: 'dir', path: 'sys', mode: 0o555 },
    { kind: 'file', path: 'init', data: readFileSync(opts.init), mode: 0o755 },
    { kind: 'file', path: 'app', data: readFileSync(opts.app), mode: 0o755 },
    // where the guest's loader opens them: regular files, whatever links lead to them here
    ...appSharedObjects(opts.app).map((o): CpioEntry => ({ kind: 'file', path: o.guest.replace(/^\/+/, ''), data: readFileSync(o.host), mode: 0o755 })),
  ];
  if (opts.args && opts.args.length > 0) entries.push({ kind: 'file', path: 'app.args', data: `${opts.args.join('\n')}\n` });
  return entries;
}

/** /ukl.conf: the settings init reads (KEY=VALUE words; the kernel command line overrides them) */
function settingsEntry(opts: InitramfsOptions): CpioEntry | null {
  const settings = [
    opts.ip !== undefined ? `ukl.ip=${opts.ip}` : '',
    opts.gateway !== undefined ? `ukl.gw=${opts.gateway}` : '',
    opts.ukl ? 'ukl.mode=ukl' : '',
    opts.appName !== undefined ? `ukl.name=${opts.appName}` : '',
  ].filter((s) => s !== '');
  return settings.length > 0 ? { kind: 'file', path: 'ukl.conf', data: `${settings.join('\n')}\n` } : null;
}

/** paths of ukl-trim's own entries: an include may put files below the folders, never replace one */
const OWN_PATHS = new Set(['dev', 'dev/console', 'proc', 'sys', 'init', 'app', 'app.args', 'ukl.conf']);

/** the user's entries (includes, extraFiles) sorted by path, so a folder comes before what is in it */
function userEntries(opts: Pick<InitramfsOptions, 'includes' | 'extraFiles'>): CpioEntry[] {
  const entries: CpioEntry[] = [];
  for (const include of opts.includes ?? []) {
    for (const entry of includeEntries(include)) {
      if (OWN_PATHS.has(entry.path)) throw new InitramfsError('bad-include', `include ${include.host}:${include.guest}: /${entry.path} is ukl-trim's own (init, the app, its settings, the mount points); choose another GUEST`);
      entries.push(entry);
    }
  }
  entries.push(...(opts.extraFiles ?? []).map((e) => ({ ...e, path: e.path.replace(/^\/+/, '') })));
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** the default system files the user's entries leave: not a path they give, nor a folder above one */
function baseSystemEntries(user: readonly CpioEntry[]): CpioEntry[] {
  const taken = new Set<string>();
  for (const e of user) {
    const parts = e.path.split('/');
    for (let i = 1; i <= parts.length; i++) taken.add(parts.slice(0, i).join('/'));
  }
  return BASE_SYSTEM.filter((e) => !taken.has(e.path));
}

/**
 * The archive's entries, in the order they are written: ours, the user's (includes and
 * extraFiles), the default /etc files they leave, /ukl.conf.
 */
export function initramfsEntries(opts: InitramfsOptions & { init: string }): CpioEntry[] {
  const user = userEntries(opts);
  const settings = settingsEntry(opts);
  return [...ownEntries(opts), ...user, ...baseSystemEntries(user), ...(settings ? [settings] : [])];
}

/** Everything buildInitramfs would refuse, checked up front (before a long kernel build, say). */
export function checkInitramfsOptions(opts: InitramfsOptions): void {
  checkExecutable(opts.app, 'application', true);
  checkInitramfsSettings(opts);
  checkIncludes(opts.includes ?? []);
}

/** the network settings, the app's arguments and name (what checkInitramfsOptions checks besides the app and includes) */
export function checkInitramfsSettings(opts: Pick<InitramfsOptions, 'ip' | 'gateway' | 'args' | 'appName'>): void {
  checkNetworkOptions(opts.ip, opts.gateway);
  for (const a of opts.args ?? []) {
    // /app.args holds one argument per line
    if (a.includes('\n') || a === '') throw new InitramfsError('bad-option', `application argument ${JSON.stringify(a)}: empty arguments and newlines are not supported`);
  }
  // /ukl.conf holds words split at white space, quotes removed
  if (opts.appName !== undefined && !/^[^\s"\0]{1,255}$/.test(opts.appName)) {
    throw new InitramfsError('bad-option', `application name ${JSON.stringify(opts.appName)}: 1 to 255 characters without spaces or double quotes`);
  }
}

/**
 * Each include: HOST exists and holds only files, folders and symlinks; GUEST is absolute, without
 * "..", not one of ukl-trim's own paths; no two includes give the same path.
 */
export function checkIncludes(includes: readonly InitramfsInclude[]): void {
  const seen = new Map<string, InitramfsInclude>();
  for (const include of includes) {
    for (const entry of userEntries({ includes: [include] })) {
      const earlier = seen.get(entry.path);
      if (earlier !== undefined) throw new InitramfsError('bad-include', `include ${include.host}:${include.guest}: /${entry.path} is also given by include ${earlier.host}:${earlier.guest}`);
      seen.set(entry.path, include);
    }
  }
}

export async function buildInitramfs(opts: InitramfsOptions): Promise<InitramfsResult> {
  checkInitramfsOptions(opts);
  const init = opts.init ?? compileInit();
  if (opts.init !== undefined) checkStaticExecutable(opts.init, 'init');
  const archive = writeCpioNewc(initramfsEntries({ ...opts, init }));
  const path = opts.out ?? join(cacheHome(), 'initramfs', `${createHash('sha256').update(archive).digest('hex').slice(0, 32)}.cpio`);
  writeBytesAtomic(path, archive);
  return { path, bytes: archive.length, init };
}
