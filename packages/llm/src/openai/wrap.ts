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
import { refuseUnmetered } from '../shared/engine.js'
import { resolveOptions } from '../shared/options.js'
import type { CallOverride, WrapOptions } from '../shared/types.js'
import { type ClientRoute, wrapClient } from '../shared/wrap-client.js'
import { openaiBetaResponses, openaiChat, openaiResponses } from './spec.js'

/** The SDK's request options (second argument of `chat.completions.create`). */
export type OpenAIRequestOptions = NonNullable<
  Parameters<OpenAI['chat']['completions']['create']>[1]
>

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
  const resolved = resolveOptions(options)
  // Billed methods the budget cannot meter are refused rather than left to bypass it.
  const target = resolved.budget ? refuseUnmetered(client, UNMETERED) : client
  return wrapClient(target, resolved, ROUTES)
}

/**
 * Methods the provider bills that the wrapper cannot meter (no estimate before the call, no usage
 * it can price after it): refused with `UnmeteredMethodError` on a client wrapped with a budget, so
 * that a budget never fails open. Without a budget they pass through untouched.
 */
const UNMETERED: readonly (readonly string[])[] = [
  ['embeddings', 'create'],
  ['responses', 'compact'],
  ['completions', 'create'],
  ['batches', 'create'],
]

/**
 * The routes wrapped; the beta one is `/responses?beta=true`, its `betas` param sent as the
 * `openai-beta` header. The SDK helpers reach `create` through `this._client`
 * (`chat.completions.parse`, `.stream`, `responses.parse`), which is the wrapped client.
 */
const ROUTES: readonly ClientRoute[] = [
  { path: ['chat', 'completions'], spec: openaiChat },
  { path: ['responses'], spec: openaiResponses },
  { path: ['beta', 'responses'], spec: openaiBetaResponses, optional: true },
]

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
