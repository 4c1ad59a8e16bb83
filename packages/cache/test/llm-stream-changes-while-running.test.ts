/**
 * `createLlmCache().stream()` stores a streamed answer as a fill started with the stream: its entry
 * is as old as the request that produced it, as a `getOrSet` fill's is as old as its fetch. An
 * answer recorded before a `clear()` used to be written after it, stamped with the write's time,
 * and replayed as a HIT. Now a `clear()` (of the namespace or a parent) made while the stream runs
 * leaves it out of date, on this instance and on others sharing the store. A stream no change met
 * is stored as before, also right after an identical one was abandoned.
 */
import { createCache, createLlmCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const params = {
  model: 'claude-fake-model',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user', content: 'Summarise the policy' }],
}

const events = (text: string) => [
  {
    type: 'message_start',
    message: {
      id: 'm',
      type: 'message',
      role: 'assistant',
      model: 'claude-fake-model',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 5, output_tokens: 1 },
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } },
  { type: 'message_stop' },
]

async function drain(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const event of stream) out.push(event)
  return out
}

/** A provider stream that sends its first event, then the rest once `release()` is called. */
function gated(text: string) {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let started!: () => void
  const first = new Promise<void>((resolve) => {
    started = resolve
  })
  const call = async function* () {
    const all = events(text)
    yield all[0]
    started()
    await gate
    yield* all.slice(1)
  }
  return { call, release, first }
}

const whole = (text: string) =>
  async function* () {
    yield* events(text)
  }

type Llm = ReturnType<typeof createLlmCache>
const ask = (llm: Llm, call: () => AsyncIterable<unknown>) =>
  llm.stream(params, { scope: 'u' }, call)

describe('stream() on one instance', () => {
  it.each([
    [
      'its namespace',
      (_root: ReturnType<typeof createCache>, space: { clear(): Promise<void> }) => space.clear(),
    ],
    ['a parent namespace', (root: ReturnType<typeof createCache>) => root.clear()],
  ])('an answer recorded while %s was cleared is not replayed', async (_name, clear) => {
    const root = createCache()
    const space = root.namespace('llm')
    const llm = createLlmCache(space, { provider: 'anthropic' })
    const { call, release, first } = gated('read before the clear')
    const reading = drain((await ask(llm, call)).stream)
    await first
    await clear(root, space)
    release()
    expect(await reading).toHaveLength(6)
    const second = await ask(llm, whole('fresh answer'))
    expect(second.status).toBe('MISS')
    await drain(second.stream)
    // The fresh one is stored.
    const third = await ask(llm, whole('unused'))
    expect(third.status).toBe('HIT')
    expect(JSON.stringify(await drain(third.stream))).toContain('fresh answer')
  })

  it('an answer no change met is replayed once its stream has been read', async () => {
    const llm = createLlmCache(createCache().namespace('llm'), { provider: 'anthropic' })
    const { call, release, first } = gated('kept')
    const reading = drain((await ask(llm, call)).stream)
    await first
    release()
    await reading
    expect((await ask(llm, whole('unused'))).status).toBe('HIT')
  })

  it('a stream started right after an identical one was abandoned is stored', async () => {
    const llm = createLlmCache(createCache().namespace('llm'), { provider: 'anthropic' })
    const cut = gated('never finished')
    const abandoned = await ask(llm, cut.call)
    const iterator = abandoned.stream[Symbol.asyncIterator]()
    await iterator.next()
    await iterator.return?.()
    // At once, before the abandoned call's own bookkeeping has settled.
    const next = await ask(llm, whole('the answer'))
    expect(next.status).toBe('MISS')
    await drain(next.stream)
    cut.release()
    const hit = await ask(llm, whole('unused'))
    expect(hit.status).toBe('HIT')
    expect(JSON.stringify(await drain(hit.stream))).toContain('the answer')
  })
})

describe('stream() on instances sharing Redis', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })

  /** One app instance; instances of one test share `prefix`. */
  async function app(prefix: string) {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const cache = createCache({
      store: redisStore(client, { prefix, commandTimeoutMs: 2000 }),
    })
    const space = cache.namespace('llm')
    await cache.get('warm-up')
    return { space, llm: createLlmCache(space, { provider: 'anthropic' }) }
  }

  it('an answer recorded on one instance while another cleared is replayed by none', async () => {
    const a = await app('cleared')
    const b = await app('cleared')
    const { call, release, first } = gated('read before the clear')
    const reading = drain((await ask(a.llm, call)).stream)
    await first
    // Mid-stream: instances' clocks (the Redis server's, as each measured it) agree to about a
    // millisecond (to half a measurement's round trip, more on a loaded runner), so a clear made
    // in the very millisecond the stream started may not follow it: well apart.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await b.space.clear()
    release()
    await reading
    const c = await app('cleared')
    const onC = await ask(c.llm, whole('fresh answer'))
    expect(onC.status).toBe('MISS')
    await drain(onC.stream)
    // What B gets now is the answer read after the clear (A, without a bus, keeps its memory
    // entry until its ttl, as for any entry).
    const onB = await ask(b.llm, whole('unused'))
    expect(JSON.stringify(await drain(onB.stream))).toContain('fresh answer')
  })

  it('an answer no change met is replayed by another instance', async () => {
    const a = await app('kept')
    const { call, release, first } = gated('kept')
    const reading = drain((await ask(a.llm, call)).stream)
    await first
    release()
    await reading
    const b = await app('kept')
    const hit = await ask(b.llm, whole('unused'))
    expect(hit.status).toBe('HIT')
    expect(JSON.stringify(await drain(hit.stream))).toContain('kept')
  })
})
