/**
 * @module tokens
 * Token estimates before a call (budget reservations, trimming).
 *
 * - Current OpenAI models (gpt-4o, gpt-4.1, gpt-4.5, gpt-5*, o1/o3/o4, chatgpt-4o, gpt-oss): gpt-tokenizer
 *   with their encoding, `o200k_base`, plus the chat format's overhead: 3 tokens per message and 3
 *   to prime the reply (OpenAI cookbook). Only that encoding is loaded (its ranks take about 0.25 s
 *   of CPU at import); legacy gpt-4 / gpt-3.5 (`cl100k_base`) get the approximation below.
 * - Every other model (Claude above all: no local tokenizer exists for current Claude models) gets a
 *   deliberately HIGH approximation, since an estimate that is low lets a budget be overrun:
 *   `ceil(asciiLettersDigitsAndSpaces / 3)` (English averages about 3.5–4 characters per token)
 *   + 1 per other ASCII character: punctuation, symbols, line breaks (code and JSON are dense in them)
 *   + 1 per 2-byte character (Cyrillic, Greek, Arabic, accents) + 1.5 per other BMP character (CJK
 *   is about one token per character) + 3 per astral character (emoji), plus 5 tokens per message
 *   and 10 per request. Measured against cl100k/o200k it is 1.1–2× high on English, code, JSON,
 *   Cyrillic, Arabic, CJK and emoji samples (test/tokens.test.ts).
 * - Images, PDFs and other non-text parts count `MEDIA_TOKENS` (1,600) each, about the largest a
 *   single image costs on either provider.
 * For exact Claude input counts use `estimateTokensAsync` with an Anthropic client (the free
 * `count_tokens` endpoint, one network round trip). Providers' reported usage always wins at settle.
 */

import { InvalidOptionsError } from '@aikit/core'
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base'

/** A chat message in Anthropic or OpenAI format (only the fields that carry tokens are read). */
export interface MessageLike {
  readonly role: string
  readonly content?: unknown
  /** OpenAI assistant tool calls. */
  readonly tool_calls?: unknown
  readonly [key: string]: unknown
}

/** Options of `estimateTokens`. */
export interface EstimateOptions {
  /** Anthropic-style top-level system prompt (string or blocks). Default none. */
  system?: unknown
  /** Tool definitions sent with the request (counted as their JSON). Default none. */
  tools?: readonly unknown[]
}

/** Tokens counted for each image, PDF or other non-text part. */
export const MEDIA_TOKENS = 1600

const OPENAI_MESSAGE_OVERHEAD = 3
const OPENAI_REPLY_PRIMING = 3
const APPROX_MESSAGE_OVERHEAD = 5
const APPROX_REQUEST_OVERHEAD = 10
// Special-token text such as "<|endoftext|>" in user input is counted as plain text, never thrown on.
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() }

type Counter = (text: string) => number

const O200K = /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)/

const o200k: Counter = (text) => (text.length === 0 ? 0 : countO200k(text, ENCODE_OPTIONS))

/** The deliberately high approximation (see the module comment). */
export function approximateTokens(text: string): number {
  let word = 0 // ASCII letters, digits and spaces
  let punct = 0 // other ASCII: punctuation, symbols, line breaks (about one token each in code and JSON)
  let twoByte = 0 // U+0080–U+07FF: Latin accents, Cyrillic, Greek, Arabic, Hebrew
  let threeByte = 0 // rest of the BMP: CJK, Hangul, Thai, …
  let astral = 0 // emoji and other 4-byte characters
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 128) {
      if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 32) word++
      else punct++
    } else if (c < 0x800) twoByte++
    else if (c >= 0xd800 && c <= 0xdbff) {
      astral++
      i++
    } else threeByte++
  }
  return Math.ceil(word / 3) + punct + twoByte + Math.ceil((threeByte * 3) / 2) + astral * 3
}

function bareModel(model: string): string {
  const slash = model.indexOf('/')
  return (slash === -1 ? model : model.slice(slash + 1)).toLowerCase()
}

// The last model looked up and its counter: calls mostly repeat one model (no lowercasing and
// regex per estimate then).
let lastModel = ''
let lastCounter: Counter | undefined

/** The gpt-tokenizer counter for an OpenAI model, or `undefined` (→ the approximation). */
function tokenizerFor(model: string): Counter | undefined {
  if (model === lastModel && model !== '') return lastCounter
  const counter = O200K.test(bareModel(model)) ? o200k : undefined
  lastModel = model
  lastCounter = counter
  return counter
}

/** Tokens of a plain text for `model` (the tokenizer or the high approximation). */
export function estimateTextTokens(text: string, model: string): number {
  const counter = tokenizerFor(model)
  return counter ? counter(text) : approximateTokens(text)
}

/** Appends a content value's text to `out`; returns the number of media parts seen. */
function collect(content: unknown, out: string[]): number {
  if (content === undefined || content === null) return 0
  if (typeof content === 'string') {
    out.push(content)
    return 0
  }
  if (!Array.isArray(content)) {
    out.push(JSON.stringify(content))
    return 0
  }
  let media = 0
  for (const part of content) {
    if (typeof part === 'string') {
      out.push(part)
      continue
    }
    if (part === null || typeof part !== 'object') continue
    const p = part as Record<string, unknown>
    switch (p.type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        if (typeof p.text === 'string') out.push(p.text)
        break
      case 'thinking':
        if (typeof p.thinking === 'string') out.push(p.thinking)
        break
      case 'tool_use':
        out.push(String(p.name ?? ''), JSON.stringify(p.input ?? {}))
        break
      case 'tool_result':
        media += collect(p.content, out)
        break
      case 'image':
      case 'image_url':
      case 'input_image':
      case 'document':
      case 'input_file':
      case 'input_audio':
      case 'file':
        media++
        break
      default:
        out.push(JSON.stringify(p))
    }
  }
  return media
}

/** Token estimate of one message (its overhead included). */
export function estimateMessageTokens(message: MessageLike, model: string): number {
  const counter = tokenizerFor(model)
  return messageTokens(message, counter)
}

function messageTokens(message: MessageLike, counter: Counter | undefined): number {
  const content = message.content
  // The common message, a plain text and nothing else: counted as is (no parts array).
  if (
    typeof content === 'string' &&
    !Array.isArray(message.tool_calls) &&
    typeof message.name !== 'string'
  ) {
    return counter
      ? counter(content) + OPENAI_MESSAGE_OVERHEAD
      : approximateTokens(content) + APPROX_MESSAGE_OVERHEAD
  }
  const parts: string[] = []
  let media = collect(message.content, parts)
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as unknown[]) {
      const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function
      if (fn) parts.push(String(fn.name ?? ''), String(fn.arguments ?? ''))
    }
  }
  if (typeof message.name === 'string') parts.push(message.name)
  const text = parts.length === 1 ? (parts[0] as string) : parts.join('\n')
  media *= MEDIA_TOKENS
  return counter
    ? counter(text) + OPENAI_MESSAGE_OVERHEAD + media
    : approximateTokens(text) + APPROX_MESSAGE_OVERHEAD + media
}

/** Overhead of a whole request: system prompt, tools and the reply priming. */
function requestTokens(options: EstimateOptions | undefined, counter: Counter | undefined): number {
  let total = counter ? OPENAI_REPLY_PRIMING : APPROX_REQUEST_OVERHEAD
  if (options?.system !== undefined) {
    total += messageTokens({ role: 'system', content: options.system }, counter)
  }
  if (options?.tools !== undefined && options.tools.length > 0) {
    const json = JSON.stringify(options.tools)
    total += counter ? counter(json) : approximateTokens(json)
  }
  return total
}

function checkArgs(messages: unknown, model: unknown): void {
  if (!Array.isArray(messages)) throw new InvalidOptionsError('messages', 'must be an array')
  if (typeof model !== 'string' || model.length === 0) {
    throw new InvalidOptionsError('model', 'must be a non-empty string')
  }
}

/**
 * Estimated input tokens of a chat request (see the module comment for the method). Accepts
 * Anthropic and OpenAI message formats, system/developer messages included.
 */
export function estimateTokens(
  messages: readonly MessageLike[],
  model: string,
  options?: EstimateOptions
): number {
  checkArgs(messages, model)
  const counter = tokenizerFor(model)
  let total = requestTokens(options, counter)
  for (const m of messages) total += messageTokens(m, counter)
  return total
}

/** The part of an Anthropic client `estimateTokensAsync` uses (`new Anthropic()` satisfies it). */
export interface AnthropicCountTokensClient {
  messages: {
    countTokens(params: {
      model: string
      messages: never
      system?: never
      tools?: never
    }): PromiseLike<{ input_tokens: number }>
  }
}

/** Options of `estimateTokensAsync`. */
export interface EstimateAsyncOptions extends EstimateOptions {
  /**
   * An Anthropic client: for `claude-*` models the count comes from the free `count_tokens`
   * endpoint instead of the approximation. Default none (same as `estimateTokens`).
   */
  anthropic?: AnthropicCountTokensClient
}

/**
 * Like `estimateTokens`, but with `anthropic` set and a Claude model it asks Anthropic's
 * `count_tokens` endpoint (exact for the request as sent; rate-limited, one round trip).
 */
export async function estimateTokensAsync(
  messages: readonly MessageLike[],
  model: string,
  options: EstimateAsyncOptions = {}
): Promise<number> {
  checkArgs(messages, model)
  const client = options.anthropic
  if (client === undefined || !bareModel(model).startsWith('claude')) {
    return estimateTokens(messages, model, options)
  }
  if (typeof client?.messages?.countTokens !== 'function') {
    throw new InvalidOptionsError('anthropic', 'must be an Anthropic client')
  }
  const params = {
    model,
    messages: messages as never,
    ...(options.system === undefined ? {} : { system: options.system as never }),
    ...(options.tools === undefined ? {} : { tools: options.tools as never }),
  }
  const result = await client.messages.countTokens(params)
  return result.input_tokens
}
