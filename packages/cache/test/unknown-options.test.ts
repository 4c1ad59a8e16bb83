/**
 * Option keys the factories do not know are refused with an `InvalidOptionsError` naming the key
 * (with its path) and the option it most likely meant, instead of being ignored while the default
 * applies (a misspelt `staleWhileRevalidate` or bus `channel` would silently change what is served).
 * Every documented option is still accepted: the `Required<…>` objects below stop compiling when an
 * option is added to a type, so its key list gets the new name too. The store, serializer and bus
 * connections are objects of their own: their keys are not checked.
 */
import {
  type BusOption,
  type CacheOptions,
  type CacheResponseOptions,
  type CacheTimeouts,
  cacheResponse,
  createCache,
  createLlmCache,
  type LlmCacheOptions,
} from '@aikit/cache'
import { InvalidOptionsError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
let client: Redis
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
})
afterAll(async () => {
  await server?.stop()
})

/** The InvalidOptionsError `fn` throws. */
function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('createCache refuses unknown option keys', () => {
  it('a misspelt option is named, with the option it meant', () => {
    const error = refusal(() => createCache({ staleWhileRevalidte: 30_000 } as never))
    expect(error.field).toBe('staleWhileRevalidte')
    expect(error.message).toContain('did you mean `staleWhileRevalidate`')
    expect(refusal(() => createCache({ TTL: 1000 } as never)).field).toBe('TTL')
  })

  it('tags given to createCache (as DESIGN.md sketched it) point to the per-entry tags', () => {
    const error = refusal(() => createCache({ tags: ['team:1'] } as never))
    expect(error.field).toBe('tags')
    expect(error.message).toContain('set(key, value, { tags })')
    expect(error.message).toContain('getOrSet(key, fetcher, { tags })')
  })

  it('a misspelt key of memory, timeouts or compression is named under it', () => {
    const memory = refusal(() => createCache({ memory: { maxEntires: 10 } } as never))
    expect(memory.field).toBe('memory.maxEntires')
    expect(memory.message).toContain('did you mean `memory.maxEntries`')
    expect(refusal(() => createCache({ timeouts: { hardMs: 100 } } as never)).field).toBe(
      'timeouts.hardMs'
    )
    expect(refusal(() => createCache({ compression: { treshold: 100 } } as never)).field).toBe(
      'compression.treshold'
    )
  })

  it('a misspelt bus key is named under bus, for either form', () => {
    const subscriber = server.client()
    try {
      const error = refusal(() =>
        createCache({ bus: { publisher: client, subscriber, chanel: 'x' } } as never)
      )
      expect(error.field).toBe('bus.chanel')
      expect(error.message).toContain('did you mean `bus.channel`')
      expect(refusal(() => createCache({ bus: { client, channels: 'x' } } as never)).field).toBe(
        'bus.channels'
      )
      // The one-connection form does not take a second connection (it makes its own).
      expect(refusal(() => createCache({ bus: { client, subscriber } } as never)).field).toBe(
        'bus.subscriber'
      )
    } finally {
      subscriber.disconnect()
    }
  })

  it('every documented option (tier options and both bus forms included) is accepted', async () => {
    const memory: Required<NonNullable<CacheOptions['memory']>> = { maxEntries: 10, maxBytes: 1000 }
    const timeouts: Required<CacheTimeouts> = { soft: 100, hard: 1000 }
    const subscriber = server.client()
    const busClient = server.client()
    const twoConnections: Required<Extract<BusOption, { publisher: unknown }>> = {
      publisher: client,
      subscriber,
      channel: `every${runId}`,
    }
    const options: Required<CacheOptions> = {
      store: redisStore(client, { prefix: `u${runId}`, commandTimeoutMs: 2000 }),
      memory,
      ttl: 1000,
      staleWhileRevalidate: 100,
      staleIfError: 100,
      timeouts,
      jitter: 0,
      namespace: 'every',
      serializer: { serialize: JSON.stringify, deserialize: JSON.parse },
      compression: { threshold: 10 },
      lockTtl: 1000,
      lockMaxHold: 5000,
      pollInterval: 10,
      bus: twoConnections,
      now: Date.now,
    }
    const cache = createCache(options)
    await cache.set('k', { text: 'a value long enough to compress' })
    expect(await cache.get('k')).toEqual({ text: 'a value long enough to compress' })
    await cache.close()
    const oneConnection: Required<Extract<BusOption, { client: unknown }>> = {
      client: busClient,
      channel: `every${runId}`,
    }
    await createCache({ ...options, bus: oneConnection }).close()
    subscriber.disconnect()
    busClient.disconnect()
  })
})

describe('createLlmCache refuses unknown option keys', () => {
  it('a misspelt option is named, with the option it meant', () => {
    const error = refusal(() => createLlmCache(createCache(), { cacheSampeling: true } as never))
    expect(error.field).toBe('cacheSampeling')
    expect(error.message).toContain('did you mean `cacheSampling`')
    expect(refusal(() => createLlmCache(createCache(), { replayDelay: 5 } as never)).field).toBe(
      'replayDelay'
    )
  })

  it('every documented option is accepted', () => {
    const options: Required<LlmCacheOptions> = {
      provider: 'anthropic',
      ttl: 1000,
      cacheSampling: true,
      protocol: 'openai-chat',
      isCompleteAnswer: () => true,
      replayDelayMs: 1,
    }
    expect(createLlmCache(createCache(), options).stats().hits).toBe(0)
  })
})

describe('cacheResponse refuses unknown option keys', () => {
  it('a misspelt option is named, with the option it meant', () => {
    const error = refusal(() => cacheResponse({ cache: createCache(), maxBodyByte: 10 } as never))
    expect(error.field).toBe('maxBodyByte')
    expect(error.message).toContain('did you mean `maxBodyBytes`')
    expect(
      refusal(() => cacheResponse({ cache: createCache(), public: true } as never)).field
    ).toBe('public')
  })

  it('every documented option is accepted', () => {
    const options: Required<CacheResponseOptions> = {
      cache: createCache(),
      ttl: 1000,
      scope: () => 'u',
      shared: true,
      vary: ['accept'],
      headers: ['content-type'],
      maxBodyBytes: 1000,
    }
    expect(typeof cacheResponse(options)).toBe('function')
  })
})
