/** Per-user tiers resolved at request time by the rateLimit middleware. */
import { InvalidOptionsError, type Middleware } from '@aikit/core'
import { rateLimit } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

async function send(mw: Middleware, subject: string, plan?: string) {
  const ctx = new TestContext({ headers: plan === undefined ? {} : { 'x-plan': plan } })
  ctx.state.subject = subject
  await ctx.run(mw)
  return ctx.written!
}

const tiered = (defaultTier?: string) =>
  rateLimit({
    tiers: {
      free: [{ limit: 2, window: '1m' }],
      pro: [
        { limit: 5, window: '1m' },
        { algorithm: 'fixed-window', limit: 1000, window: '1d' },
      ],
    },
    // async on purpose: tiers often come from a lookup
    tier: async (ctx) => ctx.header('x-plan'),
    ...(defaultTier === undefined ? {} : { defaultTier }),
  })

describe('tiers', () => {
  it('each request is limited by its own tier, with that tier’s policy headers', async () => {
    const mw = tiered()
    const free = [await send(mw, 'ann', 'free'), await send(mw, 'ann', 'free')]
    expect((await send(mw, 'ann', 'free')).status).toBe(429)
    expect(free[0]?.headers['ratelimit-policy']).toBe('"default";q=2;w=60')

    const pro = []
    for (let i = 0; i < 6; i++) pro.push(await send(mw, 'bob', 'pro'))
    expect(pro.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429])
    expect(pro[0]?.headers['ratelimit-policy']).toBe('"p0";q=5;w=60, "p1";q=1000;w=86400')
  })

  it('no tier or an unknown tier uses the default tier (first, or defaultTier)', async () => {
    const first = tiered()
    expect((await send(first, 'x')).headers['ratelimit-policy']).toBe('"default";q=2;w=60')
    expect((await send(first, 'x', 'platinum')).headers['ratelimit-policy']).toBe(
      '"default";q=2;w=60'
    )
    const pro = tiered('pro')
    expect((await send(pro, 'y')).headers['ratelimit-policy']).toMatch(/^"p0";q=5/)
  })

  it('a tier change does not carry the other tier’s consumption', async () => {
    const mw = tiered()
    await send(mw, 'cat', 'free')
    await send(mw, 'cat', 'free')
    expect((await send(mw, 'cat', 'free')).status).toBe(429)
    expect((await send(mw, 'cat', 'pro')).status).toBe(200)
  })

  it('bad tier options name the field', () => {
    const bad = (options: unknown) => () => rateLimit(options as never)
    expect(bad({ tiers: {}, tier: () => 'a' })).toThrow(expect.objectContaining({ field: 'tiers' }))
    expect(bad({ tiers: { a: [{ limit: 1, window: '1m' }] } })).toThrow(
      expect.objectContaining({ field: 'tier' })
    )
    expect(bad({ tiers: { a: [{ limit: 0, window: '1m' }] }, tier: () => 'a' })).toThrow(
      expect.objectContaining({ field: 'tiers.a.limits[0].limit' })
    )
    expect(
      bad({ tiers: { a: [{ limit: 1, window: '1m' }] }, tier: () => 'a', defaultTier: 'b' })
    ).toThrow(expect.objectContaining({ field: 'defaultTier' }))
  })

  it('shared options are validated once, under their own names', () => {
    const fieldOf = (extra: Record<string, unknown>): unknown => {
      try {
        rateLimit({ tiers: { free: [{ limit: 1, window: '1m' }] }, tier: () => 'free', ...extra })
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidOptionsError)
        return (e as InvalidOptionsError).field
      }
      return undefined
    }
    expect(fieldOf({ prefix: 5 })).toBe('prefix')
    expect(fieldOf({ prefix: '' })).toBe('prefix')
    expect(fieldOf({ prefix: 'a{b' })).toBe('prefix')
    expect(fieldOf({ onStoreError: 'nope' })).toBe('onStoreError')
    expect(fieldOf({ store: {} })).toBe('store')
    expect(fieldOf({ blockCache: { maxKeys: 0 } })).toBe('blockCache.maxKeys')
    expect(fieldOf({ prefix: 'api', onStoreError: 'open', blockCache: false })).toBeUndefined()
  })
})
