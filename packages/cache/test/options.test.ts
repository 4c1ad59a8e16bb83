import {
  cacheResponse,
  createCache,
  createLlmCache,
  recordStream,
  replayStream,
} from '@aikit/cache'
import { InvalidOptionsError } from '@aikit/core'
import { invalidField, rejectedField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'

describe('options validation names the bad field', () => {
  it('createLlmCache', () => {
    expect(invalidField(() => createLlmCache({} as never))).toBe('cache')
    expect(invalidField(() => createLlmCache(createCache(), { ttl: 0 }))).toBe('ttl')
    expect(
      invalidField(() => createLlmCache(createCache(), { cacheSampling: 'yes' as never }))
    ).toBe('cacheSampling')
    expect(invalidField(() => createLlmCache(createCache(), { protocol: 'smtp' as never }))).toBe(
      'protocol'
    )
    expect(
      invalidField(() => createLlmCache(createCache(), { isCompleteAnswer: true as never }))
    ).toBe('isCompleteAnswer')
    // A pacing waited on with setTimeout: past 2^31 - 1 ms, Node would fire it after 1 ms.
    expect(invalidField(() => createLlmCache(createCache(), { replayDelayMs: 2 ** 31 }))).toBe(
      'replayDelayMs'
    )
    expect(createLlmCache(createCache(), { replayDelayMs: 2 ** 31 - 1 })).toBeDefined()
  })

  it('cacheResponse', () => {
    expect(invalidField(() => cacheResponse({} as never))).toBe('cache')
    expect(invalidField(() => cacheResponse({ cache: createCache(), maxBodyBytes: 0 }))).toBe(
      'maxBodyBytes'
    )
    expect(invalidField(() => cacheResponse({ cache: createCache(), shared: 1 as never }))).toBe(
      'shared'
    )
    expect(invalidField(() => cacheResponse({ cache: createCache(), vary: [''] }))).toBe('vary')
    // Checked before use: no bare TypeError from `.map` / `.toLowerCase`.
    expect(
      invalidField(() => cacheResponse({ cache: createCache(), vary: 'accept' as never }))
    ).toBe('vary')
    expect(invalidField(() => cacheResponse({ cache: createCache(), vary: [42] as never }))).toBe(
      'vary'
    )
    expect(invalidField(() => cacheResponse({ cache: createCache(), vary: ['x region'] }))).toBe(
      'vary'
    )
    expect(
      invalidField(() => cacheResponse({ cache: createCache(), headers: [null] as never }))
    ).toBe('headers')
    expect(
      invalidField(() => cacheResponse({ cache: createCache(), headers: 'etag' as never }))
    ).toBe('headers')
  })

  it('recordStream / replayStream', () => {
    expect(
      invalidField(() =>
        recordStream({} as never, { protocol: 'anthropic', onComplete: () => undefined })
      )
    ).toBe('source')
    expect(invalidField(() => replayStream([], { delayMs: -1 }))).toBe('delayMs')
    expect(invalidField(() => replayStream([], { delayMs: 2 ** 31 }))).toBe('delayMs')
    expect(invalidField(() => replayStream([], null as never))).toBe('options')
  })

  it('createLlmCache().complete / stream: the provider call must be a function', async () => {
    const llm = createLlmCache(createCache())
    const params = { model: 'm', temperature: 0 }
    expect(await rejectedField(llm.complete(params, { scope: 'u' }, 'nope' as never))).toBe('call')
    expect(await rejectedField(llm.stream(params, { scope: 'u' }, 'nope' as never))).toBe('call')
    // A sampled request (a bypass) is checked too.
    expect(await rejectedField(llm.complete({ model: 'm' }, { scope: 'u' }, null as never))).toBe(
      'call'
    )
  })

  it('per-call getOrSet options', async () => {
    const cache = createCache()
    await expect(cache.getOrSet('k', () => 1, { ttl: -5 })).rejects.toBeInstanceOf(
      InvalidOptionsError
    )
    await expect(cache.getOrSet('k', () => 1, { tags: [''] })).rejects.toBeInstanceOf(
      InvalidOptionsError
    )
    await expect(cache.getOrSet('', () => 1)).rejects.toThrow()
  })

  it('getOrSet refuses a bad fetcher or bad per-call options on a hit as on a miss', async () => {
    const cache = createCache()
    await cache.set('warm', 1)
    for (const key of ['cold', 'warm']) {
      expect(await rejectedField(cache.getOrSet(key, 'nope' as never))).toBe('fetcher')
      expect(await rejectedField(cache.getOrSet(key, () => 1, { ttl: -5 }))).toBe('ttl')
      expect(await rejectedField(cache.getOrSet(key, () => 1, { timeouts: 100 as never }))).toBe(
        'timeouts'
      )
      expect(await rejectedField(cache.getOrSet(key, () => 1, { refresh: 'yes' as never }))).toBe(
        'refresh'
      )
      expect(await rejectedField(cache.getOrSet(key, () => 1, { noStore: 1 as never }))).toBe(
        'noStore'
      )
    }
    expect(await cache.getOrSet('warm', () => 2)).toBe(1)
  })
})
