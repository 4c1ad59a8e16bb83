/**
 * One table for every public factory of @aikit/cost and the public functions taking an options
 * object (and the per-call options of a budget: a reservation's estimate, `spend`): an unknown key,
 * at the top and inside each nested option object, and a wrong-typed value of each option, each
 * throw InvalidOptionsError naming the field, when called (a per-call option: the call rejects
 * before anything is held). A valid call of each still works.
 */
import { memoryStore } from '@aikit/core'
import {
  budgetHeaders,
  createBudget,
  createPriceTable,
  createStreamUsage,
  estimateTokens,
  estimateTokensAsync,
  meterStream,
  trimMessages,
} from '@aikit/cost'
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'

const limits = [{ period: 'day' as const, usd: 5 }]
const messages = [{ role: 'user', content: 'Hello there' }]
const model = 'claude-haiku-4-5'
/** An object with a store's `run` only: not a Store (the budget also needs `key`). */
const runOnly = { run: async () => undefined }
const entry = { input: 1, output: 2 }

type Row = readonly [label: string, build: () => unknown, field: string]

const createBudgetRows: Row[] = [
  ['unknown key', () => createBudget({ limits, timezone: 'UTC' } as never), 'timezone'],
  ['options not an object', () => createBudget(5 as never), 'options'],
  ['store: a string', () => createBudget({ limits, store: 'redis' as never }), 'store'],
  ['store: run() only', () => createBudget({ limits, store: runOnly as never }), 'store'],
  ['limits: a string', () => createBudget({ limits: '5/day' as never }), 'limits'],
  ['limits[0]: a number', () => createBudget({ limits: [5] as never }), 'limits[0]'],
  [
    'limits[0] unknown key',
    () => createBudget({ limits: [{ period: 'day', usd: 5, usdd: 1 }] as never }),
    'limits[0].usdd',
  ],
  [
    'limits[0].period: a number',
    () => createBudget({ limits: [{ period: 1 as never, usd: 5 }] }),
    'limits[0].period',
  ],
  [
    'limits[0].usd: a string',
    () => createBudget({ limits: [{ period: 'day', usd: '5' as never }] }),
    'limits[0].usd',
  ],
  [
    'limits[0].micros: a string',
    () => createBudget({ limits: [{ period: 'day', micros: '5' as never }] }),
    'limits[0].micros',
  ],
  [
    'limits[0].window: a boolean',
    () => createBudget({ limits: [{ period: 'rolling', window: true as never, usd: 5 }] }),
    'limits[0].window',
  ],
  ['mode: a boolean', () => createBudget({ limits, mode: true as never }), 'mode'],
  ['timeZone: a number', () => createBudget({ limits, timeZone: 1 as never }), 'timeZone'],
  [
    'reservationTtl: a boolean',
    () => createBudget({ limits, reservationTtl: true as never }),
    'reservationTtl',
  ],
  [
    'tombstoneTtl: a boolean',
    () => createBudget({ limits, tombstoneTtl: true as never }),
    'tombstoneTtl',
  ],
  ['warnAt: a number', () => createBudget({ limits, warnAt: 0.8 as never }), 'warnAt'],
  ['prices: a string', () => createBudget({ limits, prices: 'default' as never }), 'prices'],
  ['prefix: a number', () => createBudget({ limits, prefix: 1 as never }), 'prefix'],
  [
    'retainPeriods: a string',
    () => createBudget({ limits, retainPeriods: '2' as never }),
    'retainPeriods',
  ],
  ['now: a number', () => createBudget({ limits, now: 1 as never }), 'now'],
]

const budgetHeadersRows: Row[] = [
  [
    'unknown key',
    () => budgetHeaders({ budget: createBudget({ limits }), rejct: true } as never),
    'rejct',
  ],
  ['budget: an object', () => budgetHeaders({ budget: {} as never }), 'budget'],
  [
    'subjectBy: a string',
    () => budgetHeaders({ budget: createBudget({ limits }), subjectBy: 'user' as never }),
    'subjectBy',
  ],
  [
    'reject: a string',
    () => budgetHeaders({ budget: createBudget({ limits }), reject: 'yes' as never }),
    'reject',
  ],
]

const createPriceTableRows: Row[] = [
  ['unknown key', () => createPriceTable({ alias: {} } as never), 'alias'],
  ['prices: a string', () => createPriceTable({ prices: 'x' as never }), 'prices'],
  ['prices: an array', () => createPriceTable({ prices: [entry] as never }), 'prices'],
  [
    'prices entry unknown key',
    () => createPriceTable({ prices: { m: { ...entry, inputs: 1 } as never } }),
    'prices["m"].inputs',
  ],
  [
    'prices entry input: a string',
    () => createPriceTable({ prices: { m: { input: '1', output: 2 } as never } }),
    'prices["m"].input',
  ],
  ['overrides: a number', () => createPriceTable({ overrides: 5 as never }), 'overrides'],
  [
    'overrides entry: a string',
    () => createPriceTable({ overrides: { m: 'cheap' as never } }),
    'overrides["m"]',
  ],
  ['aliases: a number', () => createPriceTable({ aliases: 5 as never }), 'aliases'],
  ['aliases: a string', () => createPriceTable({ aliases: 'gpt' as never }), 'aliases'],
  [
    'aliases entry: a number',
    () => createPriceTable({ aliases: { mine: 5 as never } }),
    'aliases["mine"]',
  ],
  ['fallback: a number', () => createPriceTable({ fallback: 5 as never }), 'fallback'],
  [
    'fallback entry unknown key',
    () => createPriceTable({ fallback: { ...entry, outptu: 1 } as never }),
    'fallback.outptu',
  ],
  ['extend: unknown key', () => createPriceTable().extend({ overide: {} } as never), 'overide'],
  ['extend: aliases a number', () => createPriceTable().extend({ aliases: 5 as never }), 'aliases'],
]

const createStreamUsageRows: Row[] = [
  ['api: unknown', () => createStreamUsage('gemini' as never), 'api'],
  ['unknown key', () => createStreamUsage('anthropic', { modle: model } as never), 'modle'],
  ['options: a string', () => createStreamUsage('anthropic', model as never), 'options'],
  ['model: a number', () => createStreamUsage('anthropic', { model: 5 as never }), 'model'],
  [
    'inputTokens: a string',
    () => createStreamUsage('anthropic', { inputTokens: '100' as never }),
    'inputTokens',
  ],
  [
    'inputTokens: negative',
    () => createStreamUsage('anthropic', { inputTokens: -1 }),
    'inputTokens',
  ],
]

async function* events(): AsyncGenerator<unknown> {
  yield { type: 'message_stop' }
}
const onDone = () => undefined

const meterStreamRows: Row[] = [
  ['options: missing', () => meterStream(events(), undefined as never), 'options'],
  [
    'unknown key',
    () => meterStream(events(), { api: 'anthropic', onDone, hide: true } as never),
    'hide',
  ],
  ['api: unknown', () => meterStream(events(), { api: 'gemini' as never, onDone }), 'api'],
  ['onDone: missing', () => meterStream(events(), { api: 'anthropic' } as never), 'onDone'],
  [
    'onDone: a string',
    () => meterStream(events(), { api: 'anthropic', onDone: 'log' as never }),
    'onDone',
  ],
  [
    'hideUsageChunk: a string',
    () => meterStream(events(), { api: 'openai-chat', onDone, hideUsageChunk: 'yes' as never }),
    'hideUsageChunk',
  ],
  [
    'model: a number',
    () => meterStream(events(), { api: 'anthropic', onDone, model: 5 as never }),
    'model',
  ],
  [
    'inputTokens: a string',
    () => meterStream(events(), { api: 'anthropic', onDone, inputTokens: '5' as never }),
    'inputTokens',
  ],
  ['stream: not iterable', () => meterStream(5 as never, { api: 'anthropic', onDone }), 'stream'],
]

const estimateRows: Row[] = [
  [
    'estimateTokens: unknown key',
    () => estimateTokens(messages, model, { tool: [] } as never),
    'tool',
  ],
  [
    'estimateTokens: options a string',
    () => estimateTokens(messages, model, 'x' as never),
    'options',
  ],
  [
    'estimateTokens: tools a string',
    () => estimateTokens(messages, model, { tools: 'search' as never }),
    'tools',
  ],
  [
    'trimMessages: unknown key',
    () => trimMessages(messages, { maxTokens: 100, model, sytem: 'x' } as never),
    'sytem',
  ],
  [
    'trimMessages: maxTokens a string',
    () => trimMessages(messages, { maxTokens: '100' as never, model }),
    'maxTokens',
  ],
  [
    'trimMessages: model a number',
    () => trimMessages(messages, { maxTokens: 100, model: 5 as never }),
    'model',
  ],
  [
    'trimMessages: tools a string',
    () => trimMessages(messages, { maxTokens: 100, model, tools: 'x' as never }),
    'tools',
  ],
]

for (const [name, rows] of [
  ['createBudget', createBudgetRows],
  ['budgetHeaders', budgetHeadersRows],
  ['createPriceTable', createPriceTableRows],
  ['createStreamUsage', createStreamUsageRows],
  ['meterStream (at the call, not at the first read)', meterStreamRows],
  ['estimateTokens / trimMessages', estimateRows],
] as const) {
  describe(`${name} names an unknown key and each wrong-typed option`, () => {
    it.each(rows)('%s', (_label, build, field) => {
      expect(invalidField(build)).toBe(field)
    })
  })
}

describe('estimateTokensAsync names them too (rejects)', () => {
  const rows: Array<readonly [label: string, options: unknown, field: string]> = [
    ['unknown key', { antropic: {} }, 'antropic'],
    ['anthropic: an object without countTokens, any model', { anthropic: {} }, 'anthropic'],
    ['tools: a string', { tools: 'x' }, 'tools'],
  ]
  it.each(rows)('%s', async (_label, options, field) => {
    await expect(
      estimateTokensAsync(messages, 'gpt-4o-mini', options as never)
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', field })
  })
})

describe("a budget's per-call options: named before anything is held", () => {
  const rows: Array<readonly [label: string, estimate: unknown, field: string]> = [
    [
      'estimate unknown key',
      { model, inputTokens: 10, maxOutputTokens: 10, cachewrite: '1h' },
      'cachewrite',
    ],
    [
      'estimate (messages form) unknown key',
      { model, messages, maxOutputTokens: 10, tool: [{ name: 't' }] },
      'tool',
    ],
    ['estimate (amount form) unknown key', { estimateMicros: 10, modle: model }, 'modle'],
    ['estimate ttl: a boolean', { model, inputTokens: 10, maxOutputTokens: 10, ttl: true }, 'ttl'],
    [
      'estimate tools: a string',
      { model, messages, maxOutputTokens: 10, tools: 'search' },
      'tools',
    ],
  ]
  it.each(rows)('%s', async (_label, estimate, field) => {
    const budget = createBudget({ store: memoryStore(), limits })
    await expect(budget.reserve('u1', estimate as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field,
    })
    expect((await budget.status('u1')).tightest?.heldMicros).toBe(0)
  })

  it.each([
    ['spend unknown key', { perod: 'day' }, 'perod'],
    ['spend period: a number', { period: 1 }, 'period'],
    ['spend options: a string', 'day', 'options'],
  ] as const)('%s', async (_label, options, field) => {
    const budget = createBudget({ store: memoryStore(), limits })
    await expect(budget.spend('u1', options as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field,
    })
  })
})

describe('valid calls still work', () => {
  it('each factory and function, with every option of the right type', async () => {
    const budget = createBudget({
      store: memoryStore(),
      limits: [{ period: 'rolling', window: '1h', usd: 5 }],
      mode: 'soft',
      timeZone: 'Europe/Paris',
      reservationTtl: '10m',
      tombstoneTtl: 60_000,
      warnAt: [0.5],
      prices: createPriceTable({ aliases: { mine: 'claude-haiku-4-5' } }),
      prefix: 'ok',
      retainPeriods: 1,
      now: Date.now,
    })
    const r = await budget.reserve('u1', {
      model,
      messages,
      system: 'Be brief',
      tools: [],
      maxOutputTokens: 10,
      cacheWrite: '5m',
      serviceTier: 'standard',
      speed: 'standard',
      inferenceGeo: 'global',
      ttl: '1m',
    })
    await r.release()
    await (await budget.reserve('u1', { estimateMicros: 10, model, ttl: 1000 })).release()
    await (
      await budget.reserve('u1', { model, inputTokens: 5, maxOutputTokens: 5, ttl: 1000 })
    ).release()
    expect((await budget.spend('u1', { period: 'rolling', at: new Date() })).totalMicros).toBe(0)
    expect(typeof budgetHeaders({ budget, subjectBy: () => 'u1', reject: false })).toBe('function')
    expect(createPriceTable({ fallback: 'claude-haiku-4-5' }).extend({ aliases: {} })).toBeDefined()
    const usage = createStreamUsage('openai-chat', { model: 'gpt-4o-mini', inputTokens: 10 })
    expect(usage.result().model).toBe('gpt-4o-mini')
    expect(createStreamUsage('openai-responses').result().usage.outputTokens).toBe(0)
    let done = false
    for await (const _ of meterStream(events(), {
      api: 'anthropic',
      model,
      inputTokens: 5,
      hideUsageChunk: false,
      onDone: () => {
        done = true
      },
    })) {
      // consumed
    }
    expect(done).toBe(true)
    expect(estimateTokens(messages, model, { system: 'x', tools: [] })).toBeGreaterThan(0)
    expect(trimMessages(messages, { maxTokens: 1000, model, system: 'x', tools: [] })).toHaveLength(
      1
    )
    expect(await estimateTokensAsync(messages, model, { system: 'x' })).toBeGreaterThan(0)
  })
})

describe('extend layers every option it is given', () => {
  it('prices given to extend add entries (they were dropped before)', () => {
    const table = createPriceTable().extend({
      prices: {
        mine: { provider: 'custom', input: 1, output: 2, asOf: '2026-11-27', source: 'test' },
      },
    })
    expect(table.resolve('mine')?.key).toBe('mine')
    expect(table.resolve('claude-haiku-4-5')?.key).toBe('claude-haiku-4-5')
  })
})
