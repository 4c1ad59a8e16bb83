/**
 * A credential name is censored alike as an object key and in the text of the same object (the
 * contract of redact-names.ts): JSON text (also inside a JSON string), a JSON array of strings, a
 * `Name: value` header line, util.inspect output and `name=value` (logfmt). The text patterns
 * named only some of `SENSITIVE_HEADERS` and none of the suffix rule's names (`helicone-auth`,
 * `x-functions-key`, `X-Vault-Token`), so `{"x-vault-token":"…"}` or `X-Vault-Token: …` printed the
 * credential that `{ 'x-vault-token': … }` censored; a credential in a JSON array
 * (`JSON.stringify(res.headers)` gives `{"set-cookie":["sid=…"]}`) was left readable after its `[`;
 * and `credentials: …` was left in header lines and inspected objects.
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { isCredentialHeader, SENSITIVE_HEADERS } from '../src/index.js'
import { redact } from '../src/redact.js'
import { DEFAULT_SENSITIVE_KEYS } from '../src/redact-keys.js'
import { longOverShort } from './scan-cost.js'

// Fakes built at runtime so no secret scanner flags this file.
const S = ['Zq9Xw7Vv', '5Uu4Tt3Ss2'].join('')
const S1 = `a1${S}`
const S2 = `b2${S}`

/** `x-vault-token` → `X-Vault-Token`, as a header line spells it. */
const headerCase = (name: string): string =>
  name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())

/** The text forms of `{ [name]: value }` a log line holds, by form. */
function textForms(name: string): Record<string, string> {
  return {
    'JSON text': `upstream said ${JSON.stringify({ [name]: S, keep: 'k' })}`,
    'JSON array': `upstream said ${JSON.stringify({ [name]: [S1, S2], keep: 'k' })}`,
    'indented JSON array': JSON.stringify({ [name]: [S1, S2], keep: 'k' }, null, 2),
    'JSON in a JSON string': JSON.stringify({ body: JSON.stringify({ [name]: S, keep: 'k' }) }),
    'JSON array in a JSON string': JSON.stringify({
      body: JSON.stringify({ [name]: [S1, S2], keep: 'k' }),
    }),
    'header line': `request headers:\n${headerCase(name)}: ${S}\nHost: h`,
    'lower-case header line': `sent ${name}: ${S}`,
    'util.inspect': `headers: ${inspect({ [name]: S, keep: 'k' })}`,
    'util.inspect array': `headers: ${inspect({ [name]: [S1, S2], keep: 'k' })}`,
    'name=value': `level=warn ${name}=${S} status=401`,
  }
}

const leaks = (out: unknown): boolean => {
  const text = typeof out === 'string' ? out : JSON.stringify(out)
  return text.includes(S)
}

/** Whether the object key form `{ [name]: … }` is censored. */
const keyCensored = (name: string): boolean =>
  !leaks(redact({ [name]: S })) && !leaks(redact({ [name]: [S1, S2] }))

const SUFFIX_NAMES = [
  'helicone-auth',
  'Helicone-Auth',
  'x-functions-key',
  'x-hub-signature',
  'stripe-signature',
  'cf-access-token',
  'cf-access-client-secret',
  'x-webhook-secret',
  'x-db-password',
  'x-portkey-api-key',
  'x-my-service-token',
  'X-Goog-Iap-Jwt-Assertion-Key',
  'x_custom-token',
]
const EXCEPTIONS = ['idempotency-key', 'Idempotency-Key', 'x-idempotency-key', 'sec-websocket-key']
const ORDINARY = ['x-request-id', 'content-type', 'accept-language', 'x-token-count']

describe('a credential header is censored in text exactly when it is as an object key', () => {
  const credentialNames = [...new Set([...SENSITIVE_HEADERS, ...SUFFIX_NAMES])]

  it.each(credentialNames)('%s: censored as a key and in every text form', (name) => {
    expect(isCredentialHeader(name)).toBe(true)
    expect(keyCensored(name)).toBe(true)
    for (const [form, text] of Object.entries(textForms(name))) {
      const out = redact(text)
      expect(leaks(out), `${form}: ${String(out)}`).toBe(false)
      expect(String(out), `${form} keeps the rest`).not.toBe(text)
    }
  })

  it.each([...EXCEPTIONS, ...ORDINARY])('%s: kept as a key and in every text form', (name) => {
    expect(keyCensored(name)).toBe(false)
    for (const [form, text] of Object.entries(textForms(name))) {
      expect(redact(text), form).toBe(text)
    }
  })

  it.each(DEFAULT_SENSITIVE_KEYS)(
    '%s (a default key name): each text form censored as the key is',
    (name) => {
      const censored = keyCensored(name)
      expect(censored).toBe(true)
      for (const [form, text] of Object.entries(textForms(name))) {
        expect(leaks(redact(text)), form).toBe(!censored)
      }
    }
  )
})

describe('what stays around a censored value', () => {
  it('keeps the JSON valid and every other member, arrays censored item by item whole', () => {
    const headers = {
      'set-cookie': [`sid=${S1}; Path=/; HttpOnly`, `csrf=${S2}; Path=/`],
      'x-vault-token': S,
      'helicone-auth': `Bearer ${S}`,
      date: 'Sun, 01 Nov 2026 10:00:00 GMT',
      'idempotency-key': 'req-42',
    }
    const out = redact(`upstream 502, response headers ${JSON.stringify(headers)}`) as string
    const json = JSON.parse(out.slice('upstream 502, response headers '.length))
    expect(json).toEqual({
      'set-cookie': ['[redacted]'],
      'x-vault-token': '[redacted]',
      'helicone-auth': '[redacted]',
      date: 'Sun, 01 Nov 2026 10:00:00 GMT',
      'idempotency-key': 'req-42',
    })
  })

  it('keeps valid JSON inside a JSON string', () => {
    const text = JSON.stringify({ body: JSON.stringify({ 'private-token': [S1, S2], keep: 'k' }) })
    expect(JSON.parse(JSON.parse(redact(text) as string).body)).toEqual({
      'private-token': ['[redacted]'],
      keep: 'k',
    })
  })

  it('censors a header line to its end, keeping the scheme and the next line', () => {
    expect(redact(`sent:\r\nHelicone-Auth: Bearer ${S}\r\nX-Vault-Token: ${S}\r\nHost: h`)).toBe(
      'sent:\r\nHelicone-Auth: Bearer [redacted]\r\nX-Vault-Token: [redacted]\r\nHost: h'
    )
  })

  it('censors every item of an inspected array and keeps the other properties', () => {
    const dump = inspect({ 'x-functions-key': [S1, S2], accept: '*/*' }, { breakLength: Infinity })
    const out = redact(`headers: ${dump}`)
    expect(out).toBe("headers: { 'x-functions-key': [ '[redacted]' ], accept: '*/*' }")
  })

  it('censors `credentials` in a header line and an inspected object, not a fetch option', () => {
    expect(redact(`Credentials: ${S}`)).toBe('Credentials: [redacted]')
    expect(redact(inspect({ credentials: S, mode: 'cors' }))).toBe(
      "{ credentials: '[redacted]', mode: 'cors' }"
    )
    const fetchInit = inspect({ credentials: 'include', mode: 'cors' })
    expect(redact(fetchInit)).toBe(fetchInit)
  })

  it('keeps logfmt fields after the value', () => {
    expect(redact(`level=warn x-hub-signature=sha256=${S} status=401`)).toBe(
      'level=warn x-hub-signature=[redacted] status=401'
    )
  })
})

describe('the header names and arrays keep every scan linear', () => {
  const fill = (unit: string, n: number): string =>
    unit.repeat(Math.ceil(n / unit.length)).slice(0, n)
  it.each([
    ['a run of dashed words without a separator', (n: number) => fill('a-', n)],
    ['`-token` repeated without a separator', (n: number) => fill('-token', n)],
    ['header names opening arrays', (n: number) => fill('x-token=[', n)],
    ['JSON members opening arrays', (n: number) => fill('"x-token":["', n)],
    ['one JSON array of endless items', (n: number) => `"x-token":[${fill('"a",', n)}`],
    ['one inspected array of endless items', (n: number) => `'x-token': [ ${fill("'a', ", n)}`],
    ['escaped JSON members opening arrays', (n: number) => fill('\\"x-token\\":[\\"', n)],
    ['cookie arrays', (n: number) => fill('cookie:["', n)],
    ['spaces after an array that never quotes', (n: number) => `x-token: [${' '.repeat(n)}x`],
  ])('%s', async (_name, make) => {
    expect(await longOverShort(make)).toBeLessThan(6)
  })
})
