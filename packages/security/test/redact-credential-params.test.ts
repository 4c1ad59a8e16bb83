/**
 * `name = value`, `NAME: value` and inspected objects (`{ password: '…' }`): the strong credential
 * names (password, secret, token, client_secret, …) count with spaces and a `:` around the
 * separator, as api_key / x-api-key already did; and credential query parameters of other
 * clouds (X-Goog-Signature), camelCase names and URL fragments (`#access_token=`).
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

describe('credentials in a util.inspect dump (unquoted keys)', () => {
  it.each(['password', 'token', 'secret', 'client_secret', 'DB_PASSWORD', 'GITHUB_TOKEN'])(
    'censors %s in an inspected object as it does in JSON text',
    (key) => {
      const dump = `pool config: ${inspect({ host: 'db', [key]: SECRET })}`
      expect(text(redact(JSON.stringify({ [key]: SECRET })))).not.toContain(SECRET)
      expect(redact(dump)).toBe(`pool config: { host: 'db', ${key}: '[redacted]' }`)
    }
  )

  it('censors a Python dict repr', () => {
    expect(redact(`{'password': '${SECRET}', 'user': 'app'}`)).toBe(
      "{'password': '[redacted]', 'user': 'app'}"
    )
  })
})

describe('credential names with a spaced or colon separator', () => {
  it.each([
    ['an INI / Python config line', `password = ${SECRET}`, 'password = [redacted]'],
    ['a YAML / env dump line', `PASSWORD: ${SECRET}`, 'PASSWORD: [redacted]'],
    ['a YAML line with a prefixed name', `  DB_PASSWORD: ${SECRET}`, '  DB_PASSWORD: [redacted]'],
    ['a YAML line with an environment name', `GITHUB_TOKEN: ${SECRET}`, 'GITHUB_TOKEN: [redacted]'],
  ])('censors the credential of %s', (_label, line, expected) => {
    expect(redact(`loaded config:\n${line}\nport: 8080`)).toBe(
      `loaded config:\n${expected}\nport: 8080`
    )
  })

  it('keeps prose and ordinary `name: value` text', () => {
    for (const line of [
      'the password reset link was sent; tokens used: 5',
      "{ key: 'user:42', session: 'abc', credentials: 'include' }",
      'signature: verified',
    ]) {
      expect(redact(line)).toBe(line)
    }
  })

  it('censors the prefixed name of a JSON document held in a JSON string', () => {
    const out = redact(JSON.stringify({ body: JSON.stringify({ GITHUB_TOKEN: SECRET }) }))
    expect(out).not.toContain(SECRET)
  })
})

describe('credential query parameters', () => {
  it.each([
    [
      'a GCS V4 signed URL (X-Goog-Signature, as X-Amz-Signature is)',
      `https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=${SECRET}&X-Goog-Signature=${SECRET}&X-Goog-Expires=900`,
      'https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=[redacted]&X-Goog-Signature=[redacted]&X-Goog-Expires=900',
    ],
    [
      'a camelCase accessToken / refreshToken',
      `https://api.example.com/ws?accessToken=${SECRET}&refreshToken=${SECRET}&v=2`,
      'https://api.example.com/ws?accessToken=[redacted]&refreshToken=[redacted]&v=2',
    ],
    [
      'an OAuth implicit-grant fragment',
      `https://app.example.com/callback#access_token=${SECRET}&token_type=bearer`,
      'https://app.example.com/callback#access_token=[redacted]&token_type=bearer',
    ],
  ])('censors %s', (_label, url, expected) => {
    expect(redact(url)).toBe(expected)
  })
})

describe('credential names: an object and its text are censored alike', () => {
  it.each([
    ['an env line', `SECRET_KEY=${SECRET}`],
    ['an exported shell variable', `export SECRET_KEY="${SECRET}"`],
    ['JSON text', JSON.stringify({ SECRET_KEY: SECRET })],
    ['a camelCase parameter', `secretKey=${SECRET}`],
    ['an AWS-style access key parameter', `access_key=${SECRET}`],
    ['a YAML access key', `access_key: ${SECRET}`],
  ])('censors a secret key name in %s', (_label, line) => {
    expect(redact({ SECRET_KEY: SECRET })).toEqual({ SECRET_KEY: '[redacted]' })
    expect(text(redact(line))).not.toContain(SECRET)
  })

  it.each([
    ['a YAML line', `private_key: ${SECRET}`],
    ['util.inspect of an object', `config: ${inspect({ privateKey: SECRET })}`],
  ])('censors private_key written as `name: value` in %s', (_label, line) => {
    expect(redact({ private_key: SECRET })).toEqual({ private_key: '[redacted]' })
    expect(text(redact(line))).not.toContain(SECRET)
  })

  it('censors api_key in a JSON document held in a JSON string (as "password" there is)', () => {
    const doc = JSON.stringify({ body: JSON.stringify({ api_key: SECRET, keep: 1 }) })
    const out = text(redact(doc))
    expect(out).not.toContain(SECRET)
    expect(out).toContain('\\"keep\\":1')
  })
})
