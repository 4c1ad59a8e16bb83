/**
 * Two per-instance lookup caches keep only keys up to 256 characters: a price table's model-name
 * cache (a request's `model` is the client's, looked up while reserving, before the provider
 * refuses an unknown one) and a budget's per-subject key cache (a subject may be an API key or a
 * header; the store keys hold a long one as a digest). Each held up to 1,000 / 10,000 keys of any
 * length: megabytes pinned per instance. A longer name or subject is resolved each time, to the
 * same result.
 */
import { createBudget, createPriceTable } from '@aikit/cost'
import { heapAfterGc } from '@aikit/testing/heap'
import { describe, expect, it } from 'vitest'

/** A fresh 64 KiB string (parsed, as a request body's field is: not a slice of a shared one). */
const longText = (char: string, i: number): string =>
  JSON.parse(`"${char.repeat(65_536)}${i}"`) as string

describe('price table: the model-name cache is bounded in name length', () => {
  it('looking up long unknown model names keeps no copy of them', () => {
    const table = createPriceTable()
    const before = heapAfterGc()
    // 300 requests naming a made-up 64 KiB model: ~19 MB if each name were kept.
    for (let i = 0; i < 300; i++) table.resolve(longText('m', i))
    expect(heapAfterGc() - before).toBeLessThan(5 * 1024 * 1024)
  })

  it('a long name still resolves every time (alias, provider prefix), as a short one does', () => {
    const long = 'x'.repeat(300)
    const table = createPriceTable({ aliases: { [long]: 'gpt-4o' } })
    for (let i = 0; i < 3; i++) {
      expect(table.resolve(long)?.key).toBe('gpt-4o')
      expect(table.resolve(`openai/${long}`)?.key).toBe('gpt-4o')
      expect(table.resolve(`${long}y`)).toBeUndefined()
    }
    expect(table.priceOf(long, { inputTokens: 1_000_000, outputTokens: 0 })).toBe(
      table.priceOf('gpt-4o', { inputTokens: 1_000_000, outputTokens: 0 })
    )
  })
})

describe('budget: the per-subject key cache is bounded in subject length', () => {
  it('reserving for long subjects keeps no copy of them', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const before = heapAfterGc()
    // 300 subjects of 64 KiB: ~19 MB if each were kept.
    for (let i = 0; i < 300; i++) {
      const r = await budget.reserve(longText('s', i), {
        model: 'gpt-4o',
        inputTokens: 10,
        maxOutputTokens: 10,
      })
      await r.release()
    }
    expect(heapAfterGc() - before).toBeLessThan(5 * 1024 * 1024)
  })

  it('a long subject keeps one ledger across reserves, between other subjects', async () => {
    const budget = createBudget({ limits: [{ period: 'day', micros: 1_000 }] })
    const long = 'k'.repeat(1_000)
    for (let i = 0; i < 3; i++) {
      const r = await budget.reserve(long, { estimateMicros: 100 })
      await r.settle(100)
      // Another subject in between: the long one's keys are built again, the same.
      await (await budget.reserve('other', { estimateMicros: 1 })).release()
    }
    const status = await budget.status(long)
    expect(status.limits[0]).toMatchObject({ spentMicros: 300, remainingMicros: 700 })
    expect((await budget.status('other')).limits[0]?.spentMicros).toBe(0)
  })
})
