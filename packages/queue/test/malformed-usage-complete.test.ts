/**
 * A stream that ran to its end (`message_stop`, the Chat usage chunk) with malformed usage figures
 * is a complete, billed answer: settled with the estimate, not called again. The worker used to
 * read it as cut short: billed once more per attempt, then failed although every run succeeded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('a complete stream with a malformed usage figure', () => {
  it('Anthropic: completes on its first attempt (not retried as a cut stream)', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 2, backoffDelay: 10 })
    h.worker({ name })
    h.provider.reset()
    h.provider.answerNext(2, { usage: { outputTokens: -1 } })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'mu',
      params: messages('bad usage'),
    })
    const events = collect(q.follow(jobId))
    const outcome = await q.result(jobId).then(
      (r) => ({ text: r.text, attempts: r.attempts }),
      (e: { code?: string; details?: unknown }) => ({ failed: e.code, details: e.details })
    )
    expect({
      outcome,
      calls: h.provider.count('/v1/messages'),
      retries: (await events).filter((e) => e.type === 'retry').length,
    }).toEqual({ outcome: { text: 'Echo: bad usage', attempts: 1 }, calls: 1, retries: 0 })
  })

  it('Chat Completions: completes on its first attempt (not retried as a cut stream)', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 2, backoffDelay: 10 })
    h.worker({ name })
    h.provider.reset()
    h.provider.answerNext(2, { usage: { outputTokens: 1.5 } })
    const { jobId } = await q.enqueue({
      provider: 'openai',
      api: 'chat',
      subject: 'mu',
      params: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'bad usage' }] },
    })
    const outcome = await q.result(jobId).then(
      (r) => ({ text: r.text, attempts: r.attempts }),
      (e: { code?: string }) => ({ failed: e.code })
    )
    expect({ outcome, calls: h.provider.count('/v1/chat/completions') }).toEqual({
      outcome: { text: 'Echo: bad usage', attempts: 1 },
      calls: 1,
    })
  })
})
