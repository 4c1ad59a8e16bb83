/**
 * Next's `redirect()` / `notFound()` thrown by a middleware (an auth check) rather than by the
 * handler is answered as when the handler throws it: a 307 the outer middleware see, not a crash
 * reported to onError with onHeaders at 500 (logs, metrics and Sentry recorded a 500).
 */
import type { Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'

/** What `redirect('/login')` from next/navigation throws (Next 15/16 digest format). */
function nextRedirectError(): Error {
  const e = new Error('NEXT_REDIRECT') as Error & { digest: string }
  e.digest = 'NEXT_REDIRECT;replace;/login;307;'
  return e
}

describe('a Next redirect() thrown by a middleware under withAikit', () => {
  it('is not reported as an error and onHeaders does not see a 500', async () => {
    const reported: unknown[] = []
    const seen: (number | undefined)[] = []
    const observer: Middleware = async (ctx, next) => {
      ctx.onHeaders(() => seen.push(ctx.status))
      await next()
    }
    const auth: Middleware = async () => {
      throw nextRedirectError()
    }
    const route = withAikit(() => new Response('secret'), observer, auth, {
      onError: (e) => reported.push(e),
    })
    let res: Response | undefined
    let thrown: unknown
    try {
      res = await route(new Request('http://127.0.0.1:3000/private'), {})
    } catch (e) {
      thrown = e
    }
    // Answered as when the handler throws it: a 307 to /login, seen as such, nothing reported.
    expect(thrown).toBeUndefined()
    expect(res?.status).toBe(307)
    expect(res?.headers.get('location')).toBe('/login')
    expect({ seen, reported: reported.map((e) => (e as { digest?: string }).digest) }).toEqual({
      seen: [307],
      reported: [],
    })
  })

  it("keeps compose's run-first marks: a header middleware listed last still runs first", async () => {
    const headers: Middleware = async (ctx, next) => {
      ctx.setHeader('x-first', '1')
      await next()
    }
    Object.defineProperty(headers, Symbol.for('@aikit/core.runs-first'), { value: true })
    const reject: Middleware = async (ctx) => {
      ctx.respond(413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'too large' } })
    }
    const route = withAikit(() => new Response('never'), reject, headers)
    const res = await route(new Request('http://127.0.0.1:3000/upload', { method: 'POST' }), {})
    expect(res.status).toBe(413)
    expect(res.headers.get('x-first')).toBe('1')
  })
})
