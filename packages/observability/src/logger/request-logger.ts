/**
 * @module request-logger
 * `requestLogger(logger)`: gives each request an id (the caller's `X-Request-Id` only when it is
 * safe to echo and to log), puts it on `ctx.state.requestId` and the response, and writes one line
 * per request when its body is fully sent: method, path, route, status, duration, aborted.
 * Headers and bodies are never logged by this middleware.
 */
import { randomUUID } from 'node:crypto'
import { InvalidOptionsError, type Middleware, onFinished } from '@aikit/core'
import { isFramingHeader, rejectUnknownOptions } from '@aikit/core/adapter'
import { READINESS_FAILED } from '../health/probe-mark.js'
import { type RouteResolver, routeOf } from '../route.js'
import {
  FAST_LINE,
  FAST_REQUEST_LINE,
  type FastLine,
  type FastRequestLine,
} from './create-logger.js'
import { setResponseHeader } from './id-header.js'

import '../state.js'

/** The part of a (winston) logger `requestLogger` uses. */
export interface LineLogger {
  log(level: string, message: string, meta: Record<string, unknown>): unknown
}

/** Options of `requestLogger`. */
export interface RequestLoggerOptions {
  /** Request and response header carrying the id. Default `'X-Request-Id'`. */
  header?: string
  /**
   * Accept the caller's id (when it is at most 128 characters of `[A-Za-z0-9._-]`; anything else
   * gets a new id). Set `false` when clients are untrusted and ids must be unique. Default `true`.
   */
  trustIncoming?: boolean
  /** Makes a new id. Default `crypto.randomUUID`. */
  generate?: () => string
  /** Level of the line for statuses below 500 (5xx lines are `error`). Default `'info'`. */
  level?: string
  /** Route template for the line. Default: the framework's matched route (see `httpMetrics`). */
  route?: RouteResolver
}

/** The keys of `RequestLoggerOptions`; any other key is refused. */
const REQUEST_LOGGER_OPTION_KEYS = [
  'header',
  'trustIncoming',
  'generate',
  'level',
  'route',
] as const satisfies readonly (keyof RequestLoggerOptions)[]

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/

/** Whether an incoming request id may be echoed and logged as is. */
export function isSafeRequestId(value: string | undefined): value is string {
  return value !== undefined && SAFE_ID.test(value)
}

/** Creates the request logging middleware. Put it first so every line of the request has its id. */
export function requestLogger(logger: LineLogger, options: RequestLoggerOptions = {}): Middleware {
  if (logger === null || typeof logger !== 'object' || typeof logger.log !== 'function') {
    throw new InvalidOptionsError('logger', 'must be a logger (createLogger())')
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, REQUEST_LOGGER_OPTION_KEYS)
  const {
    header = 'X-Request-Id',
    trustIncoming = true,
    generate = randomUUID,
    level = 'info',
    route = routeOf,
  } = options
  if (typeof header !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(header)) {
    throw new InvalidOptionsError('header', 'must be a header name')
  }
  // The framing and connection fields are the adapter's (`ctx.setHeader` refuses them): an id
  // there would fail every request, or, set on the native response, misframe it.
  if (isFramingHeader(header.toLowerCase())) {
    throw new InvalidOptionsError(
      'header',
      `must not be ${header}: the adapter frames the response`
    )
  }
  if (typeof trustIncoming !== 'boolean') {
    throw new InvalidOptionsError('trustIncoming', 'must be a boolean')
  }
  if (typeof generate !== 'function')
    throw new InvalidOptionsError('generate', 'must be a function')
  if (typeof level !== 'string' || level === '') {
    throw new InvalidOptionsError('level', 'must be a level name')
  }
  // A winston logger knows its levels: a name it lacks would fail (or vanish) on every line.
  const levels = (logger as { levels?: unknown }).levels
  if (typeof levels === 'object' && levels !== null && !Object.hasOwn(levels, level)) {
    throw new InvalidOptionsError('level', `must be one of ${Object.keys(levels).join(', ')}`)
  }
  if (typeof route !== 'function') throw new InvalidOptionsError('route', 'must be a function')
  // Adapters look request headers up in lower case, and Fastify stores reply headers so: one
  // lower-casing here, not one per request.
  const headerKey = header.toLowerCase()
  const fastLine = (logger as { [FAST_LINE]?: FastLine })[FAST_LINE]
  const fastRequestLine = (logger as { [FAST_REQUEST_LINE]?: FastRequestLine })[FAST_REQUEST_LINE]

  // Not an async function: no wrapper promise per request (see httpMetrics).
  return function requestLogger(ctx, next) {
    const start = performance.now()
    const incoming = trustIncoming ? ctx.header(headerKey) : undefined
    const trusted = isSafeRequestId(incoming)
    const requestId = trusted ? incoming : generate()
    ctx.state.requestId = requestId
    // A safe incoming id or a UUID is valid header text: the framework's own response takes it
    // (see id-header.ts). A custom generator's id keeps `ctx.setHeader`, which checks it.
    if (trusted || generate === randomUUID) setResponseHeader(ctx, header, headerKey, requestId)
    else ctx.setHeader(header, requestId)
    // A callback, not `finished.then`: no promise per request (see httpMetrics).
    onFinished(ctx, ({ aborted }) => {
      const status = ctx.status
      let template: string | undefined
      try {
        template = route(ctx)
      } catch {
        template = undefined
      }
      const durationMs = Math.round((performance.now() - start) * 1000) / 1000
      const subject = ctx.state.subject
      const lineLevel =
        status !== undefined && status >= 500
          ? (ctx.state as Record<symbol, unknown>)[READINESS_FAILED] === true
            ? 'warn'
            : 'error'
          : level
      try {
        if (
          fastRequestLine !== undefined &&
          typeof aborted === 'boolean' &&
          (template === undefined || typeof template === 'string') &&
          (subject === undefined || typeof subject === 'string') &&
          fastRequestLine(
            lineLevel,
            requestId,
            ctx.method,
            ctx.path,
            status ?? null,
            durationMs,
            aborted,
            template,
            subject,
            !trusted && generate === randomUUID
          )
        ) {
          return
        }
        const meta: Record<string, unknown> = {
          requestId,
          method: ctx.method,
          path: ctx.path,
          status: status ?? null,
          durationMs,
          aborted,
        }
        if (template !== undefined) meta.route = template
        if (subject !== undefined) meta.subject = subject
        if (fastLine === undefined || !fastLine(lineLevel, 'request', meta)) {
          logger.log(lineLevel, 'request', meta)
        }
      } catch {
        // A broken transport must not turn into an unhandled rejection.
      }
    })
    return next()
  }
}
