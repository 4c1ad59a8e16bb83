/**
 * Shared harness: one real redis-server and one fake provider per test file, the real SDKs
 * wrapped by @aikit/llm (no budget on the worker side: the queue holds it).
 */
import { wrapAnthropic } from '@aikit/llm/anthropic'
import { wrapOpenAI } from '@aikit/llm/openai'
import {
  createLlmQueue,
  createLlmWorker,
  type LlmJobEvent,
  type LlmQueueOptions,
  type LlmWorkerOptions,
} from '@aikit/queue'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { type RedisServer, type StartRedisOptions, startRedis } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import type { Redis } from 'ioredis'
import OpenAI from 'openai'

export interface Harness {
  redis: RedisServer
  provider: FakeProvider
  /** A fresh queue name per test, so tests never see each other's jobs. */
  name(): string
  queue(options?: Partial<LlmQueueOptions>): ReturnType<typeof createLlmQueue>
  worker(options?: Partial<LlmWorkerOptions>): ReturnType<typeof createLlmWorker>
  anthropic(): Anthropic
  openai(): OpenAI
  close(): Promise<void>
}

/** `redisOptions`: e.g. `{ args: ['--appendonly', 'yes'] }` for data that outlives `kill()`. */
export async function startHarness(redisOptions?: StartRedisOptions): Promise<Harness> {
  const [redis, provider] = await Promise.all([startRedis(redisOptions), startFakeProvider()])
  const closers: (() => Promise<void>)[] = []
  let n = 0
  const h: Harness = {
    redis,
    provider,
    name: () => `q${++n}${Math.random().toString(36).slice(2, 6)}`,
    queue(options = {}) {
      const q = createLlmQueue({ connection: redis.client(), pollInterval: 200, ...options })
      closers.push(() => q.close())
      return q
    },
    worker(options = {}) {
      const w = createLlmWorker({
        connection: redis.client(),
        clients: { anthropic: h.anthropic(), openai: h.openai() },
        ...options,
      })
      closers.push(() => w.close(true))
      return w
    },
    anthropic: () =>
      wrapAnthropic(
        new Anthropic({ apiKey: 'test-key', baseURL: provider.anthropicBaseURL, maxRetries: 0 })
      ),
    openai: () =>
      wrapOpenAI(
        new OpenAI({ apiKey: 'test-key', baseURL: provider.openaiBaseURL, maxRetries: 0 })
      ),
    async close() {
      for (const c of closers.reverse()) await c().catch(() => undefined)
      await Promise.all([provider.close(), redis.stop()])
    },
  }
  return h
}

/** Anthropic Messages params asking for `text` back (the fake echoes the last user message). */
export const messages = (text: string, model = 'claude-haiku-4-5') => ({
  model,
  max_tokens: 256,
  messages: [{ role: 'user', content: text }],
})

/** Collects a follower's events until it ends. */
export async function collect(events: AsyncIterable<LlmJobEvent>): Promise<LlmJobEvent[]> {
  const out: LlmJobEvent[] = []
  for await (const e of events) out.push(e)
  return out
}

/** The text of the last run in a list of events (what a browser shows). */
export function lastRunText(events: readonly LlmJobEvent[]): string {
  let text = ''
  for (const e of events) {
    if (e.type === 'start') text = ''
    if (e.type === 'token') text += e.text
  }
  return text
}

/** Reads a promise's outcome without awaiting it: 'pending', or what it settled with. */
export function outcome(p: Promise<unknown>): () => unknown {
  let state: unknown = 'pending'
  p.then(
    (value) => {
      state = { resolved: value }
    },
    (error: unknown) => {
      state = { rejected: error }
    }
  )
  return () => state
}

/** Resolves after `client` emitted `n` more 'error' events (failed reconnects while Redis is down). */
export function reconnectFailures(client: Redis, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0
    const onError = (): void => {
      if (++seen < n) return
      client.off('error', onError)
      resolve()
    }
    client.on('error', onError)
  })
}
