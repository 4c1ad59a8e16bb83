/**
 * `trustProxy` entries as users write them: an IPv4-mapped IPv6 proxy (`::ffff:10.0.0.1`, what a
 * dual-stack server logs) matches its IPv4 peers (it never did: every client got the proxy's IP);
 * the string `'1'` (an environment variable) is a hop count, not the address 0.0.0.1; shorthand
 * and octal-looking IPv4 (`10.1`, `012.0.0.1`) are refused, not read as 10.0.0.1.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createIpResolver, normalizeIp, trustProxyMode } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'

describe('trusted-proxy entries', () => {
  // A dual-stack server reports its IPv4 peers as `::ffff:a.b.c.d` (that is what an app logs as
  // req.socket.remoteAddress), so users write that form in trustProxy. proxy-addr (Express) reads
  // an IPv4-mapped IPv6 trust entry as the IPv4 address/range it maps.
  it('trusts a proxy named in IPv4-mapped IPv6 form (single IP and CIDR)', () => {
    const single = createIpResolver(['::ffff:10.0.0.1'])
    expect(single('::ffff:10.0.0.1', '1.2.3.4')).toBe('1.2.3.4')
    const range = createIpResolver(['::ffff:10.0.0.0/104'])
    expect(range('10.0.0.7', '1.2.3.4')).toBe('1.2.3.4')
  })

  // `trustProxy: process.env.TRUST_PROXY` type-checks (TrustProxy includes string). "1" is then
  // parsed by ipaddr.js as the IPv4 address 0.0.0.1: no proxy ever matches, every client gets the
  // load balancer's IP (one shared rate-limit key), and nothing says the setting is wrong.
  // Express's compileTrust refuses "1" as an IP; the env helper trustProxy() turns it into 1.
  it('does not silently read the string "1" as the address 0.0.0.1', () => {
    let resolved: string | undefined
    let error: unknown
    try {
      resolved = createIpResolver('1')('10.0.0.1', '6.6.6.6, 1.2.3.4')
    } catch (e) {
      error = e
    }
    // Either a hop count of 1 (client 1.2.3.4) or a refusal naming the option; never the proxy IP.
    if (error === undefined) expect(resolved).toBe('1.2.3.4')
    else expect(error).toBeInstanceOf(InvalidOptionsError)
  })

  it('does not accept shorthand / octal IPv4 spellings as trust entries ("10.1", "012.0.0.1")', () => {
    for (const entry of ['10.1', '012.0.0.1', '167772161']) {
      expect(() => createIpResolver([entry]), entry).toThrow(InvalidOptionsError)
    }
  })
})

describe('a trustProxy naming no proxy', () => {
  it.each([[[]], [','], [' , '], [0], [false], ['0']] as const)(
    '%j reads the socket peer, never X-Forwarded-For',
    (setting) => {
      expect(trustProxyMode(setting as never)).toBe('none')
      expect(createIpResolver(setting as never)('10.0.0.2', '6.6.6.6')).toBe('10.0.0.2')
    }
  )

  it('tells hop counts and lists apart, strings included', () => {
    expect(trustProxyMode(2)).toBe('hops')
    expect(trustProxyMode(' 2 ')).toBe('hops')
    expect(trustProxyMode('loopback')).toBe('ranges')
    expect(trustProxyMode(['10.0.0.0/8'])).toBe('ranges')
    expect(trustProxyMode(undefined)).toBe('none')
  })
})

describe('an IPv6 zone id in a forwarded address', () => {
  it('is dropped: one address is one client, whatever zone string a hop wrote', () => {
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1')
    expect(normalizeIp('[fe80::1%25x]:443')).toBe('fe80::1')
    const resolve = createIpResolver(1)
    expect(resolve('10.0.0.2', 'fe80::1%a')).toBe('fe80::1')
    expect(resolve('10.0.0.2', 'fe80::1%b')).toBe('fe80::1')
  })
})
