/**
 * `ipKey`, exported for a `keyBy` of one's own (README "ipKey(ip, ipv6Prefix)"): the keys its
 * JSDoc and the README promise, the same the default key gives, and a bad `ipv6Prefix` refused
 * rather than silently grouping every IPv6 client in one bucket (or none).
 */
import { InvalidOptionsError } from '@aikit/core'
import { ipKey } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

describe('ipKey', () => {
  it('keys IPv4 as is, an IPv6 address by its /prefix network, an embedded IPv4 client as that IPv4', () => {
    expect(ipKey('192.0.2.1', 56)).toBe('ip:192.0.2.1')
    expect(ipKey('2001:db8:0:ff12::1', 56)).toBe('ip:2001:db8:0:ff00:0:0:0:0/56')
    expect(ipKey('2001:DB8:0:FFAB:1:2:3:4%eth0', 56)).toBe('ip:2001:db8:0:ff00:0:0:0:0/56')
    expect(ipKey('2001:db8:0:ff12::1', 64)).toBe('ip:2001:db8:0:ff12:0:0:0:0/64')
    expect(ipKey('::ffff:192.0.2.1', 56)).toBe('ip:192.0.2.1')
    expect(ipKey('::ffff:7f00:1', 56)).toBe('ip:127.0.0.1')
    expect(ipKey('64:ff9b::192.0.2.9', 56)).toBe('ip:192.0.2.9')
    expect(ipKey('::1', 56)).toBe('ip:0:0:0:0:0:0:0:0/56')
    expect(ipKey('not:an:address', 56)).toBe('ip:not:an:address')
  })

  it.each([0, 129, 56.5, Number.NaN, '56' as unknown as number])(
    'refuses ipv6Prefix %o with InvalidOptionsError naming ipv6Prefix',
    (prefix) => {
      let thrown: unknown
      try {
        ipKey('2001:db8::1', prefix)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(InvalidOptionsError)
      expect((thrown as InvalidOptionsError).field).toBe('ipv6Prefix')
    }
  )
})
