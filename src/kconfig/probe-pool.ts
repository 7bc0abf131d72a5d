import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { postprocessShellOutput, type ShellContext } from './shell.js';

/**
 * Runs `$(shell)` probes in the background, a few at a time, while the main thread goes on
 * parsing (a synchronous parse blocks Node's event loop, so Node itself could neither start
 * nor reap them then). The commands go to `xargs -0 -P N` (findutils, on every Debian; two of
 * them, see ProbePool), which starts each as `/bin/sh -c COMMAND` in the given folder and environment, its output
 * into a file and a second file when it has ended. Measured: forking ~90 shells from xargs
 * instead of from a Node process of 150 MB saves about half a second of CPU, most of a cold
 * load's overhead over conf on 2 cores.
 */
const RUN_ONE = '/bin/sh -c "$2" > "$1" 2>/dev/null; : > "$1.done"';
const DIR_PREFIX = '.probes-';
/** how long the waiting thread sleeps between looks, and how often it checks xargs is alive */
const POLL_MS = 1;
const LIVENESS_EVERY = 50;

/**
 * Two lanes, each one xargs: the background lane runs the probes a scan found, `concurrency` at a
 * time; the urgent lane, one at a time, runs what the parse needs at once and nobody started
 * (the toolchain's `set -- GCC 120200 && echo $1` helpers, …). Forking those from xargs instead of
 * from the Node process (a few hundred MB by then) takes a few ms instead of 10–50 each.
 */
export class ProbePool {
  private readonly dir: string;
  private readonly background: Lane;
  private readonly urgent: Lane;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;

  constructor(ctx: ShellContext, concurrency: number) {
    removeAbandoned(ctx.cwd);
    this.dir = mkdtempSync(join(ctx.cwd, `${DIR_PREFIX}${process.pid}-`));
    let running = 2;
    // the folder goes when both lanes have ended
    const ended = (): void => void (--running === 0 && rmSync(this.dir, { recursive: true, force: true }));
    this.background = new Lane(ctx, concurrency, join(this.dir, 'b'), ended);
    this.urgent = new Lane(ctx, 1, join(this.dir, 'u'), ended);
  }

  /** start `command` in the background (once, and not when it ran urgently) */
  submit(command: string): void {
    if (!this.closed && !this.urgent.has(command)) this.background.submit(command);
  }

  /**
   * The output of a command started earlier (in the background or urgently), waiting for it;
   * undefined when it was never started or its lane is gone (the caller runs it itself).
   */
  answer(command: string): string | undefined {
    const lane = this.background.has(command) ? this.background : this.urgent.has(command) ? this.urgent : null;
    return lane === null ? undefined : this.wait(lane, command);
  }

  /** the output of `command`, run now on the urgent lane unless it was started already; undefined when the lane is gone */
  run(command: string): string | undefined {
    if (!this.background.has(command) && !this.closed) this.urgent.submit(command);
    return this.answer(command);
  }

  /** no more probes; the running ones end on their own, then xargs, which removes the folder */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.background.close();
    this.urgent.close();
  }

  private wait(lane: Lane, command: string): string | undefined {
    const out = lane.outputOf(command) as string;
    for (let polls = 0; !existsSync(`${out}.done`); polls++) {
      if (polls % LIVENESS_EVERY === LIVENESS_EVERY - 1 && !lane.alive()) return undefined;
      Atomics.wait(this.sleeper, 0, 0, POLL_MS);
    }
    return postprocessShellOutput(readFileSync(out));
  }
}

/** one xargs running submitted commands, each once, its output into `prefix` + a number */
class Lane {
  private readonly xargs: ChildProcess;
  private readonly index = new Map<string, number>();

  constructor(
    ctx: ShellContext,
    concurrency: number,
    private readonly prefix: string,
    onExit: () => void,
  ) {
    this.xargs = spawn('xargs', ['-0', '-P', String(concurrency), '-n', '2', '/bin/sh', '-c', RUN_ONE, 'ukl-trim-probe'], {
      cwd: ctx.cwd,
      env: ctx.env,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // no xargs: every answer is "not here", and the parse runs the probes itself
    this.xargs.on('error', () => {});
    this.xargs.stdin?.on('error', () => {});
    this.xargs.on('exit', onExit);
    // the process may end while speculative probes nobody needs are still running
    this.xargs.unref();
  }

  has(command: string): boolean {
    return this.index.has(command);
  }

  outputOf(command: string): string | undefined {
    const n = this.index.get(command);
    return n === undefined ? undefined : `${this.prefix}${n}`;
  }

  submit(command: string): void {
    if (this.index.has(command) || command.includes('\0') || this.xargs.pid === undefined) return;
    this.index.set(command, this.index.size);
    this.xargs.stdin?.write(`${this.outputOf(command)}\0${command}\0`);
  }

  close(): void {
    this.xargs.stdin?.end();
  }

  /** xargs still running (not exited, not a zombie waiting for Node's event loop to reap it) */
  alive(): boolean {
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
