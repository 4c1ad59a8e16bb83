/**
 * `promptGuard` and `guard.middleware` refuse option keys they do not know with an
 * `InvalidOptionsError` naming the key and the option it most likely meant: a misspelt
 * `maxInputToken` or `canary` would otherwise be ignored and the default (a larger budget, no
 * canary check) silently used. Every documented option is still accepted: the `Required<…>`
 * objects below stop compiling when an option is added to a type, so its key list gets it too.
 */
import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import {
  type PromptGuardMiddlewareOptions,
  type PromptGuardOptions,
  promptGuard,
} from '../src/prompt-guard.js'

function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('promptGuard refuses unknown option keys', () => {
  it('names a misspelt option and the option it meant', () => {
    const error = refusal(() => promptGuard({ maxInputToken: 10 } as never))
    expect(error.field).toBe('maxInputToken')
    expect(error.message).toContain('did you mean `maxInputTokens`')
  })

  it('refuses an unknown key even when its value is undefined', () => {
    expect(refusal(() => promptGuard({ canary: undefined } as never)).field).toBe('canary')
  })

  it('names a misspelt middleware option', () => {
    const guard = promptGuard()
    const error = refusal(() => guard.middleware({ extractor: () => undefined } as never))
    expect(error.field).toBe('extractor')
    expect(error.message).toContain('did you mean `extract`')
  })

  it('accepts every documented option', async () => {
    const options: Required<PromptGuardOptions> = {
      maxInputTokens: 1000,
      rules: { 'pii.email': 'redact' },
      mode: 'monitor',
      roles: ['user'],
      canaries: ['canary-word-1'],
      censor: '***',
      detector: async () => false,
      detectorTimeoutMs: 500,
      onFinding: () => {},
    }
    const guard = promptGuard(options)
    const mw: Required<PromptGuardMiddlewareOptions> = { extract: () => undefined }
    expect(typeof guard.middleware(mw)).toBe('function')
    expect((await guard.checkInput('mail me at a@example.com')).text).toBe('mail me at ***')
  })
})
