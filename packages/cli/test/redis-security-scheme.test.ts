/**
 * The offline `redis-security` item decides TLS as ioredis does: only a URL starting with
 * `rediss://` exactly (ioredis 6's `Redis.parseOptions`) connects with TLS. The URL parser
 * lower-cases the scheme, so `REDISS://` would read as TLS; in production it is WARNed as no TLS.
 */
import Redis from 'ioredis'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const security = (env: Record<string, string>) =>
  runDoctor({ env, config: GOOD_CONFIG }).items.find((i) => i.id === 'redis-security')

const HOST = 'app:Redis-Pa55-word-7f3a@redis.example.com:6380'

/** The `tls` option ioredis derives from `url` (lazyConnect: nothing is contacted). */
function ioredisTls(url: string): unknown {
  const client = new Redis(url, { lazyConnect: true })
  const { tls } = client.options
  client.disconnect()
  return tls
}

describe('redis-security: the TLS decision is ioredis', () => {
  it('ioredis itself turns TLS on for a lower-case rediss:// only', () => {
    expect(ioredisTls(`rediss://${HOST}`)).toBeTruthy()
    expect(ioredisTls(`REDISS://${HOST}`)).toBeUndefined()
  })

  it.each(['REDISS', 'Rediss', 'redisS'])('WARNs %s:// in production: no TLS', (scheme) => {
    const found = security({ ...GOOD_ENV, REDIS_URL: `${scheme}://${HOST}` })
    expect(found?.status).toBe('WARN')
    expect(found?.detail).toContain('no TLS')
    expect(found?.detail).toContain('lower-case rediss://')
  })

  it('PASSes a lower-case rediss:// with a password', () => {
    expect(security({ ...GOOD_ENV, REDIS_URL: `rediss://${HOST}` })).toMatchObject({
      status: 'PASS',
      detail: 'TLS and password',
    })
  })

  it("asks no TLS of a loopback Redis, whatever the scheme's case", () => {
    const found = security({ ...GOOD_ENV, REDIS_URL: 'REDISS://:pw-0123456789@127.0.0.1:6379' })
    expect(found?.status).toBe('PASS')
  })

  it('only judges outside production that the URL parses', () => {
    const found = security({ ...GOOD_ENV, NODE_ENV: 'development', REDIS_URL: `REDISS://${HOST}` })
    expect(found?.status).toBe('PASS')
  })
})
