import { availableParallelism } from 'node:os'
import { configDefaults, defineConfig } from 'vitest/config'

const ALL_TESTS = [
  'packages/*/test/**/*.test.ts',
  'examples/*/test/**/*.test.ts',
  'tests/*/test/**/*.test.ts',
]

/**
 * Test files that change state of the whole process, or depend on its being untouched, and so run
 * each in a fresh process. Every other file shares its worker's module cache with the files that
 * ran before it there (`isolate: false`): importing the SDKs, frameworks and the kit's sources
 * again for each of ~400 files was most of the suite's CPU. Node 20, 2 cores, Next fixtures built
 * cold: 456 s (880 s of CPU) with every file isolated, 287 s (535 s of CPU) like this.
 * vitest.shared-setup.ts fails a shared file that leaves process.env changed or loads Sentry.
 */
const ISOLATED_TESTS = [
  // Sentry.init: a client on globalThis.__SENTRY__ and OpenTelemetry's http instrumentation.
  'packages/observability/test/sentry*.test.ts',
  'packages/observability/test/unknown-options.test.ts',
  'packages/cli/test/config-drift.test.ts',
  'packages/cli/test/config-unknown-keys.test.ts',
  // Assert the adapters' asyncContext: 'auto' before anything in the process declared the need
  // (requireAsyncContext() sets a flag on globalThis for good).
  'packages/core/test/async-context-auto.test.ts',
  'packages/security/test/headers-static.test.ts',
  'packages/queue/test/sse.test.ts',
  // Load a Next.js server in the process: Next sets process.env (TURBOPACK, NODE_ENV...) and
  // globalThis.AsyncLocalStorage, and patches fetch.
  'packages/adapters/test/next.*.test.ts',
  'packages/adapters/test/next15.test.ts',
  'packages/ratelimit/test/next.test.ts',
  'packages/security/test/*.next.test.ts',
  'packages/cache/test/*.next.test.ts',
  // vi.mock / vi.doMock / vi.resetModules / vi.stubGlobal of modules or globals others use.
  'packages/adapters/test/express-module-copies.test.ts',
  'packages/core/test/redis-evalsha-bundled.test.ts',
  'packages/llm/test/hit-path-allocations.test.ts',
  'packages/observability/test/cluster-label-cap.test.ts',
  'packages/ratelimit/test/unkeyed.test.ts',
  'packages/testing/test/redis-port-race.test.ts',
]

export default defineConfig({
  resolve: { conditions: ['@aikit/source'] },
  ssr: { resolve: { conditions: ['@aikit/source'] } },
  test: {
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
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          setupFiles: ['./vitest.shared-setup.ts'],
          include: ALL_TESTS,
          exclude: [...configDefaults.exclude, ...ISOLATED_TESTS],
          isolate: false,
        },
      },
      { extends: true, test: { name: 'isolated', include: ISOLATED_TESTS, isolate: true } },
    ],
  },
})
