/**
 * Signals that live far longer than one job or one wait keep nothing per job or per wait: the
 * worker's close signal, joined with each job's signal, and a caller's signal passed to `result()`
 * along with a `timeout` are unlinked (no listener, no `AbortSignal.any` dependant: on Node 20,
 * nodejs/node#55351, those are never removed) once the job or the wait is over, whatever its end.
 */
import { randomUUID } from 'node:crypto'
import { getEventListeners } from 'node:events'
import { collectGarbage } from '@aikit/testing/heap'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

function dependants(signal: AbortSignal): number {
  const sym = Object.getOwnPropertySymbols(signal).find(
    (s) => s.toString() === 'Symbol(kDependantSignals)'
  )
  const set =
    sym === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown>>)[sym]
  return set?.size ?? 0
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length

/**
 * Runs `fn`, counting per signal how often it was joined to another (an abort listener added, or
 * a source of `AbortSignal.any`).
 */
async function countingJoins(fn: () => Promise<void>): Promise<Map<AbortSignal, number>> {
  const joins = new Map<AbortSignal, number>()
  const count = (s: AbortSignal): void => {
    joins.set(s, (joins.get(s) ?? 0) + 1)
  }
  const any = AbortSignal.any
  const add = AbortSignal.prototype.addEventListener
  AbortSignal.any = (signals: Iterable<AbortSignal>) => {
    const list = [...signals]
    for (const s of list) count(s)
    return any.call(AbortSignal, list)
  }
  AbortSignal.prototype.addEventListener = function (
    this: AbortSignal,
    type: string,
    ...rest: unknown[]
  ) {
    if (type === 'abort') count(this)
    return (add as (this: AbortSignal, ...a: unknown[]) => void).call(this, type, ...rest)
  } as typeof add
  try {
    await fn()
  } finally {
    AbortSignal.any = any
    AbortSignal.prototype.addEventListener = add
  }
  return joins
}

async function collect(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    collectGarbage()
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('long-lived signals keep nothing per job or wait', () => {
  it("30 jobs leave nothing on the worker's close signal", async () => {
    const name = h.name()
    const q = h.queue({ name })
    h.worker({ name })
    const joins = await countingJoins(async () => {
      for (let i = 0; i < 30; i++) {
        const { jobId } = await q.enqueue({
          provider: 'anthropic',
          api: 'messages',
          params: messages(`job ${i}`),
        })
        await q.result(jobId)
      }
    })
    // The worker's close signal is joined with each job's signal (worker.ts).
    const longLived = [...joins].filter(([, n]) => n >= 30).map(([s]) => s)
    expect(longLived.length).toBeGreaterThan(0)
    await collect()
    for (const s of longLived) {
      expect(listeners(s)).toBeLessThan(5)
      expect(dependants(s)).toBeLessThan(10)
    }
  }, 60_000)

  it("30 result() waits with a timeout leave nothing on the caller's signal", async () => {
    const name = h.name()
    const q = h.queue({ name })
    h.worker({ name })
    const app = new AbortController() // lives as long as the app
    for (let i = 0; i < 30; i++) {
      const { jobId } = await q.enqueue({
        provider: 'anthropic',
        api: 'messages',
        params: messages(`wait ${i}`),
      })
      await q.result(jobId, { signal: app.signal, timeout: 30_000 })
    }
    // A wait that fails (an unknown job) unlinks as well.
    await expect(q.result(randomUUID(), { signal: app.signal, timeout: 30_000 })).rejects.toThrow()
    await collect()
    expect(listeners(app.signal)).toBe(0)
    expect(dependants(app.signal)).toBeLessThan(10)
  }, 60_000)

  it("result() still ends with the caller's reason, or a TimeoutError, whichever comes first", async () => {
    const name = h.name()
    const q = h.queue({ name }) // no worker: the job never ends
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      params: messages('never run'),
    })
    const app = new AbortController()
    const reason = new Error('app stopping')
    const waiting = q.result(jobId, { signal: app.signal, timeout: 60_000 }).catch((e) => e)
    setTimeout(() => app.abort(reason), 50)
    expect(await waiting).toBe(reason)
    const other = new AbortController()
    const timedOut = await q
      .result(jobId, { signal: other.signal, timeout: 100 })
      .catch((e: unknown) => e)
    expect((timedOut as Error).name).toBe('TimeoutError')
    expect(listeners(app.signal)).toBe(0)
    expect(listeners(other.signal)).toBe(0)
  }, 30_000)
})
