import { InvalidOptionsError } from '@aikit/core'
import { createIpResolver, normalizeIp } from '@aikit/core/adapter'
import fc from 'fast-check'
import ipaddr from 'ipaddr.js'
import { describe, expect, it } from 'vitest'

describe('client IP resolution', () => {
  it('ignores X-Forwarded-For by default', () => {
    const ip = createIpResolver(undefined)
    expect(ip('10.0.0.5', '6.6.6.6')).toBe('10.0.0.5')
    expect(ip('::ffff:127.0.0.1', undefined)).toBe('127.0.0.1')
    expect(ip(undefined, '6.6.6.6')).toBeUndefined()
  })

  it('trusts exactly n hops with a hop count', () => {
    const ip = createIpResolver(1)
    // client 1.1.1.1 → LB 10.0.0.1 → app. An attacker prepends a fake entry.
    expect(ip('10.0.0.1', '6.6.6.6, 1.1.1.1')).toBe('1.1.1.1')
    expect(ip('10.0.0.1', undefined)).toBe('10.0.0.1')
    expect(createIpResolver(2)('10.0.0.2', '6.6.6.6, 1.1.1.1, 10.0.0.1')).toBe('1.1.1.1')
  })

  it('walks trusted CIDRs from the right and stops at the first untrusted hop', () => {
    const ip = createIpResolver(['loopback', '10.0.0.0/8'])
    expect(ip('127.0.0.1', '6.6.6.6, 2.2.2.2, 10.1.2.3')).toBe('2.2.2.2')
    expect(ip('8.8.8.8', '2.2.2.2')).toBe('8.8.8.8') // socket peer is not a proxy: XFF ignored
    expect(ip('127.0.0.1', '[2001:db8::1]:443')).toBe('2001:db8::1')
    expect(ip('127.0.0.1', '1.2.3.4:5678')).toBe('1.2.3.4')
  })

  it('never returns a non-IP string from the header', () => {
    const ip = createIpResolver('loopback')
    expect(ip('127.0.0.1', 'not-an-ip')).toBe('127.0.0.1')
    expect(ip('127.0.0.1', "1.1.1.1' OR 1=1")).toBe('127.0.0.1')
    expect(createIpResolver(1)('127.0.0.1', 'garbage')).toBe('127.0.0.1')
  })

  it.each([
    [true, 'trustProxy'],
    [-1, 'trustProxy'],
    [1.5, 'trustProxy'],
    [['10.0.0.0/33'], 'trustProxy[0]'],
    [['loopback', 'intranet'], 'trustProxy[1]'],
  ])('refuses %j naming %s', (value, field) => {
    let error: unknown
    try {
      createIpResolver(value as never)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe(field)
  })

  it('normalises addresses', () => {
    expect(normalizeIp('::FFFF:10.0.0.1')).toBe('10.0.0.1')
    expect(normalizeIp(' 2001:DB8::1 ')).toBe('2001:db8::1')
    expect(normalizeIp('')).toBeUndefined()
    expect(normalizeIp('[::1')).toBeUndefined()
  })

  it('takes the canonical dotted-quad shortcut only where ipaddr.js would print the same address', () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.constantFrom('00', '01', '010', '0x1', '1e2', '', ' 1', '+1', '255', '256', '999')
    )
    const candidate = fc.oneof(
      fc.array(octet, { minLength: 3, maxLength: 5 }).map((parts) => parts.join('.')),
      fc
        .tuple(
          fc.constantFrom('::ffff:', '::FFFF:', '::fffe:', ':ffff:', '::ffff::'),
          fc.array(octet, { minLength: 4, maxLength: 4 })
        )
        .map(([prefix, parts]) => prefix + parts.join('.')),
      fc.string({
        unit: fc.constantFrom('0', '1', '2', '5', '9', '.', ':', 'f', ' '),
        maxLength: 20,
      })
    )
    fc.assert(
      fc.property(candidate, (raw) => {
        const s = raw.trim()
        let expected: string | undefined
        if (
          s !== '' &&
          !s.startsWith('[') &&
          !(s.includes('.') && s.indexOf(':') !== -1 && s.indexOf(':') === s.lastIndexOf(':')) &&
          ipaddr.isValid(s)
        ) {
          const addr = ipaddr.parse(s)
          expected =
            addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
              ? (addr as ipaddr.IPv6).toIPv4Address().toString()
              : addr.toString()
        }
        if (expected !== undefined) expect(normalizeIp(raw)).toBe(expected)
        else if (/^\d+\.\d+\.\d+\.\d+$/.test(raw)) expect(normalizeIp(raw)).toBeUndefined()
      }),
      { numRuns: 3000 }
    )
  })
})
