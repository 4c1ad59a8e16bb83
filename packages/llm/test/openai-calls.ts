// Calls of the two OpenAI APIs (Chat Completions and Responses), streamed or not, in one shape:
// lets a test run the same behaviour over every API and both modes.
import type OpenAI from 'openai'
import type { OpenAIRequestOptions } from '../src/openai/index.js'

export type OpenAIApi = 'chat' | 'responses'
export const OPENAI_APIS: readonly OpenAIApi[] = ['chat', 'responses']

export const OPENAI_MODEL = 'gpt-4o-mini'

/** The fake provider's path of each API. */
export const PATH: Record<OpenAIApi, string> = {
  chat: '/v1/chat/completions',
  responses: '/v1/responses',
}

export const chatParams = (text = 'hello') => ({
  model: OPENAI_MODEL,
  max_completion_tokens: 100,
  messages: [{ role: 'user' as const, content: text }],
})
export const responsesParams = (text = 'hello') => ({
  model: OPENAI_MODEL,
  input: text,
  max_output_tokens: 100,
})

/** The request messages of `text` (what the budget estimates the input from). */
export const messagesOf = (text: string) => [{ role: 'user' as const, content: text }]

/** Opens a streamed call of `api`; the SDK's stream of events. */
export async function openStream(
  client: OpenAI,
  api: OpenAIApi,
  text: string,
  options?: OpenAIRequestOptions
): Promise<AsyncIterable<unknown> & { controller: AbortController }> {
  return api === 'chat'
    ? await client.chat.completions.create({ ...chatParams(text), stream: true }, options)
    : await client.responses.create({ ...responsesParams(text), stream: true }, options)
}

/** Every event of a streamed call of `api`, read to the end. */
export async function streamEvents(
  client: OpenAI,
  api: OpenAIApi,
  text: string,
  options?: OpenAIRequestOptions
): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const event of await openStream(client, api, text, options)) out.push(event)
  return out
}

/** The answer text carried by one streamed event (`''` for events without text). */
export function deltaText(api: OpenAIApi, event: unknown): string {
  if (api === 'chat') {
    const chunk = event as OpenAI.ChatCompletionChunk
    return chunk.choices[0]?.delta.content ?? ''
  }
  const e = event as OpenAI.Responses.ResponseStreamEvent
  return e.type === 'response.output_text.delta' ? e.delta : ''
}

/** Whether `events` end the way a complete stream of `api` ends. */
export function completeStream(api: OpenAIApi, events: readonly unknown[]): boolean {
  const last = events.at(-1)
  if (api === 'chat') {
    return (last as OpenAI.ChatCompletionChunk | undefined)?.choices[0]?.finish_reason === 'stop'
  }
  return (last as OpenAI.Responses.ResponseStreamEvent | undefined)?.type === 'response.completed'
}

/** The answer text of one call of `api`, streamed (read to the end) or not. */
export async function ask(
  client: OpenAI,
  api: OpenAIApi,
  text: string,
  stream: boolean,
  options?: OpenAIRequestOptions
): Promise<string> {
  if (stream) {
    const events = await streamEvents(client, api, text, options)
    return events.map((e) => deltaText(api, e)).join('')
  }
  if (api === 'chat') {
    const completion = await client.chat.completions.create(chatParams(text), options)
    return completion.choices[0]?.message.content ?? ''
  }
  return (await client.responses.create(responsesParams(text), options)).output_text
}
