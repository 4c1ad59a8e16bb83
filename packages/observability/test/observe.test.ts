/** observeRateLimiter / observeStore: the kit's components reported in the metrics. */
import { createBudget, createPriceTable, UnknownModelError } from '@aikit/cost'
import {
  createMetrics,
  observeBudget,
  observePriceTable,
  observeRateLimiter,
  observeStore,
} from '@aikit/observability'
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

  it('adds settled budget spend in USD and counts rejections', async () => {
    const metrics = createMetrics({ key: false })
    // 9 cents a day; a reservation holds 1,000 input + 4,000 output tokens of gpt-4o = 4.25 cents
    const budget = createBudget({ limits: [{ period: 'day', usd: 0.09 }], warnAt: [0.5] })
    observeBudget(metrics, budget, 'chat')
    const estimate = { model: 'gpt-4o', inputTokens: 1000, maxOutputTokens: 4000 }
    const first = await budget.reserve('u', estimate)
    await first.settle(12_345) // micro-dollars
    const second = await budget.reserve('u', estimate)
    await expect(budget.reserve('u', estimate)).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    await second.release()
    const series = parseScrape(await metrics.registry.metrics())
    expect(sampleValue(series, 'aikit_budget_spend_usd_total', { budget: 'chat' })).toBeCloseTo(
      0.012345,
      9
    )
    expect(sampleValue(series, 'aikit_budget_rejections_total', { budget: 'chat' })).toBe(1)
    // 12,345 spent + 42,500 held crossed half of 90,000
    expect(sampleValue(series, 'aikit_budget_warnings_total', { budget: 'chat' })).toBeGreaterThan(
      0
    )
  })

  it('rejects what is not a metrics instance, a source or a name, naming the argument', () => {
    const metrics = createMetrics({ key: false })
    const source = { on: () => () => {} }
    const cases: [() => unknown, string][] = [
      [() => observeStore(metrics, null as never, 'redis'), 'source'],
      [() => observeStore(metrics, {} as never, 'redis'), 'source'],
      [() => observeStore(metrics, source, ''), 'name'],
      [() => observeStore({} as never, source, 'redis'), 'metrics'],
      [() => observeRateLimiter(metrics, null as never), 'limiter'],
      [() => observeRateLimiter(metrics, source as never, 42 as never), 'name'],
      [() => observeBudget(metrics, 'budget' as never), 'budget'],
      [() => observePriceTable(metrics, undefined as never), 'table'],
    ]
    for (const [call, field] of cases) {
      expect(call).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', field }))
    }
  })

  it('counts calls for models missing from the price table, by model', async () => {
    const metrics = createMetrics({ key: false })
    const strict = createPriceTable()
    const lenient = createPriceTable({ fallback: 'gpt-4o' })
    observePriceTable(metrics, strict)
    observePriceTable(metrics, lenient)
    const usage = { input_tokens: 10, output_tokens: 5 }
    expect(() => strict.priceOf('my-finetune', usage)).toThrow(UnknownModelError)
    expect(lenient.priceOf('my-finetune', usage)).toBeGreaterThan(0) // never free
    const series = parseScrape(await metrics.registry.metrics())
    expect(
      sampleValue(series, 'aikit_llm_unknown_model_total', { gen_ai_request_model: 'my-finetune' })
    ).toBe(2)
  })
})
