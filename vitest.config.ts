import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // integration suites start real daemons on fixed loopback addresses: one file at a time
    fileParallelism: false,
    reporters: ['default'],
  },
});
