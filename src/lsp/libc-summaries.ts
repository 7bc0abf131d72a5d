import { summarizeLibc, type LibcSummary } from '../callgraph/libc-summary.js';

/** The summary of the app's libc for hovers: made once (about a second for glibc), then cached on disk. */
export class LibcSummaries {
  private last: { libc: string; summary: Promise<LibcSummary | null> } | undefined;

  get(libc: string, tree: string): Promise<LibcSummary | null> {
    if (this.last?.libc !== libc) {
      const summary = Promise.resolve().then(() => {
        try {
          return summarizeLibc(libc, { kernelTree: tree });
        } catch {
          return null; // no toolchain or a libc.a that cannot be read: no libc hovers
        }
      });
      this.last = { libc, summary };
    }
    return this.last.summary;
  }
}
