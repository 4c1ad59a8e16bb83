/**
 * Credential names as object keys are censored by the same rules as in text: an object and its
 * JSON text are censored alike. Besides the exact list, a strong name after a `_` / `-` prefix or
 * in camelCase (`DB_PASSWORD`, `OPENAI_API_KEY`, `stripeSecret`), an upper-case environment name
 * ending in TOKEN / PASS / SIGNATURE / CREDENTIALS, and every credential header (`x-goog-api-key`).
 */
import { describe, expect, it } from 'vitest'
import { SENSITIVE_HEADERS } from '../src/index.js'
import { createRedactor, redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

describe('credential names as object keys', () => {
  it.each([
    'DB_PASSWORD',
    'GITHUB_TOKEN',
    'OPENAI_API_KEY',
    'STRIPE_SECRET',
    'x-goog-api-key',
    'dbPassword',
    'openaiApiKey',
    'AWS_SECRET_ACCESS_KEY',
    'SMTP_PASS',
    '--password',
  ])('censors the value under %s in an object as it does in JSON text', (key) => {
    const obj = { config: { [key]: SECRET } }
    expect(text(redact(JSON.stringify(obj)))).not.toContain(SECRET)
    expect(redact(obj)).toEqual({ config: { [key]: '[redacted]' } })
  })

  it.each(SENSITIVE_HEADERS)('censors the credential header %s as a key, in any case', (name) => {
    expect(redact({ headers: { [name]: SECRET, [name.toUpperCase()]: SECRET } })).toEqual({
      headers: { [name]: '[redacted]', [name.toUpperCase()]: '[redacted]' },
    })
  })

  it('censors such a key in a Map too', () => {
    const out = redact(new Map([['OPENAI_API_KEY', SECRET]])) as Map<string, unknown>
    expect(out.get('OPENAI_API_KEY')).toBe('[redacted]')
  })

  it('leaves ordinary keys that merely end like a credential word alone', () => {
    const obj = {
      pad_token: '<pad>',
      eos_token: '</s>',
      sort_key: 'name',
      cache_key: 'abc',
      primaryKey: 'id',
      maxTokens: 1024,
      nextPageToken: 'CAEQAA',
      github_token_scope: 'repo',
      PASSWORD_FILE: '/run/secrets/db',
      allow_credentials: true,
      sessionName: 'x',
    }
    expect(redact(obj)).toBe(obj)
  })

  it('keys: false turns the naming rules off with the list', () => {
    const obj = { DB_PASSWORD: 'p', x: 'y' }
    expect(createRedactor({ keys: false, patterns: false })(obj)).toBe(obj)
  })
})

describe('credential names: the key list and the text patterns agree', () => {
  it('censors an AWS credentials object’s sessionToken, as its JSON text', () => {
    const creds = {
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
      sessionToken: SECRET,
    }
    expect(text(redact(JSON.stringify(creds)))).not.toContain(SECRET)
    expect(text(redact(creds))).not.toContain(SECRET)
  })

  it('censors idToken as an object key, as in its text form', () => {
    expect(text(redact(`idToken=${SECRET}`))).not.toContain(SECRET)
    expect(text(redact({ idToken: SECRET }))).not.toContain(SECRET)
  })

  // Every spelling of the strong parameter names: censored as a key, as `name=value` text, and
  // as a JSON member, so the key list and the text patterns cannot drift apart unnoticed.
  it.each([
    'password',
    'passwd',
    'passphrase',
    'secret',
    'client_secret',
    'clientSecret',
    'token',
    'access_token',
    'accessToken',
    'refresh_token',
    'refreshToken',
    'id_token',
    'idToken',
    'auth_token',
    'authToken',
    'session_token',
    'sessionToken',
    'private_key',
    'privateKey',
    'secret_key',
    'secretKey',
    'SECRET_KEY',
    'access_key',
    'accessKey',
    'api_key',
    'apiKey',
  ])('censors %s as an object key, as a parameter and as a JSON member', (name) => {
    expect(text(redact({ [name]: SECRET }))).not.toContain(SECRET)
    expect(text(redact(`${name}=${SECRET}`))).not.toContain(SECRET)
    expect(text(redact(JSON.stringify({ [name]: SECRET })))).not.toContain(SECRET)
  })
})
