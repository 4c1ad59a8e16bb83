import type { AddressInfo } from 'node:net'
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net'
import { healthCheck, httpCheck, redisCheck } from '@aikit/observability'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { closeAll, expressApp, fastifyApp } from './servers.js'

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await closeAll()
  await redis.stop()
})

interface Body {
  status: string
  output?: string
  checks?: Record<
    string,
    { status: string; componentType: string; output?: string; observedUnit?: string }[]
  >
}

describe('healthCheck', () => {
  it('readiness passes with Redis up: application/health+json, the draft checks object', async () => {
    const client = redis.client()
    const base = await expressApp([healthCheck({ checks: { redis: redisCheck(client) } })])
    const res = await fetch(`${base}/readyz`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/health+json')
    const body = (await res.json()) as Body
    expect(body.status).toBe('pass')
    expect(body.checks?.['redis:responseTime']?.[0]).toMatchObject({
      status: 'pass',
      componentType: 'datastore',
      observedUnit: 'ms',
    })
  })

  it('with redis-server stopped, readiness answers 503 within its timeout while liveness stays 200', async () => {
    const client = redis.client()
    await client.ping()
    const base = await fastifyApp([
      healthCheck({ checks: { redis: redisCheck(client) }, timeoutMs: 300 }),
    ])
    await redis.kill()
    try {
      // The client-side abort is 10x the check timeout: the answer must come from the check's own timeout.
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) })
      expect(res.status).toBe(503)
      const body = (await res.json()) as Body
      expect(body.status).toBe('fail')
      expect(body.checks?.['redis:responseTime']?.[0]?.status).toBe('fail')
      expect(body.checks?.['redis:responseTime']?.[0]?.output).toMatch(
        /^(timed out after 300 ms|check failed \(.+\))$/
      )
      const live = await fetch(`${base}/livez`)
      expect(live.status).toBe(200)
      expect(await live.json()).toEqual({ status: 'pass' })
    } finally {
      await redis.restart()
    }
  })

  it('with redis-server hung (SIGSTOP), readiness answers 503 by the per-check timeout', async () => {
    const client = redis.client()
    // The pid as redis-server itself reports it: the process to freeze.
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1])
    expect(pid).toBeGreaterThan(0)
    const base = await expressApp([
      // The per-check timeout is the one that must apply (the default one is far longer).
      healthCheck({ checks: { redis: redisCheck(client, { timeoutMs: 200 }) }, timeoutMs: 20_000 }),
    ])
    process.kill(pid, 'SIGSTOP')
    try {
      // The connection stays open and PING is never answered. The client gives up at 5x the
      // check's timeout, so the 503 must come from the check's own timeout.
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) })
      expect(res.status).toBe(503)
      expect(res.headers.get('content-type')).toContain('application/health+json')
      const body = (await res.json()) as Body
      expect(body.status).toBe('fail')
      expect(body.checks?.['redis:responseTime']?.[0]).toMatchObject({
        status: 'fail',
        output: 'timed out after 200 ms',
      })
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    // Thawed, the same client answers again and readiness passes (polled: a stall of the runner
    // can still outlast one probe's 200 ms).
    expect(await client.ping()).toBe('PONG')
    await vi.waitFor(async () => expect((await fetch(`${base}/readyz`)).status).toBe(200), {
      timeout: 10_000,
      interval: 100,
    })
  })

  it('with redis-server hung, probe after probe waits on the one PING in flight (no pile-up)', async () => {
    const client = redis.client()
    const pings = async () =>
      Number(/cmdstat_ping:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0)
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1])
    const health = healthCheck({ checks: { redis: redisCheck(client, { timeoutMs: 100 }) } })
    const before = await pings()
    process.kill(pid, 'SIGSTOP')
    try {
      // Each probe times out; a PING a probe sent is still queued for the frozen server, and
      // the next probes wait on it rather than queueing one more each.
      for (let i = 0; i < 5; i++) expect((await health.readiness()).status).toBe('fail')
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    // The frozen PING, answered once thawed, and at most the last probe's own. Counted first: the
    // INFO is answered after every PING sent while frozen, and the polls below may add their own.
    expect((await pings()) - before).toBeLessThanOrEqual(2)
    // Polled: just after SIGCONT a loaded runner may not answer within the 100 ms timeout.
    await vi.waitFor(async () => expect((await health.readiness()).status).toBe('pass'), {
      timeout: 10_000,
      interval: 100,
    })
  })

  it('a hung dependency (accepts, never answers) fails its check at the timeout', async () => {
    const hung: TcpServer = createTcpServer(() => {})
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/`
    try {
      const health = healthCheck({
        checks: {
          provider: httpCheck(url, { critical: true }),
          never: () => new Promise(() => {}),
        },
        timeoutMs: 150,
      })
      const report = await health.readiness()
      expect(report.status).toBe('fail')
      expect(report.checks?.['provider:responseTime']?.[0]?.output).toBe('timed out after 150 ms')
      expect(report.checks?.['never:responseTime']?.[0]?.output).toBe('timed out after 150 ms')
    } finally {
      hung.close()
    }
  })

  it('a check that answers its abort with an outcome has that output after "timed out" (still a failure)', async () => {
    const answerAbort =
      (status: 'pass' | 'fail') =>
      (signal: AbortSignal): Promise<unknown> =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () =>
            resolve({ status, output: 'no answer from db-2:5432' })
          )
        })
    const health = healthCheck({
      checks: {
        named: answerAbort('fail'),
        late: answerAbort('pass'),
        optional: { check: answerAbort('fail'), critical: false },
        // Rejects on the abort with an error of its own: still reported as the timeout.
        own: (signal) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(new TypeError('aborted: secret')))
          }),
      },
      timeoutMs: 100,
    })
    const report = await health.readiness()
    expect(report.status).toBe('fail')
    const output = 'timed out after 100 ms: no answer from db-2:5432'
    expect(report.checks?.['named:responseTime']?.[0]).toMatchObject({ status: 'fail', output })
    expect(report.checks?.['late:responseTime']?.[0]).toMatchObject({ status: 'fail', output })
    expect(report.checks?.['optional:responseTime']?.[0]).toMatchObject({ status: 'warn', output })
    expect(report.checks?.['own:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      output: 'timed out after 100 ms',
    })
  })

  it('a non-critical failure is a warn (200); a thrown error never leaks its message', async () => {
    const health = healthCheck({
      checks: {
        optional: {
          critical: false,
          check: async () => {
            throw new Error('redis://user:hunter2@10.0.0.1 refused')
          },
        },
        fine: async () => ({ observedValue: 3, observedUnit: 'connections' }),
      },
    })
    const report = await health.readiness()
    expect(report.status).toBe('warn')
    expect(JSON.stringify(report)).not.toContain('hunter2')
    expect(report.checks?.['optional:responseTime']?.[0]?.output).toBe('check failed (Error)')
    expect(report.checks?.['fine:responseTime']?.[0]).toMatchObject({
      status: 'pass',
      observedValue: 3,
      observedUnit: 'connections',
    })
    const base = await expressApp([health])
    const res = await fetch(`${base}/health`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as Body).status).toBe('warn')
  })

  it('after markShuttingDown readiness fails without running checks; liveness still passes', async () => {
    let runs = 0
    const health = healthCheck({ checks: { x: async () => void runs++ } })
    health.markShuttingDown()
    expect(health.shuttingDown).toBe(true)
    const base = await expressApp([health])
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ status: 'fail', output: 'shutting down' })
    expect((await fetch(`${base}/livez`)).status).toBe(200)
    expect(runs).toBe(0)
  })

  it('reuses a result for cacheMs, then runs the check again', async () => {
    let runs = 0
    const health = healthCheck({
      checks: { provider: { cacheMs: 60_000, check: async () => void runs++ } },
    })
    await health.readiness()
    await health.readiness()
    expect(runs).toBe(1)
    const uncached = healthCheck({ checks: { x: async () => void runs++ } })
    await uncached.readiness()
    await uncached.readiness()
    expect(runs).toBe(3)
  })

  it('concurrent probes share one run of the checks', async () => {
    let runs = 0
    const health = healthCheck({
      checks: {
        x: async () => {
          runs++
          await new Promise((r) => setTimeout(r, 20))
        },
      },
    })
    await Promise.all([health.readiness(), health.readiness(), health.readiness()])
    expect(runs).toBe(1)
  })

  it.each([
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ checks: { 'bad name': async () => {} } }, 'checks.bad name'],
    [{ checks: { x: { check: 1 } } }, 'checks.x'],
    [{ checks: { x: { check: async () => {}, timeoutMs: -1 } } }, 'checks.x.timeoutMs'],
    [{ paths: { live: 'livez' } }, 'paths.live'],
    [{ checks: { x: { check: async () => {}, cacheMs: -5 } } }, 'checks.x.cacheMs'],
    [{ checks: { x: { check: async () => {}, measurement: 42 } } }, 'checks.x.measurement'],
    [{ checks: { x: { check: async () => {}, measurement: 'a:b' } } }, 'checks.x.measurement'],
    [{ checks: { x: { check: async () => {}, componentType: {} } } }, 'checks.x.componentType'],
    [{ checks: { x: { check: async () => {}, componentType: '' } } }, 'checks.x.componentType'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    expect(() => healthCheck(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field })
    )
  })

  it('built-in checks validate their arguments', () => {
    const client = { ping: async () => 'PONG' }
    const cases: [() => unknown, string][] = [
      [() => redisCheck({} as never), 'client'],
      [() => redisCheck(client, null as never), 'options'],
      [() => httpCheck('ftp://x'), 'url'],
      [() => httpCheck('not a url'), 'url'],
      [() => httpCheck('http://127.0.0.1:1/', null as never), 'options'],
      [() => httpCheck('http://127.0.0.1:1/', { method: 42 as never }), 'method'],
      [() => httpCheck('http://127.0.0.1:1/', { method: 'GE T' }), 'method'],
      [() => httpCheck('http://127.0.0.1:1/', { headers: 'x' as never }), 'headers'],
    ]
    for (const [call, field] of cases) {
      expect(call).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', field }))
    }
    expect(() => httpCheck('http://127.0.0.1:1/', { method: 'GET' })).not.toThrow()
  })
})
