/**
 * The race: 1,000 concurrent checks against a limit of 100 on one key, from two separate Node
 * processes (500 each) on one redis-server, and again on a 3-node Redis Cluster. Exactly 100 must
 * be allowed, for every algorithm and for a multi-limit. Each child runs the real library
 * (fixtures/race-child.mjs: `createRateLimiter` on `redisStore` with its defaults, i.e. EVALSHA
 * with NOSCRIPT reload, batching and the blocked-key cache), loaded from the workspace sources by
 * fixtures/ts-hooks.mjs.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import {
  type RedisClusterHandle,
  type RedisServer,
  startRedis,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CHILD = fileURLToPath(new URL('./fixtures/race-child.mjs', import.meta.url))
const REGISTER = new URL('./fixtures/ts-register.mjs', import.meta.url).href

interface ChildResult {
  allowed: number
  degraded: number
  results: number
}

/** A child process running fixtures/race-child.mjs: one command, one reply. */
interface Child {
  send(command: Record<string, unknown>): Promise<Record<string, unknown>>
  stop(): void
}

function startChild(): Child {
  const child = spawn(
    process.execPath,
    ['--conditions=@aikit/source', '--import', REGISTER, CHILD],
    { stdio: ['pipe', 'pipe', 'pipe'] }
  )
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>()
  let out = ''
  let err = ''
  let ids = 0
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    let nl = out.indexOf('\n')
    while (nl !== -1) {
      const reply = JSON.parse(out.slice(0, nl)) as Record<string, unknown>
      out = out.slice(nl + 1)
      waiting.get(reply.id as number)?.(reply)
      waiting.delete(reply.id as number)
      nl = out.indexOf('\n')
    }
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`race child exited with ${code}: ${err}`)))
  })
  exited.catch(() => {})
  return {
    send(command) {
      const id = ++ids
      const reply = new Promise<Record<string, unknown>>((resolve) => waiting.set(id, resolve))
      child.stdin?.write(`${JSON.stringify({ ...command, id })}\n`)
      return Promise.race([reply, exited]).then((r) => {
        if (typeof r.error === 'string') throw new Error(r.error)
        return r
      })
    },
    stop() {
      child.stdin?.end()
      setTimeout(() => child.kill('SIGKILL'), 2_000).unref()
    },
  }
}

const cases: { name: string; limits: LimitOptions[] }[] = [
  ...(['gcra', 'fixed-window', 'sliding-window', 'token-bucket'] as const).map((algorithm) => ({
    name: algorithm,
    limits: [{ algorithm, limit: 100, window: '1d' as const }],
  })),
  {
    name: 'multi-limit (sliding 100/1d is the tightest)',
    limits: [
      { algorithm: 'gcra', limit: 200, window: '1d' },
      { algorithm: 'sliding-window', limit: 100, window: '1d' },
      { algorithm: 'fixed-window', limit: 150, window: '1d' },
      { algorithm: 'token-bucket', limit: 300, window: '1d' },
    ],
  },
]

let server: RedisServer
let cluster: RedisClusterHandle
let children: Child[] = []
let single: Redis
const stores: Record<string, Store> = {}
const ports: Record<string, number> = {}
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  children = [startChild(), startChild()]
  ;[server, cluster] = await Promise.all([startRedis(), startRedisCluster()])
  const client = server.client({ maxRetriesPerRequest: 1 })
  single = client
  const clustered = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await Promise.all([whenReady(client), whenReady(clustered)])
  const options = { prefix: `race${runId}`, commandTimeoutMs: 5_000 }
  stores.redis = redisStore(client, options)
  stores.cluster = redisStore(clustered, options)
  ports.redis = server.port
  ports.cluster = cluster.nodes[0]!.port
})

afterAll(async () => {
  for (const child of children) child.stop()
  await Promise.all([server?.stop(), cluster?.stop()])
})

/** EVALSHA commands the single redis-server has run so far. */
async function evalshaCalls(): Promise<number> {
  const info = await single.info('commandstats')
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0)
}

describe.each(['redis', 'cluster'])(
  '1,000 concurrent checks from two processes, limit 100, %s',
  (kind) => {
    for (const c of cases) {
      it(c.name, async () => {
        const store = stores[kind]!
        const limiter = createRateLimiter({ store, limits: c.limits })
        const userKey = `user-${c.name}`
        const prepare = {
          op: 'prepare',
          cluster: kind === 'cluster',
          port: ports[kind],
          prefix: `race${runId}`,
          limits: c.limits,
          key: userKey,
          checks: 500,
        }
        const ids = await Promise.all(children.map((ch) => ch.send(prepare)))
        const before = kind === 'redis' ? await evalshaCalls() : 0
        const results = (await Promise.all(
          children.map((ch, i) => ch.send({ op: 'go', case: ids[i]!.id }))
        )) as unknown as ChildResult[]
        expect(results.map((r) => r.results)).toEqual([500, 500])
        expect(results.map((r) => r.degraded)).toEqual([0, 0])
        expect(results[0]!.allowed + results[1]!.allowed).toBe(100)
        if (kind === 'redis') {
          // The library's path: EVALSHA, batched (and denials cached), so far fewer commands
          // than checks.
          const sent = (await evalshaCalls()) - before
          expect(sent).toBeGreaterThan(0)
          expect(sent).toBeLessThan(1_000)
        }
        // The limiter itself sees the same keys: the tightest limit is used up.
        const after = await limiter.check(userKey)
        expect(after.allowed).toBe(false)
        expect(after.remaining).toBe(0)
        expect(after.limit).toBe(100)
      }, 60_000)
    }
  }
)
