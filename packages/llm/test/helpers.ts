import type { Context } from '@aikit/core'
import { runWithContext } from '@aikit/core/adapter'
import type { LlmCache, LlmCallMetric, LlmLogger, LlmMetrics } from '../src/shared/types.js'

/** A Map-backed cache counting reads and writes (structurally what @aikit/cache will provide). */
export function mapCache(): LlmCache & { map: Map<string, unknown>; sets: number; gets: number } {
  const map = new Map<string, unknown>()
  const cache = {
    map,
    sets: 0,
    gets: 0,
    async get(key: string) {
      cache.gets++
      // A real store serialises: replay must not depend on object identity.
      const v = map.get(key)
      return v === undefined ? undefined : structuredClone(v)
    },
    async set(key: string, value: unknown) {
      cache.sets++
      map.set(key, structuredClone(value))
    },
  }
  return cache
}

/** Metrics and logger that keep what they are given. */
export function recorders(): {
  metrics: LlmMetrics & { calls: LlmCallMetric[]; cache: string[] }
  logger: LlmLogger & { lines: Array<Record<string, unknown>> }
} {
  const calls: LlmCallMetric[] = []
  const cache: string[] = []
  const lines: Array<Record<string, unknown>> = []
  return {
    metrics: {
      calls,
      cache,
      recordLlmCall: (r) => calls.push(r),
      recordCache: (r) => cache.push(r.result),
    },
    logger: { lines, info: (message, meta) => lines.push({ message, ...meta }) },
  }
}

/** Runs `fn` inside a request context whose subject is `subject` (what the adapters do per request). */
export function inRequest<R>(
  state: { subject?: string; requestId?: string },
  fn: () => R,
  signal: AbortSignal = new AbortController().signal
): R {
  const ctx = { state, signal } as unknown as Context
  return runWithContext(ctx, fn)
}

/** Resolves once `predicate()` holds (polls every 5 ms, up to 5 s). */
export async function until(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 5))
  }
}
