/**
 * A trustProxy entry spelled like an Object.prototype property (`constructor`, `toString`,
 * `__proto__`) is refused with InvalidOptionsError naming the entry, like any other entry that is
 * neither an IP, a CIDR nor a named range, and TRUST_PROXY with one fails the env check the same
 * way: not a TypeError from reading the named ranges' prototype.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createIpResolver } from '@aikit/core/adapter'
import { aikitEnv, defineEnv } from '@aikit/core/env'
import { describe, expect, it } from 'vitest'

const NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']

describe('trustProxy entries named like Object.prototype properties', () => {
  it.each(NAMES)('createIpResolver refuses %s with InvalidOptionsError', (name) => {
    let thrown: unknown
    try {
      createIpResolver(['loopback', name])
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidOptionsError)
    expect((thrown as InvalidOptionsError).message).toContain('trustProxy[1]')
  })

  it('TRUST_PROXY=constructor fails the env check naming the variable', () => {
    expect(() => defineEnv(aikitEnv, { env: { TRUST_PROXY: 'constructor' } })).toThrow(
      /TRUST_PROXY/
    )
  })

  it('the named ranges still work', () => {
    const resolve = createIpResolver(['loopback'])
    expect(typeof resolve).toBe('function')
  })
})
