import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A program run with an argument array (no shell) and LC_ALL=C (plain quotes and English in the
 * error lines passed on), its output collected; `onLine` sees each line as it comes. Rejects only
 * when the program cannot be started (the spawn error, ENOENT when it is missing).
 */
export function runTool(command: string, args: readonly string[], opts: { cwd?: string; onLine?: (line: string) => void } = {}): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const take = (into: Buffer[]) => (b: Buffer): void => {
      into.push(b);
      if (opts.onLine) for (const line of b.toString('utf8').split('\n')) if (line.trim() !== '') opts.onLine(line);
    };
    child.stdout.on('data', take(stdout));
    child.stderr.on('data', take(stderr));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}
