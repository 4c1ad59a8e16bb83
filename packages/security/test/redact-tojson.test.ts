/**
 * Objects that serialise through their own `toJSON` (defineEnv's env object hides its secrets
 * there; class instances): what a JSON logger writes is what `toJSON` returns, so that is what is
 * redacted. A copy of the properties would drop the method and what it hides.
 */
import { defineEnv } from '@aikit/core/env'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'

describe('objects with their own toJSON', () => {
  it('keeps the env object of defineEnv printing secret-named variables as [redacted]', () => {
    const env = defineEnv(
      { PORT: z.string(), API_KEY: z.string(), WEBHOOK_SIGNING_KEY: z.string() },
      { env: { PORT: '3000', API_KEY: 'k-123456789', WEBHOOK_SIGNING_KEY: `whsec_${SECRET}` } }
    )
    expect(JSON.stringify(env)).not.toContain(SECRET) // the env object's own toJSON hides it
    const out = JSON.stringify(redact({ msg: 'config loaded', env }))
    expect(out).not.toContain(SECRET)
    expect(JSON.parse(out).env).toEqual({
      PORT: '3000',
      API_KEY: '[redacted]',
      WEBHOOK_SIGNING_KEY: '[redacted]',
    })
  })

  it('redacts what a class instance serialises to', () => {
    class Session {
      private readonly raw = SECRET
      toJSON() {
        return { id: 's-1', token: this.raw, note: `bearer Bearer ${this.raw}1` }
      }
    }
    expect(redact({ session: new Session() })).toEqual({
      session: { id: 's-1', token: '[redacted]', note: 'bearer Bearer [redacted]' },
    })
  })

  it('redacts a string returned by toJSON, and a toJSON inside the result as JSON.stringify does', () => {
    const inner = { toJSON: () => ({ password: SECRET }) }
    const out = redact({
      a: { toJSON: () => `key sk-ant-api03-${'x'.repeat(40)}` },
      b: { toJSON: () => ({ inner }) },
    })
    expect(out).toEqual({ a: 'key sk-ant-[redacted]', b: { inner: { password: '[redacted]' } } })
  })

  it('walks an object whose toJSON returns itself, and keeps a Date as it is', () => {
    const self = {
      password: SECRET,
      toJSON(): unknown {
        return this
      },
    }
    const d = new Date(0)
    const out = redact({ self, d }) as { self: Record<string, unknown>; d: Date }
    expect(out.self.password).toBe('[redacted]')
    expect(out.d).toBe(d)
  })
})
