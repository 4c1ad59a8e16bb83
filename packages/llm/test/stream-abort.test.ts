// Aborting a stream through the wrapper ends it as aborting the bare SDK's does: the stream's own
// controller is aborted too, which the SDK helpers (`messages.stream()`, `chat.completions.stream()`,
// `responses.stream()`) check to fail with `APIUserAbortError` and emit 'abort'.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache } from './helpers.js'
import { OPENAI_SDKS } from './openai-sdks.js'

let fake: FakeProvider

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: text }],
})

/** A helper's final promise: its rejection reason, or `'resolved'`. */
const settled = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'resolved',
    (e: unknown) => e
  )

describe('Anthropic: aborting a stream', () => {
  let raw: Anthropic
  beforeAll(() => {
    raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  })

  /** A raw stream whose signal aborts on its first event, the provider holding the rest. */
  async function abortRaw(client: Anthropic, text: string) {
    const hold = fake.holdStreamAfter(2)
    const ac = new AbortController()
    const stream = await client.messages.create(
      { ...params(text), stream: true },
      { signal: ac.signal }
    )
    let events = 0
    let error: unknown
    try {
      for await (const _ of stream) {
        events++
        ac.abort()
      }
    } catch (e) {
      error = e
    } finally {
      hold.release()
    }
    // How many events still come after the abort depends on what the last network read held.
    expect(events).toBeGreaterThan(0)
    return { error, controllerAborted: stream.controller.signal.aborted }
  }

  it('create({ stream: true }) aborted through its signal ends as the bare SDK stream does, its controller aborted', async () => {
    const bare = await abortRaw(raw, 'bare')
    const wrapped = await abortRaw(wrapAnthropic(raw, {}), 'wrapped')
    // The bare SDK ends such a stream without an error (its abort is the caller's own doing).
    expect(bare).toEqual({ error: undefined, controllerAborted: true })
    expect(wrapped).toEqual(bare)
    await fake.idle()
    expect(fake.calls.map((c) => c.aborted)).toEqual([true, true])
  })

  /** `messages.stream()` aborted on its first event: how `finalMessage()` ends, and the events. */
  async function abortHelper(client: Anthropic, text: string) {
    const hold = fake.holdStreamAfter(2)
    const helper = client.messages.stream(params(text))
    let abortEvent = false
    helper.on('abort', () => {
      abortEvent = true
    })
    helper.on('streamEvent', () => helper.abort())
    try {
      return { final: await settled(helper.finalMessage()), abortEvent }
    } finally {
      hold.release()
    }
  }

  it('messages.stream().abort(): finalMessage() rejects with APIUserAbortError and emits abort, as with the bare SDK', async () => {
    const bare = await abortHelper(raw, 'bare helper')
    expect(bare.final).toBeInstanceOf(Anthropic.APIUserAbortError)
    expect(bare.abortEvent).toBe(true)
    const wrapped = await abortHelper(wrapAnthropic(raw, {}), 'wrapped helper')
    expect(wrapped.final).toBeInstanceOf(Anthropic.APIUserAbortError)
    expect(wrapped.abortEvent).toBe(true)
  })

  it('a reader whose signal aborts while it waits for the provider ends then; the other reader reads on', async () => {
    const client = wrapAnthropic(raw, {})
    fake.setReply(() => 'one two three four')
    const hold = fake.holdStreamAfter(2)
    const leaving = new AbortController()
    const [a, b] = await Promise.all([
      client.messages.create(
        { ...params('two readers'), stream: true },
        { signal: leaving.signal }
      ),
      client.messages.create({ ...params('two readers'), stream: true }),
    ])
    await hold.reached
    const itA = a[Symbol.asyncIterator]()
    await itA.next()
    await itA.next()
    // The provider holds the third event: this read waits, then the caller goes away.
    const waiting = itA.next()
    leaving.abort()
    // Ends while the provider still holds (before `release()` below), as the bare SDK's would.
    expect(await waiting).toEqual({ done: true, value: undefined })
    expect(a.controller.signal.aborted).toBe(true)
    hold.release()
    const types: string[] = []
    for await (const e of b) types.push(e.type)
    expect(types.at(0)).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    expect(fake.count('/v1/messages')).toBe(1)
  })
})

describe('Anthropic: aborting a streamed cache hit, as a live stream', () => {
  let raw: Anthropic
  beforeAll(() => {
    raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  })
  const hit = (text: string) => ({ ...params(text), temperature: 0 })

  it('create({ stream: true }): the signal aborting on the first event ends the replay, its controller aborted', async () => {
    const client = wrapAnthropic(raw, { cache: mapCache() })
    for await (const _ of await client.messages.create({ ...hit('hit'), stream: true })) {
    }
    const ac = new AbortController()
    const stream = await client.messages.create(
      { ...hit('hit'), stream: true },
      { signal: ac.signal }
    )
    let events = 0
    let error: unknown
    try {
      for await (const _ of stream) {
        events++
        ac.abort()
      }
    } catch (e) {
      error = e
    }
    expect(fake.count('/v1/messages')).toBe(1) // a hit
    // As the bare SDK's stream (see above): it ends without an error, its controller aborted.
    expect({ error, controllerAborted: stream.controller.signal.aborted }).toEqual({
      error: undefined,
      controllerAborted: true,
    })
    expect(events).toBe(1)
  })

  it("the replay's own controller.abort() ends it", async () => {
    const client = wrapAnthropic(raw, { cache: mapCache() })
    for await (const _ of await client.messages.create({ ...hit('controller'), stream: true })) {
    }
    const stream = await client.messages.create({ ...hit('controller'), stream: true })
    let events = 0
    for await (const _ of stream) {
      events++
      stream.controller.abort()
    }
    expect(fake.count('/v1/messages')).toBe(1)
    expect(events).toBe(1)
  })

  it('messages.stream().abort() on a hit: finalMessage() rejects with APIUserAbortError and emits abort', async () => {
    const client = wrapAnthropic(raw, { cache: mapCache() })
    await client.messages.stream(hit('hit helper')).finalMessage()
    const helper = client.messages.stream(hit('hit helper'))
    let abortEvent = false
    helper.on('abort', () => {
      abortEvent = true
    })
    helper.on('streamEvent', () => helper.abort())
    const final = await settled(helper.finalMessage())
    expect(fake.count('/v1/messages')).toBe(1) // a hit
    expect(final).toBeInstanceOf(Anthropic.APIUserAbortError)
    expect(abortEvent).toBe(true)
  })

  for (const coalesce of [true, false]) {
    it(`coalesce ${coalesce}: a caller whose signal has aborted gets no hit (APIUserAbortError, as a live call)`, async () => {
      const client = wrapAnthropic(raw, { cache: mapCache(), coalesce })
      await client.messages.create(hit('gone'))
      for await (const _ of await client.messages.create({ ...hit('gone'), stream: true })) {
      }
      const options = { signal: AbortSignal.abort() }
      await expect(client.messages.create(hit('gone'), options)).rejects.toBeInstanceOf(
        Anthropic.APIUserAbortError
      )
      await expect(
        client.messages.create({ ...hit('gone'), stream: true }, options)
      ).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
      expect(fake.count('/v1/messages')).toBe(2)
    })
  }
})

for (const sdk of OPENAI_SDKS) {
  // openai 7 needs Node 22+ (its engines field): skipped on Node 20, run by CI's Node 24 leg.
  describe.runIf(sdk.runs)(`${sdk.name}: aborting a stream helper`, () => {
    const client = (): OpenAI =>
      new sdk.OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })

    async function abortChat(openai: OpenAI, text: string) {
      const hold = fake.holdStreamAfter(2)
      const runner = openai.chat.completions.stream({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: text }],
      })
      let abortEvent = false
      runner.on('abort', () => {
        abortEvent = true
      })
      runner.on('chunk', () => runner.abort())
      try {
        return { final: await settled(runner.finalChatCompletion()), abortEvent }
      } finally {
        hold.release()
      }
    }

    it('chat.completions.stream().abort(): finalChatCompletion() rejects with APIUserAbortError and emits abort, as with the bare SDK', async () => {
      const bare = await abortChat(client(), 'bare chat')
      expect(bare.final).toBeInstanceOf(sdk.OpenAI.APIUserAbortError)
      expect(bare.abortEvent).toBe(true)
      const wrapped = await abortChat(wrapOpenAI(client(), {}), 'wrapped chat')
      expect(wrapped.final).toBeInstanceOf(sdk.OpenAI.APIUserAbortError)
      expect(wrapped.abortEvent).toBe(true)
    })

    async function abortResponses(openai: OpenAI, text: string) {
      const hold = fake.holdStreamAfter(2)
      const runner = openai.responses.stream({ model: 'gpt-4o-mini', input: text })
      let abortEvent = false
      runner.on('abort', () => {
        abortEvent = true
      })
      runner.on('event', () => runner.abort())
      try {
        return { final: await settled(runner.finalResponse()), abortEvent }
      } finally {
        hold.release()
      }
    }

    it('responses.stream().abort(): finalResponse() rejects with APIUserAbortError and emits abort, as with the bare SDK', async () => {
      const bare = await abortResponses(client(), 'bare responses')
      expect(bare.final).toBeInstanceOf(sdk.OpenAI.APIUserAbortError)
      expect(bare.abortEvent).toBe(true)
      const wrapped = await abortResponses(wrapOpenAI(client(), {}), 'wrapped responses')
      expect(wrapped.final).toBeInstanceOf(sdk.OpenAI.APIUserAbortError)
      expect(wrapped.abortEvent).toBe(true)
    })

    it('on a cache hit: chat.completions.stream().abort() and responses.stream().abort() reject with APIUserAbortError and emit abort', async () => {
      const openai = wrapOpenAI(client(), { cache: mapCache() })
      const chat = () =>
        openai.chat.completions.stream({
          model: 'gpt-4o-mini',
          temperature: 0,
          messages: [{ role: 'user', content: 'hit chat' }],
        })
      await chat().finalChatCompletion()
      const chatRunner = chat()
      let chatAbort = false
      chatRunner.on('abort', () => {
        chatAbort = true
      })
      chatRunner.on('chunk', () => chatRunner.abort())
      expect(await settled(chatRunner.finalChatCompletion())).toBeInstanceOf(
        sdk.OpenAI.APIUserAbortError
      )
      expect(chatAbort).toBe(true)

      const responses = () =>
        openai.responses.stream({ model: 'gpt-4o-mini', temperature: 0, input: 'hit responses' })
      await responses().finalResponse()
      const responsesRunner = responses()
      let responsesAbort = false
      responsesRunner.on('abort', () => {
        responsesAbort = true
      })
      responsesRunner.on('event', () => responsesRunner.abort())
      expect(await settled(responsesRunner.finalResponse())).toBeInstanceOf(
        sdk.OpenAI.APIUserAbortError
      )
      expect(responsesAbort).toBe(true)
      // Both were hits.
      expect(fake.count()).toBe(2)
    })
  })
}
