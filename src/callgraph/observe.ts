import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UklTrimError } from '../util/errors.js';

/**
 * Ground truth for the analysis: the syscalls a program really makes, from `strace -f`. The
 * analysis must find all of them (soundness); how many more it finds is its precision.
 */

export type ObserveErrorCode = 'tool-missing' | 'run-failed';

export class ObserveError extends UklTrimError<ObserveErrorCode> {
  static readonly codes: readonly ObserveErrorCode[] = ['tool-missing', 'run-failed'];
}

/** syscall names in an `strace -f -o FILE` log, the program's own execve left out */
export function syscallsInStraceLog(log: string): Set<string> {
  const seen = new Set<string>();
  let firstExecve = true;
  for (const line of log.split('\n')) {
    const resumed = /^\d+\s+<\.\.\. (\w+) resumed>/.exec(line);
    const call = /^\d+\s+(\w+)\(/.exec(line);
    const name = resumed?.[1] ?? call?.[1];
    if (name === undefined) continue;
    if (name === 'execve' && firstExecve) {
      firstExecve = false;
      continue;
    }
    seen.add(name);
  }
  return seen;
}

function straceMissing(): ObserveError | undefined {
  const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0 ? undefined : new ObserveError('tool-missing', 'strace is not installed (Debian: apt-get install strace)');
}

/** run a program to its end under strace; it must exit 0 */
export function observeRun(program: string, args: readonly string[] = [], timeoutMs = 20_000): Set<string> {
  const missing = straceMissing();
  if (missing !== undefined) throw missing;
  const dir = mkdtempSync(join(tmpdir(), 'ukl-trim-strace-'));
  try {
    const log = join(dir, 'strace.log');
    const result = spawnSync('strace', ['-f', '-qq', '-e', 'trace=all', '-o', log, program, ...args], { encoding: 'utf8', timeout: timeoutMs });
    if (result.status !== 0) throw new ObserveError('run-failed', `${program} under strace exited ${result.status ?? result.signal}: ${(result.stderr ?? '').trim().split('\n').slice(-1)[0] ?? ''}`);
    return syscallsInStraceLog(readFileSync(log, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A program started under `strace -f`, its log in a scratch folder. */
interface Traced {
  child: ChildProcess;
  /** stop the traced program (not strace: it must write the rest of the log), wait for strace to end, read the log */
  finish(): Promise<Set<string>>;
}

function startTraced(program: string, args: readonly string[]): Traced {
  const missing = straceMissing();
  if (missing !== undefined) throw missing;
  const dir = mkdtempSync(join(tmpdir(), 'ukl-trim-strace-'));
  const log = join(dir, 'strace.log');
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=all', '-o', log, program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const finish = async (): Promise<Set<string>> => {
    if (child.exitCode === null && child.signalCode === null) {
      stopTracedProgram(log, child);
      await new Promise((r) => child.on('exit', r));
    }
    try {
      return syscallsInStraceLog(readFileSync(log, 'utf8'));
    } catch {
      throw new ObserveError('run-failed', `strace wrote no log for ${program}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { child, finish };
}

/** SIGTERM to the traced program (the pid of strace's first log line), else to strace itself */
function stopTracedProgram(log: string, strace: ChildProcess): void {
  let pid: string | undefined;
  try {
    pid = /^(\d+)\s/.exec(readFileSync(log, 'utf8'))?.[1];
  } catch {
    // no log yet
  }
  try {
    if (pid !== undefined) process.kill(Number(pid), 'SIGTERM');
    else strace.kill('SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * `--observe`: the program under strace while the user's workload runs beside it (a shell command
 * line the user wrote, such as a client of the server); when the workload ends, the program is
 * stopped. A program that ends by itself first is fine. The workload must succeed: a failed one
 * observed nothing worth adding.
 */
export async function observeWorkload(program: string, args: readonly string[], workload: string, timeoutMs = 120_000): Promise<Set<string>> {
  const traced = startTraced(program, args);
  // the user's own command line, not one built from other input: the shell is the point
  const workloadChild = spawn('/bin/sh', ['-c', workload], { stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => workloadChild.kill('SIGKILL'), timeoutMs);
  let stderr = '';
  workloadChild.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  workloadChild.stdout.resume();
  traced.child.stdout?.resume();
  traced.child.stderr?.resume();
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => workloadChild.on('exit', (c, sig) => r([c, sig])));
  clearTimeout(timer);
  // let the program see the client leave (read → 0, close) before it is stopped
  await new Promise((r) => setTimeout(r, 300));
  const seen = await traced.finish();
  if (signal === 'SIGKILL') throw new ObserveError('run-failed', `--observe: the workload did not end within ${timeoutMs / 1000} s`);
  const said = stderr.trim().split('\n').slice(-1)[0] ?? '';
  if (code !== 0) throw new ObserveError('run-failed', `--observe: the workload exited ${code ?? signal}${said ? `: ${said}` : ''}`);
  return seen;
}

/**
 * A TCP echo server under strace: started with the port as its argument, ready once it prints
 * `readyText`; one client connects to 127.0.0.1, sends a line, expects it back and leaves.
 */
export async function observeEchoServer(program: string, port: number, readyText = 'listening', timeoutMs = 10_000): Promise<Set<string>> {
  const traced = startTraced(program, [String(port)]);
  let failure: unknown;
  try {
    await printed(traced.child, program, readyText, timeoutMs);
    await echoOnce(program, port, timeoutMs);
    // let the server see the client leave (read → 0, close) before it is stopped
    await new Promise((r) => setTimeout(r, 300));
  } catch (e) {
    failure = e;
  }
  const seen = await traced.finish();
  if (failure !== undefined) throw failure;
  return seen;
}

function printed(child: ChildProcess, program: string, readyText: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((ready, fail) => {
    let text = '';
    const timer = setTimeout(() => fail(new ObserveError('run-failed', `${program} did not print "${readyText}" within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes(readyText)) {
        clearTimeout(timer);
        ready();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new ObserveError('run-failed', `${program} exited early (${code})`));
    });
  });
}

function echoOnce(program: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise<void>((done, fail) => {
    const line = 'hello\n';
    let echoed = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(line));
    const timer = setTimeout(() => socket.destroy(new ObserveError('run-failed', `no echo from ${program} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (data) => {
      echoed += data.toString();
      if (echoed.length >= line.length) socket.end();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (echoed === line) done();
      else fail(new ObserveError('run-failed', `${program} echoed ${JSON.stringify(echoed)}, expected ${JSON.stringify(line)}`));
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
  });
}
