/**
 * A Web `Request` or `Response` in a logged object (an HTTP client's error carries them) keeps its
 * URL and headers in internal slots, like the `Headers` it holds: `JSON.stringify` prints `{}`,
 * but `util.inspect` (console, inspect-based loggers) prints the URL with its query and every
 * header, an `Authorization` or `Set-Cookie` included. redact returns a copy of the same class
 * with the URL scanned and the headers censored as a `Headers` is, so each kind of logger prints
 * what it printed before, censored; the original is left as it was (its body unread).
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

const SECRET = 'q9W8e7R6t5Y4u3I2'

describe('redact: Web Request and Response', () => {
  it('censors the Authorization header and a credential in the URL of a Request', async () => {
    const req = new Request(`https://api.example.com/v1/chat?api_key=${SECRET}&q=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}`, accept: 'application/json' },
      body: '{"a":1}',
    })
    const out = redact({ err: { request: req } }) as { err: { request: Request } }
    expect(inspect(out, { depth: 6 })).not.toContain(SECRET)
    const copy = out.err.request
    expect(copy).toBeInstanceOf(Request)
    expect(copy.method).toBe('POST')
    expect(copy.url).toBe('https://api.example.com/v1/chat?api_key=[redacted]&q=1')
    expect(copy.headers.get('authorization')).toBe('[redacted]')
    expect(copy.headers.get('accept')).toBe('application/json')
    expect(JSON.stringify(out)).toBe('{"err":{"request":{}}}')
    // The original is untouched, its body still unread.
    expect(req.headers.get('authorization')).toBe(`Bearer ${SECRET}`)
    expect(req.bodyUsed).toBe(false)
    expect(await req.text()).toBe('{"a":1}')
  })

  it('censors the Set-Cookie headers and a token in the URL of a Response', () => {
    const res = new Response('body', {
      status: 401,
      statusText: 'Unauthorized',
      headers: { 'set-cookie': `sid=${SECRET}`, 'x-request-id': 'r-1' },
    })
    Object.defineProperty(res, 'url', { value: `https://api.example.com/?token=${SECRET}` })
    const out = redact({ res }) as { res: Response }
    expect(inspect(out, { depth: 6 })).not.toContain(SECRET)
    expect(out.res).toBeInstanceOf(Response)
    expect(out.res.status).toBe(401)
    expect(out.res.statusText).toBe('Unauthorized')
    expect(out.res.headers.get('set-cookie')).toBe('[redacted]')
    expect(out.res.headers.get('x-request-id')).toBe('r-1')
    expect(out.res.url).toBe('https://api.example.com/?token=[redacted]')
    expect(JSON.stringify(out)).toBe('{"res":{}}')
  })

  it('censors a Request header named by a path', () => {
    const r = createRedactor({ paths: ['req.headers["x-trace"]'], keys: false, patterns: false })
    const out = r({ req: new Request('https://x.test/', { headers: { 'x-trace': SECRET } }) }) as {
      req: Request
    }
    expect(out.req.headers.get('x-trace')).toBe('[redacted]')
  })

  it('returns a Request and a Response without secrets as the same objects', () => {
    const log = {
      req: new Request('https://api.example.com/v1?q=weather', { headers: { accept: '*/*' } }),
      res: new Response(null, { status: 204 }),
    }
    expect(redact(log)).toBe(log)
  })

  it('censors a token in the referrer of a Request, which inspect prints', () => {
    const req = new Request('https://api.example.com/v1/chat', {
      headers: { accept: 'application/json' },
      referrer: `https://app.example.com/callback?access_token=${SECRET}`,
    })
    const out = redact({ req }) as { req: Request }
    expect(inspect(out, { depth: 6 })).not.toContain(SECRET)
    expect(out.req.referrer).toBe('https://app.example.com/callback?access_token=[redacted]')
    expect(out.req.url).toBe('https://api.example.com/v1/chat')
    expect(req.referrer).toContain(SECRET) // the original is left as it was
  })

  it('keeps the referrer of a Request copied for another secret', () => {
    const req = new Request('https://api.example.com/', {
      headers: { authorization: `Bearer ${SECRET}` },
      referrer: 'https://app.example.com/page',
      referrerPolicy: 'origin',
    })
    const out = redact(req) as Request
    expect(out.headers.get('authorization')).toBe('[redacted]')
    expect(out.referrer).toBe('https://app.example.com/page')
    expect(out.referrerPolicy).toBe('origin')
  })

  it('censors a token in the status text of a Response, which inspect prints', () => {
    const res = new Response(null, { status: 401, statusText: `Unauthorized token=${SECRET}` })
    const out = redact({ res }) as { res: Response }
    expect(inspect(out, { depth: 6 })).not.toContain(SECRET)
    expect(out.res.status).toBe(401)
    expect(out.res.statusText).toBe('Unauthorized token=[redacted]')
  })

  it('censors a Request inside an Error, as inspect prints the error', () => {
    const err = Object.assign(new Error('request failed'), {
      request: new Request('https://x.test/', { headers: { 'x-api-key': SECRET } }),
    })
    expect(inspect(redact(err), { depth: 6 })).not.toContain(SECRET)
  })
})
