/**
 * A Responses stream that ends with `response.failed` is a provider failure (as `@aikit/llm`
 * reads it): never a completed job with the text streamed before it. Retried when its code is a
 * transient one (`server_error`, …), failed at once when it names the request (`invalid_prompt`, …).
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
      details: {
        code: 'server_error',
        message: 'The provider reported a failure in the stream',
        attempts: 1,
      },
    })
  })

  it('with a code that can never succeed (invalid_prompt, a policy violation, a bad image) fails the job at once', async () => {
    for (const code of ['invalid_prompt', 'image_content_policy_violation', 'invalid_image_url']) {
      const name = h.name()
      const q = h.queue({ name, backoffDelay: 10 })
      h.worker({ name })
      h.provider.reset()
      h.provider.answerNext(1, { failure: { code, message: 'will never pass' } })
      const { jobId } = await q.enqueue({
        provider: 'openai',
        api: 'responses',
        subject: 'rf',
        params: { model: 'gpt-4o-mini', input: `never ${code}` },
      })
      await expect(q.result(jobId), code).rejects.toMatchObject({
        code: 'LLM_JOB_FAILED',
        details: { code, message: 'The provider reported a failure in the stream', attempts: 1 },
      })
      expect(h.provider.count('/v1/responses'), code).toBe(1)
    }
  })

  it('with a transient code (rate_limit_exceeded, vector_store_timeout) is retried', async () => {
    for (const code of ['rate_limit_exceeded', 'vector_store_timeout']) {
      const name = h.name()
      const q = h.queue({ name, backoffDelay: 10 })
      h.worker({ name })
      h.provider.reset()
      h.provider.answerNext(1, { failure: { code, message: 'try again' } })
      const { jobId } = await q.enqueue({
        provider: 'openai',
        api: 'responses',
        subject: 'rf',
        params: { model: 'gpt-4o-mini', input: `again ${code}` },
      })
      expect((await q.result(jobId)).attempts, code).toBe(2)
    }
  })
})
