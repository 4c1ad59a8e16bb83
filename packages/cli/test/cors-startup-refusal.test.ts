/**
 * The `cors` item FAILs a configuration that `cors()` itself refuses when the app starts (an origin
 * with a path or a trailing slash, a bare host name, `'*'` among other origins): the doctor must
 * not PASS an app that cannot boot. `CORS_ORIGIN=*`, which `aikitEnv` reads as `['*']`, is `'*'`
 * for `cors()` too: the app starts, and the doctor WARNs of any origin in production as before.
 */
import { aikitEnv, defineEnv } from '@aikit/core/env'
import { cors } from '@aikit/security'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const { cors: _cors, ...withoutCors } = GOOD_CONFIG
const fromEnv = (value: string) =>
  runDoctor({ env: { ...GOOD_ENV, CORS_ORIGIN: value }, config: withoutCors }).items.find(
    (i) => i.id === 'cors'
  )
/** `cors({ origin: env.CORS_ORIGIN })` as an app reading the variable through aikitEnv does. */
const appStarts = (value: string) => {
  const env = defineEnv(aikitEnv, { env: { NODE_ENV: 'development', CORS_ORIGIN: value } })
  try {
    cors({ origin: env.CORS_ORIGIN as string[] })
    return true
  } catch {
    return false
  }
}

describe('cors: what cors() refuses at startup', () => {
  it.each([
    ['a trailing slash', 'https://app.example.com/'],
    ['a path', 'https://app.example.com/app'],
    ['a bare host name', 'app.example.com'],
    ["'*' among other origins", 'https://app.example.com,*'],
  ])('FAILs %s in CORS_ORIGIN (the app would not boot)', (_, value) => {
    expect(appStarts(value)).toBe(false)
    const item = fromEnv(value)
    expect(item?.status).toBe('FAIL')
    expect(item?.detail).toContain('cors() refuses this at startup')
  })

  it('FAILs the same in the config file', () => {
    const item = runDoctor({
      env: GOOD_ENV,
      config: { ...GOOD_CONFIG, cors: { origin: ['https://app.example.com/'], credentials: true } },
    }).items.find((i) => i.id === 'cors')
    expect(item?.status).toBe('FAIL')
  })

  it("CORS_ORIGIN=* starts the app (['*'] is '*') and WARNs in production", () => {
    expect(appStarts('*')).toBe(true)
    expect(fromEnv('*')?.status).toBe('WARN')
  })

  it('PASSes exact origins, a default port and an upper-case scheme, as cors() accepts them', () => {
    for (const value of [
      'https://app.example.com',
      'https://app.example.com:443, https://admin.example.com',
      'HTTPS://App.example.com',
    ]) {
      expect(appStarts(value)).toBe(true)
      expect(fromEnv(value)?.status).toBe('PASS')
    }
  })
})
