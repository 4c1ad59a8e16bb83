/**
 * Long strings and long credentials: a credential value is censored to its end however long it
 * is (a Cookie header of analytics cookies easily passes 4 KiB, the session cookie last), and
 * cutting a string at `maxStringLength` never leaves most of a key in clear at the cut.
 */
import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))
const LONG = 'a'.repeat(4200)

describe('credential values longer than 4096 characters', () => {
  it('censors a session cookie that sits past the first 4096 characters of a Cookie header', () => {
    const header = `Cookie: _ga=${LONG}; sid=${SECRET}`
    expect(redact(`request headers:\n${header}\nHost: h`)).toBe(
      'request headers:\nCookie: [redacted]\nHost: h'
    )
  })

  it('censors a long cookie member of JSON text (value over 4096 characters)', () => {
    const body = JSON.stringify({ cookie: `_ga=${LONG}; sid=${SECRET}`, keep: 1 })
    expect(redact(`upstream echoed ${body}`)).toBe(
      'upstream echoed {"cookie":"[redacted]","keep":1}'
    )
  })

  it.each([
    ['an Authorization line', `Authorization: Basic ${LONG}${SECRET}`],
    ['a bearer token', `sent Bearer 1${LONG}${SECRET} upstream`],
    ['a quoted password', `password="${LONG} ${SECRET}"`],
    ['a prefixed variable', `DB_PASSWORD=${LONG}${SECRET}`],
    [
      'an escaped JSON member',
      JSON.stringify({ body: JSON.stringify({ token: `${LONG}${SECRET}` }) }),
    ],
  ])('censors %s to its end', (_label, value) => {
    expect(text(redact(value))).not.toContain(SECRET)
  })
})

describe('maxStringLength cuts after scanning past the cut', () => {
  it('does not leave most of a key in clear when maxStringLength cuts through it', () => {
    const key = `AIza${'SyD4rT9kLmN0pQ1sU2vW3xY4zA5bC6dE7fG'}` // a Google API key: AIza + 35
    const line = `gemini call failed, key ${key}`
    const r = createRedactor({ maxStringLength: line.length - 1 })
    const out = r(line) as string
    expect(out).not.toContain(key.slice(4, 4 + 30))
    expect(out).toBe('gemini call failed, key AIza[redacted]…[truncated]')
  })

  it('censors a credential whose name is before the cut and value after it', () => {
    const r = createRedactor({ maxStringLength: 12 })
    expect(r(`password=${SECRET}&user=ann`)).toBe('password=[redacted]…[truncated]')
  })

  it('cuts at exactly maxStringLength when no secret crosses the cut', () => {
    const r = createRedactor({ maxStringLength: 20 })
    expect(r(`${'y'.repeat(25)} sk-ant-api03-${'a'.repeat(40)}`)).toBe(
      `${'y'.repeat(20)}…[truncated]`
    )
    expect(r(`sk-ant-api03-${'a'.repeat(40)} ${'y'.repeat(50)}`)).toBe(
      'sk-ant-[redacted]…[truncated]'
    )
  })
})

describe('maxStringLength: the cut falls after a secret only when one crosses it', () => {
  it('cuts at maxStringLength when the only secret past the cut is far from it', () => {
    // A secret censored before the cut and another one 200 characters past it: the result must
    // not carry the 200 characters between the cut and the second secret.
    const r = createRedactor({ maxStringLength: 30 })
    const s = `password=abc ${'y'.repeat(200)} password=def ${'z'.repeat(100)}`
    const out = r(s) as string
    expect(out).toBe(`password=[redacted] ${'y'.repeat(17)}…[truncated]`)
  })

  it('ends at the censor of a secret crossing the cut, even with another secret before it', () => {
    const key = `AIza${'B'.repeat(35)}`
    const r = createRedactor({ maxStringLength: 30 })
    const s = `password=abc ${key} ${'z'.repeat(300)} password=def`
    const out = r(s) as string
    expect(out).toBe('password=[redacted] AIza[redacted]…[truncated]')
  })
})
