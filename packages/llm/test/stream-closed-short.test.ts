/**
 * A stream the provider (or a proxy) closes cleanly before its terminal event, while its caller
 * still reads it, is a failure: logged `outcome: 'error'` and measured with `error_type`
 * `STREAM_INCOMPLETE`, not `aborted` (which says the caller or the client left). The caller still
 * gets what came, as from the bare SDK. Real SDKs on the fake provider (`endStreamAfter`).
 */
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { recorders, until } from './helpers.js'

let fake: FakeProvider

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const anthropic = () =>
  new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
const openai = () => new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0
  for await (const _event of stream) n++
  return n
}

describe('a stream closed short by the provider', () => {
  type Recorders = ReturnType<typeof recorders>
  /** Each API's streamed call, and after how many events the fake provider closes it. */
  const cases: { api: string; endAfter: number; call: (r: Recorders) => Promise<unknown> }[] = [
    {
      api: 'Anthropic Messages',
      endAfter: 3,
      call: (r) =>
        wrapAnthropic(anthropic(), r).messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 50,
          messages: [{ role: 'user', content: 'hello there' }],
          stream: true,
        }),
    },
    {
      api: 'OpenAI Chat Completions',
      endAfter: 2,
      call: (r) =>
        wrapOpenAI(openai(), r).chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'hello there' }],
          stream: true,
        }),
    },
    {
      api: 'OpenAI Responses',
      endAfter: 3,
      call: (r) =>
        wrapOpenAI(openai(), r).responses.create({
          model: 'gpt-4o-mini',
          input: 'hello there',
          stream: true,
        }),
    },
  ]

  it.each(cases.map((c) => [c.api, c] as const))(
    '%s: logged error, measured STREAM_INCOMPLETE',
    async (_api, { endAfter, call }) => {
      const r = recorders()
      fake.endStreamAfter(endAfter)
      const stream = (await call(r)) as AsyncIterable<unknown>
      expect(await drain(stream)).toBeGreaterThan(0)
      await until(() => r.logger.lines.length === 1)
      expect(r.logger.lines[0]).toMatchObject({ outcome: 'error' })
      expect(r.metrics.calls[0]?.error).toMatchObject({ code: 'STREAM_INCOMPLETE' })
    }
  )

  it('a whole stream stays ok, and one its caller aborts stays aborted with no error', async () => {
    const { metrics, logger } = recorders()
    const client = wrapAnthropic(anthropic(), { metrics, logger })
    const params = {
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      messages: [{ role: 'user' as const, content: 'word '.repeat(30) }],
      stream: true as const,
    }
    await drain(await client.messages.create(params))
    await until(() => logger.lines.length === 1)
    fake.setStreamDelayMs(10)
    const stream = await client.messages.create(params)
    let seen = 0
    for await (const _event of stream) if (++seen === 2) stream.controller.abort()
    await until(() => logger.lines.length === 2)
    expect(logger.lines.map((l) => l.outcome)).toEqual(['ok', 'aborted'])
    expect(metrics.calls[1]?.error).toBeUndefined()
  })
})
