/**
 * `observeBudget` counts the charges a budget's store never took (`'unsettled'`: its settle
 * retries given up) in `aikit_budget_unsettled_usd_total`: spend that happened and is missing from
 * the budget. A real budget on a memoryStore whose settles fail, with an injected clock.
 */
import { memoryStore, type Store, StoreUnavailableError } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { createMetrics, observeBudget } from '@aikit/observability'
import { describe, expect, it } from 'vitest'
import { parseScrape, sampleValue } from './parse-scrape.js'

describe('observeBudget and settles given up', () => {
  it('adds the charge of a settle given up to aikit_budget_unsettled_usd_total', async () => {
    let now = 1_800_000_000_000
    const inner = memoryStore({ now: () => now })
    const store = Object.create(inner) as Store
    store.run = (op, keys, input) =>
      op.name === 'budgetSettle'
        ? Promise.reject(new StoreUnavailableError('redis is down'))
        : inner.run(op, keys, input)
    const budget = createBudget({
      store,
      now: () => now,
      limits: [{ period: 'day', usd: 1 }],
      reservationTtl: '1m',
    })
    const metrics = createMetrics({ key: false })
    observeBudget(metrics, budget, 'chat')
    const given: unknown[] = []
    budget.on('unsettled', (info) => given.push(info))

    const reservation = await budget.reserve('u', { estimateMicros: 5000 })
    await expect(reservation.settle(2500)).rejects.toBeInstanceOf(StoreUnavailableError)
    reservation.retrySettle(2500)
    // Past the hold's expiry and its tombstone: the next retry (0.25 s on) gives up.
    now += 24 * 3600_000
    const deadline = Date.now() + 10_000
    while (given.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(given).toHaveLength(1)
    const series = parseScrape(await metrics.registry.metrics())
    expect(sampleValue(series, 'aikit_budget_unsettled_usd_total', { budget: 'chat' })).toBeCloseTo(
      0.0025,
      9
    )
    expect(sampleValue(series, 'aikit_budget_spend_usd_total', { budget: 'chat' })).toBe(0)
  })

  it('observes a budget without the event (an older @aikit/cost) without it', () => {
    const metrics = createMetrics({ key: false })
    const source = {
      on(event: string, _listener: (info: never) => void) {
        if (event === 'unsettled') throw new TypeError(`unknown event ${event}`)
        return () => {}
      },
    }
    expect(() => observeBudget(metrics, source as never, 'old')()).not.toThrow()
  })
})
