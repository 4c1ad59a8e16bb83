/**
 * `createLlmCache`'s `ttl` (longer than the cache's) on instances sharing Redis. A tag's
 * invalidation time (a `clear()`) is kept in the store as long as an entry written before it may
 * live; each instance bounds that by the lifetimes it knows of. `cacheResponse` declares its per-call
 * `ttl` to the cache; `createLlmCache` did not, so a `clear()` made on an instance that had not
 * itself written an LLM answer expired from Redis after the cache-wide ttl, and the cleared answers
 * were served again. `createLlmCache` now declares its `ttl` when it is created.
 */
import { createCache, createLlmCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

const params = {
  model: 'claude-fake-model',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user', content: 'Summarise the policy' }],
}
const answer = (text: string) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-fake-model',
  content: [{ type: 'text', text }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 3 },
})

/** One app instance: the same code everywhere (cache ttl 1 s, LLM answers kept 1 h). */
async function app() {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const cache = createCache({
    store: redisStore(client, { prefix: 'llm-ttl', commandTimeoutMs: 2000 }),
    ttl: 1_000,
    jitter: 0,
  })
  const llmSpace = cache.namespace('llm')
  const llm = createLlmCache(llmSpace, { provider: 'anthropic', ttl: 3_600_000 })
  await cache.get('warm-up')
  return { client, llmSpace, llm }
}

describe('createLlmCache with a ttl longer than the cache ttl', () => {
  it('a clear() on an instance that wrote no answer keeps them cleared as long as they live', async () => {
    const a = await app()
    expect((await a.llm.complete(params, { scope: 'u' }, async () => answer('old'))).status).toBe(
      'MISS'
    )
    const b = await app()
    // Well after A's answer: each instance stamps on its own estimate of Redis's clock, and two
    // new instances' estimates can disagree by a few ms (more on a loaded runner).
    await sleep(300)
    await b.llmSpace.clear()
    // The clear's time is kept in Redis at least as long as the answers (1 h), not 1 s + 1 s.
    const tagKeys = (await b.client.keys('llm-ttl*')).filter((key) => key.endsWith(':tag'))
    expect(tagKeys).toHaveLength(1)
    expect(await b.client.pttl(tagKeys[0] as string)).toBeGreaterThan(3_600_000 - 60_000)
    // Past the cache-wide ttl and the tag time's old lifetime: still cleared for a new instance.
    await sleep(2_500)
    const c = await app()
    const after = await c.llm.complete(params, { scope: 'u' }, async () => answer('newer'))
    expect(after.status).toBe('MISS')
    expect(after.value.content[0]?.text).toBe('newer')
  })
})
