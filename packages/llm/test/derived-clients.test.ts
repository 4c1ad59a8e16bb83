// Clients and routes reached from a wrapped client go through the kit as its own methods do:
// `withOptions(...)` (both SDKs) returns a client wrapped with the same cache, budget, guard and
// metrics, and the beta routes (Anthropic `beta.messages.create` and its helpers, OpenAI
// `beta.responses.create`) are cached, charged and refused like the plain ones, under keys of
// their own: a beta answer is never served to a plain call with the same params, nor the other
// way round (the SDK sends a beta request as another request: OpenAI to `?beta=true`, Anthropic
// with its `beta` qualifier, which the client's middleware acts on). Real SDKs against the fake
// provider.
import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache, recorders, until } from './helpers.js'
import {
  ask,
  messagesOf,
  OPENAI_APIS,
  OPENAI_MODEL,
  PATH,
  responsesParams,
} from './openai-calls.js'
import { OPENAI_SDKS } from './openai-sdks.js'

const MODEL = 'claude-haiku-4-5'
const BETA = 'some-beta-2025-01-01'
const MESSAGES = '/v1/messages'

/** Deterministic (cached without `cacheSampling`) Anthropic params. */
const params = (text: string) => ({
  model: MODEL,
  max_tokens: 100,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

/** A budget that holds exactly one call's worst case (its input + 100 output tokens). */
async function budgetForOne(model: string, text: string) {
  const probe = createBudget({ limits: [{ period: 'day', usd: 1 }] })
  const hold = await probe.reserve('p', { model, messages: messagesOf(text), maxOutputTokens: 100 })
  return createBudget({ limits: [{ period: 'day', micros: hold.amountMicros }] })
}

describe('Anthropic', () => {
  let fake: FakeProvider
  let raw: Anthropic
  /**
   * The route of every request the client sent: `beta` for the SDK's beta route (its `beta`
   * qualifier, which the client's middleware sees), else `plain`.
   */
  const routes: string[] = []

  beforeAll(async () => {
    fake = await startFakeProvider()
    raw = new Anthropic({
      apiKey: 'test-key',
      baseURL: fake.anthropicBaseURL,
      maxRetries: 0,
      middleware: [
        (request, next, ctx) => {
          const qualifiers = (ctx.options as { __qualifiers?: Record<string, string> }).__qualifiers
          routes.push(qualifiers?.beta === 'true' ? 'beta' : 'plain')
          return next(request)
        },
      ],
    })
  })
  afterAll(() => fake.close())
  beforeEach(() => {
    fake.reset()
    routes.length = 0
  })

  describe('withOptions(...)', () => {
    it('returns a wrapped client: its calls are cached (in the parent’s cache), charged and recorded', async () => {
      const cache = mapCache()
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const { metrics } = recorders()
      const client = wrapAnthropic(raw, { cache, budget, metrics, subject: 'u1' })
      const derived = client.withOptions({ timeout: 5000 })
      // The SDK's own copy, with the new setting.
      expect(derived.timeout).toBe(5000)
      expect(derived).toBeInstanceOf(Anthropic)

      const first = await derived.messages.create(params('derived'))
      expect(fake.count(MESSAGES)).toBe(1)
      const charged = priceOf(MODEL, first.usage as unknown as Record<string, unknown>)
      expect(charged).toBeGreaterThan(0)
      expect((await budget.spend('u1')).totalMicros).toBe(charged)
      expect(metrics.calls).toHaveLength(1)

      // A second call through it, through another copy, through a copy of a copy and through
      // the parent: all the same request (a `timeout` changes nothing of it), all hits.
      expect(await derived.messages.create(params('derived'))).toEqual(first)
      expect(
        await client.withOptions({ timeout: 9000 }).messages.create(params('derived'))
      ).toEqual(first)
      expect(
        await derived.withOptions({ maxRetries: 1 }).messages.create(params('derived'))
      ).toEqual(first)
      expect(await client.messages.create(params('derived'))).toEqual(first)
      expect(fake.count(MESSAGES)).toBe(1)
      expect((await budget.spend('u1')).totalMicros).toBe(charged)
      expect(metrics.cache).toEqual(['miss', 'hit', 'hit', 'hit', 'hit'])
      expect(cache.sets).toBe(1)
    })

    it('streams and the messages.stream() helper of a derived client go through the kit', async () => {
      const cache = mapCache()
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const derived = wrapAnthropic(raw, { cache, budget, subject: 'u2' }).withOptions({
        timeout: 5000,
      })
      const first = await derived.messages.stream(params('helper')).finalMessage()
      await until(() => cache.sets === 1)
      const charged = priceOf(MODEL, first.usage as unknown as Record<string, unknown>)
      expect((await budget.spend('u2')).totalMicros).toBe(charged)
      const second = await derived.messages.stream(params('helper')).finalMessage()
      expect(second).toEqual(first)
      expect(fake.count(MESSAGES)).toBe(1)
      expect((await budget.spend('u2')).totalMicros).toBe(charged)
    })

    it('refuses a derived client’s call with BUDGET_EXCEEDED past the limit, before any provider call', async () => {
      const budget = await budgetForOne(MODEL, 'over')
      const derived = wrapAnthropic(raw, { budget, subject: 'u3' }).withOptions({ timeout: 5000 })
      await derived.messages.create(params('over'))
      expect(fake.count(MESSAGES)).toBe(1)
      await expect(derived.messages.create(params('over'))).rejects.toMatchObject({
        code: 'BUDGET_EXCEEDED',
        status: 402,
      })
      await expect(
        derived.beta.messages.create({ ...params('over'), betas: [BETA] })
      ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
      expect(fake.count(MESSAGES)).toBe(1)
    })

    it('a copy with other default headers or another base URL is another client: its own cache entries', async () => {
      const cache = mapCache()
      const client = wrapAnthropic(raw, { cache, subject: 'u4' })
      await client.messages.create(params('settings'))
      await client
        .withOptions({ defaultHeaders: { 'anthropic-beta': BETA } })
        .messages.create(params('settings'))
      expect(fake.count(MESSAGES)).toBe(2)
      expect(fake.calls[1]?.headers['anthropic-beta']).toBe(BETA)
      await client
        .withOptions({ baseURL: `${fake.anthropicBaseURL}/` })
        .messages.create(params('settings'))
      expect(fake.count(MESSAGES)).toBe(3)
      // Each is cached under its own entry.
      await client
        .withOptions({ defaultHeaders: { 'anthropic-beta': BETA } })
        .messages.create(params('settings'))
      await client.messages.create(params('settings'))
      expect(fake.count(MESSAGES)).toBe(3)
      expect(cache.sets).toBe(3)
    })

    it('identical concurrent calls through a client and its copies make one provider call; a copy with other headers makes its own', async () => {
      const { metrics } = recorders()
      const client = wrapAnthropic(raw, { metrics })
      const copies = [
        client,
        client.withOptions({ timeout: 5000 }),
        client.withOptions({ maxRetries: 1 }).withOptions({ timeout: 9000 }),
      ]
      const answers = await Promise.all(copies.map((c) => c.messages.create(params('together'))))
      expect(fake.count(MESSAGES)).toBe(1)
      for (const answer of answers) expect(answer).toEqual(answers[0])
      expect(metrics.cache).toEqual(['coalesced', 'coalesced'])

      // Streams too: every copy's caller reads the whole of the one stream.
      const texts = await Promise.all(
        copies.map((c) => c.messages.stream(params('streamed together')).finalText())
      )
      expect(fake.count(MESSAGES)).toBe(2)
      expect(new Set(texts).size).toBe(1)
      expect(texts[0]).toContain('streamed together')

      // Another identity (default headers) never joins the parent's call.
      const tenant = client.withOptions({ defaultHeaders: { 'anthropic-beta': BETA } })
      await Promise.all([
        client.messages.create(params('apart')),
        tenant.messages.create(params('apart')),
      ])
      expect(fake.count(MESSAGES)).toBe(4)
    })

    it('the same guard checks a derived client’s calls', async () => {
      const checked: unknown[] = []
      const guard = {
        checkInput: async (input: unknown) => {
          checked.push(input)
          return { allowed: false, blockedBy: ['test'], text: '' }
        },
        checkOutput: async () => ({ allowed: true, blockedBy: [] }),
      }
      const derived = wrapAnthropic(raw, { guard }).withOptions({ timeout: 5000 })
      await expect(derived.messages.create(params('blocked'))).rejects.toMatchObject({
        code: 'PROMPT_INJECTION',
      })
      await expect(
        derived.beta.messages.create({ ...params('blocked'), betas: [BETA] })
      ).rejects.toMatchObject({ code: 'PROMPT_INJECTION' })
      expect(checked).toHaveLength(2)
      expect(fake.count()).toBe(0)
    })
  })

  describe('beta.messages', () => {
    it('create(): sent to the beta route with its betas header; cached, charged, recorded', async () => {
      const cache = mapCache()
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const { metrics, logger } = recorders()
      const client = wrapAnthropic(raw, { cache, budget, metrics, logger, subject: 'b1' })
      const first = await client.beta.messages.create({ ...params('beta'), betas: [BETA] })
      expect(first.content[0]).toMatchObject({ type: 'text', text: 'Echo: beta' })
      expect(routes).toEqual(['beta'])
      expect(fake.calls[0]?.headers['anthropic-beta']).toBe(BETA)
      const charged = priceOf(MODEL, first.usage as unknown as Record<string, unknown>)
      expect(charged).toBeGreaterThan(0)
      expect((await budget.spend('b1')).totalMicros).toBe(charged)

      const second = await client.beta.messages.create({ ...params('beta'), betas: [BETA] })
      expect(second).toEqual(first)
      expect(fake.count(MESSAGES)).toBe(1)
      expect((await budget.spend('b1')).totalMicros).toBe(charged)
      expect(metrics.cache).toEqual(['miss', 'hit'])
      expect(logger.lines.map((l) => l.method)).toEqual([
        'beta.messages.create',
        'beta.messages.create',
      ])

      // Other betas: another request.
      await client.beta.messages.create({ ...params('beta'), betas: ['other-2025-02-02'] })
      expect(fake.count(MESSAGES)).toBe(2)
    })

    it('create({ stream: true }) and the stream() helper: cached, charged', async () => {
      const cache = mapCache()
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const client = wrapAnthropic(raw, { cache, budget, subject: 'b2' })
      const read = async () => {
        const events: unknown[] = []
        const stream = await client.beta.messages.create({
          ...params('beta stream'),
          betas: [BETA],
          stream: true,
        })
        for await (const event of stream) events.push(event)
        return events
      }
      const live = await read()
      await until(() => cache.sets === 1)
      expect(routes).toEqual(['beta'])
      const spent = (await budget.spend('b2')).totalMicros
      expect(spent).toBeGreaterThan(0)
      expect(await read()).toEqual(live)
      expect(fake.count(MESSAGES)).toBe(1)

      const helper = await client.beta.messages
        .stream({ ...params('beta helper'), betas: [BETA] })
        .finalMessage()
      await until(() => cache.sets === 2)
      const charged = priceOf(MODEL, helper.usage as unknown as Record<string, unknown>)
      expect((await budget.spend('b2')).totalMicros).toBe(spent + charged)
      const again = await client.beta.messages
        .stream({ ...params('beta helper'), betas: [BETA] })
        .finalMessage()
      expect(again).toEqual(helper)
      expect(fake.count(MESSAGES)).toBe(2)
      expect((await budget.spend('b2')).totalMicros).toBe(spent + charged)
    })

    it('parse(): cached (its structured-outputs header is part of the key), charged once', async () => {
      const cache = mapCache()
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const client = wrapAnthropic(raw, { cache, budget, subject: 'b-parse' })
      const first = await client.beta.messages.parse({ ...params('parsed'), betas: [BETA] })
      expect(fake.count(MESSAGES)).toBe(1)
      expect(String(fake.calls[0]?.headers['anthropic-beta'])).toContain('structured-outputs')
      await until(() => cache.sets === 1)
      const spent = (await budget.spend('b-parse')).totalMicros
      expect(spent).toBeGreaterThan(0)
      const second = await client.beta.messages.parse({ ...params('parsed'), betas: [BETA] })
      expect(second.content).toEqual(first.content)
      expect(fake.count(MESSAGES)).toBe(1)
      expect((await budget.spend('b-parse')).totalMicros).toBe(spent)
      // The same params through create() send other headers: not served parse()'s entry.
      await client.beta.messages.create({ ...params('parsed'), betas: [BETA] })
      expect(fake.count(MESSAGES)).toBe(2)
    })

    it('refuses with BUDGET_EXCEEDED past the limit, before any provider call', async () => {
      const budget = await budgetForOne(MODEL, 'beta over')
      const client = wrapAnthropic(raw, { budget, subject: 'b3' })
      await client.beta.messages.create({ ...params('beta over'), betas: [BETA] })
      await expect(
        client.beta.messages.create({ ...params('beta over'), betas: [BETA] })
      ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 })
      await expect(
        client.beta.messages.create({ ...params('beta over'), betas: [BETA], stream: true })
      ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
      expect(fake.count(MESSAGES)).toBe(1)
    })

    for (const [name, custom] of [
      ['default cache key', false],
      ['custom cacheKey', true],
    ] as const) {
      it(`${name}: a beta answer is never served to a plain call with the same params, nor the other way round`, async () => {
        const cache = mapCache()
        const client = wrapAnthropic(raw, {
          cache,
          subject: 'b4',
          ...(custom
            ? { cacheKey: (p: Readonly<Record<string, unknown>>) => JSON.stringify(p) }
            : {}),
        })
        // No `betas`: the params are exactly those of the plain call; only the route differs.
        await client.beta.messages.create(params('routes'))
        await client.messages.create(params('routes'))
        expect(routes).toEqual(['beta', 'plain'])
        // The other order, streamed.
        const drain = async (stream: AsyncIterable<unknown>) => {
          for await (const _ of stream);
        }
        await drain(await client.messages.create({ ...params('routes 2'), stream: true }))
        await until(() => cache.sets === 3)
        await drain(await client.beta.messages.create({ ...params('routes 2'), stream: true }))
        await until(() => cache.sets === 4)
        expect(fake.count(MESSAGES)).toBe(4)
        expect(routes).toEqual(['beta', 'plain', 'plain', 'beta'])
        // Each route hits its own entry.
        await client.beta.messages.create(params('routes'))
        await client.messages.create(params('routes'))
        await drain(await client.messages.create({ ...params('routes 2'), stream: true }))
        await drain(await client.beta.messages.create({ ...params('routes 2'), stream: true }))
        expect(fake.count(MESSAGES)).toBe(4)
      })
    }

    it('thread() and toolRunner() turns go through the kit: charged, recorded, never cached', async () => {
      const cache = mapCache()
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const { metrics } = recorders()
      const client = wrapAnthropic(raw, { cache, budget, metrics, subject: 'b5' })
      const thread = client.beta.messages.thread({ model: MODEL, max_tokens: 100, temperature: 0 })
      const reply = await thread.send({ role: 'user', content: 'thread turn' })
      expect(reply.content[0]).toMatchObject({ type: 'text', text: 'Echo: thread turn' })
      expect(fake.calls[0]?.body).toMatchObject({ thread: { type: 'create' } })
      expect(routes).toEqual(['beta'])
      const charged = priceOf(MODEL, reply.usage as unknown as Record<string, unknown>)
      expect((await budget.spend('b5')).totalMicros).toBe(charged)
      expect(thread.previousMessageId).toBe(reply.id)

      const streamed = await thread
        .stream({ role: 'user', content: 'streamed turn' })
        .finalMessage()
      expect(streamed.content[0]).toMatchObject({ text: 'Echo: streamed turn' })
      expect(fake.calls[1]?.body).toMatchObject({
        thread: { type: 'continue', previous_message_id: reply.id },
      })
      await until(() => metrics.calls.length === 2)
      const both = charged + priceOf(MODEL, streamed.usage as unknown as Record<string, unknown>)
      expect((await budget.spend('b5')).totalMicros).toBe(both)

      // The same first turn on a new thread: a server-side conversation, so never a cache hit.
      await client.beta.messages
        .thread({ model: MODEL, max_tokens: 100, temperature: 0 })
        .send({ role: 'user', content: 'thread turn' })
      expect(fake.count(MESSAGES)).toBe(3)
      expect(cache.sets).toBe(0)

      // A turn that creates a thread, sent directly: the same, however cacheable its params are.
      const direct = { ...params('direct turn'), thread: { type: 'create' as const } }
      await client.beta.messages.create(direct)
      await client.beta.messages.create(direct)
      expect(fake.count(MESSAGES)).toBe(5)
      expect(cache.sets).toBe(0)

      // A tool runner (no tools: one turn) runs its turns on a thread of the wrapped client.
      const runner = client.beta.messages.toolRunner({
        ...params('runner'),
        tools: [],
      })
      const last = await runner.runUntilDone()
      expect(last.content[0]).toMatchObject({ text: 'Echo: runner' })
      expect(fake.count(MESSAGES)).toBe(6)
      expect(metrics.calls).toHaveLength(6)
    })
  })
})

for (const sdk of OPENAI_SDKS) {
  // openai 7 needs Node 22+ (its engines field): skipped on Node 20, run by CI's Node 24 leg.
  describe.runIf(sdk.runs)(sdk.name, () => {
    let fake: FakeProvider
    let raw: OpenAI
    const urls: string[] = []

    beforeAll(async () => {
      fake = await startFakeProvider()
      raw = new sdk.OpenAI({
        apiKey: 'test-key',
        baseURL: fake.openaiBaseURL,
        maxRetries: 0,
        fetch: (url, init) => {
          urls.push(String(url))
          return fetch(url, init)
        },
      })
    })
    afterAll(() => fake.close())
    beforeEach(() => {
      fake.reset()
      urls.length = 0
    })

    describe('withOptions(...)', () => {
      for (const api of OPENAI_APIS) {
        for (const stream of [false, true]) {
          it(`${api}${stream ? ' (streamed)' : ''}: a derived client’s call is cached (the parent’s cache), charged and recorded`, async () => {
            const cache = mapCache()
            const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
            const { metrics } = recorders()
            const client = wrapOpenAI(raw, {
              cache,
              cacheSampling: true,
              budget,
              metrics,
              subject: 'o1',
            })
            const derived = client.withOptions({ timeout: 5000 })
            expect(derived.timeout).toBe(5000)
            expect(derived).toBeInstanceOf(sdk.OpenAI)
            const first = await ask(derived, api, 'derived', stream)
            await until(() => cache.sets === 1)
            expect(fake.count(PATH[api])).toBe(1)
            const spent = (await budget.spend('o1')).totalMicros
            expect(spent).toBeGreaterThan(0)
            expect(metrics.calls).toHaveLength(1)
            expect(await ask(derived, api, 'derived', stream)).toBe(first)
            expect(await ask(client.withOptions({ timeout: 9000 }), api, 'derived', stream)).toBe(
              first
            )
            expect(await ask(client, api, 'derived', stream)).toBe(first)
            expect(fake.count(PATH[api])).toBe(1)
            expect((await budget.spend('o1')).totalMicros).toBe(spent)
            expect(metrics.cache).toEqual(['miss', 'hit', 'hit', 'hit'])
          })
        }

        it(`${api}: identical concurrent calls through a client and its copies make one provider call (streamed or not)`, async () => {
          const client = wrapOpenAI(raw, {})
          const copies = [
            client,
            client.withOptions({ timeout: 5000 }),
            client.withOptions({ maxRetries: 1 }),
          ]
          for (const stream of [false, true]) {
            const answers = await Promise.all(
              copies.map((c) => ask(c, api, `together ${stream}`, stream))
            )
            expect(new Set(answers).size).toBe(1)
          }
          expect(fake.count(PATH[api])).toBe(2)
        })

        it(`${api}: refuses a derived client’s call with BUDGET_EXCEEDED past the limit`, async () => {
          const budget = await budgetForOne(OPENAI_MODEL, 'over')
          const derived = wrapOpenAI(raw, { budget, subject: 'o2' }).withOptions({ timeout: 5000 })
          await ask(derived, api, 'over', false)
          expect(fake.count(PATH[api])).toBe(1)
          await expect(ask(derived, api, 'over', false)).rejects.toMatchObject({
            code: 'BUDGET_EXCEEDED',
            status: 402,
          })
          expect(fake.count(PATH[api])).toBe(1)
        })
      }

      it('a copy with other default headers is another client: its own cache entry', async () => {
        const cache = mapCache()
        const client = wrapOpenAI(raw, { cache, cacheSampling: true, subject: 'o3' })
        await ask(client, 'chat', 'settings', false)
        const tenant = client.withOptions({ defaultHeaders: { 'x-tenant': 't2' } })
        await ask(tenant, 'chat', 'settings', false)
        expect(fake.count(PATH.chat)).toBe(2)
        expect(fake.calls[1]?.headers['x-tenant']).toBe('t2')
        await ask(tenant, 'chat', 'settings', false)
        await ask(client, 'chat', 'settings', false)
        expect(fake.count(PATH.chat)).toBe(2)
      })
    })

    describe('beta.responses.create', () => {
      it('sent to the beta route; cached, charged; never served a plain call’s answer nor the other way round', async () => {
        const cache = mapCache()
        const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
        const client = wrapOpenAI(raw, { cache, cacheSampling: true, budget, subject: 'o4' })
        const first = await client.beta.responses.create(responsesParams('beta'))
        expect(urls).toEqual([`${fake.openaiBaseURL}/responses?beta=true`])
        const spent = (await budget.spend('o4')).totalMicros
        expect(spent).toBeGreaterThan(0)
        expect(await client.beta.responses.create(responsesParams('beta'))).toEqual(first)
        expect(fake.count(PATH.responses)).toBe(1)
        expect((await budget.spend('o4')).totalMicros).toBe(spent)
        // The same params on the plain route: another request, then each hits its own entry.
        await client.responses.create(responsesParams('beta'))
        expect(fake.count(PATH.responses)).toBe(2)
        await client.responses.create(responsesParams('beta'))
        await client.beta.responses.create(responsesParams('beta'))
        expect(fake.count(PATH.responses)).toBe(2)
        // Streamed, plain first.
        const drain = async (stream: AsyncIterable<unknown>) => {
          for await (const _ of stream);
        }
        await drain(await client.responses.create({ ...responsesParams('s'), stream: true }))
        await until(() => cache.sets === 3)
        await drain(await client.beta.responses.create({ ...responsesParams('s'), stream: true }))
        expect(fake.count(PATH.responses)).toBe(4)
      })

      it('refuses with BUDGET_EXCEEDED past the limit', async () => {
        const budget = await budgetForOne(OPENAI_MODEL, 'over')
        const client = wrapOpenAI(raw, { budget, subject: 'o5' })
        await client.beta.responses.create(responsesParams('over'))
        await expect(client.beta.responses.create(responsesParams('over'))).rejects.toMatchObject({
          code: 'BUDGET_EXCEEDED',
        })
        expect(fake.count(PATH.responses)).toBe(1)
      })
    })
  })
}
