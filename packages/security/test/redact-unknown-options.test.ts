/**
 * `createRedactor` refuses option keys it does not know with an `InvalidOptionsError` naming the
 * key and the option it most likely meant: a misspelt `path` or `key` would otherwise be ignored
 * and the secrets it was meant to censor logged. Every documented option is still accepted: the
 * `Required<…>` object below stops compiling when an option is added to the type.
 */
import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { createRedactor, type RedactorOptions } from '../src/redact.js'

function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('createRedactor refuses unknown option keys', () => {
  it('names a misspelt option and the option it meant', () => {
    const error = refusal(() => createRedactor({ path: ['user.ssn'] } as never))
    expect(error.field).toBe('path')
    expect(error.message).toContain('did you mean `paths`')
  })

  it('refuses an unknown key even when its value is undefined', () => {
    expect(refusal(() => createRedactor({ censr: undefined } as never)).field).toBe('censr')
  })

  it('never echoes the value of the unknown key', () => {
    const error = refusal(() => createRedactor({ secretValue: 'hunter2-hunter2' } as never))
    expect(error.message).not.toContain('hunter2')
  })

  it('accepts every documented option', () => {
    const options: Required<RedactorOptions> = {
      paths: ['user.ssn'],
      keys: ['x-session'],
      patterns: [/tok_[a-z]{8}/],
      censor: '***',
      keepPrefix: false,
      maxDepth: 8,
      maxStringLength: 100,
    }
    const r = createRedactor(options)
    expect(r({ user: { ssn: '1' }, 'x-session': 's', note: 'tok_abcdefgh' })).toEqual({
      user: { ssn: '***' },
      'x-session': '***',
      note: '***',
    })
  })
})
