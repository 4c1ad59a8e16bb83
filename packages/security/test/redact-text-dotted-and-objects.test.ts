/**
 * Two text forms the redactor missed while it censored the same secret as an object key:
 * - a dotted configuration name (`db.password=…`, Spring's `spring.datasource.password: …`, a JSON
 *   member `"db.password"`): only `_` / `-` prefixes counted;
 * - a credential whose value is an object in `util.inspect` output
 *   (`credentials: { user: 'a', pass: '…' }`): censored to its first space, the rest readable.
 * And one over-redaction: an inspected `cookie: 'sid=…'` was censored to the end of the line,
 * taking the rest of the logged object with it.
 */
import { inspect } from 'node:util'
import { redact } from '@aikit/security'
import { describe, expect, it } from 'vitest'
import { longOverShort } from './scan-cost.js'

const SECRET = 'hunter2-Zq9Xw7Vv5Uu4'

describe('dotted credential names', () => {
  it.each([
    [`db.password=${SECRET}`, 'db.password=[redacted]'],
    [`spring.datasource.password: ${SECRET}`, 'spring.datasource.password: [redacted]'],
    [`{"db.password":"${SECRET}","db.user":"app"}`, '{"db.password":"[redacted]","db.user":"app"}'],
    [`mail.smtp.secret=${SECRET} port=25`, 'mail.smtp.secret=[redacted] port=25'],
  ])('%s', (text, expected) => {
    expect(redact(text)).toBe(expected)
  })

  it('censors the key form alike, and leaves names that only contain a word alone', () => {
    expect(redact({ 'db.password': SECRET, 'db.user': 'app' })).toEqual({
      'db.password': '[redacted]',
      'db.user': 'app',
    })
    expect(redact('file.passwordless=true and app.tokenizer=bpe')).toBe(
      'file.passwordless=true and app.tokenizer=bpe'
    )
  })
})

describe('an inspected object as a credential value', () => {
  it('is censored whole, one or two levels deep, and the text after it is kept', () => {
    expect(redact(inspect({ credentials: { user: 'a', pass: SECRET }, next: 1 }))).toBe(
      '{ credentials: [redacted], next: 1 }'
    )
    const nested = redact(inspect({ credentials: { basic: { pass: SECRET } }, next: 1 }))
    expect(nested).toBe('{ credentials: [redacted], next: 1 }')
  })

  it.each([
    ['unclosed braces', (n: number) => `credentials: ${'{ {'.repeat(Math.ceil(n / 3))}`],
    [
      'unclosed nested objects',
      (n: number) => `credentials: ${'{ a: {} '.repeat(Math.ceil(n / 8))}`,
    ],
    ['dotted names without a value', (n: number) => 'a.password'.repeat(Math.ceil(n / 10))],
  ])('stays linear on %s', async (_name, make) => {
    // 16 if the scan were quadratic.
    expect(await longOverShort(make)).toBeLessThan(6)
  })
})

describe('an inspected cookie value', () => {
  it('is censored to its closing quote; what follows is kept', () => {
    expect(redact(inspect({ headers: { cookie: `sid=${SECRET}` }, ok: true }))).toBe(
      "{ headers: { cookie: '[redacted]' }, ok: true }"
    )
    expect(redact(`Cookie: sid=${SECRET}; theme=dark\nX-Other: 1`)).toBe(
      'Cookie: [redacted]\nX-Other: 1'
    )
    expect(redact(`{"cookie":"sid=${SECRET}","ok":true}`)).toBe('{"cookie":"[redacted]","ok":true}')
  })

  it('stays linear on unclosed quoted cookies', async () => {
    expect(await longOverShort((n) => "cookie: '".repeat(Math.ceil(n / 9)))).toBeLessThan(6)
  })
})
