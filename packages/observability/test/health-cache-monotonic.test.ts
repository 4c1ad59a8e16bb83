/**
 * healthCheck `cacheMs` ages a cached check result on the monotonic clock (`performance.now()`),
 * not the wall clock: a step of the wall clock (NTP correction, VM resume) neither pins a cached
 * result (a failure included) past `cacheMs` nor drops it before.
 */
import { healthCheck } from '@aikit/observability'
import { afterEach, describe, expect, it, vi } from 'vitest'

afterEach(() => {
  vi.restoreAllMocks()
})

/** A readiness check that fails until `healthy` is set, counting its calls. */
function dependency(cacheMs: number) {
  const state = { healthy: false, calls: 0 }
  const health = healthCheck({
    checks: {
      dep: {
        check: async () => {
          state.calls++
          if (!state.healthy) throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' })
        },
        cacheMs,
      },
    },
  })
  return { state, health }
}

describe('healthCheck cacheMs and the wall clock', () => {
  it('a step back of the wall clock does not pin a cached failure past cacheMs', async () => {
    const { state, health } = dependency(200)
    expect((await health.readiness()).status).toBe('fail')
    state.healthy = true
    const real = Date.now()
    // The wall clock steps an hour back, then more than cacheMs of real time passes.
    vi.spyOn(Date, 'now').mockImplementation(() => real - 3_600_000)
    await new Promise((r) => setTimeout(r, 400))
    expect((await health.readiness()).status).toBe('pass')
    expect(state.calls).toBe(2)
  })

  it('a step forward of the wall clock does not drop a cached result before cacheMs', async () => {
    const { state, health } = dependency(60_000)
    expect((await health.readiness()).status).toBe('fail')
    state.healthy = true
    const real = Date.now()
    vi.spyOn(Date, 'now').mockImplementation(() => real + 3_600_000)
    expect((await health.readiness()).status).toBe('fail')
    expect(state.calls).toBe(1)
  })
})
