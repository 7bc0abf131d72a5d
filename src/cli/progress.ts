/** What long-running steps report: `done` units (bytes, files…) of `total` when known. */
export interface ProgressReport {
  phase: string;
  done: number;
  total?: number;
}

/** The part of a stream the renderer needs (process.stderr fits; so does a test double). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** `update` is the progress callback (safe to pass unbound); `done` clears the line when the work is over. */
export interface TtyProgress {
  update(report: ProgressReport): void;
  done(): void;
}

// redraw at most this often unless the whole percentage changes, so a fast stream does not flood the terminal
const MIN_REDRAW_MS = 100;

/**
 * A one-line progress display that rewrites itself with `\r` on a terminal and stays silent
 * otherwise (pipes, CI logs and files get no control characters).
 */
export function createTtyProgress(stream: ProgressStream): TtyProgress {
  const onTerminal = stream.isTTY === true;
  let shownText = '';
  let shownPhase = '';
  let shownPercent: number | undefined;
  let shownAt = 0;

  const update = (p: ProgressReport): void => {
    if (!onTerminal) return;
    const text = renderProgress(p);
    if (text === shownText) return;
    const percent = percentOf(p);
    const now = Date.now();
    const sameStep = shownText !== '' && percent === shownPercent && p.phase === shownPhase;
    if (sameStep && now - shownAt < MIN_REDRAW_MS) return;
    // \x1b[K clears what a longer previous line left on the right
    stream.write(`\r${text}\x1b[K`);
    shownText = text;
    shownPhase = p.phase;
    shownPercent = percent;
    shownAt = now;
  };

  const done = (): void => {
    if (onTerminal && shownText !== '') stream.write('\r\x1b[K');
    shownText = '';
    shownPercent = undefined;
  };

  return { update, done };
}

/** `extract 42% (58.0/138.0 MB)`, or `extract 58.0 MB` when the total is unknown. */
export function renderProgress(p: ProgressReport): string {
  const percent = percentOf(p);
  if (percent === undefined || p.total === undefined) return p.done > 0 ? `${p.phase} ${megabytes(p.done)} MB` : `${p.phase}…`;
  return `${p.phase} ${percent}% (${megabytes(p.done)}/${megabytes(p.total)} MB)`;
}

function percentOf(p: ProgressReport | undefined): number | undefined {
  if (!p || p.total === undefined || p.total <= 0) return undefined;
  return Math.min(100, Math.floor((p.done / p.total) * 100));
}

function megabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}
