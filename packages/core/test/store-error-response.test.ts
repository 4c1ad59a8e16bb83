/**
 * A store outage as the client sees it: the JSON error says only "Service temporarily
 * unavailable" (how the store failed is ours to log, not the client's to read) and the 503 carries
 * `Retry-After`: the time until the circuit breaker's half-open probe when it is open, else 1.
 * The detail (circuit open, timeout, refused connection) stays on the error for logs.
 */
import { inspect } from 'node:util'
import {
  AikitError,
  errorBody,
  errorHeaders,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@aikit/core'
import { errorResponse } from '@aikit/core/adapter'
import { circuitBreaker } from '@aikit/core/redis'
import { describe, expect, it } from 'vitest'

const GENERIC = 'Service temporarily unavailable'
const down = () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:6379'))

/** A breaker on a clock the test moves, opened by one failure. */
async function openBreaker(openMs: number) {
  let t = 0
  const breaker = circuitBreaker({ failureThreshold: 1, openMs, now: () => t })
  await expect(breaker.execute(down)).rejects.toThrow('ECONNREFUSED')
  return {
    breaker,
    advance: (ms: number) => {
      t += ms
    },
    rejection: () => breaker.execute(down).catch((e: unknown) => e as StoreUnavailableError),
  }
}

function bodyOf(error: unknown): unknown {
  const res = errorResponse(error)
  return JSON.parse(res.body.kind === 'text' ? res.body.text : '')
}

describe('store errors: the client reads a generic message, logs keep the detail', () => {
  it.each([
    [
      'circuit open',
      new StoreUnavailableError('circuit open: store is unavailable', {
        reason: 'circuit-open',
        retryAfterMs: 300,
      }),
      'STORE_UNAVAILABLE',
      'circuit open: store is unavailable',
    ],
    [
      'connection down',
      new StoreUnavailableError('redis GET failed: connect ECONNREFUSED 10.0.0.5:6379', {
        reason: 'connection',
        cause: new Error('connect ECONNREFUSED 10.0.0.5:6379'),
      }),
      'STORE_UNAVAILABLE',
      'redis GET failed: connect ECONNREFUSED 10.0.0.5:6379',
    ],
    [
      'timeout',
      new StoreTimeoutError(50, 'redis GET'),
      'STORE_TIMEOUT',
      'redis GET timed out after 50 ms',
    ],
  ])(
    '%s: the body has only the generic message, logMessage the detail',
    (_what, error, code, detail) => {
      // The message is the detail (logs, Sentry, String(error)); the body reads clientMessage.
      expect(error.message).toBe(detail)
      expect(error.clientMessage).toBe(GENERIC)
      expect(errorBody(error)).toEqual({ error: { code, message: GENERIC } })
      expect(bodyOf(error)).toEqual({ error: { code, message: GENERIC } })
      expect(JSON.stringify(errorBody(error))).not.toContain(detail)
      expect(error.logMessage).toBe(detail)
      // What a logger prints (util.inspect, winston's errors format copies the own fields).
      expect(inspect(error)).toContain(detail)
      expect({ ...error }).toMatchObject({ code, logMessage: detail })
    }
  )

  it('keeps reason and cause on a StoreUnavailableError', () => {
    const cause = new Error('connect ECONNREFUSED')
    const error = new StoreUnavailableError('redis GET failed', { reason: 'connection', cause })
    expect(error).toMatchObject({ status: 503, reason: 'connection', cause })
    expect(new StoreTimeoutError(75)).toMatchObject({
      status: 503,
      timeoutMs: 75,
      logMessage: 'store command timed out after 75 ms',
    })
  })
})

describe('store errors: the 503 carries Retry-After', () => {
  it('an open circuit: the seconds until its half-open probe, rounded up, at least 1', async () => {
    const { advance, rejection } = await openBreaker(5000)
    const first = await rejection()
    expect(first).toMatchObject({ reason: 'circuit-open', retryAfterMs: 5000 })
    expect(errorResponse(first).headers['retry-after']).toBe('5')
    advance(1200)
    const later = await rejection()
    expect(later.retryAfterMs).toBe(3800)
    expect(errorResponse(later).headers['retry-after']).toBe('4')
    advance(3799)
    const last = await rejection()
    expect(last.retryAfterMs).toBe(1)
    expect(errorResponse(last).headers['retry-after']).toBe('1')
    expect(bodyOf(last)).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: GENERIC } })
  })

  it('while the half-open probe runs, the others wait 1 s (its answer decides)', async () => {
    const { breaker, advance, rejection } = await openBreaker(2000)
    advance(2000)
    let release!: () => void
    const probe = breaker.execute(() => new Promise<void>((resolve) => (release = resolve)))
    const waiting = await rejection()
    expect(waiting).toMatchObject({ reason: 'circuit-open', retryAfterMs: 0 })
    expect(errorHeaders(waiting)).toEqual({ 'retry-after': '1' })
    release()
    await probe
    expect(breaker.state).toBe('closed')
  })

  it('a timeout, a connection error before the circuit opens, a closed store: 1 s', () => {
    for (const error of [
      new StoreTimeoutError(50, 'redis GET'),
      new StoreUnavailableError('redis GET failed: ECONNRESET', { reason: 'connection' }),
      new StoreUnavailableError('redis store is closed', { reason: 'closed' }),
    ]) {
      expect(error.retryAfterMs).toBe(1000)
      expect(errorResponse(error).headers).toEqual({
        'retry-after': '1',
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
      })
    }
  })

  it('a bad retryAfterMs given to the constructor falls back to 1 s', () => {
    for (const retryAfterMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = new StoreUnavailableError('x', { reason: 'circuit-open', retryAfterMs })
      expect(errorHeaders(error)).toEqual({ 'retry-after': '1' })
    }
  })
})

describe('errorHeaders: Retry-After for any 429 / 503 kit error that says when to retry', () => {
  class Limited extends AikitError {
    constructor(readonly retryAfterMs: number) {
      super('RATE_LIMITED', 429, 'Too many requests', { details: { retryAfterMs } })
    }
  }

  it('a 429 with retryAfterMs gets it; one that can never pass (-1) does not', () => {
    expect(errorHeaders(new Limited(2001))).toEqual({ 'retry-after': '3' })
    expect(errorHeaders(new Limited(0))).toEqual({ 'retry-after': '1' })
    expect(errorHeaders(new Limited(-1))).toEqual({})
  })

  it('nothing for other statuses, errors without retryAfterMs, or values that are not kit errors', () => {
    const teapot = Object.assign(new AikitError('X', 400, 'x'), { retryAfterMs: 5000 })
    expect(errorHeaders(teapot)).toEqual({})
    expect(errorHeaders(new AikitError('DOWN', 503, 'down'))).toEqual({})
    const foreign = Object.assign(new Error('upstream'), { status: 503, retryAfterMs: 5000 })
    expect(errorHeaders(foreign)).toEqual({})
    expect(errorResponse(foreign).headers['retry-after']).toBeUndefined()
    expect(errorHeaders(undefined)).toEqual({})
  })

  it('returns a new object each call (callers may add to it)', () => {
    const error = new StoreTimeoutError(50)
    const a = errorHeaders(error)
    a.extra = '1'
    expect(errorHeaders(error)).toEqual({ 'retry-after': '1' })
  })
})

describe('store errors: operators read the cause, clients never do', () => {
  it('the message, String(error) and a thrown error in a log say what happened; the body does not', () => {
    const error = new StoreUnavailableError(
      'redis GET failed: connect ECONNREFUSED 10.0.0.5:6379',
      {
        reason: 'connection',
      }
    )
    expect(String(error)).toContain('ECONNREFUSED 10.0.0.5:6379')
    expect(JSON.stringify(error)).not.toContain('10.0.0.5')
    expect(error.toJSON()).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: GENERIC } })
  })
})
