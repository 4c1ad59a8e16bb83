import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/cache', async () => {
    expect(Object.keys(await import('@aikit/cache')).sort()).toEqual([
      'CacheScopeRequiredError',
      'CacheSerializeError',
      'CacheTimeoutError',
      'LLM_KEY_VERSION',
      'LLM_TRANSPORT_FIELDS',
      'SharedStream',
      'cacheResponse',
      'createCache',
      'createLlmCache',
      'isCompleteStream',
      'isDeterministicRequest',
      'llmCacheKey',
      'recordStream',
      'replayStream',
      'stableStringify',
    ])
  })
})
