import { describe, expect, it } from 'vitest'
import { type AdapterOptions, resolveAdapterOptions } from '../src/adapter-options.js'
import { InvalidOptionsError } from '../src/errors.js'

function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('resolveAdapterOptions: option keys', () => {
  it('refuses a misspelt key, naming it and the option it most likely meant', () => {
    const error = refusal(() => resolveAdapterOptions({ trustproxy: 1 } as AdapterOptions))
    expect(error.field).toBe('trustproxy')
    expect(error.message).toContain('`trustProxy`')
  })

  it('accepts every AdapterOptions key', () => {
    const every: Required<AdapterOptions> = {
      trustProxy: ['10.0.0.0/8'],
      maxBodyBytes: 10,
      maxJsonDepth: 3,
      maxJsonKeys: 50_000,
      onError: () => {},
      asyncContext: false,
    }
    const resolved = resolveAdapterOptions(every)
    expect(resolved.maxBodyBytes).toBe(10)
    expect(resolved.maxJsonDepth).toBe(3)
    expect(resolved.maxJsonKeys).toBe(50_000)
    expect(resolved.asyncContext).toBe(false)
  })

  it("accepts the adapter's own keys it is told of, and still refuses others", () => {
    const options = { handler: () => {}, maxBodyBytes: 5 } as AdapterOptions
    expect(resolveAdapterOptions(options, ['handler']).maxBodyBytes).toBe(5)
    expect(refusal(() => resolveAdapterOptions(options)).field).toBe('handler')
    expect(
      refusal(() => resolveAdapterOptions({ handlr: 1 } as AdapterOptions, ['handler'])).message
    ).toContain('`handler`')
  })
})
