/**
 * withAikit: a route handler returning `Response.error()` (a network error, status 0) is a failed
 * route, answered as one (`await next()` rejects, as for a throwing route): the kit's JSON 500
 * with the middleware's headers, status 500 in `onHeaders` (logs, metrics). It was handed to Next
 * untouched: a bare 500 without the kit's headers, the middleware seeing status 0.
 */
import { withAikit } from '@aikit/adapters/next'
import type { Middleware } from '@aikit/core'
import { expect, it } from 'vitest'

it('answers a route returning Response.error() with the JSON 500 and the middleware headers', async () => {
  const seen: { head?: number | undefined; thrown?: boolean } = {}
  const probe: Middleware = async function probe(ctx, next) {
    ctx.setHeader('x-before', 'on')
    ctx.onHeaders(() => {
      seen.head = ctx.status
      ctx.setHeader('x-on-headers', String(ctx.status))
    })
    await next().catch((error: unknown) => {
      seen.thrown = error instanceof Error
      throw error
    })
  }
  const GET = withAikit(async () => Response.error(), probe)
  const res = await GET(new Request('http://app.test/api/thing'), {})
  expect(res.status).toBe(500)
  expect(res.headers.get('x-before')).toBe('on')
  expect(res.headers.get('x-on-headers')).toBe('500')
  expect(res.headers.get('content-type')).toContain('application/json')
  const body = (await res.json()) as { error: { code: string; message: string } }
  expect(body.error.code).toBe('INTERNAL')
  expect(body.error.message).not.toContain('Response.error')
  expect(seen).toEqual({ head: 500, thrown: true })
})
