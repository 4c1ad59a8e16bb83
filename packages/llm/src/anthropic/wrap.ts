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
import { interceptCreate } from '../shared/engine.js'
import { type ResolvedOptions, resolveOptions } from '../shared/options.js'
import { optionalResourceAt, overlay, resourceAt, rewrapWithOptions } from '../shared/proxy.js'
import type { CallOverride, WrapOptions } from '../shared/types.js'
import { anthropicBetaMessages, anthropicMessages } from './spec.js'

/** The SDK's request options (second argument of `messages.create`). */
export type AnthropicRequestOptions = NonNullable<Parameters<Anthropic['messages']['create']>[1]>

type AnyCreate = (...args: unknown[]) => never

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
  return wrapResolved(client, resolveOptions(options))
}

/** `wrapAnthropic` with options already validated (also what `withOptions(...)` re-wraps with). */
function wrapResolved<C extends object>(client: C, resolved: ResolvedOptions): C {
  const messages = resourceAt(client, ['messages'])
  const messagesOverrides: Record<string, unknown> = {
    create: interceptCreate(anthropicMessages, resolved, bound(messages), client),
  }
  // SDK helpers that reach `create` through `this._client` find the wrapped client there.
  const resources = [messagesOverrides]
  const overrides: Record<string, unknown> = {
    messages: overlay(messages, messagesOverrides, false),
  }
  // The beta route (the SDK sends it with a `beta` qualifier, which client middleware acts on, and
  // `betas` as the `anthropic-beta` header): its helpers (`stream`, `parse`, `thread`,
  // `toolRunner`) call `create` on the resource or through `this._client.beta.messages`.
  const betaMessages = optionalResourceAt(client, ['beta', 'messages'])
  if (betaMessages !== undefined) {
    const betaOverrides: Record<string, unknown> = {
      create: interceptCreate(anthropicBetaMessages, resolved, bound(betaMessages), client),
    }
    resources.push(betaOverrides)
    overrides.beta = overlay(
      (client as unknown as { beta: object }).beta,
      { messages: overlay(betaMessages, betaOverrides, false) },
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
 * Per-call options for a wrapped Anthropic client, typed as the SDK's request options:
 * `client.messages.create(params, aikit({ subject: userId, cache: 'no-store' }, { timeout: 5000 }))`.
 */
export function aikit(
  override: CallOverride,
  requestOptions?: AnthropicRequestOptions
): AnthropicRequestOptions {
  return withOverride(override, requestOptions)
}
