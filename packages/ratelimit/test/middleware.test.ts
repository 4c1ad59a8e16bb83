import {
  InvalidOptionsError,
  type Middleware,
  memoryStore,
  type Store,
  StoreUnavailableError,
} from '@aikit/core'
import { createRateLimiter, RateLimitedError, rateLimit } from '@aikit/ratelimit'
import { describe, expect, it, vi } from 'vitest'
import { TestContext } from './test-context.js'

type Init = ConstructorParameters<typeof TestContext>[0]

async function send(mw: Middleware, init: Init = {}, subject?: string) {
  const ctx = new TestContext(init)
  if (subject !== undefined) ctx.state.subject = subject
  await ctx.run(mw)
  return { ctx, res: ctx.written!, passed: ctx.downstreamCalls === 1 }
}

const LIMITS = [{ limit: 2, window: '1m' }] as const

describe('rateLimit middleware', () => {
  it('passes allowed requests to next with draft headers and state', async () => {
    const mw = rateLimit({ limits: LIMITS })
    const { ctx, res, passed } = await send(mw)
    expect(passed).toBe(true)
    expect(res.status).toBe(200)
    expect(res.headers['ratelimit-policy']).toBe('"default";q=2;w=60')
    expect(res.headers.ratelimit).toMatch(/^"default";r=1;t=\d+$/)
    expect(res.headers['x-ratelimit-limit']).toBeUndefined()
    expect(ctx.state.rateLimit).toMatchObject({ allowed: true, remaining: 1, limit: 2 })
  })

  it('answers the (limit+1)th request with 429, Retry-After, the JSON error and headers', async () => {
    const mw = rateLimit({ limits: LIMITS, headers: 'both' })
    await send(mw)
    await send(mw)
    const { ctx, res, passed } = await send(mw)
    expect(passed).toBe(false)
    expect(res.status).toBe(429)
    const retryAfter = Number(res.headers['retry-after'])
    expect(Number.isInteger(retryAfter)).toBe(true)
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    const body = JSON.parse(res.text!)
    expect(body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'Too many requests',
        details: { retryAfterMs: ctx.state.rateLimit!.retryAfterMs },
      },
    })
    expect(body.error.details.retryAfterMs).toBeGreaterThan(0)
    expect(res.headers['content-type']).toMatch(/json/)
    expect(res.headers.ratelimit).toMatch(/^"default";r=0;t=\d+$/)
    expect(res.headers['x-ratelimit-limit']).toBe('2')
    expect(res.headers['x-ratelimit-remaining']).toBe('0')
    expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(
      Math.floor(Date.now() / 1000)
    )
    expect(ctx.state.rateLimit?.allowed).toBe(false)
  })

  it('RateLimitedError is an AikitError with code RATE_LIMITED and status 429', () => {
    const e = new RateLimitedError(1500)
    expect(e).toMatchObject({ code: 'RATE_LIMITED', status: 429, message: 'Too many requests' })
    expect(e.toJSON()).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'Too many requests',
        details: { retryAfterMs: 1500 },
      },
    })
  })

  it('a cost that can never pass gets 429 without Retry-After and retryAfterMs -1', async () => {
    const mw = rateLimit({ limits: LIMITS, cost: 5 })
    const { res } = await send(mw)
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBeUndefined()
    expect(JSON.parse(res.text!).error.details).toEqual({ retryAfterMs: -1 })
  })

  it('names one policy per limit and reports each', async () => {
    const mw = rateLimit({
      limits: [
        { limit: 5, window: '1s' },
        { algorithm: 'fixed-window', limit: 100, window: '1h' },
      ],
    })
    const { res } = await send(mw)
    expect(res.headers['ratelimit-policy']).toBe('"p0";q=5;w=1, "p1";q=100;w=3600')
    expect(res.headers.ratelimit).toMatch(/^"p0";r=4;t=\d+, "p1";r=99;t=\d+$/)
  })

  it('keys by ctx.state.subject before the IP', async () => {
    const mw = rateLimit({ limits: LIMITS })
    await send(mw, { remote: '10.0.0.1' }, 'alice')
    await send(mw, { remote: '10.0.0.2' }, 'alice')
    expect((await send(mw, { remote: '10.0.0.3' }, 'alice')).res.status).toBe(429)
    // Same IP, other subject or none: separate buckets.
    expect((await send(mw, { remote: '10.0.0.3' }, 'bob')).passed).toBe(true)
    expect((await send(mw, { remote: '10.0.0.3' })).passed).toBe(true)
  })

  it('keys by IP without a subject; a custom keyBy wins', async () => {
    const mw = rateLimit({ limits: LIMITS })
    await send(mw, { remote: '10.0.0.1' })
    await send(mw, { remote: '10.0.0.1' })
    expect((await send(mw, { remote: '10.0.0.1' })).res.status).toBe(429)
    expect((await send(mw, { remote: '10.0.0.2' })).passed).toBe(true)

    const byHeader = rateLimit({ limits: LIMITS, keyBy: async (ctx) => ctx.header('x-api-key') })
    await send(byHeader, { remote: '1.1.1.1', headers: { 'x-api-key': 'k' } })
    await send(byHeader, { remote: '2.2.2.2', headers: { 'x-api-key': 'k' } })
    expect(
      (await send(byHeader, { remote: '3.3.3.3', headers: { 'x-api-key': 'k' } })).res.status
    ).toBe(429)
  })

  it('passes through unchecked when no key can be determined', async () => {
    // The one-time warning is covered in unkeyed.test.ts.
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const mw = rateLimit({ limits: [{ limit: 1, window: '1m' }] })
    for (let i = 0; i < 3; i++) {
      const { ctx, res, passed } = await send(mw, { remote: null })
      expect(passed).toBe(true)
      expect(res.headers.ratelimit).toBeUndefined()
      expect(ctx.state.rateLimit).toBeUndefined()
    }
    const custom = rateLimit({ limits: [{ limit: 1, window: '1m' }], keyBy: () => undefined })
    expect((await send(custom)).passed).toBe(true)
    expect((await send(custom)).passed).toBe(true)
    warn.mockRestore()
  })

  it('groups IPv6 clients by /56: same /56 shares a bucket, another /56 does not', async () => {
    const mw = rateLimit({ limits: LIMITS })
    await send(mw, { remote: '2001:db8:0:1200::1' })
    await send(mw, { remote: '2001:db8:0:12ff:abcd::9' })
    expect((await send(mw, { remote: '2001:0DB8:0000:12aa:0000:0000:0000:0001' })).res.status).toBe(
      429
    )
    expect((await send(mw, { remote: '2001:db8:0:1300::1' })).passed).toBe(true)
    // IPv4-mapped addresses count as their IPv4 address.
    await send(mw, { remote: '::ffff:192.0.2.1' })
    await send(mw, { remote: '192.0.2.1' })
    expect((await send(mw, { remote: '192.0.2.1' })).res.status).toBe(429)
  })

  it('honours ipv6Prefix', async () => {
    const mw = rateLimit({ limits: LIMITS, ipv6Prefix: 128 })
    await send(mw, { remote: '2001:db8::1' })
    await send(mw, { remote: '2001:db8::1' })
    expect((await send(mw, { remote: '2001:db8::2' })).passed).toBe(true)
    expect((await send(mw, { remote: '2001:db8::1' })).res.status).toBe(429)
  })

  it('ignores a spoofed X-Forwarded-For when no proxy is trusted', async () => {
    const mw = rateLimit({ limits: LIMITS })
    await send(mw, { remote: '203.0.113.7', headers: { 'x-forwarded-for': '1.1.1.1' } })
    await send(mw, { remote: '203.0.113.7', headers: { 'x-forwarded-for': '2.2.2.2' } })
    const { res } = await send(mw, {
      remote: '203.0.113.7',
      headers: { 'x-forwarded-for': '3.3.3.3' },
    })
    expect(res.status).toBe(429)
  })

  it('dryRun never denies but sets headers and state', async () => {
    const mw = rateLimit({ limits: LIMITS, dryRun: true })
    for (let i = 0; i < 4; i++) {
      const { ctx, res, passed } = await send(mw)
      expect(passed).toBe(true)
      expect(res.status).toBe(200)
      expect(res.headers.ratelimit).toMatch(/^"default";r=\d;t=\d+$/)
      expect(ctx.state.rateLimit?.allowed).toBe(i < 2)
    }
  })

  it('passes degraded results when the store is down and onStoreError is open', async () => {
    const mem = memoryStore()
    const down: Store = {
      kind: 'redis',
      local: false,
      get: (k) => mem.get(k),
      set: (k, v, o) => mem.set(k, v, o),
      delete: (k) => mem.delete(k),
      key: (tag, ...parts) => mem.key(tag, ...parts),
      on: (e, l) => mem.on(e, l),
      close: () => mem.close(),
      run: async () => {
        throw new StoreUnavailableError('down', { reason: 'connection' })
      },
    }
    const limiter = createRateLimiter({
      limits: [{ limit: 1, window: '1m' }],
      store: down,
      onStoreError: 'open',
    })
    const mw = rateLimit({ limiter })
    for (let i = 0; i < 3; i++) {
      const { ctx, passed } = await send(mw)
      expect(passed).toBe(true)
      expect(ctx.state.rateLimit).toMatchObject({ allowed: true, degraded: true })
    }
  })

  it('accepts an existing limiter and a cost function', async () => {
    const limiter = createRateLimiter({ limits: [{ limit: 10, window: '1m' }] })
    const mw = rateLimit({ limiter, cost: (ctx) => (ctx.method === 'POST' ? 4 : 1) })
    const { ctx } = await send(mw, { method: 'POST' })
    expect(ctx.state.rateLimit?.remaining).toBe(6)
  })

  it.each([
    ['behind', -3_600_000],
    ['ahead of', 3_600_000],
  ])("measures t= on the store's clock, an hour %s this machine's", async (_label, skewMs) => {
    // The store's clock (Redis's TIME in production) is the only clock of resetAt: a header mixing
    // it with this machine's would say t=0 (behind) or t=3660 (ahead) for a 60-second window.
    const store = memoryStore({ now: () => Date.now() + skewMs })
    const limiter = createRateLimiter({ store, limits: [{ limit: 2, window: '1m' }] })
    const mw = rateLimit({ limiter, headers: 'both' })
    await send(mw, {}, 'skewed')
    const { res } = await send(mw, {}, 'skewed')
    const t = Number(/;t=(\d+)$/.exec(res.headers.ratelimit ?? '')?.[1])
    // GCRA, 2 per minute, both used: fully replenished in one window.
    expect(t).toBeGreaterThanOrEqual(59)
    expect(t).toBeLessThanOrEqual(60)
    // The legacy reset is epoch seconds for the client to compare with its own clock (this
    // machine's): a minute from now, not an hour off.
    const reset = Number(res.headers['x-ratelimit-reset'])
    expect(reset * 1000 - Date.now()).toBeGreaterThan(55_000)
    expect(reset * 1000 - Date.now()).toBeLessThan(62_000)
    expect(limiter.now() - Date.now()).toBeGreaterThan(skewMs - 1_000)
    expect(limiter.now() - Date.now()).toBeLessThan(skewMs + 1_000)
  })

  it('legacy headers only', async () => {
    const { res } = await send(rateLimit({ limits: LIMITS, headers: 'legacy' }))
    expect(res.headers.ratelimit).toBeUndefined()
    expect(res.headers['x-ratelimit-remaining']).toBe('1')
    const none = await send(rateLimit({ limits: LIMITS, headers: false }))
    expect(none.res.headers.ratelimit).toBeUndefined()
    expect(none.res.headers['x-ratelimit-limit']).toBeUndefined()
  })

  it.each([
    [{ limits: [] }, 'limits'],
    [{ limits: [{ limit: 0, window: '1m' }] }, 'limits[0].limit'],
    [{ limiter: {} }, 'limiter'],
    [{ limiter: createRateLimiter({ limits: LIMITS }), limits: LIMITS }, 'limiter'],
    [{ limits: LIMITS, keyBy: 'ip' }, 'keyBy'],
    [{ limits: LIMITS, cost: -1 }, 'cost'],
    [{ limits: LIMITS, cost: 1.5 }, 'cost'],
    [{ limits: LIMITS, headers: 'ietf' }, 'headers'],
    [{ limits: LIMITS, dryRun: 'yes' }, 'dryRun'],
    [{ limits: LIMITS, ipv6Prefix: 0 }, 'ipv6Prefix'],
    [{ limits: LIMITS, ipv6Prefix: 129 }, 'ipv6Prefix'],
    [{ limits: LIMITS, unkeyed: 'deny' }, 'unkeyed'],
    [{ limits: LIMITS, unkeyed: null }, 'unkeyed'],
    [{ limits: LIMITS, unkeyed: {} }, 'unkeyed.key'],
    [{ limits: LIMITS, unkeyed: { key: '' } }, 'unkeyed.key'],
  ])('invalid options name the field (%j → %s)', (options, field) => {
    let caught: unknown
    try {
      rateLimit(options as never)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidOptionsError)
    expect((caught as InvalidOptionsError).field).toBe(field)
  })
})
