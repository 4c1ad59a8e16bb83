/**
 * Guarantees that `isSecret` recognises a `Secret` made by another copy of the module (two
 * versions of `@aikit/core` installed, a bundle with its own copy), through a `Symbol.for` mark on
 * the prototype, so `defineEnv` refuses a `secret()` from any copy under `NEXT_PUBLIC_*` and
 * redacts it when the env object is printed. `instanceof` keeps working, the mark prints nowhere,
 * and a look-alike object without the mark is not a Secret.
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { defineEnv, isSecret, REDACTED, Secret, secret } from '../src/env/index.js'

async function otherCopy(): Promise<typeof import('../src/env/secret.js')> {
  // A query string makes Vite load the file again as a separate module instance (a variable, as
  // TypeScript cannot resolve a specifier with a query).
  const specifier = '../src/env/secret.js?second-copy'
  return (await import(/* @vite-ignore */ specifier)) as typeof import('../src/env/secret.js')
}

describe('isSecret across copies of @aikit/core', () => {
  it('recognises a Secret made by another copy of the module', async () => {
    const copy = await otherCopy()
    expect(copy.Secret).not.toBe(Secret) // really a second copy
    const foreign = new copy.Secret('sk-live-abc')
    expect(foreign instanceof Secret).toBe(false)
    expect(isSecret(foreign)).toBe(true)
    expect(copy.isSecret(new Secret('x'))).toBe(true)
  })

  it('defineEnv refuses a secret() from another copy under NEXT_PUBLIC_*, as its own', async () => {
    const copy = await otherCopy()
    const env = { NEXT_PUBLIC_PAYMENTS_KEY: 'abc' }
    expect(() => defineEnv({ NEXT_PUBLIC_PAYMENTS_KEY: secret() }, { env })).toThrow()
    expect(() => defineEnv({ NEXT_PUBLIC_PAYMENTS_KEY: copy.secret() }, { env })).toThrow()
  })

  it('defineEnv redacts a secret() from another copy when the env object is printed', async () => {
    const copy = await otherCopy()
    const env = defineEnv({ DB: copy.secret() }, { env: { DB: 'postgres://u:pw@h/db' } })
    expect(JSON.stringify(env)).not.toContain('pw@')
  })

  it('keeps instanceof, and the mark changes nothing that prints', () => {
    const s = new Secret('sk-live-abc')
    expect(s instanceof Secret).toBe(true)
    expect(isSecret(s)).toBe(true)
    expect(String(s)).toBe(REDACTED)
    expect(`${s}`).toBe(REDACTED)
    expect(JSON.stringify({ s })).toBe(`{"s":"${REDACTED}"}`)
    expect(inspect(s)).toBe(REDACTED)
    expect(Object.keys(s)).toEqual([])
    expect(s.reveal()).toBe('sk-live-abc')
  })

  it('a look-alike without the mark is not a Secret', () => {
    expect(isSecret({ reveal: () => 'x', toString: () => REDACTED })).toBe(false)
    expect(isSecret(null)).toBe(false)
    expect(isSecret('[redacted]')).toBe(false)
  })
})
