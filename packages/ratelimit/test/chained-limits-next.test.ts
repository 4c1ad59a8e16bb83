/**
 * Two rateLimit middlewares under withAikit (the Next route wrapper, Web Request in,
 * Response out): the 200 and the second limit's 429 carry both limits; X-RateLimit-* the tightest.
 */
import { withAikit } from '@aikit/adapters/next'
import { rateLimit } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

describe('chained rateLimit under withAikit', () => {
  it('200 then 429 from the second: both list both limits', async () => {
    const route = withAikit(
      async () => Response.json({ ok: true }),
      rateLimit({ limits: [{ limit: 10, window: '1m' }], headers: 'both', keyBy: () => 'a' }),
      rateLimit({
        limits: [{ limit: 1, window: '1m' }],
        keyBy: () => 'k',
        prefix: 'inner',
        headers: 'both',
      })
    )
    const first = await route(new Request('http://127.0.0.1/x'), {})
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=10;w=60, "inner";q=1;w=60')
    const second = await route(new Request('http://127.0.0.1/x'), {})
    expect(second.status).toBe(429)
    expect(second.headers.get('ratelimit-policy')).toBe('"default";q=10;w=60, "inner";q=1;w=60')
    expect(second.headers.get('ratelimit')).toMatch(/^"default";r=8;t=\d+, "inner";r=0;t=\d+$/)
    expect(second.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(second.headers.get('x-ratelimit-limit')).toBe('1')
  })
})
