/**
 * A logged header object (`logger.info({ headers: req.headers })`) is censored by the rule the
 * Sentry integration drops headers by (`isCredentialHeader`): besides `SENSITIVE_HEADERS`, a name
 * with `-` ending in `-auth`, `-token`, `-key`, `-secret`, `-password` or `-signature`. Such
 * headers (`helicone-auth`, `x-functions-key`, `x-my-service-token`) were dropped from Sentry
 * events but printed in full in log lines. Field names with `_` keep their own rules (`sort_key`).
 */
import { describe, expect, it } from 'vitest'
import { isCredentialHeader } from '../src/index.js'
import { createRedactor, redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'

describe('credential headers as object keys', () => {
  it.each([
    'helicone-auth',
    'x-functions-key',
    'X-Functions-Key',
    'x-my-service-token',
    'x-hub-signature',
    'stripe-signature',
    'x-portkey-api-key',
    'cf-access-client-secret',
  ])('censors the value under %s', (name) => {
    expect(redact({ headers: { [name]: SECRET, accept: 'text/plain' } })).toEqual({
      headers: { [name]: '[redacted]', accept: 'text/plain' },
    })
    expect(isCredentialHeader(name)).toBe(true)
  })

  it.each([
    'idempotency-key',
    'Idempotency-Key',
    'x-idempotency-key',
    'sec-websocket-key',
    'sort_key',
    'next_page_token',
    'pad_token',
    'x-request-id',
    'content-type',
  ])('keeps the value under %s', (name) => {
    expect(redact({ [name]: 'plain-value-1' })).toEqual({ [name]: 'plain-value-1' })
  })

  it('reads an OTel attribute spelling (`_` for `-`) as the header it names', () => {
    expect(isCredentialHeader('helicone_auth')).toBe(true)
    expect(isCredentialHeader('x_idempotency_key')).toBe(false)
  })

  it('follows the keys option: with `keys: false`, no key is censored by name', () => {
    const byPatternOnly = createRedactor({ keys: false, patterns: false })
    expect(byPatternOnly({ 'x-functions-key': SECRET })).toEqual({ 'x-functions-key': SECRET })
  })
})
