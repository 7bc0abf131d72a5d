import { describe, expect, it } from 'vitest';
import { createProgress, renderProgress, reportBytes } from '../src/cli/progress.js';

function fakeStream(isTTY: boolean): { isTTY: boolean; written: string[]; write(text: string): boolean } {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => written.push(text) > 0 };
}

/** a clock the test moves by hand, starting at 22:00:00 UTC */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.UTC(2026, 11, 3, 22, 0, 0);
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('progress', () => {
  it('in a pipe: each phase as it starts and ends with its duration, and where it is every 20 s, as timestamped lines', () => {
    const stream = fakeStream(false);
    const clock = fakeClock();
    const progress = createProgress(stream, { now: clock.now });
    progress.begin('building the kernel');
    for (let i = 1; i <= 100; i++) {
      clock.advance(500);
      progress.detail(`${i} files compiled`);
    }
    progress.begin('writing the initramfs');
    clock.advance(1200);
    progress.end();
    expect(stream.written).toEqual([
      '[22:00:00] building the kernel\n',
      '[22:00:20] building the kernel: 40 files compiled\n',
      '[22:00:40] building the kernel: 80 files compiled\n',
      '[22:00:50] building the kernel: done in 50.0 s\n',
      '[22:00:50] writing the initramfs\n',
      '[22:00:51] writing the initramfs: done in 1.2 s\n',
    ]);
  });

  it('on a terminal: one line rewritten in place (no newline), cleared at the end', () => {
    const stream = fakeStream(true);
    const clock = fakeClock();
    const progress = createProgress(stream, { now: clock.now });
    const bytes = reportBytes(progress);
    bytes({ phase: 'extract', done: 0, total: 200_000_000 });
    clock.advance(200);
    bytes({ phase: 'extract', done: 84_000_000, total: 200_000_000 });
    bytes({ phase: 'extract', done: 85_000_000, total: 200_000_000 }); // within 100 ms: not drawn
    progress.end();
    expect(stream.written).toEqual(['\r… extract\x1b[K', '\r… extract: 42% (84.0/200.0 MB)\x1b[K', '\r\x1b[K']);
    expect(stream.written.every((text) => !text.includes('\n'))).toBe(true);
  });

  it('quiet: nothing at all', () => {
    const stream = fakeStream(false);
    const progress = createProgress(stream, { mode: 'off' });
    progress.begin('solving');
    progress.detail('x');
    progress.end();
    expect(stream.written).toEqual([]);
  });

  it('renders a count when the total is unknown', () => {
    expect(renderProgress({ phase: 'extract', done: 2_500_000 })).toBe('extract 2.5 MB');
    expect(renderProgress({ phase: 'wait', done: 0 })).toBe('wait…');
  });
});
