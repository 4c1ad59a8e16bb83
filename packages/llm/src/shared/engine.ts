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
import { trackWork } from '@aikit/core/adapter'
import {
  type BudgetEstimate,
  estimateTokens,
  extractUsage,
  filterOpenAIChunk,
  type Reservation,
  type StreamUsageResult,
  totalInputTokens,
  type Usage,
} from '@aikit/cost'
import { abortReason, stopRequest } from './abort-reason.js'
import { Attempts, observeAttempts, withAttempts } from './attempts.js'
import { defaultCacheKey, keyFromJson, keyFromJsonSync, stableStringify } from './cache-key.js'
import { asCachedAnswer, type CachedAnswer, serves } from './cached-answer.js'
import { splitOptions } from './call-options.js'
import { type CallOutcome, LlmCallPromise, withRequestId } from './call-promise.js'
import {
  OutputBlockedError,
  PromptBlockedError,
  SubjectRequiredError,
  UnmeteredMethodError,
} from './errors.js'
import { type KeptHold, keepHeld } from './keep-held.js'
import { meteredSource } from './metered-source.js'
import type { ResolvedOptions } from './options.js'
import { overlay } from './proxy.js'
import { clientDigest, requestOptionsDigest, withClient, withEndpoint } from './request-options.js'
import {
  copyEvent,
  once,
  Replay,
  type SdkBaseErrorClass,
  type SharedEnd,
  SharedStream,
} from './shared-stream.js'
import { anySignal, holdSignal, SignalGroup } from './signal-group.js'
import {
  type ApiSpec,
  type Params,
  type RequestEstimate,
  type SdkErrorClass,
  STREAM_CUT,
} from './spec.js'
import { jsonResponse, sseResponse } from './sse.js'
import { holdTokens, reserveTokens, type TokenHold } from './token-limit.js'
import type { CacheMode } from './types.js'
import { billedAttempts, unansweredCharge, withTimedOutAttempts } from './unanswered.js'
import { untilAborted } from './until-aborted.js'

/** When a failed settle is tried again (ms after the previous failure): a Redis blip lasts about this. */
const SETTLE_RETRY_DELAYS_MS = [250, 1000, 4000] as const

/** A request whose answer does not depend on sampling: the only kind cached by default. */
const isDeterministic = (params: Params): boolean =>
  params.temperature === 0 || typeof params.seed === 'number'

/**
 * A request that adds its turn to a server-side conversation (Responses `conversation`, an
 * Anthropic beta `thread`: what `beta.messages.thread()` and `toolRunner()` send): each call must
 * reach the provider. A cached or shared answer would leave the conversation without the turn,
 * and the next call in it would run on a history the caller never saw.
 */
const writesConversation = (params: Params): boolean =>
  (params.conversation !== undefined && params.conversation !== null) ||
  (params.thread !== undefined && params.thread !== null)

/**
 * What a stream the provider closed before its terminal event (`message_stop`, a `finish_reason`,
 * `response.completed`…) is recorded as: `error_type` `STREAM_INCOMPLETE` in the metrics.
 */
function streamIncomplete(): Error {
  return Object.assign(new Error('The provider closed the stream before its final event'), {
    name: 'StreamIncompleteError',
    code: 'STREAM_INCOMPLETE',
  })
}

/** An OpenAI chat stream event as a caller who did not ask for usage sees it (see `hidesUsage`). */
const withoutUsage = (event: unknown): unknown => filterOpenAIChunk(event, true)

/** The SDK method being wrapped: returns the SDK's APIPromise (`withResponse()` is public API). */
type SdkCreate = (
  params: Params,
  options?: Record<string, unknown>
) => { withResponse(): Promise<{ data: unknown; response: Response } & Record<string, unknown>> }

/** A call in flight that identical calls join. */
export interface Flight {
  /**
   * The provider request runs on `SHARED_TIMEOUT_MS` (its leader had a timeout of its own: a
   * `timeout` request option, or one set on its client): the SDK's default timeout no longer
   * bounds it, so a caller joining without a timeout of its own takes its client's as its deadline.
   */
  readonly untimed: boolean
  /** An outcome for one more caller (its own copy, or its own reader of a stream). */
  join(
    gone: Gone | undefined,
    signal: AbortSignal | undefined,
    retry: () => Promise<CallOutcome<unknown>>,
    silence: number
  ): Promise<CallOutcome<unknown>>
}

/**
 * What a provider call produced, before each of its callers takes its own share: a copy of an
 * answer, its own reader of a live stream.
 */
type Produced =
  | {
      readonly kind: 'answer'
      readonly outcome: CallOutcome<unknown>
      /**
       * The cache write of the answer, still under way: no caller waits for it (a stalled store
       * must not hold an answer the provider gave and the budget charged), but a flight stays
       * joinable until it is done, so a caller arriving meanwhile shares the answer, not a miss.
       */
      readonly stored?: Promise<void>
      /** The copy of the answer handed to the cache (nobody edits it): what a late joiner copies. */
      readonly kept?: unknown
    }
  | {
      readonly kind: 'stream'
      readonly shared: SharedStream<unknown>
      readonly response: Response
      readonly extras: Record<string, unknown>
      /** The injected usage chunk (and `usage: null` fields) are hidden from its readers. */
      readonly hideUsage: boolean
      /** The silences its readers' callers would wait through (its hold is kept for the longest). */
      readonly silences: Silences
      /** Lets go of the hold that keeps the stream open until every waiting caller has its reader. */
      readonly release: () => void
    }

/**
 * How one caller of a shared call leaves it early: `signal` aborts when its own signal does or
 * when its `timeout` passes (`reason` is then a `TimedOut`). `dispose` stops the timer and the
 * listening once the caller has its answer.
 */
interface Gone {
  readonly signal: AbortSignal
  dispose(): void
}

/**
 * The abort reason of a caller whose `timeout` passed: a `TimeoutError` DOMException (what
 * `AbortSignal.timeout()` aborts with), of a class of its own so it is told from a caller's own
 * reason. Never a non-Error (a Symbol): openai 7 hands its signal's reason on to `fetch`, which
 * rejects with it, and makes an Error of the rejection with `new Error(reason)`; a Symbol throws a
 * TypeError there, so the SDK's abort error never came and the timed-out call went uncharged.
 */
class TimedOut extends DOMException {
  constructor() {
    super("The caller's timeout passed", 'TimeoutError')
  }
}

/** Whether `signal` aborted because its caller's `timeout` passed. */
const timedOut = (signal: AbortSignal): boolean => signal.reason instanceof TimedOut

/** Everything one call carries through the steps. */
interface Call {
  readonly params: Params
  readonly rest: Record<string, unknown> | undefined
  readonly subject: string | undefined
  readonly mode: CacheMode
  /** Set once, when the key is known (the call object is not copied for it). */
  key: string | undefined
  /**
   * Set when the wrapper sent an output limit the caller's request did not set
   * (`defaultMaxOutputTokens`): an answer cut at it is not what the request asked for.
   */
  limited: boolean
  /**
   * The caller's own `timeout` request option (`rest` holds `SHARED_TIMEOUT_MS` instead in a
   * coalesced call): how long a stream's provider may stay silent while its hold is kept.
   */
  readonly timeout: number | undefined
  readonly stream: boolean
  readonly model: string
  readonly requestId: unknown
  readonly started: number
  /** The SDK's attempts of this call, when they are seen (a budgeted call): set when it is sent. */
  attempts: Attempts | undefined
}

const elapsed = (since: number): number => (performance.now() - since) / 1000

/** The `cache` field of a call's log line past the lookup: every line of the call says it. */
const cacheOf = (call: Call): 'miss' | 'bypass' =>
  call.key !== undefined && call.mode === 'default' ? 'miss' : 'bypass'

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

/**
 * How long the callers reading a shared stream would wait, each, through a silence of the provider
 * (its own SDK `timeout`): the stream's hold is kept through a silence as long as the longest of
 * the callers still reading (joiners included; which caller leads is arbitrary), or `first`'s (the
 * leader's) while no reader is there yet.
 */
class Silences {
  readonly #ms: number[] = []
  readonly #first: number
  constructor(first: number) {
    this.#first = first
  }
  /** Adds a reader's silence; the returned function takes it out (idempotent). */
  add(ms: number): () => void {
    const all = this.#ms
    all.push(ms)
    let counted = true
    return () => {
      if (!counted) return
      counted = false
      const at = all.indexOf(ms)
      if (at !== -1) all.splice(at, 1)
    }
  }
  longest(): number {
    const all = this.#ms
    if (all.length === 0) return this.#first
    let most = all[0] as number
    for (let i = 1; i < all.length; i++) most = Math.max(most, all[i] as number)
    return most
  }
}

/**
 * Builds the intercepted `create` of one API of one client. `flights`: the calls in flight that
 * identical calls join, shared by a client and its `withOptions()` copies (their keys hold each
 * client's identity, so only copies with the same base URL, credential and default headers meet).
 */
export function interceptCreate(
  spec: ApiSpec,
  opts: ResolvedOptions,
  original: SdkCreate,
  client: unknown,
  flights: Map<string, Flight>
): (params: Params, options?: unknown) => LlmCallPromise<unknown> {
  // The client's base URL, credential, default headers and query, and the API's route (`beta`):
  // part of every key.
  const identity = withEndpoint(clientDigest(client), spec.endpoint)
  // Whether the SDK's attempts of a call (its retries) can be seen (see attempts.ts).
  const observed = observeAttempts(client)
  // The wrapped client's own error classes (its SDK copy and major), else the spec's.
  const statics = (client as { constructor?: Record<string, unknown> } | null)?.constructor
  const AbortError = sdkClass(statics?.APIUserAbortError) ?? spec.AbortError
  const TimeoutError = sdkClass(statics?.APIConnectionTimeoutError) ?? spec.TimeoutError
  // What a second read of a stream throws (the SDK's base class: `AnthropicError`, `OpenAIError`).
  const BaseError =
    (sdkClass(statics?.AnthropicError ?? statics?.OpenAIError) as SdkBaseErrorClass | undefined) ??
    spec.BaseError
  /**
   * How long a caller of this client would wait through a provider silence in its stream: its
   * `timeout` request option, else its client's (the SDK's default when it sets none).
   */
  const silenceOf = (requestTimeout: number | undefined): number =>
    Math.max(requestTimeout ?? 0, timeoutOf(client) ?? DEFAULT_SDK_TIMEOUT_MS)
  const ConnectionError = sdkClass(statics?.APIConnectionError)
  /**
   * An error that says the provider never produced an answer: an error status (`APIError` with a
   * `status`: 4xx, 5xx) or a connection that could not be made (`APIConnectionError`).
   */
  const unreached = (error: unknown): boolean =>
    typeof (error as { status?: unknown } | null)?.status === 'number' ||
    (ConnectionError !== undefined && error instanceof ConnectionError) ||
    (error as { name?: unknown } | null)?.name === 'APIConnectionError'
  /** What a caller who left a shared call gets: what the bare SDK would have thrown it. */
  const goneError = (signal: AbortSignal): Error =>
    timedOut(signal) ? new TimeoutError() : new AbortError()
  // Errors already counted in metrics and logs (a blocked output), so the catch-all does not repeat them.
  const reported = new WeakSet<object>()
  // Errors the SDK threw before sending any request (its `create` threw at once: Anthropic's
  // "Streaming is required"): a joiner of the failed flight makes its own call (see `share`).
  const unsent = new WeakSet<object>()

  /**
   * A log line's token counts: `inputTokens` is every input token (cached ones too), as in the
   * metrics and the provider's own `prompt_tokens`; the cached parts are also given apart.
   */
  const tokenFields = (usage: Usage | undefined): Record<string, number | undefined> => {
    if (usage === undefined) return { inputTokens: undefined, outputTokens: undefined }
    const fields: Record<string, number | undefined> = {
      inputTokens: totalInputTokens(usage),
      outputTokens: usage.outputTokens,
    }
    if ((usage.cacheReadTokens ?? 0) > 0) fields.cacheReadTokens = usage.cacheReadTokens
    const written = (usage.cacheWrite5mTokens ?? 0) + (usage.cacheWrite1hTokens ?? 0)
    if (written > 0) fields.cacheWriteTokens = written
    return fields
  }

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
    usage: Usage | number | undefined,
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
        // per reservation (a retry of one that did run charges nothing). The budget retries for
        // as long as that holds (past the hold's expiry, until its tombstone's); a budget of
        // another make, three times.
        if (typeof reservation.retrySettle === 'function') {
          reservation.retrySettle(actual, { model })
        } else retrySettle(reservation, actual, model, 0)
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
    if (reservation) {
      // Answered after attempts the SDK timed out and retried: those were most likely billed too.
      const timedOut = call.attempts?.timedOut ?? 0
      const billed =
        usage && timedOut > 0 ? withTimedOutAttempts(usage, timedOut, call.stream) : usage
      return settle(reservation, billed, model)
    }
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

  /**
   * The output guard on every text of an answer (one per choice): any blocked one blocks the
   * answer, with the rules of every blocked text.
   */
  const checkOutput = async (texts: readonly string[]): Promise<void> => {
    const guard = opts.guard
    if (!guard) return
    if (texts.length === 1) {
      const verdict = await guard.checkOutput(texts[0] as string)
      if (!verdict.allowed) throw new OutputBlockedError([...verdict.blockedBy])
      return
    }
    const verdicts = await Promise.all(texts.map((text) => guard.checkOutput(text)))
    const blocked = verdicts.filter((verdict) => !verdict.allowed)
    if (blocked.length > 0) {
      throw new OutputBlockedError([...new Set(blocked.flatMap((v) => [...v.blockedBy]))])
    }
  }

  const hitOutcome = (
    answer: CachedAnswer,
    signal: AbortSignal | undefined,
    call: Call
  ): CallOutcome<unknown> => {
    // Built only when asked for (`withResponse()` / `asResponse()`): a hit should cost a lookup.
    let response: Response | undefined
    const synthetic = (): Response => {
      response ??= new Response(null, { status: 200, headers: { 'x-aikit-cache': 'hit' } })
      return response
    }
    const extras = { request_id: null }
    if (answer.kind === 'response') {
      // The caller's own copy: the cache may hold this very object (a memory tier), and a caller
      // editing its answer must not change what the next hit gets. A small message copies in ~1 µs.
      // `_request_id: null` (not enumerable), as the SDK's answer without a provider request.
      const data = withRequestId(copyEvent(answer.data), null)
      return {
        data,
        get response() {
          return synthetic()
        },
        extras,
        toResponse: () => jsonResponse(answer.data, synthetic()),
      }
    }
    // The caller's signal aborts the replay as it aborts a live stream: through the stream's
    // controller, which the SDK helpers check (`messages.stream()` then fails with
    // `APIUserAbortError` and emits 'abort'); the replay ends at its next read. The listener goes
    // when the replay ends, so a long-lived signal keeps nothing of it. Read once, as the SDK's
    // stream; a `break` aborts the controller, as the SDK's does.
    let unlink: (() => void) | undefined
    const controller = new ConsumerController(() => {
      events.stop()
      unlink?.()
    })
    if (signal) {
      const abort = (): void => controller.abort(signal.reason)
      signal.addEventListener('abort', abort, { once: true })
      // A signal joined from the caller's and the request's stays linked to them until then.
      const letGo = holdSignal(signal)
      unlink = () => {
        signal.removeEventListener('abort', abort)
        letGo()
      }
    }
    const events = new Replay(
      answer.events,
      spec.hidesUsage?.(call.params) === true ? withoutUsage : undefined,
      unlink,
      controller
    )
    const data = new spec.StreamClass(once(events, BaseError), controller)
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
  ): Promise<Produced> => {
    // Each step is skipped (no promise hop) when nothing it serves is configured.
    const extracted = accounts(reservation) || tokens ? usageOf(data) : undefined
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
        await checkOutput(spec.outputTexts(data))
      } catch (error) {
        blocked = error
      }
    }
    if (opts.metrics) recordCall(call, extracted?.usage, costMicros, blocked, undefined)
    if (opts.logger) {
      log(call, {
        outcome: blocked === undefined ? 'ok' : 'blocked',
        cache: cacheOf(call),
        ...tokenFields(extracted?.usage),
        costMicros,
        ...(extracted?.invalid ? { usageInvalid: true } : {}),
      })
    }
    if (blocked !== undefined) {
      reported.add(blocked as object)
      throw blocked
    }
    const outcome = { data, response, extras, toResponse: () => jsonResponse(data, response) }
    // Only a complete, successful answer is replayed (not a refusal or a content-filtered one).
    // A copy: a memory cache keeps the object itself, which the caller may edit.
    // Nor one cut at a limit the wrapper injected: it is stored under the caller's request, which
    // set none, and a call of that request (an unmetered client sharing the cache) would get it.
    if (stores(call) && spec.replayable(data) && !(call.limited && cutAtLimit(data))) {
      const kept = copyEvent(data)
      const stored = storeAnswer(call, { v: 1, kind: 'response', data: kept })
      return { kind: 'answer', outcome, stored, kept }
    }
    return { kind: 'answer', outcome }
  }

  /** Starts metering a streamed answer; returns the shared stream the callers read. */
  const startStream = (
    call: Call,
    reservation: Reservation | undefined,
    tokens: TokenHold | undefined,
    sdkStream: AsyncIterable<unknown> & { controller: AbortController },
    inputTokens: number,
    onEnd: () => void,
    leave: () => void,
    kept: KeptHold | undefined,
    silences: Silences
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
      // Ran to its end: how the provider ended it (a whole answer, a filtered one, a failure
      // reported in the stream). Else it was aborted, or it broke (`end.error`).
      const ranToEnd = end.kind === 'done' && !sdkStream.controller.signal.aborted
      const ended = ranToEnd ? spec.streamEnd(recorded) : STREAM_CUT
      const whole = ended.kind === 'whole'
      // The final usage event's tokens; what was produced when the stream was cut short.
      const tokensSettled = tokens?.settle(usage.usage)
      const charged = accounts(reservation)
        ? charge(call, reservation, usage.usage, usage.model || call.model)
        : undefined
      const costMicros = typeof charged === 'object' ? await charged : charged
      if (tokensSettled) await tokensSettled
      // A stream that ran to its end without its terminal event was closed short by the provider
      // (or a proxy on the way), not left by its caller: a failure, not an abort.
      const error =
        end.kind === 'error'
          ? end.error
          : ended.kind === 'error'
            ? ended.error
            : ranToEnd && ended.kind === 'cut'
              ? streamIncomplete()
              : undefined
      if (opts.metrics) recordCall(call, usage.usage, costMicros, error, ttfc)
      if (opts.logger) {
        log(call, {
          outcome: error !== undefined ? 'error' : ended.kind === 'cut' ? 'aborted' : 'ok',
          cache: cacheOf(call),
          ...tokenFields(usage.usage),
          estimated: usage.usage.estimated === true,
          costMicros,
          ...(usage.invalid ? { usageInvalid: true } : {}),
        })
      }
      if (!whole) return
      if (opts.guard) {
        try {
          await checkOutput(spec.streamTexts(recorded))
        } catch {
          return // Already streamed to the caller; at least never replay it from the cache.
        }
      }
      if (stores(call) && !(call.limited && recorded.some(cutAtLimit))) {
        await storeAnswer(call, { v: 2, kind: 'stream', events: recorded })
      }
    }
    // Recorded as the provider sent them (what the cache stores): each reader hides the usage
    // chunk its caller did not ask for (`consumerStream`).
    const metered = meteredSource(sdkStream, {
      api: spec.api,
      model: call.model,
      inputTokens,
      onDone: (result) => {
        usage = result
        void trackWork(finalize())
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
    const shared = new SharedStream(
      timed,
      (how, events) => {
        // The stream is over: its hold is settled (or released) now, no longer renewed.
        kept?.stop()
        end = how
        recorded = events
        // Every reader left: stop the provider stream now rather than at its next event.
        if (how.kind === 'cancelled') stopRequest(sdkStream.controller)
        // Cut short: a caller arriving now must make its own call, not join a cut answer (the
        // flight would otherwise stay joinable until the settle below is done).
        if (how.kind !== 'done') leave()
        void trackWork(finalize())
      },
      // Left by its readers once the whole answer came: read on for its usage (see `answered`).
      spec.answered
    )
    // Renewed while the stream is read (a read waiting on the provider included, for up to the
    // longest SDK `timeout` of the callers still reading it without an event): a stream nobody
    // reads any more lets its hold lapse.
    kept?.watch(
      () => shared.reads,
      () => shared.reading,
      () => silences.longest()
    )
    return shared
  }

  /** A `Stream` (the SDK's own class) reading `shared` for one caller, registered right away. */
  const consumerStream = (
    shared: SharedStream<unknown>,
    signal: AbortSignal | undefined,
    hideUsage: boolean,
    silence: () => void
  ): AsyncIterable<unknown> => {
    // Unlinked from the signal once the reader is released (it ended, failed, returned or was
    // aborted): a long-lived signal (a request's, an agent loop's) must not keep every stream's
    // reader, and through it the recorded events, until it aborts. Returned before its end (a
    // `break`), it aborts its controller, as the SDK's own stream does.
    let unlink: (() => void) | undefined
    const iterator = shared.consumer(
      () => {
        // No longer reading: its timeout no longer keeps the stream's hold through a silence.
        silence()
        unlink?.()
      },
      () => controller.abort(abortReason()),
      hideUsage ? withoutUsage : undefined
    )
    const controller = new ConsumerController(() => {
      void iterator.return?.()
    })
    // This caller's signal (its own, or its request's) aborts its stream as it aborts the SDK's
    // own: through the stream's controller, which stops this reader and which the SDK helpers
    // check (`messages.stream()` and `chat.completions.stream()` then fail with
    // `APIUserAbortError`, and emit 'abort'). The provider stream stops when every reader has.
    if (signal) {
      const abort = (): void => controller.abort(signal.reason)
      if (signal.aborted) abort()
      else {
        signal.addEventListener('abort', abort, { once: true })
        // A signal joined from the caller's and the request's stays linked to them until then.
        const letGo = holdSignal(signal)
        unlink = () => {
          signal.removeEventListener('abort', abort)
          letGo()
        }
      }
    }
    return new spec.StreamClass(once(iterator, BaseError), controller, client as never)
  }

  /** What the cache gave for `call` as an answer (counted and logged as a hit), or `undefined`. */
  const accept = (value: unknown, call: Call): CachedAnswer | undefined => {
    let hit: CachedAnswer | undefined
    try {
      hit = asCachedAnswer(value)
    } catch {
      return undefined // A value that cannot even be read is a miss.
    }
    // An answer of the other kind (a message for a stream caller, or a stream for a message
    // caller, under a custom key that does not tell them apart) is a miss: never replayed.
    if (hit === undefined || (hit.kind === 'stream') !== call.stream) return undefined
    // An entry of the previous version that lacks what this caller asked for (usage).
    if (!serves(hit, spec, call.params)) return undefined
    countCache('hit')
    log(call, { outcome: 'ok', cache: 'hit' })
    return hit
  }

  /**
   * What the cache holds for `key` (not yet accepted as an answer: see `accept`), `undefined` when
   * the cache cannot be reached (a miss, never an outage). A caller with a signal or a deadline
   * (`deadline`: `performance.now()` time) leaves a slow store (a Redis tier that stalls) the moment
   * it aborts or its deadline passes, with the SDK's error, as the bare SDK's call would; neither is
   * watched when the store answers at once (a memory tier: no listener, no timer). The caller
   * checks its signal again when this settles: a value the store gives once the caller has gone is
   * dropped (no hit counted or logged, no flight, no reservation).
   */
  const lookup = (
    key: string,
    signal: AbortSignal | undefined,
    deadline: number | undefined
  ): Promise<unknown> => {
    if (signal?.aborted) return Promise.reject(new AbortError())
    let pending: unknown
    try {
      pending = opts.cache?.get(key)
    } catch {
      return Promise.resolve(undefined) // An unreachable cache is a miss, never an outage.
    }
    if (signal === undefined && deadline === undefined) {
      return Promise.resolve(pending).catch(() => undefined)
    }
    let left: Error | undefined
    const arm = (): Gone | undefined =>
      leaving(signal, deadline === undefined ? undefined : deadline - performance.now())
    return untilAborted(pending, arm, (gone) => {
      left = goneError(gone)
      return left
    }).catch(() => {
      if (left) throw left
      return undefined // An unreachable cache is a miss, never an outage.
    })
  }

  /**
   * Reserve, guard, call: the leader of a flight (or a call that does not coalesce), once the
   * cache said miss (the lookup comes first, outside any flight). `leave` removes the flight (a
   * stream's end).
   */
  const lead = async (call: Call, group: SignalGroup, leave: () => void): Promise<Produced> => {
    if (opts.cache && call.key !== undefined && call.mode === 'default') countCache('miss')
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
          reservation = await opts.budget.reserve(
            call.subject,
            countedEstimate(estimate, inputTokens)
          )
        } else {
          reservation = await opts.budget.reserve(call.subject, estimate)
        }
      } catch (error) {
        log(call, { outcome: 'rejected', cache: cacheOf(call), error: describeError(error) })
        throw error
      }
    }
    let tokens: TokenHold | undefined
    if (tokenLimit) {
      try {
        estimate ??= spec.estimate(call.params, opts.defaultMaxOutputTokens)
        inputTokens ??= tokensOf(estimate)
        // The output limit is the end user's (capped at 2^53 - 1 by the estimate): the sum must stay
        // a count the limiter takes, which then refuses it as any request over its limit.
        const units = Math.min(inputTokens + estimate.maxOutputTokens, Number.MAX_SAFE_INTEGER)
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
        log(call, { outcome: 'rejected', cache: cacheOf(call), error: describeError(error) })
        throw error
      }
    }
    // The hold renewed while the call runs (a call may outlive the budget's reservation TTL).
    let kept: KeptHold | undefined
    // When the request went to the SDK (not already aborted), and whether an answer came back.
    let sent: number | undefined
    let answered = false
    // The SDK's attempts of this call as its `fetch` saw them, when they can be seen.
    let attempts: Attempts | undefined
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
      // The output the reservation (or the token limit) held for a request without a limit
      // (`defaultMaxOutputTokens`) is sent as its limit: no answer can cost more than was held.
      if (reservation || tokens) {
        const unlimited = params
        params = spec.limitOutput(params, opts.defaultMaxOutputTokens)
        call.limited = params !== unlimited
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
      if (reservation) kept = keepHeld(reservation, budgetClock(opts.budget?.store))
      if (!group.aborted) sent = performance.now()
      // Only a budgeted call needs its attempts: what an unanswered one is charged.
      if (reservation && observed) call.attempts = attempts = new Attempts()
      let pending: ReturnType<SdkCreate>
      try {
        pending =
          attempts === undefined
            ? original(prepared.params, sdkOptions)
            : withAttempts(attempts, original, prepared.params, sdkOptions)
      } catch (refused) {
        // Thrown before any request (the SDK's pre-flight checks): nothing was sent.
        sent = undefined
        if (typeof refused === 'object' && refused !== null) unsent.add(refused)
        throw refused
      }
      const { data, response, ...extras } = await pending.withResponse()
      answered = true
      if (!call.stream) {
        kept?.stop()
        return await complete(call, reservation, tokens, data, response, extras)
      }
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
      const silences = new Silences(silenceOf(call.timeout))
      const shared = startStream(
        call,
        reservation,
        tokens,
        sdkStream,
        inputTokens ?? 0,
        () => {
          group.dispose()
          leave()
        },
        leave,
        kept,
        silences
      )
      // Every caller gone once the whole answer came: the trailer is still read (its usage).
      group.spare(() => shared.answered)
      // Held open until the callers waiting for it have their readers (some may have left).
      return {
        kind: 'stream',
        shared,
        response,
        extras,
        hideUsage: prepared.hideUsageChunk,
        silences,
        release: shared.hold(),
      }
    } catch (thrown) {
      kept?.stop()
      // Every caller's `timeout` passed (a shared call's deadlines are the callers' own): the
      // SDK saw its signal abort, the callers asked for a timeout.
      const error =
        group.aborted && timedOut(group.signal) && thrown instanceof AbortError
          ? new TimeoutError()
          : thrown
      // A blocked output (reported already) was settled: a release now would free the hold under
      // a settle still being retried in the background, and the call would never be charged.
      if (typeof error === 'object' && error !== null && reported.has(error)) throw error
      // Aborted or timed out once sent: the provider most likely billed it (see unanswered.ts).
      // Refused before it was sent, or answered with an error: nothing to charge. Seen attempts
      // (attempts.ts): each one sent and not answered with an error status may have been billed;
      // none when the SDK was only waiting to retry requests the provider refused (a 429).
      // An answer that came with a success status but could not be read (its body cut on the way:
      // `TypeError: terminated`; not JSON) was generated and billed too: any error but the
      // provider's error status or a refused connection, once an attempt was seen answered.
      let costMicros: number | undefined
      const billed =
        reservation && sent !== undefined && !answered
          ? error instanceof AbortError || error instanceof TimeoutError
            ? attempts !== undefined && attempts.sent > 0
              ? attempts.billable()
              : billedAttempts(performance.now() - sent, call.rest, client, DEFAULT_SDK_TIMEOUT_MS)
            : attempts !== undefined && !unreached(error)
              ? attempts.billable()
              : 0
          : 0
      // Tracked: a call cut by a shutdown's deadline ends here after its connection is gone.
      const ended = (async (): Promise<number | undefined> => {
        let charged: number | undefined
        if (reservation && billed > 0) {
          const held = unansweredCharge(reservation.amountMicros, call.stream, inputTokens, billed)
          charged = await settle(reservation, held, call.model)
        } else await reservation?.release().catch(() => false)
        if (tokens) await tokens.release()
        return charged
      })()
      costMicros = await trackWork(ended)
      const charged = costMicros === undefined ? {} : { costMicros }
      // Every caller left (their signals, the request's `ctx.signal` when the client went away):
      // an abort, logged and measured as a stream the callers left is, not a provider error.
      if (group.aborted && error === thrown && thrown instanceof AbortError) {
        recordCall(call, undefined, costMicros, undefined, undefined)
        log(call, { outcome: 'aborted', cache: cacheOf(call), ...charged })
        throw error
      }
      recordCall(call, undefined, costMicros, error, undefined)
      log(call, { outcome: 'error', cache: cacheOf(call), error: describeError(error), ...charged })
      throw error
    }
  }

  /**
   * One caller's share of what a call produced. `copy`: a caller other than the leader, given its
   * own copy of a response (`pristine`: the answer as the provider sent it). A stream reader is
   * made only for a caller still there; `retry` makes a new call when the stream was cut short.
   */
  const take = (
    p: Produced,
    signal: AbortSignal | undefined,
    copy: { readonly pristine: unknown } | undefined,
    silence: number,
    retry?: () => Promise<CallOutcome<unknown>>
  ): CallOutcome<unknown> | Promise<CallOutcome<unknown>> => {
    if (p.kind === 'answer') {
      if (copy === undefined) return p.outcome
      const { response } = p.outcome
      const data = copyAnswer(copy.pristine)
      return {
        data,
        response,
        extras: p.outcome.extras,
        toResponse: () => jsonResponse(copy.pristine, response),
      }
    }
    // Left before the answer came: as with the bare SDK (no stream; its promise rejects). A
    // reader made and stopped at once would be the last one and cancel the stream for the callers
    // still to come.
    if (signal?.aborted) throw goneError(signal)
    if (!p.shared.reusable && retry) return retry()
    const stream = consumerStream(p.shared, signal, p.hideUsage, p.silences.add(silence))
    const { response } = p
    return {
      data: stream,
      response,
      extras: p.extras,
      toResponse: () => sseResponse(stream, spec.encodeEvent, spec.sseTail, response),
    }
  }

  /**
   * One call: subject, mode and keys are worked out before any await. A cached call looks the
   * answer up first (a hit needs no flight); after a miss, joining or registering the flight is
   * synchronous, so identical calls issued together share one provider call (the first back from
   * its lookup registers the flight; the others, back from theirs, join it). The
   * flight key is the default cache key when Node can hash it at once (it covers API, scope,
   * params and the request options that change the answer), else the exact params JSON with API,
   * scope and that options digest.
   */
  const run = (params: Params, options: unknown): Promise<CallOutcome<unknown>> => {
    const started = performance.now()
    let split: ReturnType<typeof splitOptions>
    try {
      split = splitOptions(options)
    } catch (error) {
      // A misplaced or misspelt per-call option: refused before anything is looked up or charged.
      return handled(Promise.reject(error))
    }
    const { override, rest } = split
    const ctx = currentContext()
    // The call the request is making: Sentry events and log lines of the request are tagged with
    // it (`@aikit/observability` reads `ctx.state.llm`).
    if (ctx !== undefined) {
      ;(ctx.state as { llm?: { provider: string; model: string } }).llm = {
        provider: spec.provider,
        model: typeof params.model === 'string' ? params.model : '',
      }
    }
    const fromContext = ctx?.state.subject
    const subject =
      override?.subject ??
      (typeof fromContext === 'string' && fromContext !== '' ? fromContext : undefined) ??
      opts.subject
    if (subject === undefined && (opts.requireSubject || opts.budget)) {
      return handled(Promise.reject(new SubjectRequiredError()))
    }
    const mode = override?.cache ?? 'default'
    const joined = joinSignals(rest?.signal as AbortSignal | undefined, ctx?.signal)
    const signal = joined.signal
    /** Unlinks a joined signal once the call has settled (a stream's reader holds it on). */
    const settled = (outcome: Promise<CallOutcome<unknown>>): Promise<CallOutcome<unknown>> => {
      if (joined.release !== ignore) outcome.then(joined.release, joined.release)
      return outcome
    }
    const own = writesConversation(params)
    const cacheable =
      opts.cache !== undefined &&
      mode !== 'no-store' &&
      !own &&
      (opts.cacheSampling || isDeterministic(params))
    const shareable = opts.coalesce && mode === 'default' && !own
    // Request options that change the answer (headers, query, …) are part of both keys, as a
    // digest; options that cannot be serialised stably keep the call out of both. The client's
    // own settings (base URL, credential, default headers…) are part of it too: two clients
    // sharing one cache never get each other's answers.
    const digest =
      rest === undefined || !(cacheable || shareable)
        ? identity
        : withClient(identity, requestOptionsDigest(rest))
    const wantsKey = cacheable && digest !== undefined
    const coalescing = shareable && digest !== undefined
    // Serialised once per call (never memoised per object: callers reuse and mutate params).
    // The digest after a NUL, which JSON text never holds: no params JSON can forge it.
    const json =
      wantsKey || coalescing
        ? digest
          ? `${stableStringify(params)}\u0000${digest}`
          : stableStringify(params)
        : ''
    const scope = subject ?? ''
    // The caller's timeout of its own: its `timeout` request option, else the one set on its
    // client (a `withOptions({ timeout })` copy; not the SDK's default, which a shared request
    // keeps when no caller has set one: the SDK then times it as the bare call). It bounds the
    // cache lookup on every path (`coalesce: false` too); in a coalesced call, the wait after it.
    const requestTimeout = timeoutOf(rest)
    const clientTimeout = requestTimeout === undefined ? timeoutOf(client) : undefined
    const ownTimeout =
      requestTimeout ?? (clientTimeout === DEFAULT_SDK_TIMEOUT_MS ? undefined : clientTimeout)
    const timeout = coalescing ? ownTimeout : undefined
    // How long this caller's own stream would wait through a provider silence (streams only).
    const silence = params.stream === true ? silenceOf(requestTimeout) : 0
    const base: Call = {
      params,
      // A shared call must not end at one caller's `timeout`: each caller's is its own deadline
      // (see `leaving`; a caller without one of its own takes its client's default), and the last
      // one out aborts the provider request.
      rest: timeout === undefined ? rest : { ...rest, timeout: SHARED_TIMEOUT_MS },
      timeout: requestTimeout,
      subject,
      mode,
      stream: params.stream === true,
      model: typeof params.model === 'string' ? params.model : '',
      requestId: (ctx?.state as Record<string, unknown> | undefined)?.requestId,
      started,
      key: undefined,
      limited: false,
      attempts: undefined,
    }
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
    // Worked out once: the lookup asks first, then the provider call (a custom `cacheKey` that
    // leaves the call uncached is not asked twice).
    let keying: Promise<Call> | undefined
    const withKey = (): Call | Promise<Call> => {
      if (!wantsKey || base.key !== undefined) return base
      keying ??=
        opts.cacheKey === defaultCacheKey
          ? keyFromJson(json, scope, spec.api).then((k) => {
              base.key = k
              return base
            })
          : (async () => {
              const key = await opts.cacheKey(params, { scope, api: spec.api })
              // A custom key sees the params only: the options digest is added to it, and a
              // streamed call's key is its own (`llmCacheKey` leaves `stream` out, as a transport
              // field): a stream caller must never be handed a cached message, nor the other way
              // round.
              if (key === undefined) base.key = undefined
              else {
                const withDigest = digest ? `${key}:${digest}` : key
                base.key = base.stream ? `${withDigest}:stream` : withDigest
              }
              return base
            })()
      return keying
    }
    const begin = (leader: (call: Call) => Promise<Produced>): Promise<Produced> => {
      const call = withKey()
      return call instanceof Promise ? call.then(leader) : leader(call)
    }
    // The cache key starts with `llm:`, the JSON form with the API name: the two never meet.
    const flightKey = coalescing
      ? (base.key ?? `${spec.api}\u0000${scope}\u0000${json}`)
      : undefined

    /** A call that does not coalesce, past the lookup. */
    const solo = (): Promise<CallOutcome<unknown>> => {
      // The SDK call is this caller's alone: its signal and timeout go to the SDK as they are.
      const group = new SignalGroup()
      group.join(signal)
      return handled(
        begin((call) => lead(call, group, ignore)).then(
          (p) => {
            // A live stream disposes of the group when it ends; anything else now.
            if (p.kind !== 'stream') {
              group.dispose()
              return take(p, signal, undefined, silence)
            }
            try {
              return take(p, signal, undefined, silence)
            } finally {
              p.release()
            }
          },
          (error: unknown) => {
            group.dispose()
            throw error
          }
        )
      )
    }

    /** Joins the flight for this call, or starts it (past the lookup). */
    const fly = (flightKey: string): Promise<CallOutcome<unknown>> => {
      // What is left of the caller's own timeout (its request's, else its client's): its deadline
      // covers the lookup too.
      const left =
        timeout === undefined ? undefined : Math.max(0, timeout - (performance.now() - started))
      const existing = flights.get(flightKey)
      if (existing) {
        countCache('coalesced')
        // Each caller waits at most as long as the bare SDK would have: its own timeout, else
        // its client's default when the shared request no longer runs on it.
        const deadline = left ?? (existing.untimed ? clientTimeout : undefined)
        return handled(
          existing.join(leaving(signal, deadline), signal, () => run(params, options), silence)
        )
      }
      const gone = leaving(signal, left)
      // Callers that have not taken their share yet (the leader, then each joiner): the last one
      // to take lets go of a live stream's hold.
      let waiting = 1
      let joined = false
      let pristine: { readonly pristine: unknown } | undefined
      // Set once the flight is in `flights` (never again once it has left).
      let registered = false
      // Set once the call has produced (or failed): its signal group is disposed of.
      let over = false
      const leave = (): void => {
        if (!registered) return
        registered = false
        if (flights.get(flightKey) === flight) flights.delete(flightKey)
      }
      // The flight leaves the moment every caller has gone: its provider call is being aborted (its
      // reservation released, a store round trip), and a caller arriving meanwhile must make a call
      // of its own, not join one doomed to fail with the others' abort or timeout.
      const group = new SignalGroup(leave)
      group.join(gone?.signal)
      const produced = begin((call) => lead(call, group, leave))
      // Registered first, so it runs before any caller has the answer: the joiners' copies are made
      // from the answer as it came, whatever the leader's caller does to its own.
      produced.then(
        (p) => {
          // A stream stays joinable while it runs (`leave` runs when it ends); the rest is done now,
          // but for an answer's cache write (see `stored`).
          if (p.kind === 'stream') return
          over = true
          group.dispose()
          if (p.kind === 'answer' && joined) pristine = { pristine: copyAnswer(p.outcome.data) }
          const stored = p.kind === 'answer' ? p.stored : undefined
          if (stored) void stored.then(leave)
          else leave()
        },
        () => {
          over = true
          leave()
          group.dispose()
        }
      )
      /**
       * One caller's outcome: its share of what the flight produced, or, as soon as the caller has
       * gone (its signal, its timeout), the SDK's own error: the shared call goes on for the others.
       */
      const share = (
        g: Gone | undefined,
        own: AbortSignal | undefined,
        copy: boolean,
        silence: number,
        retry?: () => Promise<CallOutcome<unknown>>
      ): Promise<CallOutcome<unknown>> => {
        const taken = produced.then(
          (p) => {
            try {
              // Gone already (its promise has rejected): no reader for it, nothing to copy.
              if (g?.signal.aborted) throw goneError(g.signal)
              if (copy && p.kind === 'answer') {
                // A caller joining while the answer is being stored: the leader's caller may have
                // edited its answer by then, the cache's copy is as it came.
                pristine ??= { pristine: withExtras(p.kept, p.outcome.data) }
                return take(p, own, pristine, silence)
              }
              return take(p, own, undefined, silence, retry)
            } finally {
              if (--waiting === 0 && p.kind === 'stream') p.release()
            }
          },
          retry === undefined
            ? undefined
            : (error: unknown) => {
                // Refused by the SDK before any request was sent (Anthropic's "Streaming is
                // required" for a long non-streamed call without a timeout of its own): the
                // leader's refusal, not the provider's answer. A joiner makes the call of its own,
                // and gets what its bare SDK call would (sent, with a timeout of its own).
                if (typeof error === 'object' && error !== null && unsent.has(error)) return retry()
                throw error
              }
        )
        // The last caller out aborts the shared call: its error then comes once that call has
        // ended (its reservations released), as with the bare SDK.
        return g === undefined
          ? taken
          : raceGone(taken, g, goneError, () => (group.aborted ? produced : undefined))
      }
      const flight: Flight = {
        untimed: timeout !== undefined,
        join: (g, own, retry, joinerSilence) => {
          // Joining while the answer is being stored: the provider call is over, nothing to abort.
          if (!over) group.join(g?.signal)
          waiting++
          joined = true
          return share(g, own, true, joinerSilence, () => {
            // Cut short before this caller could read it, or refused before it was sent: a call
            // of its own.
            leave()
            return retry()
          })
        },
      }
      // A caller gone already (its signal aborted before it called) leaves no flight to join.
      if (!group.aborted) {
        flights.set(flightKey, flight)
        registered = true
      }
      return handled(share(gone, signal, false, silence))
    }

    /** The call past the lookup: the provider call (its own, or a flight's). */
    const miss = (): Promise<CallOutcome<unknown>> =>
      flightKey === undefined ? solo() : fly(flightKey)

    // A hit needs no flight, no signal group, no timer: the lookup comes first, on every path (a
    // `timeout`, `coalesce: false`, a custom `cacheKey`), and only a miss joins or starts a flight
    // (a call that joins a flight already there when it is made does not look up: the flight's
    // leader did). Calls issued together all look up; the first back from a miss registers the
    // flight before any other can. A caller leaves a slow lookup the moment its signal aborts or
    // its `timeout` passes (in a coalesced call one deadline covers the lookup and the wait after
    // it; a call that does not coalesce then hands its `timeout` to its own SDK request).
    if (wantsKey && mode === 'default' && (flightKey === undefined || !flights.has(flightKey))) {
      const deadline = ownTimeout === undefined ? undefined : started + ownTimeout
      const first = (call: Call): Promise<CallOutcome<unknown>> => {
        // A custom key that leaves this call uncached.
        if (call.key === undefined) return miss()
        return lookup(call.key, signal, deadline).then((value) => {
          // Gone by the time the store answered (the same turn): no hit, no flight of its own.
          if (signal?.aborted) throw new AbortError()
          const hit = accept(value, call)
          return hit ? hitOutcome(hit, signal, call) : miss()
        })
      }
      const call = withKey()
      return settled(handled(call instanceof Promise ? call.then(first) : first(call)))
    }
    return settled(miss())
  }

  return function create(params: Params, options?: unknown): LlmCallPromise<unknown> {
    // Every promise `run` returns has a rejection handler already.
    return new LlmCallPromise(run(params, options), true)
  }
}

const ignore = (): void => {}

/**
 * `client` with each of `methods` (paths under it: `['embeddings', 'create']`) refusing with
 * `UnmeteredMethodError` (a rejected promise with the SDK's `withResponse()` / `asResponse()`,
 * before any request), in a proxy as the wrapper's own (the SDK object is not modified); a path
 * the client does not have is skipped. Its `withOptions()` copies refuse them too.
 */
export function refuseUnmetered<C extends object>(
  client: C,
  methods: readonly (readonly string[])[]
): C {
  const build = <T extends object>(
    target: T,
    paths: readonly (readonly string[])[],
    prefix: string,
    root: boolean
  ): T => {
    const overrides: Record<string, unknown> = {}
    const below = new Map<string, (readonly string[])[]>()
    for (const [name, ...rest] of paths) {
      if (name === undefined) continue
      const value = (target as Record<string, unknown>)[name]
      if (rest.length === 0) {
        if (typeof value !== 'function') continue
        const method = `${prefix}${name}`
        overrides[name] = (): LlmCallPromise<never> =>
          new LlmCallPromise(Promise.reject(new UnmeteredMethodError(method)))
      } else if (typeof value === 'object' && value !== null) {
        const list = below.get(name) ?? []
        list.push(rest)
        below.set(name, list)
      }
    }
    for (const [name, rest] of below) {
      const child = (target as Record<string, unknown>)[name] as object
      overrides[name] = build(child, rest, `${prefix}${name}.`, false)
    }
    const withOptions = (target as Record<string, unknown>).withOptions
    if (root && typeof withOptions === 'function') {
      overrides.withOptions = (...args: unknown[]): unknown => {
        const derived: unknown = withOptions.apply(target, args)
        return typeof derived === 'object' && derived !== null
          ? refuseUnmetered(derived, methods)
          : derived
      }
    }
    return overlay(target, overrides, root)
  }
  return build(client, methods, '', true)
}

/**
 * The signal of a call: the caller's own and the request's (`ctx.signal`, the client went away),
 * either aborting it. Not the caller's alone: the SDK helpers (openai `chat.completions.stream()`,
 * `responses.stream()`, `runTools()`; Anthropic `messages.stream()`) always pass a signal of their
 * own, and a call that ignored the request's then ran (and was billed) to its end for nobody.
 * Either may live far longer than the call (an agent loop's, a server's): `release` unlinks the
 * joined signal from both once the call is over (`anySignal`, not `AbortSignal.any`).
 */
function joinSignals(
  own: AbortSignal | undefined,
  request: AbortSignal | undefined
): { readonly signal: AbortSignal | undefined; readonly release: () => void } {
  if (own === undefined || request === undefined || own === request) {
    return { signal: own ?? request, release: ignore }
  }
  if (own.aborted) return { signal: own, release: ignore }
  if (request.aborted) return { signal: request, release: ignore }
  return anySignal([own, request])
}

/**
 * Whether an answer (or one of its stream events) says its output stopped at the output limit:
 * an Anthropic `stop_reason: 'max_tokens'` (a message, a `message_delta`), an OpenAI chat choice's
 * `finish_reason: 'length'`, a Responses answer `incomplete` for `max_output_tokens` (the answer,
 * a `response.incomplete` event).
 */
function cutAtLimit(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const v = value as {
    stop_reason?: unknown
    delta?: { stop_reason?: unknown } | null
    choices?: unknown
    incomplete_details?: { reason?: unknown } | null
    response?: { incomplete_details?: { reason?: unknown } | null } | null
  }
  if (v.stop_reason === 'max_tokens' || v.delta?.stop_reason === 'max_tokens') return true
  if (
    v.incomplete_details?.reason === 'max_output_tokens' ||
    v.response?.incomplete_details?.reason === 'max_output_tokens'
  ) {
    return true
  }
  if (!Array.isArray(v.choices)) return false
  for (const choice of v.choices as unknown[]) {
    if ((choice as { finish_reason?: unknown } | null)?.finish_reason === 'length') return true
  }
  return false
}

/** `constructor` when it is a class (an SDK error static), else `undefined`. */
function sdkClass(value: unknown): SdkErrorClass | undefined {
  return typeof value === 'function' ? (value as SdkErrorClass) : undefined
}

/**
 * The SDK `timeout` of a shared call whose caller set one: the longest timer there is, so only the
 * callers' own deadlines end it. Not left out: an explicit timeout is also what lets the Anthropic
 * SDK send a long non-streamed request (without one it refuses a large `max_tokens`).
 */
const SHARED_TIMEOUT_MS = 2_147_483_647

/** Both SDKs' default `timeout` (10 minutes), for a client that does not say its own. */
const DEFAULT_SDK_TIMEOUT_MS = 600_000

/**
 * The `timeout` (ms) of request options when the caller set a usable one; of a client (both SDKs'
 * `client.timeout`: its `timeout` option, else the SDK's default of 10 minutes) when it has one.
 */
function timeoutOf(from: unknown): number | undefined {
  const timeout = (from as { timeout?: unknown } | null | undefined)?.timeout
  return typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 0
    ? timeout
    : undefined
}

/**
 * How a caller of a shared call leaves it: its signal, and its `timeout` (ms, the SDK's request
 * option) as a deadline from now, as the bare SDK would time its own request out. `undefined`
 * for a caller with neither (it waits for the shared call).
 */
function leaving(signal: AbortSignal | undefined, timeout: number | undefined): Gone | undefined {
  if (timeout === undefined) return signal === undefined ? undefined : { signal, dispose: ignore }
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new TimedOut()), timeout)
  const onAbort = (): void => controller.abort(signal?.reason)
  if (signal?.aborted) onAbort()
  else signal?.addEventListener('abort', onAbort, { once: true })
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    },
  }
}

/**
 * `taken`, or `error(gone.signal)` once the caller has gone: at once, or when `whenLast()` (the
 * shared call, when this caller was the last one in it) has settled. A stream handed over after
 * the caller had gone is aborted (its reader must not keep the shared stream open).
 */
function raceGone<T extends { readonly data: unknown }>(
  taken: Promise<T>,
  gone: Gone,
  error: (signal: AbortSignal) => Error,
  whenLast: () => Promise<unknown> | undefined
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal } = gone
    let left = false
    const fail = (): void => reject(error(signal))
    const onGone = (): void => {
      left = true
      gone.dispose()
      const last = whenLast()
      if (last === undefined) fail()
      else last.then(fail, fail)
    }
    taken.then(
      (value) => {
        if (left) {
          const controller = (value.data as { controller?: { abort?: unknown } } | null)?.controller
          if (typeof controller?.abort === 'function') stopRequest(controller as AbortController)
          fail()
          return
        }
        signal.removeEventListener('abort', onGone)
        gone.dispose()
        resolve(value)
      },
      (reason: unknown) => {
        if (left) return fail()
        signal.removeEventListener('abort', onGone)
        gone.dispose()
        reject(reason)
      }
    )
    // Listened to after the call's SignalGroup (joined first), so `whenLast` sees it aborted.
    if (signal.aborted) onGone()
    else signal.addEventListener('abort', onGone, { once: true })
  })
}

/**
 * A caller's own copy of a response: the JSON data, and the SDK's non-enumerable extras on it
 * (`_request_id`, `_workspace_id`), which a JSON copy would drop.
 */
function copyAnswer(data: unknown): unknown {
  const copy = copyEvent(data)
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return copy
  for (const name of Object.getOwnPropertyNames(data)) {
    const descriptor = Object.getOwnPropertyDescriptor(data, name)
    if (descriptor && !descriptor.enumerable) Object.defineProperty(copy, name, descriptor)
  }
  return copy
}

/**
 * A copy of `kept` (an untouched JSON copy of `data`) with `data`'s non-enumerable extras
 * (`_request_id`, …); a copy of `data` itself when there is none.
 */
function withExtras(kept: unknown, data: unknown): unknown {
  if (kept === undefined) return copyAnswer(data)
  const copy = copyEvent(kept)
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return copy
  if (typeof copy !== 'object' || copy === null) return copy
  for (const name of Object.getOwnPropertyNames(data)) {
    const descriptor = Object.getOwnPropertyDescriptor(data, name)
    if (descriptor && !descriptor.enumerable) Object.defineProperty(copy, name, descriptor)
  }
  return copy
}

/** `promise` with a rejection handler (the caller still sees the rejection through it). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore)
  return promise
}

/**
 * The model and usage of a non-streamed answer. A malformed usage (a negative or fractional count)
 * is `usage: undefined, invalid: true`: charged as a missing one (the held worst case, never $0),
 * and the caller still gets the answer the provider billed.
 */
function usageOf(
  data: unknown
):
  | { readonly model: string; readonly usage: Usage | undefined; readonly invalid?: true }
  | undefined {
  try {
    // `extractUsage`'s own result (no copy: this is every metered call).
    return extractUsage(data)
  } catch {
    const model = (data as { model?: unknown } | null)?.model
    return { model: typeof model === 'string' ? model : '', usage: undefined, invalid: true }
  }
}

/**
 * The budget estimate of a request whose input tokens are counted already: the tokens instead of
 * the messages, with the request's cache-write TTL and service tier.
 */
function countedEstimate(estimate: RequestEstimate, inputTokens: number): BudgetEstimate {
  const counted: Extract<BudgetEstimate, { inputTokens: number }> = {
    model: estimate.model,
    inputTokens,
    maxOutputTokens: estimate.maxOutputTokens,
  }
  if (estimate.cacheWrite !== undefined) counted.cacheWrite = estimate.cacheWrite
  if (estimate.serviceTier !== undefined) counted.serviceTier = estimate.serviceTier
  if (estimate.speed !== undefined) counted.speed = estimate.speed
  if (estimate.inferenceGeo !== undefined) counted.inferenceGeo = estimate.inferenceGeo
  // For the web searches they may run (held on top of the tokens).
  if (Array.isArray(estimate.tools) && estimate.tools.length > 0) counted.tools = estimate.tools
  return counted
}

/** Input tokens of a request, as the budget estimates them from its messages. */
function tokensOf(estimate: RequestEstimate): number {
  // The estimate is its own options (`system`, `tools`): no copy per call.
  return estimateTokens(estimate.messages, estimate.model, estimate)
}

/** The clock of a budget's store (Redis `TIME` corrected to this process), when it has one. */
function budgetClock(store: { now?: () => number } | undefined): (() => number) | undefined {
  const now = store?.now
  return typeof now === 'function' ? () => now.call(store) : undefined
}

/** Error fields safe to log (no message bodies, no headers). */
function describeError(error: unknown): Record<string, unknown> {
  if (typeof error !== 'object' || error === null) return { type: typeof error }
  const e = error as { name?: unknown; status?: unknown; code?: unknown }
  return { name: e.name, status: e.status, code: e.code }
}
