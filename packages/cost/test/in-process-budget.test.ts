/**
 * The budget on a store whose ops complete in-process (memoryStore): reserve and settle run
 * without an async step, and their outcomes are the same as through a store answering with
 * promises (the same memory store behind a wrapper that drops `run.sync`).
 */
import { memoryStore, type Store } from '@aikit/core'
import {
  type BudgetEvents,
  createBudget,
  createPriceTable,
  estimateTokens,
  type SettleOutcome,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const T0 = Date.UTC(2026, 10, 26, 12)

/** The same memory store seen through a `run` of its own (no `run.sync`: the async path). */
function withoutSync(store: Store): Store {
  return { ...store, run: (op, keys, input) => store.run(op, keys, input) }
}

/** Two budgets on two fresh stores with the same clock: the in-process path and the async one. */
function pair() {
  const inProcess = createBudget({
    store: memoryStore({ now: () => T0 }),
    now: () => T0,
    limits: [{ period: 'day', usd: 1 }],
  })
  const async = createBudget({
    store: withoutSync(memoryStore({ now: () => T0 })),
    now: () => T0,
    limits: [{ period: 'day', usd: 1 }],
  })
  return [inProcess, async] as const
}

const usage = { input_tokens: 1000, output_tokens: 200 }

describe('in-process budget (memoryStore)', () => {
  it('reserve and settle give the same outcomes as through a store answering with promises', async () => {
    const outcomes: unknown[][] = [[], []]
    for (const [i, budget] of pair().entries()) {
      const out = outcomes[i] as unknown[]
      const r = await budget.reserve('u', {
        model: 'claude-haiku-4-5',
        messages: [{ role: 'user', content: 'hello there' }],
        maxOutputTokens: 500,
      })
      out.push(r.amountMicros, r.status)
      const settled = await r.settle(usage, { model: 'claude-haiku-4-5' })
      out.push(JSON.parse(JSON.stringify(settled)))
      out.push(JSON.parse(JSON.stringify(await r.settle(1))))
      const restored = budget.restore(r.toJSON())
      out.push(JSON.parse(JSON.stringify(await restored.settle(usage))))
      out.push(await budget.spend('u'))
    }
    expect(outcomes[0]).toEqual(outcomes[1])
    // Priced from the usage ($1/MTok in, $5/MTok out), a duplicate from the restored handle.
    expect(outcomes[0]?.[2]).toMatchObject({ chargedMicros: 2000, held: true, duplicate: false })
    expect(outcomes[0]?.[4]).toMatchObject({ chargedMicros: 0, duplicate: true })
  })

  it("a settle outcome's status is the budget right after the settle, and is in its JSON", async () => {
    const [budget] = pair()
    const a = await budget.reserve('u', { estimateMicros: 300 })
    const b = await budget.reserve('u', { estimateMicros: 200 })
    const out = await a.settle(100)
    // Read after another settle: still the state right after `a`'s.
    await b.settle(50)
    const expected = {
      period: 'day',
      limitMicros: 1_000_000,
      spentMicros: 100,
      heldMicros: 200,
      remainingMicros: 999_700,
    }
    expect(out.status.tightest).toMatchObject(expected)
    expect(out.status).toBe(out.status)
    const json = JSON.parse(JSON.stringify(out)) as SettleOutcome
    expect(json).toMatchObject({ chargedMicros: 100, priced: true, held: true, duplicate: false })
    expect(json.status.tightest).toMatchObject(expected)
  })

  it('a settle that throws (a bad usage) is a rejection that is not remembered', async () => {
    const [budget] = pair()
    const r = await budget.reserve('u', {
      model: 'claude-haiku-4-5',
      inputTokens: 10,
      maxOutputTokens: 10,
    })
    await expect(r.settle({ inputTokens: -1, outputTokens: 2 })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    })
    const out = await r.settle(7)
    expect(out).toMatchObject({ chargedMicros: 7, held: true })
    expect(await r.settle(9)).toBe(out)
    expect(await r.release()).toBe(false)
  })

  it('reserve errors are rejections, never throws', async () => {
    const [budget] = pair()
    const bad = budget.reserve('', { estimateMicros: 1 })
    await expect(bad).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
    const over = budget.reserve('u', { estimateMicros: 2_000_000 })
    await expect(over).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 })
  })

  it("'settled' and 'warning' are emitted to listeners added at any time", async () => {
    const [budget] = pair()
    const settled: BudgetEvents['settled'][] = []
    const warnings: number[] = []
    await (await budget.reserve('u', { estimateMicros: 10 })).settle(10)
    const off = budget.on('settled', (e) => settled.push(e))
    budget.on('warning', (e) => warnings.push(e.threshold))
    await (await budget.reserve('u', { estimateMicros: 100 })).settle(850_000)
    off()
    await (await budget.reserve('u', { estimateMicros: 10 })).settle(10)
    expect(settled).toEqual([
      { subject: 'u', model: 'unknown', chargedMicros: 850_000, priced: true },
    ])
    expect(warnings).toEqual([0.8])
  })

  it('reserves alternating between subjects hold against each subject', async () => {
    const [budget] = pair()
    for (let i = 0; i < 3; i++) {
      for (const subject of ['a', 'b', 'a', 'c']) {
        await (await budget.reserve(subject, { estimateMicros: 10 })).settle(10)
      }
    }
    expect((await budget.spend('a')).totalMicros).toBe(60)
    expect((await budget.spend('b')).totalMicros).toBe(30)
    expect((await budget.spend('c')).totalMicros).toBe(30)
  })
})

describe('token estimate of a plain text message', () => {
  it('is the estimate of the same text as a text block, for both counters', () => {
    const text = 'Summarise this: {"a": [1, 2, 3]} — déjà vu 日本語 🎉'
    for (const model of ['claude-haiku-4-5', 'gpt-4o']) {
      expect(estimateTokens([{ role: 'user', content: text }], model)).toBe(
        estimateTokens([{ role: 'user', content: [{ type: 'text', text }] }], model)
      )
    }
  })

  it("still counts a message's name and tool calls beside a plain text", () => {
    const plain = estimateTokens([{ role: 'user', content: 'hello' }], 'gpt-4o')
    expect(estimateTokens([{ role: 'user', content: 'hello', name: 'alice' }], 'gpt-4o')).toBe(
      estimateTokens([{ role: 'user', content: 'hello\nalice' }], 'gpt-4o')
    )
    const call = { id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } }
    expect(
      estimateTokens([{ role: 'assistant', content: 'hello', tool_calls: [call] }], 'gpt-4o')
    ).toBeGreaterThan(plain)
  })
})

describe('budget events', () => {
  it('a warning listener removed hears nothing; added again, it hears the next crossing', async () => {
    const [budget] = pair()
    const heard: number[] = []
    const off = budget.on('warning', (e) => heard.push(e.threshold))
    off()
    off()
    await (await budget.reserve('u', { estimateMicros: 10 })).settle(850_000)
    budget.on('warning', (e) => heard.push(e.threshold))
    await budget.reserve('u', { estimateMicros: 150_000 })
    expect(heard).toEqual([1])
  })
})

describe('pricing a Usage', () => {
  const table = createPriceTable()

  it('prices a valid Usage as its normalised copy, models alternating', () => {
    const u = { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 50 }
    const raw = { input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 50 }
    for (let i = 0; i < 2; i++) {
      for (const model of ['claude-haiku-4-5', 'gpt-4o', 'claude-haiku-4-5']) {
        expect(table.priceOf(model, u)).toBe(table.priceOf(model, raw))
      }
    }
    expect(table.priceOf('claude-haiku-4-5', u)).toBe(1000 + 500 + 5)
    expect(table.priceOf('gpt-4o', { ...u, serviceTier: 'batch' })).toBe(
      Math.ceil((1000 * 2.5 + 100 * 10 + 50 * 1.25) / 2)
    )
  })

  it('rejects the bad fields of a Usage as before (negative, fractional, bad tier)', () => {
    for (const [field, bad] of [
      ['inputTokens', -1],
      ['outputTokens', 1.5],
      ['cacheReadTokens', '3'],
      ['cacheWrite5mTokens', -2],
    ] as const) {
      expect(() =>
        table.priceOf('gpt-4o', { inputTokens: 1, outputTokens: 1, [field]: bad })
      ).toThrow(expect.objectContaining({ field: `usage.${field}` }))
    }
    expect(() =>
      table.priceOf('gpt-4o', { inputTokens: 1, outputTokens: 1, serviceTier: 'default' })
    ).toThrow(expect.objectContaining({ field: 'usage.serviceTier' }))
    // Absent and null counts read as 0, as before.
    expect(table.priceOf('gpt-4o', { inputTokens: 1000, outputTokens: null })).toBe(2500)
    expect(table.priceOf('gpt-4o', { inputTokens: 1000 })).toBe(2500)
  })

  it('an unknown model after a known one is still unknown (and counted each time)', () => {
    const t = createPriceTable()
    t.priceOf('gpt-4o', { inputTokens: 1, outputTokens: 1 })
    expect(() => t.priceOf('no-such-model', { inputTokens: 1, outputTokens: 1 })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_MODEL' })
    )
    expect(() => t.priceOf('no-such-model', { inputTokens: 1, outputTokens: 1 })).toThrow()
    expect(t.unknownModels).toBe(2)
  })
})
