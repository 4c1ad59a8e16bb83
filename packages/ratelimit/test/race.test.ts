/**
 * The race: 1,000 concurrent checks against a limit of 100 on one key, from two separate Node
 * processes (500 each, over several connections) on one redis-server, and again on a 3-node Redis
 * Cluster. Exactly 100 must be allowed, for every algorithm and for a multi-limit. The children import nothing from the workspace: they
 * send the op's own Lua script with EVAL through ioredis, with KEYS/ARGV built here by the limiter's
 * key layout and the op's `encode`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkOp } from '../src/check-op.js'
import { limitKeyParts } from '../src/limiter.js'

const CHILD = `
const cfg = JSON.parse(process.env.AIKIT_RACE)
const mod = await import(cfg.ioredisUrl)
const Redis = mod.default?.default ?? mod.default ?? mod.Redis
const Cluster = mod.default?.Cluster ?? mod.Cluster
const clients = Array.from({ length: cfg.connections }, () =>
  cfg.cluster
    ? new Cluster([{ host: '127.0.0.1', port: cfg.port }], { redisOptions: { maxRetriesPerRequest: 1 } })
    : new Redis({ host: '127.0.0.1', port: cfg.port, maxRetriesPerRequest: 1 }))
await Promise.all(clients.map((c) => c.eval('return 1', 1, cfg.keys[0])))
process.stdout.write('ready\\n')
await new Promise((resolve) => process.stdin.once('data', resolve))
const replies = await Promise.all(Array.from({ length: cfg.checks }, (_, i) =>
  clients[i % clients.length].eval(cfg.lua, cfg.keys.length, ...cfg.keys, ...cfg.argv)))
const allowed = replies.filter((r) => r[0] === 1).length
process.stdout.write(JSON.stringify({ allowed, replies: replies.length }) + '\\n')
await Promise.all(clients.map((c) => c.quit()))
process.exit(0)
`

interface ChildRun {
  child: ChildProcess
  ready: Promise<void>
  result: Promise<{ allowed: number; replies: number }>
}

function startChild(env: Record<string, unknown>): ChildRun {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, AIKIT_RACE: JSON.stringify(env) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let onReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    if (out.startsWith('ready\n')) onReady()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const result = new Promise<{ allowed: number; replies: number }>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (code !== 0 || !line) reject(new Error(`child exited with ${code}: ${err || out}`))
      else resolve(JSON.parse(line) as { allowed: number; replies: number })
    })
  })
  // A child that dies before "ready" must not hang the test.
  result.catch(() => onReady())
  return { child, ready, result }
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
const stores: Record<string, Store> = {}
const ports: Record<string, number> = {}
const ioredisUrl = pathToFileURL(createRequire(import.meta.url).resolve('ioredis')).href
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedis(), startRedisCluster()])
  const client = server.client({ maxRetriesPerRequest: 1 })
  const clustered = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await Promise.all([whenReady(client), whenReady(clustered)])
  const options = { prefix: `race${runId}`, commandTimeoutMs: 5_000 }
  stores.redis = redisStore(client, options)
  stores.cluster = redisStore(clustered, options)
  ports.redis = server.port
  ports.cluster = cluster.nodes[0]!.port
})

afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()])
})

describe.each(['redis', 'cluster'])(
  '1,000 concurrent checks from two processes, limit 100, %s',
  (kind) => {
    for (const c of cases) {
      it(c.name, async () => {
        const store = stores[kind]!
        const limiter = createRateLimiter({ store, limits: c.limits })
        const userKey = `user-${c.name}`
        const keys = [...limitKeyParts('rl', limiter.limits), 'rl:block'].map((part) =>
          store.key(userKey, part)
        )
        const argv = checkOp.encode({ limits: limiter.limits, cost: 1 })
        const env = {
          ioredisUrl,
          cluster: kind === 'cluster',
          port: ports[kind],
          connections: 4,
          checks: 500,
          keys,
          argv,
          lua: checkOp.lua,
        }
        const children = [startChild(env), startChild(env)]
        try {
          await Promise.all(children.map((ch) => ch.ready))
          for (const ch of children) ch.child.stdin?.end('go\n')
          const results = await Promise.all(children.map((ch) => ch.result))
          expect(results.map((r) => r.replies)).toEqual([500, 500])
          expect(results[0]!.allowed + results[1]!.allowed).toBe(100)
        } finally {
          for (const ch of children) if (ch.child.exitCode === null) ch.child.kill('SIGKILL')
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
