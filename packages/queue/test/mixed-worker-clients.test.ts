/**
 * Workers of one queue may each have only some of the clients (`clients` is `{ anthropic?, openai? }`,
 * at least one). A worker that fetches a job it has no client for hands it back without using an
 * attempt while another worker on the queue can run it: every job completes. When no worker on the
 * queue has the client, the job fails for good with code `NO_CLIENT` (no provider status: the
 * provider was never called), not as a provider's 400.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { MissingClientError } from '../src/call.js'
import { describeFailure } from '../src/retry.js'
import { collect, type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const chat = (text: string) => ({
  model: 'gpt-4o-mini',
  max_tokens: 64,
  messages: [{ role: 'user', content: text }],
})

it('every job completes when each provider has a worker on the queue', async () => {
  const name = h.name()
  const queue = h.queue({ name })
  h.worker({ name, clients: { anthropic: h.anthropic() } })
  h.worker({ name, clients: { openai: h.openai() } })
  const jobs: string[] = []
  for (let i = 0; i < 4; i++) {
    jobs.push(
      (
        await queue.enqueue({
          provider: 'anthropic',
          api: 'messages',
          subject: 'u',
          params: messages(`a${i}`),
        })
      ).jobId,
      (
        await queue.enqueue({
          provider: 'openai',
          api: 'chat',
          subject: 'u',
          params: chat(`o${i}`),
        })
      ).jobId
    )
  }
  // A job a worker hands back waits for BullMQ's next fetch by the other worker (seconds, longer
  // on a loaded runner): 20 s was once not enough for one of eight.
  const outcomes = await Promise.all(
    jobs.map((id) =>
      queue.result(id, { timeout: '45s' }).then(
        () => 'done',
        (e: Error & { jobError?: { message?: string } }) =>
          `failed: ${e.jobError?.message ?? e.message}`
      )
    )
  )
  expect(outcomes).toEqual(jobs.map(() => 'done'))
}, 60_000)

it('a job handed back by a worker without its client uses no attempt', async () => {
  const name = h.name()
  const queue = h.queue({ name, attempts: 1 })
  // Only the OpenAI worker is up when the job is enqueued: it fetches the job first.
  h.worker({ name, clients: { openai: h.openai() } })
  const { jobId } = await queue.enqueue({
    provider: 'anthropic',
    api: 'messages',
    subject: 'u',
    params: messages('handed back'),
  })
  await new Promise((r) => setTimeout(r, 1500))
  h.worker({ name, clients: { anthropic: h.anthropic() } })
  const result = await queue.result(jobId, { timeout: '20s' })
  expect(result.text).toContain('handed back')
  expect(result.attempts).toBe(1)
  // Followers saw one run: the hand-back published nothing.
  const events = await collect(queue.follow(jobId))
  expect(events.filter((e) => e.type === 'start')).toHaveLength(1)
}, 30_000)

it('a job no worker on the queue has the client for fails with NO_CLIENT', async () => {
  const name = h.name()
  const queue = h.queue({ name })
  h.worker({ name, clients: { openai: h.openai() } })
  const { jobId } = await queue.enqueue({
    provider: 'anthropic',
    api: 'messages',
    subject: 'u',
    params: messages('nobody'),
  })
  const calls = h.provider.count('/v1/messages')
  const error = (await queue.result(jobId, { timeout: '40s' }).then(
    () => undefined,
    (e: unknown) => e
  )) as { code?: string; jobError?: { code: string; status?: number; message: string } }
  expect(error?.code).toBe('LLM_JOB_FAILED')
  expect(error.jobError?.code).toBe('NO_CLIENT')
  expect(error.jobError?.status).toBeUndefined()
  expect(error.jobError?.message).not.toMatch(/provider answered/i)
  expect(h.provider.count('/v1/messages')).toBe(calls)
  const events = await collect(queue.follow(jobId))
  expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'NO_CLIENT' } })
}, 60_000)

it('a missing client is described as NO_CLIENT, not as a provider answer', () => {
  const failure = describeFailure(new MissingClientError('anthropic'), 1)
  expect(failure.code).toBe('NO_CLIENT')
  expect(failure.status).toBeUndefined()
  expect(failure.message).not.toMatch(/provider answered/i)
})
