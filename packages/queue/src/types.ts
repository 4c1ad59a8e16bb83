/**
 * @module types
 * What a job is, what it produces and what followers receive. Everything stored in Redis is
 * plain JSON.
 */
import type { ReservationHandle, Usage } from '@aikit/cost'
import type { LlmJobError } from './errors.js'

/** The provider and API a job calls. */
export type LlmProvider = 'anthropic' | 'openai'
/** `messages` (Anthropic Messages), `chat` (OpenAI Chat Completions), `responses` (OpenAI Responses). */
export type LlmApi = 'messages' | 'chat' | 'responses'
/** Cache behaviour of the job's call (the wrapped client's per-call `cache` override). */
export type LlmCacheMode = 'default' | 'no-store' | 'refresh'

/** The payload BullMQ stores for one job (version 1). */
export interface LlmJobData {
  readonly v: 1
  readonly provider: LlmProvider
  readonly api: LlmApi
  /** Request params without `stream` / `stream_options` (the worker always streams). */
  readonly params: Record<string, unknown>
  readonly subject?: string
  readonly cache?: LlmCacheMode
  /** How long the worker keeps the result and the event log. */
  readonly resultTtlMs: number
  /** The dedupe (cache) key the job was enqueued under. */
  readonly key: string
  /**
   * The budget hold made at enqueue (`reservation.toJSON()`): the worker that completes the job
   * settles it (or releases it when the job fails for good) through `budget.restore(hold)`.
   */
  readonly hold?: ReservationHandle
  /** The hold's lifetime: the worker renews it to this while the job runs. */
  readonly holdTtlMs?: number
}

/** A completed job. */
export interface LlmJobResult {
  readonly jobId: string
  /** The answer text (every text delta, in order). */
  readonly text: string
  /** The model that answered. */
  readonly model: string
  /** Token usage from the stream's final usage event (estimated when the provider sent none). */
  readonly usage: Usage
  /** `'hit'` when the wrapped client answered from its cache (no provider call, nothing charged). */
  readonly cache: 'hit' | 'miss'
  /** Attempts it took (1 = first try). */
  readonly attempts: number
  /** Epoch ms. */
  readonly finishedAt: number
}

/** What `result` stores: one of the two outcomes. */
export type StoredOutcome =
  | { readonly status: 'completed'; readonly result: LlmJobResult }
  | { readonly status: 'failed'; readonly error: LlmJobError }

/**
 * One event of a job, as `follow()` yields it and `sseHandler` sends it. `run` counts the runs of
 * the job (a stalled job restarted by another worker starts run 2), `seq` counts events in a run;
 * `id` is `<run>.<seq>` (the SSE event id, for `Last-Event-ID`).
 * - `start`: a run begins; a follower drops the text of an earlier run.
 * - `token`: a text delta.
 * - `retry`: the attempt failed and will be retried after `delayMs` (then a new `start`).
 * - `done` / `error`: the end (the follower's iteration ends after it).
 */
export type LlmJobEvent =
  | { readonly type: 'start'; readonly id: string; readonly run: number; readonly seq: number }
  | {
      readonly type: 'token'
      readonly id: string
      readonly run: number
      readonly seq: number
      readonly text: string
    }
  | {
      readonly type: 'retry'
      readonly id: string
      readonly run: number
      readonly seq: number
      readonly delayMs: number
      readonly status?: number
    }
  | {
      readonly type: 'done'
      readonly id: string
      readonly run: number
      readonly seq: number
      readonly result: LlmJobResult
    }
  | {
      readonly type: 'error'
      readonly id: string
      readonly run: number
      readonly seq: number
      readonly error: LlmJobError
    }

/** A create method of an SDK resource (structural: the real SDKs and the wrapped clients fit). */
export type CreateMethod = (params: never, options?: never) => unknown

/** An Anthropic client, wrapped with `wrapAnthropic` (structural). */
export interface AnthropicLike {
  readonly messages: { create: CreateMethod }
}

/** An OpenAI client, wrapped with `wrapOpenAI` (structural). */
export interface OpenAILike {
  readonly chat: { readonly completions: { create: CreateMethod } }
  readonly responses?: { create: CreateMethod }
}
