/**
 * An ioredis client with `keyPrefix` is refused by the queue and the worker with
 * `InvalidOptionsError` naming `connection` (BullMQ's own refusal was a plain Error), and a worker
 * whose construction throws leaves nothing running: it announced its APIs (a key every 5 s, for
 * good) before BullMQ refused the client.
 */
import { InvalidOptionsError } from '@aikit/core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  return undefined
}

it('createLlmQueue refuses a keyPrefix client naming connection', () => {
  const error = thrown(() => h.queue({ connection: h.redis.client({ keyPrefix: 'app:' }) }))
  expect(error).toBeInstanceOf(InvalidOptionsError)
  expect((error as InvalidOptionsError).field).toBe('connection')
})

it('createLlmWorker refuses it too, and leaves no announce key behind', async () => {
  const error = thrown(() =>
    h.worker({ connection: h.redis.client({ keyPrefix: 'app:' }), name: h.name() })
  )
  expect(error).toBeInstanceOf(InvalidOptionsError)
  expect((error as InvalidOptionsError).field).toBe('connection')
  await new Promise((r) => setTimeout(r, 500))
  expect(await h.redis.client().keys('*workers*')).toEqual([])
})
