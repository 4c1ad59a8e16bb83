/**
 * @module openai/wrap
 * `wrapOpenAI(client, options)`: the same client type, with `chat.completions.create` (streamed
 * or not) and `responses.create` (and the SDK helpers that call them on the resource, such as
 * `chat.completions.parse`) going through the kit.
 */
import { InvalidOptionsError } from '@aikit/core'
import type OpenAI from 'openai'
import { withOverride } from '../shared/call-options.js'
import { interceptCreate } from '../shared/engine.js'
import { resolveOptions } from '../shared/options.js'
import { overlay, resourceAt } from '../shared/proxy.js'
import type { CallOverride, WrapOptions } from '../shared/types.js'
import { openaiChat, openaiResponses } from './spec.js'

/** The SDK's request options (second argument of `chat.completions.create`). */
export type OpenAIRequestOptions = NonNullable<
  Parameters<OpenAI['chat']['completions']['create']>[1]
>

type AnyCreate = (...args: unknown[]) => never

/**
 * Wraps an OpenAI client. Returns a client of the same type whose `chat.completions.create` and
 * `responses.create` go through cache, budget, guard, cost, metrics and logging as configured. The
 * original client is not modified. Options are validated here (`InvalidOptionsError` naming the field).
 * `C` is bound structurally, not by `extends OpenAI`: the SDK class is nominal (`#private`), and a
 * client of another copy or major of `openai` (6 or 7) must fit too; `C` keeps its own type.
 *
 * @example
 * const openai = wrapOpenAI(new OpenAI(), { budget, cache, metrics, logger, guard })
 */
export function wrapOpenAI<C extends { chat: { completions: object }; responses: object }>(
  client: C,
  options?: WrapOptions
): C {
  if (typeof client !== 'object' || client === null) {
    throw new InvalidOptionsError('client', 'must be an OpenAI client')
  }
  const resolved = resolveOptions(options)
  const chat = client.chat as unknown as Record<string, unknown>
  const completions = resourceAt(client, ['chat', 'completions'])
  const responses = resourceAt(client, ['responses'])
  const chatCreate = interceptCreate(
    openaiChat,
    resolved,
    (completions.create as AnyCreate).bind(completions),
    client
  )
  const responsesCreate = interceptCreate(
    openaiResponses,
    resolved,
    (responses.create as AnyCreate).bind(responses),
    client
  )
  // The SDK helpers reach `create` through `this._client` (`chat.completions.parse`, `.stream`,
  // `responses.parse`): on the wrapped resources `_client` is the wrapped client, so they go through too.
  const completionsOverrides: Record<string, unknown> = { create: chatCreate }
  const responsesOverrides: Record<string, unknown> = { create: responsesCreate }
  const wrappedChat = overlay(
    chat,
    { completions: overlay(completions, completionsOverrides, false) },
    false
  )
  const wrapped = overlay(
    client,
    { chat: wrappedChat, responses: overlay(responses, responsesOverrides, false) },
    true
  )
  completionsOverrides._client = wrapped
  responsesOverrides._client = wrapped
  return wrapped
}

/**
 * Per-call options for a wrapped OpenAI client, typed as the SDK's request options (those of the
 * method it is passed to, so openai 6 and 7 both fit):
 * `client.chat.completions.create(params, aikit({ subject: userId, cache: 'no-store' }))`.
 */
export function aikit<O extends object = OpenAIRequestOptions>(
  override: CallOverride,
  requestOptions?: O
): O {
  return withOverride(override, requestOptions)
}
