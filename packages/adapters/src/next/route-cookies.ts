/**
 * @module next/route-cookies
 * The cookies a route handler set (or deleted) with `cookies()` from `next/headers`: Next appends
 * them to the Response only after `withAikit` handed it over (see `ROUTE_COOKIES` in core), so a
 * middleware deciding from the head (`cacheResponse`) would not see them.
 */
import { cookies } from 'next/headers.js'
import { NextResponse } from 'next/server.js'

/** Next's key on its mutable cookie store: the cookies modified during the request (15, 16). */
const MODIFIED = Symbol.for('next.mutated.cookies')
const NOT_NOW = Symbol('not now')

/**
 * The `Set-Cookie` lines of the cookies this request's handler modified through `cookies()`;
 * none outside a request (a prerender: `cookies()` throws there, or gives a promise that settles
 * only when the render ends, which is not waited for) or where Next keeps none.
 */
export async function routeCookieLines(): Promise<string[]> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const later = new Promise<typeof NOT_NOW>((resolve) => {
      timer = setTimeout(resolve, 0, NOT_NOW)
    })
    const jar: unknown = await Promise.race([cookies(), later])
    if (jar === NOT_NOW || typeof jar !== 'object' || jar === null) return []
    const modified = (jar as Record<symbol, unknown>)[MODIFIED]
    if (!Array.isArray(modified) || modified.length === 0) return []
    // Serialised as Next serialises them (attributes included), through its public cookie API.
    const out = new NextResponse(null)
    for (const cookie of modified) out.cookies.set(cookie)
    return out.headers.getSetCookie()
  } catch {
    return []
  } finally {
    clearTimeout(timer)
  }
}
