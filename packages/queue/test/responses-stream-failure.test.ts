/**
 * A Responses stream that ends with `response.failed` is a provider failure (as `@aikit/llm`
 * reads it), retried like a 5xx: never a completed job with the text streamed before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, type Harness, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('a Responses stream that ends with `response.failed`', () => {
  it('is retried as a provider failure, not stored as a completed job', async () => {
    const name = h.name()
    const q = h.queue({ name, backoffDelay: 10 })
    h.worker({ name })
    h.provider.reset()
    h.provider.answerNext(1, { failure: { code: 'server_error', message: 'model crashed' } })
    const { jobId } = await q.enqueue({
      provider: 'openai',
      api: 'responses',
      subject: 'rf',
      params: { model: 'gpt-4o-mini', input: 'hello there' },
    })
    const events = collect(q.follow(jobId))
    const result = await q.result(jobId)
    expect(result.attempts).toBe(2)
    const seen = await events
    expect(seen.filter((e) => e.type === 'done' && e.run === 1)).toEqual([])
    expect(seen.some((e) => e.type === 'retry')).toBe(true)
  })

  it('fails for good with the failure the stream reported once no attempt is left', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 1 })
    h.worker({ name })
    h.provider.reset()
    h.provider.answerNext(1, { failure: { code: 'server_error', message: 'model crashed' } })
    const { jobId } = await q.enqueue({
      provider: 'openai',
      api: 'responses',
      subject: 'rf',
      params: { model: 'gpt-4o-mini', input: 'hello again' },
    })
    await expect(q.result(jobId)).rejects.toMatchObject({
      code: 'LLM_JOB_FAILED',
      details: { code: 'server_error', message: 'model crashed', attempts: 1 },
    })
  })
})
