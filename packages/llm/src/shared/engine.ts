/**
 * @module engine
 * One intercepted `create`: subject → cache lookup (scoped key) → coalescing → budget reserve →
 * token reserve (optional rate limit) → input guard → the real SDK call → usage → cost and token
 * settle → metrics → log → output guard → cache store. Streams pass through event by event
 * (nothing is buffered before the caller sees it), settle from the final usage event, and are
 * cached only when complete. Provider errors are rethrown untouched (the SDK's own classes) after
 * the reservations are released.
 */
import { currentContext } from '@aikit/core'
import {
  estimateTokens,
  extractUsage,
  type Reservation,
  type StreamUsageResult,
  totalInputTokens,
  type Usage,
} from '@aikit/cost'
import { defaultCacheKey, keyFromJson, keyFromJsonSync, stableStringify } from './cache-key.js'
import { splitOptions } from './call-options.js'
import { type CallOutcome, LlmCallPromise } from './call-promise.js'
import { OutputBlockedError, PromptBlockedError, SubjectRequiredError } from './errors.js'
import { meteredSource } from './metered-source.js'
import type { ResolvedOptions } from './options.js'
import { replay, type SharedEnd, SharedStream } from './shared-stream.js'
import { SignalGroup } from './signal-group.js'
import type { ApiSpec, Params, RequestEstimate } from './spec.js'
import { jsonResponse, sseResponse } from './sse.js'
import { holdTokens, reserveTokens, type TokenHold } from './token-limit.js'
import type { CacheMode } from './types.js'

/** When a failed settle is tried again (ms after the previous failure): a Redis blip lasts about this. */
const SETTLE_RETRY_DELAYS_MS = [250, 1000, 4000] as const

/** A request whose answer does not depend on sampling: the only kind cached by default. */
const isDeterministic = (params: Params): boolean =>
  params.temperature === 0 || typeof params.seed === 'number'

/** What the cache holds for one answer. */
type CachedAnswer =
  | { readonly v: 1; readonly kind: 'response'; readonly data: unknown }
  | { readonly v: 1; readonly kind: 'stream'; readonly events: readonly unknown[] }

function asCachedAnswer(value: unknown): CachedAnswer | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Partial<CachedAnswer> & Record<string, unknown>
  if (v.v !== 1) return undefined
  if (v.kind === 'response' && 'data' in v) return v as CachedAnswer
  if (v.kind === 'stream' && Array.isArray(v.events)) return v as CachedAnswer
  return undefined
}

/** The SDK method being wrapped: returns the SDK's APIPromise (`withResponse()` is public API). */
type SdkCreate = (
  params: Params,
  options?: Record<string, unknown>
) => { withResponse(): Promise<{ data: unknown; response: Response } & Record<string, unknown>> }

/** A call in flight that identical calls join. */
interface Flight {
  readonly group: SignalGroup
  /** An outcome for one more caller (a new stream consumer for streams). */
  join(
    signal: AbortSignal | undefined,
    retry: () => Promise<CallOutcome<unknown>>
  ): Promise<CallOutcome<unknown>>
}

/** Everything one call carries through the steps. */
interface Call {
  readonly params: Params
  readonly rest: Record<string, unknown> | undefined
  readonly subject: string | undefined
  readonly mode: CacheMode
  /** Set once, when the key is known (the call object is not copied for it). */
  key: string | undefined
  readonly stream: boolean
  readonly model: string
  readonly requestId: unknown
  readonly started: number
  readonly signal: AbortSignal | undefined
}

const elapsed = (since: number): number => (performance.now() - since) / 1000

/**
 * The controller of one caller's stream: `abort()` stops that caller's reader. Overriding `abort`
 * (rather than listening on `signal`) leaves the signal unbuilt until someone reads it: Node
 * creates it lazily, and building one costs about as much as the rest of a stream's setup.
 */
class ConsumerController extends AbortController {
  readonly #onAbort: () => void
  constructor(onAbort: () => void) {
    super()
    this.#onAbort = onAbort
  }
  override abort(reason?: unknown): void {
    const first = !this.signal.aborted
    super.abort(reason)
    if (first) this.#onAbort()
  }
}

/** Builds the intercepted `create` of one API of one client. */
export function interceptCreate(
  spec: ApiSpec,
  opts: ResolvedOptions,
  original: SdkCreate,
  client: unknown
): (params: Params, options?: unknown) => LlmCallPromise<unknown> {
  const flights = new Map<string, Flight>()
  // Errors already counted in metrics and logs (a blocked output), so the catch-all does not repeat them.
  const reported = new WeakSet<object>()

  const log = (call: Call, fields: Record<string, unknown>): void => {
    if (!opts.logger) return
    try {
      opts.logger.info('llm call', {
        provider: spec.provider,
        method: spec.method,
        model: call.model,
        stream: call.stream,
        requestId: call.requestId,
        durationMs: Math.round((performance.now() - call.started) * 10) / 10,
        ...fields,
      })
    } catch {
      // A failing log sink must not fail the call.
    }
  }

  const countCache = (result: 'hit' | 'miss' | 'coalesced'): void => {
    try {
      opts.metrics?.recordCache?.({ result, cache: 'llm' })
    } catch {
      // Metrics never fail the call.
    }
  }

  const recordCall = (
    call: Call,
    usage: Usage | undefined,
    costMicros: number | undefined,
    error: unknown,
    ttfc: number | undefined
  ): void => {
    if (!opts.metrics) return
    const record: Parameters<NonNullable<ResolvedOptions['metrics']>['recordLlmCall']>[0] = {
      provider: spec.provider,
      model: call.model,
      operation: 'chat',
      durationSeconds: elapsed(call.started),
    }
    if (ttfc !== undefined) record.timeToFirstChunkSeconds = ttfc
    // Billable tokens come from the provider's usage only: a count estimated for a stream cut
    // short (no final usage event) is charged to the budget but never reported as token usage.
    if (usage && usage.estimated !== true) {
      record.usage = { inputTokens: totalInputTokens(usage), outputTokens: usage.outputTokens }
    }
    if (costMicros !== undefined) record.costUsd = costMicros / 1_000_000
    if (error !== undefined) record.error = error
    try {
      opts.metrics.recordLlmCall(record)
    } catch {
      // Metrics never fail the call.
    }
  }

  // Usage and cost feed only the budget, the metrics and the log: with none of them, a call skips
  // extracting and pricing them.
  const accounts = (reservation: Reservation | undefined): boolean =>
    reservation !== undefined || opts.metrics !== undefined || opts.logger !== undefined

  const retrySettle = (
    reservation: Reservation,
    actual: Usage | number,
    model: string,
    attempt: number
  ): void => {
    if (attempt >= SETTLE_RETRY_DELAYS_MS.length) return
    const timer = setTimeout(() => {
      reservation
        .settle(actual, { model })
        .catch(() => retrySettle(reservation, actual, model, attempt + 1))
    }, SETTLE_RETRY_DELAYS_MS[attempt])
    // Never keeps the process alive for a retry.
    ;(timer as { unref?: () => void }).unref?.()
  }

  const settle = (
    reservation: Reservation,
    usage: Usage | undefined,
    model: string
  ): Promise<number | undefined> => {
    // No usage reported: charge the held worst case, never $0.
    const actual = usage ?? reservation.amountMicros
    let settled: Promise<{ chargedMicros: number }>
    try {
      // `Promise.resolve` returns a native promise as is; it adopts any other thenable, as `await` did.
      settled = Promise.resolve(reservation.settle(actual, { model }))
    } catch (error) {
      settled = Promise.reject(error)
    }
    // One `then` on the budget's promise (no async layer of our own: this is every metered call).
    return settled.then(
      (outcome) => outcome.chargedMicros,
      () => {
        // The store is down: the caller already has the answer (failing now would make them ask,
        // and pay the provider, again). Settle again in the background: a settle happens once
        // per reservation (a retry of one that did run charges nothing), and if every retry
        // fails the hold keeps the worst case until its TTL lapses.
        retrySettle(reservation, actual, model, 0)
        return undefined
      }
    )
  }

  /**
   * Charges the call: the reservation's settle when there is one (a promise), else the price table
   * (metrics only, synchronous: no promise hop). Never throws: `undefined` when nothing could be
   * priced or the settle failed.
   */
  const charge = (
    call: Call,
    reservation: Reservation | undefined,
    usage: Usage | undefined,
    model: string
  ): Promise<number | undefined> | number | undefined => {
    if (reservation) return settle(reservation, usage, model)
    if (!usage) return undefined
    try {
      return opts.priceTable.priceOf(model || call.model, usage)
    } catch {
      return undefined
    }
  }

  const stores = (call: Call): boolean =>
    opts.cache !== undefined && call.key !== undefined && call.mode !== 'no-store'

  const storeAnswer = async (call: Call, answer: CachedAnswer): Promise<void> => {
    if (!opts.cache || call.key === undefined || call.mode === 'no-store') return
    try {
      await opts.cache.set(call.key, answer)
    } catch {
      // A cache that cannot store only costs a future miss.
    }
  }

  const checkOutput = async (text: string): Promise<void> => {
    if (!opts.guard) return
    const verdict = await opts.guard.checkOutput(text)
    if (!verdict.allowed) throw new OutputBlockedError([...verdict.blockedBy])
  }

  const hitOutcome = (answer: CachedAnswer): CallOutcome<unknown> => {
    // Built only when asked for (`withResponse()` / `asResponse()`): a hit should cost a lookup.
    let response: Response | undefined
    const synthetic = (): Response => {
      response ??= new Response(null, { status: 200, headers: { 'x-aikit-cache': 'hit' } })
      return response
    }
    const extras = { request_id: null }
    if (answer.kind === 'response') {
      return {
        data: answer.data,
        get response() {
          return synthetic()
        },
        extras,
        toResponse: () => jsonResponse(answer.data, synthetic()),
      }
    }
    const data = new spec.StreamClass(replay(answer.events), new AbortController())
    return {
      data,
      get response() {
        return synthetic()
      },
      extras,
      toResponse: () => sseResponse(data, spec.encodeEvent, spec.sseTail, synthetic()),
    }
  }

  /** The real call for a non-streamed request. */
  const complete = async (
    call: Call,
    reservation: Reservation | undefined,
    tokens: TokenHold | undefined,
    data: unknown,
    response: Response,
    extras: Record<string, unknown>
  ): Promise<CallOutcome<unknown>> => {
    // Each step is skipped (no promise hop) when nothing it serves is configured.
    const extracted = accounts(reservation) || tokens ? extractUsage(data) : undefined
    const model = extracted?.model || call.model
    // Started before the budget settle, awaited after it: both store round trips overlap.
    const tokensSettled = tokens?.settle(extracted?.usage)
    // Priced only for what uses a cost (the budget, the metrics, the log): usage extracted for the
    // token limit alone is not priced.
    const charged = accounts(reservation)
      ? charge(call, reservation, extracted?.usage, model)
      : undefined
    const costMicros = typeof charged === 'object' ? await charged : charged
    // Settled before the caller has the answer: its next call sees the refund.
    if (tokensSettled) await tokensSettled
    let blocked: unknown
    if (opts.guard) {
      try {
        await checkOutput(spec.outputText(data))
      } catch (error) {
        blocked = error
      }
    }
    if (opts.metrics) recordCall(call, extracted?.usage, costMicros, blocked, undefined)
    if (opts.logger) {
      log(call, {
        outcome: blocked === undefined ? 'ok' : 'blocked',
        cache: call.key !== undefined && call.mode === 'default' ? 'miss' : 'bypass',
        inputTokens: extracted?.usage.inputTokens,
        outputTokens: extracted?.usage.outputTokens,
        costMicros,
      })
    }
    if (blocked !== undefined) {
      reported.add(blocked as object)
      throw blocked
    }
    if (stores(call)) {
      // Awaited here, not through `storeAnswer` (one promise fewer on every cached miss).
      try {
        await opts.cache?.set(call.key as string, { v: 1, kind: 'response', data })
      } catch {
        // A cache that cannot store only costs a future miss.
      }
    }
    return { data, response, extras, toResponse: () => jsonResponse(data, response) }
  }

  /** Starts metering a streamed answer; returns the shared stream the callers read. */
  const startStream = (
    call: Call,
    reservation: Reservation | undefined,
    tokens: TokenHold | undefined,
    sdkStream: AsyncIterable<unknown> & { controller: AbortController },
    hideUsageChunk: boolean,
    inputTokens: number,
    onEnd: () => void
  ): SharedStream<unknown> => {
    let usage: StreamUsageResult | undefined
    let end: SharedEnd | undefined
    let recorded: readonly unknown[] = []
    let ttfc: number | undefined
    let finalized = false
    // Runs once both are known: the usage (meterStream's report) and how the stream ended.
    const finalize = async (): Promise<void> => {
      if (!usage || !end || finalized) return
      finalized = true
      onEnd()
      const whole =
        end.kind === 'done' && !sdkStream.controller.signal.aborted && spec.streamComplete(recorded)
      // The final usage event's tokens; what was produced when the stream was cut short.
      const tokensSettled = tokens?.settle(usage.usage)
      const charged = accounts(reservation)
        ? charge(call, reservation, usage.usage, usage.model || call.model)
        : undefined
      const costMicros = typeof charged === 'object' ? await charged : charged
      if (tokensSettled) await tokensSettled
      const error = end.kind === 'error' ? end.error : undefined
      if (opts.metrics) recordCall(call, usage.usage, costMicros, error, ttfc)
      if (opts.logger) {
        log(call, {
          outcome: whole ? 'ok' : end.kind === 'error' ? 'error' : 'aborted',
          cache: call.key !== undefined && call.mode === 'default' ? 'miss' : 'bypass',
          inputTokens: usage.usage.inputTokens,
          outputTokens: usage.usage.outputTokens,
          estimated: usage.usage.estimated === true,
          costMicros,
        })
      }
      if (!whole) return
      if (opts.guard) {
        try {
          await checkOutput(spec.streamText(recorded))
        } catch {
          return // Already streamed to the caller; at least never replay it from the cache.
        }
      }
      if (stores(call)) await storeAnswer(call, { v: 1, kind: 'stream', events: recorded })
    }
    const metered = meteredSource(sdkStream, {
      api: spec.api,
      model: call.model,
      inputTokens,
      hideUsageChunk,
      onDone: (result) => {
        usage = result
        void finalize()
      },
    })
    // The time to the first chunk is a metric: only with metrics is the first `next` timed (one
    // `then`, not an extra async layer on every event).
    let timed: AsyncIterator<unknown> = metered
    if (opts.metrics) {
      timed = {
        next: () => {
          if (ttfc !== undefined) return metered.next()
          return metered.next().then((r) => {
            ttfc ??= elapsed(call.started)
            return r
          })
        },
        return: () => metered.return(),
      }
    }
    return new SharedStream(timed, (how, events) => {
      end = how
      recorded = events
      // Every reader left: stop the provider stream now rather than at its next event.
      if (how.kind === 'cancelled') sdkStream.controller.abort()
      void finalize()
    })
  }

  /** A `Stream` (the SDK's own class) reading `shared` for one caller, registered right away. */
  const consumerStream = (
    shared: SharedStream<unknown>,
    signal: AbortSignal | undefined
  ): AsyncIterable<unknown> => {
    const iterator = shared.consumer()
    const stop = (): void => {
      void iterator.return?.()
    }
    const controller = new ConsumerController(stop)
    // This caller's signal (its own, or its request's) stops its reader; the provider stream stops
    // when every reader has stopped. (It joined the call's SignalGroup when it started.)
    if (signal?.aborted) stop()
    else signal?.addEventListener('abort', stop, { once: true })
    let used = false
    return new spec.StreamClass(
      () => {
        if (used)
          throw new Error(
            'Cannot iterate over a consumed stream, use `.tee()` to split the stream.'
          )
        used = true
        return iterator
      },
      controller,
      client as never
    )
  }

  /** Reserve, guard, call: the leader of a flight (or a call that does not coalesce). */
  const lead = async (
    call: Call,
    group: SignalGroup,
    publish: (
      shared: SharedStream<unknown>,
      response: Response,
      extras: Record<string, unknown>
    ) => void,
    ended: () => void
  ): Promise<CallOutcome<unknown>> => {
    if (opts.cache && call.key !== undefined && call.mode === 'default') {
      let hit: CachedAnswer | undefined
      try {
        hit = asCachedAnswer(await opts.cache.get(call.key))
      } catch {
        hit = undefined // An unreachable cache is a miss, never an outage.
      }
      countCache(hit ? 'hit' : 'miss')
      if (hit) {
        log(call, { outcome: 'ok', cache: 'hit' })
        return hitOutcome(hit)
      }
    }
    let estimate: RequestEstimate | undefined
    // Input tokens estimated once per call: the budget, the token limit and a stream's meter share them.
    let inputTokens: number | undefined
    let reservation: Reservation | undefined
    const tokenLimit = opts.tokenLimit
    if (opts.budget && call.subject !== undefined) {
      estimate = spec.estimate(call.params, opts.defaultMaxOutputTokens)
      try {
        if (call.stream || tokenLimit) {
          // The same worst case the budget computes from the messages (`estimateTokens`), counted
          // here once for the stream's meter and the token limit too.
          inputTokens = tokensOf(estimate)
          reservation = await opts.budget.reserve(call.subject, {
            model: estimate.model,
            inputTokens,
            maxOutputTokens: estimate.maxOutputTokens,
          })
        } else {
          reservation = await opts.budget.reserve(call.subject, estimate)
        }
      } catch (error) {
        log(call, { outcome: 'rejected', error: describeError(error) })
        throw error
      }
    }
    let tokens: TokenHold | undefined
    if (tokenLimit) {
      try {
        estimate ??= spec.estimate(call.params, opts.defaultMaxOutputTokens)
        inputTokens ??= tokensOf(estimate)
        const units = inputTokens + estimate.maxOutputTokens
        const reserving = reserveTokens(
          tokenLimit,
          { subject: call.subject, provider: spec.provider, model: call.model },
          units
        )
        // The limiter's promise awaited here (not through an async helper): one hop fewer
        // before the provider call.
        if (reserving !== undefined) tokens = holdTokens(await reserving, units)
      } catch (error) {
        // Denied (or the limiter failed): no provider call, so nothing may stay held on the budget.
        await reservation?.release().catch(() => false)
        log(call, { outcome: 'rejected', error: describeError(error) })
        throw error
      }
    }
    try {
      let params = call.params
      if (opts.guard) {
        const input = spec.guardInput(params)
        if (input !== undefined) {
          const verdict = await opts.guard.checkInput(input)
          if (!verdict.allowed) throw new PromptBlockedError([...verdict.blockedBy])
          params = spec.applyGuard(params, verdict)
        }
      }
      const prepared = call.stream ? spec.prepareStream(params) : { params, hideUsageChunk: false }
      // A caller without any signal makes the group unabortable: the SDK then needs no signal at
      // all. No request options: none are passed on either (as the caller passed none).
      let sdkOptions: Record<string, unknown> | undefined
      if (call.rest === undefined) {
        sdkOptions = group.abortable ? { signal: group.signal } : undefined
      } else {
        const { signal: _own, ...forward } = call.rest
        sdkOptions = group.abortable ? { ...forward, signal: group.signal } : forward
      }
      const { data, response, ...extras } = await original(
        prepared.params,
        sdkOptions
      ).withResponse()
      if (!call.stream) return await complete(call, reservation, tokens, data, response, extras)
      // The meter's estimate (a stream cut short) only feeds the budget, the metrics and the log
      // (the token limit counted it already).
      if (inputTokens === undefined && accounts(reservation)) {
        try {
          inputTokens = tokensOf(
            estimate ?? spec.estimate(call.params, opts.defaultMaxOutputTokens)
          )
        } catch {
          inputTokens = 0
        }
      }
      const sdkStream = data as AsyncIterable<unknown> & { controller: AbortController }
      const shared = startStream(
        call,
        reservation,
        tokens,
        sdkStream,
        prepared.hideUsageChunk,
        inputTokens ?? 0,
        () => {
          group.dispose()
          ended()
        }
      )
      publish(shared, response, extras)
      const stream = consumerStream(shared, call.signal)
      return {
        data: stream,
        response,
        extras,
        toResponse: () => sseResponse(stream, spec.encodeEvent, spec.sseTail, response),
      }
    } catch (error) {
      await reservation?.release().catch(() => false)
      if (tokens) await tokens.release()
      if (!(typeof error === 'object' && error !== null && reported.has(error))) {
        recordCall(call, undefined, undefined, error, undefined)
        log(call, { outcome: 'error', error: describeError(error) })
      }
      throw error
    }
  }

  /**
   * The synchronous part of a call: subject, mode, and joining or registering the flight happen
   * before any await, so identical calls issued together always share one provider call. The
   * flight key is the default cache key when Node can hash it at once (it covers API, scope and
   * params), else the exact params JSON with API and scope.
   */
  const run = (params: Params, options: unknown): Promise<CallOutcome<unknown>> => {
    const started = performance.now()
    const { override, rest } = splitOptions(options)
    const ctx = currentContext()
    const fromContext = ctx?.state.subject
    const subject =
      override?.subject ??
      (typeof fromContext === 'string' && fromContext !== '' ? fromContext : undefined) ??
      opts.subject
    if (subject === undefined && (opts.requireSubject || opts.budget)) {
      return handled(Promise.reject(new SubjectRequiredError()))
    }
    const mode = override?.cache ?? 'default'
    const ownSignal = rest?.signal as AbortSignal | undefined
    const base: Call = {
      params,
      rest,
      subject,
      mode,
      stream: params.stream === true,
      model: typeof params.model === 'string' ? params.model : '',
      requestId: (ctx?.state as Record<string, unknown> | undefined)?.requestId,
      started,
      signal: ownSignal ?? ctx?.signal,
      key: undefined,
    }
    // Serialised once per call (never memoised per object: callers reuse and mutate params).
    const wantsKey =
      opts.cache !== undefined &&
      mode !== 'no-store' &&
      (opts.cacheSampling || isDeterministic(params))
    const coalescing = opts.coalesce && mode === 'default'
    const json = wantsKey || coalescing ? stableStringify(params) : ''
    const scope = subject ?? ''
    // The default key, when it can be hashed now (Node, or a short request): it is also the flight
    // key (API, scope and params, as the JSON form below), a short string to look up instead of
    // the whole params JSON.
    if (wantsKey && opts.cacheKey === defaultCacheKey) {
      base.key = keyFromJsonSync(json, scope, spec.api)
    }
    /**
     * The call with its cache key. Synchronous when there is no key or it is already known (no
     * promise hop on a miss); a promise for a custom `cacheKey` or Web Crypto.
     */
    const withKey = (): Call | Promise<Call> => {
      if (!wantsKey || base.key !== undefined) return base
      if (opts.cacheKey === defaultCacheKey) {
        return keyFromJson(json, scope, spec.api).then((k) => {
          base.key = k
          return base
        })
      }
      return (async () => {
        base.key = await opts.cacheKey(params, { scope, api: spec.api })
        return base
      })()
    }
    const begin = (
      leader: (call: Call) => Promise<CallOutcome<unknown>>
    ): Promise<CallOutcome<unknown>> => {
      const call = withKey()
      return call instanceof Promise ? call.then(leader) : leader(call)
    }
    // The cache key starts with `llm:`, the JSON form with the API name: the two never meet.
    const flightKey = coalescing
      ? (base.key ?? `${spec.api}\u0000${scope}\u0000${json}`)
      : undefined

    const existing = flightKey === undefined ? undefined : flights.get(flightKey)
    if (existing) {
      countCache('coalesced')
      return handled(existing.join(base.signal, () => run(params, options)))
    }
    const group = new SignalGroup()
    group.join(base.signal)
    if (flightKey === undefined) {
      // A live stream disposes of the group when it ends; anything else as soon as it settles.
      let live = false
      const settled = (): void => {
        if (!live) group.dispose()
      }
      const result = begin((call) =>
        lead(
          call,
          group,
          () => {
            live = true
          },
          () => {}
        )
      )
      // Returned as is (a `finally` would add promise hops before the caller sees the answer).
      result.then(settled, settled)
      return result
    }
    let shared:
      | { stream: SharedStream<unknown>; response: Response; extras: Record<string, unknown> }
      | undefined
    let outcome: Promise<CallOutcome<unknown>> | undefined
    const flight: Flight = {
      group,
      join: async (signal, retry) => {
        group.join(signal)
        await outcome
        // A streamed cache hit is one consumable stream: the joiner makes its own (cache hit too).
        if (!shared) return base.stream ? retry() : (outcome as Promise<CallOutcome<unknown>>)
        const s = shared
        const stream = consumerStream(s.stream, signal)
        return {
          data: stream,
          response: s.response,
          extras: s.extras,
          toResponse: () => sseResponse(stream, spec.encodeEvent, spec.sseTail, s.response),
        }
      },
    }
    flights.set(flightKey, flight)
    const leave = (): void => {
      if (flights.get(flightKey) === flight) flights.delete(flightKey)
    }
    outcome = begin((call) =>
      lead(
        call,
        group,
        (stream, response, extras) => {
          shared = { stream, response, extras }
        },
        leave
      )
    )
    outcome.then(
      () => {
        // A stream stays joinable while it runs (`leave` runs when it ends); a response is done now.
        if (!shared) {
          leave()
          group.dispose()
        }
      },
      () => {
        leave()
        group.dispose()
      }
    )
    return outcome
  }

  return function create(params: Params, options?: unknown): LlmCallPromise<unknown> {
    // Every promise `run` returns has a rejection handler already.
    return new LlmCallPromise(run(params, options), true)
  }
}

const ignore = (): void => {}

/** `promise` with a rejection handler (the caller still sees the rejection through it). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore)
  return promise
}

/** Input tokens of a request, as the budget estimates them from its messages. */
function tokensOf(estimate: RequestEstimate): number {
  // The estimate is its own options (`system`, `tools`): no copy per call.
  return estimateTokens(estimate.messages, estimate.model, estimate)
}

/** Error fields safe to log (no message bodies, no headers). */
function describeError(error: unknown): Record<string, unknown> {
  if (typeof error !== 'object' || error === null) return { type: typeof error }
  const e = error as { name?: unknown; status?: unknown; code?: unknown }
  return { name: e.name, status: e.status, code: e.code }
}
