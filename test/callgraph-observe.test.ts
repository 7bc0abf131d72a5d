import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ObserveError, observeWorkload } from '../src/callgraph/observe.js';

const dir = mkdtempSync(join(tmpdir(), 'ukl-trim-observe-'));
const echo = join(dir, 'echo');
const threads = join(dir, 'threads');

/** a client written as a shell command line, the way a user writes --observe */
function clientCommand(port: number): string {
  const script = `const s=require('net').connect(${port},'127.0.0.1');let t='';s.on('connect',()=>s.write('observed\\n'));s.on('data',d=>{t+=d;if(t.includes('\\n'))s.end()});s.on('close',()=>process.exit(t==='observed\\n'?0:1));s.on('error',()=>process.exit(2))`;
  // wait until the server listens: the workload, not ukl-trim, knows what ready means
  return `for i in $(seq 50); do ${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)} && exit 0; sleep 0.1; done; exit 1`;
}

describe('--observe: the app under strace while the user workload runs', () => {
  beforeAll(() => {
    for (const [out, src] of [[echo, 'examples/echo-server/echo.c'], [threads, 'fixtures/apps/threads.c']] as const) {
      const cc = spawnSync('gcc', ['-static', '-O2', '-pthread', '-o', out, src], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
    }
  });

  it('sees what a server does for a real client, then stops it', async () => {
    const port = 42000 + (process.pid % 10000);
    const seen = await observeWorkload(echo, [String(port)], clientCommand(port));
    for (const name of ['socket', 'bind', 'listen', 'epoll_wait', 'accept4', 'read', 'write']) expect(seen, name).toContain(name);
  }, 60_000);

  it('a program that ends by itself is observed whole', async () => {
    const seen = await observeWorkload(threads, [], 'true');
    expect(seen).toContain('clone3');
    expect(seen).toContain('exit_group');
  }, 60_000);

  it('a failing workload is an error naming its exit, and the program is stopped', async () => {
    const port = 43000 + (process.pid % 10000);
    const error = await observeWorkload(echo, [String(port)], 'echo nothing to see >&2; exit 3').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObserveError);
    expect((error as ObserveError).message).toBe('--observe: the workload exited 3: nothing to see');
    expect(spawnSync('pgrep', ['-f', `${echo} ${port}`]).status).toBe(1);
  }, 60_000);
});
