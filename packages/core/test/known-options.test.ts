import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../src/errors.js'
import { rejectUnknownOptions } from '../src/known-options.js'

const known = ['trustProxy', 'maxBodyBytes', 'maxJsonDepth', 'onError'] as const

function refusal(options: object, path?: string): InvalidOptionsError {
  try {
    rejectUnknownOptions(options, known, path)
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error
    throw error
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('rejectUnknownOptions', () => {
  it('accepts known keys, including ones set to undefined', () => {
    expect(() => rejectUnknownOptions({ trustProxy: 1, onError: undefined }, known)).not.toThrow()
    expect(() => rejectUnknownOptions({}, known)).not.toThrow()
  })

  it('names a misspelt key and suggests the option it most likely meant', () => {
    const error = refusal({ trustproxy: true })
    expect(error.code).toBe('INVALID_OPTIONS')
    expect(error.field).toBe('trustproxy')
    expect(error.message).toContain('did you mean `trustProxy`')
    expect(refusal({ maxBodyByte: 1 }).message).toContain('`maxBodyBytes`')
  })

  it('lists the known options when nothing is close', () => {
    const error = refusal({ colour: 'red' })
    expect(error.field).toBe('colour')
    expect(error.message).toContain('known: trustProxy, maxBodyBytes, maxJsonDepth, onError')
  })

  it('refuses an unknown key even when its value is undefined', () => {
    expect(refusal({ trustproxy: undefined }).field).toBe('trustproxy')
  })

  it('prefixes nested fields with the path', () => {
    const error = refusal({ maxJsonDeph: 3 }, 'limits[1].')
    expect(error.field).toBe('limits[1].maxJsonDeph')
    expect(error.message).toContain('`limits[1].maxJsonDepth`')
  })

  it('does not echo the value of the unknown key (it may be a secret)', () => {
    expect(refusal({ apiKye: 'sk-live-secret' }).message).not.toContain('sk-live-secret')
  })

  it('ignores inherited and symbol keys', () => {
    const options = Object.create({ inherited: 1 }) as Record<PropertyKey, unknown>
    options[Symbol('x')] = 1
    options.onError = () => {}
    expect(() => rejectUnknownOptions(options, known)).not.toThrow()
  })
})
