/**
 * A `Headers`, `URLSearchParams`, `FormData`, `Request` or `Response` is copied for what it keeps
 * in internal slots, but what JSON loggers (pino) print of it are its own enumerable properties:
 * a subclass's fields, or what a library set on it (ofetch keeps the parsed body of a response in
 * `response._data`: an OAuth token response, an upstream error echoing the key). Those were walked
 * like any object's until the class copies came in, which skipped them: they are walked again,
 * and set on the copy.
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

const SECRET = 'q9W8e7R6t5Y4u3I2'
const KEY = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`

describe('redact: own properties of Web objects copied for their internal state', () => {
  it("censors a token in an ofetch-style response._data, keeping the Response's shape", () => {
    const response = Object.assign(
      new Response(null, { status: 400, headers: { 'x-request-id': 'r-1' } }),
      { _data: { access_token: SECRET, error: `bad key ${KEY}` } }
    )
    const err = Object.assign(new Error('[POST] "https://api.example.com/token": 400'), {
      response,
    })
    const out = redact({ err }) as { err: { response: Response & { _data: unknown } } }
    expect(JSON.stringify(out)).not.toContain(SECRET)
    expect(JSON.stringify(out)).not.toContain(KEY)
    expect(inspect(out, { depth: 8 })).not.toContain(SECRET)
    expect(out.err.response).toBeInstanceOf(Response)
    expect(out.err.response.status).toBe(400)
    expect(out.err.response.headers.get('x-request-id')).toBe('r-1')
    expect(out.err.response._data).toEqual({
      access_token: '[redacted]',
      error: 'bad key sk-ant-[redacted]',
    })
    expect((response as unknown as { _data: { access_token: string } })._data.access_token).toBe(
      SECRET
    )
  })

  it('censors a field of a Headers subclass', () => {
    class AuthHeaders extends Headers {
      apiKey: string
      constructor(apiKey: string) {
        super({ accept: 'application/json' })
        this.apiKey = apiKey
      }
    }
    const headers = new AuthHeaders(SECRET)
    const out = redact({ headers }) as { headers: Headers & { apiKey: string } }
    expect(JSON.stringify(out)).toBe('{"headers":{"apiKey":"[redacted]"}}')
    expect(out.headers.get('accept')).toBe('application/json')
    expect(headers.apiKey).toBe(SECRET)
  })

  it.each([
    ['Headers', () => new Headers({ accept: '*/*' })],
    ['URLSearchParams', () => new URLSearchParams({ q: 'weather' })],
    ['FormData', () => new FormData()],
    ['Request', () => new Request('https://api.example.com/v1')],
  ])('censors a credential set on a %s', (_label, make) => {
    const value = Object.assign(make(), { auth: { password: SECRET } })
    const out = redact({ value })
    expect(JSON.stringify(out)).toBe('{"value":{"auth":{"password":"[redacted]"}}}')
    expect((out as { value: unknown }).value).toBeInstanceOf(value.constructor)
  })

  it('censors an own property named by a path, and an entry beside it', () => {
    const r = createRedactor({ paths: ['res.meta.trace'], keys: false, patterns: false })
    const res = Object.assign(new Response(null, { headers: { a: 'b' } }), {
      meta: { trace: SECRET, kept: 'yes' },
    })
    const out = r({ res }) as { res: Response & { meta: unknown } }
    expect(out.res.meta).toEqual({ trace: '[redacted]', kept: 'yes' })
    expect(out.res.headers.get('a')).toBe('b')
  })

  it('returns the object itself when neither its state nor its own properties hold a secret', () => {
    const log = { h: Object.assign(new Headers({ accept: '*/*' }), { note: 'hello' }) }
    expect(redact(log)).toBe(log)
  })
})
