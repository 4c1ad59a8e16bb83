/**
 * Requests the middleware finds no key for (no `ctx.state.subject`, no `ctx.ip`: Next.js without
 * `trustProxy`): passed through by default but counted and warned about once; `unkeyed: 'reject'`
 * answers 403 `UNIDENTIFIED_CLIENT`; `unkeyed: { key }` shares one bucket.
 */
import type { Middleware } from '@aikit/core'
import { rateLimit, UnidentifiedClientError } from '@aikit/ratelimit'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TestContext } from './test-context.js'

const LIMITS = [{ limit: 1, window: '1m' }] as const

async function send(mw: Middleware, remote: string | null = null) {
  const ctx = new TestContext({ remote })
  await ctx.run(mw)
  return { ctx, res: ctx.written!, passed: ctx.downstreamCalls === 1 }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('unkeyed requests', () => {
  it('pass unchecked by default, are counted, and warn once per middleware', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const mw = rateLimit({ limits: LIMITS })
    for (let i = 0; i < 3; i++) {
      const { ctx, res, passed } = await send(mw)
      expect(passed).toBe(true)
      expect(res.headers.ratelimit).toBeUndefined()
      expect(ctx.state.rateLimit).toBeUndefined()
    }
    expect(mw.stats()).toEqual({ checked: 0, unkeyed: 3 })
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0]?.[0]).toContain('trustProxy')
    expect(warn.mock.calls[0]?.[1]).toEqual({ code: 'AIKIT_RATELIMIT_UNKEYED' })
    // A keyed request is checked and counted, and does not warn.
    await send(mw, '192.0.2.1')
    expect(mw.stats()).toEqual({ checked: 1, unkeyed: 3 })
    expect(warn).toHaveBeenCalledTimes(1)
  })

  it("do not warn with an explicit unkeyed: 'allow' or a custom keyBy", async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const explicit = rateLimit({ limits: LIMITS, unkeyed: 'allow' })
    const custom = rateLimit({ limits: LIMITS, keyBy: () => undefined })
    for (const mw of [explicit, custom]) {
      expect((await send(mw)).passed).toBe(true)
      expect(mw.stats().unkeyed).toBe(1)
    }
    expect(warn).not.toHaveBeenCalled()
  })

  it('warn without failing where process.emitWarning does not exist (edge runtimes)', async () => {
    vi.stubGlobal('process', { ...process, emitWarning: undefined })
    try {
      const mw = rateLimit({ limits: LIMITS })
      expect((await send(mw)).passed).toBe(true)
      expect(mw.stats().unkeyed).toBe(1)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it("are answered 403 UNIDENTIFIED_CLIENT with unkeyed: 'reject'", async () => {
    const mw = rateLimit({ limits: LIMITS, unkeyed: 'reject' })
    const { res, passed } = await send(mw)
    expect(passed).toBe(false)
    expect(res.status).toBe(403)
    expect(JSON.parse(res.text ?? '')).toEqual({
      error: {
        code: 'UNIDENTIFIED_CLIENT',
        message: 'The client could not be identified for rate limiting',
      },
    })
    expect(mw.stats()).toEqual({ checked: 0, unkeyed: 1 })
    // Identified clients are limited as usual.
    expect((await send(mw, '192.0.2.1')).passed).toBe(true)
    expect((await send(mw, '192.0.2.1')).res.status).toBe(429)
    expect(new UnidentifiedClientError()).toMatchObject({
      code: 'UNIDENTIFIED_CLIENT',
      status: 403,
    })
  })

  it('share one bucket with unkeyed: { key }, apart from identified clients', async () => {
    const mw = rateLimit({ limits: LIMITS, unkeyed: { key: 'anonymous' } })
    const first = await send(mw)
    expect(first.passed).toBe(true)
    expect(first.ctx.state.rateLimit).toMatchObject({ allowed: true, limit: 1 })
    expect((await send(mw)).res.status).toBe(429)
    expect((await send(mw, '192.0.2.1')).passed).toBe(true)
    expect(mw.stats()).toEqual({ checked: 3, unkeyed: 2 })
  })
})
