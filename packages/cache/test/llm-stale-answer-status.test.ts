/**
 * `createLlmCache(…).complete()` reports how a call was served (`HIT | MISS | COALESCED | BYPASS`)
 * and counts hits / misses / tokens saved. On a cache with `staleWhileRevalidate`, a call answered
 * with the stale cached answer (the refresh runs in the background) is reported as a `MISS` and
 * counted as a miss, with no tokens saved, when the cache has no store: the background refresh's
 * fetcher runs synchronously inside `getOrSet` and flips the call's `fetched` flag.
 */
import { createCache, createLlmCache } from '@aikit/cache'
import { describe, expect, it } from 'vitest'

const answer = (text: string) => ({
  type: 'message',
  role: 'assistant',
  content: [{ type: 'text', text }],
  stop_reason: 'end_turn',
  usage: { input_tokens: 10, output_tokens: 5 },
})

describe('createLlmCache complete() with stale-while-revalidate', () => {
  it('an answer served stale from the cache is not reported as a MISS', async () => {
    let clock = 1_000_000
    const cache = createCache({
      ttl: 1000,
      staleWhileRevalidate: 60_000,
      jitter: 0,
      now: () => clock,
    })
    const llm = createLlmCache(cache)
    const params = { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] }
    let calls = 0
    const call = async () => answer(`answer ${++calls}`)
    const first = await llm.complete(params, { scope: 'u1' }, call)
    expect(first.status).toBe('MISS')
    clock += 2000 // past ttl, inside the SWR window
    const second = await llm.complete(params, { scope: 'u1' }, call)
    // The caller got the cached (stale) answer, not a fresh provider answer...
    expect(second.value.content[0]?.text).toBe('answer 1')
    // ...yet it is labelled and counted as a miss.
    expect(second.status).not.toBe('MISS')
    expect(llm.stats().misses).toBe(1)
    expect(llm.stats().outputTokensSaved).toBe(5)
  })
})
