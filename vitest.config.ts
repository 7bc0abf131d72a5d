import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // the conformance and end-to-end suites drive real tools; one file at a time on 2 cores
    fileParallelism: false,
    testTimeout: 30_000,
  },
});
