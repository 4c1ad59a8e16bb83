import { healthCheck, redisCheck } from '@aikit/observability'
import {
  type RedisClusterHandle,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAll, expressApp } from './servers.js'

// A real 3-master Cluster (no replicas, node timeout 5 s). Node 1 is the one hung and killed.
let handle: RedisClusterHandle
const USER = 'health'
const PASSWORD = 'hunter2-cluster-secret'

/** An ACL user with a password on `port` (ACL users are not persisted: again after a restart). */
async function addUser(port: number): Promise<void> {
  await rawCommand(port, ['ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all'])
  // No CLUSTER INFO for this one: the check can only tell that each master answers.
  await rawCommand(port, [
    'ACL',
    'SETUSER',
    'limited',
    'on',
    '>limited-pw',
    '~*',
    '+@all',
    '-cluster|info',
  ])
}

beforeAll(async () => {
  handle = await startRedisCluster()
  await Promise.all(handle.nodes.map((n) => addUser(n.port)))
})
afterAll(async () => {
  await closeAll()
  await handle?.stop()
})

const key = (i: number) => `127.0.0.1:${handle.nodes[i]!.port}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Probes until `done(report)` holds; bounded (the deadline is a limit, not an assertion). */
async function probeUntil(
  health: ReturnType<typeof healthCheck>,
  done: (r: Awaited<ReturnType<typeof health.readiness>>) => boolean,
  what: string,
  limitMs = 45_000
) {
  const deadline = Date.now() + limitMs
  for (;;) {
    const report = await health.readiness()
    if (done(report)) return report
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached in ${limitMs} ms, last ${JSON.stringify(report)}`)
    }
    await sleep(200)
  }
}

async function clusterStats(): Promise<{ clusterInfo: number; connections: number }[]> {
  return Promise.all(
    handle.nodes.map(async (n) => {
      const stats = await rawCommand(n.port, ['INFO', 'all'])
      return {
        clusterInfo: Number(/^cmdstat_cluster\|info:calls=(\d+)/m.exec(stats)?.[1] ?? 0),
        connections: Number(/^total_connections_received:(\d+)/m.exec(stats)?.[1]),
      }
    })
  )
}

describe('redisCheck with an ioredis Cluster', () => {
  it('asks every master once per probe over the connections ioredis keeps, and honours cacheMs', async () => {
    const cluster = handle.cluster({ redisOptions: { username: USER, password: PASSWORD } })
    await whenReady(cluster)
    const health = healthCheck({ checks: { redis: redisCheck(cluster) } })
    expect((await health.readiness()).status).toBe('pass') // opens the connections to each master
    const before = await clusterStats()
    for (let i = 0; i < 3; i++) expect((await health.readiness()).status).toBe('pass')
    const after = await clusterStats()
    after.forEach((a, i) => {
      expect(a.clusterInfo - before[i]!.clusterInfo).toBe(3)
      // The one new connection is the second INFO read itself.
      expect(a.connections - before[i]!.connections).toBe(1)
    })

    const cached = healthCheck({ checks: { redis: redisCheck(cluster, { cacheMs: 600_000 }) } })
    for (let i = 0; i < 3; i++) expect((await cached.readiness()).status).toBe('pass')
    const last = await clusterStats()
    last.forEach((l, i) => {
      expect(l.clusterInfo - after[i]!.clusterInfo).toBe(1)
    })
  })

  it('a user whose ACL refuses CLUSTER INFO still passes (each master answers PING)', async () => {
    // ioredis's own ready check reads CLUSTER INFO: such a user must turn it off.
    const cluster = handle.cluster({
      enableReadyCheck: false,
      redisOptions: { username: 'limited', password: 'limited-pw' },
    })
    await whenReady(cluster)
    const report = await healthCheck({ checks: { redis: redisCheck(cluster) } }).readiness()
    expect(report).toMatchObject({ status: 'pass' })
  })

  it('a hung master (SIGSTOP) fails the check at its timeout, naming the master', async () => {
    const cluster = handle.cluster({ redisOptions: { username: USER, password: PASSWORD } })
    await whenReady(cluster)
    const health = healthCheck({ checks: { redis: redisCheck(cluster, { timeoutMs: 300 }) } })
    // Passing first (a busy runner can miss one 300 ms check: a fresh connection per master).
    await probeUntil(health, (r) => r.status === 'pass', 'pass before SIGSTOP')
    const pid = Number(
      /process_id:(\d+)/.exec(await rawCommand(handle.nodes[1]!.port, ['INFO', 'server']))?.[1]
    )
    expect(pid).toBeGreaterThan(0)
    process.kill(pid, 'SIGSTOP')
    let report: Awaited<ReturnType<typeof health.readiness>>
    try {
      report = await health.readiness()
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    expect(report.status).toBe('fail')
    expect(report.checks?.['redis:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      output: `timed out after 300 ms: no answer from master ${key(1)}`,
    })
    // Thawed well within the node timeout: the same client passes again.
    await probeUntil(health, (r) => r.status === 'pass', 'pass after SIGCONT')
  })

  it('a killed master fails readiness (503) naming it; cluster_state:fail is named; restarted, it passes again', async () => {
    const cluster = handle.cluster({ redisOptions: { username: USER, password: PASSWORD } })
    await whenReady(cluster)
    const health = healthCheck({ checks: { redis: redisCheck(cluster) }, timeoutMs: 500 })
    const base = await expressApp([health])
    expect((await fetch(`${base}/readyz`)).status).toBe(200)

    await handle.killNode(1)
    let restarted = false
    try {
      // The client-side abort is 10x the check timeout: the answer comes from the check itself.
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) })
      const text = await res.text()
      expect(res.status).toBe(503)
      expect(text).not.toContain(PASSWORD)
      const check = JSON.parse(text).checks['redis:responseTime'][0]
      expect(check.status).toBe('fail')
      expect(check.output).toMatch(
        new RegExp(`^master ${key(1).replaceAll('.', '\\.')} (unreachable|not connected)`)
      )

      // Once the other masters mark it FAIL (node timeout 5 s), they report the cluster down. Each
      // may first count the failed slots (`cluster_slots_fail:N`) before its state flips, so wait
      // until both report the state. Masters are listed in the order of their addresses.
      const bothDown = `cluster_state:fail on ${[key(0), key(2)].sort().join(', ')}`
      const down = await probeUntil(
        health,
        (r) => {
          expect(r.status).toBe('fail')
          const output = r.checks?.['redis:responseTime']?.[0]?.output ?? ''
          return output.includes(bothDown)
        },
        'cluster_state:fail reported by both other masters'
      )
      const output = down.checks?.['redis:responseTime']?.[0]?.output ?? ''
      expect(output).toContain(key(1))
      expect(JSON.stringify(down)).not.toContain(PASSWORD)

      await handle.restartNode(1)
      restarted = true
      await addUser(handle.nodes[1]!.port)
      // The others clear the FAIL flag within twice the node timeout.
      await probeUntil(health, (r) => r.status === 'pass', 'pass after restart')
      expect((await fetch(`${base}/readyz`)).status).toBe(200)
    } finally {
      if (!restarted) {
        await handle.restartNode(1)
        await addUser(handle.nodes[1]!.port)
      }
    }
  }, 120_000)
})
