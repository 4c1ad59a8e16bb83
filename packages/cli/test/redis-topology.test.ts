/**
 * The `redis-topology` item. README: WARN in production with `instances > 1` when a section is
 * kept on a memory store. A section with no `store` is on memoryStore(): it is the default of
 * createRateLimiter and createBudget (createCache then keeps its memory tier only).
 */
import { createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const topology = (config: Record<string, unknown>) =>
  runDoctor({ env: GOOD_ENV, config }).items.find((i) => i.id === 'redis-topology')

describe('redis-topology with several instances and REDIS_URL set', () => {
  it('warns when the rate limit declares no store (the default memoryStore is per instance)', () => {
    const config = { ...GOOD_CONFIG, rateLimit: { limits: [{ limit: 60, window: '1m' }] } }
    const item = topology(config)
    expect(item?.status).toBe('WARN')
    expect(item?.detail).toContain('rateLimit use a memory store')
  })

  it('warns when rate-limit tiers declare no store', () => {
    const config = { ...GOOD_CONFIG, rateLimit: { tiers: { free: [{ limit: 5, window: '1m' }] } } }
    expect(topology(config)?.status).toBe('WARN')
  })

  it('warns when the budget declares no store (each of the 3 instances allows the full budget)', () => {
    const config = { ...GOOD_CONFIG, budget: { limits: [{ period: 'day', usd: 5 }] } }
    const item = topology(config)
    expect(item?.status).toBe('WARN')
    expect(item?.detail).toContain('budget use a memory store')
  })

  it('warns when the cache declares no store (each instance caches apart)', () => {
    expect(topology({ ...GOOD_CONFIG, cache: {} })?.status).toBe('WARN')
  })

  it('passes a rate limit given as a ready limiter (its store is not in the config)', () => {
    const config = {
      ...GOOD_CONFIG,
      rateLimit: { limiter: createRateLimiter({ limits: [{ limit: 60, window: '1m' }] }) },
    }
    expect(runDoctor({ env: GOOD_ENV, config }).ok).toBe(true)
    expect(topology(config)?.status).toBe('PASS')
  })

  it('passes sections switched off or left out', () => {
    const { rateLimit: _, ...config } = GOOD_CONFIG
    expect(topology({ ...config, budget: false, cache: false })?.status).toBe('PASS')
  })

  it('passes a section with no store on a single instance', () => {
    const config = { ...GOOD_CONFIG, instances: 1, budget: { limits: [{ period: 'day', usd: 5 }] } }
    expect(topology(config)?.status).toBe('PASS')
  })
})
