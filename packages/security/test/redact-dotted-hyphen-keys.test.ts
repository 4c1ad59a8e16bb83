import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

// Built at run time so no secret scanner flags this file (no known shape: only the key tells).
const VALUE = ['q7Lm', '2Xv9', 'Rt4w'].join('')

describe('redact(): credential keys spelled with dots or hyphens', () => {
  it.each([
    'db.password',
    'openai.api_key',
    'http.authorization',
    'auth.token',
    'app.db.dbPassword',
    'config.GITHUB_TOKEN',
    'access-token',
    'refresh-token',
    'client-secret',
    'X-Access-Token',
    'X-Vault-Token',
    'Ocp-Apim-Subscription-Key',
  ])('censors the value under %s', (key) => {
    const out = redact({ [key]: VALUE, note: 'kept' }) as Record<string, unknown>
    expect(out[key]).toBe('[redacted]')
    expect(out.note).toBe('kept')
  })

  it.each(['gen_ai.usage.input_tokens', 'db.statement', 'url.path', 'token.count', 'a.', 'http.x'])(
    'keeps the value under %s',
    (key) => {
      const out = redact({ [key]: VALUE }) as Record<string, unknown>
      expect(out[key]).toBe(VALUE)
    }
  )

  it('censors `access-token=` and `refresh-token=` in text', () => {
    const out = redact(`GET /cb?access-token=${VALUE}&refresh-token=${VALUE}&x=1`) as string
    expect(out).not.toContain(VALUE)
    expect(out).toContain('x=1')
  })

  it('applies the dotted rule to keys given as options too', () => {
    const r = createRedactor({ keys: ['session_cookie'] })
    const out = r({ 'web.session_cookie': VALUE }) as Record<string, unknown>
    expect(out['web.session_cookie']).toBe('[redacted]')
  })
})
