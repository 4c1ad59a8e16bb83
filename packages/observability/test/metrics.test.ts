import { InvalidOptionsError } from '@aikit/core'
import {
  createMetrics,
  GEN_AI_DURATION_BUCKETS,
  GEN_AI_TOKEN_BUCKETS,
  HTTP_DURATION_BUCKETS,
} from '@aikit/observability'
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  register as globalRegister,
  Histogram,
  Registry,
} from 'prom-client'
import { describe, expect, it } from 'vitest'
import { parseScrape, sampleValue } from './parse-scrape.js'

const scrape = async (m: ReturnType<typeof createMetrics>) =>
  parseScrape(await m.registry.metrics())

describe('createMetrics', () => {
  it('uses a private registry, never prom-client global one', () => {
    const m = createMetrics({ key: false })
    expect(m.registry).not.toBe(globalRegister)
    expect(globalRegister.getSingleMetric('http_server_request_duration_seconds')).toBeUndefined()
  })

  it('registers the OTel names with the spec buckets (HTTP extended to 80 s)', async () => {
    const m = createMetrics({ key: false })
    m.recordHttpRequest({ method: 'GET', route: '/', statusCode: 200, durationSeconds: 0.01 })
    m.recordLlmCall({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      durationSeconds: 1,
      timeToFirstChunkSeconds: 0.2,
      usage: { inputTokens: 10, outputTokens: 5 },
    })
    const samples = await scrape(m)
    const les = (name: string) =>
      samples
        .filter((s) => s.name === name && s.labels.le !== '+Inf')
        .map((s) => Number(s.labels.le))
        .filter((v, i, a) => a.indexOf(v) === i)
    expect(les('http_server_request_duration_seconds_bucket')).toEqual([...HTTP_DURATION_BUCKETS])
    expect(HTTP_DURATION_BUCKETS.at(-1)).toBe(80)
    expect(les('gen_ai_client_operation_duration_seconds_bucket')).toEqual([
      ...GEN_AI_DURATION_BUCKETS,
    ])
    expect(les('gen_ai_client_operation_time_to_first_chunk_seconds_bucket')).toEqual([
      ...GEN_AI_DURATION_BUCKETS,
    ])
    expect(les('gen_ai_client_token_usage_bucket')).toEqual([...GEN_AI_TOKEN_BUCKETS])
    const http = samples.find((s) => s.name === 'http_server_request_duration_seconds_count')
    expect(http?.labels).toEqual({
      http_request_method: 'GET',
      http_route: '/',
      http_response_status_code: '200',
      error_type: '',
    })
  })

  it('records an LLM call: duration, TTFT, billable tokens per type, cost, error_type', async () => {
    const m = createMetrics({ key: false })
    const base = { provider: 'openai', model: 'gpt-4o', operation: 'chat' }
    m.recordLlmCall({ ...base, durationSeconds: 2, usage: { inputTokens: 100, outputTokens: 7 } })
    m.recordLlmCall({ ...base, durationSeconds: 0.5, costUsd: 0.25 })
    m.recordLlmCall({ ...base, durationSeconds: 0.5, costUsd: 0.5 })
    m.recordLlmCall({
      ...base,
      durationSeconds: 30,
      error: Object.assign(new Error('x'), { status: 429 }),
    })
    const s = await scrape(m)
    const labels = {
      gen_ai_provider_name: 'openai',
      gen_ai_request_model: 'gpt-4o',
      gen_ai_operation_name: 'chat',
    }
    expect(
      sampleValue(s, 'gen_ai_client_operation_duration_seconds_count', {
        ...labels,
        error_type: '',
      })
    ).toBe(3)
    expect(
      sampleValue(s, 'gen_ai_client_operation_duration_seconds_count', {
        ...labels,
        error_type: '429',
      })
    ).toBe(1)
    expect(
      sampleValue(s, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'input' })
    ).toBe(100)
    expect(
      sampleValue(s, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'output' })
    ).toBe(7)
    // No usage → no token observation (never guessed).
    expect(
      sampleValue(s, 'gen_ai_client_token_usage_count', { ...labels, gen_ai_token_type: 'input' })
    ).toBe(1)
    expect(sampleValue(s, 'aikit_llm_cost_usd_total', { gen_ai_provider_name: 'openai' })).toBe(
      0.75
    )
  })

  it('records cache, rate-limit, budget and store-degraded metrics', async () => {
    const m = createMetrics({ key: false })
    for (const result of ['hit', 'hit', 'miss', 'stale', 'coalesced'] as const) {
      m.recordCache({ result, cache: 'llm' })
    }
    m.recordRateLimit({ allowed: true })
    m.recordRateLimit({ allowed: false })
    m.recordRateLimit({ allowed: false, limiter: 'tokens' })
    m.recordBudget({ spentUsd: 1.5 })
    m.recordBudget({ rejected: true })
    m.setStoreDegraded('redis', true)
    m.setStoreDegraded('memory', true)
    m.setStoreDegraded('memory', false)
    const s = await scrape(m)
    expect(sampleValue(s, 'aikit_cache_lookups_total', { cache: 'llm', result: 'hit' })).toBe(2)
    expect(sampleValue(s, 'aikit_cache_lookups_total', { cache: 'llm', result: 'coalesced' })).toBe(
      1
    )
    expect(
      sampleValue(s, 'aikit_ratelimit_decisions_total', { limiter: 'default', decision: 'denied' })
    ).toBe(1)
    expect(
      sampleValue(s, 'aikit_ratelimit_decisions_total', { limiter: 'tokens', decision: 'denied' })
    ).toBe(1)
    expect(sampleValue(s, 'aikit_budget_spend_usd_total', { budget: 'default' })).toBe(1.5)
    expect(sampleValue(s, 'aikit_budget_rejections_total', { budget: 'default' })).toBe(1)
    expect(sampleValue(s, 'aikit_store_degraded', { store: 'redis' })).toBe(1)
    expect(sampleValue(s, 'aikit_store_degraded', { store: 'memory' })).toBe(0)
  })

  it('caps label values: past maxLabelValues a value becomes _other and the overflow is counted', async () => {
    const m = createMetrics({ key: false, maxLabelValues: 3 })
    for (let i = 0; i < 10; i++) {
      m.recordHttpRequest({
        method: 'GET',
        route: `/raw/${i}`,
        statusCode: 200,
        durationSeconds: 0.001,
      })
    }
    m.recordHttpRequest({ method: 'GET', route: '/raw/1', statusCode: 200, durationSeconds: 0.001 })
    const s = await scrape(m)
    const routes = s
      .filter((x) => x.name === 'http_server_request_duration_seconds_count')
      .map((x) => [x.labels.http_route, x.value])
    expect(Object.fromEntries(routes)).toEqual({ '/raw/0': 1, '/raw/1': 2, '/raw/2': 1, _other: 7 })
    expect(
      sampleValue(s, 'aikit_metrics_label_overflow_total', {
        metric: 'http_server_request_duration_seconds',
        label: 'http_route',
      })
    ).toBe(7)
  })

  it('maps unknown methods to _OTHER and drops invalid values without throwing', async () => {
    const m = createMetrics({ key: false })
    m.recordHttpRequest({ method: 'BREW', route: '/', statusCode: 200, durationSeconds: 0.1 })
    expect(() => {
      m.recordHttpRequest({
        method: 'GET',
        route: '/',
        statusCode: 200,
        durationSeconds: Number.NaN,
      })
      m.recordLlmCall({
        provider: 'x',
        durationSeconds: -1,
        usage: { inputTokens: 1.5 },
        costUsd: Number.NaN,
      })
      m.recordLlmCall(null as never)
      m.recordCache({ result: 'bogus' as never })
    }).not.toThrow()
    const s = await scrape(m)
    expect(
      sampleValue(s, 'http_server_request_duration_seconds_count', {
        http_request_method: '_OTHER',
      })
    ).toBe(1)
    expect(s.filter((x) => x.name === 'http_server_request_duration_seconds_count')).toHaveLength(1)
    expect(s.some((x) => x.name.startsWith('gen_ai_') || x.name.startsWith('aikit_cache'))).toBe(
      false
    )
  })

  it('is shared process-wide per key (hot reload, two copies of the package) and reuses metrics in a given registry', () => {
    const a = createMetrics({ key: 'shared-test' })
    const b = createMetrics({ key: 'shared-test' })
    expect(b).toBe(a)
    // Another copy of the package finds the instance through the global symbol.
    const map = (globalThis as Record<symbol, Map<string, { metrics: unknown }>>)[
      Symbol.for('@aikit/observability.metrics')
    ]
    expect(map?.get('shared-test')?.metrics).toBe(a)
    const registry = new Registry()
    const c = createMetrics({ registry })
    const d = createMetrics({ registry })
    expect(d).not.toBe(c)
    c.recordCache({ result: 'hit' })
    d.recordCache({ result: 'hit' })
    expect(registry.getSingleMetric('aikit_cache_lookups_total')).toBeDefined()
  })

  it('collects the default metrics once per registry, however often createMetrics runs on it', async () => {
    const registry = new Registry()
    createMetrics({ registry, defaultMetrics: true })
    // Hot reload: prom-client would throw "… has already been registered" on a second collection.
    expect(() => createMetrics({ registry, defaultMetrics: true })).not.toThrow()
    // The app collected them itself before: reused, not collected again.
    const own = new Registry()
    collectDefaultMetrics({ register: own })
    expect(() => createMetrics({ registry: own, defaultMetrics: true })).not.toThrow()
    const text = await registry.metrics()
    expect(text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1)
  })

  it('keeps one label cap per registry: instances sharing it cannot exceed it together', async () => {
    const registry = new Registry()
    const reloads = [1, 2, 3].map(() => createMetrics({ registry, maxLabelValues: 2 }))
    let n = 0
    for (const m of reloads) {
      for (let i = 0; i < 2; i++) m.recordCache({ result: 'hit', cache: `cache-${n++}` })
    }
    reloads[2]!.recordCache({ result: 'hit', cache: 'cache-0' }) // kept by the first instance
    const s = parseScrape(await registry.metrics())
    const caches = s
      .filter((x) => x.name === 'aikit_cache_lookups_total')
      .map((x) => [x.labels.cache, x.value])
    expect(Object.fromEntries(caches)).toEqual({ 'cache-0': 2, 'cache-1': 1, _other: 4 })
    expect(
      sampleValue(s, 'aikit_metrics_label_overflow_total', {
        metric: 'aikit_cache_lookups_total',
        label: 'cache',
      })
    ).toBe(4)
    // Another registry has its own cap.
    const other = createMetrics({ registry: new Registry(), maxLabelValues: 2 })
    other.recordCache({ result: 'hit', cache: 'cache-5' })
    expect(await other.registry.metrics()).toContain('cache="cache-5"')
  })

  it('refuses a registry holding one of its names with another type', () => {
    const registry = new Registry()
    registry.registerMetric(new Counter({ name: 'aikit_store_degraded', help: 'x', registers: [] }))
    expect(() => createMetrics({ registry })).toThrow(InvalidOptionsError)
  })

  it.each([
    [{ prefix: '1bad' }, 'prefix'],
    [{ maxLabelValues: 0 }, 'maxLabelValues'],
    [{ httpBuckets: [1, 0.5] }, 'httpBuckets'],
    [{ key: '' }, 'key'],
    [{ registry: {} }, 'registry'],
    [{ defaultMetrics: 'yes' }, 'defaultMetrics'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    expect(() => createMetrics(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field })
    )
  })

  it('applies the prefix to every name', async () => {
    const m = createMetrics({ key: false, prefix: 'app_' })
    m.recordCache({ result: 'miss' })
    expect(await m.registry.metrics()).toContain('app_aikit_cache_lookups_total{')
  })

  it('aggregates across cluster workers with prom-client AggregatorRegistry (HTTP histogram summed)', async () => {
    const workers = [createMetrics({ key: false }), createMetrics({ key: false })]
    for (const [i, w] of workers.entries()) {
      for (let n = 0; n <= i; n++) {
        w.recordHttpRequest({ method: 'GET', route: '/a', statusCode: 200, durationSeconds: 0.02 })
      }
      w.addActiveRequests('GET', 1)
      w.recordCache({ result: 'hit' })
    }
    const merged = AggregatorRegistry.aggregate(
      await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()))
    )
    const s = parseScrape(await merged.metrics())
    expect(sampleValue(s, 'http_server_request_duration_seconds_count', { http_route: '/a' })).toBe(
      3
    )
    expect(
      sampleValue(s, 'http_server_request_duration_seconds_bucket', {
        http_route: '/a',
        le: '0.025',
      })
    ).toBe(3)
    expect(sampleValue(s, 'http_server_active_requests', { http_request_method: 'GET' })).toBe(2)
    expect(sampleValue(s, 'aikit_cache_lookups_total', { result: 'hit' })).toBe(2)
  })
})

describe('HTTP request histogram', () => {
  it("renders exactly what prom-client's own Histogram renders for the same requests, also after a reset", async () => {
    const m = createMetrics({ key: false })
    const name = 'http_server_request_duration_seconds'
    const ours = m.registry.getSingleMetric(name) as unknown as { help: string }
    const reference = new Registry()
    const histogram = new Histogram({
      name,
      help: ours.help,
      labelNames: ['http_request_method', 'http_route', 'http_response_status_code', 'error_type'],
      buckets: [...HTTP_DURATION_BUCKETS],
      registers: [reference],
    })
    const requests = [
      ['GET', '/items/:id', 200, '', 0.004],
      ['GET', '/items/:id', 200, '', 0.03],
      ['GET', '/items/:id', 404, '', 0.0001],
      ['POST', '/chat', 500, 'INTERNAL', 12],
      ['GET', '/items/:id', undefined, '', 95], // client gone before the head; past the last bucket
      ['GET', '/items/:id', 200, '', 0.004],
    ] as const
    const replay = () => {
      for (const [method, route, statusCode, errorType, durationSeconds] of requests) {
        m.recordHttpRequest({ method, route, statusCode, errorType, durationSeconds })
        histogram.observe(
          {
            http_request_method: method,
            http_route: route,
            http_response_status_code: statusCode ?? '',
            error_type: errorType,
          },
          durationSeconds
        )
      }
    }
    const only = async (registry: Registry, contentType?: string) => {
      if (contentType !== undefined) registry.setContentType(contentType as never)
      const text = await registry.getSingleMetricAsString(name)
      return text
    }
    replay()
    expect(await only(m.registry)).toBe(await only(reference))
    // Same series found again through the cached lookup, after a reset starting from zero.
    m.registry.resetMetrics()
    reference.resetMetrics()
    replay()
    replay()
    expect(await only(m.registry)).toBe(await only(reference))
    expect(
      sampleValue(parseScrape(await only(m.registry)), `${name}_count`, {
        http_response_status_code: '200',
      })
    ).toBe(6)
    const openMetrics = Registry.OPENMETRICS_CONTENT_TYPE
    expect(await only(m.registry, openMetrics)).toBe(await only(reference, openMetrics))
  })
})
