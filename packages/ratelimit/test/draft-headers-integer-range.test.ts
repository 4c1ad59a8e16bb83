/**
 * The draft `RateLimit-Policy` / `RateLimit` fields are RFC 8941 structured lists whose `q` and `r`
 * are Integers of at most 15 digits (§3.3.1): a parser drops the WHOLE field on a longer one, the
 * other limits' members with it. The options accept limits up to 2^52 per window (16 digits), which
 * were written as they were; they are now written as 999999999999999, the largest Integer.
 */
import type { Middleware } from '@aikit/core'
import { rateLimit } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

async function headersOf(middleware: Middleware): Promise<Record<string, string>> {
  const ctx = new TestContext()
  await ctx.run(middleware)
  return ctx.written!.headers
}

const SF_INTEGER = /^-?\d{1,15}$/

describe('draft rate-limit headers with a limit past the structured-field Integer range', () => {
  it('write q and r as the largest Integer, the other limits unchanged', async () => {
    const headers = await headersOf(
      rateLimit({
        limits: [
          { limit: 10, window: '1s' },
          { limit: 2 ** 52, window: 1 },
        ],
        headers: 'draft',
      })
    )
    expect(headers['ratelimit-policy']).toBe('"p0";q=10;w=1, "p1";q=999999999999999;w=1')
    expect(headers.ratelimit).toMatch(/^"p0";r=9;t=1, "p1";r=999999999999999;t=\d+$/)
    for (const field of [headers['ratelimit-policy'], headers.ratelimit]) {
      for (const member of (field ?? '').split(', ')) {
        for (const param of member.split(';').slice(1)) {
          expect(param.split('=')[1]).toMatch(SF_INTEGER)
        }
      }
    }
  })
})
