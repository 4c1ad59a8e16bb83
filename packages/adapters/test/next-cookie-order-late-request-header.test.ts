/**
 * Next adapter headers, with Web Requests (the next.unit.test.ts pattern): the middleware's
 * Set-Cookie lines go before the route's, so the route's cookie of the same name is the one a
 * browser keeps (it was sent first, and lost); a request header set from an `onHeaders` hook in
 * `aikitProxy` reaches the app (it was silently dropped).
 */
import { requireAsyncContext } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { aikitProxy, setRequestHeader, withAikit } from '../src/next/index.js'

requireAsyncContext()
const URL_BASE = 'http://127.0.0.1:3000'

describe('Next adapter headers', () => {
  // README/JSDoc: "the middleware headers are added to it (a header the route set itself wins)",
  // Set-Cookie being appended. A browser applies Set-Cookie lines in order (RFC 6265 §5.3: the
  // later one replaces the earlier cookie of the same name/domain/path), so appending the
  // middleware's cookie AFTER the route's lets a stale middleware value (e.g. a session refresh
  // set before next()) overwrite the cookie the route just set (login/logout).
  it("keeps the route's Set-Cookie the effective one for a cookie both set", async () => {
    const route = withAikit(
      () => {
        const h = new Headers()
        h.append('set-cookie', 'session=new; Path=/; HttpOnly')
        return new Response('ok', { headers: h })
      },
      async (ctx, next) => {
        ctx.setHeader('set-cookie', 'session=old; Path=/; HttpOnly')
        await next()
      }
    )
    const res = await route(new Request(`${URL_BASE}/login`, { method: 'POST' }), undefined)
    const sessions = res.headers.getSetCookie().filter((c) => c.startsWith('session='))
    // The last Set-Cookie for `session` is what the browser keeps: it must be the route's.
    expect(sessions.at(-1)).toBe('session=new; Path=/; HttpOnly')
  })

  // From an onHeaders hook (status known, head not yet written) setRequestHeader is accepted:
  // NextResponse.next() is built after the hooks ran, from the request headers they set.
  it('a request header set from an onHeaders hook in a proxy reaches the app', async () => {
    let thrown: unknown
    const proxy = aikitProxy(async (ctx, next) => {
      ctx.onHeaders(() => {
        try {
          setRequestHeader(ctx, 'x-late', '1')
        } catch (e) {
          thrown = e
        }
      })
      await next()
    })
    const res = await proxy(new Request(`${URL_BASE}/page`))
    expect(thrown).toBeUndefined()
    expect(res.headers.get('x-middleware-request-x-late')).toBe('1')
  })
})
