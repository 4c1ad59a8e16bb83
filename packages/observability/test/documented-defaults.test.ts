/**
 * The defaults README.md's option tables state, observed through the public API with the option
 * left out: `createMetrics`' `key` `'default'`, `prefix` `''`, `maxLabelValues` 100 and HTTP
 * buckets up to 80 s; `metricsHandler`'s `path` `'/metrics'`; `healthCheck`'s `timeoutMs` 800,
 * `paths` and check defaults (`critical` true, `componentType` `'component'`, `measurement`
 * `'responseTime'`, `cacheMs` 0); `httpCheck`'s `method` HEAD, `critical` false and `cacheMs` 30 s;
 * `redisCheck`'s `critical` true; `createLogger`'s `level` `'info'` without `LOG_LEVEL`. A user
 * tunes production from these numbers.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import {
  createLogger,
  createMetrics,
  healthCheck,
  httpCheck,
  metricsHandler,
  redisCheck,
} from '@aikit/observability'
import { startRedis } from '@aikit/testing/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { closeAll, expressApp } from './servers.js'

afterAll(closeAll)

describe('createMetrics defaults', () => {
  it("shares one instance per process under the key 'default'", () => {
    expect(createMetrics()).toBe(createMetrics({ key: 'default' }))
  })

  it("puts no prefix before the names (prefix '') and buckets HTTP durations up to 80 s", async () => {
    const m = createMetrics({ key: false })
    m.recordHttpRequest({ method: 'GET', route: '/', statusCode: 200, durationSeconds: 0.01 })
    const text = await m.registry.metrics()
    expect(text).toContain('\nhttp_server_request_duration_seconds_bucket{le="0.005"')
    expect(text).toContain('http_server_request_duration_seconds_bucket{le="80"')
    expect(text).not.toContain('le="160"')
  })

  it('keeps 100 values per label (maxLabelValues), then records _other', async () => {
    const m = createMetrics({ key: false })
    for (let i = 0; i <= 100; i++) {
      m.recordHttpRequest({ method: 'GET', route: `/r${i}`, statusCode: 200, durationSeconds: 0 })
    }
    const text = await m.registry.metrics()
    expect(text).toContain('http_route="/r99"')
    expect(text).not.toContain('http_route="/r100"')
    expect(text).toContain('http_route="_other"')
  })
})

describe('metricsHandler defaults', () => {
  it("answers GET /metrics (path '/metrics') and passes other paths on", async () => {
    const base = await expressApp([metricsHandler(createMetrics({ key: false }))])
    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('http_server_active_requests')
    expect((await fetch(`${base}/items/1`)).status).toBe(200)
  })
})

interface Report {
  status: string
  checks?: Record<string, { status: string; componentType: string; output?: string }[]>
}

describe('healthCheck defaults', () => {
  it('serves /livez, /readyz and /health (paths)', async () => {
    const base = await expressApp([healthCheck()])
    for (const path of ['/livez', '/readyz', '/health']) {
      const res = await fetch(`${base}${path}`)
      expect(res.status).toBe(200)
      expect(((await res.json()) as Report).status).toBe('pass')
    }
  })

  it('gives a check 800 ms (timeoutMs)', async () => {
    const health = healthCheck({ checks: { hung: () => new Promise(() => {}) } })
    const report = (await health.readiness()) as Report
    expect(report.checks?.['hung:responseTime']?.[0]?.output).toBe('timed out after 800 ms')
  })

  it("runs a check on every probe, failing the report (critical, cacheMs 0, 'component')", async () => {
    let runs = 0
    const health = healthCheck({
      checks: {
        db: async () => {
          runs++
          throw new Error('down')
        },
      },
    })
    const report = (await health.readiness()) as Report
    await health.readiness()
    expect(runs).toBe(2)
    expect(report.status).toBe('fail')
    expect(report.checks?.['db:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      componentType: 'component',
    })
  })

  it('httpCheck sends HEAD, reuses its result for 30 s and only warns (critical false)', async () => {
    const seen: string[] = []
    const server: Server = createServer((req, res) => {
      seen.push(req.method ?? '')
      res.statusCode = 503
      res.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const health = healthCheck({ checks: { provider: httpCheck(url) } })
      const report = (await health.readiness()) as Report
      expect(report.status).toBe('warn')
      expect(report.checks?.['provider:responseTime']?.[0]?.status).toBe('warn')
      await health.readiness()
      expect(seen).toEqual(['HEAD'])
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('redisCheck fails the report when Redis is down (critical true)', async () => {
    const redis = await startRedis()
    const client = redis.client({ maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    try {
      await client.ping()
      await redis.kill()
      const report = (await healthCheck({
        checks: { redis: redisCheck(client) },
      }).readiness()) as Report
      expect(report.status).toBe('fail')
    } finally {
      client.disconnect()
      await redis.stop()
    }
  })
})

describe('createLogger defaults', () => {
  it("logs at 'info' when LOG_LEVEL is unset", () => {
    const saved = process.env.LOG_LEVEL
    delete process.env.LOG_LEVEL
    try {
      const stream = new Writable({ write: (_chunk, _encoding, done) => done() })
      const logger = createLogger({ stream })
      expect(logger.level).toBe('info')
    } finally {
      if (saved !== undefined) process.env.LOG_LEVEL = saved
    }
  })
})
