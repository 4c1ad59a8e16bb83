// Type-only: proves `promptGuard(...)` of @aikit/security fits the `guard` option (security is a
// devDependency only; the wrapper types the guard structurally).
import type { PromptGuard } from '@aikit/security'
import Anthropic from '@anthropic-ai/sdk'
import type { Stream as AnthropicStream } from '@anthropic-ai/sdk/core/streaming'
import OpenAI from 'openai'
import type { Stream as OpenAIStream } from 'openai/core/streaming'
import OpenAI7 from 'openai-v7'
import type { Stream as OpenAI7Stream } from 'openai-v7/core/streaming'
import { describe, expectTypeOf, it } from 'vitest'
import { aikit as anthropicOptions, wrapAnthropic } from '../src/anthropic/index.js'
import { aikit as openaiOptions, wrapOpenAI } from '../src/openai/index.js'
import type { LlmGuard } from '../src/shared/types.js'
import { OPENAI_SDKS } from './openai-sdks.js'

const openai7 = OPENAI_SDKS.find((sdk) => sdk.major === 7)

// Checked by `tsc` (pnpm typecheck): the wrapped clients keep the SDK's own types.
describe('types', () => {
  it('wrapAnthropic returns the SDK client type, create keeps its overloads', () => {
    const client = wrapAnthropic(new Anthropic({ apiKey: 'k' }))
    expectTypeOf(client).toEqualTypeOf<Anthropic>()
    const params = { model: 'claude-haiku-4-5', max_tokens: 1, messages: [] }
    expectTypeOf(client.messages.create).toEqualTypeOf<Anthropic['messages']['create']>()
    expectTypeOf(client.messages.stream).toEqualTypeOf<Anthropic['messages']['stream']>()
    expectTypeOf(client.messages.create(params)).resolves.toMatchTypeOf<Anthropic.Message>()
    expectTypeOf(client.messages.create({ ...params, stream: true })).resolves.toMatchTypeOf<
      AnthropicStream<Anthropic.RawMessageStreamEvent>
    >()
    expectTypeOf(anthropicOptions({ subject: 'u' })).toMatchTypeOf<
      NonNullable<Parameters<Anthropic['messages']['create']>[1]>
    >()
  })

  it('wrapOpenAI returns the SDK client type', () => {
    const client = wrapOpenAI(new OpenAI({ apiKey: 'k' }))
    expectTypeOf(client).toEqualTypeOf<OpenAI>()
    const chat = { model: 'gpt-4o-mini', messages: [] }
    expectTypeOf(client.chat.completions.create).toEqualTypeOf<
      OpenAI['chat']['completions']['create']
    >()
    expectTypeOf(client.responses.create).toEqualTypeOf<OpenAI['responses']['create']>()
    expectTypeOf(
      client.chat.completions.create(chat)
    ).resolves.toMatchTypeOf<OpenAI.ChatCompletion>()
    expectTypeOf(client.chat.completions.create({ ...chat, stream: true })).resolves.toMatchTypeOf<
      OpenAIStream<OpenAI.ChatCompletionChunk>
    >()
    expectTypeOf(
      client.responses.create({ model: 'gpt-4o-mini', input: 'x' })
    ).resolves.toMatchTypeOf<OpenAI.Responses.Response>()
    expectTypeOf(openaiOptions({ cache: 'no-store' })).toMatchTypeOf<
      NonNullable<Parameters<OpenAI['chat']['completions']['create']>[1]>
    >()
  })

  // tsc checks this body on any Node (pnpm typecheck); running it constructs an openai 7 client,
  // which needs Node 22+ (its engines field): CI's Node 24 leg runs it.
  it.runIf(openai7?.runs === true)('wrapOpenAI keeps the types of an openai 7 client', () => {
    const client = wrapOpenAI(new OpenAI7({ apiKey: 'k' }))
    expectTypeOf(client).toEqualTypeOf<OpenAI7>()
    expectTypeOf(client).not.toEqualTypeOf<OpenAI>()
    const chat = { model: 'gpt-4o-mini', messages: [] }
    expectTypeOf(client.chat.completions.create).toEqualTypeOf<
      OpenAI7['chat']['completions']['create']
    >()
    expectTypeOf(client.chat.completions.stream).toEqualTypeOf<
      OpenAI7['chat']['completions']['stream']
    >()
    expectTypeOf(client.responses.create).toEqualTypeOf<OpenAI7['responses']['create']>()
    expectTypeOf(
      client.chat.completions.create(chat)
    ).resolves.toMatchTypeOf<OpenAI7.ChatCompletion>()
    expectTypeOf(client.chat.completions.create({ ...chat, stream: true })).resolves.toMatchTypeOf<
      OpenAI7Stream<OpenAI7.ChatCompletionChunk>
    >()
    expectTypeOf(
      client.responses.create({ model: 'gpt-4o-mini', input: 'x' })
    ).resolves.toMatchTypeOf<OpenAI7.Responses.Response>()
    expectTypeOf(
      client.responses.create({ model: 'gpt-4o-mini', input: 'x', stream: true })
    ).resolves.toMatchTypeOf<OpenAI7Stream<OpenAI7.Responses.ResponseStreamEvent>>()
    // aikit() takes the request-options type of the SDK method it is passed to (openai 7's here).
    type Options7 = NonNullable<Parameters<OpenAI7['chat']['completions']['create']>[1]>
    const options: Options7 = openaiOptions({ cache: 'no-store' }, { timeout: 5 })
    expectTypeOf(options).toEqualTypeOf<Options7>()
    const withOverride = () =>
      client.chat.completions.create({ ...chat, stream: true }, openaiOptions({ subject: 'u' }))
    expectTypeOf(withOverride).returns.resolves.toMatchTypeOf<
      OpenAI7Stream<OpenAI7.ChatCompletionChunk>
    >()
    const responsesWithOverride = () =>
      client.responses.create({ model: 'gpt-4o-mini', input: 'x' }, openaiOptions({}))
    expectTypeOf(responsesWithOverride).returns.resolves.toMatchTypeOf<OpenAI7.Responses.Response>()
  })

  it("@aikit/security's promptGuard fits the structural guard option", () => {
    expectTypeOf<PromptGuard>().toMatchTypeOf<LlmGuard>()
  })
})
