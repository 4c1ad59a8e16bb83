/**
 * @module call-options
 * The per-call override travels INSIDE the SDK's own request options, under a Symbol key, so
 * `client.messages.create(params, aikit({ subject }))` type-checks against the SDK's signature.
 * The wrapper strips the key before the SDK sees the options (the SDK spreads options, which would
 * copy a Symbol-keyed property along).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { CALL_OVERRIDE_KEYS, type CacheMode, type CallOverride, WRAP_OPTION_KEYS } from './types.js'

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
  const checked = checkOverride(override)
  if (base !== undefined && base !== null) refuseKitOptions(base as Record<string, unknown>)
  return { ...(base ?? ({} as O)), [AIKIT_OPTIONS]: checked }
}

/** No request options (most calls): one shared answer, not an object per call. */
const NO_OPTIONS = Object.freeze({ override: undefined, rest: undefined })

/**
 * The SDKs' own request options (`@anthropic-ai/sdk` 1.x, `openai` 6 and 7; `__`-prefixed
 * internals aside): never taken for a misplaced kit option.
 */
const SDK_REQUEST_OPTIONS: ReadonlySet<string> = new Set([
  'method',
  'path',
  'query',
  'body',
  'headers',
  'maxRetries',
  'stream',
  'timeout',
  'fetchOptions',
  'signal',
  'middleware',
  'fallbackState',
  'idempotencyKey',
  'defaultBaseURL',
  'openTelemetry',
  'bearerAuth',
  'adminAPIKeyAuth',
])

/** Edit distance of two short names, or 3 when it is more than 2. */
function nearness(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current.push(
        Math.min(
          (previous[j] as number) + 1,
          (current[j - 1] as number) + 1,
          (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
        )
      )
    }
    previous = current
  }
  return Math.min(previous[b.length] as number, 3)
}

/**
 * The kit option a request-options key names: a per-call key (`subject`, `cache`) or a near miss
 * of one (`subjet`), or a wrapper option (`budget`, `coalesce`, …); `undefined` for anything else.
 */
function kitOptionNamed(key: string): string | undefined {
  const lower = key.toLowerCase()
  for (const name of CALL_OVERRIDE_KEYS) if (nearness(lower, name) <= 2) return name
  return WRAP_OPTION_KEYS.find((name) => name.toLowerCase() === lower)
}

/**
 * Refuses a kit option written straight into the SDK's request options
 * (`create(params, { subject: id })`, `{ cahce: 'no-store' }`, `{ budget }`): the SDK ignores
 * keys it does not know, so the call would run under the wrong subject, cache mode or budget.
 * Other unknown keys are the SDK's business (a newer SDK's options pass through).
 */
function refuseKitOptions(rest: Record<string, unknown>): void {
  for (const key in rest) {
    if (!Object.hasOwn(rest, key) || SDK_REQUEST_OPTIONS.has(key) || key.startsWith('__')) continue
    const name = kitOptionNamed(key)
    if (name === undefined) continue
    throw new InvalidOptionsError(
      `requestOptions.${key}`,
      (CALL_OVERRIDE_KEYS as readonly string[]).includes(name)
        ? `is not an SDK request option (the SDK would ignore it): pass it as \`aikit({ ${name} })\``
        : `is not an SDK request option (the SDK would ignore it): \`${name}\` is an option of wrapAnthropic / wrapOpenAI`
    )
  }
}

/**
 * Splits the SDK request options into the override and the options to forward (`undefined` when
 * empty). Throws `InvalidOptionsError` for an override with an unknown key or a bad value (one
 * built without `aikit()`, or changed after it) and for a kit option written among the request
 * options: the call must not run under the wrong subject, cache mode or budget.
 */
export function splitOptions(options: unknown): {
  readonly override: CallOverride | undefined
  readonly rest: Record<string, unknown> | undefined
} {
  if (options === null || typeof options !== 'object') return NO_OPTIONS
  const o = options as Record<string | symbol, unknown>
  if (!(AIKIT_OPTIONS in o)) {
    refuseKitOptions(o as Record<string, unknown>)
    return { override: undefined, rest: o as Record<string, unknown> }
  }
  const { [AIKIT_OPTIONS]: override, ...rest } = o
  refuseKitOptions(rest)
  return {
    override: override === undefined ? undefined : checkOverride(override as CallOverride),
    rest: rest as Record<string, unknown>,
  }
}
