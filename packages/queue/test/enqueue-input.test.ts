/**
 * `enqueue` refuses, with InvalidRequestError (400), params a queued job cannot carry: params that
 * are not JSON data, and a Chat request for several choices (a job streams one text).
 */
import { InvalidRequestError } from '@aikit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const errorOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e
  )

describe('params that are not JSON data', () => {
  // They used to reach the key's hashing: a raw TypeError (BigInt) or RangeError (cycle), a 500.
  it('a BigInt, a cycle or a function in params is refused with InvalidRequestError (400) naming it', async () => {
    const q = h.queue({ name: h.name() })
    const circular: Record<string, unknown> = { ...messages('x') }
    circular.metadata = { self: circular }
    const cases: [Record<string, unknown>, string][] = [
      [{ ...messages('x'), metadata: { user_id: 10n } }, 'params.metadata.user_id'],
      [circular, 'params.metadata.self'],
      [{ ...messages('x'), metadata: { f: () => 1 } }, 'params.metadata.f'],
    ]
    for (const [params, field] of cases) {
      const error = await errorOf(
        q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'bad', params })
      )
      expect(error).toBeInstanceOf(InvalidRequestError)
      expect(error).toMatchObject({ status: 400, details: { field } })
    }
    expect(await q.queue.count()).toBe(0)
  })

  it('shared (not circular) objects and undefined members are fine', async () => {
    const q = h.queue({ name: h.name() })
    const shared = { role: 'user', content: 'same' }
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'ok',
      params: { ...messages('x'), messages: [shared, shared], metadata: undefined },
    })
    expect(typeof jobId).toBe('string')
  })
})

describe('a Chat Completions job asks for one choice', () => {
  // A streamed answer with `n` choices interleaves them: the job's text mixed the choices word
  // by word, an answer no choice gave. A queued job streams one text: `n > 1` is refused.
  it('n > 1 is refused at enqueue with InvalidRequestError (400) naming `n`', async () => {
    const q = h.queue({ name: h.name() })
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }
    const error = await errorOf(
      q.enqueue({ provider: 'openai', api: 'chat', subject: 'nn', params: { ...chat, n: 2 } })
    )
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect(error).toMatchObject({ status: 400, details: { field: 'n' } })
    expect((error as Error).message).toContain('n')
    expect(await q.queue.count()).toBe(0)
    const one = await q.enqueue({
      provider: 'openai',
      api: 'chat',
      subject: 'nn',
      params: { ...chat, n: 1 },
    })
    expect(one.deduplicated).toBe(false)
  })
})
