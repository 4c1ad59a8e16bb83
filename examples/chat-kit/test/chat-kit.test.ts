// The chat kit without a framework: its environment, the fake model and `answer()` (the API a
// framework-native handler such as the Next example uses).
import { EnvError } from '@aikit/core/env'
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as chatKitModule from '../index.mjs'
import { type ChatKit, createChatKit, fakeAnswerWords } from '../index.mjs'

const kits: ChatKit[] = []
const kitOf = (env: Record<string, string>): ChatKit => {
  const kit = createChatKit({
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    FAKE_MODEL_DELAY_MS: '1',
    ...env,
  })
  kits.push(kit)
  return kit
}
afterEach(async () => {
  await Promise.all(kits.splice(0).map((kit) => kit.close()))
})

/** The EnvError `createChatKit(env)` throws (the test fails on anything else). */
const envErrorOf = (env: Record<string, string>): EnvError => {
  let thrown: unknown
  try {
    kitOf(env)
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(EnvError)
  return thrown as EnvError
}

const collect = async (chunks: AsyncIterable<string>): Promise<string[]> => {
  const out: string[] = []
  for await (const chunk of chunks) out.push(chunk)
  return out
}

describe('the module', () => {
  it('exports what index.d.mts declares, and the kit has the members of the contract', () => {
    expect(Object.keys(chatKitModule).sort()).toEqual([
      'ChatRequest',
      'SESSION_COOKIE',
      'chatEnv',
      'createChatKit',
      'createFakeAnthropic',
      'fakeAnswerWords',
      'loadChatEnv',
    ])
    expect(Object.keys(kitOf({})).sort()).toEqual([
      'adapterOptions',
      'answer',
      'anthropic',
      'budget',
      'cache',
      'chat',
      'close',
      'config',
      'fakeModel',
      'fakeProvider',
      'logger',
      'metrics',
      'middleware',
      'redis',
      'stack',
    ])
  })
})

describe('createChatKit env', () => {
  it('applies the documented defaults and uses the fake model and memory stores without keys', () => {
    const kit = kitOf({})
    expect(kit.config).toMatchObject({
      CHAT_DAILY_BUDGET_USD: 0.5,
      CHAT_RATE_LIMIT: 20,
      ANTHROPIC_MODEL: 'claude-haiku-4-5',
      PORT: 3000,
      TRUST_PROXY: false,
    })
    expect(kit.fakeModel).toBe(true)
    expect(kit.fakeProvider).toEqual({ calls: 0, streams: 0, aborted: 0, completed: 0 })
    expect(kit.redis).toBeUndefined()
    expect(kit.stack).toEqual([
      kit.middleware.securityHeaders,
      kit.middleware.requestLogger,
      kit.middleware.httpMetrics,
      kit.middleware.metricsEndpoint,
      kit.middleware.health,
      kit.middleware.csrf,
      kit.middleware.subject,
      kit.middleware.rateLimit,
    ])
  })

  it('uses the real client when ANTHROPIC_API_KEY is set, and never prints the key', () => {
    const kit = kitOf({ ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key-0123456789' })
    expect(kit.fakeModel).toBe(false)
    expect(kit.fakeProvider).toBeUndefined()
    expect(JSON.stringify(kit.config)).not.toContain('not-a-real-key')
  })

  it('refuses a bad environment with one EnvError naming every bad variable, never its value', () => {
    let thrown: unknown
    try {
      createChatKit({
        CHAT_RATE_LIMIT: 'lots',
        CHAT_DAILY_BUDGET_USD: '-1',
        REDIS_URL: 'http://user:hunter2@example.com',
      })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(EnvError)
    const error = thrown as EnvError
    expect(error.issues.map((i) => i.name).sort()).toEqual([
      'CHAT_DAILY_BUDGET_USD',
      'CHAT_RATE_LIMIT',
      'REDIS_URL',
    ])
    expect(error.message).not.toContain('hunter2')
    expect(error.message).not.toContain('lots')
  })

  it('refuses an ANTHROPIC_MODEL without a price in the EnvError (the budget would fail every chat with 500 UNKNOWN_MODEL)', () => {
    const error = envErrorOf({ ANTHROPIC_MODEL: 'claude-unknown-9', CHAT_RATE_LIMIT: '0' })
    expect(error.issues.map((i) => i.name).sort()).toEqual(['ANTHROPIC_MODEL', 'CHAT_RATE_LIMIT'])
    expect(error.issues.find((i) => i.name === 'ANTHROPIC_MODEL')?.reason).toContain('price')
    // Not an Anthropic model either, though @aikit/cost prices it.
    expect(envErrorOf({ ANTHROPIC_MODEL: 'gpt-4o' }).issues.map((i) => i.name)).toEqual([
      'ANTHROPIC_MODEL',
    ])
    // A priced model, dated snapshot included, answers (the fake model takes any name).
    expect(kitOf({ ANTHROPIC_MODEL: 'claude-sonnet-4-5' }).config.ANTHROPIC_MODEL).toBe(
      'claude-sonnet-4-5'
    )
    expect(kitOf({ ANTHROPIC_MODEL: 'claude-haiku-4-5-20251001' }).fakeModel).toBe(true)
  })

  it('refuses a METRICS_TOKEN the metrics endpoint would refuse in the EnvError, by name, never its value', () => {
    const error = envErrorOf({ METRICS_TOKEN: 'too-short-token', CHAT_RATE_LIMIT: 'lots' })
    expect(error.issues.map((i) => i.name).sort()).toEqual(['CHAT_RATE_LIMIT', 'METRICS_TOKEN'])
    expect(error.message).not.toContain('too-short-token')
    expect(envErrorOf({ METRICS_TOKEN: 'metrics-token-0123456789 ' }).issues[0]?.name).toBe(
      'METRICS_TOKEN'
    )
  })

  it('answers a streamed and a whole question with a priced dated model', async () => {
    const kit = kitOf({ ANTHROPIC_MODEL: 'claude-haiku-4-5-20251001' })
    expect((await kit.answer({ message: 'dated', subject: 's' })).text).toContain('fake model')
    expect(await collect(kit.answer({ message: 'dated', stream: true, subject: 't' }))).toEqual(
      fakeAnswerWords('dated')
    )
  })
})

describe('kit.answer', () => {
  it('answers whole or streamed word by word, and serves a repeat of the same subject from the cache', async () => {
    const kit = kitOf({})
    const whole = await kit.answer({ message: 'hello', subject: 'user-1' })
    expect(whole).toMatchObject({ text: fakeAnswerWords('hello').join(''), cached: false })
    expect(whole.text).toContain('fake model')
    const chunks = await collect(kit.answer({ message: 'hello', stream: true, subject: 'user-1' }))
    expect(chunks).toEqual(fakeAnswerWords('hello'))
    expect(kit.fakeProvider?.calls).toBe(2)

    expect((await kit.answer({ message: 'hello', subject: 'user-1' })).cached).toBe(true)
    expect(
      await collect(kit.answer({ message: 'hello', stream: true, subject: 'user-1' }))
    ).toEqual(fakeAnswerWords('hello'))
    expect(kit.fakeProvider?.calls).toBe(2)
    expect((await kit.answer({ message: 'hello', subject: 'user-2' })).cached).toBe(false)
    expect(kit.fakeProvider?.calls).toBe(3)
  })

  it('throws the budget error from the first next() of a stream, before any text and any model call', async () => {
    const kit = kitOf({ CHAT_DAILY_BUDGET_USD: '0.000001' })
    await expect(
      collect(kit.answer({ message: 'hi', stream: true, subject: 's' }))
    ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 })
    await expect(kit.answer({ message: 'hi', subject: 's' })).rejects.toMatchObject({ status: 402 })
    expect(kit.fakeProvider?.calls).toBe(0)
  })

  it("stops the fake model when the caller's signal aborts mid-stream", async () => {
    const kit = kitOf({ FAKE_MODEL_DELAY_MS: '50' })
    const controller = new AbortController()
    const chunks = kit.answer({
      message: 'long',
      stream: true,
      subject: 's',
      signal: controller.signal,
    })
    const seen: string[] = []
    // The wrapped stream of an aborted caller just ends (the SDK may also throw its abort error).
    try {
      for await (const chunk of chunks) {
        seen.push(chunk)
        if (seen.length === 2) controller.abort()
      }
    } catch (error) {
      expect((error as Error).name).toMatch(/Abort/)
    }
    await vi.waitFor(() => expect(kit.fakeProvider?.aborted).toBe(1), { timeout: 10_000 })
    expect(kit.fakeProvider?.completed).toBe(0)
    expect(seen.length).toBeLessThan(fakeAnswerWords('long').length)
  })
})
