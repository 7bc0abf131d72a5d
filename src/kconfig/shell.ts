import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { toolVersionOutput } from './env.js';
import type { ProbePool } from './probe-pool.js';

/**
 * Runs `$(shell,...)` commands for the Kconfig preprocessor.
 *
 * The command string is what the macro language computed; like conf we hand it to `/bin/sh -c`
 * (the one place where a shell string is the defined interface), from the same working
 * directory and environment the kernel's Makefile gives conf. Output is post-processed exactly
 * as conf does: at most 4095 bytes, trailing newlines removed, inner newlines become spaces, the
 * exit status ignored.
 */
export interface ShellProvider {
  run(command: string): string;
  /** a speculative provider: `expand` with the probes it makes answered truly (see PrefetchShellProvider) */
  answering?<T>(expand: () => T): T;
}

export interface ShellContext {
  /** working directory: conf runs in the object tree; cc-option creates `.tmp_$$` there */
  cwd: string;
  env: Record<string, string>;
}

export function postprocessShellOutput(raw: Buffer): string {
  let n = Math.min(raw.length, 4095);
  while (n > 0 && raw[n - 1] === 0x0a) n--;
  const b = Buffer.from(raw.subarray(0, n));
  for (let i = 0; i < n; i++) if (b[i] === 0x0a) b[i] = 0x20;
  // conf copies the buffer as a C string: a NUL byte ends it
  const nul = b.indexOf(0);
  return b.subarray(0, nul >= 0 ? nul : n).toString('utf8');
}

/** Executes each command with /bin/sh, as conf's popen() does. */
export class ExecShellProvider implements ShellProvider {
  readonly ctx: ShellContext;
  count = 0;
  millis = 0;
  constructor(ctx: ShellContext) {
    this.ctx = ctx;
  }
  run(command: string): string {
    const t0 = performance.now();
    const r = spawnSync('/bin/sh', ['-c', command], {
      cwd: this.ctx.cwd,
      env: this.ctx.env,
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    this.count++;
    this.millis += performance.now() - t0;
    if (r.error) throw r.error;
    return postprocessShellOutput(r.stdout ?? Buffer.alloc(0));
  }
}

export interface ProbeRecording {
  version: 1;
  fingerprint: string;
  results: Record<string, string>;
}

/**
 * Caches command outputs keyed by the command string and a toolchain fingerprint, on disk.
 * Also serves as the record/replay layer: `replayOnly` refuses to run anything that was not
 * recorded, which makes tests hermetic.
 */
export class CachingShellProvider implements ShellProvider {
  private readonly results = new Map<string, string>();
  private dirty = false;
  hits = 0;
  misses = 0;
  constructor(
    private inner: ShellProvider | null,
    readonly fingerprint: string,
    private readonly file: string | null,
  ) {
    if (file) {
      try {
        const data = JSON.parse(readFileSync(file, 'utf8')) as ProbeRecording;
        if (data.version === 1 && data.fingerprint === fingerprint) {
          for (const [k, v] of Object.entries(data.results)) this.results.set(k, v);
        }
      } catch {
        // no cache yet, or unreadable: start empty
      }
    }
  }
  run(command: string): string {
    const hit = this.results.get(command);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    if (!this.inner) {
      throw new Error(`probe not recorded: ${command}`);
    }
    this.misses++;
    const out = this.inner.run(command);
    this.results.set(command, out);
    this.dirty = true;
    return out;
  }
  /** what runs the commands not in the cache from now on */
  runMissesWith(inner: ShellProvider): void {
    this.inner = inner;
  }
  size(): number {
    return this.results.size;
  }
  recording(): ProbeRecording {
    return { version: 1, fingerprint: this.fingerprint, results: Object.fromEntries(this.results) };
  }
  /** Write the cache atomically (temp + rename) if anything new was learned. */
  save(): void {
    if (!this.file || !this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify(this.recording()));
    this.dirty = false;
  }
}

/**
 * A fingerprint of everything a probe's answer can depend on besides its command string:
 * the toolchain's version banners and the environment variables handed to conf.
 */
export function toolchainFingerprint(ctx: ShellContext, tools: readonly string[]): string {
  const h = createHash('sha256');
  const keys = Object.keys(ctx.env).filter((k) => /^(ARCH|SRCARCH|SUBARCH|HEADER_ARCH|CC|LD|AR|NM|OBJCOPY|PAHOLE|RUSTC|BINDGEN|KERNELVERSION|CC_VERSION_TEXT|CROSS_COMPILE|LLVM|CLANG_FLAGS|USERCFLAGS|USERLDFLAGS|srctree|PATH)$/.test(k)).sort();
  for (const k of keys) h.update(`${k}=${ctx.env[k]}\n`);
  for (const tool of tools) {
    const out = toolVersionOutput(tool, ctx.env);
    h.update(`${tool}:`);
    h.update(out ?? 'missing');
  }
  return h.digest('hex').slice(0, 32);
}

/**
 * Discovers probes without waiting for them: every command is handed to a `ProbePool`, which
 * runs it in the background, and answered with "" so a speculative parse can run on. Inside
 * `answering` (the scan wraps immediate `:=` assignments in it: cc-info, m64-flag, … whose
 * values later commands embed) a command is run at once and answered truly, so the commands
 * built from it are the real ones and get started too. The real parse that follows takes its
 * answers from `answer`, waiting only for the one it needs; commands whose text still depended
 * on a speculative "" it runs itself. Only the order of execution differs from conf, never the
 * commands, their environment or outputs.
 */
export class PrefetchShellProvider implements ShellProvider {
  private readonly immediate = new Map<string, string>();
  private answerNow = false;

  constructor(
    private readonly ctx: ShellContext,
    private readonly pool: ProbePool,
  ) {}

  run(command: string): string {
    if (this.answerNow) return this.runNow(command);
    this.pool.submit(command);
    return '';
  }

  /** `expand` with every probe it makes run at once and answered with its real output */
  answering<T>(expand: () => T): T {
    const before = this.answerNow;
    this.answerNow = true;
    try {
      return expand();
    } finally {
      this.answerNow = before;
    }
  }

  /**
   * A first pass for `macroScan` that waits for nothing and starts only the probes of immediate
   * assignments whose text is certain: the toolchain version scripts and flag tests the second
   * pass would otherwise run one after another while a core stays idle. Every answer is
   * `UNKNOWN_ANSWER`, so a command built from an answer carries it and is not run. The other
   * probes are left to the second pass, which submits them in the order the parse needs them.
   */
  guessing(): ShellProvider {
    let immediate = false;
    return {
      run: (command) => {
        if (immediate && !command.includes(UNKNOWN_ANSWER)) this.pool.submit(command);
        return UNKNOWN_ANSWER;
      },
      answering: (expand) => {
        const before = immediate;
        immediate = true;
        try {
          return expand();
        } finally {
          immediate = before;
        }
      },
    };
  }

  /** the true output of a command the scan met, waiting for it if it is still running */
  answer(command: string): string | undefined {
    return this.immediate.get(command) ?? this.pool.answer(command);
  }

  private runNow(command: string): string {
    const done = this.immediate.get(command) ?? this.pool.run(command);
    if (done !== undefined) return done;
    let out: string;
    try {
      out = new ExecShellProvider(this.ctx).run(command);
    } catch {
      // no answer is kept from a shell that did not run: the real parse runs it and reports why
      return '';
    }
    this.immediate.set(command, out);
    return out;
  }
}

/** what the guessing pass answers; no Kconfig file or probe output is expected to contain it */
const UNKNOWN_ANSWER = 'ukl-trim-unknown-probe-answer';
