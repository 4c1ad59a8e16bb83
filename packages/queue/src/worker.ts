/**
 * @module worker
 * `createLlmWorker(options)`: a BullMQ worker that runs LLM jobs through the wrapped clients, so
 * cache, cost, metrics and logs apply to every call. Each run streams its text deltas to the job's
 * log and channel; the final result (or error) is stored with the job's TTL. A worker that dies
 * mid-job (crash, SIGKILL, lost lock) leaves the job to BullMQ's stalled-job check: another worker
 * runs it again from the start (run 2) after `lockDuration`. One closed with `close(true)` (a
 * deploy) hands its running jobs back to waiting: the next worker runs them at once (hand-over.ts).
 * A job whose end is already stored never runs again (see the processor).
 *
 * With a `budget`, the worker owns the job's budget hold (the handle in the job's data): it renews
 * it while the job runs, settles it with the run's usage when the job completes (releases it on a
 * cache hit or when the job fails for good), so the cost is recorded even if the instance that
 * enqueued the job is gone. Settles are idempotent by reservation id: a rerun after a crash, or the
 * enqueuer's backup settle, charges nothing more.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { Budget, Reservation } from '@aikit/cost'
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq'
import { anySignal } from './any-signal.js'
import { abandonableDuplicate, quitWithin, settledWithin } from './bounded-close.js'
import { apisOf, type LlmClients, runCall } from './call.js'
import { type Duration, parseDuration } from './duration.js'
import { handOver } from './hand-over.js'
import { apiWorkersKey, jobKeys } from './keys.js'
import { checkConnection, checkInt, checkName, DEFAULT_NAME, DEFAULT_PREFIX } from './options.js'
import type { RedisConnection } from './redis-types.js'
import { describeFailure, isRetryable, retryDelay, statusOf } from './retry.js'
import { type JobEnd, RunLog, storedEnd } from './run-log.js'
import { asError, NonErrorThrownError } from './thrown.js'
import type { LlmJobData, LlmJobResult } from './types.js'

/**
 * What BullMQ records as a completed job's return value: the id only. BullMQ copies the return
 * value into its events stream, which has no TTL (trimmed only by length): the answer itself lives
 * in the job's result key, which expires with `resultTtl`.
 */
type BullReturn = { jobId: string }

/** The backoff type the queue puts on its jobs; the worker computes its delays. */
export const BACKOFF_TYPE = 'aikit-llm'

/** Options of `createLlmWorker`. */
export interface LlmWorkerOptions {
  /** ioredis connection (the worker duplicates it for BullMQ's blocking reads). Required. */
  connection: RedisConnection
  /** The wrapped clients (`wrapAnthropic(...)`, `wrapOpenAI(...)`) WITHOUT a `budget`: the queue holds the budget. At least one. */
  clients: LlmClients
  /** Queue name; must match the queue's. Default `'llm'`. */
  name?: string
  /** Key prefix; must match the queue's. Default `'aikit'`. */
  prefix?: string
  /** Jobs run at the same time by this worker. Default `4`. */
  concurrency?: number
  /** How long a job's lock lasts without renewal: a dead worker's job is taken over after this. Default `'30s'`. */
  lockDuration?: Duration
  /** How often the worker looks for stalled jobs (of dead workers). Default `'30s'`. */
  stalledInterval?: Duration
  /** How many times a job may stall (its worker died) before it fails. Default `1`. */
  maxStalledCount?: number
  /** Upper bound of a retry delay, `retry-after` included. Default `'5m'`. */
  maxRetryDelay?: Duration
  /**
   * The `@aikit/cost` budget the queue holds (same store, prefix and limits as the queue's): the
   * worker settles each job's hold when it completes, releases it when it fails for good, and
   * renews it while the job runs. Without it only the enqueuing queue object settles, and a job
   * whose enqueuer died is not charged. Default none.
   */
  budget?: Budget
  /** Called with errors the worker cannot attach to a job (connection trouble, a budget store failure). Default: ignored. */
  onError?: (error: Error) => void
}

const WORKER_OPTION_KEYS = [
  'connection',
  'clients',
  'name',
  'prefix',
  'concurrency',
  'lockDuration',
  'stalledInterval',
  'maxStalledCount',
  'maxRetryDelay',
  'budget',
  'onError',
] as const satisfies readonly (keyof LlmWorkerOptions)[]

const CLIENT_KEYS = ['anthropic', 'openai'] as const satisfies readonly (keyof LlmClients)[]

// The hold lifetime of a job enqueued without `holdTtlMs` in its data (the queue's default).
const DEFAULT_HOLD_TTL_MS = 300_000

// How long a closing worker waits for Redis (a hand-over's move, QUIT): Redis answers these in
// milliseconds, and a deploy's grace period (often 30 s) must not run out on an outage.
const REDIS_WAIT_MS = 1000
// How long `close` waits for BullMQ's close once no run is left (with `force`: the aborted runs'
// hand-overs, the record of the runs that end meanwhile; else the record of the last runs, its
// fetch of the next job, its blocking connection) before it gives up on Redis.
const CLOSE_WAIT_MS = 5000

// A worker that runs an API keeps its key set for this long, renewed every `API_WORKERS_RENEW_MS`.
const API_WORKERS_TTL_MS = 15_000
const API_WORKERS_RENEW_MS = 5000
// A job no worker has been heard of for, on every look for this long (two renewals missed: a
// live worker's key is back within one renewal of a Redis outage), fails `NO_CLIENT`.
const NO_CLIENT_AFTER_MS = 10_000
// How long a handed-back job waits before it is fetched again (it uses no attempt). Shorter than
// a renewal: while such jobs bounce, the looks are continuous.
const NO_CLIENT_DELAY_MS = 1000

/** A running worker. */
export interface LlmWorker {
  /** The BullMQ worker (events, pause/resume). */
  readonly worker: Worker
  /**
   * Stops taking jobs, waits for the running ones, closes connections. With `force` the running
   * calls are aborted and their jobs handed back to waiting: the next worker runs them again from
   * the start (not counted as a stall), nothing is reported failed. A job that ended meanwhile is
   * recorded as ended. With Redis down, a close does not wait for it (about 5 s at most once no
   * run is left): the jobs are left to the stalled-job check. Default `force: false`.
   */
  close(force?: boolean): Promise<void>
}

/**
 * Whether `client` was wrapped by `@aikit/llm` with a `budget` (what the wrapper records under a
 * well-known symbol; a client it did not wrap reads as not budgeted).
 */
function budgetedClient(client: unknown): boolean {
  const map = (globalThis as Record<symbol, WeakMap<object, { budgeted?: boolean }> | undefined>)[
    Symbol.for('@aikit/llm.wrapped-clients')
  ]
  return typeof client === 'object' && client !== null && map?.get(client)?.budgeted === true
}

/**
 * Creates and starts a worker. Options are validated here (`InvalidOptionsError` naming the field).
 *
 * @example
 * const worker = createLlmWorker({ connection: redis, clients: { anthropic: wrapAnthropic(new Anthropic(), { cache, metrics, logger }) } })
 */
export function createLlmWorker(options: LlmWorkerOptions): LlmWorker {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, WORKER_OPTION_KEYS)
  checkConnection(options.connection)
  const clients = options.clients
  if (clients === null || typeof clients !== 'object' || (!clients.anthropic && !clients.openai)) {
    throw new InvalidOptionsError(
      'clients',
      'must name at least one client: { anthropic?, openai? }'
    )
  }
  rejectUnknownOptions(clients, CLIENT_KEYS, 'clients.')
  if (clients.anthropic && typeof clients.anthropic.messages?.create !== 'function') {
    throw new InvalidOptionsError('clients.anthropic', 'must be an Anthropic client')
  }
  if (clients.openai && typeof clients.openai.chat?.completions?.create !== 'function') {
    throw new InvalidOptionsError('clients.openai', 'must be an OpenAI client')
  }
  for (const name of ['anthropic', 'openai'] as const) {
    if (clients[name] !== undefined && budgetedClient(clients[name])) {
      throw new InvalidOptionsError(
        `clients.${name}`,
        'must be wrapped without a budget: the queue holds the budget (a budgeted client charges every job twice)'
      )
    }
  }
  const name = checkName(options.name, 'name', DEFAULT_NAME)
  const prefix = checkName(options.prefix, 'prefix', DEFAULT_PREFIX)
  const concurrency = checkInt(options.concurrency, 'concurrency', 4, 1, 10_000)
  const lockDuration = parseDuration(options.lockDuration ?? 30_000, 'lockDuration')
  const stalledInterval = parseDuration(options.stalledInterval ?? 30_000, 'stalledInterval')
  const maxStalledCount = checkInt(options.maxStalledCount, 'maxStalledCount', 1, 0, 100)
  const maxRetryDelay = parseDuration(options.maxRetryDelay ?? 300_000, 'maxRetryDelay')
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new InvalidOptionsError('onError', 'must be a function')
  }
  const onError = options.onError ?? (() => {})
  const budget = options.budget
  if (budget !== undefined && (budget === null || typeof budget.restore !== 'function')) {
    throw new InvalidOptionsError('budget', 'must be a Budget (createBudget())')
  }
  const report = (error: unknown): void =>
    onError(error instanceof Error ? error : new Error(String(error)))
  const redis = options.connection

  // Workers of one queue may each have some of the clients (an instance with only an Anthropic
  // key). Each keeps its APIs' keys set, so one that fetches a job it cannot run hands it back
  // while another can (see `noClient`), and fails it only when none has been heard of for a while.
  const apis = apisOf(clients)
  // Started once the BullMQ worker is built (a throw there must leave nothing running).
  const announce = (): void => {
    for (const api of apis) {
      redis.set(apiWorkersKey(prefix, name, api), '1', 'PX', API_WORKERS_TTL_MS).catch(report)
    }
  }

  /** The job's hold, when it has one and this worker has the budget. */
  const holdOf = (data: LlmJobData): Reservation | undefined => {
    if (!budget || data.hold === undefined) return undefined
    try {
      return budget.restore(data.hold)
    } catch (error) {
      report(error) // A malformed handle: the enqueuer's backup settle still runs.
      return undefined
    }
  }
  /** Renews the hold every third of its TTL until stopped. */
  const renewing = (hold: Reservation, ttlMs: number): (() => void) => {
    const timer = setInterval(
      () => void hold.extend(ttlMs).catch(report),
      Math.max(50, Math.floor(ttlMs / 3))
    )
    timer.unref?.()
    return () => clearInterval(timer)
  }
  /** Settles or releases; a store failure is reported, never fails the job (the call is done). */
  const finishHold = async (act: () => Promise<unknown>): Promise<void> => {
    try {
      await act()
    } catch (error) {
      report(error)
    }
  }
  /**
   * Ends the hold of a completed job: charged its usage, or released on a cache hit (it cost
   * nothing). A settle the store could not take is retried in the background (`retrySettle`, as
   * `@aikit/llm` does): the enqueuing instance, the only other party that settles, may be gone,
   * and the call would then never be charged. A retry of a settle that did run charges nothing.
   */
  const settleHold = async (hold: Reservation, result: LlmJobResult): Promise<void> => {
    if (result.cache === 'hit') return finishHold(() => hold.release())
    const options = { model: result.model }
    try {
      await hold.settle(result.usage, options)
    } catch (error) {
      report(error)
      if (typeof hold.retrySettle === 'function') {
        try {
          hold.retrySettle(result.usage, options)
        } catch (retryError) {
          report(retryError)
        }
      }
    }
  }
  const closing = new AbortController()
  // The delay a failed attempt announced to its followers is the one BullMQ waits.
  const delays = new WeakMap<Error, number>()

  /** A hold whose liveness could not be read is taken as settled: never risk a second charge. */
  const notLive = (error: unknown): false => {
    report(error)
    return false
  }
  /**
   * Ends again a job that already ended (its end is stored), without calling the provider: BullMQ
   * did not record that end (the job ended as its worker's connection closed, or the worker died
   * right after), so its stalled check handed the job over as if it had stalled. Its run settled
   * the hold before storing the end, so the hold is settled again only while it is still live (that
   * settle failed): a settle is a duplicate only while the budget's tombstone of the first one
   * lasts, and a job taken over later (no worker up for a while) would be charged twice. A release
   * frees nothing once the hold is gone, so it is simply repeated.
   */
  const endAgain = async (
    end: JobEnd,
    hold: Reservation | undefined,
    holdTtlMs: number
  ): Promise<BullReturn> => {
    if (end.type === 'done') {
      if (hold && (await hold.extend(holdTtlMs).catch(notLive))) await settleHold(hold, end.result)
      return { jobId: end.result.jobId }
    }
    if (hold) await finishHold(() => hold.release())
    throw new UnrecoverableError(end.error.message)
  }

  /**
   * Hands a job back to waiting on a force-close. `close` waits for the move at most
   * `REDIS_WAIT_MS` (a move that lands later still moves the job), and not at all when the
   * connection is known to be down: the stalled-job check hands such a job over anyway.
   */
  const handBack = (job: Job, token: string | undefined) =>
    handOver(
      job,
      blocking.status === 'ready' ? token : undefined,
      Math.min(lockDuration, REDIS_WAIT_MS),
      report
    )

  /**
   * Per API this worker cannot run: since when every look (each less than a renewal after the
   * last) found no worker for it.
   */
  const unserved = new Map<string, { since: number; last: number }>()
  /**
   * A job of an API this worker has no client for: moved back to delayed without using an attempt
   * (BullMQ's `moveToDelayed` skips it) while another worker on the queue runs that API, or may
   * (not heard of for less than `NO_CLIENT_AFTER_MS`: one starting alongside, or back from a Redis
   * outage); else failed for good with `NO_CLIENT` (the provider was never called). Nothing is
   * published for a hand-back: the job has not started. A hand-back that fails (Redis down) fails
   * the attempt, as a Redis error would.
   */
  const noClient = async (
    job: Job<LlmJobData, BullReturn>,
    token: string | undefined,
    keys: ReturnType<typeof jobKeys>,
    hold: Reservation | undefined,
    holdTtlMs: number
  ): Promise<never> => {
    const data = job.data
    const served = (await redis.exists(apiWorkersKey(prefix, name, data.api))) > 0
    const now = Date.now()
    if (served) unserved.delete(data.api)
    else {
      const seen = unserved.get(data.api)
      if (seen !== undefined && now - seen.last <= API_WORKERS_RENEW_MS) seen.last = now
      else unserved.set(data.api, { since: now, last: now })
    }
    if (now - (unserved.get(data.api)?.since ?? now) < NO_CLIENT_AFTER_MS) {
      // Held through the wait and into the next worker's pick-up, as through a retry's backoff:
      // bouncing between workers without the client, the job is never running long enough for a
      // renewal otherwise (and its enqueuer may be gone).
      if (hold) await hold.extend(NO_CLIENT_DELAY_MS + holdTtlMs).catch(report)
      await job.moveToDelayed(now + NO_CLIENT_DELAY_MS, token)
      throw new DelayedError(`This worker has no client for ${data.api} jobs: handed back`)
    }
    const failure = {
      code: 'NO_CLIENT',
      message: `No worker on this queue has a client for ${data.api} jobs (${data.provider})`,
      attempts: job.attemptsMade,
    }
    if (hold) await finishHold(() => hold.release())
    // A run of its own, as any job that fails: followers see `start`, then the `error`.
    const log = new RunLog(redis, keys, data.resultTtlMs)
    await log
      .start()
      .then(() => log.finish({ type: 'error', error: failure }))
      .catch(() => undefined)
    throw new UnrecoverableError(failure.message)
  }

  const processor = async (
    job: Job<LlmJobData, BullReturn>,
    token?: string,
    jobSignal?: AbortSignal
  ): Promise<BullReturn> => {
    const data = job.data
    const id = job.id as string
    if (data?.v !== 1)
      throw new UnrecoverableError('Not an @aikit/queue job (unknown data version)')
    const keys = jobKeys(prefix, name, id)
    const end = await storedEnd(redis, keys)
    if (end) return endAgain(end, holdOf(data), data.holdTtlMs ?? DEFAULT_HOLD_TTL_MS)
    // Taken while the worker was being force-closed: no run starts (followers see no new `start`).
    if (closing.signal.aborted) throw await handBack(job, token)
    if (!apis.includes(data.api)) {
      return noClient(job, token, keys, holdOf(data), data.holdTtlMs ?? DEFAULT_HOLD_TTL_MS)
    }
    const log = new RunLog(redis, keys, data.resultTtlMs)
    await log.start()
    const attempt = job.attemptsMade + 1
    const hold = holdOf(data)
    const holdTtlMs = data.holdTtlMs ?? DEFAULT_HOLD_TTL_MS
    // A fresh lifetime from now (a hold that already lapsed stays lapsed: extend says false).
    if (hold) await hold.extend(holdTtlMs).catch(report)
    const stopRenewing = hold ? renewing(hold, holdTtlMs) : () => {}
    // The job's own signal and the worker's: unlinked from both when the run ends, whatever the
    // outcome (the worker's lives as long as the worker, see `anySignal`).
    const linked = anySignal(jobSignal ? [jobSignal, closing.signal] : [closing.signal])
    const signal = linked.signal as AbortSignal
    try {
      const outcome = await runCall(clients, data, signal, (text) =>
        log.emit({ type: 'token', text })
      )
      const result: LlmJobResult = {
        jobId: id,
        ...outcome,
        attempts: attempt,
        finishedAt: Date.now(),
      }
      // Charged before the result is published: whoever reads the result sees the spend recorded.
      if (hold) {
        stopRenewing()
        await settleHold(hold, result)
      }
      await log.finish({ type: 'done', result })
      return { jobId: id }
    } catch (thrown) {
      stopRenewing()
      if (closing.signal.aborted) throw await handBack(job, token)
      // What BullMQ gets is always an Error (it reads `err.message`; the delay is keyed by it);
      // the policy reads the value the call threw.
      const error = asError(thrown)
      const retryable = isRetryable(thrown)
      const maxAttempts = job.opts.attempts ?? 1
      if (!retryable || attempt >= maxAttempts) {
        const failure = describeFailure(thrown, attempt)
        if (hold) await finishHold(() => hold.release())
        await log.finish({ type: 'error', error: failure }).catch(() => undefined)
        if (!retryable) {
          // The provider's own message stays off the job's record (`describeFailure`): BullMQ's
          // `failed` event gets it as the cause, for the operators.
          const unrecoverable = new UnrecoverableError(failure.message)
          unrecoverable.cause = thrown
          throw unrecoverable
        }
        throw error
      }
      const base = typeof job.opts.backoff === 'object' ? (job.opts.backoff.delay ?? 1000) : 1000
      const delayMs = retryDelay(thrown, attempt, base, maxRetryDelay)
      // Held through the backoff and into the next attempt.
      if (hold) await hold.extend(delayMs + holdTtlMs).catch(report)
      const status = statusOf(thrown)
      log.emit({ type: 'retry', delayMs, ...(status === undefined ? {} : { status }) })
      await log.flush().catch(() => undefined)
      delays.set(error, delayMs)
      throw error
    } finally {
      stopRenewing()
      linked.release()
    }
  }

  /** The runs in progress (BullMQ's close waits for them, then for Redis). */
  const runs = new Set<Promise<unknown>>()
  const tracked: typeof processor = (job, token, jobSignal) => {
    const run = processor(job, token, jobSignal)
    runs.add(run)
    const done = (): void => {
      runs.delete(run)
    }
    run.then(done, done)
    return run
  }
  /** Resolves once no run is in progress. */
  const runsEnded = async (): Promise<void> => {
    while (runs.size > 0) await Promise.allSettled([...runs])
  }

  // `lazyConnect: false`: a duplicate of a `lazyConnect` client would inherit it, and BullMQ's
  // start-up, making one connect() attempt while Redis is not reachable, would then keep that
  // failure for good (the worker never takes a job). Connected here, ioredis retries until Redis is up.
  const bullConnection = abandonableDuplicate(redis, {
    maxRetriesPerRequest: null,
    lazyConnect: false,
  })
  const blocking = bullConnection.conn
  let worker: Worker<LlmJobData, BullReturn>
  try {
    worker = new Worker<LlmJobData, BullReturn>(name, tracked, {
      connection: blocking as never,
      prefix,
      concurrency,
      lockDuration,
      stalledInterval,
      maxStalledCount,
      settings: {
        backoffStrategy: (attemptsMade, _type, err, job) => {
          const known = err ? delays.get(err) : undefined
          if (known !== undefined) return known
          const backoff = job?.opts.backoff
          const base = typeof backoff === 'object' ? (backoff.delay ?? 1000) : 1000
          const thrown = err instanceof NonErrorThrownError ? err.cause : err
          return retryDelay(thrown, attemptsMade, base, maxRetryDelay)
        },
      },
    })
  } catch (error) {
    // Nothing of a worker that was never made is left running: its duplicated connection ends.
    bullConnection.abandon()
    throw error
  }
  worker.on('error', (error) => onError(error))
  announce()
  const announcing = setInterval(announce, API_WORKERS_RENEW_MS)
  announcing.unref?.()

  return {
    worker,
    async close(force = false) {
      clearInterval(announcing)
      if (force) closing.abort()
      // BullMQ's own close is never forced: it still waits for the runs (aborted ones hand their
      // job over at once), so a job that ends meanwhile is recorded. A forced BullMQ close drops
      // the end of a job that ends after it began, leaving the job to run again.
      const closed = worker.close()
      // But it waits for Redis too (its fetch, its blocking connection, a record): on an outage
      // the connections are ended once no run is left and BullMQ's close has had a while, which
      // fails those (a run goes on as long as it takes: its provider may be up). A job whose end
      // was not recorded is ended from its stored end by the next worker (see the processor); one
      // not handed over is left to the stalled-job check.
      for (;;) {
        // A forced close's runs were aborted: their hand-overs are what BullMQ's close waits for.
        if (!force) await runsEnded()
        if (await settledWithin(closed, CLOSE_WAIT_MS)) break
        // A job fetched as the close began may have started meanwhile: its run is waited for too.
        if (force || runs.size === 0) {
          bullConnection.abandon()
          break
        }
      }
      await closed
      // Not a plain QUIT: on an outage it would wait behind a hand-over's move until Redis is back.
      await quitWithin(bullConnection, REDIS_WAIT_MS)
    },
  }
}
