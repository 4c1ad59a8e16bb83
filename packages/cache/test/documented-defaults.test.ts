/**
 * The defaults README.md's option tables state (`createCache`, `createLlmCache`, `cacheResponse`),
 * observed through the public API with the option left out: `ttl` 60 s with `jitter` ±10 %, no
 * stale window (`staleWhileRevalidate` and `staleIfError` 0), `memory.maxEntries` 10 000,
 * `namespace` `'cache'`, `compression.threshold` 1024; `createLlmCache`'s `cacheSampling` false and `provider` `''`;
 * `cacheResponse`'s `shared` false, `vary` accept / accept-language, the stored `headers` and
 * `maxBodyBytes` 1 MiB. A user tunes production from these numbers.
 */
import { withAikit } from '@aikit/adapters/next'
import { cacheResponse, createCache, createLlmCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { describe, expect, it } from 'vitest'

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('createCache defaults', () => {
  it("names its namespace 'cache'", () => {
    expect(createCache().namespaceName).toBe('cache')
  })

  it('keeps an entry fresh for 60 s, ±10 % (ttl 60_000, jitter 0.1)', async () => {
    const c = clock()
    const cache = createCache({ now: c.now })
    for (let i = 0; i < 100; i++) await cache.set(`k${i}`, i)
    c.advance(54_000 - 1)
    for (let i = 0; i < 100; i++) expect(cache.peek(`k${i}`)).toBe(i)
    c.advance(66_000 - 54_000 + 2)
    for (let i = 0; i < 100; i++) expect(cache.peek(`k${i}`)).toBeUndefined()
  })

  it('serves no stale value once the ttl is over (staleWhileRevalidate 0, staleIfError 0)', async () => {
    const c = clock()
    const cache = createCache({ now: c.now, jitter: 0 })
    expect(await cache.getOrSet('k', () => 'old')).toBe('old')
    c.advance(60_000)
    expect(await cache.getOrSet('k', () => 'new')).toBe('new')
    c.advance(60_000)
    await expect(
      cache.getOrSet('k', () => {
        throw new Error('provider down')
      })
    ).rejects.toThrow('provider down')
  })

  it('keeps 10 000 entries in memory (memory.maxEntries), the least recently used out first', async () => {
    const cache = createCache()
    for (let i = 0; i < 10_000; i++) await cache.set(`k${i}`, i)
    expect(cache.peek('k0')).toBe(0)
    await cache.set('k10000', 10_000)
    expect(cache.peek('k1')).toBeUndefined()
    expect(cache.peek('k0')).toBe(0)
    expect(cache.peek('k10000')).toBe(10_000)
  })
})

describe('compression defaults', () => {
  it('gzips store values of 1024 characters and more (compression.threshold)', async () => {
    const inner = memoryStore()
    const written: string[] = []
    const store = Object.create(inner) as Store
    // A set is written with the cache's conditional write op (`cache.put`), not `store.set`.
    store.run = (op, keys, input) => {
      if (op.name === 'cache.put') written.push((input as { value: string }).value)
      return inner.run(op, keys, input)
    }
    const cache = createCache({ store, compression: {} })
    await cache.set('short', 'x'.repeat(1021)) // JSON text: 1023 characters
    await cache.set('long', 'x'.repeat(1022)) // 1024
    const encodings = written.map((text) => text.split('\n')[0]?.split('|')[4])
    expect(encodings).toEqual(['json', 'gz'])
  })
})

describe('createLlmCache defaults', () => {
  const sampled = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }
  const answer = { stop_reason: 'end_turn', content: [{ type: 'text', text: 'hello' }] }

  it('bypasses sampled requests (cacheSampling false)', async () => {
    const llm = createLlmCache(createCache())
    let calls = 0
    const call = () =>
      llm.complete(sampled, { scope: 's' }, async () => {
        calls++
        return answer
      })
    expect((await call()).status).toBe('BYPASS')
    expect((await call()).status).toBe('BYPASS')
    expect(calls).toBe(2)
  })

  it("keys entries with the provider '' (provider)", async () => {
    const cache = createCache()
    const params = { ...sampled, temperature: 0 }
    await createLlmCache(cache, { provider: '' }).complete(
      params,
      { scope: 's' },
      async () => answer
    )
    const again = await createLlmCache(cache).complete(params, { scope: 's' }, async () => answer)
    expect(again.status).toBe('HIT')
  })
})

describe('cacheResponse defaults', () => {
  const MIB = 1_048_576

  function route(options: { size?: number; subject?: string } = {}) {
    let calls = 0
    const handler = withAikit(
      async () =>
        new Response('x'.repeat(options.size ?? 5), {
          headers: { 'content-type': 'text/plain', 'x-custom': `call-${++calls}` },
        }),
      async (ctx, next) => {
        if (options.subject !== undefined) ctx.state.subject = options.subject
        await next()
      },
      cacheResponse({ cache: createCache() })
    )
    const get = async (headers: Record<string, string> = {}) => {
      const res = await handler(
        new Request('http://app.test/page', { headers: { host: 'app.test', ...headers } }),
        {}
      )
      await res.arrayBuffer()
      return { xCache: res.headers.get('x-cache'), custom: res.headers.get('x-custom'), res }
    }
    return { get, calls: () => calls }
  }

  it('does not cache a request with no subject (shared false)', async () => {
    const r = route()
    expect((await r.get()).xCache).toBe('BYPASS')
    expect((await r.get()).xCache).toBe('BYPASS')
    expect(r.calls()).toBe(2)
  })

  it('keys on accept and accept-language only (vary)', async () => {
    const r = route({ subject: 'u' })
    expect((await r.get({ 'accept-language': 'fr' })).xCache).toBe('MISS')
    expect((await r.get({ 'accept-language': 'de' })).xCache).toBe('MISS')
    expect((await r.get({ accept: 'text/html' })).xCache).toBe('MISS')
    expect((await r.get({ 'accept-language': 'fr', 'user-agent': 'other' })).xCache).toBe('HIT')
  })

  it('replays content-type but not other response headers (headers)', async () => {
    const r = route({ subject: 'u' })
    await r.get()
    const hit = await r.get()
    expect(hit.xCache).toBe('HIT')
    expect(hit.res.headers.get('content-type')).toBe('text/plain')
    expect(hit.custom).toBeNull()
  })

  it('stores a body of up to 1 MiB (maxBodyBytes 1_048_576)', async () => {
    const whole = route({ size: MIB, subject: 'u' })
    await whole.get()
    expect((await whole.get()).xCache).toBe('HIT')
    const over = route({ size: MIB + 1, subject: 'u' })
    await over.get()
    expect((await over.get()).xCache).toBe('MISS')
  })
})
