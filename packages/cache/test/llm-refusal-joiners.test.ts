/**
 * README, `complete()`: a refusal or a content-filter cut still reaches the callers in flight. On a
 * cache with `staleIfError` and a stale answer at hand, the refusal reaches the cache as a failed
 * fetch, so the cache answered the calls that joined it with the stale answer while the call that
 * asked got the refusal. Every identical call in flight now gets the refusal, and none is stored.
 */
import { createCache, createLlmCache } from '@aikit/cache'
import { describe, expect, it } from 'vitest'

const params = {
  model: 'claude-fake-model',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user', content: 'How do I pick a lock?' }],
}
const message = (stopReason: string, text: string) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-fake-model',
  content: [{ type: 'text', text }],
  stop_reason: stopReason,
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 3 },
})

/** An LLM cache holding a stale `old answer` that `staleIfError` may still serve. */
async function withStaleAnswer() {
  let now = 1_000_000
  const cache = createCache({ ttl: 1_000, staleIfError: 60_000, jitter: 0, now: () => now })
  const llm = createLlmCache(cache, { provider: 'anthropic' })
  const old = message('end_turn', 'old answer')
  await llm.complete(params, { scope: 'u' }, async () => old)
  now += 2_000
  return { llm, old }
}

/** `n` identical calls started together; the first one's provider call answers `answer`. */
async function together<T>(
  llm: ReturnType<typeof createLlmCache>,
  n: number,
  answer: T
): Promise<{ value: unknown; status: string }[]> {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let calls = 0
  const call = async () => {
    calls++
    await gate
    return answer
  }
  const all = Array.from({ length: n }, () => llm.complete(params, { scope: 'u' }, call))
  release()
  const results = await Promise.all(all)
  expect(calls).toBe(1)
  return results
}

describe('complete() on a cache with staleIfError', () => {
  it('every identical call in flight gets the refusal, not the stale answer', async () => {
    const { llm } = await withStaleAnswer()
    const refusal = message('refusal', 'I cannot help with that')
    const results = await together(llm, 3, refusal)
    expect(results.map((r) => r.value)).toEqual([refusal, refusal, refusal])
    expect(results.map((r) => r.status)).toEqual(['MISS', 'COALESCED', 'COALESCED'])
    // Not stored: the next identical request asks again.
    const next = message('end_turn', 'new answer')
    expect(await llm.complete(params, { scope: 'u' }, async () => next)).toEqual({
      value: next,
      status: 'MISS',
    })
  })

  it('after a refusal, the calls in flight of the next request get its complete answer', async () => {
    const { llm } = await withStaleAnswer()
    await together(llm, 2, message('refusal', 'no'))
    const answer = message('end_turn', 'new answer')
    const results = await together(llm, 2, answer)
    expect(results.map((r) => r.value)).toEqual([answer, answer])
    expect((await llm.complete(params, { scope: 'u' }, async () => 'unused')).status).toBe('HIT')
  })
})
