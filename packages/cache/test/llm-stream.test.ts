/**
 * LLM response caching through the real Anthropic and OpenAI SDKs against the fake provider:
 * streams are recorded and replayed event for event, only complete streams are stored, identical
 * concurrent requests share one provider call, tenants never share an answer.
 */

import {
  createCache,
  createLlmCache,
  isCompleteStream,
  recordStream,
  replayStream,
  SharedStream,
} from '@aikit/cache'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'

let p: FakeProvider
let anthropic: Anthropic
let openai: OpenAI
beforeAll(async () => {
  p = await startFakeProvider()
  anthropic = new Anthropic({ apiKey: 'test', baseURL: p.anthropicBaseURL, maxRetries: 0 })
  openai = new OpenAI({ apiKey: 'test', baseURL: p.openaiBaseURL, maxRetries: 0 })
})
afterAll(async () => {
  await p?.close()
})
beforeEach(() => p.reset())

const claudeParams = {
  model: 'claude-fake-model',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user' as const, content: 'Tell me a fact about the sea' }],
}
const gptParams = {
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content: 'Tell me a fact about the sea' }],
}

async function collect<E>(stream: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = []
  for await (const event of stream) out.push(event)
  return out
}

const streamClaude = (signal: AbortSignal, params = claudeParams) =>
  anthropic.messages.create({ ...params, stream: true }, { signal })

describe('LLM stream cache (real SDKs, fake provider)', () => {
  it('Anthropic: a recorded stream replays event for event on a hit', async () => {
    const llm = createLlmCache(createCache(), { provider: 'anthropic', protocol: 'anthropic' })
    const first = await llm.stream(claudeParams, { scope: 'user-1' }, streamClaude)
    expect(first.status).toBe('MISS')
    const live = await collect(first.stream)
    expect(live.at(-1)).toMatchObject({ type: 'message_stop' })
    const second = await llm.stream(claudeParams, { scope: 'user-1' }, streamClaude)
    expect(second.status).toBe('HIT')
    const replayed = await collect(second.stream)
    expect(JSON.stringify(replayed)).toBe(JSON.stringify(live))
    expect(p.count('/v1/messages')).toBe(1)
    // The hit reports the tokens it saved, read from the recorded usage events.
    const stats = llm.stats()
    expect(stats.inputTokensSaved).toBeGreaterThan(0)
    expect(stats.outputTokensSaved).toBeGreaterThan(0)
  })

  it('OpenAI: a recorded chunk stream replays chunk for chunk on a hit', async () => {
    const llm = createLlmCache(createCache(), { provider: 'openai', protocol: 'openai-chat' })
    const call = (signal: AbortSignal) =>
      openai.chat.completions.create({ ...gptParams, stream: true }, { signal })
    const live = await collect((await llm.stream(gptParams, { scope: 'user-1' }, call)).stream)
    expect(live.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true)
    const hit = await llm.stream(gptParams, { scope: 'user-1' }, call)
    expect(hit.status).toBe('HIT')
    expect(JSON.stringify(await collect(hit.stream))).toBe(JSON.stringify(live))
    expect(p.count('/v1/chat/completions')).toBe(1)
  })

  it('a stream the consumer stops mid-way is not stored, and the provider request is aborted', async () => {
    p.setStreamDelayMs(5)
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    const first = await llm.stream(claudeParams, { scope: 'u' }, streamClaude)
    let seen = 0
    for await (const _event of first.stream) {
      if (++seen === 2) break
    }
    await p.idle()
    expect(p.calls[0]?.aborted).toBe(true)
    const again = await llm.stream(claudeParams, { scope: 'u' }, streamClaude)
    expect(again.status).toBe('MISS')
    await collect(again.stream)
    expect(p.count('/v1/messages')).toBe(2)
  })

  it('a request arriving just after every consumer left starts its own call, never joins the cut one', async () => {
    p.setStreamDelayMs(5)
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    const first = await llm.stream(claudeParams, { scope: 'u' }, streamClaude)
    let seen = 0
    for await (const _event of first.stream) {
      if (++seen === 2) break
    }
    // The same user retries at once (the UI re-sent the prompt), while the aborted call winds down.
    const second = await llm.stream(claudeParams, { scope: 'u' }, streamClaude)
    expect(second.status).toBe('MISS')
    expect((await collect(second.stream)).at(-1)).toMatchObject({ type: 'message_stop' })
    expect(p.count('/v1/messages')).toBe(2)
    expect(llm.stats().coalesced).toBe(0)
  })

  it('a stream cut by the network is not stored and the consumer sees the error', async () => {
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    p.breakStreamAfter(3)
    const first = await llm.stream(claudeParams, { scope: 'u' }, streamClaude)
    await expect(collect(first.stream)).rejects.toThrow()
    const again = await llm.stream(claudeParams, { scope: 'u' }, streamClaude)
    expect(again.status).toBe('MISS')
    expect((await collect(again.stream)).at(-1)).toMatchObject({ type: 'message_stop' })
  })

  it('1,000 identical concurrent streamed prompts make one provider call; all get the whole stream', async () => {
    p.setStreamDelayMs(2)
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    const results = await Promise.all(
      Array.from({ length: 1000 }, async () =>
        collect((await llm.stream(claudeParams, { scope: 't' }, streamClaude)).stream)
      )
    )
    expect(p.count('/v1/messages')).toBe(1)
    const reference = JSON.stringify(results[0])
    expect(results.every((r) => JSON.stringify(r) === reference)).toBe(true)
    expect(results[0]?.at(-1)).toMatchObject({ type: 'message_stop' })
    expect(llm.stats().coalesced).toBe(999)
  })

  it('two tenants asking the same prompt never share an entry', async () => {
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    await collect((await llm.stream(claudeParams, { scope: 'tenant-a' }, streamClaude)).stream)
    const b = await llm.stream(claudeParams, { scope: 'tenant-b' }, streamClaude)
    expect(b.status).toBe('MISS')
    await collect(b.stream)
    expect(p.count('/v1/messages')).toBe(2)
    const json = (scope: string) =>
      llm.complete(claudeParams, { scope }, () => anthropic.messages.create(claudeParams))
    expect((await json('tenant-a')).status).toBe('MISS')
    const hit = await json('tenant-a')
    expect(hit.status).toBe('HIT')
    expect(llm.stats().outputTokensSaved).toBe(hit.value.usage.output_tokens)
    expect((await json('tenant-b')).status).toBe('MISS')
    await expect(json(undefined as never)).rejects.toThrow(/scope/)
  })

  it('sampled requests bypass the cache unless cacheSampling is on', async () => {
    const sampled = { ...claudeParams, temperature: 0.7 }
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    const call = () => anthropic.messages.create(sampled)
    expect((await llm.complete(sampled, { scope: 'u' }, call)).status).toBe('BYPASS')
    expect((await llm.complete(sampled, { scope: 'u' }, call)).status).toBe('BYPASS')
    const pinning = createLlmCache(createCache(), { provider: 'anthropic', cacheSampling: true })
    await pinning.complete(sampled, { scope: 'u' }, call)
    expect((await pinning.complete(sampled, { scope: 'u' }, call)).status).toBe('HIT')
  })

  it('identical concurrent JSON requests share one provider call', async () => {
    const llm = createLlmCache(createCache(), { provider: 'openai' })
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        llm.complete(gptParams, { scope: 'u' }, () => openai.chat.completions.create(gptParams))
      )
    )
    expect(p.count('/v1/chat/completions')).toBe(1)
    expect(results.filter((r) => r.status === 'MISS')).toHaveLength(1)
  })
})

describe('abandoning a stream', () => {
  it('a consumer that stops before reading its first event still aborts the provider request', async () => {
    const llm = createLlmCache(createCache(), { provider: 'anthropic' })
    let providerSignal: AbortSignal | undefined
    let markStarted!: () => void
    const started = new Promise<void>((resolve) => {
      markStarted = resolve
    })
    async function* upstream(signal: AbortSignal) {
      yield { type: 'message_start', message: { usage: { input_tokens: 1, output_tokens: 1 } } }
      // A long answer: it only ends early when the request is aborted.
      for (let i = 0; i < 200 && !signal.aborted; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5))
        yield { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } }
      }
    }
    const { stream, status } = await llm.stream(claudeParams, { scope: 'u' }, (signal) => {
      providerSignal = signal
      markStarted()
      return upstream(signal)
    })
    expect(status).toBe('MISS')
    await started
    // The client went away before the first event was pulled (e.g. the adapter cancels the body
    // of a response whose socket already closed): the only consumer returns at once.
    await stream[Symbol.asyncIterator]().return?.(undefined)
    const signal = providerSignal as AbortSignal
    const aborted = await new Promise<boolean>((resolve) => {
      if (signal.aborted) return resolve(true)
      signal.addEventListener('abort', () => resolve(true), { once: true })
      setTimeout(() => resolve(signal.aborted), 500)
    })
    expect(aborted).toBe(true)
    // Not joinable any more, and nothing stored: the next identical request makes its own call.
    const again = await llm.stream(claudeParams, { scope: 'u' }, (s) => upstream(s))
    expect(again.status).toBe('MISS')
    await again.stream[Symbol.asyncIterator]().return?.(undefined)
  })
})

describe('OpenAI completeness with several choices (n > 1)', () => {
  const chunk = (index: number, content: string | undefined, finish: string | null) => ({
    id: 'c1',
    object: 'chat.completion.chunk',
    model: 'gpt-4o-mini',
    choices: [{ index, delta: content === undefined ? {} : { content }, finish_reason: finish }],
  })
  const both = [
    chunk(0, 'The sea', null),
    chunk(1, 'Oceans', null),
    chunk(0, ' is salty.', null),
    chunk(0, undefined, 'stop'),
    chunk(1, ' cover most of it.', null),
    chunk(1, undefined, 'stop'),
  ]
  // The connection closed after choice 0 finished, while choice 1 was still streaming.
  const cut = both.slice(0, 5)
  // Only choice 0 ever arrived (choice 1 cut before its first chunk).
  const onlyFirst = [chunk(0, 'The sea', null), chunk(0, undefined, 'stop')]
  const params = {
    model: 'gpt-4o-mini',
    n: 2,
    seed: 7,
    messages: [{ role: 'user', content: 'Tell me a fact about the sea' }],
  }

  it('every choice seen must have a finish_reason', () => {
    expect(isCompleteStream(cut, 'openai-chat')).toBe(false)
    expect(isCompleteStream(both, 'openai-chat')).toBe(true)
    expect(isCompleteStream(onlyFirst, 'openai-chat')).toBe(true)
    // A final usage chunk with no choices changes nothing.
    expect(isCompleteStream([...both, { id: 'c1', choices: [], usage: {} }], 'openai-chat')).toBe(
      true
    )
  })

  it('createLlmCache stores only streams where all n choices finished', async () => {
    for (const [events, stored] of [
      [cut, false],
      [onlyFirst, false],
      [both, true],
    ] as const) {
      const llm = createLlmCache(createCache(), { provider: 'openai', protocol: 'openai-chat' })
      async function* upstream() {
        yield* events
      }
      await collect((await llm.stream(params, { scope: 'u' }, () => upstream())).stream)
      const again = await llm.stream(params, { scope: 'u' }, () => upstream())
      await collect(again.stream)
      expect({ events: events.length, status: again.status }).toEqual({
        events: events.length,
        status: stored ? 'HIT' : 'MISS',
      })
    }
  })
})

describe('SharedStream', () => {
  it('once every consumer left, it is abandoned: onAbandon runs at once, subscribe() throws AbortError', async () => {
    let abandoned = 0
    let release: () => void = () => undefined
    async function* upstream() {
      yield 'a'
      yield 'b'
      // The next provider chunk has not arrived yet: the abort is seen only when it does.
      await new Promise<void>((resolve) => {
        release = resolve
      })
      yield 'c'
      yield 'END'
    }
    const shared = new SharedStream(upstream(), () => {
      abandoned++
    })
    for await (const e of shared.subscribe()) if (e === 'b') break
    expect(abandoned).toBe(1)
    expect(shared.abandoned).toBe(true)
    expect(() => shared.subscribe()).toThrow(expect.objectContaining({ name: 'AbortError' }))
    release()
    expect(await shared.finished).toBe(false)
    expect(() => shared.subscribe()).toThrow(expect.objectContaining({ name: 'AbortError' }))
    expect(shared.recorded).toEqual(['a', 'b'])
  })

  it('a consumer that returns or throws before its first next() still leaves: the last one abandons it', async () => {
    for (const leave of ['return', 'throw'] as const) {
      let abandoned = 0
      async function* upstream() {
        yield 'a'
        await new Promise(() => undefined)
      }
      const shared = new SharedStream(upstream(), () => {
        abandoned++
      })
      const first = shared.subscribe()[Symbol.asyncIterator]()
      const second = shared.subscribe()[Symbol.asyncIterator]()
      await first.return?.()
      expect(abandoned).toBe(0)
      if (leave === 'return') await second.return?.()
      else await expect(second.throw?.(new Error('client gone'))).rejects.toThrow('client gone')
      expect({ leave, abandoned, flag: shared.abandoned }).toEqual({
        leave,
        abandoned: 1,
        flag: true,
      })
      // Leaving twice counts once; a left consumer reads nothing more.
      await second.return?.()
      expect(abandoned).toBe(1)
      expect(await second.next()).toEqual({ done: true, value: undefined })
    }
  })

  it('a consumer still reading when the others leave keeps it going to the end', async () => {
    let abandoned = 0
    async function* upstream() {
      yield* ['a', 'b', 'c', 'END']
    }
    const shared = new SharedStream(upstream(), () => {
      abandoned++
    })
    const stays = collect(shared.subscribe())
    for await (const e of shared.subscribe()) if (e === 'a') break
    expect(await stays).toEqual(['a', 'b', 'c', 'END'])
    expect(await shared.finished).toBe(true)
    expect(abandoned).toBe(0)
    // A late subscriber of a finished stream gets the whole recording.
    expect(await collect(shared.subscribe())).toEqual(['a', 'b', 'c', 'END'])
  })
})

describe('recordStream / replayStream', () => {
  async function* source(events: unknown[], fail?: Error) {
    for (const e of events) yield e
    if (fail) throw fail
  }
  const complete = [
    { type: 'message_start' },
    { type: 'content_block_delta' },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' } },
    { type: 'message_stop' },
  ]

  it('passes events through as the same objects and records only a complete stream', async () => {
    const stored: unknown[][] = []
    const out = await collect(
      recordStream(source(complete), {
        protocol: 'anthropic',
        onComplete: (e) => void stored.push(e),
      })
    )
    expect(out[0]).toBe(complete[0])
    expect(stored).toEqual([complete])
  })

  it('does not record a stream without its final event, with an error event, that threw, or aborted', async () => {
    const stored: unknown[][] = []
    const onComplete = (e: unknown[]) => void stored.push(e)
    await collect(recordStream(source(complete.slice(0, 3)), { protocol: 'anthropic', onComplete }))
    await collect(
      recordStream(source([...complete, { type: 'error' }]), { protocol: 'anthropic', onComplete })
    )
    await expect(
      collect(
        recordStream(source(complete, new Error('cut')), { protocol: 'anthropic', onComplete })
      )
    ).rejects.toThrow('cut')
    const controller = new AbortController()
    controller.abort()
    await collect(
      recordStream(source(complete), {
        protocol: 'anthropic',
        onComplete,
        signal: controller.signal,
      })
    )
    expect(stored).toEqual([])
  })

  it('replays with pacing: the next event waits for the delay', async () => {
    vi.useFakeTimers()
    try {
      const iterator = replayStream([1, 2], { delayMs: 15 })[Symbol.asyncIterator]()
      expect(await iterator.next()).toEqual({ value: 1, done: false })
      let second: IteratorResult<number> | undefined
      const pending = iterator.next().then((r) => {
        second = r
      })
      await vi.advanceTimersByTimeAsync(14)
      expect(second).toBeUndefined()
      await vi.advanceTimersByTimeAsync(1)
      await pending
      expect(second).toEqual({ value: 2, done: false })
    } finally {
      vi.useRealTimers()
    }
  })
})
