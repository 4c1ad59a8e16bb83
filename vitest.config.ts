import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['@aikit/source'] },
  ssr: { resolve: { conditions: ['@aikit/source'] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'tests/*/test/**/*.test.ts',
    ],
    testTimeout: 20_000,
    // A file's beforeAll may build a Next.js fixture app (`next build`, up to 240 s, one build per
    // fixture at a time): with several workers on two cores a build took up to 70 s here.
    hookTimeout: 300_000,
    pool: 'forks',
    // Twice the cores, at most 8 (vitest's default is cores - 1: ONE worker on a 2-core machine).
    // Most of the suite's time is spent waiting on sockets, child processes (redis-server, next
    // build, Chromium) and timers, not on the CPU: on the 2-core CI machine 4 workers ran the
    // suite in 139 s where 1 took 249 s (Next fixtures already built; 187 s vs about 400 s cold).
    maxWorkers: Math.min(8, 2 * availableParallelism()),
    reporters: process.env.CI ? ['default'] : ['default'],
  },
})
