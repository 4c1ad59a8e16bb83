import {
  AikitError,
  errorBody,
  errorStatus,
  InvalidOptionsError,
  InvalidRequestError,
  isAikitError,
  PayloadTooLargeError,
} from '@aikit/core'
import { describe, expect, it } from 'vitest'

describe('errors', () => {
  it('keeps code, status and details in the JSON shape', () => {
    const e = new InvalidRequestError('bad field', { details: { field: 'q' } })
    expect(e).toBeInstanceOf(AikitError)
    expect(e.name).toBe('InvalidRequestError')
    expect(errorBody(e)).toEqual({
      error: { code: 'INVALID_REQUEST', message: 'bad field', details: { field: 'q' } },
    })
    expect(JSON.parse(JSON.stringify(e))).toEqual(errorBody(e))
    expect(errorStatus(new PayloadTooLargeError(10))).toBe(413)
  })

  it('hides anything that is not a kit error', () => {
    expect(errorBody(new Error('password=hunter2'))).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(errorBody('string thrown')).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(errorStatus(new Error('x'))).toBe(500)
    expect(isAikitError({ code: 'X', status: 400 })).toBe(false)
  })

  it('names the bad field of an invalid option', () => {
    const e = new InvalidOptionsError('limits[0].window', 'must be positive')
    expect(e.field).toBe('limits[0].window')
    expect(e.code).toBe('INVALID_OPTIONS')
    expect(e.message).toContain('limits[0].window')
  })
})
