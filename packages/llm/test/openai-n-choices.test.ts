// OpenAI Chat Completions with `n` choices: each choice is up to the output limit long and the
// provider bills them all, so the worst case held on a budget (and a token limit) is n times it.
// Every choice is returned to the caller, so the output guard checks every one: a non-streamed
// answer with a blocked choice fails with OutputBlockedError and is not cached; a stream (each
// chunk carries choices of any index, their deltas interleaved) is read choice by choice, and kept
// out of the cache when a choice is blocked.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { choiceTexts, streamedChoiceTexts } from '../src/openai/chat-choices.js'
import { OutputBlockedError, wrapOpenAI } from '../src/openai/index.js'
import { openaiChat } from '../src/openai/spec.js'
import type { LlmGuard } from '../src/shared/types.js'
import { mapCache, recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: OpenAI

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MODEL = 'gpt-4o-mini'
const MAX = 1000
const messages = [{ role: 'user' as const, content: 'Write four haikus' }]

describe('chat.completions with n > 1 choices', () => {
  it('the estimate holds n × the output limit (n unset or invalid: 1)', () => {
    const estimate = (extra: Record<string, unknown>) =>
      openaiChat.estimate({ model: MODEL, messages, max_tokens: MAX, ...extra }, 4096)
        .maxOutputTokens
    expect(estimate({})).toBe(MAX)
    expect(estimate({ n: 4 })).toBe(4 * MAX)
    expect(estimate({ n: 0 })).toBe(MAX)
    expect(estimate({ n: 'x' })).toBe(MAX)
    expect(openaiChat.estimate({ model: MODEL, messages, n: 2 }, 4096).maxOutputTokens).toBe(8192)
  })

  it('a hard budget is not overrun: concurrent n = 4 calls that together exceed it are refused up front', async () => {
    // What one n = 4 call's worst case holds: the budget fits exactly one such call.
    const probe = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const one = await probe.reserve('p', { model: MODEL, messages, maxOutputTokens: 4 * MAX })
    const budget = createBudget({ limits: [{ period: 'day', micros: one.amountMicros }] })
    const client = wrapOpenAI(raw, { budget, subject: 'u', coalesce: false })
    // The provider bills all four choices, each as long as allowed.
    fake.setUsage({ inputTokens: 1, outputTokens: 4 * MAX })
    const results = await Promise.allSettled([
      client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX, n: 4 }),
      client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX, n: 4 }),
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count('/v1/chat/completions')).toBe(1)
    const spend = await budget.spend('u')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeLessThanOrEqual(spend.limitMicros)
  })
})

/** Blocks any output containing "LEAK" (promptGuard's shape), keeping every text it checked. */
const leakGuard = (): LlmGuard & { checked: string[] } => {
  const checked: string[] = []
  return {
    checked,
    checkInput: async (input) => ({
      allowed: true,
      blockedBy: [],
      text: typeof input === 'string' ? input : '',
      ...(typeof input === 'string' ? {} : { messages: input }),
    }),
    checkOutput: async (text) => {
      checked.push(text)
      return text.includes('LEAK')
        ? { allowed: false, blockedBy: ['leak'] }
        : { allowed: true, blockedBy: [] }
    },
  }
}

const two = (text: string) => ({
  model: MODEL,
  n: 2,
  temperature: 0,
  messages: [{ role: 'user' as const, content: text }],
})

/** Reads a stream (or its chunks) to its end, the text of each choice (by `index`). */
async function readChoices(
  stream: AsyncIterable<OpenAI.ChatCompletionChunk> | Iterable<OpenAI.ChatCompletionChunk>
): Promise<string[]> {
  const texts = ['', '']
  for await (const chunk of stream) {
    for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? ''
  }
  return texts
}

describe('the output guard with n > 1 choices', () => {
  it('checks every choice of a non-streamed answer: a blocked second choice fails the call with OutputBlockedError and is not cached', async () => {
    fake.answerNext(2, { choices: ['a fine answer', 'here is the LEAK'] })
    // The premise: the caller of the bare SDK gets both choices, the second one carrying "LEAK".
    const bare = await raw.chat.completions.create(two('bare'))
    expect(bare.choices.map((c) => c.message.content)).toEqual([
      'a fine answer',
      'here is the LEAK',
    ])

    const cache = mapCache()
    const guard = leakGuard()
    const client = wrapOpenAI(raw, { guard, cache })
    await expect(client.chat.completions.create(two('guarded'))).rejects.toBeInstanceOf(
      OutputBlockedError
    )
    expect(guard.checked).toEqual(['a fine answer', 'here is the LEAK'])
    expect(cache.sets).toBe(0)
  })

  it('a non-streamed answer whose every choice passes is returned and cached', async () => {
    const cache = mapCache()
    const guard = leakGuard()
    fake.answerNext(1, { choices: ['a fine answer', 'another one'] })
    const client = wrapOpenAI(raw, { guard, cache })
    const answer = await client.chat.completions.create(two('all fine'))
    expect(answer.choices.map((c) => c.message.content)).toEqual(['a fine answer', 'another one'])
    expect(guard.checked).toEqual(['a fine answer', 'another one'])
    expect(cache.sets).toBe(1)
  })

  it('reads a stream choice by choice (deltas interleaved): a blocked first choice keeps it out of the cache', async () => {
    // Choice 0 says "the LEAK is here", in two deltas; choice 1's deltas come in between.
    fake.answerNext(1, {
      choices: [
        ['the LE', 'AK is here'],
        ['fine', ' answer'],
      ],
    })
    const cache = mapCache()
    const guard = leakGuard()
    const { logger } = recorders()
    const client = wrapOpenAI(raw, { guard, cache, logger })
    const texts = await readChoices(
      await client.chat.completions.create({ ...two('streamed'), stream: true })
    )
    // The premise: what the caller read, choice by choice.
    expect(texts).toEqual(['the LEAK is here', 'fine answer'])
    // Settled and logged; a stream kept in the cache is stored in that same step.
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'ok' })
    await until(() => guard.checked.length === 2)
    expect(guard.checked).toEqual(['the LEAK is here', 'fine answer'])
    expect(cache.sets).toBe(0)
  })

  it('a stream whose every choice passes is cached', async () => {
    const cache = mapCache()
    const guard = leakGuard()
    fake.answerNext(1, {
      choices: [
        ['the ans', 'wer'],
        ['fine', ' too'],
      ],
    })
    const client = wrapOpenAI(raw, { guard, cache })
    const texts = await readChoices(
      await client.chat.completions.create({ ...two('streamed fine'), stream: true })
    )
    expect(texts).toEqual(['the answer', 'fine too'])
    await until(() => cache.sets === 1)
    expect(guard.checked).toEqual(['the answer', 'fine too'])
  })

  it('the texts are read per choice index, in index order (an answer without choices: one empty text)', () => {
    expect(choiceTexts({ choices: [] })).toEqual([''])
    expect(choiceTexts({ choices: [{ message: { content: 'a' } }, { message: {} }] })).toEqual([
      'a',
      '',
    ])
    const delta = (index: number, content: string) => ({
      choices: [{ index, delta: { content } }],
    })
    expect(
      streamedChoiceTexts([
        delta(1, 'x'),
        delta(0, 'a'),
        delta(1, 'y'),
        { choices: [] },
        delta(0, 'b'),
      ])
    ).toEqual(['ab', 'xy'])
    expect(streamedChoiceTexts([{ choices: [] }])).toEqual([''])
  })
})

/**
 * A stream of `n: 2` whose body ends (cleanly: no [DONE], no usage, as a proxy may close it) after
 * choice 0 finished, with choice 1 cut mid-sentence.
 */
const cutChunk = (index: number, delta: object, finish: string | null) => ({
  id: 'chatcmpl_cut',
  object: 'chat.completion.chunk',
  created: 1,
  model: MODEL,
  choices: [{ index, delta, logprobs: null, finish_reason: finish }],
})
const CUT_EVENTS = [
  cutChunk(0, { role: 'assistant', content: '' }, null),
  cutChunk(1, { role: 'assistant', content: '' }, null),
  cutChunk(0, { content: 'The first answer.' }, null),
  cutChunk(1, { content: 'The second answer is cut he' }, null),
  cutChunk(0, {}, 'stop'),
]

describe('how a stream with n > 1 choices ended', () => {
  it('is cut when a choice index seen never finished (even though every finish seen is replayable)', () => {
    expect(openaiChat.streamEnd(CUT_EVENTS).kind).toBe('cut')
  })

  it('is whole when every choice index seen finished with a replayable reason', () => {
    expect(openaiChat.streamEnd([...CUT_EVENTS, cutChunk(1, {}, 'length')]).kind).toBe('whole')
  })

  it('is unstored when one choice finished with content_filter, the others whole', () => {
    expect(openaiChat.streamEnd([...CUT_EVENTS, cutChunk(1, {}, 'content_filter')]).kind).toBe(
      'unstored'
    )
  })

  it('is cut when no choice finished', () => {
    expect(openaiChat.streamEnd(CUT_EVENTS.slice(0, 4)).kind).toBe('cut')
  })

  it('a stream whose second choice was cut is never cached nor logged ok', async () => {
    const cache = mapCache()
    const { logger } = recorders()
    // The provider's CUT_EVENTS: the body ends cleanly after choice 0's finish, choice 1 cut
    // mid-word (its rest and finish, the usage and [DONE] never sent).
    fake.answerNext(1, {
      choices: [['The first answer.'], ['The second answer is cut he', 're, mid-sentence.']],
    })
    fake.endStreamAfter(CUT_EVENTS.length)
    const client = wrapOpenAI(raw, { cache, logger })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const chunk of await client.chat.completions.create({
      ...two('two answers'),
      stream: true,
    })) {
      chunks.push(chunk)
    }
    // The premise: the caller read a cut second choice, and only the first one finished.
    expect(await readChoices(chunks)).toEqual(['The first answer.', 'The second answer is cut he'])
    const finishes = chunks.flatMap((c) =>
      c.choices.filter((x) => x.finish_reason !== null).map((x) => [x.index, x.finish_reason])
    )
    expect(finishes).toEqual([[0, 'stop']])
    await until(() => logger.lines.length === 1)
    // Give a store that would follow the log line its chance to happen.
    await new Promise((r) => setTimeout(r, 20))
    expect(cache.sets).toBe(0)
    expect(logger.lines[0]).not.toMatchObject({ outcome: 'ok' })
  })
})
