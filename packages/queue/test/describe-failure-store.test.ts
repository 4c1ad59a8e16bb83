// A job that failed on a store outage: what its followers read (the SSE error event, `result()`)
// is the client's message, never the store's cause (the Redis host and port in ioredis's error).
import { StoreTimeoutError, StoreUnavailableError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { describeFailure } from '../src/retry.js'

describe('describeFailure of a store error', () => {
  it('carries the generic client message, not the cause', () => {
    const down = new StoreUnavailableError(
      'redis EVALSHA failed: connect ECONNREFUSED 10.0.0.5:6379'
    )
    expect(describeFailure(down, 2)).toEqual({
      status: 503,
      code: 'STORE_UNAVAILABLE',
      message: 'Service temporarily unavailable',
      attempts: 2,
    })
    expect(describeFailure(new StoreTimeoutError(50, 'redis GET'), 1).message).toBe(
      'Service temporarily unavailable'
    )
  })
})
