/**
 * Three app processes (fixtures/app.mjs, built packages) behind one Redis, then behind a 3-master
 * Redis Cluster: concurrent requests spread over the three hold ONE global rate limit and ONE
 * budget exactly (every decision is one atomic Lua script on the shared store).
 */
import { estimateTokens, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { startRedis, startRedisCluster } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AppProcess, type BudgetStatus, call, startApp, stopAllApps } from './app-process.js'

const RATE_LIMIT = 10
const RATE_REQUESTS = 45
const MODEL = 'claude-haiku-4-5'
const MAX_TOKENS = 200
const ADMITTED = 7
const LLM_CALLS = 24

/** Fixed-length prompts: every call has the same input estimate, hence the same hold. */
const prompt = (i: number) => `question number ${String(i).padStart(4, '0')}`
const INPUT_TOKENS = estimateTokens([{ role: 'user', content: prompt(0) }], MODEL)
const HOLD = priceOf(MODEL, { input_tokens: INPUT_TOKENS, output_tokens: MAX_TOKENS })
// Room for ADMITTED and a half holds: exactly ADMITTED calls fit, however they interleave.
const BUDGET = ADMITTED * HOLD + Math.floor(HOLD / 2)

interface Backend {
  env: Record<string, string>
  stop(): Promise<void>
}

const backends: [string, () => Promise<Backend>][] = [
  [
    'one Redis',
    async () => {
      const redis = await startRedis()
      return { env: { REDIS_URL: redis.url }, stop: () => redis.stop() }
    },
  ],
  [
    'a 3-node Redis Cluster',
    async () => {
      const cluster = await startRedisCluster()
      const nodes = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')
      return { env: { REDIS_CLUSTER: nodes }, stop: () => cluster.stop() }
    },
  ],
]

describe.each(backends)('three app processes behind %s', (_name, start) => {
  let backend: Backend | undefined
  let provider: FakeProvider | undefined
  let apps: AppProcess[] = []

  beforeAll(async () => {
    ;[backend, provider] = await Promise.all([start(), startFakeProvider()])
    // The provider reports exactly the estimated usage, so each settle charges exactly the hold.
    provider.setUsage({ inputTokens: INPUT_TOKENS, outputTokens: MAX_TOKENS })
    const env = {
      ...backend.env,
      PROVIDER_URL: provider.anthropicBaseURL,
      RL_LIMIT: String(RATE_LIMIT),
      BUDGET_MICROS: String(BUDGET),
      // Exactness is under test here, not timeouts: a store call that timed out would fall back
      // to memory (rate limit) or fail closed (budget) on a loaded machine.
      COMMAND_TIMEOUT_MS: '5000',
    }
    apps = await Promise.all([startApp(env), startApp(env), startApp(env)])
    // Warm up: each instance loads its scripts (EVALSHA → NOSCRIPT → EVAL) before the bursts.
    for (const app of apps) {
      await call(`${app.url}/rl`, { headers: { 'x-user': 'warm-up' } })
      await call(`${app.url}/_budget/warm-up`)
    }
  }, 90_000)

  afterAll(async () => {
    await stopAllApps(apps)
    await provider?.close()
    await backend?.stop()
  })

  it(`holds one global rate limit: exactly ${RATE_LIMIT} of ${RATE_REQUESTS} concurrent requests pass`, async () => {
    const user = `global-${Date.now()}`
    const answers = await Promise.all(
      Array.from({ length: RATE_REQUESTS }, (_, i) =>
        call<{ degraded?: boolean; error?: { code?: string } }>(`${apps[i % 3]?.url}/rl`, {
          headers: { 'x-user': user },
        })
      )
    )
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses).toEqual([
      ...Array(RATE_LIMIT).fill(200),
      ...Array(RATE_REQUESTS - RATE_LIMIT).fill(429),
    ])
    const allowed = answers.filter((a) => a.status === 200)
    const denied = answers.filter((a) => a.status === 429)
    expect(allowed.length).toBe(RATE_LIMIT)
    expect(denied.length).toBe(RATE_REQUESTS - RATE_LIMIT)
    expect(allowed.every((a) => a.body.degraded === false)).toBe(true) // decided on Redis
    expect(denied.every((a) => a.body.error?.code === 'RATE_LIMITED')).toBe(true)
    // Every instance took part, and each saw the others' consumption.
    for (let app = 0; app < 3; app++) {
      expect(answers.filter((_, i) => i % 3 === app).some((a) => a.status === 429)).toBe(true)
    }
  })

  it(`holds one budget: ${LLM_CALLS} concurrent LLM calls, exactly floor(limit / cost) admitted, never overspent`, async () => {
    const subject = `tenant-${Date.now()}`
    const answers = await Promise.all(
      Array.from({ length: LLM_CALLS }, (_, i) =>
        call<{ error?: { code?: string } }>(`${apps[i % 3]?.url}/chat`, {
          body: { subject, text: prompt(i + 1), maxTokens: MAX_TOKENS },
        })
      )
    )
    expect(answers.filter((a) => a.status !== 200 && a.status !== 402).slice(0, 3)).toEqual([])
    const admitted = answers.filter((a) => a.status === 200)
    const rejected = answers.filter((a) => a.status === 402)
    expect(Math.floor(BUDGET / HOLD)).toBe(ADMITTED)
    expect(admitted.length).toBe(ADMITTED)
    expect(rejected.length).toBe(LLM_CALLS - ADMITTED)
    expect(rejected.every((a) => a.body.error?.code === 'BUDGET_EXCEEDED')).toBe(true)
    expect(provider?.count()).toBeGreaterThanOrEqual(ADMITTED)
    const status = (await call<BudgetStatus>(`${apps[0]?.url}/_budget/${subject}`)).body.limits[0]
    expect(status).toMatchObject({ limitMicros: BUDGET, heldMicros: 0 })
    expect(status?.spentMicros).toBe(ADMITTED * HOLD)
    expect(status?.spentMicros).toBeLessThanOrEqual(BUDGET)
  })
})
