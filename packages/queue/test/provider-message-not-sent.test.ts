/**
 * What a failed job tells the end user. The kit's rule (core errors.ts): an upstream's message never
 * reaches the end user. A provider 401's message names the SERVER's API key (`Incorrect API key
 * provided: sk-proj-****…6gEA`); others quote the request. `JobFailedError` (message and details)
 * and the follower's `error` event carry a generic text per status class; the provider's own
 * message reaches the operators only (the error BullMQ's `failed` event gets, as its `cause`).
 */
import { errorBody } from '@aikit/core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { ProviderStreamError } from '../src/call.js'
import { describeFailure } from '../src/retry.js'
import { collect, type Harness, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

it("a provider 401's message (naming the server's API key) is not sent to the end user", async () => {
  const name = h.name()
  const queue = h.queue({ name })
  const worker = h.worker({ name })
  const failed: unknown[] = []
  worker.worker.on('failed', (_job, error) => failed.push(error))
  const leaked =
    'Incorrect API key provided: sk-proj-AbCd************************************6gEA. You can find your API key at https://platform.openai.com/account/api-keys.'
  h.provider.failNext(1, {
    status: 401,
    body: {
      error: {
        message: leaked,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    },
  })
  const { jobId } = await queue.enqueue({
    provider: 'openai',
    api: 'chat',
    subject: 'u',
    params: { model: 'gpt-4o-mini', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] },
  })
  const error = await queue.result(jobId, { timeout: '15s' }).then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toMatchObject({ code: 'LLM_JOB_FAILED', jobError: { status: 401 } })
  const events = await collect(queue.follow(jobId))
  const toClient = JSON.stringify(errorBody(error)) + JSON.stringify(events)
  expect(toClient).not.toContain('6gEA')
  expect(toClient).not.toContain('sk-proj-')
  // The operators still get the provider's words.
  await vi.waitFor(() => expect(failed).toHaveLength(1), { timeout: 10_000 })
  expect(String((failed[0] as Error).cause)).toContain('6gEA')
}, 30_000)

it('no provider message is kept in a failure description, whatever its status', () => {
  const secret = 'quoted: the user prompt and sk-proj-XYZ'
  const sdkError = (status: number) =>
    Object.assign(new Error(secret), { status, error: { error: { type: 't', message: secret } } })
  for (const status of [400, 401, 403, 404, 422, 429, 500, 503, 529]) {
    const failure = describeFailure(sdkError(status), 1)
    expect(failure).toMatchObject({ status, code: 't' })
    expect(failure.message).not.toContain('sk-proj')
  }
  const inStream = describeFailure(
    new ProviderStreamError({ code: 'invalid_prompt', message: secret }),
    1
  )
  expect(inStream).toMatchObject({ code: 'invalid_prompt' })
  expect(inStream.message).not.toContain('sk-proj')
})
