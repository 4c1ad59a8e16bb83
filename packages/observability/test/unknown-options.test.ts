/**
 * Option keys the factories do not know are refused with an `InvalidOptionsError` naming the key
 * (with its path for nested option objects) and the option it most likely meant, instead of being
 * ignored while the default applies (a misspelt `token` serves /metrics to anyone, a misspelt
 * `allowGenAiContent` or `trustIncoming` silently keeps the other setting). Every documented option
 * is still accepted: the `Required<…>` objects below stop compiling when an option is added to a
 * type, so its key list gets the new name too. Objects handed to other libraries (`sentryOptions`,
 * `defaultMeta`, `headers`) and names chosen by the app (`checks`) are not checked.
 */
import { createServer } from 'node:http'
import { Writable } from 'node:stream'
import { InvalidOptionsError } from '@aikit/core'
import {
  type CheckDefinition,
  type ClusterMetricsHandlerOptions,
  clusterMetricsHandler,
  createLogger,
  createMetrics,
  type GracefulShutdownOptions,
  gracefulShutdown,
  type HealthCheckOptions,
  type HealthPaths,
  type HttpCheckOptions,
  type HttpMetricsOptions,
  healthCheck,
  httpCheck,
  httpMetrics,
  type LoggerOptions,
  type MetricsHandlerOptions,
  type MetricsOptions,
  metricsHandler,
  type RedisCheckOptions,
  type RequestLoggerOptions,
  redisCheck,
  requestLogger,
} from '@aikit/observability'
import { initSentry, type SentryOptions } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import winston from 'winston'

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

/** `fn` throws naming `field`, and suggests `meant`. */
function expectRefused(fn: () => unknown, field: string, meant: string): void {
  const error = refusal(fn)
  expect(error.field).toBe(field)
  expect(error.message).toContain(`did you mean \`${meant}\``)
}

const sink = () => new Writable({ write: (_c, _e, cb) => cb() })
const metrics = createMetrics({ key: false })
const logger = createLogger({ stream: sink() })
// Never connects: redisCheck only keeps the client for its PING.
const redis = new Redis({ lazyConnect: true })

afterAll(() => {
  redis.disconnect()
})

describe('the metrics factories refuse unknown option keys', () => {
  it('createMetrics names a misspelt option', () => {
    expectRefused(
      () => createMetrics({ key: false, maxLabelValue: 5 } as never),
      'maxLabelValue',
      'maxLabelValues'
    )
  })

  it('httpMetrics names a misspelt option', () => {
    expectRefused(() => httpMetrics(metrics, { rout: () => '/x' } as never), 'rout', 'route')
  })

  it('metricsHandler names a misspelt option', () => {
    expectRefused(
      () => metricsHandler(metrics, { tokn: 'a-long-enough-token-1234' } as never),
      'tokn',
      'token'
    )
  })

  it('clusterMetricsHandler names a misspelt option', () => {
    expectRefused(() => clusterMetricsHandler({ timeout: 100 } as never), 'timeout', 'timeoutMs')
  })

  it('an unknown key is refused even when its value is undefined', () => {
    expect(refusal(() => metricsHandler(metrics, { tokens: undefined } as never)).field).toBe(
      'tokens'
    )
  })

  it('every documented option is accepted', () => {
    const metricsOptions: Required<MetricsOptions> = {
      registry: new Registry(),
      prefix: 'every_',
      maxLabelValues: 10,
      httpBuckets: [0.1, 1],
      key: false,
      defaultMetrics: false,
    }
    expect(createMetrics(metricsOptions).registry).toBe(metricsOptions.registry)
    const http: Required<HttpMetricsOptions> = { route: () => '/x' }
    expect(typeof httpMetrics(metrics, http)).toBe('function')
    const handler: Required<MetricsHandlerOptions> = {
      path: '/metrics',
      token: 'a-long-enough-token-1234',
    }
    expect(typeof metricsHandler(metrics, handler)).toBe('function')
    const cluster: Required<ClusterMetricsHandlerOptions> = {
      ...handler,
      timeoutMs: 100,
      maxLabelValues: 10,
    }
    expect(typeof clusterMetricsHandler(cluster)).toBe('function')
  })
})

describe('the logging factories refuse unknown option keys', () => {
  it('createLogger names a misspelt option', () => {
    expectRefused(
      () => createLogger({ stream: sink(), defautMeta: {} } as never),
      'defautMeta',
      'defaultMeta'
    )
  })

  it('requestLogger names a misspelt option', () => {
    expectRefused(
      () => requestLogger(logger, { trustIncomming: false } as never),
      'trustIncomming',
      'trustIncoming'
    )
  })

  it('every documented option is accepted (defaultMeta holds the app fields, unchecked)', () => {
    const options: Required<LoggerOptions> = {
      level: 'debug',
      redact: (v) => v,
      stream: sink(),
      transports: [new winston.transports.Stream({ stream: sink() })],
      defaultMeta: { service: 'chat-api', anyFieldName: 1 },
    }
    expect(createLogger(options).level).toBe('debug')
    const request: Required<RequestLoggerOptions> = {
      header: 'X-Trace-Id',
      trustIncoming: false,
      generate: () => 'id-1',
      level: 'http',
      route: () => '/x',
    }
    expect(typeof requestLogger(logger, request)).toBe('function')
  })
})

describe('the health factories refuse unknown option keys', () => {
  const check = async () => {}

  it('healthCheck names a misspelt option', () => {
    expectRefused(() => healthCheck({ timeout: 100 } as never), 'timeout', 'timeoutMs')
  })

  it('healthCheck names a misspelt key of paths under paths', () => {
    expectRefused(
      () => healthCheck({ paths: { reddy: '/ready' } } as never),
      'paths.reddy',
      'paths.ready'
    )
  })

  it('healthCheck names a misspelt key of a check definition under its check name', () => {
    expectRefused(
      () => healthCheck({ checks: { redis: { check, timeoutMS: 50 } } } as never),
      'checks.redis.timeoutMS',
      'checks.redis.timeoutMs'
    )
  })

  it('redisCheck, httpCheck and gracefulShutdown name a misspelt option', () => {
    expectRefused(() => redisCheck(redis, { critcal: false } as never), 'critcal', 'critical')
    expectRefused(
      () => httpCheck('http://127.0.0.1:9/', { cache: 10 } as never),
      'cache',
      'cacheMs'
    )
    expectRefused(
      () => gracefulShutdown(createServer(), { delay: 10, signals: [] } as never),
      'delay',
      'delayMs'
    )
  })

  it('every documented option is accepted (check names and httpCheck headers unchecked)', () => {
    const definition: Required<CheckDefinition> = {
      check,
      timeoutMs: 50,
      critical: false,
      componentType: 'datastore',
      measurement: 'latency',
      cacheMs: 0,
    }
    const paths: Required<HealthPaths> = { live: '/l', ready: '/r', health: null }
    const redisOptions: Required<RedisCheckOptions> = {
      timeoutMs: 50,
      critical: false,
      cacheMs: 10,
    }
    const httpOptions: Required<HttpCheckOptions> = {
      method: 'GET',
      ok: (s) => s < 400,
      timeoutMs: 50,
      critical: true,
      headers: { 'x-any-header-name': '1' },
      cacheMs: 10,
    }
    const options: Required<HealthCheckOptions> = {
      checks: {
        'any.name': definition,
        redis: redisCheck(redis, redisOptions),
        provider: httpCheck('http://127.0.0.1:9/', httpOptions),
        fn: check,
      },
      timeoutMs: 100,
      paths,
    }
    const health = healthCheck(options)
    expect(health.shuttingDown).toBe(false)
    const shutdown: Required<GracefulShutdownOptions> = {
      health,
      delayMs: 0,
      timeoutMs: 100,
      signals: [],
      onShutdown: () => {},
      exit: false,
    }
    gracefulShutdown(createServer(), shutdown).dispose()
  })
})

describe('initSentry refuses unknown keys of its own options', () => {
  it('names a misspelt option', () => {
    expectRefused(
      () => initSentry({ dsn: undefined, allowGenAIContent: true } as never),
      'allowGenAIContent',
      'allowGenAiContent'
    )
  })

  it('accepts every documented option, and passes sentryOptions to Sentry unchecked', () => {
    const options: Required<SentryOptions> = {
      dsn: undefined,
      environment: 'test',
      release: 'r1',
      tracesSampleRate: 0,
      allowRequestBodies: false,
      allowGenAiContent: false,
      redact: (v) => v,
      sourceContext: 'drop',
      sentryOptions: { maxBreadcrumbs: 10, anyFutureSentryOption: true },
      sentry: Sentry,
    }
    // No DSN: nothing is initialised.
    expect(initSentry(options)).toBeUndefined()
  })
})
