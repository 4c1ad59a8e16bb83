/**
 * A streamed call given up before its first read (its signal aborts, or its controller) is freed.
 * Before, each one stayed in memory for good (~16 KB): the controller of the SDK request was
 * aborted without a reason (by the wrapper, or by the SDK's listener on the signal the wrapper
 * gave it, the wrapper's frames on the stack), so its `AbortError` kept an unformatted stack
 * holding those frames' objects, the response body among them; the Anthropic SDK keeps that
 * controller in a FinalizationRegistry keyed by the body, which could then never be collected.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(async () => {
  await fake?.close()
})

const CALLS = 40

/**
 * How many of the calls' response bodies are still reachable, collecting until at most `most` are
 * (the aborted requests' teardown may still hold the last ones on a loaded runner) or 10 s passed.
 */
async function alive(bodies: WeakRef<object>[], most: number): Promise<number> {
  let count = bodies.length
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    gc()
    await new Promise((r) => setTimeout(r, 50))
    count = bodies.filter((body) => body.deref() !== undefined).length
    if (count <= most) break
  }
  return count
}

describe('a stream given up before its first read', () => {
  for (const how of ['its signal aborts', 'its controller aborts'] as const) {
    it(`is freed when ${how}`, async () => {
      const client = wrapAnthropic(
        new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 }),
        { subject: 'app' }
      )
      const bodies: WeakRef<object>[] = []
      for (let i = 0; i < CALLS; i++) {
        const own = new AbortController()
        const { data: stream, response } = await client.messages
          .create(
            {
              model: 'claude-haiku-4-5',
              max_tokens: 64,
              stream: true,
              messages: [{ role: 'user', content: `dropped ${i}` }],
            },
            { signal: own.signal }
          )
          .withResponse()
        expect(response.body).not.toBeNull()
        bodies.push(new WeakRef(response.body as object))
        if (how === 'its signal aborts') own.abort()
        else stream.controller.abort()
        await new Promise((r) => setImmediate(r))
      }
      // All but a stray one or two (a collection may run mid-teardown) are gone: before, all were kept.
      expect(await alive(bodies, 2)).toBeLessThanOrEqual(2)
    }, 30_000)
  }
})
