import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/ratelimit', async () => {
    expect(Object.keys(await import('@aikit/ratelimit')).sort()).toEqual(
      [
        'RateLimitedError',
        'createRateLimiter',
        'ipKey',
        'parseWindow',
        'rateLimit',
        'UnidentifiedClientError',
      ].sort()
    )
  })
})
