// isAikitError recognised any Error shaped like one: a string `code`, a `status` from 400 to 599,
// a `name` and a `toJSON`. An HTTP client's error has that shape (axios: `code:
// 'ERR_BAD_REQUEST'`, `status: 401`, `toJSON()`), so a route calling an API with it answered the
// END USER with the upstream's 401 and its message ("Request failed with status code 401"), and
// the failure went unreported. Only errors made by AikitError (any copy of the package) count.
import { describe, expect, it } from 'vitest'
import { AikitError, errorBody, errorStatus, isAikitError } from '../src/index.js'

/** axios 1.x's AxiosError, as far as the shape goes. */
class AxiosLikeError extends Error {
  readonly code = 'ERR_BAD_REQUEST'
  readonly status = 401
  readonly config = { headers: { Authorization: 'Bearer sk-secret' } }
  constructor() {
    super('Request failed with status code 401')
    this.name = 'AxiosError'
  }
  toJSON() {
    return { message: this.message, code: this.code, status: this.status, config: this.config }
  }
}

describe('isAikitError: only errors made by AikitError count', () => {
  it('an HTTP client error shaped like one is an INTERNAL 500, its message withheld', () => {
    const error = new AxiosLikeError()
    expect(isAikitError(error)).toBe(false)
    expect(errorStatus(error)).toBe(500)
    expect(errorBody(error)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
  })

  it('a kit error, and one made by another copy of the package, still count', () => {
    expect(isAikitError(new AikitError('X', 418, 'teapot'))).toBe(true)
    // Another copy: its own class, the same mark on its prototype (Symbol.for).
    const mark = Symbol.for('@aikit/core.AikitError')
    class OtherCopyError extends Error {
      readonly code = 'RATE_LIMITED'
      readonly status = 429
      toJSON() {
        return {}
      }
    }
    Object.defineProperty(OtherCopyError.prototype, mark, { value: true })
    expect(isAikitError(new OtherCopyError('Too many requests'))).toBe(true)
    expect(errorStatus(new OtherCopyError('x'))).toBe(429)
  })
})
