/**
 * The middleware's default key for client addresses as a raw dual-stack socket reports them
 * (`ctx.ip` not normalised by an adapter): an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, or its hex
 * form `::ffff:7f00:1`), an IPv4-translated one (`::ffff:0:a.b.c.d`) and an IPv4-compatible one
 * (`::a.b.c.d`) are keyed as their IPv4 address; real IPv6 addresses, `::1` included, keep their
 * /56 grouping.
 */
import { describe, expect, it } from 'vitest'
import { oneAMinute, status } from './raw-ip.js'

describe('default key for IPv4-mapped IPv6 addresses', () => {
  it('two different IPv4 clients seen as ::ffff:a.b.c.d get separate buckets', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '::ffff:198.51.100.7')).toBe(200)
    // A different client, on a different network entirely.
    expect(await status(mw, '::ffff:203.0.113.9')).toBe(200)
    expect(await status(mw, '::ffff:198.51.100.7')).toBe(429)
  })

  it('::ffff:a.b.c.d and a.b.c.d are the same client', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '::ffff:192.0.2.1')).toBe(200)
    expect(await status(mw, '192.0.2.1')).toBe(429)
  })

  it('the hex form ::ffff:7f00:1 is the same client as 127.0.0.1, and differs from ::ffff:7f00:2', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '::FFFF:7f00:1')).toBe(200)
    expect(await status(mw, '::ffff:7f00:2')).toBe(200)
    expect(await status(mw, '127.0.0.1')).toBe(429)
    expect(await status(mw, '0:0:0:0:0:ffff:127.0.0.2')).toBe(429)
  })

  it('real IPv6 addresses are still grouped by /56, apart from IPv4-mapped ones', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '2001:db8:0:1200::1')).toBe(200)
    expect(await status(mw, '2001:db8:0:12ff::9')).toBe(429)
    expect(await status(mw, '2001:db8:0:1300::1')).toBe(200)
    // `::1` and an IPv4-mapped address share their first 56 bits, not a bucket.
    expect(await status(mw, '::1')).toBe(200)
    expect(await status(mw, '::ffff:10.0.0.1')).toBe(200)
    // Outside ::/96, so not IPv4-compatible: in `::1`'s /56.
    expect(await status(mw, '0:0:0:ff::2')).toBe(429)
  })
})

describe('default key for IPv4-compatible and IPv4-translated IPv6 addresses', () => {
  it('two IPv4-compatible clients ::a.b.c.d get separate buckets, apart from ::1', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '::198.51.100.7')).toBe(200)
    expect(await status(mw, '::203.0.113.9')).toBe(200)
    expect(await status(mw, '::1')).toBe(200)
    expect(await status(mw, '::198.51.100.7')).toBe(429)
  })

  it('::a.b.c.d (also in hex, ::c633:6407) is the same client as a.b.c.d', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '::c633:6407')).toBe(200)
    expect(await status(mw, '198.51.100.7')).toBe(429)
    expect(await status(mw, '::ffff:198.51.100.7')).toBe(429)
  })

  it('two IPv4-translated clients ::ffff:0:a.b.c.d get separate buckets, apart from ::1', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '::ffff:0:198.51.100.7')).toBe(200)
    expect(await status(mw, '0:0:0:0:ffff:0:cb00:7109')).toBe(200)
    expect(await status(mw, '::1')).toBe(200)
    expect(await status(mw, '::FFFF:0:198.51.100.7')).toBe(429)
    expect(await status(mw, '198.51.100.7')).toBe(429)
    expect(await status(mw, '203.0.113.9')).toBe(429)
  })

  it('the loopback ::1 and the unspecified :: keep their IPv6 /56 key', async () => {
    const mw = oneAMinute()
    expect(await status(mw, '::1')).toBe(200)
    expect(await status(mw, '::')).toBe(429)
    // Their IPv4 readings would be 0.0.0.1 and 0.0.0.0: neither takes their bucket.
    expect(await status(mw, '0.0.0.1')).toBe(200)
    expect(await status(mw, '0.0.0.0')).toBe(200)
  })
})
