/**
 * @module budget
 * `createBudget`: spend limits per subject (user, team, API key id…) per calendar day or month in a
 * time zone, or per rolling window, enforced by reserving each call's worst case BEFORE the call and
 * settling to the actual cost after it. Check and hold are one atomic op, so N concurrent callers
 * can never together hold more than the limit (the check-then-spend race that overruns other
 * gateways by a multiple of the concurrency). Every hold has a TTL: a crashed process's hold frees
 * itself. No database: the store (memory or Redis) holds everything, spend reports included.
 */
import { InvalidOptionsError, memoryStore, type Store, type SyncRun } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import {
  extendOp,
  type OpLimit,
  type OpLimitState,
  type ReserveInput,
  type ReserveResult,
  releaseOp,
  reserveOp,
  type SettleInput,
  type SettleResult,
  settleOp,
  spendOp,
} from './budget-ops.js'
import { BudgetExceededError, UnknownModelError } from './errors.js'
import { createEmitter } from './events.js'
import { type BudgetLimitOptions, compileLimits, type Limit } from './limits.js'
import {
  type CalendarPeriod,
  calendarPeriod,
  type Duration,
  parseDuration,
  periodAt,
  validateTimeZone,
} from './period.js'
import { defaultPriceTable, type PriceTable, trustedPricer } from './price-table.js'
import { createSettleRetries } from './settle-retry.js'
import {
  countTokens,
  MESSAGES_ESTIMATE_KEYS,
  type MessageLike,
  PRICED_ESTIMATE_KEYS,
} from './tokens.js'
import { normalizeUsage, type ServiceTier, type Usage } from './usage.js'

/**
 * Keys of the default memory store: a subject takes one for its holds and one per limit and period
 * (a day limit's ledgers kept `retainPeriods`), so about 300,000 subjects with two limits. The
 * store grows its arrays on demand: the bound costs nothing until it is used.
 */
const DEFAULT_MEMORY_KEYS = 1_000_000

/** `'hard'` rejects a reservation that does not fit; `'soft'` always holds and only warns. */
export type BudgetMode = 'hard' | 'soft'

/** Options of `createBudget`. */
export interface BudgetOptions {
  /**
   * Where spend and holds live. Default: a new `memoryStore({ evict: false, maxKeys: 1_000_000 })`
   * (per process): it never forgets a subject's spend to make room (an evicted ledger would let the
   * subject spend its limit again); once full of live keys, a reservation for a subject it holds
   * no keys of fails with `StoreUnavailableError` (reason `'full'`, a 503) instead. A
   * `memoryStore()` of your own should be created with `evict: false` too.
   */
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
  /**
   * How long past a reservation's expiry its settle or release is remembered (a tombstone per
   * reservation id): a second settle or release of the same id within it, from any process,
   * charges and frees nothing. After it, a settle charges again, as a settle after the hold lapsed
   * does. Default `'10m'`.
   */
  tombstoneTtl?: Duration
  /** Fractions of a limit at which `'warning'` is emitted (each once per crossing). Default `[0.8, 1]`. */
  warnAt?: readonly number[]
  /** Prices for `{ model, … }` estimates and usage settles. Default: the built-in table. */
  prices?: PriceTable
  /** Key part naming this budget in the store. Default `'budget'`. */
  prefix?: string
  /** How many finished calendar periods stay readable by `spend()`. Default `2`. */
  retainPeriods?: number
  /**
   * Clock (epoch ms) that picks the current calendar period, and on which its ledger's lifetime
   * (to the period's end plus `retainPeriods`) is measured. Default `Date.now`. Reservation expiry
   * and rolling windows use the store's clock (Redis `TIME`, or memoryStore's `now`).
   */
  now?: () => number
}

/**
 * How many settles the store could not take may wait for a retry at once, per budget (a few hundred
 * bytes each): past it, the oldest is given up (`'unsettled'`).
 */
const MAX_PENDING_SETTLES = 10_000

/** The keys of `BudgetOptions`: any other key is refused. */
const BUDGET_OPTION_KEYS = [
  'store',
  'limits',
  'mode',
  'timeZone',
  'reservationTtl',
  'tombstoneTtl',
  'warnAt',
  'prices',
  'prefix',
  'retainPeriods',
  'now',
] as const satisfies readonly (keyof BudgetOptions)[]

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
      /**
       * The request's tools, for the per-call fees they may run up only (web searches, file
       * search calls, code interpreter containers; their tokens are in `inputTokens`): held as in
       * the `messages` form. Default none.
       */
      tools?: readonly unknown[]
      /** Price the input as cache writes of this TTL (they cost more than plain input). Default none. */
      cacheWrite?: '5m' | '1h'
      /**
       * The rates the call is billed at: the request's tier (OpenAI `service_tier: 'priority'` costs
       * about twice the standard rates, `'flex'` half), as `settle` prices the answer's. Default
       * `'standard'`.
       */
      serviceTier?: ServiceTier
      /**
       * The inference speed the request asks for (Anthropic `speed: 'fast'`): held at the model's
       * fast-mode multiplier, as `settle` prices an answer whose usage reports it. Default
       * `'standard'`.
       */
      speed?: string
      /**
       * Where the request asks inference to run (Anthropic `inference_geo: 'us'`): held at the
       * model's multiplier for it. Default `'global'`.
       */
      inferenceGeo?: string
      ttl?: Duration
    }
  | {
      model: string
      /** Messages to estimate the input from (`estimateTokens`). */
      messages: readonly MessageLike[]
      system?: unknown
      /**
       * The request's tools: their JSON counts as input, and a server-side web search tool holds
       * its searches' fee too: an Anthropic one's `max_uses` searches, else 5 (OpenAI Responses
       * `web_search`, Anthropic without `max_uses`; nothing caps those: for more, reserve
       * `{ estimateMicros }`). With an OpenAI `web_search_preview` tool they are held at the
       * entry's `webSearchPreviewPer1k` (as the settle bills them). An OpenAI `file_search` tool
       * holds 5 calls' fee (`fileSearchPer1k`; nothing caps them), a `code_interpreter` tool one
       * container's (`codeInterpreterPerContainer`). Default none.
       */
      tools?: readonly unknown[]
      maxOutputTokens: number
      /** As above: price the input as cache writes of this TTL. Default none. */
      cacheWrite?: '5m' | '1h'
      /** As above: the rates the call is billed at. Default `'standard'`. */
      serviceTier?: ServiceTier
      /** As above: the inference speed (`'fast'`). Default `'standard'`. */
      speed?: string
      /** As above: where inference runs (`'us'`). Default `'global'`. */
      inferenceGeo?: string
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
  /**
   * When this limit next frees budget (epoch ms, on the budget's clock, `now`): the period's end,
   * or when the oldest rolling spend ages out.
   */
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
  /**
   * Micro-dollars charged by this settle (`0` for a duplicate; for a retry on the same object after
   * a lost reply, what the settle that ran charged).
   */
  readonly chargedMicros: number
  /** `false` when the usage's model had no price and the held amount was charged instead. */
  readonly priced: boolean
  /**
   * `true` when the hold was live and is now freed. `false` when it had lapsed (the spend is
   * charged anyway: the call happened) or for a duplicate.
   */
  readonly held: boolean
  /**
   * `true` when this reservation id had already been settled or released (by another object, in
   * this process or any other sharing the store, or released by this one; within `tombstoneTtl`
   * past its expiry): nothing was charged. A retry of this object's own settle that ran but whose
   * reply was lost is not a duplicate: it reports that settle (`chargedMicros`, `held`).
   */
  readonly duplicate: boolean
  /** For a duplicate, what happened first: `'settled'` or `'released'`. */
  readonly previous: 'settled' | 'released' | undefined
  readonly status: BudgetStatus
}

/**
 * A reservation as plain JSON (`reservation.toJSON()`): put it in a job, a message or a database
 * row, and `budget.restore(handle)` it in any process sharing the store to settle, release or
 * extend it there.
 */
export interface ReservationHandle {
  /** Format version (`1`). */
  readonly v: 1
  readonly id: string
  readonly subject: string
  readonly amountMicros: number
  /** The model the estimate priced (absent when none). */
  readonly model?: string
  /** Expiry when the handle was made (epoch ms, store clock); `extend` may have moved it since. */
  readonly expiresAt: number
}

/** A live hold on a subject's budget. */
export interface Reservation {
  readonly id: string
  readonly subject: string
  /** Micro-dollars held. */
  readonly amountMicros: number
  /** Model the estimate priced (used to price a `settle(usage)` without a model). */
  readonly model: string | undefined
  /** When the hold lapses by itself (epoch ms, store clock; updated by this object's `extend`). */
  readonly expiresAt: number
  /** The budget right after the hold (`undefined` for a reservation from `budget.restore`). */
  readonly status: BudgetStatus | undefined
  /**
   * Charges the actual cost (micro-dollars, a `Usage`, or a provider's raw usage priced at
   * `model` or the reservation's model) and frees the rest. Idempotent: later calls on this object
   * return the first outcome (a settle that failed, e.g. store down, can be retried). A retry on
   * this object after a failure whose op did run (a lost reply: a timeout) charges nothing again
   * and reports that settle as the first outcome (its `chargedMicros`, `held`, `duplicate: false`;
   * `'settled'` is emitted then; `priced` and the event's `model` are this call's). A settle of
   * the same id from another object or process (`restore`), or after a `release`, charges nothing
   * and reports `duplicate: true`. A model without a price charges the held amount (never $0).
   */
  settle(
    actual: number | Usage | Record<string, unknown>,
    options?: { model?: string }
  ): Promise<SettleOutcome>
  /**
   * Frees the hold without charging (the call failed before costing anything). `true` if it was
   * live. Idempotent (later calls return the first outcome; a retry after a lost reply returns
   * what the release that ran found); after a `settle` or `release` of this id from any other
   * object or process, or a `settle` of this one, it does nothing (`false`).
   */
  release(): Promise<boolean>
  /**
   * Moves the hold's expiry to the store's now + `ttl`, atomically and only while the hold is live
   * (not settled, released or lapsed). `true` if it did. Keeps a long call held.
   */
  extend(ttl: Duration): Promise<boolean>
  /**
   * Settles again in the background after a `settle` that failed (the store was unreachable),
   * and returns at once: after 0.25 s, 1 s, 2 s, 4 s, then about 8, 16, 32 and every 60 s while the
   * store keeps failing, until a settle lands or until a retry could charge twice: a margin
   * (`tombstoneTtl / 2`, at most 30 s) before the hold's expiry plus `tombstoneTtl`, when the
   * tombstone that makes a retry of a settle that did run (a lost reply) charge nothing expires.
   * At most 10 000 wait per budget (the oldest is given up for a new one). A settle given
   * up emits `'unsettled'`. The retries live in this process: an exit loses them (the hold then
   * lapses by itself, uncharged). Calling it again while a retry is pending does nothing.
   */
  retrySettle(actual: number | Usage | Record<string, unknown>, options?: { model?: string }): void
  /** The plain, serialisable handle `budget.restore` takes (also what `JSON.stringify` writes). */
  toJSON(): ReservationHandle
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
  /** Micro-dollars by model name; an object without prototype (`constructor` is a name too). */
  readonly byModel: Readonly<Record<string, number>>
  readonly heldMicros: number
  readonly limitMicros: number
  /** As `LimitStatus.resetAt` (epoch ms, on the budget's clock). */
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
  /**
   * A settle the store could not take was given up (`retrySettle`): its cost is not in the budget.
   * `reason`: `'expired'` (the store stayed unreachable until a retry could charge twice),
   * `'overflow'` (10 000 were waiting already: the oldest is given up).
   */
  unsettled: {
    subject: string
    reservationId: string
    model: string
    /** What the settle would have charged (the held amount when it could not be priced). */
    chargeMicros: number
    reason: 'expired' | 'overflow'
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
   * Atomically holds the estimate's worst case against every limit of `subject`. A worst case
   * above `Number.MAX_SAFE_INTEGER` micro-dollars (huge request fields) is held as that amount.
   * @throws BudgetExceededError (402) in hard mode when it does not fit (nothing is held), as such
   * a worst case never does (a limit is at most 2^50 micro-dollars).
   * @throws UnknownModelError for a model estimate without a price (unless the table has a fallback).
   * @throws InvalidOptionsError naming the bad field (`subject`, `model`, `inputTokens`,
   * `maxOutputTokens`, `cacheWrite`, `serviceTier`, `ttl`, …); the promise rejects with it.
   */
  reserve(subject: string, estimate: BudgetEstimate): Promise<Reservation>
  /**
   * The reservation a handle (`reservation.toJSON()`) names, in this process: its `settle`,
   * `release` and `extend` act on the shared store (use a budget with the same store, prefix and
   * limits as the one that reserved). No store call is made here. It is a new object: a settle or
   * release already made by any other object of this id (the original, another restore) makes
   * its own a duplicate; only its own retries are recognised as such.
   * @throws InvalidOptionsError naming the bad field (`handle.id`, `handle.amountMicros`, …).
   */
  restore(handle: ReservationHandle): Reservation
  /** The subject's limits, spend, holds and reset times. */
  status(subject: string): Promise<BudgetStatus>
  /** Spend per model for one period, read from the store. */
  spend(subject: string, options?: SpendOptions): Promise<SpendReport>
  /**
   * Subscribes to `'warning'`, `'settled'`, `'unsettled'` or `'rejected'`; returns an
   * unsubscribe function.
   * @throws InvalidOptionsError naming `event` (another name) or `listener` (not a function).
   */
  on<E extends keyof BudgetEvents>(event: E, listener: (info: BudgetEvents[E]) => void): () => void
}

/**
 * The longest subject whose keys `currentCache` keeps. A subject may be client-controlled (an API
 * key, a header): its store keys hold a long one as a digest, but the cache would keep up to
 * 10,000 of them whole. Real subjects are far shorter; a longer one has its keys built each time.
 */
const MAX_CACHED_SUBJECT = 256

/** The tiers a worst case can be priced at (`ServiceTier`). */
const SERVICE_TIERS: ReadonlySet<unknown> = new Set<ServiceTier>([
  'standard',
  'batch',
  'priority',
  'flex',
])

/**
 * Web searches held for a server-side web search tool that caps none: an Anthropic tool without
 * `max_uses`, an OpenAI Responses `web_search` tool (it has no per-tool cap). A call that may run
 * more should reserve `{ estimateMicros }`, which replaces the whole worst case.
 */
const DEFAULT_HELD_WEB_SEARCHES = 5

/**
 * File search calls held for an OpenAI Responses `file_search` tool: it caps none
 * (`max_num_results` bounds the results of one call, not the calls). As for web searches, a call
 * that may run more should reserve `{ estimateMicros }`.
 */
const DEFAULT_HELD_FILE_SEARCHES = 5

/** Anthropic's web search tool versions (`web_search_20250305`, …): they take `max_uses`. */
const ANTHROPIC_WEB_SEARCH = /^web_search_\d{8}$/

/**
 * The per-call tool fees a request's tools may run up, for the worst case: web searches
 * (`heldWebSearches`), `DEFAULT_HELD_FILE_SEARCHES` file search calls per OpenAI `file_search`
 * tool, and one code interpreter container per `code_interpreter` tool (a call runs its code in
 * one container, billed once whatever the number of calls in it).
 */
function heldToolFees(tools: readonly unknown[]): {
  searches: number
  preview: boolean
  files: number
  containers: number
} {
  let files = 0
  let containers = 0
  for (const tool of tools) {
    const type = (tool as { type?: unknown } | null)?.type
    if (type === 'file_search') files += DEFAULT_HELD_FILE_SEARCHES
    else if (type === 'code_interpreter') containers++
  }
  return { ...heldWebSearches(tools), files, containers }
}

/**
 * The web searches a request's tools may run, each billed on top of the tokens (a settle prices
 * Anthropic's `server_tool_use.web_search_requests` and OpenAI's `web_search_call` items at the
 * entry's `webSearchPer1k`): an Anthropic web search tool's `max_uses`, any other web search tool
 * (`web_search`, `web_search_preview`, dated versions) `DEFAULT_HELD_WEB_SEARCHES`. `preview`:
 * a `web_search_preview*` tool is listed, so the settle bills every search at the entry's
 * `webSearchPreviewPer1k` (`isPreviewWebSearch`: which tool ran is unknown with both listed).
 */
function heldWebSearches(tools: readonly unknown[]): { searches: number; preview: boolean } {
  let searches = 0
  let preview = false
  for (const tool of tools) {
    const type = (tool as { type?: unknown } | null)?.type
    if (typeof type !== 'string' || !type.startsWith('web_search')) continue
    if (type.startsWith('web_search_preview')) preview = true
    const max = ANTHROPIC_WEB_SEARCH.test(type)
      ? (tool as { max_uses?: unknown }).max_uses
      : undefined
    searches +=
      typeof max === 'number' && Number.isSafeInteger(max) && max >= 0
        ? max
        : DEFAULT_HELD_WEB_SEARCHES
  }
  // `max_uses` is the end user's: summed over several tools it may pass 2^53, a count no call runs
  // and the pricer would not take (the worst case is then held capped, see `priceWorstCase`).
  return { searches: Math.min(searches, Number.MAX_SAFE_INTEGER), preview }
}

/** The keys of each form of `BudgetEstimate`: any other key is refused. */
const AMOUNT_ESTIMATE_KEYS = ['estimateMicros', 'model', 'ttl'] as const
const TOKENS_ESTIMATE_KEYS = [...PRICED_ESTIMATE_KEYS, 'inputTokens', 'tools'] as const

/** The keys of `SpendOptions`: any other key is refused. */
const SPEND_OPTION_KEYS = ['period', 'at'] as const satisfies readonly (keyof SpendOptions)[]
const PERIODS: ReadonlySet<unknown> = new Set(['day', 'month', 'rolling'])

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

// Reservation ids are fields of the holds hash and parts of tombstone keys: UUIDs, or any short
// token of safe characters other than the hash's own fields.
const RESERVATION_ID = /^[A-Za-z0-9_.:-]{1,128}$/
const HASH_FIELDS = new Set(['h', 'e', 'x'])

function checkHandle(handle: unknown): ReservationHandle {
  if (handle === null || typeof handle !== 'object' || Array.isArray(handle)) {
    throw new InvalidOptionsError('handle', 'must be an object from reservation.toJSON()')
  }
  const h = handle as Record<string, unknown>
  if (h.v !== 1) throw new InvalidOptionsError('handle.v', 'must be 1')
  if (typeof h.id !== 'string' || !RESERVATION_ID.test(h.id) || HASH_FIELDS.has(h.id)) {
    throw new InvalidOptionsError('handle.id', 'must be a reservation id')
  }
  if (typeof h.subject !== 'string' || h.subject.length === 0) {
    throw new InvalidOptionsError('handle.subject', 'must be a non-empty string')
  }
  if (!Number.isSafeInteger(h.amountMicros) || (h.amountMicros as number) < 0) {
    throw new InvalidOptionsError('handle.amountMicros', 'must be a non-negative integer')
  }
  if (h.model !== undefined && (typeof h.model !== 'string' || h.model.length === 0)) {
    throw new InvalidOptionsError('handle.model', 'must be a non-empty string when present')
  }
  if (!Number.isSafeInteger(h.expiresAt) || (h.expiresAt as number) < 0) {
    throw new InvalidOptionsError('handle.expiresAt', 'must be epoch milliseconds')
  }
  return handle as ReservationHandle
}

// Reservation ids: a random UUID per process (drawn on first use: edge runtimes forbid randomness
// at module load) and a counter. Unique across processes sharing a store like a UUID per call, but
// a counter is far cheaper than a UUID on every reserve (the hot path of every metered LLM call).
let idPrefix = ''
let idCount = 0
const ID_COUNT_LIMIT = 2 ** 32

function newId(): string {
  if (idPrefix === '' || idCount >= ID_COUNT_LIMIT) {
    idPrefix = globalThis.crypto.randomUUID()
    idCount = 0
  }
  // Decimal: V8 formats an integer in base 10 far faster than in base 36.
  return `${idPrefix}.${idCount++}`
}

/*
 * Reservation object nonces, written into the tombstone a settle or release leaves: a retry by the
 * same object after a lost reply (a timeout after the op ran) finds its own nonce and reports that
 * first settle (its charge, `duplicate: false`, the `'settled'` event), while any other object's
 * settle of the id is a duplicate. A nonce need only differ from those of the other objects of the
 * same id. The one `reserve` makes is the only object with its id when made (ids are new), so it
 * takes the constant `o` (nothing drawn, one byte in the tombstone). Every `restore` makes a new
 * object with a nonce of its own (48 random bits per process, then a counter): a handle carries no
 * nonce, so a restored reservation never shares one with the original or with another restore of
 * the same handle, in this process or another. Two holders of one handle (a worker and the
 * enqueuer, a redelivered job) must see each other's settle as a duplicate, or both would report
 * and emit the same charge.
 */
const RESERVED_NONCE = 'o'
let noncePrefix = ''
let nonceCount = 0

function newNonce(): string {
  if (noncePrefix === '' || nonceCount >= ID_COUNT_LIMIT) {
    noncePrefix = globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 12)
    nonceCount = 0
  }
  return `${noncePrefix}${nonceCount++}`
}

/**
 * Creates a budget. Options are validated here: a mistake throws `InvalidOptionsError` naming the
 * field (`limits[0].usd`, `limits[1].window`, `mode`, `timeZone`, `reservationTtl`, `warnAt`, …),
 * an unknown key included (`timezone`, `limits[0].perod`): a misspelt option is not left to its
 * default. A `limits` function's limits are checked the same way when first returned
 * (`limits(subject)[0].usd`).
 */
export function createBudget(options: BudgetOptions): Budget {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, BUDGET_OPTION_KEYS)
  const store = options.store ?? memoryStore({ evict: false, maxKeys: DEFAULT_MEMORY_KEYS })
  if (store === null || typeof store !== 'object') {
    throw new InvalidOptionsError('store', 'must be a Store (memoryStore() or redisStore(client))')
  }
  // The methods the budget calls: one missing would fail the first reserve, not here.
  for (const method of ['run', 'key'] as const) {
    if (typeof store[method] !== 'function') {
      throw new InvalidOptionsError(
        'store',
        `must be a Store (memoryStore() or redisStore(client)); missing ${method}()`
      )
    }
  }
  const mode = options.mode ?? 'hard'
  if (mode !== 'hard' && mode !== 'soft') {
    throw new InvalidOptionsError('mode', "must be 'hard' or 'soft'")
  }
  const timeZone = validateTimeZone(options.timeZone ?? 'UTC')
  const ttlMs = checkTtl(options.reservationTtl, 600_000, 'reservationTtl')
  const keepMs = checkTtl(options.tombstoneTtl, 600_000, 'tombstoneTtl')
  const warnAt = options.warnAt ?? [0.8, 1]
  if (!Array.isArray(warnAt) || warnAt.some((t) => typeof t !== 'number' || !(t > 0) || t > 10)) {
    throw new InvalidOptionsError('warnAt', 'must be an array of fractions > 0 (e.g. [0.8, 1])')
  }
  const prices = options.prices ?? defaultPriceTable()
  // The built-in table normalises a usage itself: a settle then skips doing it a second time.
  const pricesNormalize = options.prices === undefined
  if (prices === null || typeof prices !== 'object' || typeof prices.priceOf !== 'function') {
    throw new InvalidOptionsError('prices', 'must be a PriceTable (createPriceTable())')
  }
  // A worst case is a `Usage` built here from checked integers: priced without a normalising copy.
  // Its counts come from the end user's request: a cost past `Number.MAX_SAFE_INTEGER` µ$ is held
  // as that (above every limit: a hard budget answers 402), not refused as a bad option (500). The
  // built-in table caps it itself; another table refuses it naming `usage`, as `priceOf` does.
  const priceWorstCase =
    trustedPricer(prices) ??
    ((model: string, usage: Usage) => {
      try {
        return prices.priceOf(model, usage)
      } catch (error) {
        if (error instanceof InvalidOptionsError && error.field === 'usage') {
          return Number.MAX_SAFE_INTEGER
        }
        throw error
      }
    })
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

  // Calendar periods are recomputed only when the clock leaves the cached one (see `periodAt`);
  // this budget keeps its own last day and month too, so the common case is two comparisons (no
  // cache key string and lookup per reserve and settle).
  let lastDay: CalendarPeriod | undefined
  let lastMonth: CalendarPeriod | undefined
  const periodOf = (kind: 'day' | 'month', ms: number): CalendarPeriod => {
    const last = kind === 'day' ? lastDay : lastMonth
    if (last !== undefined && ms >= last.start && ms < last.end) return last
    const p = periodAt(kind, ms, timeZone)
    if (kind === 'day') lastDay = p
    else lastMonth = p
    return p
  }
  // When a period's ledger may expire: the end of the period `retainPeriods` after it. Each later
  // period is computed (months are 28 to 31 days, a DST day 23 or 25 hours), not `p`'s length
  // multiplied. Cached per period object (`periodOf` returns one object per period, so this runs
  // when the clock leaves a period); `calendarPeriod`, not `periodAt`, whose shared cache holds
  // the current period.
  const retainEnds = new WeakMap<CalendarPeriod, number>()
  const retainEnd = (kind: 'day' | 'month', p: CalendarPeriod): number => {
    let end = retainEnds.get(p)
    if (end === undefined) {
      end = p.end
      for (let i = 0; i < retainPeriods; i++) end = calendarPeriod(kind, end, timeZone).end
      retainEnds.set(p, end)
    }
    return end
  }
  const ledgerKey = (subject: string, l: Limit, periodId: string): string =>
    store.key(subject, prefix, l.name, periodId)
  const resKey = (subject: string): string => store.key(subject, prefix, 'res')
  const doneKey = (subject: string, id: string): string => store.key(subject, prefix, 'done', id)

  const events = createEmitter<BudgetEvents>(['warning', 'settled', 'unsettled', 'rejected'])
  // Settles the store could not take, retried in the background (`retrySettle`), on the store's
  // clock (the one holds expire on).
  const retries = createSettleRetries(MAX_PENDING_SETTLES, () => store.now?.() ?? Date.now())
  // A retry stops this long before the tombstone's expiry: it must reach the store before then.
  const retryMarginMs = Math.min(Math.floor(keepMs / 2), 30_000)
  // Whether anyone listens to `'warning'` / `'settled'`, kept by `on` and its unsubscribe: without
  // a listener, a reserve or settle skips looking for crossings and building the event (exact: an
  // event goes only to the listeners present when it is emitted).
  let warningHeard = false
  let settledHeard = false
  const heard = (): void => {
    warningHeard = events.has('warning')
    settledHeard = events.has('settled')
  }

  /** Keys and ARGV limits for reserve/status at `now`. */
  interface Current {
    keys: string[]
    /** `doneKey(subject, '')` without its last `:` (the Store contract: parts joined by `:`). */
    donePrefix: string
    opLimits: OpLimit[]
    settleLimits: { kind: 'c' | 'r'; a: number; b: number }[]
  }
  // Keys and op arguments per subject, reused while its limits and periods stay the same (building
  // keys escapes the subject; this is the hot path of every reserve and settle).
  const currentCache = new Map<string, { limits: readonly Limit[]; sig: string; value: Current }>()
  // The last subject's entry: a process often serves one subject after another of a few (no Map
  // lookup per reserve and settle then).
  let lastSubject: string | undefined
  let lastEntry: { limits: readonly Limit[]; sig: string; value: Current } | undefined
  const current = (subject: string, limits: readonly Limit[], now: number): Current => {
    let sig = ''
    for (const l of limits) if (l.period !== 'rolling') sig += periodOf(l.period, now).id
    let hit = lastEntry
    if (subject !== lastSubject) {
      hit = currentCache.get(subject)
      if (hit !== undefined) {
        lastSubject = subject
        lastEntry = hit
      }
    }
    if (hit && hit.limits === limits && hit.sig === sig) return hit.value
    const value = computeCurrent(subject, limits, now)
    const entry = { limits, sig, value }
    if (subject.length <= MAX_CACHED_SUBJECT) {
      if (currentCache.size >= 10_000) currentCache.clear()
      currentCache.set(subject, entry)
    }
    lastSubject = subject
    lastEntry = entry
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
        settleLimits.push({ kind: 'c', a: retainEnd(l.period, p), b: p.end })
      }
    }
    return { keys, donePrefix: store.key(subject, prefix, 'done'), opLimits, settleLimits }
  }

  /**
   * A rolling window's reset, which the ops compute on the store's clock (Redis `TIME` on a
   * redisStore), on this budget's clock instead (the one calendar periods end on): a client
   * compares it with its own time, and a Redis clock skewed from this machine's would shift it.
   * The offset is taken to the second, so two readings of one clock never move it.
   */
  const onBudgetClock = (storeMs: number): number => {
    const offset = Math.round((clock() - (store.now?.() ?? Date.now())) / 1000) * 1000
    return storeMs + offset
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
        resetAt: l.period === 'rolling' ? onBudgetClock(s.resetAt) : s.resetAt,
      }
    })
    let tightest: LimitStatus | undefined
    for (const s of out) if (!tightest || s.remainingMicros < tightest.remainingMicros) tightest = s
    return { subject, limits: out, tightest }
  }

  /**
   * Emits `'warning'` for each `warnAt` fraction a limit's use (spent + held) crossed: from
   * `spent + heldBefore` to `spent + heldAfter` per limit. Reads the op's numbers directly (no
   * status objects: this runs on every reserve and settle, and nearly always emits nothing).
   */
  const warn = (
    subject: string,
    limits: readonly Limit[],
    states: readonly OpLimitState[],
    heldBefore: number,
    heldAfter: number
  ): void => {
    if (heldAfter <= heldBefore) return
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i] as Limit
      const spent = states[i]?.spentMicros ?? 0
      const after = spent + heldAfter
      const prev = spent + heldBefore
      for (const t of warnAt) {
        const mark = t * l.limitMicros
        if (prev < mark && after >= mark) {
          events.emit('warning', {
            subject,
            period: l.name,
            threshold: t,
            usedMicros: after,
            limitMicros: l.limitMicros,
          })
        }
      }
    }
  }

  /**
   * Micro-dollars to hold for an estimate. Validates it: its `model` is then a non-empty string, or
   * `undefined` for an amount without one. A worst case above `Number.MAX_SAFE_INTEGER` is
   * `Number.MAX_SAFE_INTEGER` (see `priceWorstCase`).
   */
  const worstCase = (estimate: BudgetEstimate): number => {
    if (estimate === null || typeof estimate !== 'object') {
      throw new InvalidOptionsError('estimate', 'must be an object')
    }
    // A misspelt field (`cachewrite`, `tool`, `inputToken`) would hold less than the call costs.
    rejectUnknownOptions(
      estimate,
      'estimateMicros' in estimate
        ? AMOUNT_ESTIMATE_KEYS
        : 'messages' in estimate
          ? MESSAGES_ESTIMATE_KEYS
          : TOKENS_ESTIMATE_KEYS
    )
    if ('estimateMicros' in estimate) {
      const micros = checkTokens(estimate.estimateMicros, 'estimateMicros')
      // '' as everywhere else: a handle without a model cannot be restored, nor a usage priced.
      if (
        estimate.model !== undefined &&
        (typeof estimate.model !== 'string' || estimate.model.length === 0)
      ) {
        throw new InvalidOptionsError('model', 'must be a non-empty string (or left out)')
      }
      return micros
    }
    if (typeof estimate.model !== 'string' || estimate.model.length === 0) {
      throw new InvalidOptionsError('model', 'must be a non-empty string')
    }
    const output = checkTokens(estimate.maxOutputTokens, 'maxOutputTokens')
    const cacheWrite = estimate.cacheWrite
    if (cacheWrite !== undefined && cacheWrite !== '5m' && cacheWrite !== '1h') {
      // Anything else would silently be priced as plain input, below the cache-write price.
      throw new InvalidOptionsError('cacheWrite', "must be '5m' or '1h' (or left out)")
    }
    const tier = estimate.serviceTier
    if (tier !== undefined && !SERVICE_TIERS.has(tier)) {
      // Anything else would silently be priced at the standard rates, below a priority call's cost.
      throw new InvalidOptionsError(
        'serviceTier',
        "must be 'standard', 'batch', 'priority' or 'flex' (or left out)"
      )
    }
    if (estimate.tools !== undefined && !Array.isArray(estimate.tools)) {
      throw new InvalidOptionsError('tools', 'must be an array of tool definitions')
    }
    let input: number
    if ('messages' in estimate) {
      if (!Array.isArray(estimate.messages)) {
        throw new InvalidOptionsError('messages', 'must be an array')
      }
      // The estimate is its own options (`system`, `tools`): no copy per reserve.
      input = countTokens(estimate.messages, estimate.model, estimate)
    } else {
      input = checkTokens(estimate.inputTokens, 'inputTokens')
    }
    // Server-side searches bill per search on top of the tokens (a settle charges them).
    const held =
      estimate.tools !== undefined && estimate.tools.length > 0
        ? heldToolFees(estimate.tools)
        : undefined
    const searches = held?.searches ?? 0
    let usage: Usage =
      cacheWrite === '1h'
        ? { inputTokens: 0, cacheWrite1hTokens: input, outputTokens: output }
        : cacheWrite === '5m'
          ? { inputTokens: 0, cacheWrite5mTokens: input, outputTokens: output }
          : { inputTokens: input, outputTokens: output }
    if (tier !== undefined && tier !== 'standard') usage = { ...usage, serviceTier: tier }
    if (searches > 0) {
      usage = held?.preview
        ? { ...usage, webSearchRequests: searches, webSearchPreviewRequests: searches }
        : { ...usage, webSearchRequests: searches }
    }
    if (held !== undefined && held.files > 0) usage = { ...usage, fileSearchCalls: held.files }
    if (held !== undefined && held.containers > 0) {
      usage = { ...usage, codeInterpreterContainers: held.containers }
    }
    // Fast mode and US-only inference multiply every rate: held as the settle will price them.
    const speed = estimate.speed
    if (speed !== undefined) {
      if (typeof speed !== 'string') throw new InvalidOptionsError('speed', 'must be a string')
      if (speed !== 'standard') usage = { ...usage, speed }
    }
    const geo = estimate.inferenceGeo
    if (geo !== undefined) {
      if (typeof geo !== 'string') throw new InvalidOptionsError('inferenceGeo', 'must be a string')
      if (geo !== 'global') usage = { ...usage, inferenceGeo: geo }
    }
    return priceWorstCase(estimate.model, usage)
  }

  /**
   * What `settle` resolves with. A class with `status` built when first read (the wrapper and most
   * callers never read it), as a reservation's is: every metered call makes one.
   */
  class Settled implements SettleOutcome {
    readonly chargedMicros: number
    readonly priced: boolean
    readonly held: boolean
    readonly duplicate: boolean
    readonly previous: 'settled' | 'released' | undefined
    readonly #subject: string
    readonly #limits: readonly Limit[]
    readonly #result: SettleResult
    #status: BudgetStatus | undefined

    constructor(
      charged: number,
      priced: boolean,
      duplicate: boolean,
      held: boolean,
      subject: string,
      limits: readonly Limit[],
      result: SettleResult
    ) {
      this.chargedMicros = duplicate ? 0 : charged
      this.priced = priced
      this.held = duplicate ? false : held
      this.duplicate = duplicate
      this.previous = duplicate ? (result.state as 'settled' | 'released') : undefined
      this.#subject = subject
      this.#limits = limits
      this.#result = result
    }

    get status(): BudgetStatus {
      const r = this.#result
      this.#status ??= toStatus(this.#subject, this.#limits, r.limits, r.heldAfter)
      return this.#status
    }

    /** The outcome as plain JSON, `status` included. */
    toJSON(): SettleOutcome {
      return {
        chargedMicros: this.chargedMicros,
        priced: this.priced,
        held: this.held,
        duplicate: this.duplicate,
        previous: this.previous,
        status: this.status,
      }
    }
  }

  /**
   * A reservation. A class (methods shared on its prototype) rather than an object of closures:
   * one is made on every call that reserves, so building it is on the hot path.
   */
  class BudgetReservation implements Reservation {
    readonly id: string
    readonly subject: string
    readonly amountMicros: number
    readonly model: string | undefined
    /** Known after `reserve`; a restored reservation looks them up when it acts. */
    readonly #limits: readonly Limit[] | undefined
    /**
     * The reserve op's limit states and held total, turned into `status` when first read (most
     * callers never read it); `undefined` for a restored reservation.
     */
    readonly #states: readonly OpLimitState[] | undefined
    readonly #held: number
    #status: BudgetStatus | undefined
    #expiresAt: number
    #settled: Promise<SettleOutcome> | undefined
    #released: Promise<boolean> | undefined
    /** This object's nonce in the tombstones it writes (see `newNonce`). */
    readonly #nonce: string

    constructor(
      id: string,
      subject: string,
      micros: number,
      model: string | undefined,
      expiresAt: number,
      limits: readonly Limit[] | undefined,
      states: readonly OpLimitState[] | undefined,
      held: number,
      nonce: string
    ) {
      this.id = id
      this.subject = subject
      this.amountMicros = micros
      this.model = model
      this.#expiresAt = expiresAt
      this.#limits = limits
      this.#states = states
      this.#held = held
      this.#nonce = nonce
    }

    get status(): BudgetStatus | undefined {
      const states = this.#states
      if (this.#status === undefined && states !== undefined && this.#limits !== undefined) {
        this.#status = toStatus(this.subject, this.#limits, states, this.#held)
      }
      return this.#status
    }

    get expiresAt(): number {
      return this.#expiresAt
    }

    #price(
      actual: number | Usage | Record<string, unknown>,
      settleModel: string | undefined
    ): { charged: number; priced: boolean; chargeModel: string } {
      const model = this.model
      if (typeof actual === 'number') {
        return {
          charged: checkTokens(actual, 'actual'),
          priced: true,
          chargeModel: settleModel ?? model ?? 'unknown',
        }
      }
      const priceModel = settleModel ?? model
      // Without a model, a bad usage is still reported first (as before); the built-in table
      // checks and normalises the usage itself.
      const usage = pricesNormalize && priceModel !== undefined ? actual : normalizeUsage(actual)
      if (priceModel === undefined) {
        throw new InvalidOptionsError('model', 'is required to price a usage (none was reserved)')
      }
      try {
        return { charged: prices.priceOf(priceModel, usage), priced: true, chargeModel: priceModel }
      } catch (error) {
        if (!(error instanceof UnknownModelError)) throw error
        // Never free: an unpriced call costs what was held for it.
        return { charged: this.amountMicros, priced: false, chargeModel: priceModel }
      }
    }

    /**
     * The settle op's keys and input: the holds key, the tombstone, then the ledgers (one array,
     * no slice and spread), in the period current now (a call spanning midnight counts on the new
     * day), and that clock reading (a new ledger's lifetime is measured on it: budget-ops.ts).
     */
    #settleArgs(
      limits: readonly Limit[],
      charged: number,
      chargeModel: string
    ): { keys: string[]; input: SettleInput } {
      const id = this.id
      const clockMs = clock()
      const now = current(this.subject, limits, clockMs)
      const keys = [now.keys[0] as string, `${now.donePrefix}:${id}`]
      for (let i = 1; i < now.keys.length; i++) keys.push(now.keys[i] as string)
      const input: SettleInput = {
        id,
        expiresAt: this.#expiresAt,
        keepMs,
        actualMicros: charged,
        model: chargeModel,
        nonce: this.#nonce,
        clockMs,
        limits: now.settleLimits,
      }
      return { keys, input }
    }

    /**
     * The outcome of a settle op; warns and emits `'settled'` for a first settle, or for this
     * object's retry of one whose reply was lost (`s.again`: the charge is the one that settle made).
     */
    #outcome(
      limits: readonly Limit[],
      s: SettleResult,
      priced: boolean,
      chargeModel: string
    ): SettleOutcome {
      const subject = this.subject
      const duplicate = s.state === 'settled' || s.state === 'released'
      const held = s.state === 'held'
      const charged = s.chargedMicros
      if (!duplicate) {
        // Before the settle, each limit had the charge unspent and (if live) the hold held.
        if (warningHeard) {
          const before = s.heldAfter - charged + (held ? this.amountMicros : 0)
          warn(subject, limits, s.limits, before, s.heldAfter)
        }
        // The event object is built only for a listener (nearly every settle has none).
        if (settledHeard) {
          events.emit('settled', { subject, model: chargeModel, chargedMicros: charged, priced })
        }
      }
      return new Settled(charged, priced, duplicate, held, subject, limits, s)
    }

    async #settle(
      actual: number | Usage | Record<string, unknown>,
      settleModel: string | undefined
    ): Promise<SettleOutcome> {
      const { charged, priced, chargeModel } = this.#price(actual, settleModel)
      // A restored reservation looks its limits up.
      const limits = this.#limits ?? (await limitsFor(this.subject))
      const { keys, input } = this.#settleArgs(limits, charged, chargeModel)
      const s = await store.run(settleOp, keys, input)
      return this.#outcome(limits, s, priced, chargeModel)
    }

    settle(
      actual: number | Usage | Record<string, unknown>,
      settleOptions?: { model?: string }
    ): Promise<SettleOutcome> {
      let settled = this.#settled
      if (settled !== undefined) return settled
      const limits = this.#limits
      const sync = (store.run as SyncRun).sync
      if (limits !== undefined && sync !== undefined) {
        // A fresh reservation on a store whose ops complete in-process (memoryStore): the whole
        // settle runs now, with no async function, no promise hop and no retry bookkeeping (this
        // is every metered call). A throw is a rejection that is not remembered, so the settle
        // may be retried, as below.
        try {
          const { charged, priced, chargeModel } = this.#price(actual, settleOptions?.model)
          const { keys, input } = this.#settleArgs(limits, charged, chargeModel)
          const s = sync(settleOp, keys, input)
          settled = Promise.resolve(this.#outcome(limits, s, priced, chargeModel))
        } catch (error) {
          return Promise.reject(error)
        }
        this.#settled = settled
        return settled
      }
      const pending = this.#settle(actual, settleOptions?.model)
      this.#settled = pending
      // A failed settle (store down) may be retried; a successful one is final.
      pending.catch(() => {
        if (this.#settled === pending) this.#settled = undefined
      })
      return pending
    }

    retrySettle(
      actual: number | Usage | Record<string, unknown>,
      settleOptions?: { model?: string }
    ): void {
      retries.add(this, {
        attempt: () => this.settle(actual, settleOptions),
        until: () => this.#expiresAt + keepMs - retryMarginMs,
        dropped: (reason) => {
          let model = settleOptions?.model ?? this.model ?? 'unknown'
          let chargeMicros = this.amountMicros
          try {
            const priced = this.#price(actual, settleOptions?.model)
            model = priced.chargeModel
            chargeMicros = priced.charged
          } catch {
            // Reported at the held amount.
          }
          const { id: reservationId, subject } = this
          events.emit('unsettled', { subject, reservationId, model, chargeMicros, reason })
        },
      })
    }

    release(): Promise<boolean> {
      if (this.#settled) return Promise.resolve(false)
      let released = this.#released
      if (released === undefined) {
        const { id, subject } = this
        released = store
          .run(releaseOp, [resKey(subject), doneKey(subject, id)], {
            id,
            expiresAt: this.#expiresAt,
            keepMs,
            nonce: this.#nonce,
          })
          .then((state) => state === 'held')
        this.#released = released
        released.catch(() => {
          if (this.#released === released) this.#released = undefined
        })
      }
      return released
    }

    async extend(ttl: Duration): Promise<boolean> {
      const ms = parseDuration(ttl, 'ttl')
      const r = await store.run(extendOp, [resKey(this.subject)], { id: this.id, ttlMs: ms })
      if (r.extended) this.#expiresAt = r.expiresAt
      return r.extended
    }

    toJSON(): ReservationHandle {
      const model = this.model
      return {
        v: 1,
        id: this.id,
        subject: this.subject,
        amountMicros: this.amountMicros,
        ...(model === undefined ? {} : { model }),
        expiresAt: this.#expiresAt,
      }
    }
  }

  /** The reserve op's result as a reservation; throws `BudgetExceededError` when it did not fit. */
  const hold = (
    subject: string,
    limits: readonly Limit[],
    id: string,
    micros: number,
    model: string | undefined,
    ttl: number,
    r: ReserveResult
  ): Reservation => {
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
    if (warningHeard) warn(subject, limits, r.limits, r.heldBefore, r.heldAfter)
    return new BudgetReservation(
      id,
      subject,
      micros,
      model,
      r.nowMs + ttl,
      limits,
      r.limits,
      r.heldAfter,
      RESERVED_NONCE
    )
  }

  /** `reserve` with limits looked up per subject or a store answering with a promise. */
  const reserveAsync = async (subject: string, estimate: BudgetEstimate): Promise<Reservation> => {
    checkSubject(subject)
    const micros = worstCase(estimate)
    const ttl = checkTtl(estimate.ttl, ttlMs, 'ttl')
    const limits = staticLimits ?? (await limitsFor(subject))
    const { keys, input } = reserveArgs(subject, limits, micros, ttl)
    const sync = (store.run as SyncRun).sync
    const r = sync ? sync(reserveOp, keys, input) : await store.run(reserveOp, keys, input)
    return hold(subject, limits, input.id, micros, estimate.model, ttl, r)
  }

  /** The reserve op's keys and input: a new id holding `micros` for `ttl` ms in the current periods. */
  const reserveArgs = (
    subject: string,
    limits: readonly Limit[],
    micros: number,
    ttl: number
  ): { keys: readonly string[]; input: ReserveInput } => {
    const id = newId()
    const { keys, opLimits } = current(subject, limits, clock())
    return { keys, input: { id, amountMicros: micros, ttlMs: ttl, mode, limits: opLimits } }
  }

  const budget: Budget = {
    mode,
    store,
    reserve(subject, estimate) {
      const sync = (store.run as SyncRun).sync
      if (staticLimits === undefined || sync === undefined) return reserveAsync(subject, estimate)
      // Static limits and a store whose ops complete in-process (memoryStore): the whole reserve
      // runs now, with no async function and no promise hop (this is every metered call).
      try {
        checkSubject(subject)
        const micros = worstCase(estimate)
        const ttl = checkTtl(estimate.ttl, ttlMs, 'ttl')
        const { keys, input } = reserveArgs(subject, staticLimits, micros, ttl)
        const r = sync(reserveOp, keys, input)
        return Promise.resolve(
          hold(subject, staticLimits, input.id, micros, estimate.model, ttl, r)
        )
      } catch (error) {
        return Promise.reject(error)
      }
    },
    restore(handle) {
      const h = checkHandle(handle)
      return new BudgetReservation(
        h.id,
        h.subject,
        h.amountMicros,
        h.model,
        h.expiresAt,
        undefined,
        undefined,
        0,
        newNonce()
      )
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
      if (spendOptions === null || typeof spendOptions !== 'object') {
        throw new InvalidOptionsError('options', 'must be an object { period?, at? }')
      }
      rejectUnknownOptions(spendOptions, SPEND_OPTION_KEYS)
      if (spendOptions.period !== undefined && !PERIODS.has(spendOptions.period)) {
        throw new InvalidOptionsError('period', "must be 'day', 'month' or 'rolling'")
      }
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
        const p = periodAt(limit.period, at, timeZone)
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
        resetAt: limit.period === 'rolling' ? onBudgetClock(r.resetAt) : r.resetAt,
      }
    },
    on(event, listener) {
      const off = events.on(event, listener)
      heard()
      return () => {
        off()
        heard()
      }
    },
  }
  return Object.freeze(budget)
}
