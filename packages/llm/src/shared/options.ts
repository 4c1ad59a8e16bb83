/**
 * @module options
 * Validation of the wrapper options, once, at wrap time; defaults live here beside the checks.
 */
import { InvalidOptionsError, requireAsyncContext } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { defaultPriceTable, type PriceTable } from '@aikit/cost'
import { defaultCacheKey } from './cache-key.js'
import { type ResolvedTokenLimit, resolveTokenLimit } from './token-limit.js'
import { type LlmCacheKeyFn, WRAP_OPTION_KEYS, type WrapOptions } from './types.js'

/** The wrapper options with defaults applied. */
export interface ResolvedOptions
  extends Omit<
    WrapOptions,
    | 'cacheKey'
    | 'cacheSampling'
    | 'coalesce'
    | 'requireSubject'
    | 'defaultMaxOutputTokens'
    | 'priceTable'
    | 'tokenLimit'
  > {
  readonly cacheKey: LlmCacheKeyFn
  readonly cacheSampling: boolean
  readonly coalesce: boolean
  readonly requireSubject: boolean
  readonly defaultMaxOutputTokens: number
  readonly priceTable: PriceTable
  /** The token limit with its default key, or `undefined` (no token step at all). */
  readonly tokenLimit: ResolvedTokenLimit | undefined
}

/**
 * Names the docs once gave an option (DESIGN.md's `requireScope`): refused with the option to use,
 * where a generic "not a known option" would leave the reader guessing which one it was.
 */
const RENAMED: Readonly<Record<string, (typeof WRAP_OPTION_KEYS)[number]>> = {
  requireScope: 'requireSubject',
}

const DEFAULTS = {
  cacheSampling: false,
  coalesce: true,
  requireSubject: false,
  defaultMaxOutputTokens: 4096,
}

function hasMethods(value: unknown, field: string, methods: readonly string[]): void {
  if (value === undefined) return
  if (value === null || typeof value !== 'object') {
    throw new InvalidOptionsError(field, `must be an object with ${methods.join(', ')}`)
  }
  for (const m of methods) {
    if (typeof (value as Record<string, unknown>)[m] !== 'function') {
      throw new InvalidOptionsError(field, `must have a ${m}() method`)
    }
  }
}

/** Validates `options`; throws `InvalidOptionsError` naming the bad field. */
export function resolveOptions(options: WrapOptions | undefined): ResolvedOptions {
  const o = options ?? {}
  if (typeof o !== 'object' || o === null)
    throw new InvalidOptionsError('options', 'must be an object')
  for (const [old, current] of Object.entries(RENAMED)) {
    if (Object.hasOwn(o, old)) {
      throw new InvalidOptionsError(old, `is not an option: use \`${current}\``)
    }
  }
  // A misspelt option (`cahce`, `requireSubjet`) would otherwise leave its part silently off.
  rejectUnknownOptions(o, WRAP_OPTION_KEYS)
  hasMethods(o.budget, 'budget', ['reserve'])
  hasMethods(o.cache, 'cache', ['get', 'set'])
  hasMethods(o.metrics, 'metrics', ['recordLlmCall'])
  hasMethods(o.logger, 'logger', ['info'])
  hasMethods(o.guard, 'guard', ['checkInput', 'checkOutput'])
  hasMethods(o.priceTable, 'priceTable', ['priceOf'])
  const tokenLimit = resolveTokenLimit(o.tokenLimit)
  if (o.cacheKey !== undefined && typeof o.cacheKey !== 'function') {
    throw new InvalidOptionsError(
      'cacheKey',
      'must be a function (params, { scope, api }) => string'
    )
  }
  if (o.subject !== undefined && (typeof o.subject !== 'string' || o.subject.length === 0)) {
    throw new InvalidOptionsError('subject', 'must be a non-empty string')
  }
  for (const field of ['requireSubject', 'coalesce', 'cacheSampling'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'boolean') {
      throw new InvalidOptionsError(field, 'must be a boolean')
    }
  }
  // Calls read the running request's subject, id and disconnect signal from its context.
  requireAsyncContext()
  const maxOut = o.defaultMaxOutputTokens ?? DEFAULTS.defaultMaxOutputTokens
  if (!Number.isSafeInteger(maxOut) || maxOut < 1) {
    throw new InvalidOptionsError('defaultMaxOutputTokens', 'must be a positive integer')
  }
  return {
    ...o,
    cacheKey: o.cacheKey ?? defaultCacheKey,
    cacheSampling: o.cacheSampling ?? DEFAULTS.cacheSampling,
    coalesce: o.coalesce ?? DEFAULTS.coalesce,
    requireSubject: o.requireSubject ?? DEFAULTS.requireSubject,
    defaultMaxOutputTokens: maxOut,
    priceTable: o.priceTable ?? defaultPriceTable(),
    tokenLimit,
  }
}
