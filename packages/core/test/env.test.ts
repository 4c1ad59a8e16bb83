import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { AikitError, InvalidOptionsError } from '@aikit/core'
import {
  aikitEnv,
  bool,
  defineEnv,
  EnvError,
  list,
  logLevel,
  looksSecret,
  num,
  port,
  Secret,
  secret,
  trustProxy,
  url,
} from '@aikit/core/env'
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'

function envError(fn: () => unknown): EnvError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError)
    return error as EnvError
  }
  throw new Error('expected EnvError')
}

/** Everything an error shows: message, details, JSON, inspect. */
function printed(error: EnvError): string {
  return [error.message, JSON.stringify(error.details), JSON.stringify(error), inspect(error)].join(
    '\n'
  )
}

describe('defineEnv reports every problem in one error', () => {
  it('lists a missing and a malformed variable together, by name and never by value', () => {
    const env = { PORT: 'eighty-eighty', OTHER: 'x' }
    const error = envError(() => defineEnv({ PORT: port(), DATABASE_URL: secret(url()) }, { env }))
    expect(error).toBeInstanceOf(AikitError)
    expect(error.code).toBe('INVALID_ENV')
    expect(error.issues.map((i) => [i.name, i.problem])).toEqual([
      ['PORT', 'invalid'],
      ['DATABASE_URL', 'missing'],
    ])
    expect(error.message).toContain('PORT is invalid (expected a port number)')
    expect(error.message).toContain('DATABASE_URL is missing')
    expect(printed(error)).not.toContain('eighty-eighty')
  })

  it('never quotes a value, even from zod messages or custom refinements that would', () => {
    const value = 'hunter2-very-specific-value'
    const error = envError(() =>
      defineEnv(
        {
          A: z.string().refine(() => false, { message: `bad value ${value}` }),
          B: z.enum(['x', 'y']),
          C: z.string().email(),
          D: z.string().max(3),
          E: logLevel(),
        },
        { env: { A: value, B: value, C: value, D: value, E: value } }
      )
    )
    expect(error.issues.map((i) => i.name)).toEqual(['A', 'B', 'C', 'D', 'E'])
    expect(error.issues.every((i) => i.problem === 'invalid')).toBe(true)
    expect(printed(error)).not.toContain(value)
    expect(error.message).toContain('expected one of x, y')
  })

  it('treats an empty string as missing unless told otherwise', () => {
    expect(envError(() => defineEnv({ A: z.string() }, { env: { A: '' } })).issues[0]).toEqual({
      name: 'A',
      problem: 'missing',
      reason: 'is missing',
    })
    expect(defineEnv({ A: z.string() }, { env: { A: '' }, emptyAsMissing: false }).A).toBe('')
  })

  it('reads process.env when no env is given', () => {
    const name = `AIKIT_ENV_TEST_${process.pid}`
    process.env[name] = '42'
    try {
      expect(defineEnv({ [name]: num() })[name]).toBe(42)
    } finally {
      delete process.env[name]
    }
  })
})

describe('coercion', () => {
  it('parses ports, numbers, booleans, URLs, lists, log levels and trustProxy', () => {
    const env = defineEnv(
      {
        PORT: port(),
        TIMEOUT: num(),
        ON: bool(),
        OFF: bool(),
        REDIS_URL: url(['redis', 'rediss']),
        CORS_ORIGIN: list(),
        LOG_LEVEL: logLevel(),
        HOPS: trustProxy(),
        CIDRS: trustProxy(),
        NONE: trustProxy(),
      },
      {
        env: {
          PORT: '8080',
          TIMEOUT: '2.5',
          ON: 'YES',
          OFF: '0',
          REDIS_URL: 'redis://127.0.0.1:6379/2',
          CORS_ORIGIN: 'https://a.example, https://b.example,,',
          LOG_LEVEL: 'DEBUG',
          HOPS: '2',
          CIDRS: 'loopback, 10.0.0.0/8',
          NONE: 'false',
        },
      }
    )
    expect(env.PORT).toBe(8080)
    expect(env.TIMEOUT).toBe(2.5)
    expect(env.ON).toBe(true)
    expect(env.OFF).toBe(false)
    expect(env.REDIS_URL).toBeInstanceOf(URL)
    expect(env.REDIS_URL.port).toBe('6379')
    expect(env.CORS_ORIGIN).toEqual(['https://a.example', 'https://b.example'])
    expect(env.LOG_LEVEL).toBe('debug')
    expect(env.HOPS).toBe(2)
    expect(env.CIDRS).toEqual(['loopback', '10.0.0.0/8'])
    expect(env.NONE).toBe(false)
    expect(Object.isFrozen(env)).toBe(true)
  })

  it('refuses out-of-range ports, wrong URL schemes, unknown levels and trustProxy=true', () => {
    const error = envError(() =>
      defineEnv(
        { PORT: port(), REDIS_URL: url(['redis']), LOG_LEVEL: logLevel(), TP: trustProxy() },
        { env: { PORT: '70000', REDIS_URL: 'http://x', LOG_LEVEL: 'loud', TP: 'true' } }
      )
    )
    expect(error.issues.map((i) => i.name)).toEqual(['PORT', 'REDIS_URL', 'LOG_LEVEL', 'TP'])
    expect(error.message).toContain('expected a redis: URL')
    expect(error.message).toContain('PORT is invalid (too big: maximum 65535)')
    expect(error.message).toContain('TP is invalid (expected false, a hop count or CIDRs')
  })
})

describe('secrets', () => {
  const key = 'sk-ant-api03-REALLOOKINGSECRET0123456789'

  it('a secret() value prints as [redacted] through toString, JSON.stringify and inspect', () => {
    const env = defineEnv(
      { ANTHROPIC_API_KEY: secret(), PORT: port() },
      { env: { ANTHROPIC_API_KEY: key, PORT: '1' } }
    )
    const s = env.ANTHROPIC_API_KEY
    expect(s).toBeInstanceOf(Secret)
    expect(s.reveal()).toBe(key)
    for (const text of [
      String(s),
      `${s}`,
      JSON.stringify(s),
      inspect(s),
      String(env),
      JSON.stringify(env),
      inspect(env),
      inspect({ nested: { env } }, { depth: 5 }),
    ]) {
      expect(text).toContain('[redacted]')
      expect(text).not.toContain(key)
    }
    expect(JSON.parse(JSON.stringify(env))).toEqual({ ANTHROPIC_API_KEY: '[redacted]', PORT: 1 })
  })

  it('a variable named like a secret is redacted when the env object is printed', () => {
    const env = defineEnv(
      { SESSION_SECRET: z.string(), DB_PASSWORD: z.string(), HOST: z.string() },
      { env: { SESSION_SECRET: 'abc-session', DB_PASSWORD: 'pw-123', HOST: 'example.org' } }
    )
    expect(env.SESSION_SECRET).toBe('abc-session')
    for (const text of [String(env), JSON.stringify(env), inspect(env)]) {
      expect(text).not.toContain('abc-session')
      expect(text).not.toContain('pw-123')
      expect(text).toContain('example.org')
    }
  })

  it('secret() validates its inner schema first', () => {
    const env = defineEnv(
      { REDIS_URL: secret(url(['redis'])) },
      { env: { REDIS_URL: 'redis://:pw@h:1' } }
    )
    expect(env.REDIS_URL.reveal().password).toBe('pw')
    expect(inspect(env)).not.toContain('pw@')
    const error = envError(() =>
      defineEnv({ REDIS_URL: secret(url(['redis'])) }, { env: { REDIS_URL: 'nope' } })
    )
    expect(error.issues[0]?.problem).toBe('invalid')
  })
})

describe('NEXT_PUBLIC_ variables', () => {
  it('refuses secret-looking values under a public name, declared or not', () => {
    const values = {
      NEXT_PUBLIC_ANTHROPIC: 'sk-ant-api03-abcdefghijklmnop',
      NEXT_PUBLIC_OPENAI: 'sk-proj-abcdefghijklmnop1234',
      NEXT_PUBLIC_AWS: 'AKIAIOSFODNN7EXAMPLE',
      NEXT_PUBLIC_TOKEN: 'q8Zr3LmN0vXy7KpT2wBc9HjD4sFg6UeA1oIiQ5',
      NEXT_PUBLIC_DB: 'postgres://user:pass@db.example/app',
    }
    const error = envError(() => defineEnv({ NEXT_PUBLIC_ANTHROPIC: z.string() }, { env: values }))
    expect(error.issues.map((i) => [i.name, i.problem])).toEqual(
      Object.keys(values).map((name) => [name, 'public_secret'])
    )
    for (const v of Object.values(values)) expect(printed(error)).not.toContain(v)
  })

  it('lets public-by-design values through, and allowPublic opts a name out', () => {
    const env = {
      NEXT_PUBLIC_STRIPE: 'pk_live_51Habcdefghijklmnopqrstuvwxyz0123456789',
      NEXT_PUBLIC_MAPS: 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv',
      NEXT_PUBLIC_APP_ID: '0f8fad5b-d9cb-469f-a165-70867728950e',
      NEXT_PUBLIC_HEX: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      NEXT_PUBLIC_SITE: 'https://example.org',
      NEXT_PUBLIC_SUPABASE_ANON_KEY: 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlMTIz',
      NEXT_PUBLIC_RANDOM_ID: 'q8Zr3LmN0vXy7KpT2wBc9HjD4sFg6UeA1oIiQ5',
    }
    expect(() => defineEnv({}, { env, allowPublic: ['NEXT_PUBLIC_RANDOM_ID'] })).not.toThrow()
  })

  it('refuses a secret() declared under a public name', () => {
    const error = envError(() =>
      defineEnv({ NEXT_PUBLIC_KEY: secret() }, { env: { NEXT_PUBLIC_KEY: 'short' } })
    )
    expect(error.issues[0]?.problem).toBe('public_secret')
    expect(printed(error)).not.toContain('short')
  })

  it('looksSecret knows the common formats', () => {
    expect(looksSecret('sk-ant-xyz')).toBe(true)
    expect(looksSecret('-----BEGIN RSA PRIVATE KEY-----\nabc')).toBe(true)
    expect(looksSecret('ghp_abcdefghijklmnopqrstuvwxyz0123')).toBe(true)
    expect(looksSecret('hello world')).toBe(false)
    expect(looksSecret('production')).toBe(false)
  })
})

describe('aikitEnv preset', () => {
  it('gives defaults for an empty environment', () => {
    const env = defineEnv(aikitEnv, { env: {} })
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      LOG_LEVEL: 'info',
      TRUST_PROXY: false,
    })
    expect(env.REDIS_URL).toBeUndefined()
  })

  it('parses the kit variables and keeps the keys secret', () => {
    const env = defineEnv(aikitEnv, {
      env: {
        NODE_ENV: 'production',
        PORT: '8080',
        REDIS_URL: 'rediss://:topsecretpw@cache.internal:6380',
        ANTHROPIC_API_KEY: 'sk-ant-api03-zzz',
        OPENAI_API_KEY: 'sk-proj-yyy',
        CORS_ORIGIN: 'https://a.example,https://b.example',
        SENTRY_DSN: 'https://pub@o1.ingest.sentry.io/2',
        METRICS_TOKEN: 'metrics-token-0123456789',
        TRUST_PROXY: '1',
      },
    })
    expect(env.PORT).toBe(8080)
    expect(env.REDIS_URL?.reveal().host).toBe('cache.internal:6380')
    expect(env.ANTHROPIC_API_KEY?.reveal()).toBe('sk-ant-api03-zzz')
    expect(env.CORS_ORIGIN).toEqual(['https://a.example', 'https://b.example'])
    expect(env.TRUST_PROXY).toBe(1)
    const text = `${inspect(env)}${JSON.stringify(env)}${String(env)}`
    for (const v of [
      'topsecretpw',
      'sk-ant-api03-zzz',
      'sk-proj-yyy',
      'metrics-token-0123456789',
    ]) {
      expect(text).not.toContain(v)
    }
  })

  it('reports every bad kit variable at once', () => {
    const error = envError(() =>
      defineEnv(aikitEnv, {
        env: { NODE_ENV: 'prod', PORT: 'x', REDIS_URL: 'http://h', TRUST_PROXY: 'true' },
      })
    )
    expect(error.issues.map((i) => i.name)).toEqual([
      'NODE_ENV',
      'PORT',
      'REDIS_URL',
      'TRUST_PROXY',
    ])
  })
})

describe('defineEnv options', () => {
  it('names the invalid field', () => {
    expect(invalidField(() => defineEnv(null as never))).toBe('schema')
    expect(invalidField(() => defineEnv({ A: 'string' as never }))).toBe('schema.A')
    expect(invalidField(() => defineEnv({}, { env: 'x' as never }))).toBe('env')
    expect(invalidField(() => defineEnv({}, { publicPrefixes: [''] }))).toBe('publicPrefixes')
    expect(invalidField(() => defineEnv({}, { allowPublic: 'x' as never }))).toBe('allowPublic')
    expect(invalidField(() => defineEnv({}, { emptyAsMissing: 1 as never }))).toBe('emptyAsMissing')
  })

  it('refuses a misspelt option instead of leaving its default in place', () => {
    // `emptyAsMising: false` would leave `''` counted as unset: A reported missing, not ''.
    const misspelt = () =>
      defineEnv({ A: z.string() }, { env: { A: '' }, emptyAsMising: false } as never)
    expect(misspelt).toThrow(InvalidOptionsError)
    expect(misspelt).toThrow('did you mean `emptyAsMissing`?')
    expect(() => defineEnv({}, { publicPrefix: ['VITE_'] } as never)).toThrow(
      expect.objectContaining({ field: 'publicPrefix' })
    )
  })
})

describe('edge safety', () => {
  it('the env entry imports no node: module', () => {
    const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../src/env')
    for (const file of readdirSync(dir)) {
      const source = readFileSync(join(dir, file), 'utf8')
      expect(source).not.toMatch(/from\s+['"]node:/)
      for (const m of source.matchAll(/from\s+'(\.\.\/[^']+)'/g)) {
        const target = readFileSync(resolve(dir, m[1]!.replace(/\.js$/, '.ts')), 'utf8')
        expect(target).not.toMatch(/from\s+['"]node:/)
      }
    }
  })
})
