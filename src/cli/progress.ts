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

/**
 * Long work as phases: a live line that rewrites itself on a terminal; plain timestamped lines
 * in pipes and CI logs (each phase as it starts and ends with its duration, and where it is at
 * most every `interval`); nothing with --quiet.
 */
export interface Progress {
  /** a phase starts (the one before, if still open, ends) */
  begin(phase: string): void;
  /** how far the open phase is, e.g. "812 objects compiled" */
  detail(text: string): void;
  /** the open phase is over */
  end(): void;
}

export type ProgressMode = 'live' | 'lines' | 'off';

export interface ProgressOptions {
  /** default: live on a terminal, lines otherwise */
  mode?: ProgressMode;
  /** plain lines: the least time between two detail lines of one phase (default 20 s) */
  intervalMs?: number;
  now?: () => number;
}

// a live line is redrawn at most this often, so a fast stream does not flood the terminal
const MIN_REDRAW_MS = 100;
const LINE_INTERVAL_MS = 20_000;

export const silentProgress: Progress = { begin: () => {}, detail: () => {}, end: () => {} };

export function createProgress(stream: ProgressStream, opts: ProgressOptions = {}): Progress {
  const mode = opts.mode ?? (stream.isTTY === true ? 'live' : 'lines');
  if (mode === 'off') return silentProgress;
  const now = opts.now ?? Date.now;
  return mode === 'live' ? liveProgress(stream, now) : lineProgress(stream, now, opts.intervalMs ?? LINE_INTERVAL_MS);
}

/** `[22:53:05] kernel build: 812 objects compiled` */
function lineProgress(stream: ProgressStream, now: () => number, intervalMs: number): Progress {
  let open: { phase: string; started: number; lastDetail: number } | undefined;
  const say = (text: string): void => {
    stream.write(`[${clock(now())}] ${text}\n`);
  };
  const end = (): void => {
    if (open === undefined) return;
    say(`${open.phase}: done in ${seconds(now() - open.started)}`);
    open = undefined;
  };
  return {
    begin(phase) {
      end();
      open = { phase, started: now(), lastDetail: now() };
      say(phase);
    },
    detail(text) {
      if (open === undefined || now() - open.lastDetail < intervalMs) return;
      open.lastDetail = now();
      say(`${open.phase}: ${text}`);
    },
    end,
  };
}

/** one line rewritten with `\r`, cleared when the phase ends */
function liveProgress(stream: ProgressStream, now: () => number): Progress {
  let phase: string | undefined;
  let shown = '';
  let shownAt = 0;
  const draw = (text: string, force: boolean): void => {
    if (text === shown || (!force && now() - shownAt < MIN_REDRAW_MS)) return;
    // \x1b[K clears what a longer previous line left on the right
    stream.write(`\r${text}\x1b[K`);
    shown = text;
    shownAt = now();
  };
  return {
    begin(next) {
      phase = next;
      draw(`… ${next}`, true);
    },
    detail(text) {
      if (phase !== undefined) draw(`… ${phase}: ${text}`, false);
    },
    end() {
      if (shown !== '') stream.write('\r\x1b[K');
      phase = undefined;
      shown = '';
    },
  };
}

/** a byte-counting step (tree extraction) as a phase: begun at its first report, detailed after */
export function reportBytes(progress: Progress): (report: ProgressReport) => void {
  let phase: string | undefined;
  return (report) => {
    if (report.phase !== phase) {
      phase = report.phase;
      progress.begin(report.phase);
    }
    if (report.done > 0) progress.detail(renderAmount(report));
  };
}

/** `extract 42% (58.0/138.0 MB)`, or `extract 58.0 MB` when the total is unknown. */
export function renderProgress(p: ProgressReport): string {
  return p.done > 0 || percentOf(p) !== undefined ? `${p.phase} ${renderAmount(p)}` : `${p.phase}…`;
}

/** `42% (58.0/138.0 MB)` or `58.0 MB` */
function renderAmount(p: ProgressReport): string {
  const percent = percentOf(p);
  if (percent === undefined || p.total === undefined) return `${megabytes(p.done)} MB`;
  return `${percent}% (${megabytes(p.done)}/${megabytes(p.total)} MB)`;
}

function percentOf(p: ProgressReport): number | undefined {
  if (p.total === undefined || p.total <= 0) return undefined;
  return Math.min(100, Math.floor((p.done / p.total) * 100));
}

function megabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
