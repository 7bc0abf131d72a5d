import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { macroScan } from '../src/kconfig/macroscan.js';
import { ProbePool } from '../src/kconfig/probe-pool.js';
import { PrefetchShellProvider } from '../src/kconfig/shell.js';

const work = mkdtempSync(join(tmpdir(), 'ukl-probe-pool-'));
const ctx = { cwd: work, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PROBE_VAR: 'from-env' } };

describe('probes run in the background', () => {
  it('answers like conf (output trimmed, newlines folded, 4095 bytes at most), from the given folder and environment, waiting while blocked', () => {
    const pool = new ProbePool(ctx, 2);
    const slow = 'sleep 0.3; echo slow';
    const lines = 'printf "a\\nb\\n\\n"';
    const long = 'head -c 5000 /dev/zero | tr "\\0" x';
    const where = 'echo "$PROBE_VAR"; pwd; exit 3';
    for (const c of [slow, lines, long, where]) pool.submit(c);
    // asked at once, on a thread that never returns to the event loop in between
    expect(pool.answer(slow)).toBe('slow');
    expect(pool.answer(lines)).toBe('a b');
    expect(pool.answer(long)).toBe('x'.repeat(4095));
    expect(pool.answer(where)).toBe(`from-env ${work}`);
    expect(pool.answer('echo never-submitted')).toBeUndefined();
    pool.close();
  });

  it('a command needed at once runs on its own lane, not behind the background ones nor forked from Node, and never twice', () => {
    const pool = new ProbePool(ctx, 2);
    const flag = join(work, 'background-done');
    const busy = (n: number): string => `sleep 5; echo ${n} > ${flag}`;
    const counted = `echo run >> ${join(work, 'urgent-runs')}; echo counted`;
    pool.submit(counted);
    pool.submit(busy(1));
    pool.submit(busy(2));
    pool.submit(busy(3));
    expect(pool.run(`cat ${flag} 2>/dev/null || echo not-yet`)).toBe('not-yet');
    expect(pool.run('echo $PPID')).not.toBe(String(process.pid));
    expect(pool.run(counted)).toBe('counted');
    expect(pool.run(counted)).toBe('counted');

    expect(readFileSync(join(work, 'urgent-runs'), 'utf8')).toBe('run\n');
    pool.close();
  });

  it('what ran urgently is not started again in the background', () => {
    const pool = new ProbePool(ctx, 1);
    const once = `echo run >> ${join(work, 'urgent-once')}; echo once`;
    expect(pool.run(once)).toBe('once');
    pool.submit(once);
    // one at a time, in order: when this one has run, a second run of the other would have too
    pool.submit('echo after');
    expect(pool.answer('echo after')).toBe('after');
    expect(pool.answer(once)).toBe('once');
    expect(readFileSync(join(work, 'urgent-once'), 'utf8')).toBe('run\n');
    pool.close();
  });

  it('a job whose worker dies gets no answer, so the parse runs the probe itself; the other workers go on', () => {
    const pool = new ProbePool(ctx, 2);
    // the worker shell is the probe's parent
    pool.submit('kill -9 $PPID');
    pool.submit('sleep 0.2; echo other');
    expect(pool.answer('kill -9 $PPID')).toBeUndefined();
    expect(pool.answer('sleep 0.2; echo other')).toBe('other');
    expect(pool.run('kill -9 $PPID; echo unreachable')).toBeUndefined();
    pool.close();
  });

  it('a queued probe the parse waits for runs before the ones submitted ahead of it', () => {
    const pool = new ProbePool(ctx, 1);
    const log = join(work, 'order');
    const step = (name: string): string => `sleep 0.1; echo ${name} >> ${log}; echo ${name}`;
    for (const name of ['a', 'b', 'c', 'd']) pool.submit(step(name));
    // a and b are with the worker already; c and d wait in the queue
    expect(pool.answer(step('d'))).toBe('d');
    expect(pool.answer(step('c'))).toBe('c');
    expect(readFileSync(log, 'utf8')).toBe('a\nb\nd\nc\n');
    pool.close();
  });

  it('commands the worker protocol cannot carry (a newline) are left to the caller', () => {
    const pool = new ProbePool(ctx, 1);
    pool.submit('echo a\necho b');
    expect(pool.answer('echo a\necho b')).toBeUndefined();
    expect(pool.run('echo a\necho b')).toBeUndefined();
    pool.close();
  });

  it('the scan follows sources and assignments through files that reference no macro, and answers immediate assignments truly', () => {
    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'a', 'b'), { recursive: true });
    writeFileSync(join(tree, 'Kconfig'), 'greeting := $(shell,echo hello)\nsource "a/Kconfig"\n');
    // no macro reference here: only the source line and the assignment matter to the scan
    writeFileSync(join(tree, 'a', 'Kconfig'), 'config A\n\tbool "a"\n\thelp\n\t  Some text.\n\nWHO = plain world\nsource "a/b/Kconfig"\n');
    writeFileSync(join(tree, 'a', 'b', 'Kconfig'), 'config B\n\tdef_bool $(shell,echo $(WHO) $(greeting))\n');
    const pool = new ProbePool(ctx, 2);
    const pre = new PrefetchShellProvider(ctx, pool);
    macroScan(tree, {}, pre);
    // the command in a/b/Kconfig, built from both variables, was started in the background
    expect(pre.answer('echo plain world hello')).toBe('plain world hello');
    // the immediate one was run at once and kept
    expect(pre.answer('echo hello')).toBe('hello');
    // a speculative parse that had missed the assignment would have started this one
    expect(pre.answer('echo  hello')).toBeUndefined();
    pool.close();
  });

  it('a first, guessing scan starts only the immediate assignments whose command is certain, and the second scan takes their answers from the pool', () => {
    const tree = join(work, 'guess');
    mkdirSync(tree, { recursive: true });
    const counted = `echo run >> ${join(work, 'guess-runs')}; echo GCC 12`;
    writeFileSync(
      join(tree, 'Kconfig'),
      [`cc-info := $(shell,${counted})`, 'cc-name := $(shell,set -- $(cc-info) && echo $1)', 'config A', '\tdef_bool $(shell,echo not-immediate)', ''].join('\n'),
    );
    const pool = new ProbePool(ctx, 2);
    const submitted: string[] = [];
    const submit = pool.submit.bind(pool);
    pool.submit = (command) => {
      submitted.push(command);
      submit(command);
    };
    const pre = new PrefetchShellProvider(ctx, pool);
    macroScan(tree, {}, pre.guessing());
    // cc-name's command needs cc-info's answer, and the probe of A is no assignment
    expect(submitted).toEqual([counted]);
    macroScan(tree, {}, pre);
    expect(pre.answer('set -- GCC 12 && echo $1')).toBe('GCC');
    expect(pre.answer('echo not-immediate')).toBe('not-immediate');
    // the version probe ran once, in the background, not again when the second scan needed it
    expect(readFileSync(join(work, 'guess-runs'), 'utf8')).toBe('run\n');
    pool.close();
  });
});
