/**
 * @module adapter-options
 * The options every framework adapter accepts, validated once at construction.
 */
import { asyncContextRequested } from './current-context.js'
import { InvalidOptionsError } from './errors.js'
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  DEFAULT_MAX_JSON_KEYS,
} from './json-body.js'
import { rejectUnknownOptions } from './known-options.js'
import { createIpResolver, type IpResolver, type TrustProxy } from './trust-proxy.js'
import type { Context } from './types.js'

/** Options shared by `toExpress`, `aikitFastify`, `withAikit`, `aikitProxy` and `toNodeHandler`. */
export interface AdapterOptions {
  /** Proxies whose `X-Forwarded-For` is believed (see `TrustProxy`). @default false */
  trustProxy?: TrustProxy
  /** Largest request body `ctx.json()` reads, in bytes. @default 1_048_576 */
  maxBodyBytes?: number
  /** Deepest JSON nesting `ctx.json()` accepts. @default 64 */
  maxJsonDepth?: number
  /**
   * Most object members (all objects of the body together) `ctx.json()` accepts: a long chat
   * history or agent transcript may need more (each message is 2-4 members). @default 10_000
   */
  maxJsonKeys?: number
  /**
   * Called with every error a middleware or the route threw that is not an `AikitError`
   * (those become a 500 whose body hides the message), and with errors thrown after the head
   * was written. Use it to log or report; it must not throw.
   * @default undefined
   */
  onError?: (error: unknown, ctx: Context) => void
  /**
   * Run each request inside an AsyncLocalStorage scope so that `currentContext()` works (the LLM
   * wrappers, the logger and Sentry use it). A scope costs every request: on Node 20 AsyncLocalStorage
   * enables async hooks for the whole process (~6 µs per request behind Fastify), and Node 24's
   * AsyncContextFrame still measured ~2 µs. `'auto'`: on Node, scope requests once something has
   * declared that it reads the context (`requireAsyncContext()`, which the kit's parts call when
   * created, and any `currentContext()` call); on edge runtimes always. `true` always, `false` never.
   * @default 'auto'
   */
  asyncContext?: boolean | 'auto'
}

/**
 * The keys of `AdapterOptions`: `resolveAdapterOptions` refuses any other it is not told of. A
 * record, not a list, so that the compiler flags a key added to `AdapterOptions` and missing here
 * (it would otherwise be refused as a typo).
 */
const ADAPTER_OPTION_KEYS = Object.keys({
  trustProxy: true,
  maxBodyBytes: true,
  maxJsonDepth: true,
  maxJsonKeys: true,
  onError: true,
  asyncContext: true,
} satisfies Record<keyof AdapterOptions, true>)

/** Validated, compiled adapter options. */
export interface ResolvedAdapterOptions {
  resolveIp: IpResolver
  maxBodyBytes: number
  maxJsonDepth: number
  maxJsonKeys: number
  onError: ((error: unknown, ctx: Context) => void) | undefined
  asyncContext: boolean | 'auto'
}

function positiveInt(field: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionsError(field, `must be an integer from 1 to ${max}`)
  }
  return value
}

/**
 * Validates adapter options; throws `InvalidOptionsError` naming the bad field. A key that is
 * neither an `AdapterOptions` key nor in `ownKeys` (the adapter's own options, e.g. a handler,
 * and keys its framework puts in the same object) is refused as a typo.
 */
export function resolveAdapterOptions(
  options: AdapterOptions | undefined,
  ownKeys: readonly string[] = []
): ResolvedAdapterOptions {
  const o = options ?? {}
  if (typeof o !== 'object') throw new InvalidOptionsError('options', 'must be an object')
  rejectUnknownOptions(
    o,
    ownKeys.length === 0 ? ADAPTER_OPTION_KEYS : [...ADAPTER_OPTION_KEYS, ...ownKeys]
  )
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw new InvalidOptionsError('onError', 'must be a function')
  }
  if (
    o.asyncContext !== undefined &&
    o.asyncContext !== 'auto' &&
    typeof o.asyncContext !== 'boolean'
  ) {
    throw new InvalidOptionsError('asyncContext', "must be a boolean or 'auto'")
  }
  return {
    asyncContext: o.asyncContext ?? 'auto',
    resolveIp: createIpResolver(o.trustProxy),
    maxBodyBytes: positiveInt('maxBodyBytes', o.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 2 ** 31 - 1),
    maxJsonDepth: positiveInt('maxJsonDepth', o.maxJsonDepth, DEFAULT_MAX_JSON_DEPTH, 10_000),
    maxJsonKeys: positiveInt('maxJsonKeys', o.maxJsonKeys, DEFAULT_MAX_JSON_KEYS, 2 ** 31 - 1),
    onError: o.onError,
  }
}

/**
 * Whether a request starting now runs in an AsyncLocalStorage scope: `asyncContext` itself, or for
 * `'auto'` whether something declared that it reads `currentContext()` (which can change at runtime).
 */
export function scopesRequests(options: ResolvedAdapterOptions): boolean {
  const option = options.asyncContext
  return option === 'auto' ? asyncContextRequested() : option
}
