/**
 * @module queue
 * `createLlmQueue(options)`: LLM requests as BullMQ jobs. `enqueue` holds the budget (402 when it
 * does not fit), dedupes an identical pending request of the same subject and cache mode (BullMQ
 * deduplication keyed by a hash of them and the request's cache key; an ended job is not joined)
 * and adds the job; `follow` streams its events from any
 * instance; `result` waits for its outcome.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  currentContext,
  InvalidOptionsError,
  InvalidRequestError,
  isAikitError,
  requireAsyncContext,
} from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { Budget, Reservation } from '@aikit/cost'
import { estimateRequest, withHeldLimit } from '@aikit/llm/estimate'
import { Queue } from 'bullmq'
import { anySignal } from './any-signal.js'
import { dedupeIdOf, defaultJobKey, type LlmJobKeyFn, usageApiOf } from './cache-key.js'
import { type Duration, parseDuration, TTL_MAX_MS } from './duration.js'
import { JobFailedError, JobNotFoundError } from './errors.js'
import { endedBy, endedByOf, type FollowOptions, followJob } from './follow.js'
import { Holds } from './holds.js'
import { checkJsonData } from './json-data.js'
import { enqueuingKey, JOB_ID, type JobKeys, jobKeys } from './keys.js'
import {
  checkConnection,
  checkInt,
  checkName,
  checkSignal,
  DEFAULT_NAME,
  DEFAULT_PREFIX,
} from './options.js'
import type { RedisConnection } from './redis-types.js'
import { Subscriber } from './subscriber.js'
import type {
  LlmApi,
  LlmCacheMode,
  LlmJobData,
  LlmJobEvent,
  LlmJobResult,
  LlmProvider,
} from './types.js'
import { iterateViaRedis, viaRedis } from './unavailable.js'
import { BACKOFF_TYPE } from './worker.js'

/** Options of `createLlmQueue`. */
export interface LlmQueueOptions {
  /** ioredis `Redis` connection. Required. Pub/sub uses one `duplicate()` of it. */
  connection: RedisConnection
  /** Queue name (BullMQ queue and key part). Default `'llm'`. */
  name?: string
  /** Key prefix of BullMQ's keys and the queue's own. Default `'aikit'`. */
  prefix?: string
  /** `@aikit/cost` budget: a job's worst case is held from enqueue until it completes. Default none. */
  budget?: Budget
  /**
   * How long a job's result and event log are kept after it ends (up to a year; while the job runs
   * its log does not expire). Default `'1h'`.
   */
  resultTtl?: Duration
  /**
   * Lifetime of a job's budget hold without renewal. The enqueuing queue object renews it every
   * third of this while the job waits or runs, and the worker running it does too, so it only has
   * to outlast a renewal gap: a dead enqueuer while the job waits, or a dead worker until the
   * stalled job is taken over (`lockDuration` + `stalledInterval`). A job whose hold lapsed is
   * still charged its actual cost when it completes. Default `'5m'`.
   */
  holdTtl?: Duration
  /** Attempts per job (1 = no retry). Default `5`. */
  attempts?: number
  /** Base delay of the exponential backoff when the provider gives no `retry-after`. Default `'1s'`. */
  backoffDelay?: Duration
  /**
   * Output tokens reserved when a request sets no output limit; with a budget, then sent as the
   * request's limit. Default `4096`.
   */
  defaultMaxOutputTokens?: number
  /**
   * The dedupe key (use the wrapped client's `cacheKey`, e.g. `@aikit/cache`'s `llmCacheKey`); the
   * dedupe id adds the subject and the cache mode whatever it returns. Default: `@aikit/llm`'s
   * default key.
   */
  cacheKey?: LlmJobKeyFn
  /** How long a follower waits for a live event before re-reading the log. Default `'2s'`. */
  pollInterval?: Duration
  /**
   * Called with the errors of the queue's BullMQ `Queue` (its connection's errors: the same ones
   * the app's own `'error'` listener on the client gets). Default: ignored (BullMQ would print
   * each one to stderr).
   */
  onError?: (error: Error) => void
}

const QUEUE_OPTION_KEYS = [
  'connection',
  'name',
  'prefix',
  'budget',
  'resultTtl',
  'holdTtl',
  'attempts',
  'backoffDelay',
  'defaultMaxOutputTokens',
  'cacheKey',
  'pollInterval',
  'onError',
] as const satisfies readonly (keyof LlmQueueOptions)[]

/** What `enqueue` takes. */
export interface LlmJobInput {
  /** `'anthropic'` or `'openai'`. */
  provider: LlmProvider
  /** `'messages'` (anthropic), `'chat'` or `'responses'` (openai). */
  api: LlmApi
  /** The SDK request params (`model` required). `stream` is ignored: the worker always streams. */
  params: Record<string, unknown>
  /** Budget subject and cache scope. Default: the current request's `ctx.state.subject`. */
  subject?: string
  /** The wrapped client's cache mode for this call. Default `'default'`. */
  cache?: LlmCacheMode
}

/** What `enqueue` returns. */
export interface EnqueueResult {
  readonly jobId: string
  /** `true` when an identical pending job (same subject, cache mode and key) was found: its id is returned. */
  readonly deduplicated: boolean
}

/** Options of `result`. */
export interface ResultOptions {
  /** Give up waiting after this (rejects with a `TimeoutError` DOMException). Default: wait. */
  timeout?: Duration
  /** Stops waiting (rejects with the signal's reason). Default none. */
  signal?: AbortSignal
}

/** A queue of LLM jobs. */
export interface LlmQueue {
  readonly name: string
  /** The BullMQ queue (counts, pause, clean). */
  readonly queue: Queue
  /**
   * Adds a job (or finds the identical pending one). With a budget, holds the worst case first.
   * @throws BudgetExceededError (402) when the hold does not fit; InvalidRequestError (400) for bad
   * input; QueueClosedError (503) after `close()`.
   */
  enqueue(input: LlmJobInput): Promise<EnqueueResult>
  /**
   * The job's result, waiting for it while it runs. With a budget held here, resolves after the
   * hold is settled. @throws JobFailedError (502) when it failed for good; JobNotFoundError (404);
   * QueueClosedError (503) after `close()`, or when the queue object is closed while waiting.
   */
  result(jobId: string, options?: ResultOptions): Promise<LlmJobResult>
  /**
   * The job's events from its start (replayed) and then live, until `done` or `error`.
   * @throws QueueClosedError (503, from the iteration) after `close()`, or when the queue object is
   * closed while following.
   */
  follow(jobId: string, options?: FollowOptions): AsyncIterable<LlmJobEvent>
  /**
   * The subject a job was enqueued for (`null` for none); `undefined` when the job is unknown or
   * expired. @throws QueueClosedError (503) after `close()`.
   */
  subjectOf(jobId: string): Promise<string | null | undefined>
  /**
   * Closes the queue's connections (holds not settled yet lapse by their TTL). Running `result()`
   * waiters and `follow()` iterations reject with `QueueClosedError`, and so does every later
   * `enqueue`, `result` or `follow`: a closed queue opens no new connection. The jobs go on.
   */
  close(): Promise<void>
}

// A job's meta key must outlive a long wait in the queue: at least as long as a running job's log
// (the worker renews it with the log while the job runs, and gives it the log's TTL at the end).
const META_MIN_TTL_MS = 86_400_000

// A key deleted only while it holds the given value: BullMQ's dedupe key (`<prefix>:<queue>:de:<id>`)
// while it names the given job id (BullMQ's own `removeDeduplicationKey(id)` deletes it whatever it
// holds), an enqueuing marker while it is the given enqueue's.
const DELETE_IF_NAMES =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
// How many ended jobs an id may be found naming in a row before the enqueue goes on to add.
const DEDUPE_REREADS = 5
// Lifetime of an enqueue's marker (`enqueuingKey`), deleted once its job is added: it covers the
// round trips from the hold to the add, and a marker left by an instance that died mid-enqueue
// delays an identical enqueue by at most this.
const ENQUEUING_TTL_MS = 5000
// How often an identical enqueue waiting on that marker looks for the job.
const ENQUEUING_POLL_MS = 25

const PROVIDER_APIS: Record<string, readonly string[]> = {
  anthropic: ['messages'],
  openai: ['chat', 'responses'],
}
const CACHE_MODES = new Set(['default', 'no-store', 'refresh'])
/** The output limits of each API's params (the hold's output worst case). */
const OUTPUT_LIMIT_FIELDS: Record<string, readonly string[]> = {
  messages: ['max_tokens'],
  chat: ['max_tokens', 'max_completion_tokens'],
  responses: ['max_output_tokens'],
}

/** The keys of `LlmJobInput`: any other key is refused (a misspelt `subject` would charge no one). */
const JOB_INPUT_KEYS = [
  'provider',
  'api',
  'params',
  'subject',
  'cache',
] as const satisfies readonly (keyof LlmJobInput)[]
/** The keys of `ResultOptions` and `FollowOptions`. */
const RESULT_OPTION_KEYS = ['timeout', 'signal'] as const satisfies readonly (keyof ResultOptions)[]
const FOLLOW_OPTION_KEYS = ['signal', 'after'] as const satisfies readonly (keyof FollowOptions)[]

/**
 * Checks a job and returns its params as JSON makes them: what BullMQ stores and the worker sends.
 * The checks, the hold's estimate, the held limit and the dedupe key all read that one object (a
 * `toJSON`, at the top or nested, would otherwise show them other values than the ones sent).
 */
function checkInput(input: LlmJobInput): Record<string, unknown> {
  if (input === null || typeof input !== 'object')
    throw new InvalidRequestError('job must be an object')
  try {
    rejectUnknownOptions(input, JOB_INPUT_KEYS)
  } catch (error) {
    // A job is request data (400), not a configuration: the same message, naming the field.
    const { field } = error as InvalidOptionsError
    throw new InvalidRequestError(
      (error as Error).message.replace(/^Invalid option `[^`]*`: /, `Job field \`${field}\` `),
      { details: { field } }
    )
  }
  const apis = PROVIDER_APIS[input.provider]
  if (!apis) throw new InvalidRequestError("provider must be 'anthropic' or 'openai'")
  if (!apis.includes(input.api)) {
    throw new InvalidRequestError(
      `api must be ${apis.map((a) => `'${a}'`).join(' or ')} for ${input.provider}`
    )
  }
  const raw: unknown = input.params
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidRequestError('params must be an object')
  }
  // Stored as JSON and hashed into the dedupe key: a BigInt or a cycle is bad input, not a 500.
  checkJsonData(raw, 'params')
  let p: Record<string, unknown>
  try {
    p = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>
  } catch (error) {
    // A getter or a `toJSON` that throws only now (checked above once already).
    throw new InvalidRequestError(
      `params cannot be read as JSON (${(error as Error)?.message ?? String(error)})`,
      { details: { field: 'params' } }
    )
  }
  if (p === null || typeof p !== 'object' || Array.isArray(p)) {
    throw new InvalidRequestError('params must be an object')
  }
  if (typeof p.model !== 'string' || p.model.length === 0) {
    throw new InvalidRequestError('params.model must be a non-empty string')
  }
  // The output limit is what the hold prices: a string or a negative one would be held as
  // something else than what the provider is asked for.
  for (const field of OUTPUT_LIMIT_FIELDS[input.api] ?? []) {
    const v = p[field]
    if (v != null && !(Number.isSafeInteger(v) && (v as number) >= 1)) {
      throw new InvalidRequestError(`params.${field} must be a positive integer`, {
        details: { field },
      })
    }
  }
  // A queued job streams one answer: `n` interleaved choices would mix into one text.
  if (input.api === 'chat' && p.n != null && p.n !== 1) {
    throw new InvalidRequestError(
      'params.n must be 1: a queued job streams one answer (enqueue one job per choice)',
      { details: { field: 'n' } }
    )
  }
  if (input.subject !== undefined && (typeof input.subject !== 'string' || input.subject === '')) {
    throw new InvalidRequestError('subject must be a non-empty string')
  }
  if (input.cache !== undefined && !CACHE_MODES.has(input.cache)) {
    throw new InvalidRequestError("cache must be 'default', 'no-store' or 'refresh'")
  }
  return p
}

/** A per-call options object: an object with known keys only (`InvalidOptionsError` naming the field). */
function checkOptionsObject(options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, known)
}

/**
 * Creates a queue of LLM jobs. Options are validated here (`InvalidOptionsError` naming the field).
 *
 * @example
 * const queue = createLlmQueue({ connection: redis, budget })
 * const { jobId } = await queue.enqueue({ provider: 'anthropic', api: 'messages', subject: userId, params })
 */
export function createLlmQueue(options: LlmQueueOptions): LlmQueue {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, QUEUE_OPTION_KEYS)
  checkConnection(options.connection)
  const name = checkName(options.name, 'name', DEFAULT_NAME)
  const prefix = checkName(options.prefix, 'prefix', DEFAULT_PREFIX)
  const budget = options.budget
  if (budget !== undefined && (budget === null || typeof budget.reserve !== 'function')) {
    throw new InvalidOptionsError('budget', 'must be a Budget (createBudget())')
  }
  // enqueue() takes the subject from the running request's context: requests must be scoped.
  requireAsyncContext()
  // Only a Redis TTL (no timer): up to a year.
  const resultTtlMs = parseDuration(options.resultTtl ?? 3_600_000, 'resultTtl', TTL_MAX_MS)
  const holdTtlMs = parseDuration(options.holdTtl ?? 300_000, 'holdTtl')
  const attempts = checkInt(options.attempts, 'attempts', 5, 1, 100)
  const backoffDelay = parseDuration(options.backoffDelay ?? 1000, 'backoffDelay')
  const defaultMaxOutputTokens = checkInt(
    options.defaultMaxOutputTokens,
    'defaultMaxOutputTokens',
    4096,
    1,
    10_000_000
  )
  if (options.cacheKey !== undefined && typeof options.cacheKey !== 'function') {
    throw new InvalidOptionsError(
      'cacheKey',
      'must be a function (params, { scope, api }) => string'
    )
  }
  const cacheKey = options.cacheKey ?? defaultJobKey
  const pollMs = parseDuration(options.pollInterval ?? 2000, 'pollInterval')
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new InvalidOptionsError('onError', 'must be a function')
  }
  const onError = options.onError ?? (() => {})

  const redis = options.connection
  // A `lazyConnect` client not connected yet: BullMQ's start-up would make ONE connect() attempt
  // and, when Redis is not reachable then, keep that failure as its connection for good. Connected
  // here, ioredis retries until Redis is up and BullMQ waits for it.
  if (redis.status === 'wait') redis.connect().catch(() => undefined)
  const queue = new Queue<LlmJobData, LlmJobResult>(name, { connection: redis as never, prefix })
  queue.on('error', (error) => onError(error))
  /**
   * A BullMQ call. Its commands wait for BullMQ's start-up, which waits for the client's 'ready'
   * with no bound. While a connection attempt is under way ('connecting', 'connect': a start-up,
   * or a reconnect) the call waits for its outcome: 'ready', or the attempt's 'error' (a refused
   * or timed-out connect), which fails it. A PING there would fail at once on a client with
   * `enableOfflineQueue: false` (BullMQ's advice for queue connections), so the first enqueues of
   * a healthy start-up would answer 503. Otherwise ('reconnecting', 'end'), a PING fails as the
   * client's own commands do (`maxRetriesPerRequest`), instead of waiting for Redis to come up.
   */
  const bull = async <T>(call: (q: typeof queue) => Promise<T>): Promise<T> => {
    const status = redis.status
    if (status === 'connecting' || status === 'connect') await connectAttempt(redis)
    else if (status !== 'ready') await redis.ping()
    return call(queue)
  }
  const jobState = (jobId: string): Promise<string> => bull((q) => q.getJobState(jobId))
  const subscriber = new Subscriber(redis)
  const keysOf = (jobId: string): JobKeys => jobKeys(prefix, name, jobId)
  const holds = new Holds(
    redis,
    subscriber,
    jobState,
    // A delayed job's due time: BullMQ's delayed set scores it `timestamp * 0x1000 + counter`.
    async (jobId) => {
      const score = await redis.zscore(queue.toKey('delayed'), jobId)
      return score === null ? undefined : Math.floor(Number(score) / 0x1000)
    },
    Math.max(1000, Math.min(pollMs * 5, 30_000)),
    holdTtlMs
  )
  const followDeps = {
    redis,
    subscriber,
    keys: keysOf,
    pollMs,
    jobState,
  }
  const followEvents = (jobId: string, followOptions?: FollowOptions): AsyncIterable<LlmJobEvent> =>
    iterateViaRedis('follow', followJob(followDeps, jobId, followOptions))

  const readOutcome = async (jobId: string): Promise<LlmJobEvent | undefined> => {
    const raw = await viaRedis('result', () => redis.get(keysOf(jobId).result))
    return raw === null ? undefined : (JSON.parse(raw) as LlmJobEvent)
  }

  /**
   * Resolves once the hold of `jobId` (when held here) is settled; rejects with the caller's
   * `signal` reason (its abort, its `timeout`) or `QueueClosedError` when the queue object closes.
   */
  const untilSettled = (jobId: string, signal: AbortSignal | undefined): Promise<void> => {
    const closed = subscriber.closed
    return new Promise<void>((resolve, reject) => {
      const stop = (): void => {
        signal?.removeEventListener('abort', onAbort)
        closed.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => {
        stop()
        reject(closed.aborted ? closed.reason : signal?.reason)
      }
      if (closed.aborted || signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      closed.addEventListener('abort', onAbort, { once: true })
      void holds.settled(jobId).then(() => {
        stop()
        // `close()` ends the watch of its holds too: the waiter is closed, not served.
        if (closed.aborted) reject(closed.reason)
        else resolve()
      })
    })
  }

  const settleOutcome = async (
    jobId: string,
    final: LlmJobEvent,
    signal: AbortSignal | undefined
  ): Promise<LlmJobResult> => {
    await untilSettled(jobId, signal)
    if (final.type === 'done') return final.result
    if (final.type === 'error') throw new JobFailedError(final.error)
    throw new JobNotFoundError()
  }

  /** True when the job has ended (its end is stored, or BullMQ recorded it, or dropped it). */
  const hasEnded = async (jobId: string): Promise<boolean> => {
    if (JOB_ID.test(jobId) && (await redis.exists(keysOf(jobId).result)) === 1) return true
    const state = await jobState(jobId)
    return state === 'completed' || state === 'failed' || state === 'unknown'
  }

  /**
   * The pending job of a dedupe id, if any. The worker stores a job's end before BullMQ records it
   * and drops the id: an id still naming an ended job is removed, not joined (a resubmission after
   * a failure runs again; one after a completion is a new job).
   */
  const pendingJobOf = async (dedupeId: string): Promise<string | undefined> => {
    for (let round = 0; round < DEDUPE_REREADS; round++) {
      const pending = await bull((q) => q.getDeduplicationJobId(dedupeId))
      if (!pending) return undefined
      if (!(await hasEnded(pending))) return pending
      // Removed only while it still names the ended job: another queue object (another instance)
      // that saw the same ended job may have pointed it at its new job meanwhile, which is then
      // joined (re-read), not replaced by a second identical job.
      await redis.eval(DELETE_IF_NAMES, 1, `${queue.keys.de}:${dedupeId}`, pending)
    }
    return undefined
  }

  /**
   * Sets the dedupe id's enqueuing marker for this enqueue (`{ marker }`) or, while another
   * enqueue's is set, waits for its job (`{ joined }`); `{}` when markers kept it waiting past twice
   * their TTL (it goes on without one).
   */
  const claimEnqueuing = async (
    dedupeId: string,
    token: string
  ): Promise<{ marker?: string; joined?: string }> => {
    const marker = enqueuingKey(prefix, name, dedupeId)
    // Each marker ends by its TTL, but another enqueue may set a new one after a failed one.
    const deadline = Date.now() + 2 * ENQUEUING_TTL_MS
    for (;;) {
      const set = await viaRedis('enqueue', () =>
        redis.set(marker, token, 'PX', ENQUEUING_TTL_MS, 'NX')
      )
      if (set === 'OK') return { marker }
      for (;;) {
        if (Date.now() >= deadline) return {}
        await sleep(ENQUEUING_POLL_MS)
        subscriber.closed.throwIfAborted()
        // The marker read before the job: the job is added before its marker is deleted, so a
        // marker seen gone with no job means that enqueue failed, and this one holds the budget.
        const enqueuing = await viaRedis('enqueue', () => redis.exists(marker))
        const joined = await viaRedis('enqueue', () => pendingJobOf(dedupeId))
        if (joined) return { joined }
        if (enqueuing === 0) break
      }
    }
  }

  /** The enqueues of this queue object in flight, by dedupe id. */
  const inflight = new Map<string, Promise<EnqueueResult>>()

  const add = async (
    input: LlmJobInput,
    subject: string | undefined,
    params: Record<string, unknown>,
    key: string,
    dedupeId: string
  ): Promise<EnqueueResult> => {
    // An identical job still pending: join it without holding the budget a second time.
    const pending = await viaRedis('enqueue', () => pendingJobOf(dedupeId))
    if (pending) return { jobId: pending, deduplicated: true }
    if (!budget || subject === undefined) return holdAndAdd(input, subject, params, key, dedupeId)
    // An identical enqueue of another instance may be between its hold and its add (several round
    // trips): holding the budget again would need room for two worst cases (402 when there is room
    // for one) where joining its job holds nothing. The marker says one is under way.
    const token = randomUUID()
    const claim = await claimEnqueuing(dedupeId, token)
    if (claim.joined) return { jobId: claim.joined, deduplicated: true }
    try {
      return await holdAndAdd(input, subject, params, key, dedupeId)
    } finally {
      // Deleted only while it is this enqueue's (it may have expired and been set by another).
      if (claim.marker) await redis.eval(DELETE_IF_NAMES, 1, claim.marker, token).catch(() => 0)
    }
  }

  /** Holds the budget (when there is one) and adds the job, or joins the identical job added meanwhile. */
  const holdAndAdd = async (
    input: LlmJobInput,
    subject: string | undefined,
    params: Record<string, unknown>,
    key: string,
    dedupeId: string
  ): Promise<EnqueueResult> => {
    const jobId = randomUUID()
    const keys = keysOf(jobId)
    let reservation: Reservation | undefined
    if (budget && subject !== undefined) {
      try {
        reservation = await budget.reserve(
          subject,
          // The estimate of the wrapped clients (`@aikit/llm`): the worker's client holds no
          // budget, this hold is the job's only one, and it must be the one a direct call makes.
          {
            ...estimateRequest(usageApiOf(input.api), params, defaultMaxOutputTokens),
            ttl: holdTtlMs,
          }
        )
      } catch (error) {
        // An identical enqueue (another instance's) may have added the job meanwhile: joining it
        // holds nothing, so it needs no room in the budget.
        if (isAikitError(error) && error.code === 'BUDGET_EXCEEDED') {
          const joined = await pendingJobOf(dedupeId).catch(() => undefined)
          if (joined) return { jobId: joined, deduplicated: true }
        }
        throw error
      }
    }
    let metaWritten = false
    // The add was sent: an error then (a timeout, a connection lost) does not say it did not run.
    let addSent = false
    try {
      if (reservation) await viaRedis('enqueue', () => holds.watch(jobId, keys, reservation))
      const data: LlmJobData = {
        v: 1,
        provider: input.provider,
        api: input.api,
        // Held at `defaultMaxOutputTokens` when it sets no limit: sent with that limit.
        params: reservation
          ? withHeldLimit(usageApiOf(input.api), params, defaultMaxOutputTokens)
          : params,
        ...(subject === undefined ? {} : { subject }),
        ...(input.cache === undefined ? {} : { cache: input.cache }),
        resultTtlMs,
        key,
        ...(reservation ? { hold: reservation.toJSON(), holdTtlMs } : {}),
      }
      // Who may follow it (sseHandler); it outlives the job by the result's TTL. Written
      // before the add: once the job is in the queue nothing may fail and release its hold
      // (a worker would then run it uncharged).
      await viaRedis('enqueue', () =>
        redis.set(
          keys.meta,
          JSON.stringify({ subject: subject ?? null }),
          'PX',
          Math.max(holdTtlMs, META_MIN_TTL_MS) + resultTtlMs
        )
      )
      metaWritten = true
      const job = await viaRedis('enqueue', () =>
        bull((q) => {
          addSent = true
          return q.add('llm', data, {
            jobId,
            deduplication: { id: dedupeId },
            attempts,
            backoff: { type: BACKOFF_TYPE, delay: backoffDelay },
            removeOnComplete: true,
            removeOnFail: true,
          })
        })
      )
      if (job.id === jobId) {
        holds.added(jobId)
        return { jobId, deduplicated: false }
      }
      // Lost a race with an identical enqueue: undo this one (its meta key names no job).
      holds.forget(jobId)
      await reservation?.release()
      await redis.del(keys.meta).catch(() => 0)
      return { jobId: job.id as string, deduplicated: true }
    } catch (error) {
      if (addSent) {
        // The add may have run (its reply lost): the job would then run with its hold released
        // (its settle a duplicate of the release: charged nothing). Asked on the same connection,
        // after the add: BullMQ knows the job if it was added.
        const state = await jobState(jobId).catch(() => undefined)
        if (state !== undefined && state !== 'unknown') {
          holds.added(jobId)
          return { jobId, deduplicated: false }
        }
        if (state === undefined) {
          // Cannot be known: the hold and the meta key are kept. Watched as added, the hold is
          // renewed while the job turns out to exist, settled at its end, and released once the
          // job is known not to exist; if this queue object goes away it lapses by its TTL (a
          // settle still charges a lapsed hold).
          if (reservation) holds.added(jobId)
          throw error
        }
      }
      holds.forget(jobId)
      await reservation?.release().catch(() => false)
      // Its hold is released: the meta key of a job that was not added names nothing.
      if (metaWritten) await redis.del(keys.meta).catch(() => 0)
      throw error
    }
  }

  const llmQueue: LlmQueue = {
    name,
    queue,

    async enqueue(input) {
      subscriber.closed.throwIfAborted()
      const checked = checkInput(input)
      const ctxSubject = currentContext()?.state.subject
      const subject =
        input.subject ??
        (typeof ctxSubject === 'string' && ctxSubject !== '' ? ctxSubject : undefined)
      if (budget && subject === undefined) {
        throw new InvalidRequestError('a subject is required: the queue holds a budget per subject')
      }
      const { stream: _stream, stream_options: _streamOptions, ...params } = checked
      const key = await cacheKey(params, { scope: subject ?? '', api: usageApiOf(input.api) })
      if (typeof key !== 'string' || key.length === 0) {
        throw new InvalidOptionsError('cacheKey', 'must return a non-empty string')
      }
      const dedupeId = dedupeIdOf(subject, input.cache ?? 'default', key)
      // Identical enqueues of this queue object run one after the other (a double click): the
      // later ones find the first's job instead of each holding the budget for it.
      const previous = inflight.get(dedupeId)
      const mine = (async () => {
        await previous?.catch(() => undefined)
        return add(input, subject, params, key, dedupeId)
      })()
      inflight.set(dedupeId, mine)
      try {
        return await mine
      } finally {
        if (inflight.get(dedupeId) === mine) inflight.delete(dedupeId)
      }
    },

    async result(jobId, resultOptions = {}) {
      subscriber.closed.throwIfAborted()
      // Checked before anything is read: an answer already stored must not hide a bad option.
      checkOptionsObject(resultOptions, RESULT_OPTION_KEYS)
      const ownSignal =
        resultOptions.signal === undefined ? undefined : checkSignal(resultOptions.signal)
      const timeoutMs =
        resultOptions.timeout === undefined
          ? undefined
          : parseDuration(resultOptions.timeout, 'timeout')
      if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) throw new JobNotFoundError()
      // The whole wait (the outcome, then the settle of a hold held here) honours both.
      const signals: AbortSignal[] = []
      if (ownSignal !== undefined) signals.push(ownSignal)
      if (timeoutMs !== undefined) signals.push(AbortSignal.timeout(timeoutMs))
      // Unlinked from the caller's signal (which may outlive many waits) once the wait is over.
      const { signal, release } = anySignal(signals)
      try {
        const stored = await readOutcome(jobId)
        if (stored) return await settleOutcome(jobId, stored, signal)
        for await (const event of followEvents(jobId, signal ? { signal } : {})) {
          if (event.type === 'done' || event.type === 'error') {
            return await settleOutcome(jobId, event, signal)
          }
        }
        signal?.throwIfAborted()
        throw new JobNotFoundError()
      } finally {
        release()
      }
    },

    follow(jobId, followOptions) {
      // Checked at the call, not at the first read of the iteration.
      if (followOptions !== undefined) {
        checkOptionsObject(followOptions, FOLLOW_OPTION_KEYS)
        if (followOptions.signal !== undefined) checkSignal(followOptions.signal)
        if (followOptions.after !== undefined && typeof followOptions.after !== 'string') {
          throw new InvalidOptionsError('after', 'must be an event id string (`<run>.<seq>`)')
        }
      }
      return followEvents(jobId, followOptions)
    },

    async subjectOf(jobId) {
      subscriber.closed.throwIfAborted()
      if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) return undefined
      const raw = await viaRedis('subjectOf', () => redis.get(keysOf(jobId).meta))
      subscriber.closed.throwIfAborted() // closed while reading: sseHandler must not start a stream
      if (raw === null) return undefined
      const subject = (JSON.parse(raw) as { subject?: unknown }).subject
      return typeof subject === 'string' ? subject : null
    },

    async close() {
      // Closed first: the waiters the end of the holds' watch releases reject, not resolve.
      const closing = subscriber.close()
      holds.close()
      await closing
      await queue.close()
    },
  }
  endedByOf.set(llmQueue, (jobId, after) =>
    viaRedis('follow', () => endedBy(followDeps, jobId, after))
  )
  return llmQueue
}

/** The outcome of the client's connection attempt under way: 'ready', or its first 'error' / 'end'. */
function connectAttempt(redis: LlmQueueOptions['connection']): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown): void => {
      redis.off('ready', onReady)
      redis.off('error', onError)
      redis.off('end', onEnd)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onReady = (): void => settle()
    const onError = (error: unknown): void => settle(error ?? new Error('Connection failed'))
    const onEnd = (): void => settle(new Error('Connection is closed.'))
    redis.once('ready', onReady)
    redis.once('error', onError)
    redis.once('end', onEnd)
  })
}
