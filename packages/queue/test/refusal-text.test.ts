/**
 * An OpenAI model that declines streams its answer as `delta.refusal` (Chat) or
 * `response.refusal.delta` (Responses): it is the job's text and its followers' tokens (the job
 * used to complete with `text: ''`, the refusal lost).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, type Harness, lastRunText, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('an OpenAI refusal', () => {
  it.each([
    ['chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'do it' }] }],
    ['responses', { model: 'gpt-4o-mini', input: 'do it' }],
  ] as const)('reaches the result and the followers (%s)', async (api, params) => {
    const name = h.name()
    const q = h.queue({ name })
    h.worker({ name })
    h.provider.reset()
    h.provider.answerNext(1, { refusal: 'I will not do that.' })
    const { jobId } = await q.enqueue({ provider: 'openai', api, subject: 'rf', params })
    const events = collect(q.follow(jobId))
    const result = await q.result(jobId)
    expect({ result: result.text, followers: lastRunText(await events) }).toEqual({
      result: 'I will not do that.',
      followers: 'I will not do that.',
    })
  })
})
