/**
 * @module openai/wrap
 * `wrapOpenAI(client, options)`: the same client type, with `chat.completions.create` (streamed
 * or not), `responses.create` and `beta.responses.create` (and the SDK helpers that call them on
 * the resource, such as `chat.completions.parse`) going through the kit, as do the clients
 * `withOptions(...)` derives from it.
 */
import { InvalidOptionsError } from '@aikit/core'
import type OpenAI from 'openai'
import { withOverride } from '../shared/call-options.js'
import { interceptCreate } from '../shared/engine.js'
import { type ResolvedOptions, resolveOptions } from '../shared/options.js'
import { optionalResourceAt, overlay, resourceAt, rewrapWithOptions } from '../shared/proxy.js'
import type { CallOverride, WrapOptions } from '../shared/types.js'
import { openaiBetaResponses, openaiChat, openaiResponses } from './spec.js'

/** The SDK's request options (second argument of `chat.completions.create`). */
export type OpenAIRequestOptions = NonNullable<
  Parameters<OpenAI['chat']['completions']['create']>[1]
>

type AnyCreate = (...args: unknown[]) => never

/**
 * Wraps an OpenAI client. Returns a client of the same type whose `chat.completions.create`,
 * `responses.create` and `beta.responses.create` go through cache, budget, guard, cost, metrics
 * and logging as configured; so do those of the clients its `withOptions(...)` returns (same
 * cache, budget, guard, metrics and logger). The original client is not modified. Options are
 * validated here (`InvalidOptionsError` naming the field).
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
  return wrapResolved(client, resolveOptions(options))
}

/** `wrapOpenAI` with options already validated (also what `withOptions(...)` re-wraps with). */
function wrapResolved<C extends object>(client: C, resolved: ResolvedOptions): C {
  const chat = (client as unknown as { chat: object }).chat
  const completions = resourceAt(client, ['chat', 'completions'])
  const responses = resourceAt(client, ['responses'])
  // The SDK helpers reach `create` through `this._client` (`chat.completions.parse`, `.stream`,
  // `responses.parse`): on the wrapped resources `_client` is the wrapped client, so they go through too.
  const completionsOverrides: Record<string, unknown> = {
    create: interceptCreate(openaiChat, resolved, bound(completions), client),
  }
  const responsesOverrides: Record<string, unknown> = {
    create: interceptCreate(openaiResponses, resolved, bound(responses), client),
  }
  const resources = [completionsOverrides, responsesOverrides]
  const overrides: Record<string, unknown> = {
    chat: overlay(chat, { completions: overlay(completions, completionsOverrides, false) }, false),
    responses: overlay(responses, responsesOverrides, false),
  }
  // The beta route (`/responses?beta=true`, its `betas` param sent as the `openai-beta` header).
  const betaResponses = optionalResourceAt(client, ['beta', 'responses'])
  if (betaResponses !== undefined) {
    const betaOverrides: Record<string, unknown> = {
      create: interceptCreate(openaiBetaResponses, resolved, bound(betaResponses), client),
    }
    resources.push(betaOverrides)
    overrides.beta = overlay(
      (client as unknown as { beta: object }).beta,
      { responses: overlay(betaResponses, betaOverrides, false) },
      false
    )
  }
  rewrapWithOptions(client, overrides, (derived) => wrapResolved(derived, resolved))
  const wrapped = overlay(client, overrides, true)
  for (const resource of resources) resource._client = wrapped
  return wrapped
}

/** The resource's real `create`, bound to it. */
const bound = (resource: Record<string, unknown>): AnyCreate =>
  (resource.create as AnyCreate).bind(resource)

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
