/**
 * @module anthropic/wrap
 * `wrapAnthropic(client, options)`: the same client type, with `messages.create` and
 * `beta.messages.create` (and the SDK helpers built on them: `messages.stream`, `messages.parse`,
 * `beta.messages.stream`, `beta.messages.parse`, `beta.messages.thread`, `beta.messages.toolRunner`)
 * going through the kit, as do the clients `withOptions(...)` derives from it.
 */

import { InvalidOptionsError } from '@aikit/core'
import type Anthropic from '@anthropic-ai/sdk'
import { withOverride } from '../shared/call-options.js'
import { refuseUnmetered } from '../shared/engine.js'
import { resolveOptions } from '../shared/options.js'
import type { CallOverride, WrapOptions } from '../shared/types.js'
import { type ClientRoute, wrapClient } from '../shared/wrap-client.js'
import { anthropicBetaMessages, anthropicMessages } from './spec.js'

/** The SDK's request options (second argument of `messages.create`). */
export type AnthropicRequestOptions = NonNullable<Parameters<Anthropic['messages']['create']>[1]>

/**
 * Wraps an Anthropic client. Returns a client of the same type whose `messages.create` and
 * `beta.messages.create` (streamed or not) go through cache, budget, guard, cost, metrics and
 * logging as configured; so do those of the clients its `withOptions(...)` returns (same cache,
 * budget, guard, metrics and logger). The original client is not modified. Options are validated
 * here (`InvalidOptionsError` naming the field).
 *
 * @example
 * const anthropic = wrapAnthropic(new Anthropic(), { budget, cache, metrics, logger, guard })
 */
export function wrapAnthropic<C extends Anthropic>(client: C, options?: WrapOptions): C {
  if (typeof client !== 'object' || client === null) {
    throw new InvalidOptionsError('client', 'must be an Anthropic client')
  }
  const resolved = resolveOptions(options)
  // Billed methods the budget cannot meter are refused rather than left to bypass it.
  const target = resolved.budget ? refuseUnmetered(client, UNMETERED) : client
  return wrapClient(target, resolved, ROUTES)
}

/**
 * Methods the provider bills that the wrapper cannot meter (a batch's requests are answered
 * later, out of the wrapper's sight; the legacy Text Completions API): refused with
 * `UnmeteredMethodError` on a client wrapped with a budget, so that a budget never fails open.
 * Without a budget they pass through untouched.
 */
const UNMETERED: readonly (readonly string[])[] = [
  ['messages', 'batches', 'create'],
  ['beta', 'messages', 'batches', 'create'],
  ['completions', 'create'],
]

/**
 * The routes wrapped. The beta one (sent with the SDK's `beta` qualifier, which client middleware
 * acts on, and `betas` as the `anthropic-beta` header): its helpers (`stream`, `parse`, `thread`,
 * `toolRunner`) call `create` on the resource or through `this._client.beta.messages`.
 */
const ROUTES: readonly ClientRoute[] = [
  { path: ['messages'], spec: anthropicMessages },
  { path: ['beta', 'messages'], spec: anthropicBetaMessages, optional: true },
]

/**
 * Per-call options for a wrapped Anthropic client, typed as the SDK's request options:
 * `client.messages.create(params, aikit({ subject: userId, cache: 'no-store' }, { timeout: 5000 }))`.
 */
export function aikit(
  override: CallOverride,
  requestOptions?: AnthropicRequestOptions
): AnthropicRequestOptions {
  return withOverride(override, requestOptions)
}
