// Types of @aikit/example-chat-kit (the module itself is plain JavaScript: index.mjs).

import type { Cache } from '@aikit/cache'
import type { Middleware, Store } from '@aikit/core'
import type { aikitEnv, Env } from '@aikit/core/env'
import type { Budget } from '@aikit/cost'
import type { createLogger, HealthCheck, Metrics } from '@aikit/observability'
import type Anthropic from '@anthropic-ai/sdk'
import type { Redis } from 'ioredis'
import type { z } from 'zod'

/** The validated environment: AI Kit's preset plus the chat's own variables. */
export type ChatConfig = Env<typeof aikitEnv> & {
  /** Dollars each anonymous session may spend per UTC day. @default 0.5 */
  readonly CHAT_DAILY_BUDGET_USD: number
  /** Chat requests per minute per client IP (an IPv6 client: per /56 network). @default 20 */
  readonly CHAT_RATE_LIMIT: number
  /** The Anthropic model asked for: one `@aikit/cost`'s price table has a price for. @default 'claude-haiku-4-5' */
  readonly ANTHROPIC_MODEL: string
  /** Milliseconds between two words of the built-in fake model. @default 30 */
  readonly FAKE_MODEL_DELAY_MS: number
}

/** Counters of the built-in fake model. */
export interface FakeProviderStats {
  /** Calls that reached the fake provider (cache hits never do). */
  calls: number
  streams: number
  /** Calls whose request signal aborted before the answer was complete. */
  aborted: number
  completed: number
}

export interface ChatMiddleware {
  securityHeaders: Middleware
  requestLogger: Middleware
  httpMetrics: Middleware
  metricsEndpoint: Middleware
  health: HealthCheck
  csrf: Middleware
  subject: Middleware
  rateLimit: Middleware
}

export interface AnswerUsage {
  inputTokens: number
  outputTokens: number
}

export interface AnswerCall {
  message: string
  /** The budget subject and cache scope. Default: the current request's `ctx.state.subject`. */
  subject?: string | undefined
  /** Stops the model call (e.g. the client went away). Default: the current request's `ctx.signal`. */
  signal?: AbortSignal | undefined
}

export interface CompleteAnswer {
  text: string
  cached: boolean
  usage: AnswerUsage | undefined
}

export interface ChatKit {
  config: ChatConfig
  /** True when ANTHROPIC_API_KEY is unset: the built-in fake model answers. */
  fakeModel: boolean
  /** The fake model's counters; undefined with a real key. */
  fakeProvider: FakeProviderStats | undefined
  /** The ioredis client when REDIS_URL is set (every store then uses Redis). */
  redis: Redis | undefined
  logger: ReturnType<typeof createLogger>
  metrics: Metrics
  /** The wrapped client (cache, budget, guard, metrics, logs). */
  anthropic: Anthropic
  cache: Cache
  budget: Budget
  middleware: ChatMiddleware
  /** [securityHeaders, requestLogger, httpMetrics, metricsEndpoint, health, csrf, subject, rateLimit] */
  stack: Middleware[]
  /** POST /api/chat (other paths go on to `next`). */
  chat: Middleware
  /**
   * The chat without a Context. With `stream: true`: the text chunks (a budget, guard or provider
   * error is thrown by the first `next()`, before any text). Otherwise the whole answer.
   */
  answer(call: AnswerCall & { stream: true }): AsyncIterable<string>
  answer(call: AnswerCall & { stream?: false | undefined }): Promise<CompleteAnswer>
  /** The adapters' options from the env (`TRUST_PROXY`). */
  adapterOptions: { trustProxy: ChatConfig['TRUST_PROXY'] }
  /** Closes the cache's bus and the Redis connection. Idempotent. */
  close(): Promise<void>
}

/** Builds the chat stack from an environment record; throws `EnvError` listing every bad variable. */
export function createChatKit(env: Record<string, string | undefined>): ChatKit

/** The body of POST /api/chat. */
export declare const ChatRequest: z.ZodType<{ message: string; stream?: boolean | undefined }>
export declare const chatEnv: Record<string, z.ZodType>
export function loadChatEnv(env: Record<string, string | undefined>): ChatConfig
export function createFakeAnthropic(options?: { delayMs?: number }): {
  fetch: typeof fetch
  stats: FakeProviderStats
}
export function fakeAnswerWords(question: string): string[]
export declare const SESSION_COOKIE: 'aikit_sid'
export type { Store }
