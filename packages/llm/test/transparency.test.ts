// The wrapped client behaves as the bare SDK client: the same call on a bare client and on a
// wrapped one (cache on, budget on, the call repeated for a cache hit), both pointed at the fake
// provider. README.md: "The wrapped client has **the SDK's own TypeScript type**: nothing else in
// your code changes"; "Streams (`stream: true`) pass through event by event, as the SDK's own
// `Stream` class (`for await`, `.tee()`, `.controller`, `.toReadableStream()` work)".
import { llmCacheKey } from '@aikit/cache'
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache, until } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MODEL = 'claude-haiku-4-5'
const params = (text: string) => ({
  model: MODEL,
  max_tokens: 100,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

function clients() {
  const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  const wrapped = wrapAnthropic(raw, {
    cache: mapCache(),
    budget: createBudget({ limits: [{ period: 'day', usd: 10 }] }),
    subject: 'u1',
  })
  return { raw, wrapped }
}

async function drain(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const event of stream) out.push(event)
  return out
}

describe('the wrapped client object', () => {
  // Code reaches the SDK's error classes through the client: `client.constructor.RateLimitError`.
  it('has the SDK class itself as its constructor, with its statics, as its withOptions() copies (Anthropic)', () => {
    const { raw, wrapped } = clients()
    expect(raw.constructor).toBe(Anthropic)
    expect(wrapped.constructor).toBe(Anthropic)
    expect((wrapped.constructor as typeof Anthropic).RateLimitError).toBe(Anthropic.RateLimitError)
    expect(wrapped.withOptions({ timeout: 5_000 }).constructor).toBe(Anthropic)
  })

  it('has the SDK class itself as its constructor, with its statics (OpenAI)', () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const wrapped = wrapOpenAI(raw, { cache: mapCache() })
    expect(raw.constructor).toBe(OpenAI)
    expect(wrapped.constructor).toBe(OpenAI)
    expect((wrapped.constructor as typeof OpenAI).APIError).toBe(OpenAI.APIError)
    expect(wrapped.withOptions({ timeout: 5_000 }).constructor).toBe(OpenAI)
  })

  // On the bare client, a method replaced on the instance (a test spy, an instrumentation patch)
  // is the one called from then on, by the caller and by the SDK's resources (`this._client.post`).
  it('calls a method replaced on the client after it was first used (vi.spyOn)', async () => {
    const tokens = { model: MODEL, messages: [{ role: 'user' as const, content: 'x' }] }
    const { raw } = clients()
    await raw.messages.countTokens(tokens)
    const bareSpy = vi.spyOn(raw, 'post')
    await raw.messages.countTokens(tokens)
    expect(bareSpy).toHaveBeenCalledTimes(1)

    const { wrapped } = clients()
    await wrapped.messages.countTokens(tokens)
    const spy = vi.spyOn(wrapped, 'post')
    await wrapped.messages.countTokens(tokens)
    expect(spy).toHaveBeenCalledTimes(1)
    // Replaced again (restored): the method now on the client is the one called.
    spy.mockRestore()
    const again = vi.spyOn(wrapped, 'post')
    await wrapped.messages.countTokens(tokens)
    expect(again).toHaveBeenCalledTimes(1)
    again.mockRestore()
  })

  // On the bare client `vi.spyOn(client, 'post')` puts the spy on the instance: `client.post` IS
  // the spy (`expect(client.post).toHaveBeenCalled()`, the common form).
  it('answers a method spied on the client with the spy itself, as the bare client', async () => {
    const tokens = { model: MODEL, messages: [{ role: 'user' as const, content: 'x' }] }
    const { raw } = clients()
    const bareSpy = vi.spyOn(raw, 'post')
    await raw.messages.countTokens(tokens)
    expect(raw.post).toBe(bareSpy)
    bareSpy.mockRestore()

    const { wrapped } = clients()
    const spy = vi.spyOn(wrapped, 'post')
    try {
      await wrapped.messages.countTokens(tokens)
      expect(spy).toHaveBeenCalledTimes(1)
      expect(wrapped.post).toBe(spy)
      expect(vi.isMockFunction(wrapped.post)).toBe(true)
      expect(wrapped.post).toHaveBeenCalledTimes(1)
    } finally {
      spy.mockRestore()
    }
    expect(vi.isMockFunction(wrapped.post)).toBe(false)
  })

  // A spy on the bare resource's `create` wraps the SDK's method and is what `messages.create`
  // calls; on the wrapped resource it wraps the kit's (the call still goes through the cache), is
  // kept in the wrapped client (the bare client's resource is untouched) and restores to the kit's.
  it('calls a spy on a wrapped resource method, which wraps the kit, as a spy on the bare resource wraps the SDK', async () => {
    const { raw } = clients()
    const bareSpy = vi.spyOn(raw.messages, 'create')
    await raw.messages.create(params('spied'))
    expect(bareSpy).toHaveBeenCalledTimes(1)
    bareSpy.mockRestore()
    expect(fake.count('/v1/messages')).toBe(1)

    const { raw: other, wrapped } = clients()
    const spy = vi.spyOn(wrapped.messages, 'create')
    try {
      const first = await wrapped.messages.create(params('spied'))
      expect(spy).toHaveBeenCalledTimes(1)
      expect(wrapped.messages.create).toBe(spy)
      // The SDK's helpers built on `create` call it too (`messages.stream()`).
      await wrapped.messages.stream(params('spied stream')).finalMessage()
      expect(spy).toHaveBeenCalledTimes(2)
      // The spy wraps the kit's method: the repeated call is a cache hit.
      const hit = await wrapped.messages.create(params('spied'))
      expect(hit.content).toEqual(first.content)
      expect(fake.count('/v1/messages')).toBe(3) // bare, then spied, spied stream; the hit none
      // Nothing landed on the bare client's resource.
      expect(vi.isMockFunction(other.messages.create)).toBe(false)
    } finally {
      spy.mockRestore()
    }
    // Restored: the kit's method again (still the cache's hit), no spy anywhere.
    expect(vi.isMockFunction(wrapped.messages.create)).toBe(false)
    await wrapped.messages.create(params('spied'))
    expect(spy).toHaveBeenCalledTimes(0) // mockRestore cleared its calls
    expect(fake.count('/v1/messages')).toBe(3)
  })

  it('keeps a method assigned on a wrapped resource in the wrapper, and deleting it gives the kit back', async () => {
    const { raw, wrapped } = clients()
    const kit = wrapped.messages.create
    const calls: unknown[] = []
    const replacement = ((...args: Parameters<typeof kit>) => {
      calls.push(args[0])
      return kit(...args)
    }) as typeof kit
    wrapped.messages.create = replacement
    expect(wrapped.messages.create).toBe(replacement)
    expect(raw.messages.create).not.toBe(replacement)
    await wrapped.messages.create(params('assigned'))
    expect(calls).toHaveLength(1)
    delete (wrapped.messages as { create?: unknown }).create
    expect(wrapped.messages.create).toBe(kit)
  })
})

describe('a stream is used as the SDK stream is', () => {
  it('refuses a second iteration of a cache-hit stream, as the bare SDK stream does', async () => {
    const { raw, wrapped } = clients()
    const bare = await raw.messages.create({ ...params('twice'), stream: true })
    await drain(bare)
    await expect(drain(bare)).rejects.toThrow(/consumed stream/)

    await drain(await wrapped.messages.create({ ...params('twice'), stream: true })) // live, stored
    const hit = await wrapped.messages.create({ ...params('twice'), stream: true })
    expect(await drain(hit)).toHaveLength(7)
    expect(fake.count('/v1/messages')).toBe(2) // bare + live: the third was a hit
    await expect(drain(hit)).rejects.toThrow(/consumed stream/)
  })

  // The bare SDK throws its own base class (`AnthropicError`, `OpenAIError`) with its message: a
  // caller's `instanceof` check matches on a wrapped stream too, live and on a cache hit.
  it('fails a second read with the SDK base error class, live and on a hit (Anthropic, OpenAI)', async () => {
    const secondRead = async (stream: AsyncIterable<unknown>): Promise<unknown> => {
      await drain(stream)
      return drain(stream).then(
        () => 'read twice',
        (error: unknown) => error
      )
    }
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const cacheA = mapCache()
    const wrapped = wrapAnthropic(raw, { cache: cacheA })
    const streamed = { ...params('second read'), stream: true as const }
    const bareA = await secondRead(await raw.messages.create(streamed))
    expect(bareA).toBeInstanceOf(Anthropic.AnthropicError)
    const liveA = await secondRead(await wrapped.messages.create(streamed))
    await until(() => cacheA.sets === 1)
    const hitA = await secondRead(await wrapped.messages.create(streamed))
    expect(fake.count('/v1/messages')).toBe(2) // bare + live: the third was a hit

    const rawO = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cacheO = mapCache()
    const openai = wrapOpenAI(rawO, { cache: cacheO })
    const chat = {
      model: 'gpt-4o-mini',
      temperature: 0,
      stream: true as const,
      messages: [{ role: 'user' as const, content: 'second read' }],
    }
    const bareO = await secondRead(await rawO.chat.completions.create(chat))
    expect(bareO).toBeInstanceOf(OpenAI.OpenAIError)
    const liveO = await secondRead(await openai.chat.completions.create(chat))
    await until(() => cacheO.sets === 1)
    const hitO = await secondRead(await openai.chat.completions.create(chat))
    expect(fake.count('/v1/chat/completions')).toBe(2) // bare + live: the third was a hit

    const seen = (error: unknown, Base: abstract new (...args: never[]) => Error) => ({
      sdkClass: error instanceof Base,
      message: (error as Error).message,
    })
    const expected = (Base: abstract new (...args: never[]) => Error, bare: unknown) => ({
      live: seen(bare, Base),
      hit: seen(bare, Base),
    })
    expect({
      anthropic: {
        live: seen(liveA, Anthropic.AnthropicError),
        hit: seen(hitA, Anthropic.AnthropicError),
      },
      openai: { live: seen(liveO, OpenAI.OpenAIError), hit: seen(hitO, OpenAI.OpenAIError) },
    }).toEqual({
      anthropic: expected(Anthropic.AnthropicError, bareA),
      openai: expected(OpenAI.OpenAIError, bareO),
    })
  })

  // The bare SDK's `tee()` takes its async generator, whose consumed check runs at its first
  // `next()`: `tee()` of a read stream returns two streams, and reading either rejects.
  it('tee() of a read stream returns two streams whose reads reject, live and on a hit', async () => {
    const teeAfterRead = async (stream: {
      tee(): [AsyncIterable<unknown>, AsyncIterable<unknown>]
    }): Promise<string[]> => {
      await drain(stream as unknown as AsyncIterable<unknown>)
      let pair: [AsyncIterable<unknown>, AsyncIterable<unknown>]
      try {
        pair = stream.tee()
      } catch {
        return ['tee() threw']
      }
      return Promise.all(
        pair.map((half) =>
          drain(half).then(
            () => 'read',
            (error: unknown) =>
              error instanceof Anthropic.AnthropicError ? 'reading rejected' : String(error)
          )
        )
      )
    }
    const raw = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const wrapped = wrapAnthropic(raw, { cache })
    const streamed = { ...params('tee'), stream: true as const }
    const rejected = ['reading rejected', 'reading rejected']
    expect(await teeAfterRead(await raw.messages.create(streamed))).toEqual(rejected)
    expect(await teeAfterRead(await wrapped.messages.create(streamed))).toEqual(rejected) // live
    await until(() => cache.sets === 1)
    expect(await teeAfterRead(await wrapped.messages.create(streamed))).toEqual(rejected) // hit
    expect(fake.count('/v1/messages')).toBe(2)
  })

  // The SDK's iterator aborts the stream's controller when it is left before its end.
  it('aborts the stream controller when the caller breaks out of for await (live and hit)', async () => {
    const { raw, wrapped } = clients()
    const bare = await raw.messages.create({ ...params('brk'), stream: true })
    for await (const _ of bare) break
    expect(bare.controller.signal.aborted).toBe(true)

    const live = await wrapped.messages.create({ ...params('brk2'), stream: true })
    for await (const _ of live) break
    // A complete one, for the hit below; read to its end, its controller is not aborted.
    const whole = await wrapped.messages.create({ ...params('brk3'), stream: true })
    await drain(whole)
    const hit = await wrapped.messages.create({ ...params('brk3'), stream: true })
    for await (const _ of hit) break
    expect({
      live: live.controller.signal.aborted,
      whole: whole.controller.signal.aborted,
      hit: hit.controller.signal.aborted,
    }).toEqual({ live: true, whole: false, hit: true })
  })
})

// "OpenAI chat streams get `stream_options.include_usage` injected; the extra chunk (and the
// `usage: null` fields) are hidden from the caller unless the caller asked for usage." With
// `llmCacheKey` (the README's recommended custom key), `stream_options` is not in the key: callers
// asking for usage and callers not asking share an entry, and each hit gets what its caller asked.
describe('an OpenAI chat stream hit shows the usage chunk as its own caller asked (llmCacheKey)', () => {
  const llmKeyClients = () => {
    const raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const cache = mapCache()
    const wrapped = wrapOpenAI(raw, {
      cache,
      cacheKey: (p, { scope, api }) =>
        llmCacheKey(p, { scope: scope ? `subject:${scope}` : 'global', provider: api }),
    })
    return { raw, wrapped, cache }
  }
  const chat = (includeUsage: boolean | undefined) => ({
    model: 'gpt-4o-mini',
    temperature: 0,
    messages: [{ role: 'user' as const, content: 'usage please' }],
    stream: true as const,
    ...(includeUsage === undefined ? {} : { stream_options: { include_usage: includeUsage } }),
  })
  const shape = (chunks: unknown[]) =>
    (chunks as Array<{ choices: unknown[]; usage?: unknown }>).map((c) => ({
      choices: c.choices.length,
      usage: 'usage' in c ? (c.usage === null ? 'null' : 'set') : 'absent',
    }))

  it('hides the usage chunk from a caller that did not ask for it, on a hit stored by one that did', async () => {
    const { raw, wrapped, cache } = llmKeyClients()
    const bare = await drain(await raw.chat.completions.create(chat(undefined)))
    await drain(await wrapped.chat.completions.create(chat(true))) // live, stored
    await until(() => cache.sets === 1)
    const hit = await drain(await wrapped.chat.completions.create(chat(undefined)))
    expect(fake.count('/v1/chat/completions')).toBe(2) // the third call was a hit
    expect(shape(hit)).toEqual(shape(bare))
  })

  it('gives the usage chunk to a caller that asked for it, on a hit stored by one that did not', async () => {
    const { raw, wrapped, cache } = llmKeyClients()
    const bare = await drain(await raw.chat.completions.create(chat(true)))
    const live = await drain(await wrapped.chat.completions.create(chat(undefined))) // stored
    await until(() => cache.sets === 1)
    const hit = await drain(await wrapped.chat.completions.create(chat(true)))
    expect(fake.count('/v1/chat/completions')).toBe(2) // the third call was a hit
    expect(shape(hit)).toEqual(shape(bare))
    // The live caller that did not ask saw it hidden, as before.
    expect(shape(live).some((c) => c.choices === 0 || c.usage !== 'absent')).toBe(false)
  })

  // An entry stored by earlier code holds the events as its first caller saw them (the usage
  // chunk hidden when that caller did not ask): it must not give a caller asking for usage a
  // stream without it.
  it('treats a stream entry stored before (v: 1, filtered for its first caller) as a miss', async () => {
    const { raw, wrapped, cache } = llmKeyClients()
    const bare = await drain(await raw.chat.completions.create(chat(true)))
    await drain(await wrapped.chat.completions.create(chat(undefined)))
    await until(() => cache.sets === 1)
    // Rewritten as the earlier code stored it for a caller without usage.
    const [key, entry] = [...cache.map][0] as [string, { events: Record<string, unknown>[] }]
    const filtered = entry.events
      .filter((e) => !(Array.isArray(e.choices) && e.choices.length === 0))
      .map(({ usage: _usage, ...rest }) => rest)
    cache.map.set(key, { v: 1, kind: 'stream', events: filtered })
    const again = await drain(await wrapped.chat.completions.create(chat(true)))
    expect(fake.count('/v1/chat/completions')).toBe(3) // a miss: the provider answered
    expect(shape(again)).toEqual(shape(bare))
  })
})

// "Identical calls through the client and its copies coalesce (a copy that changes only `timeout`
// or `maxRetries` joins the parent's call in flight)"; "Each caller leaves on its own terms";
// "no caller's `timeout` cuts the provider request the others share". A copy's client-level
// `timeout` (`withOptions({ timeout })`) is that caller's own deadline, as a per-call one.
describe('coalesced calls through withOptions() copies with another client timeout', () => {
  const waiting = (ms: number) =>
    new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), ms))

  it("a caller through a short-timeout copy leaves the parent's call at its client timeout", async () => {
    const { wrapped } = clients()
    const short = wrapped.withOptions({ timeout: 100, maxRetries: 0 })
    const hold = fake.holdNext()
    try {
      const parent = wrapped.messages.create(params('copy-joins'))
      await hold.reached
      const joiner = short.messages.create(params('copy-joins'))
      // The bare `short` client rejects after its 100 ms; 5 s only bounds this wait.
      const outcome = await Promise.race([
        joiner.then(
          () => 'answered',
          (e: unknown) => e
        ),
        waiting(5_000),
      ])
      expect(outcome).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
      hold.release()
      await expect(parent).resolves.toMatchObject({ type: 'message' })
      expect(fake.count('/v1/messages')).toBe(1)
    } finally {
      hold.release()
    }
  })

  it("the parent's caller joining a short-timeout copy's call is not timed out by the copy's timeout", async () => {
    const { wrapped } = clients()
    // 2 s, not less: the parent must join the copy's call before the copy's caller leaves it (had
    // it left first, the parent would make a call of its own).
    const short = wrapped.withOptions({ timeout: 2_000, maxRetries: 0 })
    const hold = fake.holdNext()
    try {
      const leader = short.messages.create(params('copy-leads'))
      await hold.reached
      const parent = wrapped.messages.create(params('copy-leads'))
      parent.catch(() => {})
      // The copy's own caller times out, as its bare call would.
      await expect(leader).rejects.toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
      hold.release()
      // The parent's bare call (10-minute timeout) would have its answer.
      const message = await parent
      expect(message.content[0]).toMatchObject({ type: 'text', text: 'Echo: copy-leads' })
      expect(fake.count('/v1/messages')).toBe(1)
      expect(fake.calls[0]?.aborted).toBe(false)
    } finally {
      hold.release()
    }
  })
})
