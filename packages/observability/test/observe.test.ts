/** observeRateLimiter / observeStore: the kit's components reported in the metrics. */
import { createMetrics, observeRateLimiter, observeStore } from '@aikit/observability'
import { createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import { parseScrape, sampleValue } from './parse-scrape.js'

describe('observing components', () => {
  it('counts every rate-limit decision by limiter name, until unsubscribed', async () => {
    const metrics = createMetrics({ key: false })
    const limiter = createRateLimiter({ limits: [{ limit: 2, window: '1m' }] })
    const off = observeRateLimiter(metrics, limiter, 'chat')
    for (let i = 0; i < 3; i++) await limiter.check('user-1')
    off()
    await limiter.check('user-1')
    const series = parseScrape(await metrics.registry.metrics())
    const count = (decision: string) =>
      sampleValue(series, 'aikit_ratelimit_decisions_total', { limiter: 'chat', decision })
    expect([count('allowed'), count('denied')]).toEqual([2, 1])
  })

  it('mirrors degraded / recovered events in aikit_store_degraded', async () => {
    const metrics = createMetrics({ key: false })
    const listeners = new Map<string, (info: unknown) => void>()
    const source = {
      on(event: 'degraded' | 'recovered', listener: (info: unknown) => void) {
        listeners.set(event, listener)
        return () => listeners.delete(event)
      },
    }
    observeStore(metrics, source, 'redis')
    const gauge = async () =>
      sampleValue(parseScrape(await metrics.registry.metrics()), 'aikit_store_degraded', {
        store: 'redis',
      })
    expect(await gauge()).toBe(0)
    listeners.get('degraded')?.({})
    expect(await gauge()).toBe(1)
    listeners.get('recovered')?.({})
    expect(await gauge()).toBe(0)
  })
})
