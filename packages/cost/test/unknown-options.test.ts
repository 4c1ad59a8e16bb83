/**
 * Option keys the factories do not know are refused with an `InvalidOptionsError` naming the key
 * (with its path) and the option it most likely meant, instead of being ignored while the default
 * applies: a misspelt limit, time zone or price field would silently change what a budget allows or
 * what a call costs. Price entries have a fixed shape, so their misspelt fields are refused too;
 * model names, aliases and billing-mode names stay the user's own. Every documented option is
 * still accepted: the `Required<…>` objects below stop compiling when an option is added to a type,
 * so its key list gets the new name too.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import {
  type BudgetHeadersOptions,
  type BudgetLimitOptions,
  type BudgetOptions,
  budgetHeaders,
  createBudget,
  createPriceTable,
  type LongContextRates,
  type ModelPrice,
  type PriceMultipliers,
  type PriceRates,
  type PriceTableOptions,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** The InvalidOptionsError `fn` throws. */
function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

const limits = [{ period: 'day', usd: 5 }] as const

describe('createBudget refuses unknown option keys', () => {
  it('a misspelt option is named, with the option it meant', () => {
    const error = refusal(() => createBudget({ limits, timezone: 'Europe/Paris' } as never))
    expect(error.field).toBe('timezone')
    expect(error.message).toContain('did you mean `timeZone`')
    expect(refusal(() => createBudget({ limits, reservationTTL: '1m' } as never)).field).toBe(
      'reservationTTL'
    )
  })

  it('an unknown key of a limit is named with its index', () => {
    const error = refusal(() =>
      createBudget({
        limits: [
          { period: 'month', usd: 100 },
          { period: 'day', usd: 5, timeZone: 'Asia/Tokyo' },
        ],
      } as never)
    )
    expect(error.field).toBe('limits[1].timeZone')
    expect(error.message).toContain('known: period, window, usd, micros')
    const hint = refusal(() =>
      createBudget({
        limits: [{ period: 'rolling', window: '1h', usd: 1, windows: '2h' }],
      } as never)
    )
    expect(hint.field).toBe('limits[0].windows')
    expect(hint.message).toContain('did you mean `limits[0].window`')
  })

  it("an unknown key in a limits function's answer is refused at the reservation", async () => {
    const budget = createBudget({
      limits: () => [{ period: 'day', usd: 1, microz: 5 }] as unknown as BudgetLimitOptions[],
    })
    const error = await budget.reserve('u', { estimateMicros: 1 }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('limits(subject)[0].microz')
  })

  it('every documented option (every limit key included) is accepted', async () => {
    // `usd` and `micros` exclude each other: two limits carry the four keys between them.
    const rolling: Required<Omit<BudgetLimitOptions, 'micros'>> = {
      period: 'rolling',
      window: '1h',
      usd: 2,
    }
    const daily: Required<Omit<BudgetLimitOptions, 'usd' | 'window'>> = {
      period: 'day',
      micros: 1_000_000,
    }
    const options: Required<BudgetOptions> = {
      store: memoryStore(),
      limits: [rolling, daily],
      mode: 'soft',
      timeZone: 'Europe/Paris',
      reservationTtl: '5m',
      tombstoneTtl: '5m',
      warnAt: [0.5],
      prices: createPriceTable(),
      prefix: 'every',
      retainPeriods: 1,
      now: Date.now,
    }
    const budget = createBudget(options)
    expect((await budget.status('u')).limits.map((l) => l.period)).toEqual([
      'rolling:3600000',
      'day',
    ])
  })
})

describe('budgetHeaders refuses unknown option keys', () => {
  const budget = createBudget({ limits })

  it('a misspelt option is named, with the option it meant', () => {
    const error = refusal(() => budgetHeaders({ budget, rejct: false } as never))
    expect(error.field).toBe('rejct')
    expect(error.message).toContain('did you mean `reject`')
    expect(refusal(() => budgetHeaders({ budget, subject: () => 'u' } as never)).field).toBe(
      'subject'
    )
  })

  it('every documented option is accepted', () => {
    const options: Required<BudgetHeadersOptions> = {
      budget,
      subjectBy: () => 'u',
      reject: false,
    }
    expect(typeof budgetHeaders(options)).toBe('function')
  })
})

describe('createPriceTable refuses unknown option and price entry keys', () => {
  it('a misspelt table option is named, with the option it meant', () => {
    const error = refusal(() =>
      createPriceTable({ overide: { m: { input: 1, output: 2 } } } as never)
    )
    expect(error.field).toBe('overide')
    expect(error.message).toContain('did you mean `overrides`')
  })

  it('a misspelt price field is named with its entry', () => {
    const error = refusal(() =>
      createPriceTable({ overrides: { 'gpt-4o': { input: 2, output: 8, inputPer1M: 2 } } } as never)
    )
    expect(error.field).toBe('overrides["gpt-4o"].inputPer1M')
    const lc = refusal(() =>
      createPriceTable({
        prices: {
          m: {
            provider: 'custom',
            asOf: '2026-11-25',
            source: 'test',
            input: 1,
            output: 2,
            longcontext: { aboveInputTokens: 1000, input: 2, output: 4 },
          },
        },
      } as never)
    )
    expect(lc.field).toBe('prices["m"].longcontext')
    expect(lc.message).toContain('did you mean `prices["m"].longContext`')
    expect(
      refusal(() =>
        createPriceTable({ fallback: { input: 1, output: 2, cachedRead: 0.1 } } as never)
      ).field
    ).toBe('fallback.cachedRead')
  })

  it("a misspelt field of an entry's tier, long context or multipliers is named under it", () => {
    const entry = (extra: object) => ({ overrides: { m: { input: 1, output: 2, ...extra } } })
    expect(
      refusal(() =>
        createPriceTable(entry({ priority: { input: 2, output: 4, cachedInput: 1 } }) as never)
      ).field
    ).toBe('overrides["m"].priority.cachedInput')
    expect(
      refusal(() => createPriceTable(entry({ flex: { input: 1, outptu: 1 } }) as never)).field
    ).toBe('overrides["m"].flex.outptu')
    const above = refusal(() =>
      createPriceTable(
        entry({ longContext: { aboveInputToken: 1000, input: 2, output: 4 } }) as never
      )
    )
    expect(above.field).toBe('overrides["m"].longContext.aboveInputToken')
    expect(above.message).toContain('did you mean `overrides["m"].longContext.aboveInputTokens`')
    expect(
      refusal(() => createPriceTable(entry({ multipliers: { sped: { fast: 6 } } }) as never)).field
    ).toBe('overrides["m"].multipliers.sped')
  })

  it('extend refuses a misspelt option too', () => {
    const error = refusal(() => createPriceTable().extend({ alias: { x: 'gpt-4o' } } as never))
    expect(error.field).toBe('alias')
    expect(error.message).toContain('did you mean `aliases`')
  })

  it("model names, aliases and billing-mode names are the user's own", () => {
    const table = createPriceTable({
      overrides: {
        'my-fine-tune:v2': {
          input: 1,
          output: 2,
          multipliers: { speed: { turbo: 3 }, inferenceGeo: { 'eu-west': 1.2 } },
        },
      },
      aliases: { 'any name at all': 'my-fine-tune:v2' },
    })
    expect(table.priceOf('any name at all', { inputTokens: 1_000_000, outputTokens: 0 })).toBe(
      1_000_000
    )
  })

  it('every documented option and price field is accepted', () => {
    const rates: Required<PriceRates> = {
      input: 2,
      output: 8,
      cacheWrite5m: 2.5,
      cacheWrite1h: 4,
      cacheRead: 0.2,
    }
    const longContext: Required<LongContextRates> = {
      ...rates,
      input: 4,
      aboveInputTokens: 200_000,
    }
    const multipliers: Required<PriceMultipliers> = {
      speed: { fast: 6 },
      inferenceGeo: { us: 1.1 },
    }
    const entry: Required<ModelPrice> = {
      ...rates,
      provider: 'custom',
      multipliers,
      webSearchPer1k: 10,
      webSearchPreviewPer1k: 25,
      fileSearchPer1k: 2.5,
      codeInterpreterPerContainer: 0.03,
      longContext,
      batchDiscountPercent: 50,
      priority: rates,
      flex: rates,
      asOf: '2026-11-25',
      source: 'test',
    }
    const options: Required<PriceTableOptions> = {
      prices: { every: entry },
      overrides: { every: { input: 3 }, other: entry },
      aliases: { alias: 'every' },
      fallback: entry,
    }
    const table = createPriceTable(options)
    expect(table.resolve('alias')?.key).toBe('every')
    expect(table.extend(options).resolve('other')?.key).toBe('other')
  })
})
