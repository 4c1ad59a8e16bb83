/**
 * @module tokens
 * Token estimates before a call (budget reservations, trimming).
 *
 * - Current OpenAI models (gpt-4o, gpt-4.1, gpt-4.5, gpt-5*, o1/o3/o4, chatgpt-4o, gpt-oss): gpt-tokenizer
 *   with their encoding, `o200k_base`, plus the chat format's overhead: 3 tokens per message and 3
 *   to prime the reply (OpenAI cookbook). Only that encoding is loaded (its ranks take about 0.25 s
 *   of CPU at import); legacy gpt-4 / gpt-3.5 (`cl100k_base`) get the approximation below. A
 *   piece of over 256 characters is counted in slices (see o200k-count.ts).
 * - Every other model (Claude above all: no local tokenizer exists for current Claude models) gets a
 *   deliberately HIGH approximation, since an estimate that is low lets a budget be overrun:
 *   `ceil(asciiLettersDigitsAndSpaces / 3)` (English averages about 3.5–4 characters per token)
 *   + `ceil(randomRunCharacters / 1.2)`, in place of `/ 3`, for the runs of ASCII letters and
 *   digits that look random: two or more changes between letters and digits (hex, base64, UUID
 *   parts), or 8+ letters under a quarter vowels that mix case twice or run 16+ (ids, keys and
 *   digests, which o200k and cl100k split at about 1.4 (base64) to 1.8 (hex) characters per token),
 *   and every run of a text whose letters hold under a quarter vowels (32+ letters: prose and code
 *   hold about 35%, random letters 19%): short random runs (meeting codes, base32 in groups of 4)
 *   + 1 per other ASCII character: punctuation, symbols, line breaks (code and JSON are dense in them)
 *   + 1 per 2-byte character (Cyrillic, Greek, Arabic, accents) + 1.5 per other BMP character (CJK
 *   is about one token per character) + 3 per astral character (emoji), plus 5 tokens per message
 *   and 10 per request. Measured against cl100k/o200k it is 1.1–2× high on English, code, JSON,
 *   Cyrillic, Arabic, CJK and emoji samples (test/tokens.test.ts), and on hex, base64 and UUIDs
 *   (test/claude-estimate-random-ids.test.ts).
 * - Images, audio and other non-text parts count `MEDIA_TOKENS` (1,600) each, about the largest a
 *   single image costs on most models (Anthropic scales an image down to about 1.15 megapixels,
 *   at most about 1,600 tokens). Models whose largest image bills more count that instead: OpenAI's
 *   patch-priced models (gpt-4.1-mini 2,489, gpt-4.1-nano 3,779, o4-mini 2,642, …) and gpt-4o-mini
 *   (48,169), see `image-tokens.ts`.
 * - Tools sent to a Claude model add Anthropic's tool-use system prompt: `CLAUDE_TOOL_USE_TOKENS`
 *   (346, the larger of Claude 4's 346 for `tool_choice` auto / none and 313 for any / tool), on
 *   top of the definitions' own JSON.
 * - Documents (Anthropic `document` blocks, OpenAI `file` / `input_file` parts) count what they hold:
 *   - a text source (`source.type: 'text'`, its `data`) or a content source (`'content'`, a string
 *     or text/image blocks) is counted like any other text and image, with its `title` and
 *     `context`;
 *   - a base64 PDF (Anthropic `source.data`, OpenAI `file_data`, data URL or bare base64) counts
 *     `PDF_PAGE_TOKENS` (4,600) per page. Anthropic bills a PDF page as its extracted text, which
 *     it documents at roughly 1,500–3,000 tokens per page, plus the page as an image: 3,000 +
 *     `MEDIA_TOKENS` is that upper end (measured pages cost about 2,100–2,500, so this is about 2×
 *     high). Pages are counted in the decoded file: its page objects (`/Type /Page`) or, when those
 *     sit in compressed object streams (PDF 1.5+), its stream dictionaries without a type (page
 *     content streams, plus a few font maps: more, never fewer). A file where neither is found
 *     counts 1 token per byte (Flate-compressed text holds about 3–4 characters, about one token,
 *     per byte), and never less than one page. Base64 data that is not a PDF counts its decoded
 *     bytes as text with the approximation below (about one token per byte of binary data).
 *   - a source whose size is not in the request (a URL, a Files API id) counts one page,
 *     `PDF_PAGE_TOKENS`: a low guess for a long document. Use `estimateTokensAsync` (Claude) or
 *     send the data to estimate those.
 * For exact Claude input counts use `estimateTokensAsync` with an Anthropic client (the free
 * `count_tokens` endpoint, one network round trip). Providers' reported usage always wins at settle.
 */

import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { imageTokenCap } from './image-tokens.js'
import { countO200k } from './o200k-count.js'

/**
 * A chat message in Anthropic or OpenAI format (only the fields that carry tokens are read). No
 * index signature: the SDKs' own message types (`Anthropic.MessageParam`,
 * `ChatCompletionMessageParam`) are interfaces without one, and TypeScript refuses to pass them
 * where one is required.
 */
export interface MessageLike {
  readonly role: string
  readonly content?: unknown
  /** OpenAI assistant tool calls. */
  readonly tool_calls?: unknown
  /** OpenAI tool messages: the call they answer (not counted). */
  readonly tool_call_id?: unknown
  /** OpenAI: the participant's or function's name. */
  readonly name?: unknown
  /** OpenAI Responses `function_call` items: the call's arguments. */
  readonly arguments?: unknown
  /** OpenAI Responses `function_call_output` items: the tool's output. */
  readonly output?: unknown
}

/** Options of `estimateTokens`. */
export interface EstimateOptions {
  /** Anthropic-style top-level system prompt (string or blocks). Default none. */
  system?: unknown
  /** Tool definitions sent with the request (counted as their JSON). Default none. */
  tools?: readonly unknown[]
}

/**
 * Tokens counted for each image, audio or other non-text part (see the module comment); an image
 * on a model whose largest image bills more counts that instead.
 */
export const MEDIA_TOKENS = 1600

/**
 * Anthropic's tool-use system prompt, added to the input of any request with tools: 346 tokens on
 * Claude 4 models with `tool_choice` auto or none, 313 with any or tool (Anthropic pricing docs,
 * "Tool use system prompt token count"). The larger is counted: the choice is not in the estimate.
 */
const CLAUDE_TOOL_USE_TOKENS = 346

/**
 * Tokens counted for each page of a PDF, and for a document whose size the request does not carry:
 * Anthropic's documented upper end of 3,000 text tokens per page plus the page as an image.
 */
export const PDF_PAGE_TOKENS = 3000 + MEDIA_TOKENS

const OPENAI_MESSAGE_OVERHEAD = 3
const OPENAI_REPLY_PRIMING = 3
const APPROX_MESSAGE_OVERHEAD = 5
const APPROX_REQUEST_OVERHEAD = 10

type Counter = (text: string) => number

/** What an estimate needs to know about a model. */
interface Profile {
  /** The gpt-tokenizer counter, or `undefined` (→ the approximation). */
  readonly counter: Counter | undefined
  /** Tokens counted per image. */
  readonly image: number
  /** Tokens a request with tools adds besides their JSON (Claude's tool-use system prompt). */
  readonly toolPrompt: number
}

const O200K = /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)/

const o200k: Counter = countO200k

// Character classes of a run of ASCII letters and digits (`approximateTokens`).
const DIGIT = 1
const LOWER = 2
const UPPER = 3
// Bit `c - 97` set for the lowercase vowels a, e, i, o, u.
const VOWELS = (1 << 0) | (1 << 4) | (1 << 8) | (1 << 14) | (1 << 20)

/**
 * Characters per token of a run of ASCII letters and digits that looks random (hex, base64, UUID
 * parts, API keys): o200k and cl100k need about 1.4 (base64) to 1.8 (hex) characters per token
 * there, not the 3+ of words.
 */
const RANDOM_RUN_CHARS_PER_TOKEN = 1.2

/** The fewest letters a text needs before its vowel share alone marks it as random. */
const RANDOM_TEXT_MIN_LETTERS = 32

/** The deliberately high approximation (see the module comment). */
export function approximateTokens(text: string): number {
  let word = 0 // ASCII letters, digits and spaces
  let random = 0 // letters and digits of runs that look random (counted out of `word`)
  let punct = 0 // other ASCII: punctuation, symbols, line breaks (about one token each in code and JSON)
  let twoByte = 0 // U+0080–U+07FF: Latin accents, Cyrillic, Greek, Arabic, Hebrew
  let threeByte = 0 // rest of the BMP: CJK, Hangul, Thai, …
  let astral = 0 // emoji and other 4-byte characters
  // The current run of ASCII letters and digits: its length, digits, vowels, changes between
  // letters and digits, lowercase-to-uppercase changes, and the class of its last character.
  let run = 0
  let digits = 0
  let vowels = 0
  let mixes = 0
  let humps = 0
  let prev = 0
  // Over the whole text: the letters and vowels of every run, and the letters and digits of the
  // runs counted as words (moved to `random` when the whole text reads as random, below).
  let letters = 0
  let allVowels = 0
  let plain = 0
  const n = text.length
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0
    const cls =
      c >= 97 && c <= 122 ? LOWER : c >= 65 && c <= 90 ? UPPER : c >= 48 && c <= 57 ? DIGIT : 0
    if (cls !== 0) {
      word++
      run++
      if (cls === DIGIT) {
        digits++
        if (prev > DIGIT) mixes++
      } else {
        if (prev === DIGIT) mixes++
        else if (cls === UPPER && prev === LOWER) humps++
        vowels += (VOWELS >> ((c | 32) - 97)) & 1
      }
      prev = cls
      continue
    }
    if (run > 0) {
      // Words (camelCase, `sha256`, `utf8` too) hold at most one letter/digit change and about
      // two vowels in five letters; random ids change back and forth (hex, base64, UUID parts)
      // or, letters only, hold few vowels and mix cases or run long.
      if (
        mixes >= 2 ||
        (digits === 0 && run >= 8 && vowels * 4 < run && (humps >= 2 || run >= 16))
      ) {
        word -= run
        random += run
      } else plain += run
      letters += run - digits
      allVowels += vowels
      run = digits = vowels = mixes = humps = prev = 0
    }
    if (i === n) break
    if (c < 128) {
      if (c === 32) word++
      else punct++
    } else if (c < 0x800) twoByte++
    else if (c >= 0xd800 && c <= 0xdbff) {
      astral++
      i++
    } else threeByte++
  }
  // Prose and code hold about 35% vowels among their letters (a lockfile full of hashes 31%),
  // random letters about 19% (5 in 26; base32 16%): a text under 25% is ids, codes or secrets
  // in short runs the per-run test misses (meeting codes, base32 in groups of 4).
  if (letters >= RANDOM_TEXT_MIN_LETTERS && allVowels * 4 < letters) {
    word -= plain
    random += plain
  }
  return (
    Math.ceil(word / 3) +
    Math.ceil(random / RANDOM_RUN_CHARS_PER_TOKEN) +
    punct +
    twoByte +
    Math.ceil((threeByte * 3) / 2) +
    astral * 3
  )
}

function bareModel(model: string): string {
  const slash = model.indexOf('/')
  return (slash === -1 ? model : model.slice(slash + 1)).toLowerCase()
}

// The last model looked up and its profile: calls mostly repeat one model (no lowercasing and
// regex per estimate then).
let lastModel = ''
let lastProfile: Profile | undefined

/** How `model` is estimated: its tokenizer, image tokens and tool-use prompt. */
function profileFor(model: string): Profile {
  if (model === lastModel && lastProfile !== undefined) return lastProfile
  const bare = bareModel(model)
  const profile: Profile = {
    counter: O200K.test(bare) ? o200k : undefined,
    image: Math.max(MEDIA_TOKENS, imageTokenCap(bare)),
    toolPrompt: bare.includes('claude') ? CLAUDE_TOOL_USE_TOKENS : 0,
  }
  lastModel = model
  lastProfile = profile
  return profile
}

/** Tokens of a plain text for `model` (the tokenizer or the high approximation). */
export function estimateTextTokens(text: string, model: string): number {
  const counter = profileFor(model).counter
  return counter ? counter(text) : approximateTokens(text)
}

/** Decoded size in bytes of base64 text (each 4 characters are 3 bytes; `=` padding is none). */
function base64Bytes(b64: string): number {
  let end = b64.length
  while (end > 0 && b64.charCodeAt(end - 1) === 61) end--
  return Math.floor((end * 3) / 4)
}

// A page object (`/Type /Page`, not `/Type /Pages`).
const PDF_PAGE_OBJECT = /\/Type\s*\/Page(?![A-Za-z])/g
// Keys that mark a stream as something other than page content: a typed stream (object and
// xref streams, metadata, images, forms, CMaps, functions, shadings), an embedded font file
// (`/Length1`–`/Length3`) or an ICC profile (`/N`).
const NON_CONTENT_STREAM = /\/(?:[A-Za-z]*Type|Subtype|Length[1-3]|N)(?![A-Za-z0-9])/

/** Pages of a PDF held in a binary string (see the module comment), 0 when none are found. */
function pdfPages(bin: string): number {
  const pages = bin.match(PDF_PAGE_OBJECT)?.length ?? 0
  if (pages > 0) return pages
  // Page objects inside compressed object streams: count the untyped stream dictionaries. A
  // stream's dictionary runs from the last `obj` before it; the streams after one `obj` share
  // that start, so each reads on from where the one before it stopped (searching back to the
  // `obj` and reading the whole dictionary again for every stream was quadratic: a 750 KB file
  // of `>>stream` took minutes).
  let streams = 0
  let objAt = -1 // the last `obj` at or before the current stream
  let nextObj = bin.indexOf('obj')
  let dictStart = -1
  let readTo = 0 // the dictionary is read up to here
  let typed = false // what has been read of it holds a key of NON_CONTENT_STREAM
  let at = bin.indexOf('stream')
  while (at !== -1) {
    // `stream` right after a dictionary's `>>` (not `endstream`, not inside data).
    let i = at - 1
    while (i > 0 && (bin[i] === ' ' || bin[i] === '\r' || bin[i] === '\n' || bin[i] === '\t')) i--
    if (bin[i] === '>' && bin[i - 1] === '>') {
      while (nextObj !== -1 && nextObj <= i) {
        objAt = nextObj
        nextObj = bin.indexOf('obj', nextObj + 1)
      }
      const start = Math.max(0, objAt)
      if (start !== dictStart) {
        dictStart = start
        readTo = start
        typed = false
      }
      // A key cannot straddle `readTo`: the text before it ends with `>`, which no key holds.
      if (!typed) typed = NON_CONTENT_STREAM.test(bin.slice(readTo, i))
      readTo = i
      if (!typed) streams++
    }
    at = bin.indexOf('stream', at + 6)
  }
  return streams
}

// The last base64 file estimated and its tokens: a trim and then a reservation estimate the same
// request, so the same document is seen more than once in a row.
let lastFile = ''
let lastFileTokens = 0

/** Tokens of a base64 file (bare or a `data:` URL): a PDF by its pages, anything else as text. */
function base64FileTokens(data: string): number {
  if (data === lastFile) return lastFileTokens
  const b64 = data.startsWith('data:') ? data.slice(data.indexOf(',') + 1) : data
  let bin: string | undefined
  try {
    bin = atob(b64)
  } catch {
    bin = undefined // not valid base64: sized by its length below
  }
  let tokens: number
  if (bin === undefined) {
    tokens = Math.max(PDF_PAGE_TOKENS, base64Bytes(b64))
  } else if (bin.startsWith('%PDF')) {
    const pages = pdfPages(bin)
    tokens = pages > 0 ? pages * PDF_PAGE_TOKENS : Math.max(PDF_PAGE_TOKENS, bin.length)
  } else {
    tokens = approximateTokens(bin)
  }
  lastFile = data
  lastFileTokens = tokens
  return tokens
}

/**
 * An Anthropic `document` block: its text goes to `out`; returns its other tokens (`image` per
 * image of a content source).
 */
function documentTokens(p: Record<string, unknown>, out: string[], image: number): number {
  if (typeof p.title === 'string') out.push(p.title)
  if (typeof p.context === 'string') out.push(p.context)
  const source = p.source as Record<string, unknown> | null | undefined
  if (source === null || typeof source !== 'object') return PDF_PAGE_TOKENS
  switch (source.type) {
    case 'text':
      if (typeof source.data === 'string') out.push(source.data)
      return 0
    case 'content':
      return collect(source.content, out, image)
    case 'base64':
      return typeof source.data === 'string' ? base64FileTokens(source.data) : PDF_PAGE_TOKENS
    default:
      // `url`, `file`: the size is not in the request.
      return PDF_PAGE_TOKENS
  }
}

/** An OpenAI file part (`{ type: 'file', file: { file_data } }` or `{ type: 'input_file', file_data }`). */
function fileTokens(p: Record<string, unknown>): number {
  const file = (p.type === 'file' ? p.file : p) as Record<string, unknown> | null | undefined
  const data = file !== null && typeof file === 'object' ? file.file_data : undefined
  return typeof data === 'string' && data.length > 0 ? base64FileTokens(data) : PDF_PAGE_TOKENS
}

/**
 * Appends a content value's text to `out`; returns the tokens of its non-text parts (`image` per
 * image).
 */
function collect(content: unknown, out: string[], image: number): number {
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
        media += collect(p.content, out, image)
        break
      case 'document':
        media += documentTokens(p, out, image)
        break
      case 'file':
      case 'input_file':
        media += fileTokens(p)
        break
      case 'image':
      case 'image_url':
      case 'input_image':
        media += image
        break
      case 'input_audio':
        media += MEDIA_TOKENS
        break
      default:
        out.push(JSON.stringify(p))
    }
  }
  return media
}

/** Token estimate of one message (its overhead included). */
export function estimateMessageTokens<M extends MessageLike>(message: M, model: string): number {
  return messageTokens(message, profileFor(model))
}

function messageTokens(message: MessageLike, profile: Profile): number {
  const counter = profile.counter
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
  let media = collect(message.content, parts, profile.image)
  // OpenAI Responses items with no `content`: a `function_call` carries `arguments`, a
  // `function_call_output` its `output` (a string, or content parts).
  if (typeof message.arguments === 'string') parts.push(message.arguments)
  if (message.output !== undefined) media += collect(message.output, parts, profile.image)
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as unknown[]) {
      const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function
      if (fn) parts.push(String(fn.name ?? ''), String(fn.arguments ?? ''))
    }
  }
  if (typeof message.name === 'string') parts.push(message.name)
  const text = parts.length === 1 ? (parts[0] as string) : parts.join('\n')
  return counter
    ? counter(text) + OPENAI_MESSAGE_OVERHEAD + media
    : approximateTokens(text) + APPROX_MESSAGE_OVERHEAD + media
}

/** Overhead of a whole request: system prompt, tools (and Claude's tool-use prompt), reply priming. */
function requestTokens(options: EstimateOptions | undefined, profile: Profile): number {
  const counter = profile.counter
  let total = counter ? OPENAI_REPLY_PRIMING : APPROX_REQUEST_OVERHEAD
  if (options?.system !== undefined) {
    total += messageTokens({ role: 'system', content: options.system }, profile)
  }
  if (options?.tools !== undefined && options.tools.length > 0) {
    const json = JSON.stringify(options.tools)
    total += (counter ? counter(json) : approximateTokens(json)) + profile.toolPrompt
  }
  return total
}

/**
 * The keys of a `BudgetEstimate` that prices tokens (either form): any other key is refused, since
 * a misspelt field would hold less than the call costs. Kept here, not in budget.ts, because
 * `estimateTokens` takes a messages-form estimate as its options (the budget imports this module).
 */
export const PRICED_ESTIMATE_KEYS = [
  'model',
  'maxOutputTokens',
  'cacheWrite',
  'serviceTier',
  'speed',
  'inferenceGeo',
  'ttl',
] as const

/**
 * The keys of a messages-form `BudgetEstimate`, which are also the keys `estimateTokens` accepts in
 * its options: its own (`system`, `tools`) and the rest of such an estimate (the kit passes one as
 * it is, without a copy per call). A misspelt `tools` or `system` would leave them out of the
 * estimate, and a budget would hold less than the call costs.
 */
export const MESSAGES_ESTIMATE_KEYS = [
  ...PRICED_ESTIMATE_KEYS,
  'messages',
  'system',
  'tools',
] as const

const ESTIMATE_OPTION_KEYS = MESSAGES_ESTIMATE_KEYS

/** The keys of `EstimateAsyncOptions`. */
const ESTIMATE_ASYNC_OPTION_KEYS = [...ESTIMATE_OPTION_KEYS, 'anthropic'] as const

/** Validates estimate options (`known`: the keys accepted); throws `InvalidOptionsError` naming the field. */
export function checkEstimateOptions(
  options: unknown,
  known: readonly string[] = ESTIMATE_OPTION_KEYS
): void {
  if (options === undefined) return
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object { system?, tools? }')
  }
  rejectUnknownOptions(options, known)
  const { tools } = options as { tools?: unknown }
  if (tools !== undefined && !Array.isArray(tools)) {
    throw new InvalidOptionsError('tools', 'must be an array of tool definitions')
  }
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
export function estimateTokens<M extends MessageLike>(
  // Generic: an inline message with a field MessageLike does not name is accepted as it is.
  messages: readonly M[],
  model: string,
  options?: EstimateOptions
): number {
  checkArgs(messages, model)
  checkEstimateOptions(options)
  return countTokens(messages, model, options)
}

/** `estimateTokens` on arguments already checked (`trimMessages`, a budget's estimate). */
export function countTokens(
  messages: readonly MessageLike[],
  model: string,
  options: EstimateOptions | undefined
): number {
  const profile = profileFor(model)
  let total = requestTokens(options, profile)
  for (const m of messages) total += messageTokens(m, profile)
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
export async function estimateTokensAsync<M extends MessageLike>(
  messages: readonly M[],
  model: string,
  options: EstimateAsyncOptions = {}
): Promise<number> {
  checkArgs(messages, model)
  checkEstimateOptions(options, ESTIMATE_ASYNC_OPTION_KEYS)
  const client = options.anthropic
  // Checked for every model: a client that cannot count is a mistake even when unused this time.
  if (client !== undefined && typeof client?.messages?.countTokens !== 'function') {
    throw new InvalidOptionsError('anthropic', 'must be an Anthropic client')
  }
  if (client === undefined || !bareModel(model).startsWith('claude')) {
    return countTokens(messages, model, options)
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
