/**
 * Faults against the full-stack app (fixtures/app.mjs) running as a child process on the built
 * packages: Redis killed and restarted under load, Redis slowed by `DEBUG SLEEP`, a provider that
 * fails or hangs, and an app process killed in the middle of a stream.
 *
 * Policies under test (from the package READMEs): the rate limiter falls back to memory
 * (`onStoreError: 'memory'`), the cache degrades to memory + fetcher, the budget fails CLOSED
 * (store errors are 503 `STORE_UNAVAILABLE` / `STORE_TIMEOUT`, never an unchecked call). Times are
 * printed, never asserted: recovery is asserted as an order of events within a bounded poll.
 */
import { estimateTokens, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { type RedisServer, rawCommand, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import {
  type AppEvents,
  type AppProcess,
  type BudgetStatus,
  call,
  pollUntil,
  startApp,
  stopAllApps,
} from './app-process.js'

const STORE_ERROR_CODES = ['STORE_UNAVAILABLE', 'STORE_TIMEOUT']
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface ErrorBody {
  error?: { code?: string; details?: { name?: string; providerStatus?: number | null } }
}

let redis: RedisServer
let provider: FakeProvider
let app: AppProcess
const extraApps: AppProcess[] = []
const extraProviders: FakeProvider[] = []

beforeAll(async () => {
  ;[redis, provider] = await Promise.all([
    startRedis({ args: ['--enable-debug-command', 'yes'] }),
    startFakeProvider(),
  ])
  app = await startApp({
    REDIS_URL: redis.url,
    PROVIDER_URL: provider.anthropicBaseURL,
    SDK_TIMEOUT_MS: '800',
    // Generous for a loaded CI machine: only a real outage or the DEBUG SLEEP below may trip it.
    COMMAND_TIMEOUT_MS: '500',
    RESERVATION_TTL: '2s',
  })
}, 30_000)

afterAll(async () => {
  await stopAllApps([app, ...extraApps])
  await Promise.all(extraProviders.map((p) => p.close()))
  await provider?.close()
  await redis?.stop()
})

const rlOf = (user: string) =>
  call<{ degraded?: boolean }>(`${app.url}/rl`, { headers: { 'x-user': user } })
const budgetOf = async (base: string, subject: string) => {
  const res = await call<BudgetStatus>(`${base}/_budget/${subject}`)
  // A failed status read names its answer instead of a TypeError on `limits`.
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body.limits[0]
}
const chat = (base: string, body: Record<string, unknown>) =>
  call<ErrorBody & { text?: string }>(`${base}/chat`, { body })

/** Waits until the app answers rate-limit checks from Redis again (breaker closed). */
async function waitForRedisDecisions(): Promise<void> {
  const tries = await pollUntil(async () => (await rlOf('probe')).body.degraded === false, 200)
  expect(tries, 'rate-limit decisions never came from Redis again').toBeDefined()
}

interface Sample {
  route: 'rl' | 'cached' | 'chat'
  sentAt: number
  at: number
  status: number
  body: ErrorBody & { degraded?: boolean }
}

describe('redis-server killed and restarted during load', () => {
  it('every component follows its policy, no unexpected 5xx, and Redis decisions resume', async () => {
    const samples: Sample[] = []
    const failures: unknown[] = []
    const gauge: number[] = []
    let running = true
    let seq = 0
    const worker = async (id: number) => {
      // Paced so the load lasts through the outage AND the recovery (unpaced, the in-memory
      // fallback answered a worker's whole quota before Redis was back, and no decision was left to
      // prove the recovery); bounded: at most 1500 requests per worker.
      for (let n = 0; running && n < 1500; n++) {
        if (n > 0) await sleep(4)
        const route = (['rl', 'rl', 'cached', 'chat'] as const)[n % 4] as Sample['route']
        const sentAt = Date.now()
        try {
          const answer =
            route === 'rl'
              ? await rlOf(`load-${id}`)
              : route === 'cached'
                ? await call<ErrorBody>(`${app.url}/cached?key=w${id}-${n % 3}`, {
                    headers: { 'x-user': `load-${id}` },
                  })
                : await chat(app.url, { subject: `load-${id}`, text: `question ${seq++}` })
          samples.push({ route, sentAt, at: Date.now(), ...answer })
        } catch (error) {
          failures.push(error)
        }
      }
    }
    const scrape = async () => {
      while (running) {
        const text = await (await fetch(`${app.url}/_metrics`)).text()
        const match = /aikit_store_degraded\{store="redis"\} (\d)/.exec(text)
        if (match) gauge.push(Number(match[1]))
        await sleep(50)
      }
    }
    const load = Promise.all([...Array.from({ length: 6 }, (_, i) => worker(i)), scrape()])

    await sleep(400)
    const killedAt = Date.now()
    await redis.kill()
    await sleep(800)
    const restartAt = Date.now()
    await redis.restart()
    const backAt = Date.now()
    // Bounded wait (generous on a loaded machine) for the first Redis-backed decision: the first
    // non-degraded decision answered after the outage was seen (samples are in completion order).
    const firstRedisBacked = () => {
      const outageSeen = samples.findIndex((s) => s.route === 'rl' && s.body.degraded === true)
      if (outageSeen === -1) return undefined
      return samples.find(
        (s, i) =>
          i > outageSeen && s.route === 'rl' && s.sentAt > killedAt && s.body.degraded === false
      )
    }
    let recovered: Sample | undefined
    for (let i = 0; i < 100 && !recovered; i++) {
      await sleep(50)
      recovered = firstRedisBacked()
    }
    // Some traffic after recovery: 400 ms, and at least 3 rate-limit decisions sent after it (a
    // loaded machine can take longer than that to send one; bounded at 5 s).
    await sleep(400)
    const rlSentAfter = () =>
      samples.filter((s) => s.route === 'rl' && s.sentAt > (recovered?.at ?? Infinity)).length
    for (let i = 0; i < 100 && recovered && rlSentAfter() < 3; i++) await sleep(50)
    running = false
    await load

    expect(failures.map(String).slice(0, 3)).toEqual([])
    expect(samples.length).toBeGreaterThan(50)
    // Rate limit (onStoreError 'memory') and cache (memory + fetcher): always answered, never 5xx.
    const notOk = samples.filter((s) => s.route !== 'chat' && s.status !== 200)
    expect(notOk.slice(0, 3)).toEqual([])
    const degraded = samples.filter((s) => s.route === 'rl' && s.body.degraded === true)
    expect(degraded.length).toBeGreaterThan(0)
    // Budget: fails closed with the JSON error shape (503 STORE_*), or answers normally. During
    // the outage, as under DEBUG SLEEP below: when the LLM cache lookup and the reserve each
    // waited out the store timeout while ioredis reconnected, the SDK's own timeout (800 ms)
    // passes during that pre-flight: 504 APIConnectionTimeoutError, still no provider call (seen
    // once on a loaded Node 24 CI run). After the recovery every chat must be a 200 (below).
    const chats = samples.filter((s) => s.route === 'chat')
    const duringOutage = (s: Sample) => s.sentAt < (recovered?.at ?? Infinity)
    const unexpected = chats.filter(
      (s) =>
        s.status !== 200 &&
        !(s.status === 503 && STORE_ERROR_CODES.includes(s.body.error?.code ?? '')) &&
        !(
          duringOutage(s) &&
          s.status === 504 &&
          s.body.error?.details?.name === 'APIConnectionTimeoutError'
        )
    )
    expect(unexpected.slice(0, 3)).toEqual([])
    expect(chats.some((s) => s.status === 503)).toBe(true) // fail closed was exercised
    const chatsAfter = chats.filter((s) => s.sentAt > (recovered?.at ?? Infinity))
    expect(chatsAfter.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])

    // Recovery: the store went degraded after the kill and recovered after the restart, in order.
    expect(recovered, 'no Redis-backed decision within 5 s of the restart').toBeDefined()
    const { events, cacheStoreErrors, limiterDegraded } = (
      await call<AppEvents>(`${app.url}/_events`)
    ).body
    expect(cacheStoreErrors).toBeGreaterThan(0) // the cache absorbed store errors...
    expect(limiterDegraded).toBeGreaterThanOrEqual(degraded.length) // ...and the limiter counted its fallbacks
    const storeEvents = events.filter((e) => e.source === 'store')
    const firstDegraded = storeEvents.findIndex((e) => e.type === 'degraded')
    const lastRecovered = storeEvents.findLastIndex((e) => e.type === 'recovered')
    expect(firstDegraded).toBeGreaterThanOrEqual(0)
    expect(lastRecovered).toBeGreaterThan(firstDegraded)
    expect(storeEvents[firstDegraded]?.at).toBeGreaterThanOrEqual(killedAt)
    expect(storeEvents[lastRecovered]?.at).toBeGreaterThanOrEqual(restartAt)
    expect(storeEvents.at(-1)?.type).toBe('recovered')
    // The degraded gauge went to 1 during the outage and is 0 again.
    expect(gauge).toContain(1)
    expect(gauge.at(-1)).toBe(0)
    // After the first Redis-backed decision, every decision is Redis-backed again.
    const after = samples.filter((s) => s.route === 'rl' && s.sentAt > (recovered?.at ?? Infinity))
    expect(after.length).toBeGreaterThan(0)
    expect(after.filter((s) => s.body.degraded === true)).toEqual([])

    const recoveredEvent = storeEvents[lastRecovered]
    console.info(
      `[reliability] redis outage: ${samples.length} requests, ${degraded.length} degraded rl decisions, ` +
        `${chats.filter((s) => s.status === 503).length} budget 503s; first Redis-backed decision ` +
        `${(recovered?.at ?? 0) - backAt} ms after Redis was back (store 'recovered' event at ` +
        `${(recoveredEvent?.at ?? 0) - backAt} ms; breaker openMs 300, reconnect every 50 ms)`
    )
  }, 40_000)
})

describe('redis slowed by DEBUG SLEEP', () => {
  it('store calls time out, requests are not held for the sleep, and the policies apply', async () => {
    await waitForRedisDecisions()
    const before = (await call<AppEvents>(`${app.url}/_events`)).body.fetches
    let sleepOver = false
    const started = Date.now()
    const sleeping = rawCommand(redis.port, ['DEBUG', 'SLEEP', '4'], 10_000).then(() => {
      sleepOver = true
    })
    // redis-server is asleep once a PING on a fresh connection gets no reply.
    const asleep = await pollUntil(
      () =>
        rawCommand(redis.port, ['PING'], 150).then(
          () => false,
          () => true
        ),
      40
    )
    expect(asleep, 'DEBUG SLEEP did not block redis-server').toBeDefined()
    const answered = async <T>(p: Promise<T>) => {
      const value = await p
      return { value, duringSleep: !sleepOver, ms: Date.now() - started }
    }
    // A failed assertion below must not leave the next tests a sleeping Redis.
    onTestFinished(() => sleeping)
    const [rl, cached, llm] = await Promise.all([
      answered(rlOf('slow')),
      answered(
        call<{ fetches: number }>(`${app.url}/cached?key=slow`, { headers: { 'x-user': 'slow' } })
      ),
      answered(chat(app.url, { subject: 'slow', text: 'while redis sleeps' })),
    ])
    // Every request was answered while redis-server was still asleep: none waited for it.
    expect([rl.duringSleep, cached.duringSleep, llm.duringSleep]).toEqual([true, true, true])
    expect(rl.value).toMatchObject({ status: 200, body: { degraded: true } })
    expect(cached.value.status).toBe(200)
    expect(cached.value.body.fetches).toBe(before + 1) // memory + fetcher
    // The budget fails closed: its store error (503), or, when the LLM cache lookup and the
    // reserve each waited out `commandTimeoutMs` before the breaker opened (the three requests'
    // timeouts land in one sweep, in no fixed order), the SDK's own `timeout` (800 ms) passing
    // during that pre-flight (504, the SDK's APIConnectionTimeoutError). Never a provider call.
    const budgetRefusal =
      llm.value.status === 503 && STORE_ERROR_CODES.includes(llm.value.body.error?.code ?? '')
    const sdkTimeout =
      llm.value.status === 504 &&
      llm.value.body.error?.details?.name === 'APIConnectionTimeoutError'
    expect(budgetRefusal || sdkTimeout, JSON.stringify(llm.value)).toBe(true)
    expect(provider.calls.some((c) => JSON.stringify(c.body).includes('while redis sleeps'))).toBe(
      false
    )
    await sleeping
    console.info(
      `[reliability] DEBUG SLEEP 4: answered at +${rl.ms} ms (rl), +${cached.ms} ms (cache), ` +
        `+${llm.ms} ms (budget ${llm.value.status}) after the sleep began; sleep ended at +${Date.now() - started} ms`
    )
    await waitForRedisDecisions()
    const phantom = (await budgetOf(app.url, 'slow'))?.heldMicros
    console.info(
      `[reliability] DEBUG SLEEP: budget answered ${llm.value.body.error?.code}; held for 'slow' once Redis woke up: ${phantom} µ$`
    )
    // Had the reserve reached Redis before timing out (not when the breaker had already opened),
    // it would run once Redis wakes up (ioredis abandons, cannot cancel): such a hold must lapse
    // with the reservation TTL (2 s here).
    const released = await pollUntil(
      async () => (await budgetOf(app.url, 'slow'))?.heldMicros === 0,
      100
    )
    expect(released).toBeDefined()
  }, 30_000)
})

describe('provider failures and hangs', () => {
  it.each([
    [429, 'RateLimitError'],
    [529, 'OverloadedError'],
    [500, 'InternalServerError'],
  ])('provider %i: SDK error surfaced, hold released, nothing cached', async (status, name) => {
    const subject = `fail-${status}`
    const text = `question for a failing provider ${status}`
    provider.failNext(1, { status, retryAfter: 0 })
    const calls = provider.count()
    const failed = await chat(app.url, { subject, text })
    expect(failed.status).toBe(502)
    expect(failed.body.error?.details).toEqual({ name, providerStatus: status })
    expect(provider.count()).toBe(calls + 1)
    expect(await budgetOf(app.url, subject)).toMatchObject({ heldMicros: 0, spentMicros: 0 })
    // Nothing was cached: the same call reaches the provider again, and succeeds...
    expect((await chat(app.url, { subject, text })).status).toBe(200)
    expect(provider.count()).toBe(calls + 2)
    // ...and that success IS cached (so the check above could have failed).
    expect((await chat(app.url, { subject, text })).status).toBe(200)
    expect(provider.count()).toBe(calls + 2)
  })

  it('a hanging provider: the SDK timeout fires, the request is aborted, the hold charged', async () => {
    const subject = 'hang'
    const text = 'question for a hanging provider'
    provider.hangNext(1)
    const calls = provider.count()
    const started = Date.now()
    const answer = await chat(app.url, { subject, text })
    const ms = Date.now() - started
    expect(answer.status).toBe(504)
    expect(answer.body.error).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      details: { name: 'APIConnectionTimeoutError' },
    })
    const hung = provider.calls[calls]
    expect(await pollUntil(async () => hung?.aborted === true, 40)).toBeDefined()
    // Charged its hold, not released: a provider bills a request that timed out on the client's
    // side (it completes there), so a budget that charged nothing could be spent without limit.
    const afterTimeout = await budgetOf(app.url, subject)
    expect(afterTimeout).toMatchObject({ heldMicros: 0 })
    expect(afterTimeout?.spentMicros).toBeGreaterThan(0)
    expect((await chat(app.url, { subject, text })).status).toBe(200)
    expect(provider.count()).toBe(calls + 2) // not cached: the provider was asked again
    console.info(`[reliability] hanging provider: answered 504 after ${ms} ms (SDK timeout 800 ms)`)
  })

  it('a stream the provider breaks: settled on what was produced, not cached', async () => {
    const subject = 'broken-stream'
    const body = { subject, text: 'a stream that breaks', stream: true }
    provider.breakStreamAfter(3)
    const calls = provider.count()
    const res = await fetch(`${app.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).not.toContain('message_stop')
    const after = await pollUntil(
      async () => (await budgetOf(app.url, subject))?.heldMicros === 0,
      40
    )
    expect(after).toBeDefined()
    expect((await budgetOf(app.url, subject))?.spentMicros).toBeGreaterThan(0)
    const again = await fetch(`${app.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(await again.text()).toContain('message_stop')
    expect(provider.count()).toBe(calls + 2)
  })
})

describe('an app process killed mid-stream', () => {
  it('its reservation expires after the hold TTL and the budget is usable again', async () => {
    const model = 'claude-haiku-4-5'
    const maxTokens = 1000
    const text = 'tell me a long story'
    const hold = priceOf(model, {
      input_tokens: estimateTokens([{ role: 'user', content: text }], model),
      output_tokens: maxTokens,
    })
    // Room for exactly one such hold: a second call is refused while the first is held.
    const env = {
      REDIS_URL: redis.url,
      // As for the main app: the fixture's 100 ms default trips on a loaded CI machine, and a
      // store timeout here would be read as a missing budget rather than the hold under test.
      COMMAND_TIMEOUT_MS: '500',
      RESERVATION_TTL: '3s',
      BUDGET_MICROS: String(Math.floor(hold * 1.5)),
    }
    const slow = await startFakeProvider({ streamDelayMs: 50, reply: () => 'word '.repeat(400) })
    extraProviders.push(slow)
    const [victim, observer] = await Promise.all([
      startApp({ ...env, PROVIDER_URL: slow.anthropicBaseURL }),
      startApp({ ...env, PROVIDER_URL: provider.anthropicBaseURL }),
    ])
    extraApps.push(victim, observer)
    const subject = `crash-${Date.now()}`
    const res = await fetch(`${victim.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, text, maxTokens, stream: true }),
    })
    expect(res.status).toBe(200)
    const reader = res.body?.getReader()
    const first = await reader?.read()
    expect(new TextDecoder().decode(first?.value)).toContain('message_start')
    await victim.kill() // SIGKILL mid-stream: no settle, no release
    const killedAt = Date.now()
    await reader?.read().catch(() => undefined)
    // The dead process's socket closed, so the provider saw its request go away.
    expect(await pollUntil(async () => slow.calls[0]?.aborted === true, 40)).toBeDefined()

    expect((await budgetOf(observer.url, subject))?.heldMicros).toBe(hold)
    const refused = await chat(observer.url, { subject, text: 'another', maxTokens })
    expect(refused.status).toBe(402)
    expect(refused.body.error?.code).toBe('BUDGET_EXCEEDED')

    const tries = await pollUntil(
      async () => (await budgetOf(observer.url, subject))?.heldMicros === 0,
      120
    )
    expect(tries, 'the crashed process hold never lapsed').toBeDefined()
    const releasedAfter = Date.now() - killedAt
    expect(await budgetOf(observer.url, subject)).toMatchObject({ spentMicros: 0 })
    expect((await chat(observer.url, { subject, text: 'another', maxTokens })).status).toBe(200)
    console.info(
      `[reliability] killed mid-stream: hold of ${hold} µ$ lapsed ${releasedAfter} ms after the kill (TTL 3 s)`
    )
  }, 30_000)
})

describe('redis-server killed while an answer streams', () => {
  it('the stream still completes, the process stays up, and Redis decisions resume', async () => {
    const own = await startRedis()
    const slow = await startFakeProvider({ streamDelayMs: 30, reply: () => 'word '.repeat(60) })
    extraProviders.push(slow)
    const streamer = await startApp({ REDIS_URL: own.url, PROVIDER_URL: slow.anthropicBaseURL })
    extraApps.push(streamer)
    try {
      const res = await fetch(`${streamer.url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          subject: 'mid-stream',
          text: 'stream through an outage',
          stream: true,
        }),
      })
      expect(res.status).toBe(200)
      const reader = res.body?.getReader()
      let text = new TextDecoder().decode((await reader?.read())?.value)
      expect(text).toContain('message_start')
      await own.kill() // the budget settle at the end of the stream will meet a dead store
      for (;;) {
        const chunk = await reader?.read()
        if (!chunk || chunk.done) break
        text += new TextDecoder().decode(chunk.value)
      }
      expect(text).toContain('message_stop') // the answer was not cut by the store failure
      expect(streamer.child.exitCode).toBeNull()
      expect((await call(`${streamer.url}/_events`)).status).toBe(200)
      await own.restart()
      const tries = await pollUntil(
        async () =>
          (await call<{ degraded?: boolean }>(`${streamer.url}/rl`, { headers: { 'x-user': 'p' } }))
            .body.degraded === false,
        200
      )
      expect(tries).toBeDefined()
    } finally {
      await own.stop()
    }
  }, 30_000)
})
