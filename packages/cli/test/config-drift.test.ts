/**
 * Drift guard for the `cors`, `cache`, `sentry` and `metrics` sections: each describes the options
 * of a kit factory (`cors()`, `createCache()`, `initSentry()`, `metricsHandler()`), and every one of
 * them refuses keys it does not know at startup. The doctor's key lists are held to the factories'
 * option types (by the type check), and the same inputs go through the real factory and
 * `parseConfig`: same verdict, same field. Only what the doctor checks is compared (keys, and the
 * values its items read); the rest of each factory's validation stays the factory's.
 */

import { type CacheOptions, type CacheTimeouts, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { createMetrics, type MetricsHandlerOptions, metricsHandler } from '@aikit/observability'
import { initSentry, type SentryOptions } from '@aikit/observability/sentry'
import { type CorsOptions, cors } from '@aikit/security'
import { afterAll, beforeAll, describe, expectTypeOf, it } from 'vitest'
import { type RedisServer, startRedis } from '../../testing/src/redis.js'
import type {
  CACHE_COMPRESSION_KEYS,
  CACHE_KEYS,
  CACHE_MEMORY_KEYS,
  CACHE_TIMEOUT_KEYS,
  CORS_KEYS,
  METRICS_KEYS,
  SENTRY_KEYS,
} from '../src/config.js'
import { type Expected, expectVerdicts, kitVerdict, sectionVerdict } from './drift-verdicts.js'

describe('drift guard: the known keys are the factories option types', () => {
  it('cors(), createCache() and its nested objects, initSentry(), metricsHandler()', () => {
    expectTypeOf<(typeof CORS_KEYS)[number]>().toEqualTypeOf<keyof CorsOptions>()
    expectTypeOf<(typeof CACHE_KEYS)[number]>().toEqualTypeOf<keyof CacheOptions>()
    expectTypeOf<(typeof CACHE_MEMORY_KEYS)[number]>().toEqualTypeOf<
      keyof NonNullable<CacheOptions['memory']>
    >()
    expectTypeOf<(typeof CACHE_TIMEOUT_KEYS)[number]>().toEqualTypeOf<keyof CacheTimeouts>()
    expectTypeOf<(typeof CACHE_COMPRESSION_KEYS)[number]>().toEqualTypeOf<
      keyof Exclude<CacheOptions['compression'], false | undefined>
    >()
    expectTypeOf<(typeof SENTRY_KEYS)[number]>().toEqualTypeOf<keyof SentryOptions>()
    expectTypeOf<(typeof METRICS_KEYS)[number]>().toEqualTypeOf<keyof MetricsHandlerOptions>()
  })
})

const ORIGIN = 'https://app.example.com'

const corsRows: [string, Record<string, unknown>, Expected][] = [
  ['one origin', { origin: ORIGIN }, 'ok'],
  ['a list, a pattern and a RegExp', { origin: [ORIGIN, 'https://*.example.com', /^x$/] }, 'ok'],
  ['an origin function', { origin: () => true }, 'ok'],
  [
    'every option cors() takes',
    {
      origin: [ORIGIN],
      credentials: true,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type'],
      exposedHeaders: ['x-request-id'],
      maxAge: 600,
    },
    'ok',
  ],
  ['no origin', {}, 'origin'],
  ['an empty origin list', { origin: [] }, 'origin'],
  ['origin false', { origin: false }, 'origin'],
  ['credentials as a string', { origin: ORIGIN, credentials: 'yes' }, 'credentials'],
  ['a misspelt option', { origin: ORIGIN, credential: true }, 'credential'],
  ['a misspelt option set to undefined', { origin: ORIGIN, maxage: undefined }, 'maxage'],
  [
    "the npm cors package's preflightContinue",
    { origin: ORIGIN, preflightContinue: true },
    'preflightContinue',
  ],
  ["@fastify/cors's strictPreflight", { origin: ORIGIN, strictPreflight: true }, 'strictPreflight'],
  ['an unknown key beside a bad value', { origin: ORIGIN, credentials: 1, expose: [] }, 'expose'],
]

describe('drift guard: the cors section (cors)', () => {
  it.each(corsRows)('%s', (_name, options, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => cors(options as never)),
      sectionVerdict('cors', options)
    )
  })
})

/**
 * Left out on purpose: the doctor's `store: 'redis'` shorthand (no Store to hand `createCache`).
 * The bus needs a real connection: the row that gives one runs against a real Redis.
 */
describe('drift guard: the cache section (createCache)', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis.stop()
  })

  const rows: [string, () => Record<string, unknown>, Expected][] = [
    ['no option', () => ({}), 'ok'],
    ['a real store', () => ({ store: memoryStore() }), 'ok'],
    [
      'every option createCache takes',
      () => ({
        store: memoryStore(),
        memory: { maxEntries: 100, maxBytes: 1_000_000 },
        ttl: 60_000,
        staleWhileRevalidate: 1000,
        staleIfError: 1000,
        timeouts: { soft: 100, hard: 1000 },
        jitter: 0.1,
        namespace: 'drift',
        serializer: { serialize: JSON.stringify, deserialize: JSON.parse },
        compression: { threshold: 1024 },
        lockTtl: 10_000,
        lockMaxHold: 120_000,
        pollInterval: 50,
        bus: { client: redis.client(), channel: 'drift' },
        now: Date.now,
      }),
      'ok',
    ],
    ['memory null', () => ({ memory: null }), 'ok'],
    ['timeouts null', () => ({ timeouts: null }), 'ok'],
    ['compression false', () => ({ compression: false }), 'ok'],
    ['compression null', () => ({ compression: null }), 'ok'],
    ['a misspelt option', () => ({ staleWhileRevalidte: 1000 }), 'staleWhileRevalidte'],
    ['a misspelt key in memory', () => ({ memory: { maxEntires: 10 } }), 'memory.maxEntires'],
    ['a misspelt key in timeouts', () => ({ timeouts: { sotf: 10 } }), 'timeouts.sotf'],
    [
      'a misspelt key in compression',
      () => ({ compression: { treshold: 10 } }),
      'compression.treshold',
    ],
    ['memory as a number', () => ({ memory: 5 }), 'memory'],
    ['timeouts as a string', () => ({ timeouts: '1s' }), 'timeouts'],
    ['compression true', () => ({ compression: true }), 'compression'],
    ['store as an empty object', () => ({ store: {} }), 'store'],
  ]

  it.each(rows)('%s', async (_name, options, expected) => {
    const given = options()
    let made: { close(): Promise<void> } | undefined
    const kit = kitVerdict(() => {
      made = createCache(given as never)
    })
    await made?.close()
    expectVerdicts(expected, kit, sectionVerdict('cache', given))
  })
})

const DSN = 'https://public-key@127.0.0.1:9/1'

// Rows without a DSN validate every option and stop before Sentry.init; the last accepted row
// initialises the real SDK (to a port nothing listens on; no event is captured).
const sentryRows: [string, Record<string, unknown>, Expected][] = [
  ['no option', {}, 'ok'],
  ["Sentry's own options, unchecked", { sentryOptions: { anyKeySentryTakes: true } }, 'ok'],
  [
    'every option initSentry takes',
    {
      dsn: undefined,
      environment: 'test',
      release: '1.0.0',
      tracesSampleRate: 0.5,
      allowRequestBodies: false,
      allowGenAiContent: false,
      redact: (v: unknown) => v,
      sourceContext: 'drop',
      sentryOptions: {},
      sentry: undefined,
    },
    'ok',
  ],
  ['a misspelt option', { tracesSampleRte: 0.1 }, 'tracesSampleRte'],
  ['a DSN without its key', { dsn: 'https://127.0.0.1:9/1' }, 'dsn'],
  ['an empty DSN (no DSN, as docker-compose passes an unset SENTRY_DSN)', { dsn: '' }, 'ok'],
  ['a DSN that is not a URL', { dsn: 'public-key@sentry' }, 'dsn'],
  ['a DSN as a number', { dsn: 5 }, 'dsn'],
  ['an unknown key beside a bad DSN', { dsn: '', sampleRate: 1 }, 'sampleRate'],
  ['a DSN', { dsn: DSN }, 'ok'],
]

describe('drift guard: the sentry section (initSentry)', () => {
  it.each(sentryRows)('%s', (_name, options, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => initSentry(options as never)),
      sectionVerdict('sentry', options)
    )
  })
})

const metrics = createMetrics()
const TOKEN = 'metrics-token-0123456789'

const metricsRows: [string, Record<string, unknown>, Expected][] = [
  ['no option', {}, 'ok'],
  ['every option metricsHandler takes', { path: '/internal/metrics', token: TOKEN }, 'ok'],
  ['path null (answer wherever mounted)', { path: null }, 'ok'],
  ['a token of exactly 16 characters', { token: 'x'.repeat(16) }, 'ok'],
  ['a misspelt option', { pth: '/metrics' }, 'pth'],
  ['a path without /', { path: 'metrics' }, 'path'],
  ['a path as a number', { path: 5 }, 'path'],
  ['a token of 15 characters', { token: 'x'.repeat(15) }, 'token'],
  ['a token as a number', { token: 1234567890123456 }, 'token'],
]

describe('drift guard: the metrics section (metricsHandler)', () => {
  it.each(metricsRows)('%s', (_name, options, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => metricsHandler(metrics, options as never)),
      sectionVerdict('metrics', options)
    )
  })
})
