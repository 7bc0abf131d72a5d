import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { postprocessShellOutput, type ShellContext } from './shell.js';

/**
 * Runs `$(shell)` probes in the background, a few at a time, while the main thread goes on
 * parsing (a synchronous parse blocks Node's event loop, so Node itself could neither start
 * nor reap them then). The commands go to one `xargs -0 -P N` (findutils, on every Debian),
 * which starts each as `/bin/sh -c COMMAND` in the given folder and environment, its output
 * into a file and a second file when it has ended. Measured: forking ~90 shells from xargs
 * instead of from a Node process of 150 MB saves about half a second of CPU, most of a cold
 * load's overhead over conf on 2 cores.
 */
const RUN_ONE = '/bin/sh -c "$2" > "$1" 2>/dev/null; : > "$1.done"';
const DIR_PREFIX = '.probes-';
/** how long the waiting thread sleeps between looks, and how often it checks xargs is alive */
const POLL_MS = 1;
const LIVENESS_EVERY = 50;

export class ProbePool {
  private readonly dir: string;
  private readonly xargs: ChildProcess;
  private readonly index = new Map<string, number>();
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;

  constructor(ctx: ShellContext, concurrency: number) {
    removeAbandoned(ctx.cwd);
    this.dir = mkdtempSync(join(ctx.cwd, `${DIR_PREFIX}${process.pid}-`));
    this.xargs = spawn('xargs', ['-0', '-P', String(concurrency), '-n', '2', '/bin/sh', '-c', RUN_ONE, 'ukl-trim-probe'], {
      cwd: ctx.cwd,
      env: ctx.env,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // no xargs: every answer is "not here", and the parse runs the probes itself
    this.xargs.on('error', () => {});
    this.xargs.stdin?.on('error', () => {});
    this.xargs.on('exit', () => rmSync(this.dir, { recursive: true, force: true }));
    // the process may end while speculative probes nobody needs are still running
    this.xargs.unref();
  }

  /** start `command` in the background (once) */
  submit(command: string): void {
    if (this.closed || this.index.has(command) || command.includes('\0') || this.xargs.pid === undefined) return;
    const n = this.index.size;
    this.index.set(command, n);
    this.xargs.stdin?.write(`${join(this.dir, String(n))}\0${command}\0`);
  }

  /**
   * The output of a submitted command, waiting for it; undefined when it was not submitted or
   * xargs is gone (the caller runs it itself and reports why).
   */
  answer(command: string): string | undefined {
    const n = this.index.get(command);
    if (n === undefined) return undefined;
    const out = join(this.dir, String(n));
    for (let polls = 0; !existsSync(`${out}.done`); polls++) {
      if (polls % LIVENESS_EVERY === LIVENESS_EVERY - 1 && !this.alive()) return undefined;
      Atomics.wait(this.sleeper, 0, 0, POLL_MS);
    }
    return postprocessShellOutput(readFileSync(out));
  }

  /** no more probes; the running ones end on their own, then xargs, which removes the folder */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.xargs.stdin?.end();
  }

  /** xargs still running (not exited, not a zombie waiting for Node's event loop to reap it) */
  private alive(): boolean {
    const pid = this.xargs.pid;
    if (pid === undefined || this.xargs.exitCode !== null) return false;
    try {
      return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }
}

/** output folders of earlier processes that ended before their probes did */
function removeAbandoned(cwd: string): void {
  let names: string[];
  try {
    names = readdirSync(cwd).filter((n) => n.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^\.probes-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processExists(pid)) continue;
    rmSync(join(cwd, name), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
