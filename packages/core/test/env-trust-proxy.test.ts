// README (@aikit/core/env): `defineEnv` "throws ONE `EnvError` … listing every missing or
// malformed variable by name", and the field helper `trustProxy()` takes "`false`, a hop count, or
// CIDRs; `true` refused" (its JSDoc: "The adapters' `trustProxy` option"). The production guide
// wires it straight into the adapters: `{ trustProxy: env.TRUST_PROXY }`.
//
// So a TRUST_PROXY the adapters refuse (a malformed CIDR, a word, a hop count above their maximum
// of 32) is a malformed variable: it is in the EnvError with the others, named, its value never
// quoted, instead of passing `defineEnv` and failing later on the adapter's InvalidOptionsError.
import { createIpResolver } from '@aikit/core/adapter'
import { aikitEnv, defineEnv, EnvError, trustProxy } from '@aikit/core/env'
import { describe, expect, it } from 'vitest'

function errorOf(env: Record<string, string>): EnvError | undefined {
  try {
    defineEnv(aikitEnv, { env })
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError)
    return error as EnvError
  }
  return undefined
}

/** What the field turns the raw string into, as the app would pass it to an adapter. */
function fieldValue(value: string): false | number | string | readonly string[] {
  return defineEnv({ TRUST_PROXY: aikitEnv.TRUST_PROXY }, { env: { TRUST_PROXY: value } })
    .TRUST_PROXY
}

describe('aikitEnv TRUST_PROXY: a value the adapters refuse is a malformed variable', () => {
  it.each([
    ['a malformed CIDR', '10.0.0.0/99', 'must be an IP, a CIDR or loopback/linklocal/uniquelocal'],
    ['a word that is no address or named range', 'yes', 'must be an IP, a CIDR'],
    ['a hop count above the adapters’ 32', '40', 'a hop count must be an integer from 0 to 32'],
    ['one bad item in a list', 'loopback, 10.0.0.0/8, nope', 'item 3 must be an IP, a CIDR'],
  ])(
    '%s (%s) is reported by defineEnv with the others, by name, never quoted',
    (_what, value, reason) => {
      // The adapters refuse it at construction (the field's own transform, without the check)…
      const raw = value.includes(',') ? value.split(',').map((s) => s.trim()) : value
      expect(() => createIpResolver(/^\d+$/.test(value) ? Number(value) : raw)).toThrow()
      // …so defineEnv lists it with the other malformed variables.
      const error = errorOf({ TRUST_PROXY: value, PORT: 'not-a-port' })
      expect(error?.issues.map((i) => i.name)).toEqual(['PORT', 'TRUST_PROXY'])
      const issue = error?.issues.find((i) => i.name === 'TRUST_PROXY')
      expect(issue?.problem).toBe('invalid')
      expect(issue?.reason).toContain(reason)
      expect(issue?.reason).not.toContain(value)
      expect(error?.message).not.toContain(value)
    }
  )

  it.each([
    ['no proxy', 'false', false],
    ['the adapters’ largest hop count', '32', 32],
    ['a named range', 'loopback', 'loopback'],
    [
      'IPs, CIDRs and named ranges',
      '10.0.0.1, 10.0.0.0/8, ::1, uniquelocal',
      ['10.0.0.1', '10.0.0.0/8', '::1', 'uniquelocal'],
    ],
  ])('%s (%s) passes, as a value the adapters accept', (_what, value, parsed) => {
    expect(fieldValue(value)).toEqual(parsed)
    expect(() => createIpResolver(fieldValue(value))).not.toThrow()
  })

  it('the trustProxy() field helper checks the same in any schema', () => {
    expect(() => defineEnv({ TP: trustProxy() }, { env: { TP: '2001:db8::/200' } })).toThrow(
      /TP is invalid \(must be an IP, a CIDR/
    )
  })
})
