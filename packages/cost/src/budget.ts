/**
 * @module budget
 * `createBudget`: spend limits per subject (user, team, API key id…) per calendar day or month in a
 * time zone, or per rolling window, enforced by reserving each call's worst case BEFORE the call and
 * settling to the actual cost after it. Check and hold are one atomic op, so N concurrent callers
 * can never together hold more than the limit (the check-then-spend race that overruns other
 * gateways by a multiple of the concurrency). Every hold has a TTL: a crashed process's hold frees
 * itself. No database: the store (memory or Redis) holds everything, spend reports included.
 */
import { InvalidOptionsError, memoryStore, type Store } from '@aikit/core'
import {
  type OpLimit,
  type OpLimitState,
  releaseOp,
  reserveOp,
  settleOp,
  spendOp,
} from './budget-ops.js'
import { BudgetExceededError, UnknownModelError } from './errors.js'
import { createEmitter } from './events.js'
import { type BudgetLimitOptions, compileLimits, type Limit } from './limits.js'
import { calendarPeriod, type Duration, parseDuration, validateTimeZone } from './period.js'
import { defaultPriceTable, type PriceTable } from './price-table.js'
import { estimateTokens, type MessageLike } from './tokens.js'
import { normalizeUsage, type Usage } from './usage.js'

/** `'hard'` rejects a reservation that does not fit; `'soft'` always holds and only warns. */
export type BudgetMode = 'hard' | 'soft'

/** Options of `createBudget`. */
export interface BudgetOptions {
  /** Where spend and holds live. Default: a new `memoryStore()` (per process). */
  store?: Store
  /**
   * The limits of every subject, or a function returning a subject's limits (e.g. by its kind:
   * `'user:…'`, `'team:…'`, `'key:…'`); `undefined` or `[]` means unlimited. Required.
   */
  limits: readonly BudgetLimitOptions[] | BudgetLimitsFn
  /** Default `'hard'`. */
  mode?: BudgetMode
  /** IANA time zone calendar days and months are aligned to. Default `'UTC'`. */
  timeZone?: string
  /** How long a reservation is held when neither settled nor released. Default `'10m'`. */
  reservationTtl?: Duration
  /** Fractions of a limit at which `'warning'` is emitted (each once per crossing). Default `[0.8, 1]`. */
  warnAt?: readonly number[]
  /** Prices for `{ model, … }` estimates and usage settles. Default: the built-in table. */
  prices?: PriceTable
  /** Key part naming this budget in the store. Default `'budget'`. */
  prefix?: string
  /** How many finished calendar periods stay readable by `spend()`. Default `2`. */
  retainPeriods?: number
  /**
   * Clock (epoch ms) that picks the current calendar period. Default `Date.now`. Reservation
   * expiry and rolling windows use the store's clock (Redis `TIME`, or memoryStore's `now`).
   */
  now?: () => number
}

/** A function giving a subject's limits. */
export type BudgetLimitsFn = (
  subject: string
) => readonly BudgetLimitOptions[] | undefined | Promise<readonly BudgetLimitOptions[] | undefined>

/** What to hold: a micro-dollar amount, or a model and token counts priced at the worst case. */
export type BudgetEstimate =
  | { estimateMicros: number; model?: string; ttl?: Duration }
  | {
      model: string
      /** Estimated input tokens (e.g. `estimateTokens`). */
      inputTokens: number
      /** The request's `max_tokens` / `max_output_tokens`: the output worst case. */
      maxOutputTokens: number
      /** Price the input as cache writes of this TTL (they cost more than plain input). Default none. */
      cacheWrite?: '5m' | '1h'
      ttl?: Duration
    }
  | {
      model: string
      /** Messages to estimate the input from (`estimateTokens`). */
      messages: readonly MessageLike[]
      system?: unknown
      tools?: readonly unknown[]
      maxOutputTokens: number
      cacheWrite?: '5m' | '1h'
      ttl?: Duration
    }

/** The state of one limit for a subject. */
export interface LimitStatus {
  /** `'day'`, `'month'` or `'rolling:<ms>'`. */
  readonly period: string
  readonly limitMicros: number
  /** Settled spend in the current period / window. */
  readonly spentMicros: number
  /** Held by live reservations. */
  readonly heldMicros: number
  /** `limit − spent − held`, never below 0. */
  readonly remainingMicros: number
  /** When this limit next frees budget (epoch ms). */
  readonly resetAt: number
}

/** A subject's budget state. */
export interface BudgetStatus {
  readonly subject: string
  /** Per limit, in the configured order (empty when unlimited). */
  readonly limits: readonly LimitStatus[]
  /** The limit with the least remaining (`undefined` when unlimited). */
  readonly tightest: LimitStatus | undefined
}

/** What `settle` returns. */
export interface SettleOutcome {
  /** Micro-dollars charged. */
  readonly chargedMicros: number
  /** `false` when the usage's model had no price and the held amount was charged instead. */
  readonly priced: boolean
  /** `false` when the hold had already expired or been released (the spend is charged anyway). */
  readonly held: boolean
  readonly status: BudgetStatus
}

/** A live hold on a subject's budget. */
export interface Reservation {
  readonly id: string
  readonly subject: string
  /** Micro-dollars held. */
  readonly amountMicros: number
  /** Model the estimate priced (used to price a `settle(usage)` without a model). */
  readonly model: string | undefined
  /** When the hold lapses by itself (epoch ms, store clock). */
  readonly expiresAt: number
  /** The budget right after the hold. */
  readonly status: BudgetStatus
  /**
   * Charges the actual cost (micro-dollars, a `Usage`, or a provider's raw usage priced at
   * `model` or the reservation's model) and frees the rest. Idempotent: later calls return the
   * first outcome (a settle that failed, e.g. store down, can be retried). A model without a price
   * charges the held amount (never $0).
   */
  settle(
    actual: number | Usage | Record<string, unknown>,
    options?: { model?: string }
  ): Promise<SettleOutcome>
  /**
   * Frees the hold without charging (the call failed before costing anything). `true` if it was
   * live. Idempotent (later calls return the first outcome); after `settle` it does nothing (`false`).
   */
  release(): Promise<boolean>
}

/** Options of `budget.spend`. */
export interface SpendOptions {
  /** Which limit: `'day'`, `'month'` or `'rolling'`. Default: the subject's first limit. */
  period?: 'day' | 'month' | 'rolling'
  /** A time inside the calendar period to report (epoch ms or Date). Default now. */
  at?: number | Date
}

/** Spend of a subject for one period. */
export interface SpendReport {
  readonly subject: string
  readonly period: string
  /** Calendar period key (`d2026-11-25`, `m2026-11`), or `'rolling'`. */
  readonly periodId: string
  readonly totalMicros: number
  readonly byModel: Readonly<Record<string, number>>
  readonly heldMicros: number
  readonly limitMicros: number
  readonly resetAt: number
}

/** Events of a budget. */
export interface BudgetEvents {
  /** A limit's use (spent + held) crossed a `warnAt` fraction. */
  warning: {
    subject: string
    period: string
    threshold: number
    usedMicros: number
    limitMicros: number
  }
  /** A reservation was settled: `chargedMicros` were added to the subject's spend. */
  settled: {
    subject: string
    model: string
    chargedMicros: number
    /** `false` when the model had no price and the held amount was charged instead. */
    priced: boolean
  }
  /** A hard budget rejected a reservation. */
  rejected: {
    subject: string
    period: string
    requestedMicros: number
    remainingMicros: number
    limitMicros: number
  }
}

/** A budget. */
export interface Budget {
  readonly mode: BudgetMode
  readonly store: Store
  /**
   * Atomically holds the estimate's worst case against every limit of `subject`.
   * @throws BudgetExceededError (402) in hard mode when it does not fit (nothing is held).
   * @throws UnknownModelError for a model estimate without a price (unless the table has a fallback).
   */
  reserve(subject: string, estimate: BudgetEstimate): Promise<Reservation>
  /** The subject's limits, spend, holds and reset times. */
  status(subject: string): Promise<BudgetStatus>
  /** Spend per model for one period, read from the store. */
  spend(subject: string, options?: SpendOptions): Promise<SpendReport>
  /** Subscribes to `'warning'` / `'rejected'`; returns an unsubscribe function. */
  on<E extends keyof BudgetEvents>(event: E, listener: (info: BudgetEvents[E]) => void): () => void
}

function checkTtl(value: Duration | undefined, fallback: number, field: string): number {
  return value === undefined ? fallback : parseDuration(value, field)
}

function checkSubject(subject: unknown): asserts subject is string {
  if (typeof subject !== 'string' || subject.length === 0) {
    throw new InvalidOptionsError('subject', 'must be a non-empty string')
  }
}

function checkTokens(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidOptionsError(field, 'must be a non-negative integer')
  }
  return value as number
}

function newId(): string {
  return globalThis.crypto.randomUUID()
}

/**
 * Creates a budget. Options are validated here: a mistake throws `InvalidOptionsError` naming the
 * field (`limits[0].usd`, `limits[1].window`, `mode`, `timeZone`, `reservationTtl`, `warnAt`, …).
 */
export function createBudget(options: BudgetOptions): Budget {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  const store = options.store ?? memoryStore()
  if (store === null || typeof store !== 'object' || typeof store.run !== 'function') {
    throw new InvalidOptionsError('store', 'must be a Store (memoryStore() or redisStore(client))')
  }
  const mode = options.mode ?? 'hard'
  if (mode !== 'hard' && mode !== 'soft') {
    throw new InvalidOptionsError('mode', "must be 'hard' or 'soft'")
  }
  const timeZone = validateTimeZone(options.timeZone ?? 'UTC')
  const ttlMs = checkTtl(options.reservationTtl, 600_000, 'reservationTtl')
  const warnAt = options.warnAt ?? [0.8, 1]
  if (!Array.isArray(warnAt) || warnAt.some((t) => typeof t !== 'number' || !(t > 0) || t > 10)) {
    throw new InvalidOptionsError('warnAt', 'must be an array of fractions > 0 (e.g. [0.8, 1])')
  }
  const prices = options.prices ?? defaultPriceTable()
  if (prices === null || typeof prices !== 'object' || typeof prices.priceOf !== 'function') {
    throw new InvalidOptionsError('prices', 'must be a PriceTable (createPriceTable())')
  }
  const prefix = options.prefix ?? 'budget'
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new InvalidOptionsError('prefix', 'must be a non-empty string without `{` or `}`')
  }
  const retainPeriods = options.retainPeriods ?? 2
  if (!Number.isInteger(retainPeriods) || retainPeriods < 0 || retainPeriods > 24) {
    throw new InvalidOptionsError('retainPeriods', 'must be an integer from 0 to 24')
  }
  const clock = options.now ?? Date.now
  if (typeof clock !== 'function') throw new InvalidOptionsError('now', 'must be a function')
  const limitsOption = options.limits
  let staticLimits: readonly Limit[] | undefined
  if (typeof limitsOption === 'function') {
    staticLimits = undefined
  } else if (Array.isArray(limitsOption)) {
    staticLimits = compileLimits(limitsOption, 'limits')
  } else {
    throw new InvalidOptionsError(
      'limits',
      'must be an array of limits or a function (subject) => limits'
    )
  }
  const compiledCache = new WeakMap<object, readonly Limit[]>()
  const limitsFor = async (subject: string): Promise<readonly Limit[]> => {
    if (staticLimits) return staticLimits
    const raw = await (limitsOption as BudgetLimitsFn)(subject)
    if (raw === undefined) return []
    let compiled = compiledCache.get(raw)
    if (!compiled) {
      compiled = compileLimits(raw, 'limits(subject)')
      compiledCache.set(raw, compiled)
    }
    return compiled
  }

  // Calendar periods are recomputed only when the clock leaves the cached one.
  const periodCache = new Map<string, { start: number; end: number; id: string }>()
  const periodOf = (kind: 'day' | 'month', ms: number) => {
    const cached = periodCache.get(kind)
    if (cached && ms >= cached.start && ms < cached.end) return cached
    const p = calendarPeriod(kind, ms, timeZone)
    if (ms >= p.start && ms < p.end) periodCache.set(kind, p)
    return p
  }
  const ledgerKey = (subject: string, l: Limit, periodId: string): string =>
    store.key(subject, prefix, l.name, periodId)
  const resKey = (subject: string): string => store.key(subject, prefix, 'res')

  const events = createEmitter<BudgetEvents>()

  /** Keys and ARGV limits for reserve/status at `now`. */
  interface Current {
    keys: string[]
    opLimits: OpLimit[]
    settleLimits: { kind: 'c' | 'r'; a: number; b: number }[]
  }
  // Keys and op arguments per subject, reused while its limits and periods stay the same (building
  // keys escapes the subject; this is the hot path of every reserve and settle).
  const currentCache = new Map<string, { limits: readonly Limit[]; sig: string; value: Current }>()
  const current = (subject: string, limits: readonly Limit[], now: number): Current => {
    let sig = ''
    for (const l of limits) if (l.period !== 'rolling') sig += periodOf(l.period, now).id
    const hit = currentCache.get(subject)
    if (hit && hit.limits === limits && hit.sig === sig) return hit.value
    const value = computeCurrent(subject, limits, now)
    if (currentCache.size >= 10_000) currentCache.clear()
    currentCache.set(subject, { limits, sig, value })
    return value
  }
  const computeCurrent = (subject: string, limits: readonly Limit[], now: number): Current => {
    const keys = [resKey(subject)]
    const opLimits: OpLimit[] = []
    const settleLimits: { kind: 'c' | 'r'; a: number; b: number }[] = []
    for (const l of limits) {
      if (l.period === 'rolling') {
        keys.push(ledgerKey(subject, l, 'r'))
        opLimits.push({ limitMicros: l.limitMicros, kind: 'r', a: l.windowMs, b: l.bucketMs })
        settleLimits.push({ kind: 'r', a: l.windowMs, b: l.bucketMs })
      } else {
        const p = periodOf(l.period, now)
        keys.push(ledgerKey(subject, l, p.id))
        opLimits.push({ limitMicros: l.limitMicros, kind: 'c', a: p.end, b: 0 })
        settleLimits.push({ kind: 'c', a: p.end + (p.end - p.start) * retainPeriods, b: p.end })
      }
    }
    return { keys, opLimits, settleLimits }
  }

  const toStatus = (
    subject: string,
    limits: readonly Limit[],
    states: readonly OpLimitState[],
    held: number
  ): BudgetStatus => {
    const out: LimitStatus[] = limits.map((l, i) => {
      const s = states[i] ?? { spentMicros: 0, resetAt: 0 }
      return {
        period: l.name,
        limitMicros: l.limitMicros,
        spentMicros: s.spentMicros,
        heldMicros: held,
        remainingMicros: Math.max(0, l.limitMicros - s.spentMicros - held),
        resetAt: s.resetAt,
      }
    })
    let tightest: LimitStatus | undefined
    for (const s of out) if (!tightest || s.remainingMicros < tightest.remainingMicros) tightest = s
    return { subject, limits: out, tightest }
  }

  const warn = (subject: string, status: BudgetStatus, before: readonly number[]): void => {
    status.limits.forEach((s, i) => {
      const after = s.spentMicros + s.heldMicros
      const prev = before[i] ?? 0
      if (after <= prev) return
      for (const t of warnAt) {
        const mark = t * s.limitMicros
        if (prev < mark && after >= mark) {
          events.emit('warning', {
            subject,
            period: s.period,
            threshold: t,
            usedMicros: after,
            limitMicros: s.limitMicros,
          })
        }
      }
    })
  }

  const worstCase = (estimate: BudgetEstimate): { micros: number; model: string | undefined } => {
    if (estimate === null || typeof estimate !== 'object') {
      throw new InvalidOptionsError('estimate', 'must be an object')
    }
    if ('estimateMicros' in estimate) {
      const micros = checkTokens(estimate.estimateMicros, 'estimateMicros')
      if (estimate.model !== undefined && typeof estimate.model !== 'string') {
        throw new InvalidOptionsError('model', 'must be a string')
      }
      return { micros, model: estimate.model }
    }
    if (typeof estimate.model !== 'string' || estimate.model.length === 0) {
      throw new InvalidOptionsError('model', 'must be a non-empty string')
    }
    const output = checkTokens(estimate.maxOutputTokens, 'maxOutputTokens')
    const input =
      'messages' in estimate
        ? estimateTokens(estimate.messages, estimate.model, {
            ...(estimate.system === undefined ? {} : { system: estimate.system }),
            ...(estimate.tools === undefined ? {} : { tools: estimate.tools }),
          })
        : checkTokens(estimate.inputTokens, 'inputTokens')
    const usage: Usage =
      estimate.cacheWrite === '1h'
        ? { inputTokens: 0, cacheWrite1hTokens: input, outputTokens: output }
        : estimate.cacheWrite === '5m'
          ? { inputTokens: 0, cacheWrite5mTokens: input, outputTokens: output }
          : { inputTokens: input, outputTokens: output }
    return { micros: prices.priceOf(estimate.model, usage), model: estimate.model }
  }

  const budget: Budget = {
    mode,
    store,
    async reserve(subject, estimate) {
      checkSubject(subject)
      const { micros, model } = worstCase(estimate)
      const ttl = checkTtl(estimate.ttl, ttlMs, 'ttl')
      const limits = await limitsFor(subject)
      const id = newId()
      const { keys, opLimits } = current(subject, limits, clock())
      const r = await store.run(reserveOp, keys, {
        id,
        amountMicros: micros,
        ttlMs: ttl,
        mode,
        limits: opLimits,
      })
      const status = toStatus(subject, limits, r.limits, r.heldAfter)
      if (!r.ok) {
        const before = toStatus(subject, limits, r.limits, r.heldBefore)
        // The first limit the request does not fit.
        const i = before.limits.findIndex(
          (s) => s.spentMicros + s.heldMicros + micros > s.limitMicros
        )
        const s = before.limits[Math.max(0, i)] as LimitStatus
        events.emit('rejected', {
          subject,
          period: s.period,
          requestedMicros: micros,
          remainingMicros: s.remainingMicros,
          limitMicros: s.limitMicros,
        })
        throw new BudgetExceededError({
          period: s.period,
          limitMicros: s.limitMicros,
          remainingMicros: s.remainingMicros,
          requestedMicros: micros,
          resetAt: s.resetAt,
        })
      }
      warn(
        subject,
        status,
        r.limits.map((s) => s.spentMicros + r.heldBefore)
      )
      let settled: Promise<SettleOutcome> | undefined
      let released: Promise<boolean> | undefined
      const reservation: Reservation = {
        id,
        subject,
        amountMicros: micros,
        model,
        expiresAt: r.nowMs + ttl,
        status,
        settle(actual, settleOptions) {
          settled ??= (async () => {
            let charged: number
            let priced = true
            let chargeModel = settleOptions?.model ?? model ?? 'unknown'
            if (typeof actual === 'number') {
              charged = checkTokens(actual, 'actual')
            } else {
              const usage = normalizeUsage(actual)
              const priceModel = settleOptions?.model ?? model
              if (priceModel === undefined) {
                throw new InvalidOptionsError(
                  'model',
                  'is required to price a usage (none was reserved)'
                )
              }
              chargeModel = priceModel
              try {
                charged = prices.priceOf(priceModel, usage)
              } catch (error) {
                if (!(error instanceof UnknownModelError)) throw error
                // Never free: an unpriced call costs what was held for it.
                charged = micros
                priced = false
              }
            }
            // Settle into the period current now (a call spanning midnight counts on the new day).
            const now = current(subject, limits, clock())
            const s = await store.run(settleOp, now.keys, {
              id,
              heldMicros: micros,
              expiresAt: r.nowMs + ttl,
              actualMicros: charged,
              model: chargeModel,
              limits: now.settleLimits,
            })
            const after = toStatus(subject, limits, s.limits, s.heldAfter)
            warn(
              subject,
              after,
              s.limits.map((l) => l.spentMicros - charged + s.heldAfter + (s.found ? micros : 0))
            )
            events.emit('settled', { subject, model: chargeModel, chargedMicros: charged, priced })
            return { chargedMicros: charged, priced, held: s.found, status: after }
          })()
          // A failed settle (store down) may be retried; a successful one is final.
          settled.catch(() => {
            settled = undefined
          })
          return settled
        },
        release() {
          if (settled) return Promise.resolve(false)
          if (!released) {
            released = store.run(releaseOp, [keys[0] as string], {
              id,
              heldMicros: micros,
              expiresAt: r.nowMs + ttl,
            })
            released.catch(() => {
              released = undefined
            })
          }
          return released
        },
      }
      return reservation
    },
    async status(subject) {
      checkSubject(subject)
      const limits = await limitsFor(subject)
      const { keys, opLimits } = current(subject, limits, clock())
      const r = await store.run(reserveOp, keys, {
        id: '-',
        amountMicros: 0,
        ttlMs: 1,
        mode: 'dry',
        limits: opLimits,
      })
      return toStatus(subject, limits, r.limits, r.heldAfter)
    },
    async spend(subject, spendOptions = {}) {
      checkSubject(subject)
      const limits = await limitsFor(subject)
      const wanted = spendOptions.period
      const limit = wanted === undefined ? limits[0] : limits.find((l) => l.period === wanted)
      if (!limit) {
        throw new InvalidOptionsError(
          'period',
          wanted === undefined ? 'the subject has no limits' : `the subject has no ${wanted} limit`
        )
      }
      const at =
        spendOptions.at === undefined
          ? clock()
          : spendOptions.at instanceof Date
            ? spendOptions.at.getTime()
            : spendOptions.at
      if (typeof at !== 'number' || !Number.isFinite(at)) {
        throw new InvalidOptionsError('at', 'must be epoch ms or a Date')
      }
      let periodId = 'r'
      let input: { kind: 'c' | 'r'; a: number; b: number }
      if (limit.period === 'rolling') {
        input = { kind: 'r', a: limit.windowMs, b: limit.bucketMs }
      } else {
        const p = calendarPeriod(limit.period, at, timeZone)
        periodId = p.id
        input = { kind: 'c', a: p.end, b: 0 }
      }
      const r = await store.run(
        spendOp,
        [resKey(subject), ledgerKey(subject, limit, periodId)],
        input
      )
      let total = 0
      for (const v of Object.values(r.byModel)) total += v
      return {
        subject,
        period: limit.name,
        periodId: limit.period === 'rolling' ? 'rolling' : periodId,
        totalMicros: total,
        byModel: r.byModel,
        heldMicros: r.held,
        limitMicros: limit.limitMicros,
        resetAt: r.resetAt,
      }
    },
    on(event, listener) {
      return events.on(event, listener)
    },
  }
  return Object.freeze(budget)
}
