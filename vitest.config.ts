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
    hookTimeout: 130_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
})
