/**
 * Budget behaviour on memoryStore with injected clocks: estimates priced at the worst case, hard
 * rejections with details, soft mode warnings, TTL expiry, calendar periods in a time zone, rolling
 * windows, per-subject limits, spend reports per model, settle edge cases, options validation.
 */
import { InvalidOptionsError, memoryStore, type Store, StoreUnavailableError } from '@aikit/core'
import {
  approximateTokens,
  type BudgetEvents,
  BudgetExceededError,
  createBudget,
  createPriceTable,
  estimateTokens,
  priceOf,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

function clock(start: number) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) }
}

describe('reserve', () => {
  it('holds input + max output at the model price (worst case)', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const r = await budget.reserve('u', {
      model: 'gpt-4o',
      inputTokens: 1000,
      maxOutputTokens: 4000,
    })
    expect(r.amountMicros).toBe(1000 * 2.5 + 4000 * 10)
    expect(r.model).toBe('gpt-4o')
    // 1-hour cache writes cost 2× input on Claude: the worst case includes it when asked.
    const w = await budget.reserve('u', {
      model: 'claude-sonnet-4-5',
      inputTokens: 1000,
      maxOutputTokens: 0,
      cacheWrite: '1h',
    })
    expect(w.amountMicros).toBe(6000)
    // From messages: estimateTokens decides the input.
    const messages = [{ role: 'user', content: 'How much is left in my budget?' }]
    const m = await budget.reserve('u', { model: 'gpt-4o-mini', messages, maxOutputTokens: 100 })
    // gpt-4o-mini: 0.15 / 0.60 USD per million tokens = 150,000 / 600,000 µ$ per million
    const n = estimateTokens(messages, 'gpt-4o-mini')
    expect(m.amountMicros).toBe(Math.ceil((n * 150_000 + 100 * 600_000) / 1_000_000))
  })

  it('a reservation from messages holds at least the text of a document block', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    // About 200k characters: tens of thousands of input tokens, not a flat 1,600.
    const text = 'The contract renews every year unless either party objects in writing. '.repeat(
      2800
    )
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: text } },
        ],
      },
    ]
    const r = await budget.reserve('u', {
      model: 'claude-sonnet-4-5',
      messages,
      maxOutputTokens: 1,
    })
    // At $3/MTok: at least approximateTokens(text) × 3 µ$.
    expect(r.amountMicros).toBeGreaterThanOrEqual(approximateTokens(text) * 3)
    expect(r.amountMicros).toBeGreaterThan(120_000)
  })

  it('an unknown model cannot be reserved for unless the table has a fallback', async () => {
    const strict = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    await expect(
      strict.reserve('u', { model: 'nope-1', inputTokens: 1, maxOutputTokens: 1 })
    ).rejects.toMatchObject({ code: 'UNKNOWN_MODEL' })
    const lenient = createBudget({
      limits: [{ period: 'day', usd: 10 }],
      prices: createPriceTable({ fallback: 'claude-opus-4-1' }),
    })
    const r = await lenient.reserve('u', { model: 'nope-1', inputTokens: 1000, maxOutputTokens: 0 })
    expect(r.amountMicros).toBe(15_000)
  })

  it('hard mode: 402 BUDGET_EXCEEDED with remaining and reset time, nothing held', async () => {
    const t = clock(Date.UTC(2026, 10, 25, 12))
    const budget = createBudget({ limits: [{ period: 'day', micros: 1000 }], now: t.now })
    const rejected: BudgetEvents['rejected'][] = []
    budget.on('rejected', (e) => rejected.push(e))
    await budget.reserve('u', { estimateMicros: 700 })
    const error = await budget.reserve('u', { estimateMicros: 400 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BudgetExceededError)
    expect(error).toMatchObject({
      status: 402,
      code: 'BUDGET_EXCEEDED',
      details: {
        period: 'day',
        limitMicros: 1000,
        remainingMicros: 300,
        requestedMicros: 400,
        resetAt: Date.UTC(2026, 10, 26),
      },
    })
    expect((error as BudgetExceededError).toJSON().error.details).not.toHaveProperty('subject')
    expect(rejected).toEqual([
      {
        subject: 'u',
        period: 'day',
        requestedMicros: 400,
        remainingMicros: 300,
        limitMicros: 1000,
      },
    ])
    expect((await budget.status('u')).tightest?.heldMicros).toBe(700)
  })

  it('soft mode always holds and warns once per threshold crossing', async () => {
    const budget = createBudget({ limits: [{ period: 'month', micros: 1000 }], mode: 'soft' })
    const warnings: BudgetEvents['warning'][] = []
    budget.on('warning', (w) => warnings.push(w))
    const a = await budget.reserve('team:1', { estimateMicros: 500 })
    expect(warnings).toEqual([])
    const b = await budget.reserve('team:1', { estimateMicros: 400 }) // 900: crosses 80 %
    expect(warnings.map((w) => w.threshold)).toEqual([0.8])
    await a.settle(450) // 850: no new crossing
    await b.settle(400) // 850 spent
    const c = await budget.reserve('team:1', { estimateMicros: 500 }) // 1350: crosses 100 %
    expect(c.status?.tightest?.remainingMicros).toBe(0)
    expect(warnings.map((w) => [w.threshold, w.usedMicros])).toEqual([
      [0.8, 900],
      [1, 1350],
    ])
  })

  it('a settle charging more than was held warns at the threshold it crosses', async () => {
    const budget = createBudget({ limits: [{ period: 'day', micros: 1000 }] })
    const warnings: BudgetEvents['warning'][] = []
    budget.on('warning', (w) => warnings.push(w))
    const r = await budget.reserve('u', { estimateMicros: 500 })
    await r.settle(450) // less than held: use only falls
    expect(warnings).toEqual([])
    const over = await budget.reserve('u', { estimateMicros: 100 }) // 550
    await over.settle(400) // 850: crosses 80 % at the settle
    expect(warnings).toEqual([
      { subject: 'u', period: 'day', threshold: 0.8, usedMicros: 850, limitMicros: 1000 },
    ])
  })

  it("a reservation's status is the budget right after its own hold, whenever it is read", async () => {
    const budget = createBudget({ limits: [{ period: 'day', micros: 1000 }] })
    const a = await budget.reserve('u', { estimateMicros: 300 })
    const b = await budget.reserve('u', { estimateMicros: 200 })
    await b.settle(200)
    expect(a.status?.tightest).toMatchObject({ spentMicros: 0, heldMicros: 300 })
    expect(b.status?.tightest).toMatchObject({ spentMicros: 0, heldMicros: 500 })
    expect(a.status).toBe(a.status)
  })

  it('a subject without limits is unlimited; limits can depend on the subject', async () => {
    const budget = createBudget({
      limits: (subject) =>
        subject.startsWith('team:') ? [{ period: 'day', micros: 100 }] : undefined,
    })
    const free = await budget.reserve('user:1', { estimateMicros: 10 ** 9 })
    expect(free.status?.limits).toEqual([])
    await expect(budget.reserve('team:1', { estimateMicros: 101 })).rejects.toMatchObject({
      code: 'BUDGET_EXCEEDED',
    })
  })
})

describe('settle and release', () => {
  it('settle prices raw provider usage with the reserved model and frees the rest', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const r = await budget.reserve('u', {
      model: 'gpt-4o',
      inputTokens: 2000,
      maxOutputTokens: 1000,
    })
    const out = await r.settle({
      prompt_tokens: 2000,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 1024 },
    })
    expect(out).toMatchObject({ chargedMicros: 6720, priced: true, held: true })
    expect(out.status.tightest).toMatchObject({ spentMicros: 6720, heldMicros: 0 })
    const report = await budget.spend('u')
    expect(report.byModel).toEqual({ 'gpt-4o': 6720 })
  })

  it('a settle whose model has no price charges the held amount, never $0', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const r = await budget.reserve('u', { estimateMicros: 5000 })
    const out = await r.settle({ input_tokens: 10, output_tokens: 10 }, { model: 'mystery-model' })
    expect(out).toMatchObject({ chargedMicros: 5000, priced: false })
    await expect(
      (await budget.reserve('u', { estimateMicros: 1 })).settle({
        input_tokens: 1,
        output_tokens: 1,
      })
    ).rejects.toMatchObject({ field: 'model' })
  })

  it('a reservation lapses after its TTL (store clock); a late settle still charges', async () => {
    const t = clock(1_000_000)
    const store = memoryStore({ now: t.now })
    const budget = createBudget({
      store,
      limits: [{ period: 'rolling', window: '1h', micros: 1000 }],
    })
    const r = await budget.reserve('u', { estimateMicros: 1000, ttl: '30s' })
    expect(r.expiresAt).toBe(1_000_000 + 30_000)
    await expect(budget.reserve('u', { estimateMicros: 1 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
    t.advance(30_000)
    expect((await budget.status('u')).tightest).toMatchObject({
      heldMicros: 0,
      remainingMicros: 1000,
    })
    const late = await r.settle(200)
    expect(late).toMatchObject({ chargedMicros: 200, held: false })
    expect(await r.release()).toBe(false)
  })

  it('release frees the hold; release after settle does nothing', async () => {
    const budget = createBudget({ limits: [{ period: 'day', micros: 100 }] })
    const r = await budget.reserve('u', { estimateMicros: 100 })
    expect(await r.release()).toBe(true)
    const s = await budget.reserve('u', { estimateMicros: 100 })
    await s.settle(10)
    expect(await s.release()).toBe(false)
    expect((await budget.status('u')).tightest).toMatchObject({ spentMicros: 10, heldMicros: 0 })
  })
})

describe('store failures', () => {
  /** A memoryStore whose next `failures` runs reject as an unavailable Redis would. */
  function flaky(): Store & { fail: (n: number) => void } {
    const inner = memoryStore()
    let failures = 0
    return {
      ...inner,
      key: inner.key,
      run(op, keys, input) {
        if (failures > 0) {
          failures--
          return Promise.reject(new StoreUnavailableError('down', { reason: 'connection' }))
        }
        return inner.run(op, keys, input)
      },
      fail(n: number) {
        failures = n
      },
    }
  }

  it('reserve fails closed (503), never open', async () => {
    const store = flaky()
    const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
    store.fail(1)
    await expect(budget.reserve('u', { estimateMicros: 1 })).rejects.toMatchObject({
      status: 503,
      code: 'STORE_UNAVAILABLE',
    })
  })

  it('a settle that failed can be retried; a successful one is final', async () => {
    const store = flaky()
    const budget = createBudget({ store, limits: [{ period: 'day', usd: 1 }] })
    const r = await budget.reserve('u', { estimateMicros: 100 })
    store.fail(1)
    await expect(r.settle(40)).rejects.toBeInstanceOf(StoreUnavailableError)
    const out = await r.settle(40)
    expect(out).toMatchObject({ chargedMicros: 40, held: true })
    expect(await r.settle(99)).toBe(out)
    expect((await budget.status('u')).tightest).toMatchObject({ spentMicros: 40, heldMicros: 0 })
  })
})

describe('periods', () => {
  it('calendar days follow the configured time zone and reset at its midnight', async () => {
    // 2026-11-25 22:30 UTC is already 2026-11-26 in Tokyo (UTC+9).
    const t = clock(Date.UTC(2026, 10, 25, 22, 30))
    const budget = createBudget({
      limits: [{ period: 'day', micros: 100 }],
      timeZone: 'Asia/Tokyo',
      now: t.now,
    })
    const r = await budget.reserve('u', { estimateMicros: 60 })
    await r.settle(60)
    const status = await budget.status('u')
    expect(status.tightest).toMatchObject({ spentMicros: 60, resetAt: Date.UTC(2026, 10, 26, 15) })
    expect((await budget.spend('u')).periodId).toBe('d2026-11-26')
    t.set(Date.UTC(2026, 10, 26, 15)) // Tokyo midnight: a new day
    expect((await budget.status('u')).tightest).toMatchObject({ spentMicros: 0 })
    // The previous day stays readable.
    const previous = await budget.spend('u', { at: Date.UTC(2026, 10, 26, 1) })
    expect(previous).toMatchObject({ periodId: 'd2026-11-26', totalMicros: 60 })
  })

  it('months across a DST change (America/New_York, March 2026)', async () => {
    const t = clock(Date.UTC(2026, 2, 20))
    const budget = createBudget({
      limits: [{ period: 'month', micros: 100 }],
      timeZone: 'America/New_York',
      now: t.now,
    })
    const status = await budget.status('u')
    // April 1st 00:00 EDT = 04:00 UTC (DST began on March 8th).
    expect(status.tightest?.resetAt).toBe(Date.UTC(2026, 3, 1, 4))
    expect((await budget.spend('u', { period: 'month' })).periodId).toBe('m2026-03')
  })

  it('rolling windows forget spend once it leaves the window, never before', async () => {
    const t = clock(10_000_000)
    const store = memoryStore({ now: t.now })
    const budget = createBudget({
      store,
      limits: [{ period: 'rolling', window: '1h', micros: 100 }],
    })
    await (await budget.reserve('u', { estimateMicros: 100 })).settle(100)
    t.advance(3_600_000 - 1)
    await expect(budget.reserve('u', { estimateMicros: 1 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
    t.advance(60_000 + 1) // the bucket (1/60 of the window) has fully left the window
    expect((await budget.status('u')).tightest).toMatchObject({
      spentMicros: 0,
      remainingMicros: 100,
    })
  })
})

describe('options', () => {
  it.each([
    [{ limits: 'x' }, 'limits'],
    [{ limits: [{ period: 'week', usd: 1 }] }, 'limits[0].period'],
    [{ limits: [{ period: 'day' }] }, 'limits[0].usd'],
    [{ limits: [{ period: 'day', usd: -1 }] }, 'limits[0].usd'],
    [{ limits: [{ period: 'day', micros: 1.5 }] }, 'limits[0].micros'],
    [{ limits: [{ period: 'rolling', usd: 1 }] }, 'limits[0].window'],
    [{ limits: [{ period: 'day', usd: 1, window: '1h' }] }, 'limits[0].window'],
    [
      {
        limits: [
          { period: 'day', usd: 1 },
          { period: 'day', usd: 2 },
        ],
      },
      'limits[1]',
    ],
    [{ limits: [], mode: 'strict' }, 'mode'],
    [{ limits: [], timeZone: 'Mars/Olympus' }, 'timeZone'],
    [{ limits: [], reservationTtl: '10 minutes' }, 'reservationTtl'],
    [{ limits: [], warnAt: [0] }, 'warnAt'],
    [{ limits: [], prefix: 'a{b}' }, 'prefix'],
    [{ limits: [], store: {} }, 'store'],
    [{ limits: [], prices: {} }, 'prices'],
    [{ limits: [], retainPeriods: -1 }, 'retainPeriods'],
  ])('%j → InvalidOptionsError(%s)', (options, field) => {
    expect(() => createBudget(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field })
    )
  })

  it('per-call arguments are validated', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    await expect(budget.reserve('', { estimateMicros: 1 })).rejects.toMatchObject({
      field: 'subject',
    })
    await expect(budget.reserve('u', { estimateMicros: -1 })).rejects.toMatchObject({
      field: 'estimateMicros',
    })
    await expect(
      budget.reserve('u', { model: 'gpt-4o', inputTokens: 1 } as never)
    ).rejects.toMatchObject({ field: 'maxOutputTokens' })
    await expect(budget.reserve('u', { estimateMicros: 1, ttl: 0 })).rejects.toMatchObject({
      field: 'ttl',
    })
    await expect(budget.spend('u', { period: 'month' })).rejects.toMatchObject({ field: 'period' })
  })

  it.each(['1hr', '10m', '1H', true, null])(
    'reserve: cacheWrite %j is rejected, not priced as plain input',
    async (cacheWrite) => {
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const estimate = { model: 'claude-sonnet-4-5', inputTokens: 100_000, maxOutputTokens: 10 }
      const bad = { ...estimate, cacheWrite } as never
      const error = await budget.reserve('u', bad).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect(error).toMatchObject({ field: 'cacheWrite' })
      expect((error as Error).message).toMatch(/cacheWrite/)
      const messages = [{ role: 'user', content: 'hi' }]
      await expect(
        budget.reserve('u', {
          model: 'claude-sonnet-4-5',
          messages,
          maxOutputTokens: 1,
          cacheWrite,
        } as never)
      ).rejects.toMatchObject({ field: 'cacheWrite' })
      // Nothing was held; the valid forms still price the writes.
      expect((await budget.status('u')).limits[0]?.heldMicros).toBe(0)
      const ok = await budget.reserve('u', { ...estimate, cacheWrite: '5m' })
      expect(ok.amountMicros).toBe(100_000 * 3.75 + 10 * 15)
    }
  )

  it("reserve: a serviceTier holds the worst case at that tier's rates, as the settle prices the answer", async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const tokens = { inputTokens: 1000, maxOutputTokens: 4000 }
    // gpt-4o priority: 4.25 / 17 USD per million tokens (standard 2.5 / 10).
    const p = await budget.reserve('u', { model: 'gpt-4o', ...tokens, serviceTier: 'priority' })
    expect(p.amountMicros).toBe(1000 * 4.25 + 4000 * 17)
    expect(p.amountMicros).toBe(
      priceOf('gpt-4o', { inputTokens: 1000, outputTokens: 4000, serviceTier: 'priority' })
    )
    // gpt-5 flex: 0.625 / 5 (standard 1.25 / 10); 'standard' is the default rates.
    const f = await budget.reserve('u', { model: 'gpt-5', ...tokens, serviceTier: 'flex' })
    expect(f.amountMicros).toBe(1000 * 0.625 + 4000 * 5)
    const s = await budget.reserve('u', { model: 'gpt-4o', ...tokens, serviceTier: 'standard' })
    expect(s.amountMicros).toBe(1000 * 2.5 + 4000 * 10)
    // From messages too.
    const messages = [{ role: 'user', content: 'Write a haiku about budgets.' }]
    const m = await budget.reserve('u', {
      model: 'gpt-4o',
      messages,
      maxOutputTokens: 100,
      serviceTier: 'priority',
    })
    const n = estimateTokens(messages, 'gpt-4o')
    expect(m.amountMicros).toBe(Math.ceil((n * 4_250_000 + 100 * 17_000_000) / 1_000_000))
    // The settle of that answer at priority rates charges no more than was held.
    const settled = await m.settle({ inputTokens: n, outputTokens: 100, serviceTier: 'priority' })
    expect(settled.chargedMicros).toBe(m.amountMicros)
  })

  it('reserve: fast mode and US-only inference hold the worst case at their multipliers, as the settle prices the answer', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const tokens = { model: 'claude-opus-4-6', inputTokens: 1000, maxOutputTokens: 4000 }
    const plain = priceOf('claude-opus-4-6', { inputTokens: 1000, outputTokens: 4000 })
    const fast = await budget.reserve('u', { ...tokens, speed: 'fast' })
    expect(fast.amountMicros).toBe(
      priceOf('claude-opus-4-6', { inputTokens: 1000, outputTokens: 4000, speed: 'fast' })
    )
    expect(fast.amountMicros).toBeGreaterThanOrEqual(plain * 6)
    const us = await budget.reserve('u', { ...tokens, inferenceGeo: 'us' })
    expect(us.amountMicros).toBe(
      priceOf('claude-opus-4-6', { inputTokens: 1000, outputTokens: 4000, inferenceGeo: 'us' })
    )
    expect(us.amountMicros).toBeGreaterThan(plain)
    // The defaults add nothing.
    const standard = await budget.reserve('u', {
      ...tokens,
      speed: 'standard',
      inferenceGeo: 'global',
    })
    expect(standard.amountMicros).toBe(plain)
    // The settle of a fast answer charges no more than was held.
    const settled = await fast.settle({ inputTokens: 1000, outputTokens: 4000, speed: 'fast' })
    expect(settled.chargedMicros).toBe(fast.amountMicros)
    await expect(budget.reserve('u', { ...tokens, speed: 6 } as never)).rejects.toMatchObject({
      field: 'speed',
    })
    await expect(
      budget.reserve('u', { ...tokens, inferenceGeo: null } as never)
    ).rejects.toMatchObject({ field: 'inferenceGeo' })
  })

  it.each(['default', 'auto', 'Priority', true, null])(
    'reserve: serviceTier %j is rejected, not priced at the standard rates',
    async (serviceTier) => {
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const estimate = { model: 'gpt-4o', inputTokens: 1000, maxOutputTokens: 10, serviceTier }
      const error = await budget.reserve('u', estimate as never).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect(error).toMatchObject({ field: 'serviceTier' })
      expect((error as Error).message).toMatch(/serviceTier/)
      const messages = [{ role: 'user', content: 'hi' }]
      await expect(
        budget.reserve('u', { model: 'gpt-4o', messages, maxOutputTokens: 1, serviceTier } as never)
      ).rejects.toMatchObject({ field: 'serviceTier' })
      expect((await budget.status('u')).limits[0]?.heldMicros).toBe(0)
    }
  )

  it("on(): an unknown event (the typo 'settle' for 'settled') or a non-function listener is rejected", () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    expect(() => budget.on('settle' as 'settled', () => {})).toThrow(InvalidOptionsError)
    expect(() => budget.on('settle' as 'settled', () => {})).toThrow(
      expect.objectContaining({ field: 'event' })
    )
    expect(() => budget.on('settled', 'log' as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'listener' })
    )
    for (const event of ['warning', 'settled', 'rejected'] as const) {
      expect(typeof budget.on(event, () => {})).toBe('function')
    }
  })
})
