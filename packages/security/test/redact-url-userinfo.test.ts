/**
 * The password of a URL's userinfo (`redis://:pw@host`, `postgres://app:pw@db`, a proxy URL) is
 * censored wherever the URL appears: in a string, in an error message, as a URL object. The
 * scheme, the user and the host are kept.
 */
import { describe, expect, it } from 'vitest'
import { redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

describe('credentials in URL userinfo', () => {
  it.each([
    [
      'a Redis URL (password only)',
      `redis://:${SECRET}@10.0.0.5:6379/0`,
      'redis://:[redacted]@10.0.0.5:6379/0',
    ],
    [
      'a Redis URL with an ACL user',
      `rediss://app:${SECRET}@cache.internal:6380`,
      'rediss://app:[redacted]@cache.internal:6380',
    ],
    [
      'a Postgres URL in an error message',
      `connect to postgres://app:${SECRET}@db:5432/main failed`,
      'connect to postgres://app:[redacted]@db:5432/main failed',
    ],
    [
      'an HTTP proxy URL',
      `HTTPS_PROXY=http://proxyuser:${SECRET}@proxy.corp:3128`,
      'HTTPS_PROXY=http://proxyuser:[redacted]@proxy.corp:3128',
    ],
    ['a password holding an @', `redis://:p@${SECRET}@host:6379`, 'redis://:[redacted]@host:6379'],
    [
      'a URL in JSON text',
      JSON.stringify({ url: `postgres://app:${SECRET}@db/main` }),
      '{"url":"postgres://app:[redacted]@db/main"}',
    ],
  ])('censors the password of %s, keeping scheme, user and host', (_label, value, expected) => {
    expect(redact(value)).toBe(expected)
  })

  it('censors the password of a URL object', () => {
    const out = redact({ url: new URL(`redis://:${SECRET}@127.0.0.1:6379`) }) as { url: URL }
    expect(text(out)).not.toContain(SECRET)
    expect(out.url.host).toBe('127.0.0.1:6379')
  })

  it.each([
    'mail ann@example.com about the outage',
    'ssh://git@github.com:22/org/repo.git',
    'http://host:8080/users/a@b',
    'http://host:8080?next=a@b',
    'http://[::1]:8080/x',
  ])('leaves a URL or address without a password alone: %s', (value) => {
    expect(redact(value)).toBe(value)
  })
})

describe('url-userinfo: the password runs to the authority’s last @', () => {
  // WHATWG URL: the userinfo ends at the LAST `@` of the authority, so an e-mail address as the
  // user name is legal (nodemailer / SMTP URLs are written this way).
  it('censors the password of a URL whose user name is an e-mail address', () => {
    const url = `smtps://alice@example.com:${SECRET}@smtp.example.com:465`
    expect(new URL(url).password).toBe(SECRET)
    expect(redact(`SMTP_URL=${url}`)).toBe(
      'SMTP_URL=smtps://alice@example.com:[redacted]@smtp.example.com:465'
    )
  })

  it('censors a password holding an `@` after an e-mail user name, to the last `@`', () => {
    const url = `smtps://alice@example.com:${SECRET}@x@smtp.example.com`
    expect(new URL(url).password).toBe(`${SECRET}%40x`)
    expect(text(redact(url))).toBe('smtps://alice@example.com:[redacted]@smtp.example.com')
  })
})
