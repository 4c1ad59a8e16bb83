/**
 * One table for every public factory of @aikit/observability that takes options: an unknown key,
 * at the top and inside each nested option object, and a wrong-typed value of each option, each
 * throw InvalidOptionsError naming the field at construction. A valid configuration of each still
 * constructs (test/unknown-options.test.ts builds each with every documented option).
 */
import { createServer } from 'node:http'
import { Writable } from 'node:stream'
import {
  clusterMetricsHandler,
  createLogger,
  createMetrics,
  gracefulShutdown,
  healthCheck,
  httpCheck,
  httpMetrics,
  metricsHandler,
  redisCheck,
  requestLogger,
} from '@aikit/observability'
import { initSentry } from '@aikit/observability/sentry'
import { invalidField } from '@aikit/testing/invalid-field'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'

const sink = () => new Writable({ write: (_c, _e, cb) => cb() })
const metrics = createMetrics({ key: false })
const logger = createLogger({ stream: sink() })
// Never connects: redisCheck only keeps the client for its PING.
const redis = new Redis({ lazyConnect: true })
const check = async () => true
const url = 'http://127.0.0.1:9/'

afterAll(() => {
  redis.disconnect()
})

type Row = readonly [label: string, build: () => unknown, field: string]

const rows: Record<string, Row[]> = {
  createMetrics: [
    ['unknown key', () => createMetrics({ prefx: 'a' } as never), 'prefx'],
    ['registry: an object', () => createMetrics({ registry: {} as never }), 'registry'],
    ['prefix: a number', () => createMetrics({ prefix: 5 as never, key: false }), 'prefix'],
    [
      'maxLabelValues: a string',
      () => createMetrics({ maxLabelValues: '10' as never, key: false }),
      'maxLabelValues',
    ],
    [
      'httpBuckets: a number',
      () => createMetrics({ httpBuckets: 0.5 as never, key: false }),
      'httpBuckets',
    ],
    [
      'httpBuckets: strings',
      () => createMetrics({ httpBuckets: ['0.5'] as never, key: false }),
      'httpBuckets',
    ],
    ['key: a number', () => createMetrics({ key: 5 as never }), 'key'],
    [
      'defaultMetrics: a string',
      () => createMetrics({ defaultMetrics: 'yes' as never, key: false }),
      'defaultMetrics',
    ],
  ],
  httpMetrics: [
    ['unknown key', () => httpMetrics(metrics, { routes: () => '/' } as never), 'routes'],
    ['metrics: an object', () => httpMetrics({} as never), 'metrics'],
    ['route: a string', () => httpMetrics(metrics, { route: '/x' as never }), 'route'],
  ],
  metricsHandler: [
    ['unknown key', () => metricsHandler(metrics, { tokn: 'x' } as never), 'tokn'],
    ['options: a string', () => metricsHandler(metrics, '/metrics' as never), 'options'],
    ['path: a number', () => metricsHandler(metrics, { path: 5 as never }), 'path'],
    ['token: a number', () => metricsHandler(metrics, { token: 5 as never }), 'token'],
  ],
  clusterMetricsHandler: [
    ['unknown key', () => clusterMetricsHandler({ timeout: 5 } as never), 'timeout'],
    ['path: a number', () => clusterMetricsHandler({ path: 5 as never }), 'path'],
    ['token: a number', () => clusterMetricsHandler({ token: 5 as never }), 'token'],
    ['timeoutMs: a string', () => clusterMetricsHandler({ timeoutMs: '5' as never }), 'timeoutMs'],
    [
      'maxLabelValues: a string',
      () => clusterMetricsHandler({ maxLabelValues: '10' as never }),
      'maxLabelValues',
    ],
  ],
  createLogger: [
    ['unknown key', () => createLogger({ levle: 'info' } as never), 'levle'],
    ['level: a number', () => createLogger({ level: 5 as never, stream: sink() }), 'level'],
    ['level: unknown name', () => createLogger({ level: 'loud', stream: sink() }), 'level'],
    ['redact: a string', () => createLogger({ redact: 'all' as never, stream: sink() }), 'redact'],
    ['stream: a string', () => createLogger({ stream: 'stdout' as never }), 'stream'],
    ['transports: an object', () => createLogger({ transports: {} as never }), 'transports'],
    [
      'defaultMeta: a string',
      () => createLogger({ defaultMeta: 'app' as never, stream: sink() }),
      'defaultMeta',
    ],
  ],
  requestLogger: [
    ['unknown key', () => requestLogger(logger, { headr: 'x-id' } as never), 'headr'],
    ['logger: an object', () => requestLogger({} as never), 'logger'],
    ['header: a number', () => requestLogger(logger, { header: 5 as never }), 'header'],
    [
      'header: a framing field',
      () => requestLogger(logger, { header: 'Transfer-Encoding' }),
      'header',
    ],
    ['header: Connection', () => requestLogger(logger, { header: 'connection' }), 'header'],
    [
      'trustIncoming: a string',
      () => requestLogger(logger, { trustIncoming: 'yes' as never }),
      'trustIncoming',
    ],
    ['generate: a string', () => requestLogger(logger, { generate: 'uuid' as never }), 'generate'],
    ['level: a number', () => requestLogger(logger, { level: 5 as never }), 'level'],
    ['route: a string', () => requestLogger(logger, { route: '/x' as never }), 'route'],
  ],
  initSentry: [
    ['unknown key', () => initSentry({ dsn: undefined, relase: 'r' } as never), 'relase'],
    ['dsn: a number', () => initSentry({ dsn: 5 as never }), 'dsn'],
    [
      'environment: a number',
      () => initSentry({ dsn: undefined, environment: 5 as never }),
      'environment',
    ],
    ['release: a number', () => initSentry({ dsn: undefined, release: 5 as never }), 'release'],
    [
      'tracesSampleRate: a string',
      () => initSentry({ dsn: undefined, tracesSampleRate: '0.1' as never }),
      'tracesSampleRate',
    ],
    [
      'allowRequestBodies: a string',
      () => initSentry({ dsn: undefined, allowRequestBodies: 'no' as never }),
      'allowRequestBodies',
    ],
    [
      'allowGenAiContent: a number',
      () => initSentry({ dsn: undefined, allowGenAiContent: 1 as never }),
      'allowGenAiContent',
    ],
    ['redact: a string', () => initSentry({ dsn: undefined, redact: 'x' as never }), 'redact'],
    [
      'sourceContext: a boolean',
      () => initSentry({ dsn: undefined, sourceContext: true as never }),
      'sourceContext',
    ],
    [
      'sentryOptions: an array',
      () => initSentry({ dsn: undefined, sentryOptions: [] as never }),
      'sentryOptions',
    ],
    ['sentry: an object', () => initSentry({ dsn: undefined, sentry: {} as never }), 'sentry'],
  ],
  healthCheck: [
    ['unknown key', () => healthCheck({ timeout: 5 } as never), 'timeout'],
    ['checks: an array', () => healthCheck({ checks: [check] as never }), 'checks'],
    ['checks: a string', () => healthCheck({ checks: 'redis' as never }), 'checks'],
    ['a check: a string', () => healthCheck({ checks: { db: 'ping' as never } }), 'checks.db'],
    [
      'a check definition unknown key',
      () => healthCheck({ checks: { db: { check, timeout: 5 } as never } }),
      'checks.db.timeout',
    ],
    [
      'a check definition critical: a string',
      () => healthCheck({ checks: { db: { check, critical: 'yes' as never } } }),
      'checks.db.critical',
    ],
    [
      'a check definition timeoutMs: a string',
      () => healthCheck({ checks: { db: { check, timeoutMs: '5' as never } } }),
      'checks.db.timeoutMs',
    ],
    [
      'a check definition componentType: a number',
      () => healthCheck({ checks: { db: { check, componentType: 5 as never } } }),
      'checks.db.componentType',
    ],
    [
      'a check definition measurement: a number',
      () => healthCheck({ checks: { db: { check, measurement: 5 as never } } }),
      'checks.db.measurement',
    ],
    [
      'a check definition cacheMs: a string',
      () => healthCheck({ checks: { db: { check, cacheMs: '5' as never } } }),
      'checks.db.cacheMs',
    ],
    ['timeoutMs: a string', () => healthCheck({ timeoutMs: '5' as never }), 'timeoutMs'],
    ['paths: a string', () => healthCheck({ paths: '/health' as never }), 'paths'],
    [
      'paths unknown key',
      () => healthCheck({ paths: { liveness: '/l' } as never }),
      'paths.liveness',
    ],
    ['paths.live: a number', () => healthCheck({ paths: { live: 5 as never } }), 'paths.live'],
  ],
  redisCheck: [
    ['unknown key', () => redisCheck(redis, { timeout: 5 } as never), 'timeout'],
    ['client: an object', () => redisCheck({} as never), 'client'],
    ['timeoutMs: a string', () => redisCheck(redis, { timeoutMs: '5' as never }), 'timeoutMs'],
    ['critical: a string', () => redisCheck(redis, { critical: 'no' as never }), 'critical'],
    ['cacheMs: negative', () => redisCheck(redis, { cacheMs: -1 }), 'cacheMs'],
  ],
  httpCheck: [
    ['unknown key', () => httpCheck(url, { header: {} } as never), 'header'],
    ['url: a number', () => httpCheck(5 as never), 'url'],
    ['method: a number', () => httpCheck(url, { method: 5 as never }), 'method'],
    ['ok: a number', () => httpCheck(url, { ok: 200 as never }), 'ok'],
    ['timeoutMs: a string', () => httpCheck(url, { timeoutMs: '5' as never }), 'timeoutMs'],
    ['critical: a string', () => httpCheck(url, { critical: 'no' as never }), 'critical'],
    ['headers: a string', () => httpCheck(url, { headers: 'x' as never }), 'headers'],
    [
      'headers value: a number',
      () => httpCheck(url, { headers: { 'x-a': 5 } as never }),
      'headers',
    ],
    ['cacheMs: a string', () => httpCheck(url, { cacheMs: '5' as never }), 'cacheMs'],
  ],
  gracefulShutdown: [
    [
      'unknown key',
      () => gracefulShutdown(createServer(), { delay: 5, signals: [] } as never),
      'delay',
    ],
    ['server: an object', () => gracefulShutdown({} as never, { signals: [] }), 'server'],
    [
      'health: an object',
      () => gracefulShutdown(createServer(), { health: {} as never, signals: [] }),
      'health',
    ],
    [
      'delayMs: a string',
      () => gracefulShutdown(createServer(), { delayMs: '5' as never, signals: [] }),
      'delayMs',
    ],
    [
      'timeoutMs: a string',
      () => gracefulShutdown(createServer(), { timeoutMs: '5' as never, signals: [] }),
      'timeoutMs',
    ],
    [
      'signals: a string',
      () => gracefulShutdown(createServer(), { signals: 'SIGTERM' as never }),
      'signals',
    ],
    [
      'onShutdown: a string',
      () => gracefulShutdown(createServer(), { onShutdown: 'close' as never, signals: [] }),
      'onShutdown',
    ],
    [
      'exit: a string',
      () => gracefulShutdown(createServer(), { exit: 'no' as never, signals: [] }),
      'exit',
    ],
  ],
}

for (const [factory, table] of Object.entries(rows)) {
  describe(`${factory} names an unknown key and each wrong-typed option`, () => {
    it.each(table)('%s', (_label, build, field) => {
      expect(
        invalidField(() => {
          // A row that constructs fails on `undefined`: leave nothing running (a shutdown's
          // signal handlers).
          ;(build() as { dispose?: () => void } | undefined)?.dispose?.()
        })
      ).toBe(field)
    })
  })
}
