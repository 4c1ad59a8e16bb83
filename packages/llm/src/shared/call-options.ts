/**
 * @module call-options
 * The per-call override travels INSIDE the SDK's own request options, under a Symbol key, so
 * `client.messages.create(params, aikit({ subject }))` type-checks against the SDK's signature.
 * The wrapper strips the key before the SDK sees the options (the SDK spreads options, which would
 * copy a Symbol-keyed property along).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { CALL_OVERRIDE_KEYS, type CacheMode, type CallOverride } from './types.js'

/** The key of the override inside request options (global so two copies of this package agree). */
export const AIKIT_OPTIONS: unique symbol = Symbol.for('@aikit/llm.call-options') as never

const CACHE_MODES: ReadonlySet<string> = new Set<CacheMode>(['default', 'no-store', 'refresh'])

/** Validates an override; throws `InvalidOptionsError` naming the field. */
export function checkOverride(override: CallOverride): CallOverride {
  if (override === null || typeof override !== 'object') {
    throw new InvalidOptionsError('aikit', 'must be an object')
  }
  // `aikit({ subjet: id })` would otherwise charge and cache the call under the default subject.
  rejectUnknownOptions(override, CALL_OVERRIDE_KEYS, 'aikit.')
  if (
    override.subject !== undefined &&
    (typeof override.subject !== 'string' || override.subject.length === 0)
  ) {
    throw new InvalidOptionsError('aikit.subject', 'must be a non-empty string')
  }
  if (override.cache !== undefined && !CACHE_MODES.has(override.cache)) {
    throw new InvalidOptionsError('aikit.cache', "must be 'default', 'no-store' or 'refresh'")
  }
  return override
}

/** Request options carrying an override; `base` (the SDK's own options) is copied, not modified. */
export function withOverride<O extends object>(override: CallOverride, base?: O): O {
  return { ...(base ?? ({} as O)), [AIKIT_OPTIONS]: checkOverride(override) }
}

/** No request options (most calls): one shared answer, not an object per call. */
const NO_OPTIONS = Object.freeze({ override: undefined, rest: undefined })

/** Splits the SDK request options into the override and the options to forward (`undefined` when empty). */
export function splitOptions(options: unknown): {
  readonly override: CallOverride | undefined
  readonly rest: Record<string, unknown> | undefined
} {
  if (options === null || typeof options !== 'object') return NO_OPTIONS
  const o = options as Record<string | symbol, unknown>
  if (!(AIKIT_OPTIONS in o)) return { override: undefined, rest: o as Record<string, unknown> }
  const { [AIKIT_OPTIONS]: override, ...rest } = o
  return { override: override as CallOverride, rest: rest as Record<string, unknown> }
}
