/**
 * Guarantees that `initSentry` takes an empty DSN as no DSN: `initSentry({ dsn:
 * process.env.SENTRY_DSN })` with `SENTRY_DSN=''` (what docker-compose's `${SENTRY_DSN:-}` passes
 * when the operator sets none) initialises nothing and returns `undefined`, as with `undefined`,
 * instead of throwing at start-up. The kit's other readers of the environment (`defineEnv`,
 * `aikit doctor`) also take an empty variable as unset. A malformed non-empty DSN is still refused.
 * A stand-in `sentry` module is passed: nothing reaches the real SDK.
 */
import { initSentry } from '@aikit/observability/sentry'
import { describe, expect, it } from 'vitest'

const fakeSentry = {
  init: () => {
    throw new Error('Sentry.init must not be called without a DSN')
  },
  isInitialized: () => false,
  getClient: () => undefined,
} as never

describe('initSentry with an empty DSN', () => {
  it('undefined DSN: nothing is initialised', () => {
    expect(initSentry({ dsn: undefined, sentry: fakeSentry })).toBeUndefined()
  })

  it("'' DSN: nothing is initialised, nothing thrown", () => {
    expect(initSentry({ dsn: '', sentry: fakeSentry })).toBeUndefined()
  })

  it('a malformed DSN is still refused', () => {
    expect(() => initSentry({ dsn: 'not-a-dsn', sentry: fakeSentry })).toThrow(/dsn/)
  })
})
