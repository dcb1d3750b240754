import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // CI shares 2 cores between two test files that each run gateways, simulators and clients with
    // 100 ms health checks: one retry keeps a scheduling hiccup from failing the run; a real fault fails twice.
    retry: process.env.CI ? 1 : 0,
  },
});
