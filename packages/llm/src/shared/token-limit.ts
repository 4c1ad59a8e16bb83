/**
 * @module token-limit
 * The optional token rate limit of a call: reserve the estimated tokens on a limiter before the
 * provider call, settle to the actual tokens after it (or give them back on an error).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { totalInputTokens, type Usage } from '@aikit/cost'
import { TokenRateLimitedError } from './errors.js'
import {
  type LlmTokenLimiter,
  type LlmTokenReservation,
  TOKEN_LIMIT_OPTION_KEYS,
  type TokenLimitKeyFn,
  type TokenLimitKeyInfo,
  type TokenLimitOptions,
  type WrapOptions,
} from './types.js'

/** The key of a call with no subject: one bucket for the whole app. */
const APP_WIDE_KEY = '*'

/** Default key: the call's subject, else the app-wide key. */
const subjectKey: TokenLimitKeyFn = (info) => info.subject ?? APP_WIDE_KEY

/** The `tokenLimit` option with its default key. */
export interface ResolvedTokenLimit {
  readonly limiter: LlmTokenLimiter
  readonly key: TokenLimitKeyFn
}

const SHAPE = 'must be a rate limiter (createRateLimiter(...)) or { limiter, key? }'

const hasReserve = (value: unknown): value is LlmTokenLimiter =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Record<string, unknown>).reserve === 'function'

/** Validates the `tokenLimit` option; throws `InvalidOptionsError` naming the bad field. */
export function resolveTokenLimit(
  value: WrapOptions['tokenLimit']
): ResolvedTokenLimit | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object')
    throw new InvalidOptionsError('tokenLimit', SHAPE)
  if (hasReserve(value)) return { limiter: value, key: subjectKey }
  if (!('limiter' in value)) throw new InvalidOptionsError('tokenLimit', SHAPE)
  // The `{ limiter, key }` form: a misspelt `key` would otherwise leave the default key in use.
  rejectUnknownOptions(value, TOKEN_LIMIT_OPTION_KEYS, 'tokenLimit.')
  const { limiter, key } = value as TokenLimitOptions
  if (!hasReserve(limiter)) {
    throw new InvalidOptionsError('tokenLimit.limiter', 'must have a reserve(key, units) method')
  }
  if (key !== undefined && typeof key !== 'function') {
    throw new InvalidOptionsError(
      'tokenLimit.key',
      'must be a function ({ subject, provider, model }) => string | undefined'
    )
  }
  return { limiter, key: key ?? subjectKey }
}

/** Input (cache reads and writes included) + output tokens of a usage report. */
export function totalTokens(usage: Usage): number {
  return totalInputTokens(usage) + usage.outputTokens
}

const ignore = (): void => {}
const RESOLVED: Promise<void> = Promise.resolve()

/**
 * Tokens held for one call. `settle` or `release`, whichever comes first, acts (the engine may
 * reach both: a blocked output after the settle); both resolve and never reject: the caller
 * already has the answer, and `@aikit/ratelimit` absorbs store failures itself.
 */
export class TokenHold {
  readonly #reservation: LlmTokenReservation
  /** The tokens reserved. */
  readonly units: number
  #open = true
  constructor(reservation: LlmTokenReservation, units: number) {
    this.#reservation = reservation
    this.units = units
  }

  /** Charges the actual tokens of `usage` (the reserved ones when the provider reported none). */
  settle(usage: Usage | undefined): Promise<void> {
    if (!this.#open) return RESOLVED
    this.#open = false
    const actual = usage === undefined ? this.units : Math.ceil(totalTokens(usage))
    // A usage too odd to count keeps the reserved tokens.
    const counted = Number.isSafeInteger(actual) && actual >= 0 ? actual : this.units
    let settled: Promise<unknown>
    try {
      settled = this.#reservation.settle(counted)
    } catch {
      return RESOLVED
    }
    return quiet(settled)
  }

  /** Gives every reserved token back (no provider call, or the call failed). */
  release(): Promise<void> {
    if (!this.#open) return RESOLVED
    this.#open = false
    let released: Promise<unknown>
    try {
      released = this.#reservation.release()
    } catch {
      return RESOLVED
    }
    return quiet(released)
  }
}

/** `value` (a promise or any thenable) settled, never rejecting: one `then`, no closure. */
function quiet(value: PromiseLike<unknown>): Promise<void> {
  // `Promise.resolve` returns a native promise as is and adopts any other thenable.
  return Promise.resolve(value).then(ignore, ignore)
}

/**
 * Starts reserving `units` tokens for a call: the limiter's own promise (the engine awaits it
 * directly, no async layer of ours in between), or `undefined` when the key function leaves the
 * call unlimited. Pass the reservation to `holdTokens`.
 * @throws the key function's or the limiter's synchronous errors, as they are.
 */
export function reserveTokens(
  limit: ResolvedTokenLimit,
  info: TokenLimitKeyInfo,
  units: number
): Promise<LlmTokenReservation> | undefined {
  const key = limit.key(info)
  return key === undefined ? undefined : limit.limiter.reserve(key, units)
}

/**
 * The hold of a reservation `reserveTokens` started.
 * @throws TokenRateLimitedError when the tokens did not fit.
 */
export function holdTokens(reservation: LlmTokenReservation, units: number): TokenHold {
  if (!reservation.allowed) throw new TokenRateLimitedError(reservation.result.retryAfterMs, units)
  return new TokenHold(reservation, units)
}
