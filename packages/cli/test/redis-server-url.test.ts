/**
 * The `redis-server` item given URLs the app's ioredis reads in surprising ways: URLs it refuses in
 * its constructor (their error may quote the URL, password included), query parameters that set
 * client options, database numbers, passwords the server does not check. Real redis-server
 * processes and real sockets; the URL's password is never printed whatever happens.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../../testing/src/redis.js'
import { type DoctorItem, runDoctorOnline } from '../src/index.js'

const SECRET = 'Url-Secret-5e7b'
const WRONG = 'Wrong-Secret-0a9c'

async function redisItem(env: Record<string, string>, timeoutMs?: number): Promise<DoctorItem> {
  const { items } = await runDoctorOnline({ env }, timeoutMs === undefined ? {} : { timeoutMs })
  const item = items.find((i) => i.id === 'redis-server')
  if (item === undefined) throw new Error('no redis-server item')
  for (const secret of [SECRET, WRONG]) expect(JSON.stringify(item)).not.toContain(secret)
  return item
}

const production = (url: string) => ({ NODE_ENV: 'production', REDIS_URL: url })
const development = (url: string) => ({ NODE_ENV: 'development', REDIS_URL: url })

describe('redis-server: a URL ioredis cannot read', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis.stop()
  })

  it('fails a password with a bare % (ioredis throws at construction) instead of crashing', async () => {
    const item = await redisItem(development(`redis://:${SECRET}%zz@127.0.0.1:${redis.port}`))
    expect(item.status).toBe('FAIL')
    expect(item.detail).toBe(
      'ioredis cannot read REDIS_URL (new Redis(REDIS_URL) throws): the app fails the same way at startup'
    )
    expect(item.fix).toContain('%25')
  })

  it('fails a URL whose ioredis error quotes it, without the password', async () => {
    // `redis:` without `//`: ioredis reads it as redis://redis:…, an invalid port, and Node's
    // ERR_INVALID_URL carries the whole URL in its `input`.
    const item = await redisItem(production(`redis:app:${SECRET}@127.0.0.1:99999`))
    expect(item.status).toBe('FAIL')
    expect(item.detail).toMatch(/^ioredis cannot read REDIS_URL/)
  })
})

describe("redis-server: the URL's query cannot loosen the probe's bounds", () => {
  let redis: RedisServer
  let wedged: Server
  let wedgedPort = 0
  const accepted = new Set<Socket>()

  beforeAll(async () => {
    redis = await startRedis()
    // Accepts, reads, never answers and never closes its side, even once the client has.
    wedged = createServer({ allowHalfOpen: true }, (socket) => {
      accepted.add(socket)
      socket.resume()
    })
    await new Promise<void>((done) => wedged.listen(0, '127.0.0.1', done))
    wedgedPort = (wedged.address() as { port: number }).port
  })
  afterAll(async () => {
    for (const socket of accepted) socket.destroy()
    await new Promise((done) => wedged.close(done))
    await redis.stop()
  })

  // Each of these, read by ioredis as an option, used to crash the doctor (a string where a number
  // or a function belongs), connect before the probe was ready, or override its bounds.
  it.each([
    'connectTimeout=x',
    'commandTimeout=x',
    'connectTimeout=600000',
    'socketTimeout=x',
    'lazyConnect=',
    'retryStrategy=x',
    'Connector=x',
    'scripts=ab',
    'enableOfflineQueue=1',
    'monitor=1',
  ])('passes a reachable Redis whose URL sets ?%s', async (query) => {
    const item = await redisItem(production(`redis://127.0.0.1:${redis.port}/?${query}`))
    expect(item.status).toBe('PASS')
  })

  it('still reads the connection parameters of the query (family, password)', async () => {
    expect((await redisItem(production(`${redis.url}/?family=4`))).status).toBe('PASS')
  })

  it('gives up on a wedged server within timeoutMs whatever connectTimeout the query sets', async () => {
    const url = `redis://127.0.0.1:${wedgedPort}/?connectTimeout=600000&commandTimeout=600000`
    const item = await redisItem(production(url), 200)
    expect(item.detail).toBe('no answer from REDIS_URL within 200 ms (ETIMEDOUT)')
  })
})

describe("redis-server: the URL's database", () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis.stop()
  })

  it('fails a database number the server does not have, even outside production', async () => {
    const item = await redisItem(development(`${redis.url}/99`))
    expect(item.status).toBe('FAIL')
    expect(item.detail).toBe("Redis refused the database number in REDIS_URL's path")
  })

  it('fails a database that is not a number (ioredis would send SELECT NaN)', async () => {
    const item = await redisItem(development(`${redis.url}/abc`))
    expect(item.status).toBe('FAIL')
    expect(item.detail).toBe("REDIS_URL's path is not a database number")
  })

  it('passes a database the server has', async () => {
    expect((await redisItem(production(`${redis.url}/3`))).status).toBe('PASS')
  })
})

describe('redis-server: a password the server does not check', () => {
  let open: RedisServer
  let guarded: RedisServer

  beforeAll(async () => {
    open = await startRedis()
    await open.client().call('ACL', 'SETUSER', 'app', 'on', 'nopass', '~*', '&*', '+@all')
    guarded = await startRedis()
    await guarded.client().config('SET', 'requirepass', SECRET)
  })
  afterAll(async () => {
    await Promise.all([open.stop(), guarded.stop()])
  })

  it('warns in production: the server takes any password, so anyone reaching it gets in', async () => {
    const item = await redisItem(production(`redis://:${SECRET}@127.0.0.1:${open.port}`))
    expect(item.status).toBe('WARN')
    expect(item.detail).toContain(
      'the server does not check the password in REDIS_URL (its user has nopass)'
    )
    expect(item.fix).toContain('requirepass')
  })

  it('warns for an ACL user with nopass', async () => {
    const item = await redisItem(production(`redis://app:${SECRET}@127.0.0.1:${open.port}`))
    expect(item.status).toBe('WARN')
  })

  it('reads a password given as ?password=', async () => {
    const url = `redis://127.0.0.1:${open.port}/?password=${SECRET}`
    expect((await redisItem(production(url))).status).toBe('WARN')
    const right = `redis://127.0.0.1:${guarded.port}/?password=${SECRET}`
    expect((await redisItem(production(right))).status).toBe('PASS')
    const wrong = `redis://127.0.0.1:${guarded.port}/?password=${WRONG}`
    expect((await redisItem(production(wrong))).detail).toContain('(WRONGPASS)')
  })

  it('passes outside production, and a server that checks the password', async () => {
    const url = `redis://:${SECRET}@127.0.0.1:${open.port}`
    expect((await redisItem(development(url))).status).toBe('PASS')
    const checked = `redis://:${SECRET}@127.0.0.1:${guarded.port}`
    expect((await redisItem(production(checked))).status).toBe('PASS')
  })

  it('does not judge a URL without a password (the redis-security item does)', async () => {
    expect((await redisItem(production(open.url))).status).toBe('PASS')
  })
})

describe('redis-server: TLS', () => {
  let redis: RedisServer
  let wedged: Server
  let wedgedPort = 0
  const accepted = new Set<Socket>()

  beforeAll(async () => {
    redis = await startRedis()
    wedged = createServer({ allowHalfOpen: true }, (socket) => {
      accepted.add(socket)
      socket.resume()
    })
    await new Promise<void>((done) => wedged.listen(0, '127.0.0.1', done))
    wedgedPort = (wedged.address() as { port: number }).port
  })
  afterAll(async () => {
    for (const socket of accepted) socket.destroy()
    await new Promise((done) => wedged.close(done))
    await redis.stop()
  })

  it('fails rediss:// to a server without TLS, naming TLS in the fix', async () => {
    const item = await redisItem(production(`rediss://:${SECRET}@127.0.0.1:${redis.port}`), 300)
    expect(item.status).toBe('FAIL')
    expect(item.fix).toContain('rediss://')
  })

  // ioredis turns TLS on for a URL that starts with `rediss://` exactly: `REDISS://` connects in
  // the clear (sending the password so), while the URL parser, and so redis-security, say TLS.
  it.each(['REDISS', 'Rediss'])(
    'fails %s:// in production: ioredis connects without TLS',
    async (scheme) => {
      const url = `${scheme}://:${SECRET}@127.0.0.1:${redis.port}`
      const item = await redisItem(production(url))
      expect(item.status).toBe('FAIL')
      expect(item.detail).toBe(
        'ioredis turns TLS on only for a lower-case rediss://: this REDIS_URL connects without TLS'
      )
      expect((await redisItem(development(url))).status).toBe('WARN')
    }
  )

  it('gives up on a TLS handshake that never completes within timeoutMs', async () => {
    const item = await redisItem(production(`rediss://:${SECRET}@127.0.0.1:${wedgedPort}`), 200)
    expect(item.detail).toBe('no answer from REDIS_URL within 200 ms (ETIMEDOUT)')
  })
})
