// A call made in a request with a signal of its own (an agent loop's, the process's) joins the two
// signals for the call, and unlinks the joined signal from both once the call is over (a stream:
// once its reader is done): a long-lived signal keeps nothing per call. Not `AbortSignal.any`,
// which on Node 20 (nodejs/node#55351) leaves an entry on its sources for every call, for good.
// Either signal still aborts the call, and a stream read after its call resolved, with its reason.
import { getEventListeners } from 'node:events'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { collectGarbage } from '@aikit/testing/heap'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { inRequest } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: text }],
})

/** The size of the signal's dependant set (`AbortSignal.any` adds one entry per composite). */
function dependants(signal: AbortSignal): number {
  const sym = Object.getOwnPropertySymbols(signal).find(
    (s) => s.toString() === 'Symbol(kDependantSignals)'
  )
  const set =
    sym === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown>>)[sym]
  return set?.size ?? 0
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length

describe('a long-lived caller signal joined with each request signal', () => {
  for (const stream of [false, true]) {
    it(`keeps nothing per call once calls are over (stream ${stream})`, async () => {
      const client = wrapAnthropic(raw, { coalesce: false })
      const agent = new AbortController() // an agent loop's / the process's signal
      for (let i = 0; i < 60; i++) {
        await inRequest({}, async () => {
          if (stream) {
            const s = await client.messages.create(
              { ...params(`s ${i}`), stream: true },
              { signal: agent.signal }
            )
            for await (const _ of s) {
              // drain
            }
          } else {
            await client.messages.create(params(`m ${i}`), { signal: agent.signal })
          }
        })
      }
      await new Promise((r) => setTimeout(r, 50))
      for (let i = 0; i < 3; i++) {
        collectGarbage()
        await new Promise((r) => setTimeout(r, 10))
      }
      expect(listeners(agent.signal)).toBe(0)
      expect(dependants(agent.signal)).toBeLessThan(10)
    }, 60_000)
  }

  for (const which of ['caller', 'request'] as const) {
    it(`the ${which}'s signal aborts a stream read after its call resolved, with its reason`, async () => {
      const client = wrapAnthropic(raw, { coalesce: false })
      const agent = new AbortController()
      const request = new AbortController()
      const hold = fake.holdStreamAfter(2)
      const s = await inRequest(
        {},
        () =>
          client.messages.create(
            { ...params(`abort ${which}`), stream: true },
            { signal: agent.signal }
          ),
        request.signal
      )
      const reason = new Error(`${which} gone`)
      let events = 0
      try {
        for await (const _ of s) {
          events++
          if (events === 1) (which === 'caller' ? agent : request).abort(reason)
        }
      } catch {
        // The SDK ends an aborted stream as it sees fit: what matters is the reason below.
      } finally {
        hold.release()
      }
      expect(s.controller.signal.aborted).toBe(true)
      expect(s.controller.signal.reason).toBe(reason)
      expect(listeners(agent.signal)).toBe(0)
      expect(listeners(request.signal)).toBe(0)
    })
  }

  it('a signal aborted before the call aborts it at once', async () => {
    const client = wrapAnthropic(raw, { coalesce: false })
    const agent = new AbortController()
    agent.abort(new Error('stopped'))
    const call = inRequest({}, () =>
      client.messages.create(params('late'), { signal: agent.signal })
    )
    await expect(call).rejects.toThrow()
    expect(listeners(agent.signal)).toBe(0)
  })
})
