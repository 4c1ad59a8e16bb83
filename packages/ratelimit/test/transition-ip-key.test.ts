/**
 * The middleware's default key for IPv6 addresses of IPv4 clients reaching the server through a
 * transition mechanism, each keyed by the IPv4 address it carries instead of its `/56` network:
 * - NAT64 / SIIT prefix `64:ff9b::/96` (RFC 6052): a translator in front of an IPv6 server shows
 *   each IPv4 client as `64:ff9b::a.b.c.d`; the whole prefix is one `/56`, so every IPv4 client
 *   shared one bucket.
 * - 6to4 `2002:AABB:CCDD::/48` (RFC 3056): one IPv4 site gets a `/48`, i.e. 256 `/56` buckets to
 *   rotate through.
 * - Teredo `2001:0::/32` (RFC 4380): the client's public IPv4 is the last 32 bits inverted; the
 *   `/56` is the Teredo server's, shared by every client of that server, and a client moved to
 *   another server had a fresh bucket.
 */
import { describe, expect, it } from 'vitest'
import { oneAMinute, status } from './raw-ip.js'

describe('default key for IPv4 clients behind a NAT64 / SIIT translator (64:ff9b::/96)', () => {
  it('two IPv4 clients translated to 64:ff9b::a.b.c.d get separate buckets', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '64:ff9b::198.51.100.7')).toBe(200)
    expect(await status(mw, '64:ff9b::203.0.113.9')).toBe(200)
    expect(await status(mw, '64:ff9b::198.51.100.7')).toBe(429)
  })

  it('64:ff9b::a.b.c.d (also in hex) is the same client as a.b.c.d', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '64:FF9B::c633:6407')).toBe(200)
    expect(await status(mw, '198.51.100.7')).toBe(429)
  })

  it('the local-use prefix 64:ff9b:1::/48 (RFC 8215, operator-chosen layout) keeps its /56', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '64:ff9b:1::c633:6407')).toBe(200)
    expect(await status(mw, '198.51.100.7')).toBe(200)
    expect(await status(mw, '64:ff9b:1:ff::1')).toBe(429)
  })
})

describe('default key for 6to4 clients (2002::/16)', () => {
  it("the subnets of one 6to4 site share its IPv4 address's bucket", async () => {
    const mw = oneAMinute()
    expect(await status(mw, '2002:c633:6407:100::1')).toBe(200)
    expect(await status(mw, '2002:c633:6407:200::1')).toBe(429)
    expect(await status(mw, '2002:c633:6407:ffff:1:2:3:4')).toBe(429)
    expect(await status(mw, '198.51.100.7')).toBe(429)
  })

  it('two 6to4 sites get separate buckets', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '2002:c633:6407::1')).toBe(200)
    expect(await status(mw, '2002:cb00:7109::1')).toBe(200)
  })
})

describe('default key for Teredo clients (2001:0::/32)', () => {
  // RFC 4380 §4's example: server 65.54.227.120, client 192.0.2.45 port 40000.
  const client = '2001:0:4136:e378:8000:63bf:3fff:fdd2'

  it('two clients of the same Teredo server get separate buckets', async () => {
    const mw = oneAMinute()
    expect(await status(mw, client)).toBe(200)
    // 203.0.113.9, same server.
    expect(await status(mw, '2001:0:4136:e378:8000:63bf:34ff:8ef6')).toBe(200)
    expect(await status(mw, client)).toBe(429)
  })

  it('one client is one bucket through any server, port or flags, and as its IPv4 address', async () => {
    const mw = oneAMinute()
    expect(await status(mw, client)).toBe(200)
    expect(await status(mw, '2001:0:cb00:7101:0:1234:3fff:fdd2')).toBe(429)
    expect(await status(mw, '2001:0000:4136:E378:8000:FFFF:3FFF:FDD2')).toBe(429)
    expect(await status(mw, '192.0.2.45')).toBe(429)
  })

  it('other 2001::/16 networks keep their /56 grouping', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '2001:db8:0:1200::1')).toBe(200)
    expect(await status(mw, '2001:db8:0:12ff::3fff:fdd2')).toBe(429)
    expect(await status(mw, '192.0.2.45')).toBe(200)
  })
})
