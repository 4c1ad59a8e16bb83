/**
 * A Web `Headers`, `URLSearchParams` or `FormData` inside a logged object keeps its entries in
 * internal slots: `JSON.stringify` prints `{}`, but `util.inspect` (console, pretty printers,
 * inspect-based loggers) prints every name and value, an Authorization header included. redact
 * walks their entries like a Map's and returns a redacted copy of the same type, so what each
 * kind of logger prints keeps its shape (a JSON logger still `{}`, inspect the same entries) with
 * the secrets censored. A `Map` was already walked; it is here as the control.
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

const SECRET = 'q9W8e7R6t5Y4u3I2'
const KEY = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`

describe('redact: Web Headers, URLSearchParams and FormData', () => {
  it('censors an Authorization header inside a Headers, as util.inspect prints it', () => {
    const headers = new Headers({ authorization: `Bearer ${SECRET}`, accept: 'application/json' })
    const out = redact({ req: { headers } }) as { req: { headers: Headers } }
    expect(inspect(out, { depth: 5 })).not.toContain(SECRET)
    expect(out.req.headers).toBeInstanceOf(Headers)
    expect(out.req.headers.get('authorization')).toBe('[redacted]')
    expect(out.req.headers.get('accept')).toBe('application/json')
    expect(headers.get('authorization')).toBe(`Bearer ${SECRET}`)
    // The copy prints as the original did to a JSON logger: its entries are not exposed there.
    expect(JSON.stringify(out)).toBe('{"req":{"headers":{}}}')
  })

  it('censors every Set-Cookie value and secrets inside other header values', () => {
    const headers = new Headers({ 'x-upstream-error': `401 for key ${KEY}` })
    headers.append('set-cookie', `sid=${SECRET}; Path=/`)
    headers.append('set-cookie', `csrf=${SECRET}; Path=/`)
    const out = redact(headers) as Headers
    expect(out.getSetCookie()).toEqual(['[redacted]', '[redacted]'])
    expect(out.get('x-upstream-error')).toBe('401 for key sk-ant-[redacted]')
  })

  it('censors a header named by a path', () => {
    const r = createRedactor({ paths: ['res.headers["x-trace"]'], keys: false, patterns: false })
    const out = r({ res: { headers: new Headers({ 'x-trace': SECRET, a: 'b' }) } }) as {
      res: { headers: Headers }
    }
    expect(out.res.headers.get('x-trace')).toBe('[redacted]')
    expect(out.res.headers.get('a')).toBe('b')
  })

  it('returns a Headers without secrets as the same object', () => {
    const headers = new Headers({ accept: '*/*', 'user-agent': 'curl/8' })
    const log = { headers }
    expect(redact(log)).toBe(log)
  })

  it('censors a credential parameter of a URLSearchParams', () => {
    const params = new URLSearchParams({ api_key: SECRET, q: 'weather' })
    const out = redact({ params }) as { params: URLSearchParams }
    expect(inspect(out)).not.toContain(SECRET)
    expect(out.params).toBeInstanceOf(URLSearchParams)
    expect(out.params.get('api_key')).toBe('[redacted]')
    expect(out.params.get('q')).toBe('weather')
  })

  it('censors a password field of a FormData and keeps its files', () => {
    const form = new FormData()
    form.append('password', SECRET)
    const file = new File(['hello'], 'a.txt')
    form.append('upload', file)
    const out = redact({ form }) as { form: FormData }
    expect(inspect(out)).not.toContain(SECRET)
    expect(out.form).toBeInstanceOf(FormData)
    expect(out.form.get('password')).toBe('[redacted]')
    expect((out.form.get('upload') as File).name).toBe('a.txt')
  })

  it('censors an Authorization entry of a Map (control: Maps were already walked)', () => {
    const out = redact({ headers: new Map([['authorization', `Bearer ${SECRET}`]]) })
    expect(inspect(out)).not.toContain(SECRET)
  })
})
