/**
 * @module anthropic/wrap
 * `wrapAnthropic(client, options)`: the same client type, with `messages.create` (and the SDK
 * helpers built on it: `messages.stream`, `messages.parse`) going through the kit.
 */

import { InvalidOptionsError } from '@aikit/core'
import type Anthropic from '@anthropic-ai/sdk'
import { withOverride } from '../shared/call-options.js'
import { interceptCreate } from '../shared/engine.js'
import { resolveOptions } from '../shared/options.js'
import { overlay, resourceAt } from '../shared/proxy.js'
import type { CallOverride, WrapOptions } from '../shared/types.js'
import { anthropicMessages } from './spec.js'

/** The SDK's request options (second argument of `messages.create`). */
export type AnthropicRequestOptions = NonNullable<Parameters<Anthropic['messages']['create']>[1]>

/**
 * Wraps an Anthropic client. Returns a client of the same type whose `messages.create` (streamed or
 * not) goes through cache, budget, guard, cost, metrics and logging as configured. The original
 * client is not modified. Options are validated here (`InvalidOptionsError` naming the field).
 *
 * @example
 * const anthropic = wrapAnthropic(new Anthropic(), { budget, cache, metrics, logger, guard })
 */
export function wrapAnthropic<C extends Anthropic>(client: C, options?: WrapOptions): C {
  if (typeof client !== 'object' || client === null) {
    throw new InvalidOptionsError('client', 'must be an Anthropic client')
  }
  const resolved = resolveOptions(options)
  const messages = resourceAt(client, ['messages'])
  const original = (messages.create as (...args: unknown[]) => never).bind(messages)
  const create = interceptCreate(anthropicMessages, resolved, original, client)
  // SDK helpers that reach `create` through `this._client` find the wrapped client there.
  const overrides: Record<string, unknown> = { create }
  const wrapped = overlay(client, { messages: overlay(messages, overrides, false) }, true)
  overrides._client = wrapped
  return wrapped
}

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
