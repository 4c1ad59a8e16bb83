/**
 * @module token-limit
 * The optional token rate limit of a call: reserve the estimated tokens on a limiter before the
 * provider call, settle to the actual tokens after it (or give them back on an error).
 */
import { InvalidOptionsError } from '@aikit/core'
import { totalInputTokens, type Usage } from '@aikit/cost'
import { TokenRateLimitedError } from './errors.js'
import type {
  LlmTokenLimiter,
  LlmTokenReservation,
  TokenLimitKeyFn,
  TokenLimitKeyInfo,
  TokenLimitOptions,
  WrapOptions,
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
    if (!this.#open) return Promise.resolve()
    this.#open = false
    const actual = usage === undefined ? this.units : Math.ceil(totalTokens(usage))
    // A usage too odd to count keeps the reserved tokens.
    const counted = Number.isSafeInteger(actual) && actual >= 0 ? actual : this.units
    return attempt(() => this.#reservation.settle(counted))
  }

  /** Gives every reserved token back (no provider call, or the call failed). */
  release(): Promise<void> {
    if (!this.#open) return Promise.resolve()
    this.#open = false
    return attempt(() => this.#reservation.release())
  }
}

function attempt(fn: () => Promise<unknown>): Promise<void> {
  try {
    return Promise.resolve(fn()).then(ignore, ignore)
  } catch {
    return Promise.resolve()
  }
}

/**
 * Reserves `units` tokens for a call; `undefined` when the key function leaves the call unlimited.
 * @throws TokenRateLimitedError when they do not fit; the limiter's own errors (a bad key, a store
 * the limiter's policy does not absorb) as they are.
 */
export async function reserveTokens(
  limit: ResolvedTokenLimit,
  info: TokenLimitKeyInfo,
  units: number
): Promise<TokenHold | undefined> {
  const key = limit.key(info)
  if (key === undefined) return undefined
  const reservation = await limit.limiter.reserve(key, units)
  if (!reservation.allowed) throw new TokenRateLimitedError(reservation.result.retryAfterMs, units)
  return new TokenHold(reservation, units)
}
