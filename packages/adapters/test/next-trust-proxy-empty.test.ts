/**
 * On Next (no socket address), a `trustProxy` list naming no proxy (`[]`, `','`) is `false`:
 * `ctx.ip` is not read from `X-Forwarded-For`, which the client writes. It used to return the
 * header's last entry: any client chose its own IP (and rate-limit key).
 */
import { requireAsyncContext } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'

requireAsyncContext()

describe('Next ctx.ip with an empty trusted-proxy list', () => {
  // `trustProxy: []` (e.g. `process.env.PROXIES?.split(',').filter(Boolean) ?? []` with the
  // variable unset, or TRUST_PROXY="," through the env helper, which accepts it) names no proxy.
  // On node:http/Express that means "socket address only"; on Next parseArgs() classifies any
  // array as 'ranges', and the ranges resolver, having no socket peer, returns the rightmost
  // X-Forwarded-For entry, which `next start` passes through from the client unchanged: every
  // request can pick its own ctx.ip (rate-limit keys, logs). No proxy trusted must mean no
  // forwarded address believed, as with `false`.
  it('ignores X-Forwarded-For when the list names no proxy', async () => {
    let ip: string | undefined = 'unset'
    const route = withAikit(
      () => new Response('ok'),
      async (ctx, next) => {
        ip = ctx.ip
        await next()
      },
      { trustProxy: [] }
    )
    await route(
      new Request('http://127.0.0.1:3000/api', { headers: { 'x-forwarded-for': '6.6.6.6' } }),
      undefined
    )
    expect(ip).toBeUndefined()
  })
})
