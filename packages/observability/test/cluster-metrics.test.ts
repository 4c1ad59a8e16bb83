/**
 * Node cluster aggregation with real processes: a primary (node:cluster) and two workers that each
 * count their own requests in a private registry; one scrape of the primary shows the sums.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { clusterMetricsHandler, serveClusterMetrics } from '@aikit/observability'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixture } from './fixtures/build.js'
import { parseScrape, sampleValue } from './parse-scrape.js'

interface Ports {
  primary: number
  workers: [number, number]
}

let script: string
const children: ChildProcess[] = []

function startCluster(env: Record<string, string> = {}): Promise<Ports> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const end = out.indexOf('\n')
      if (end >= 0) resolve(JSON.parse(out.slice(0, end)) as Ports)
    })
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString()
    })
    child.on('exit', (code) => reject(new Error(`cluster exited ${code}: ${err}`)))
  })
}

async function get(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`)
  return text
}

const DURATION_COUNT = 'http_server_request_duration_seconds_count'

beforeAll(async () => {
  script = await buildFixture('cluster-app')
})

afterAll(() => {
  for (const c of children) c.kill('SIGTERM')
})

describe('clusterMetricsHandler', () => {
  it("one scrape of the primary holds the sum of both workers' request counters", async () => {
    const { primary, workers } = await startCluster()
    for (let i = 0; i < 3; i++) await get(workers[0], '/work')
    for (let i = 0; i < 5; i++) await get(workers[1], '/work')
    // A store degraded in both workers is degraded (1), not "2": that gauge takes the max.
    for (const p of workers) await get(p, '/degrade')
    // Each worker's own scrape holds only its own requests…
    const own = await Promise.all(workers.map((p) => get(p, '/metrics')))
    expect(
      own.map((t) => sampleValue(parseScrape(t), DURATION_COUNT, { http_route: '/work' }))
    ).toEqual([3, 5])
    // …and the primary's is their sum, per series.
    const sum = parseScrape(await get(primary, '/metrics'))
    expect(
      sampleValue(sum, DURATION_COUNT, { http_route: '/work', http_response_status_code: '200' })
    ).toBe(8)
    expect(
      sampleValue(sum, 'http_server_request_duration_seconds_bucket', {
        http_route: '/work',
        le: '+Inf',
      })
    ).toBe(8)
  })

  it('caps the label values of the sum (values past the cap become _other, counted)', async () => {
    const { primary, workers } = await startCluster({ AIKIT_MAX_LABEL_VALUES: '3' })
    // Each worker sees two models, under its own cap of 100; together they see four.
    await get(workers[0], '/llm?model=m-a')
    await get(workers[0], '/llm?model=m-b')
    await get(workers[1], '/llm?model=m-c')
    await get(workers[1], '/llm?model=m-d')
    const res = await fetch(`http://127.0.0.1:${primary}/metrics`, {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    })
    expect(res.headers.get('content-type')).toContain('openmetrics')
    const text = await res.text()
    expect(text.trimEnd().endsWith('# EOF')).toBe(true)
    const samples = parseScrape(text.replace(/# EOF\n?$/, ''))
    const name = 'gen_ai_client_operation_duration_seconds_count'
    const models = samples.filter((s) => s.name === name).map((s) => s.labels.gen_ai_request_model)
    expect(new Set(models).size).toBe(4) // three kept + _other
    expect(models).toContain('_other')
    const total = samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0)
    expect(total).toBe(4)
    expect(
      sampleValue(samples, 'aikit_metrics_label_overflow_total', {
        metric: 'gen_ai_client_operation_duration_seconds',
        label: 'gen_ai_request_model',
      })
    ).toBe(1)
  })

  it('validates its options', () => {
    expect(() => clusterMetricsHandler({ timeoutMs: 0 })).toThrow(
      expect.objectContaining({ field: 'timeoutMs' })
    )
    expect(() => clusterMetricsHandler({ maxLabelValues: 1.5 })).toThrow(
      expect.objectContaining({ field: 'maxLabelValues' })
    )
    expect(() => serveClusterMetrics({} as never)).toThrow()
  })

  it('refuses a timeoutMs past the longest timer delay, which would fail every scrape at once', () => {
    // Node fires a timer of more than 2^31 - 1 ms after 1 ms: the scrape answered 503 before any
    // worker could answer.
    expect(() => clusterMetricsHandler({ timeoutMs: 2 ** 31 })).toThrow(
      expect.objectContaining({ field: 'timeoutMs' })
    )
    expect(() => clusterMetricsHandler({ timeoutMs: Number.MAX_SAFE_INTEGER })).toThrow(
      expect.objectContaining({ field: 'timeoutMs' })
    )
    expect(typeof clusterMetricsHandler({ timeoutMs: 2 ** 31 - 1 })).toBe('function')
  })
})
