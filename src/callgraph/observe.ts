import { spawn, spawnSync } from 'node:child_process';
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

/**
 * A TCP echo server under strace: started with the port as its argument, ready once it prints
 * `readyText`; one client connects to 127.0.0.1, sends a line, expects it back and leaves.
 */
export async function observeEchoServer(program: string, port: number, readyText = 'listening', timeoutMs = 10_000): Promise<Set<string>> {
  const missing = straceMissing();
  if (missing !== undefined) throw missing;
  const dir = mkdtempSync(join(tmpdir(), 'ukl-trim-strace-'));
  const log = join(dir, 'strace.log');
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=all', '-o', log, program, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((ready, fail) => {
      let text = '';
      const timer = setTimeout(() => fail(new ObserveError('run-failed', `${program} did not print "${readyText}" within ${timeoutMs} ms`)), timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
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
    await new Promise<void>((done, fail) => {
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
    // let the server see the client leave (read → 0, close) before it is stopped
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    // stop the traced program (strace's first line names its pid), then strace itself ends
    let pid: string | undefined;
    try {
      pid = /^(\d+)\s/.exec(readFileSync(log, 'utf8'))?.[1];
    } catch {
      // no log yet
    }
    if (pid !== undefined) {
      try {
        process.kill(Number(pid), 'SIGTERM');
      } catch {
        // already gone
      }
    } else child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.on('exit', r) : r(null)));
  }
  try {
    return syscallsInStraceLog(readFileSync(log, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
