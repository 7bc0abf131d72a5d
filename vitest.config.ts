import { defineConfig } from 'vitest/config';

/**
 * Two lanes, each one file at a time, running side by side: the suites that build and boot
 * kernels or drive conf over whole trees, and everything else. A kernel build keeps both cores
 * busy only while it compiles; its links, the QEMU boots (one core under TCG), downloads and
 * package builds leave a core idle, which the other lane's suites use. Never two kernel builds
 * at once: they all sit in the first lane.
 */
const HEAVY = ['test/e2e/**/*.test.ts', 'test/conformance/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // one worker per lane
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'kernels',
          include: HEAVY,
          fileParallelism: false,
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: HEAVY,
          fileParallelism: false,
          // a hang guard, not a speed limit: these run beside kernel builds
          testTimeout: 120_000,
        },
      },
    ],
  },
});
