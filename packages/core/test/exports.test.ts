import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/core', async () => {
    expect(Object.keys(await import('@aikit/core')).sort()).toEqual([
      'AikitError',
      'InternalError',
      'InvalidOptionsError',
      'InvalidRequestError',
      'LUA_NOW_MS',
      'PayloadTooLargeError',
      'StoreTimeoutError',
      'StoreUnavailableError',
      'UnsupportedMediaTypeError',
      'compose',
      'currentContext',
      'defineOp',
      'errorBody',
      'errorHeaders',
      'errorStatus',
      'isAikitError',
      'luaArg',
      'luaToString',
      'memoryStore',
      'onFinished',
      'requireAsyncContext',
    ])
  })

  it('@aikit/core/adapter', async () => {
    expect(Object.keys(await import('@aikit/core/adapter')).sort()).toEqual([
      'BODY_POLICY',
      'BaseContext',
      'DEFAULT_BODY_TIMEOUT_MS',
      'MAX_TAG_LENGTH',
      'REPLACE_BODY',
      'ROUTE_COOKIES',
      'RequestTimeoutError',
      'STATIC_HEADERS',
      'TARGET_AUTHORITY',
      'assertJsonValue',
      'assertSentinelFailoverDetector',
      'asyncContextRequested',
      'combineHeader',
      'createIpResolver',
      'emitProcessWarning',
      'errorResponse',
      'isFramingHeader',
      'isJsonContentType',
      'limitWebBody',
      'markStaticHeaders',
      'mergeVary',
      'normalizeIp',
      'parseContentEncoding',
      'parseJsonBody',
      'readWebBody',
      'rejectUnknownOptions',
      'resolveAdapterOptions',
      'runChain',
      'runWithContext',
      'scopedContext',
      'scopesRequests',
      'sha256Hex',
      'splitCookies',
      'splitStaticHeaders',
      'trackWork',
      'trustProxyMode',
      'unsupportedEncodingError',
      'workDone',
    ])
  })

  it('@aikit/core/redis', async () => {
    expect(Object.keys(await import('@aikit/core/redis')).sort()).toEqual([
      'assertRedisClient',
      'circuitBreaker',
      'isAvailabilityError',
      'redisStore',
      'scriptSha',
      'withTimeout',
    ])
  })

  it('@aikit/core/env', async () => {
    expect(Object.keys(await import('@aikit/core/env')).sort()).toEqual([
      'EnvError',
      'LOG_LEVELS',
      'REDACTED',
      'SECRET_NAME',
      'SECRET_VALUE_PATTERNS',
      'Secret',
      'aikitEnv',
      'bool',
      'defineEnv',
      'isSecret',
      'list',
      'logLevel',
      'looksSecret',
      'num',
      'port',
      'secret',
      'trustProxy',
      'url',
    ])
  })

  it('@aikit/core/compress', async () => {
    expect(Object.keys(await import('@aikit/core/compress')).sort()).toEqual([
      'HAS_ZSTD',
      'compress',
      'isCompressibleType',
      'mediaType',
      'negotiateEncoding',
      'parseAcceptEncoding',
    ])
  })
})
