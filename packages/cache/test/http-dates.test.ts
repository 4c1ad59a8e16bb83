/**
 * `cacheResponse` reads `Expires`, `Date`, `If-Modified-Since` and `Last-Modified` as HTTP-dates
 * (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept)
 * and as nothing else: `Date.parse` would read a bare number as a year (`'3600'` → year 3600,
 * `'2'` → 2001-02-01). Guaranteed:
 * - an `Expires` that is no HTTP-date means already expired: never stored (RFC 9111 §5.3);
 * - a `Date` that is no HTTP-date is ignored: the hit's `Age` comes from the cache alone;
 * - an `If-Modified-Since` that is no HTTP-date is ignored (RFC 9110 §13.1.3), and a stored
 *   `Last-Modified` that is none never makes a hit answer 304;
 * - each of the three forms is honoured in each of these fields.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import express from 'express'
import { afterAll, describe, expect, it } from 'vitest'
import { parseHttpDate } from '../src/http-date.js'
import { rawGet as get } from './fixtures/raw-get.js'

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number) => String(n).padStart(2, '0')
const time = (d: Date) =>
  `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`

/** A time in each of the three HTTP-date forms. */
function forms(d: Date): Record<'imf' | 'rfc850' | 'asctime', string> {
  const day = DAYS[d.getUTCDay()] ?? ''
  const month = MONTHS[d.getUTCMonth()] ?? ''
  return {
    imf: d.toUTCString(),
    rfc850: `${day}, ${pad(d.getUTCDate())}-${month}-${pad(d.getUTCFullYear() % 100)} ${time(d)} GMT`,
    asctime: `${day.slice(0, 3)} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${time(d)} ${d.getUTCFullYear()}`,
  }
}

/** Strings `Date.parse` reads as some date and that are no HTTP-date. */
const NOT_HTTP_DATES = [
  '0',
  '2',
  '3600',
  '9999',
  '2015-10-21T07:28:00Z',
  'Wed, 21 Oct 2015 07:28:00 UTC',
  'Wed, 21 Oct 2015 07:28:00 +0000',
  'wed, 21 oct 2015 07:28:00 gmt',
  'Wed, 21 Oct 15 07:28:00 GMT',
  'Wed, 31 Feb 2015 07:28:00 GMT',
  'Wed, 21 Oct 2015 24:00:00 GMT',
  'Wed Oct 21 07:28:00 2015 GMT',
]

describe('parseHttpDate', () => {
  const instant = Date.UTC(1994, 10, 6, 8, 49, 37)

  it('reads each of the three forms as the same GMT time', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(instant)
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(instant)
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(instant)
    expect(parseHttpDate('Sun Nov 06 08:49:37 1994')).toBe(instant)
    expect(parseHttpDate(' Sun, 06 Nov 1994 08:49:37 GMT ')).toBe(instant)
    // Four-digit years below 100 are those years, not 1900-1999.
    expect(new Date(parseHttpDate('Thu, 01 Jan 0099 00:00:00 GMT')).getUTCFullYear()).toBe(99)
  })

  it('reads an RFC 850 year more than 50 years ahead as the latest past one with its digits', () => {
    const now = Date.UTC(2026, 10, 29, 12, 0, 0)
    const yearOf = (yy: string) =>
      new Date(parseHttpDate(`Sunday, 06-Nov-${yy} 08:49:37 GMT`, now)).getUTCFullYear()
    expect(yearOf('26')).toBe(2026)
    expect(yearOf('60')).toBe(2060)
    expect(yearOf('76')).toBe(2076)
    expect(yearOf('77')).toBe(1977)
    expect(yearOf('94')).toBe(1994)
  })

  it('refuses anything else', () => {
    for (const value of [...NOT_HTTP_DATES, '', 'Sun Nov 00 08:49:37 1994', undefined]) {
      expect({ value, at: parseHttpDate(value) }).toEqual({ value, at: Number.NaN })
    }
  })
})

const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT'
const subject: Middleware = async (ctx, next) => {
  ctx.state.subject = 'alice'
  await next()
}
const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

/** A route that answers with the `expires`, `date` and `lm` (Last-Modified) of its query. */
async function app(): Promise<{ base: string; calls: () => number }> {
  let calls = 0
  const a = express()
  a.use(toExpress(subject, cacheResponse({ cache: createCache({ ttl: 60_000 }) })))
  a.get('/h', (req, res) => {
    calls++
    const { expires, date, lm } = req.query
    if (typeof expires === 'string') res.set('expires', expires)
    if (typeof date === 'string') res.set('date', date)
    res.set('last-modified', typeof lm === 'string' ? lm : LAST_MODIFIED)
    res.json({ n: calls })
  })
  const server = createServer(a)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls }
}

describe('cacheResponse reads HTTP dates only', () => {
  it('never stores a response whose Expires is no HTTP-date (e.g. seconds): already expired', async () => {
    const { base, calls } = await app()
    for (const expires of NOT_HTTP_DATES) {
      const path = `/h?${new URLSearchParams({ expires })}`
      await get(base, path)
      const second = await get(base, path)
      expect({ expires, xCache: second.headers['x-cache'] }).toEqual({ expires, xCache: 'MISS' })
    }
    expect(calls()).toBe(2 * NOT_HTTP_DATES.length)
  })

  it('stores a response whose Expires is a future HTTP-date in any of the three forms', async () => {
    const { base } = await app()
    for (const [form, expires] of Object.entries(forms(new Date(Date.now() + 3_600_000)))) {
      const path = `/h?${new URLSearchParams({ expires })}`
      await get(base, path)
      const second = await get(base, path)
      expect({ form, xCache: second.headers['x-cache'] }).toEqual({ form, xCache: 'HIT' })
    }
  })

  it('ignores a Date that is no HTTP-date: it does not age the stored response by decades', async () => {
    const { base } = await app()
    for (const date of ['2', '3600', '2015-10-21T07:28:00Z']) {
      const path = `/h?${new URLSearchParams({ date })}`
      await get(base, path)
      const hit = await get(base, path)
      expect({ date, xCache: hit.headers['x-cache'] }).toEqual({ date, xCache: 'HIT' })
      expect({ date, old: Number(hit.headers.age ?? 0) >= 30 }).toEqual({ date, old: false })
    }
  })

  it('counts a Date in any of the three forms in the hit’s Age', async () => {
    const { base } = await app()
    for (const [form, date] of Object.entries(forms(new Date(Date.now() - 30_000)))) {
      const path = `/h?${new URLSearchParams({ date })}`
      await get(base, path)
      const hit = await get(base, path)
      expect({ form, xCache: hit.headers['x-cache'] }).toEqual({ form, xCache: 'HIT' })
      const age = Number(hit.headers.age)
      expect({ form, age: age >= 30 && age < 60 }).toEqual({ form, age: true })
    }
  })

  it('ignores an If-Modified-Since that is no HTTP-date: a hit answers 200, not 304', async () => {
    const { base } = await app()
    await get(base, '/h')
    for (const since of ['9999', '3600', '2015-10-22T00:00:00Z']) {
      const res = await get(base, '/h', { 'if-modified-since': since })
      expect({ since, xCache: res.headers['x-cache'], status: res.status }).toEqual({
        since,
        xCache: 'HIT',
        status: 200,
      })
    }
  })

  it('answers 304 to an If-Modified-Since in any of the three forms', async () => {
    const { base } = await app()
    await get(base, '/h')
    for (const [form, since] of Object.entries(forms(new Date(LAST_MODIFIED)))) {
      const res = await get(base, '/h', { 'if-modified-since': since })
      expect({ form, status: res.status }).toEqual({ form, status: 304 })
    }
  })

  it('never answers 304 on a stored Last-Modified that is no HTTP-date', async () => {
    const { base } = await app()
    const path = `/h?${new URLSearchParams({ lm: '2015' })}`
    await get(base, path)
    const res = await get(base, path, { 'if-modified-since': LAST_MODIFIED })
    expect(res.headers['x-cache']).toBe('HIT')
    expect(res.status).toBe(200)
  })
})
