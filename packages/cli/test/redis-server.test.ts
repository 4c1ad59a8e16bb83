/**
 * The `redis-server` item of `runDoctorOnline`: it connects to `REDIS_URL` (real redis-server
 * processes, a real closed port, a real socket that never answers) and reports what it found,
 * never the password in the URL.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { InvalidOptionsError } from '@aikit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  freePort,
  type RedisClusterHandle,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from '../../testing/src/redis.js'
import { type DoctorItem, runDoctor, runDoctorOnline } from '../src/index.js'

const PASSWORD = 'Right-Pa55-word-4c1d'
const WRONG = 'Wrong-Pa55-word-9e2b'

/** The config of an app keeping rate limits and budgets in Redis. */
const STATE_ON_REDIS = {
  rateLimit: { limits: [{ limit: 60, window: '1m' }], store: 'redis' },
  budget: { limits: [{ period: 'day', usd: 5 }], store: 'redis' },
}

async function redisItem(
  env: Record<string, string>,
  config: unknown = STATE_ON_REDIS,
  timeoutMs?: number
): Promise<DoctorItem> {
  const options = timeoutMs === undefined ? {} : { timeoutMs }
  const { items } = await runDoctorOnline({ env, config }, options)
  const item = items.find((i) => i.id === 'redis-server')
  if (item === undefined) throw new Error('no redis-server item')
  // Whatever the outcome, the URL's password is never printed.
  for (const secret of [PASSWORD, WRONG]) expect(JSON.stringify(item)).not.toContain(secret)
  return item
}

const production = (url: string) => ({ NODE_ENV: 'production', REDIS_URL: url })

describe('redis-server: a reachable Redis', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis.stop()
  })

  it('passes and names the server version', async () => {
    const item = await redisItem(production(redis.url))
    expect(item.status).toBe('PASS')
    expect(item.detail).toMatch(/^Redis \d+\.\d+\.\d+ reachable, maxmemory-policy noeviction$/)
  })

  it('passes when REDIS_URL is unset, without connecting anywhere', async () => {
    expect((await redisItem({ NODE_ENV: 'production' })).detail).toBe('no REDIS_URL')
  })

  it('is not in runDoctor (offline): the checklist there never connects', () => {
    const { items } = runDoctor({ env: production(redis.url), config: STATE_ON_REDIS })
    expect(items.map((i) => i.id)).not.toContain('redis-server')
  })
})

describe('redis-server: an unreachable Redis', () => {
  let silent: Server
  let silentPort = 0
  const accepted = new Set<Socket>()

  beforeAll(async () => {
    // Accepts connections, reads and never answers: a wedged server.
    silent = createServer((socket) => {
      accepted.add(socket)
      socket.resume()
    })
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done))
    silentPort = (silent.address() as { port: number }).port
  })
  afterAll(async () => {
    for (const socket of accepted) socket.destroy()
    await new Promise((done) => silent.close(done))
  })

  it('fails a refused connection (a closed port) in production, naming the cause', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${await freePort()}`
    const item = await redisItem(production(url))
    expect(item.status).toBe('FAIL')
    expect(item.detail).toBe(
      'cannot connect to REDIS_URL: connection refused (ECONNREFUSED), nothing listens there'
    )
    expect(item.fix).toContain('--offline')
  })

  it('only warns of a refused connection outside production', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    expect((await redisItem({ NODE_ENV: 'development', REDIS_URL: url })).status).toBe('WARN')
  })

  it('reports a server that accepts but never answers as a timeout, within timeoutMs', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${silentPort}`
    const item = await redisItem(production(url), STATE_ON_REDIS, 200)
    expect(item.status).toBe('FAIL')
    expect(item.detail).toBe('no answer from REDIS_URL within 200 ms (ETIMEDOUT)')
  })

  it('reports a host name that does not resolve', async () => {
    const item = await redisItem(production(`redis://:${PASSWORD}@aikit-doctor.invalid:6379`))
    expect(item.status).toBe('FAIL')
    expect(item.detail).toMatch(/^REDIS_URL's host name does not resolve/)
  })

  it('warns, without connecting, when REDIS_URL is not a redis:// URL', async () => {
    const item = await redisItem(production(`http://:${PASSWORD}@127.0.0.1:${silentPort}`))
    expect(item.status).toBe('WARN')
    expect(item.detail).toBe('not checked: REDIS_URL is not a redis:// or rediss:// URL')
  })
})

describe('redis-server: a Redis that requires a password', () => {
  let redis: RedisServer

  beforeAll(async () => {
    // The test helper waits for an unauthenticated PING, so the password is set once it runs.
    redis = await startRedis()
    await redis.client().config('SET', 'requirepass', PASSWORD)
  })
  afterAll(async () => {
    await redis.stop()
  })

  it('fails a wrong password, even outside production, without printing it', async () => {
    const url = `redis://:${WRONG}@127.0.0.1:${redis.port}`
    const item = await redisItem({ NODE_ENV: 'development', REDIS_URL: url })
    expect(item.status).toBe('FAIL')
    expect(item.detail).toBe('Redis refused the user or password in REDIS_URL (WRONGPASS)')
  })

  it('fails a wrong ACL user and password', async () => {
    const url = `redis://app:${WRONG}@127.0.0.1:${redis.port}`
    expect((await redisItem(production(url))).detail).toContain('(WRONGPASS)')
  })

  it('fails a URL without the password the server requires', async () => {
    const item = await redisItem(production(redis.url))
    expect(item.status).toBe('FAIL')
    expect(item.detail).toBe('Redis requires a password that REDIS_URL does not give (NOAUTH)')
  })

  it('passes the right password', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`
    expect((await redisItem(production(url))).status).toBe('PASS')
  })
})

describe('redis-server: settings that break rate limits and budgets', () => {
  const servers: RedisServer[] = []
  const withPolicy = async (policy: string): Promise<RedisServer> => {
    const server = await startRedis({
      args: ['--maxmemory', '64mb', '--maxmemory-policy', policy],
    })
    servers.push(server)
    return server
  }
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
  })

  // Every rate-limit and budget key has a TTL: volatile-* policies evict them too.
  it.each(['allkeys-lru', 'volatile-lru', 'volatile-ttl', 'allkeys-random'])(
    'warns of maxmemory-policy %s when rate limits and budgets live in Redis',
    async (policy) => {
      const item = await redisItem(production((await withPolicy(policy)).url))
      expect(item.status).toBe('WARN')
      expect(item.detail).toContain(`maxmemory-policy ${policy} with maxmemory set`)
      expect(item.fix).toContain('noeviction')
    }
  )

  it('warns of an evicting policy when no configuration says what Redis holds', async () => {
    const url = (await withPolicy('allkeys-lfu')).url
    expect((await redisItem(production(url), undefined)).status).toBe('WARN')
  })

  it('passes an evicting policy on a Redis that holds only the cache', async () => {
    const url = (await withPolicy('allkeys-lru')).url
    const config = {
      rateLimit: { limits: [{ limit: 60, window: '1m' }] },
      cache: { store: 'redis' },
    }
    expect((await redisItem(production(url), config)).status).toBe('PASS')
  })

  it('passes noeviction with maxmemory set', async () => {
    const item = await redisItem(production((await withPolicy('noeviction')).url))
    expect(item.status).toBe('PASS')
  })
})

describe('redis-server: Redis Cluster', () => {
  let cluster: RedisClusterHandle

  beforeAll(async () => {
    cluster = await startRedisCluster()
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('warns that REDIS_URL is a Cluster node (a plain client gets MOVED errors)', async () => {
    const node = cluster.nodes[0]
    if (node === undefined) throw new Error('no cluster node')
    const item = await redisItem(production(`redis://127.0.0.1:${node.port}`))
    expect(item.status).toBe('WARN')
    expect(item.detail).toContain('REDIS_URL is a Redis Cluster node')
    expect(item.fix).toContain('new Cluster(')
  })
})

describe('runDoctorOnline options', () => {
  it('refuses a misspelt option, naming it', async () => {
    await expect(runDoctorOnline({ env: {} }, { timeoutMS: 10 } as never)).rejects.toThrow(
      expect.objectContaining({ field: 'timeoutMS' })
    )
  })

  it.each([0, 1.5, 60_001, '100'])('refuses timeoutMs %s', async (timeoutMs) => {
    const run = runDoctorOnline({ env: {} }, { timeoutMs } as never)
    await expect(run).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(run).rejects.toThrow(expect.objectContaining({ field: 'timeoutMs' }))
  })

  it('accepts every documented option', async () => {
    const { items } = await runDoctorOnline({ env: {} }, { timeoutMs: 500, cwd: process.cwd() })
    expect(items.find((i) => i.id === 'redis-server')?.detail).toBe('no REDIS_URL')
  })
})
