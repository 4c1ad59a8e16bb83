// README (@aikit/core/env): `defineEnv` "throws ONE `EnvError` … listing every missing or
// malformed variable by name", and the preset's `METRICS_TOKEN` is the token `metricsHandler`
// (@aikit/observability) requires: "at least 16 characters of visible ASCII (spaces inside only)";
// a shorter or unsendable one makes `metricsHandler` throw `InvalidOptionsError` naming `token`.
//
// So such a METRICS_TOKEN is a malformed variable: it is in the EnvError with the others, named,
// its value never quoted, instead of passing `defineEnv` and crashing the start later on an error
// that names `token`, not METRICS_TOKEN.
import { aikitEnv, defineEnv, EnvError } from '@aikit/core/env'
import { describe, expect, it } from 'vitest'

function errorOf(env: Record<string, string>): EnvError | undefined {
  try {
    defineEnv(aikitEnv, { env })
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError)
    return error as EnvError
  }
  return undefined
}

describe('aikitEnv METRICS_TOKEN: a token metricsHandler refuses is a malformed variable', () => {
  it.each([
    ['15 characters', 'short-token-123', 'too small: minimum 16'],
    ['a leading space', ' metrics-token-0123456789', 'visible ASCII'],
    ['a trailing space', 'metrics-token-0123456789 ', 'visible ASCII'],
    ['a character outside visible ASCII', 'metrics-tøken-0123456789', 'visible ASCII'],
    ['a control character', 'metrics-token\t0123456789', 'visible ASCII'],
  ])(
    '%s is reported by defineEnv with the others, by name, never quoted',
    (_what, token, reason) => {
      const error = errorOf({ METRICS_TOKEN: token, PORT: 'not-a-port' })
      expect(error?.issues.map((i) => i.name)).toEqual(['PORT', 'METRICS_TOKEN'])
      const issue = error?.issues.find((i) => i.name === 'METRICS_TOKEN')
      expect(issue?.problem).toBe('invalid')
      expect(issue?.reason).toContain(reason)
      expect(error?.message).not.toContain(token.trim())
    }
  )

  it.each([
    ['16 characters', 'abcdefghijklmnop'],
    ['spaces inside', 'metrics token 0123456789'],
    ['openssl rand -hex 32', 'a'.repeat(64)],
  ])('%s passes, as metricsHandler accepts it, read with reveal()', (_what, token) => {
    expect(defineEnv(aikitEnv, { env: { METRICS_TOKEN: token } }).METRICS_TOKEN?.reveal()).toBe(
      token
    )
  })

  it('stays optional', () => {
    expect(defineEnv(aikitEnv, { env: {} }).METRICS_TOKEN).toBeUndefined()
  })
})
